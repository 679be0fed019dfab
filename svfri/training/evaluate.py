"""Held-out evaluation of the svfri networks in the form of Geng et al. 2021, Table 1.

What is measured (on the ``test`` split of the synthetic set: HDR maps never used in training, seeds disjoint
from the training seeds), from the networks alone -- encoder + decoder + enhancer for the maps, the regressor
for the light, **no optimisation**:

* **Maps** (albedo sRGB, specular linear, normal encoded ``0.5 n + 0.5``; all in [0, 1]): the prediction is
  brought to the ground truth's own resolution (``map_size`` of the data set, 256^2: the GT has no detail above
  it) with :func:`svfri.synth.dataset.resize_map` (area averaging down; normals renormalised), and compared
  over the UV **face region** (texels where the template's ``face`` mask >= 0.5; the rest of the atlas is
  empty and would inflate the score). Per sample ``RMSE = sqrt(mean over face texels and channels of (p - t)^2)``
  and ``PSNR = 20 log10(1 / RMSE)`` dB (peak 1); the table gives their means over samples.
* **Light**: PSNR / RMSE of a *rendered diffuse sphere* (:func:`sh_sphere_image`): a unit-albedo Lambertian
  sphere seen along ``-Z`` (the camera axis of :mod:`svfri.conventions`), outgoing radiance
  ``E(n) / pi`` (Ramamoorthi & Hanrahan 2001 irradiance of the SH light), under the predicted and the true
  light, both divided by the peak of the true sphere (so the truth peaks at 1), over the sphere's disc.
  Why: coefficient errors in an SH basis do not map evenly onto what a user sees (band 2 moves the image less
  than band 0), while a shaded sphere is what relighting is made of (Geng et al. evaluate lighting by its
  effect, and the usual lighting-estimation metric is a rendered-sphere error, e.g. LeGendre et al. 2019);
  dividing by the true peak makes scenes of every exposure comparable and keeps values in [0, 1] as for
  the maps. Colour and intensity errors both count. The coefficient error relative to the GT mean
  luminance (:func:`svfri.training.losses.light_relative_mse`, square-rooted) is reported alongside.
* **Baseline** row: the training set's mean map per component and mean light (the best constant
  prediction under MSE), estimated from ``baseline_samples`` training samples -- what a network that ignored
  its input would score.

The paper's numbers (Table 1, PSNR in dB: albedo 25.10, normal 26.61, specular 22.68, light 20.29) come from
real scans at 1024^2 and are not directly comparable; they are printed for the form.
"""

from __future__ import annotations

import json
import math
import os
import pathlib
from typing import Mapping

import numpy as np
import tensorflow as tf

from svfri.errors import UsageError
from svfri.math.metrics import psnr, rmse
from svfri.math.sh import irradiance_sh
from svfri.nets import COMPONENTS, FaceNetworks
from svfri.synth.dataset import iterate_training_batches, read_manifest, resize_map
from svfri.training.losses import light_normaliser

__all__ = [
    "psnr", "rmse", "sh_sphere_image", "light_errors", "face_region_mask", "evaluate_networks",
    "markdown_table", "write_metrics", "prediction_figure", "PAPER_TABLE1_PSNR", "SPHERE_SIZE",
    "FACE_MASK_THRESHOLD", "METRIC_COLUMNS",
]

#: Geng et al. 2021, Table 1, PSNR (dB) of the network predictions.
PAPER_TABLE1_PSNR = {"albedo": 25.10, "normal": 26.61, "specular": 22.68, "light": 20.29}
#: Side of the rendered sphere image of the light metric, pixels.
SPHERE_SIZE = 64
#: A texel belongs to the evaluated face region when the template's ``face`` mask is at least this.
FACE_MASK_THRESHOLD = 0.5
#: Table columns, in the paper's order.
METRIC_COLUMNS = ("albedo", "normal", "specular", "light")
_MAP_KIND = {"albedo": "colour", "specular": "colour", "normal": "normal"}


def sh_sphere_image(light_sh, *, size: int = SPHERE_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """A unit-albedo Lambertian sphere lit by SH radiance, seen orthographically along ``-Z``.

    Pixel ``(r, c)`` looks at ``x = (c + 0.5) / size * 2 - 1``, ``y = 1 - (r + 0.5) / size * 2`` (row 0 = top,
    ``+Y`` up, ``+X`` right, :mod:`svfri.conventions`); inside the unit disc the normal is
    ``(x, y, sqrt(1 - x^2 - y^2))`` and the outgoing radiance ``E(n) / pi`` (:func:`svfri.math.sh.irradiance_sh`).

    Args:
      light_sh: ``[9, 3]`` or ``[B, 9, 3]`` linear RGB radiance coefficients.

    Returns:
      ``(image [.., size, size, 3] float64, disc mask [size, size] bool)``; 0 outside the disc.
    """
    centres = (np.arange(size) + 0.5) / size * 2.0 - 1.0
    x, y = np.meshgrid(centres, -centres)
    radius2 = x * x + y * y
    disc = radius2 < 1.0
    z = np.sqrt(np.clip(1.0 - radius2, 0.0, None))
    normals = np.stack([x, y, z], axis=-1)
    light = tf.convert_to_tensor(np.asarray(light_sh, np.float64))
    batched = light.shape.rank == 3
    if not batched:
        light = light[tf.newaxis]
    # [B, 1, 1, 9, 3] against normals [1, H, W, 3]
    irradiance = irradiance_sh(light[:, tf.newaxis, tf.newaxis], tf.convert_to_tensor(normals)[tf.newaxis])
    image = np.where(disc[..., None], irradiance.numpy() / math.pi, 0.0)
    return (image if batched else image[0]), disc


def light_errors(prediction, target, *, size: int = SPHERE_SIZE) -> dict[str, np.ndarray]:
    """Per-sample light metrics (module docstring): ``{"psnr", "rmse", "coefficient_relative_rmse"}``, each ``[B]``.

    ``prediction``, ``target``: ``[B, 9, 3]``. Sphere images are divided by the true sphere's peak (floored at a
    tiny positive value, for black lights) and the prediction's is clipped at 0 (negative radiance is not
    displayable).
    """
    prediction = np.asarray(prediction, np.float64)
    target = np.asarray(target, np.float64)
    predicted_image, disc = sh_sphere_image(prediction, size=size)
    true_image, _ = sh_sphere_image(target, size=size)
    peak = np.maximum(true_image.reshape(len(target), -1).max(axis=1), np.finfo(np.float32).tiny)
    psnrs, rmses = [], []
    for k in range(len(target)):
        p = np.clip(predicted_image[k] / peak[k], 0.0, None)
        t = np.clip(true_image[k] / peak[k], 0.0, None)
        psnrs.append(psnr(p, t, disc))
        rmses.append(rmse(p, t, disc))
    scale = light_normaliser(tf.convert_to_tensor(target)).numpy()[:, None, None]
    relative = np.sqrt(np.mean(np.square((prediction - target) / scale), axis=(1, 2)))
    return {"psnr": np.array(psnrs), "rmse": np.array(rmses), "coefficient_relative_rmse": relative}


def face_region_mask(size: int) -> np.ndarray:
    """``[size, size]`` bool: texels of the UV layout inside the face (template ``face`` mask >= threshold)."""
    import cv2

    from svfri.geometry.template import load_face_template
    face = load_face_template().region_masks["face"].astype(np.float32)
    if face.shape[0] != size:
        face = cv2.resize(face, (size, size), interpolation=cv2.INTER_AREA)
    return face >= FACE_MASK_THRESHOLD


def _map_size(data_dir: pathlib.Path) -> int:
    manifest = read_manifest(data_dir)
    try:
        return int(manifest["settings"]["map_size"])
    except (KeyError, TypeError):
        raise UsageError(f"{data_dir} has no readable manifest.json; point --data at a training set folder") from None


def _summarise(values: Mapping[str, list[float]]) -> dict[str, float]:
    return {key: float(np.mean(v)) for key, v in values.items()}


def _predict(networks: FaceNetworks, texture: np.ndarray, *, enhance: bool) -> dict[str, np.ndarray]:
    skips, latents = networks.encode(texture)
    maps = networks.decode(latents, skips, texture, enhance=enhance)
    out = {c: maps[c].numpy() for c in COMPONENTS}
    out["light"] = networks.predict_light(texture).numpy()
    return out


def _training_means(data_dir: pathlib.Path, map_size: int, samples: int) -> dict[str, np.ndarray]:
    sums: dict[str, np.ndarray] = {}
    count = 0
    sizes = {"texture": (), **{c: (map_size,) for c in COMPONENTS}}
    for batch in iterate_training_batches(data_dir, "train", 32, component_sizes=sizes, shuffle=False):
        for c in COMPONENTS:
            sums[c] = sums.get(c, 0.0) + batch[f"{c}_{map_size}"].astype(np.float64).sum(axis=0)
        sums["light"] = sums.get("light", 0.0) + batch["light"].astype(np.float64).sum(axis=0)
        count += len(batch["seed"])
        if count >= samples:
            break
    return {key: value / count for key, value in sums.items()}


def evaluate_networks(networks: FaceNetworks, data_dir: str | os.PathLike, *, count: int = 128,
                      batch_size: int = 16, baseline_samples: int = 512, progress: bool = False) -> dict:
    """Table-1 metrics of ``networks`` on the first ``count`` samples (seed order) of the ``test`` split.

    Returns a JSON-ready dict: ``count``, ``map_size``, ``hdris`` (held-out maps present), ``seeds`` (first,
    last), and ``rows``: ``{"networks": ..., "decoder only": ..., "baseline (training mean)": ...}``, each
    ``{"<component>_psnr", "<component>_rmse"}`` for albedo / normal / specular / light plus
    ``light_coefficient_relative_rmse``. Raises :class:`UsageError` if the split has no samples.
    """
    data_dir = pathlib.Path(data_dir)
    map_size = _map_size(data_dir)
    mask = face_region_mask(map_size)
    texture_size = networks.config.input_texture_size
    sizes = {"texture": (texture_size,), **{c: (map_size,) for c in COMPONENTS}}
    means = _training_means(data_dir, map_size, baseline_samples)
    rows = {"networks": {}, "decoder only": {}, "baseline (training mean)": {}}
    values: dict[str, dict[str, list[float]]] = {name: {} for name in rows}

    def add(row: str, key: str, value: float) -> None:
        values[row].setdefault(key, []).append(value)

    done = 0
    seeds = []
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=count, desc="evaluate", unit="sample")
    for batch in iterate_training_batches(data_dir, "test", batch_size, component_sizes=sizes, shuffle=False):
        take = min(len(batch["seed"]), count - done)
        texture = batch[f"texture_{texture_size}"][:take]
        predictions = {"networks": _predict(networks, texture, enhance=True),
                       "decoder only": _predict(networks, texture, enhance=False)}
        for k in range(take):
            seeds.append(int(batch["seed"][k]))
            for c in COMPONENTS:
                truth = batch[f"{c}_{map_size}"][k]
                candidates = {row: resize_map(p[c][k], map_size, kind=_MAP_KIND[c]).reshape(truth.shape)
                              for row, p in predictions.items()}
                candidates["baseline (training mean)"] = means[c]
                for row, candidate in candidates.items():
                    add(row, f"{c}_psnr", psnr(candidate, truth, mask))
                    add(row, f"{c}_rmse", rmse(candidate, truth, mask))
        truth_light = batch["light"][:take]
        lights = {row: p["light"] for row, p in predictions.items()}
        lights["baseline (training mean)"] = np.broadcast_to(means["light"], truth_light.shape)
        for row, light in lights.items():
            errors = light_errors(light, truth_light)
            for key, name in (("psnr", "light_psnr"), ("rmse", "light_rmse"),
                              ("coefficient_relative_rmse", "light_coefficient_relative_rmse")):
                for value in errors[key]:
                    add(row, name, float(value))
        done += take
        if bar is not None:
            bar.update(take)
        if done >= count:
            break
    if bar is not None:
        bar.close()
    if done == 0:
        raise UsageError(f"no test samples in {data_dir}/test; generate the held-out split first")
    hdris = _test_hdris(data_dir)
    return {"count": done, "map_size": map_size, "face_texels": int(mask.sum()), "seeds": [min(seeds), max(seeds)],
            "hdris": hdris, "baseline_samples": baseline_samples,
            "rows": {row: _summarise(v) for row, v in values.items()}}


def _test_hdris(data_dir: pathlib.Path) -> list[str]:
    entry = read_manifest(data_dir).get("splits", {}).get("test", {})
    return list(entry.get("hdris", []))


def markdown_table(metrics: dict) -> str:
    """The metrics as a markdown table in the paper's Table 1 form (PSNR dB / RMSE per column)."""
    header = "| method | " + " | ".join(f"{c} PSNR ↑ / RMSE ↓" for c in METRIC_COLUMNS) + " |"
    lines = [header, "|---|" + "---|" * len(METRIC_COLUMNS)]
    for row, result in metrics["rows"].items():
        cells = [f"{result[f'{c}_psnr']:.2f} / {result[f'{c}_rmse']:.4f}" for c in METRIC_COLUMNS]
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    lines.append("| Geng et al. 2021, Table 1 (real scans, 1024², not comparable) | "
                 + " | ".join(f"{PAPER_TABLE1_PSNR[c]:.2f} / —" for c in METRIC_COLUMNS) + " |")
    extra = ", ".join(f"{row}: {result['light_coefficient_relative_rmse']:.3f}"
                      for row, result in metrics["rows"].items())
    lines += ["", f"Light coefficient RMSE relative to the GT mean luminance: {extra}."]
    return "\n".join(lines)


def write_metrics(metrics: dict, path: str | os.PathLike) -> None:
    """Writes ``metrics`` as indented JSON."""
    pathlib.Path(path).write_text(json.dumps(metrics, indent=1), encoding="utf-8")


def prediction_figure(networks: FaceNetworks, data_dir: str | os.PathLike, path: str | os.PathLike, *,
                      count: int = 4) -> None:
    """Saves a grid, one held-out sample per row: T | albedo pred / GT | specular pred / GT | normal pred / GT
    | light sphere pred / GT (spheres tone-mapped by the GT peak)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data_dir = pathlib.Path(data_dir)
    map_size = _map_size(data_dir)
    texture_size = networks.config.input_texture_size
    sizes = {"texture": (texture_size,), **{c: (map_size,) for c in COMPONENTS}}
    batch = next(iterate_training_batches(data_dir, "test", count, component_sizes=sizes, shuffle=False))
    texture = batch[f"texture_{texture_size}"]
    predicted = _predict(networks, texture, enhance=True)
    titles = ["T (input)", "albedo pred", "albedo GT", "specular pred", "specular GT", "normal pred", "normal GT",
              "light pred", "light GT"]
    figure, axes = plt.subplots(len(texture), len(titles), figsize=(1.9 * len(titles), 1.95 * len(texture)),
                                squeeze=False)
    for k in range(len(texture)):
        sphere_p, _ = sh_sphere_image(predicted["light"][k])
        sphere_t, _ = sh_sphere_image(batch["light"][k])
        peak = max(float(sphere_t.max()), 1e-6)
        tiles = [texture[k][..., :3]]
        for c in COMPONENTS:
            tiles += [predicted[c][k], batch[f"{c}_{map_size}"][k]]
        tiles += [np.clip(sphere_p / peak, 0, 1) ** (1 / 2.2), np.clip(sphere_t / peak, 0, 1) ** (1 / 2.2)]
        for axis, tile, title in zip(axes[k], tiles, titles):
            tile = np.clip(tile, 0.0, 1.0)
            axis.imshow(tile[..., 0] if tile.shape[-1] == 1 else tile, cmap="gray", vmin=0, vmax=1)
            axis.set_xticks([])
            axis.set_yticks([])
            if k == 0:
                axis.set_title(title, fontsize=8)
        axes[k][0].set_ylabel(f"seed {int(batch['seed'][k])}", fontsize=7)
    figure.tight_layout()
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
