"""The benchmark's picture: per skin type, the photo, the albedo of the networks alone and of the default fit
(reprojected into the photo through the output contract), and the true albedo, cropped to the face."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from svfri.io.images import atomic_write_bytes
from svfri.math.color import linear_to_srgb_np

from benchmarks.pathtraced.reproject import reproject_output
from benchmarks.pathtraced.run import row_folder_name
from svfri.synth.pathtraced.scenes import SceneTruth
from benchmarks.skin_tone import ROMAN

__all__ = ["write_grid", "GRID_ROWS"]

#: Output rows shown beside the photo and the truth.
GRID_ROWS = ("networks alone", "networks alone, level from context", "default fit")
_BACKGROUND = 0.5
_MARGIN = 0.08


def _crop(mask: np.ndarray) -> tuple[slice, slice]:
    rows, cols = np.nonzero(mask)
    pad = int(_MARGIN * mask.shape[0])
    return (slice(max(rows.min() - pad, 0), rows.max() + pad + 1), slice(max(cols.min() - pad, 0), cols.max() + pad + 1))


def write_grid(results: dict, work: Path, path: Path) -> Path:
    """Writes the grid PNG (one row per skin type, first scene of each type) and returns ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    first = {}
    for scene in results["scenes"]:
        first.setdefault(scene["scene"]["skin_type"], scene)
    columns = ["photo"] + [f"albedo: {row}" for row in GRID_ROWS] + ["true albedo"]
    figure, axes = plt.subplots(len(first), len(columns), figsize=(2.4 * len(columns), 2.6 * len(first)),
                                squeeze=False)
    for axis_row, (skin_type, scene) in zip(axes, sorted(first.items())):
        name = scene["scene"]["name"]
        truth = SceneTruth.load(work / "truth" / f"{name}.npz")
        window = _crop(truth.skin)
        skin = truth.skin[..., None]
        panels = [truth.photo.astype(np.float64) / 255.0]
        for row in GRID_ROWS:
            reprojection = reproject_output(work / "fits" / name / row_folder_name(row))
            covered = reprojection.coverage[..., None]
            panels.append(np.where(covered, reprojection.albedo_srgb, _BACKGROUND))
        panels.append(np.where(skin, linear_to_srgb_np(np.clip(truth.albedo_linear, 0, 1)), _BACKGROUND))
        for axis, title, image in zip(axis_row, columns, panels):
            axis.imshow(np.clip(image[window], 0, 1))
            axis.set_xticks([])
            axis.set_yticks([])
            errors = scene["rows"].get(title.replace("albedo: ", ""), {})
            label = title if title != "photo" else f"type {ROMAN[skin_type]}: photo"
            if errors:
                label += f"\nITA {errors['ita_predicted']:.0f}° (true {errors['ita_true']:.0f}°)"
            elif title == "true albedo":
                label += f"\nITA {next(iter(scene['rows'].values()))['ita_true']:.0f}°"
            axis.set_title(label, fontsize=8)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    plt.close(figure)
    atomic_write_bytes(path, buffer.getvalue())
    return path
