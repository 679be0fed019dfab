"""What the albedo networks read the skin tone from: their albedo's ITA on real portraits' T, changed on purpose.

For each bundled portrait the pipeline's own network input ``T`` (:func:`svfri.pipeline.geometry_stage.
unwrap_network_texture`, the ICT head) goes through the shipped networks (encoder, decoder, enhancer; no fit) as it is
and changed four ways; the number is the ITA (Chardon 1991) of the mean linear albedo over the centre of the face
disc (UV ``[1/4, 3/4]^2``: cheeks, nose, mouth):

* ``as is``;
* ``blurred``: a Gaussian of 3 texels on the colour (pores, edges, JPEG detail gone; the layout kept);
* ``flat``: every visible texel set to T's mean colour (no pattern at all);
* ``x0.5`` / ``x2``: T re-exposed by -1 / +1 EV in linear light (clipped);
* ``recoloured``: T scaled per channel in linear light so that its mean colour is that of a reference texture
  (``--reference``: a path-traced training texture of skin type VI, from ``--data``'s test split), its pattern kept;
* ``eyes filled`` / ``outside filled``: the template's eye openings / everything outside its ``face`` region set to
  the mean colour of the visible skin (face minus eyes, mouth, brows, lips, beard), the rest kept.

The networks see ``T`` through their own input mask (:mod:`svfri.nets.input_mask`) when their config names one:
then ``eyes filled`` is (nearly) ``as is`` by construction. ``--weights DIR`` probes other exported weights.

Reading: if ``recoloured`` follows the reference and ``flat`` gives the portrait's answer, the networks read the mean
colour; if not, they read the pattern. ``python benchmarks/networks_skin_probe.py [--data
~/.cache/svfri/pathtraced_set] [--md docs/benchmarks/networks_skin_probe.md] [--figure PNG]``; ~1 min. ``--figure``
draws, per input, ``T``, ``T`` as the networks see it and their albedo. A diagnostic of the networks, not a quality
figure (there is no ground truth for these people's skin).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

PORTRAITS = ("astronaut.png", "grace_hopper.jpg", "obama_2012.jpg", "obama_2009_stage_light.jpg",
             "biden_2010_full_length.jpg")
BLUR_TEXELS = 3.0
VISIBLE = 0.5
#: The test-split skin type used as the recolouring reference (VI: the darkest).
REFERENCE_SKIN_TYPE = 6


def _reference_colour(data: Path | None) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Mean linear colour of the first type-VI test texture of ``data`` and that texture (``None`` without data)."""
    from svfri.math.color import srgb_to_linear_np

    shards = sorted((data / "test").glob("shard_*.npz")) if data else []
    for shard in shards:
        arrays = np.load(shard)
        for index in np.flatnonzero(arrays["skin_type"] == REFERENCE_SKIN_TYPE):
            texture = arrays["texture"][index].astype(np.float32) / 255.0
            visible = texture[..., 3] > VISIBLE
            return srgb_to_linear_np(texture[..., :3])[visible].mean(axis=0), texture
    return None, None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path.home() / ".cache/svfri/pathtraced_set",
                        help="converted path-traced set whose test split gives the recolouring reference")
    parser.add_argument("--md", type=Path, default=None)
    parser.add_argument("--weights", type=Path, default=None, help="exported weights to probe (default: shipped)")
    parser.add_argument("--figure", type=Path, default=None,
                        help="write a PNG: per input, T, T as the networks see it, and their albedo")
    args = parser.parse_args(argv)

    import cv2
    import tensorflow as tf

    from svfri.geometry.template import load_face_template
    from svfri.io.images import read_photo
    from svfri.math.color import linear_to_srgb_np, srgb_to_linear_np
    from svfri.math.colorimetry import ita_degrees
    from svfri.pipeline.fit_job import load_networks
    from svfri.pipeline.geometry_stage import GeometrySettings, compute_geometry, unwrap_network_texture

    from svfri.geometry.template import region_weight
    from svfri.nets import FaceNetworks
    from svfri.nets.input_mask import SKIN_EXCLUDED

    networks = FaceNetworks.from_directory(args.weights) if args.weights else load_networks()
    template = load_face_template()
    size = networks.config.input_texture_size
    eyes = region_weight(template, size, include="eyes")[..., None]
    outside = 1.0 - region_weight(template, size)[..., None]
    skin = region_weight(template, size, exclude=SKIN_EXCLUDED)

    def filled(texture: np.ndarray, mask: np.ndarray) -> np.ndarray:
        weight = skin * texture[..., 3] * (1.0 - mask[..., 0])
        mean = (texture[..., :3] * weight[..., None]).sum(axis=(0, 1)) / max(float(weight.sum()), 1e-6)
        out = texture.copy()
        out[..., :3] = texture[..., :3] * (1.0 - mask) + mean * mask
        return out

    def albedo_map(texture: np.ndarray) -> np.ndarray:
        batch = tf.constant(texture[None].astype(np.float32))
        skips, latents = networks.encode(batch)
        return networks.decode(latents, skips, batch)["albedo"][0].numpy()

    def ita(texture: np.ndarray) -> float:
        albedo = albedo_map(texture)
        side = albedo.shape[0]
        centre = albedo[side // 4:3 * side // 4, side // 4:3 * side // 4].reshape(-1, 3)
        return float(ita_degrees(srgb_to_linear_np(np.clip(centre, 0.0, 1.0)).mean(axis=0)))

    def scaled(texture: np.ndarray, gain: np.ndarray) -> np.ndarray:
        out = texture.copy()
        out[..., :3] = linear_to_srgb_np(np.clip(srgb_to_linear_np(texture[..., :3]) * gain, 0.0, 1.0))
        return out

    reference, reference_texture = _reference_colour(args.data if args.data.is_dir() else None)
    columns = ["as is", "blurred", "flat", "x0.5", "x2", "eyes filled", "outside filled"] + (
        ["recoloured"] if reference is not None else [])
    rows, panels = [], []
    inputs = [(name, None) for name in PORTRAITS]
    if reference_texture is not None:
        inputs.append((f"path-traced test texture, type {REFERENCE_SKIN_TYPE} (the reference)", reference_texture))
    for name, given in inputs:
        if given is None:
            geometry = compute_geometry(read_photo(REPO / "samples" / name), GeometrySettings(mesh="ict"))
            texture = unwrap_network_texture(geometry, networks.config.input_texture_size, template).astype(np.float32)
        else:
            texture = given.astype(np.float32)
        visible = texture[..., 3] > VISIBLE
        mean = srgb_to_linear_np(texture[..., :3])[visible].mean(axis=0)
        blurred = texture.copy()
        blurred[..., :3] = cv2.GaussianBlur(texture[..., :3], (0, 0), BLUR_TEXELS)
        flat = texture.copy()
        flat[..., :3] = texture[..., :3][visible].mean(axis=0)
        values = [ita(texture), ita(blurred), ita(flat), ita(scaled(texture, 0.5)), ita(scaled(texture, 2.0)),
                  ita(filled(texture, eyes)), ita(filled(texture, outside))]
        if reference is not None:
            values.append(ita(scaled(texture, reference / np.maximum(mean, 1e-6))))
        rows.append((name, mean, values))
        seen = networks.network_input(tf.constant(texture[None]))[0].numpy()
        panels.append((name, texture, seen, albedo_map(texture), values[0]))
        print(name, " ".join(f"{c}={v:+.0f}" for c, v in zip(columns, values)), flush=True)

    lines = ["# What the albedo networks read the skin tone from", "",
             "`python benchmarks/networks_skin_probe.py` (module docstring). ITA (degrees) of the networks' albedo "
             "(no fit) over the centre of the face disc, for T as it is and changed; T's mean linear colour beside it.",
             "", f"Weights: {args.weights or 'shipped'}; their input mask: "
             f"{', '.join(networks.config.masked_input_regions) or 'none'}"
             + (f" (grown {networks.config.masked_input_dilation_uv:g} UV)" if networks.config.masked_input_regions
                else "") + ".",
             "", "| T | mean linear colour | " + " | ".join(columns) + " |", "|---" * (len(columns) + 2) + "|"]
    for name, mean, values in rows:
        colour = ", ".join(f"{float(v):.3f}" for v in mean)
        lines.append(f"| {name} | ({colour}) | " + " | ".join(f"{v:+.0f}" for v in values) + " |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.md:
        args.md.write_text(text)
    if args.figure:
        _write_figure(args.figure, panels)
    return 0


def _write_figure(path: Path, panels: list) -> None:
    """Rows: T (sRGB, unseen texels grey-checked by alpha), T as the networks see it, the networks' albedo."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def shown(texture: np.ndarray) -> np.ndarray:
        alpha = np.clip(texture[..., 3:4], 0.0, 1.0) if texture.shape[-1] == 4 else 1.0
        return np.clip(texture[..., :3] * alpha + 0.5 * (1.0 - alpha), 0.0, 1.0)

    figure, axes = plt.subplots(len(panels), 3, figsize=(7.5, 2.6 * len(panels)), squeeze=False)
    for row, (name, texture, seen, albedo, value) in enumerate(panels):
        for column, (image, title) in enumerate(((texture, "T"), (seen, "T as the networks see it"),
                                                 (albedo, f"networks' albedo (ITA {value:+.0f})"))):
            axis = axes[row, column]
            axis.imshow(shown(image))
            axis.set_xticks([])
            axis.set_yticks([])
            axis.set_title(title, fontsize=8)
        axes[row, 0].set_ylabel(name.split(" (")[0][:28], fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


if __name__ == "__main__":
    sys.exit(main())
