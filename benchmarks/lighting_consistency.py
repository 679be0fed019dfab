"""Lighting consistency (Geng et al. 2021, Fig. 7): one synthetic face under several HDR environments, fitted each
time; a method that separates reflectance from lighting recovers the same albedo every time.

Metrics (lower is better), over the recovered albedo maps ``A_e`` (sRGB-encoded, ``[0, 1]``, resampled to the GT
size) of environments ``e = 1..E``:

* **albedo spread** (:func:`albedo_spread`): ``mean over face texels t and channels c of std_e A_e[t, c]``
  (population standard deviation over environments, in sRGB units).
* **skin colour difference** (:func:`pairwise_delta_e`): the mean skin colour of each recovery (linear mean over
  the cheek and forehead region, :func:`skin_region_mask`, converted to CIELAB D65), then CIEDE2000 between every
  pair of environments: mean and max. ``Delta E_00 ~ 1`` is about a just-noticeable difference.
* **accuracy** alongside: CIEDE2000 of each environment's mean skin colour against the GT's (mean over ``e``).
"""

from __future__ import annotations

import itertools
from typing import Callable

import cv2
import numpy as np

from svfri.geometry.template import FaceTemplate
from svfri.math.color import srgb_to_linear_np
from svfri.math.colorimetry import srgb_linear_to_lab
from svfri.math.metrics import delta_e_2000
from svfri.synth.dataset import SynthesisSettings, resize_map
from svfri.training.evaluate import face_region_mask

from benchmarks.common import markdown_table

__all__ = ["SKIN_REGIONS", "EXCLUDED_SKIN_REGIONS", "REGION_THRESHOLD", "skin_region_mask", "albedo_spread",
           "mean_skin_colour", "pairwise_delta_e", "consistency_metrics", "run_lighting_consistency",
           "consistency_markdown", "plot_consistency"]

#: Template regions whose texels are plain skin for colour measurements.
SKIN_REGIONS = ("cheeks", "forehead")
#: Regions cut out of them (hair and eyes are not skin).
EXCLUDED_SKIN_REGIONS = ("brows", "eyes", "lips")
#: A texel belongs to a region when its (area-resampled) mask value is at least this.
REGION_THRESHOLD = 0.5


def skin_region_mask(template: FaceTemplate, size: int) -> np.ndarray:
    """``[size, size]`` bool: texels of the template's cheek or forehead regions, minus brows, eyes and lips."""
    masks = template.region_masks

    def resized(name: str) -> np.ndarray:
        mask = masks[name].astype(np.float32)
        return cv2.resize(mask, (size, size), interpolation=cv2.INTER_AREA) if mask.shape[0] != size else mask

    keep = np.max([resized(name) for name in SKIN_REGIONS], axis=0) >= REGION_THRESHOLD
    drop = np.max([resized(name) for name in EXCLUDED_SKIN_REGIONS], axis=0) >= 1.0 - REGION_THRESHOLD
    return keep & ~drop


def albedo_spread(albedos: np.ndarray, mask: np.ndarray) -> float:
    """Mean over masked texels and channels of the std over the first axis.

    Args:
      albedos: ``[E, M, M, C]`` maps of the same face (``E >= 2``).
      mask: ``[M, M]`` bool.

    Returns:
      The spread, in the maps' units (0 for identical maps).
    """
    albedos = np.asarray(albedos, np.float64)
    if albedos.shape[0] < 2:
        raise ValueError("the spread needs at least two maps")
    return float(np.mean(np.std(albedos, axis=0)[np.asarray(mask, bool)]))


def mean_skin_colour(albedo_srgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """CIELAB ``[3]`` of the mean *linear* albedo over ``mask`` (``albedo_srgb [M, M, 3]`` sRGB-encoded)."""
    linear = srgb_to_linear_np(np.clip(np.asarray(albedo_srgb, np.float64), 0.0, 1.0))
    return srgb_linear_to_lab(linear[np.asarray(mask, bool)].mean(axis=0))


def pairwise_delta_e(labs: np.ndarray) -> tuple[float, float]:
    """``(mean, max)`` CIEDE2000 over all unordered pairs of the CIELAB colours ``labs [E, 3]`` (``E >= 2``)."""
    labs = np.asarray(labs, np.float64)
    pairs = list(itertools.combinations(range(len(labs)), 2))
    if not pairs:
        raise ValueError("pairwise differences need at least two colours")
    values = delta_e_2000(labs[[i for i, _ in pairs]], labs[[j for _, j in pairs]])
    return float(np.mean(values)), float(np.max(values))


def consistency_metrics(albedos: list[np.ndarray], truth_srgb: np.ndarray, template: FaceTemplate) -> dict:
    """Spread, pairwise and GT CIEDE2000 of recovered albedos (any size; resampled to the GT ``[M, M, 3]``)."""
    size = truth_srgb.shape[0]
    maps = np.stack([resize_map(a, size, kind="colour").reshape(truth_srgb.shape) for a in albedos])
    skin = skin_region_mask(template, size)
    labs = np.stack([mean_skin_colour(a, skin) for a in maps])
    truth_lab = mean_skin_colour(truth_srgb, skin)
    mean_pair, max_pair = pairwise_delta_e(labs)
    return {"albedo_spread": albedo_spread(maps, face_region_mask(size)), "delta_e_pair_mean": mean_pair,
            "delta_e_pair_max": max_pair,
            "delta_e_to_gt_mean": float(np.mean(delta_e_2000(labs, truth_lab[None]))), "labs": labs,
            "truth_lab": truth_lab, "maps": maps}


def run_lighting_consistency(face_seed: int, environments: list[tuple[str, float]], template: FaceTemplate, *,
                             fit: Callable, progress: Callable[[str], None] = print) -> dict:
    """Renders head ``face_seed`` (its own dataset skin) under each ``(map, yaw)`` environment and fits each render.

    Args:
      face_seed: held-out seed of the head and skin.
      environments: from :func:`benchmarks.scenes.held_out_environments`.
      template: face template.
      fit: ``fit(scene) -> FitRecord`` (:func:`benchmarks.quality.fit_scene` with a fitter bound).
      progress: called with a line per environment.

    Returns:
      ``{"init": metrics, "fit": metrics, "scenes": [...], "records": [...], "truth": GT albedo float}``.
    """
    from benchmarks.scenes import environment_light, relit_scene, scene_geometry, skin_maps

    geometry = scene_geometry(face_seed, template)
    skin = skin_maps(face_seed, template, size=SynthesisSettings().map_size)
    scenes, records = [], []
    for name, yaw in environments:
        label = f"{name} {yaw:.0f}°"
        scene = relit_scene(geometry, skin, environment_light(name, yaw_degrees=yaw), template, name=label, hdri=name)
        record = fit(scene)
        progress(f"  lighting consistency: {label}: albedo PSNR {record.init['albedo_psnr']:.2f} -> "
                 f"{record.fit['albedo_psnr']:.2f} dB ({record.seconds:.1f} s)")
        scenes.append(scene)
        records.append(record)
    truth = scenes[0].albedo.astype(np.float32) / np.float32(255.0)
    return {"init": consistency_metrics([r.initial_maps["albedo"] for r in records], truth, template),
            "fit": consistency_metrics([r.maps["albedo"] for r in records], truth, template),
            "scenes": scenes, "records": records, "truth": truth, "face_seed": face_seed}


def consistency_markdown(result: dict) -> str:
    """The consistency table: one row for the networks' prediction, one after the fit."""
    rows = []
    for key, label in (("init", "networks only (init)"), ("fit", f"after {len(result['records'][0].loss_history)} steps")):
        m = result[key]
        rows.append([label, f"{m['albedo_spread']:.4f}", f"{m['delta_e_pair_mean']:.2f}",
                     f"{m['delta_e_pair_max']:.2f}", f"{m['delta_e_to_gt_mean']:.2f}"])
    return markdown_table(["albedo", "spread (mean per-texel std, sRGB) ↓", "ΔE00 between environments, mean ↓",
                           "ΔE00 between environments, max ↓", "ΔE00 to GT skin colour, mean ↓"], rows)


def plot_consistency(result: dict, path) -> None:
    """Panel: photos (row 1), networks' albedo (row 2), fitted albedo (row 3), one column per environment, plus
    the GT albedo."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scenes, count = result["scenes"], len(result["scenes"])
    figure, axes = plt.subplots(3, count + 1, figsize=(1.9 * (count + 1), 6.0), squeeze=False)
    rows = [("photo", [s.photo for s in scenes]), ("albedo, networks", list(result["init"]["maps"])),
            ("albedo, fitted", list(result["fit"]["maps"]))]
    for r, (title, images) in enumerate(rows):
        for c, image in enumerate(images):
            axes[r][c].imshow(np.clip(image, 0, 1))
            if r == 0:
                axes[r][c].set_title(scenes[c].name, fontsize=8)
        axes[r][0].set_ylabel(title, fontsize=8)
    axes[1][count].imshow(np.clip(result["truth"], 0, 1))
    axes[1][count].set_title("GT albedo", fontsize=8)
    for axis in axes.ravel():
        axis.set_xticks([])
        axis.set_yticks([])
    for r in (0, 2):
        axes[r][count].axis("off")
    fit, init = result["fit"], result["init"]
    figure.suptitle(f"Lighting consistency, held-out head seed {result['face_seed']}: spread "
                    f"{init['albedo_spread']:.3f} -> {fit['albedo_spread']:.3f}, pairwise ΔE00 "
                    f"{init['delta_e_pair_mean']:.1f} -> {fit['delta_e_pair_mean']:.1f} (networks -> fit)", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)
