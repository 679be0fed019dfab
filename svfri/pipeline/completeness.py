"""What a committed output folder says about itself: which output set it holds, and the metrics recorded in it.

``fit.json`` is the completion marker of both commands (committed last, :mod:`svfri.io.staging`); its
``"output_set"`` field says which command completed the folder: ``"mesh"`` (the geometry set) or ``"fit"`` (the
full set, a superset of the geometry set). ``--skip-existing`` skips a folder only when it holds the set the
command makes (:data:`SATISFIES`): ``svfri fit`` never skips a folder holding only a ``mesh`` result, ``svfri mesh``
skips a folder holding either. A ``fit.json`` without the field, or one that does not parse, is not complete.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["COMPLETE_MARKER", "OUTPUT_SET_KEY", "MESH_SET", "FIT_SET", "SATISFIES", "OUTPUT_FILES",
           "recorded_output_set", "is_complete", "recorded_metrics"]

#: File whose presence (with a valid ``output_set``) marks an output folder as complete; committed last.
COMPLETE_MARKER = "fit.json"
#: Key of ``fit.json`` naming the output set that completed the folder.
OUTPUT_SET_KEY = "output_set"
MESH_SET = "mesh"
FIT_SET = "fit"
#: For each command's output set, the recorded sets that count as complete for it.
SATISFIES = {MESH_SET: frozenset({MESH_SET, FIT_SET}), FIT_SET: frozenset({FIT_SET})}
#: Every file and folder name either command writes into an output folder: what a new commit replaces, so that
#: no file of an earlier result stays beside a new marker (see :class:`svfri.io.staging.StagedOutput`).
OUTPUT_FILES = ("mesh.obj", "mesh.mtl", "texture.png", "texture_mask.png", "visibility.npz", "landmarks.json",
                "overlay.png", "albedo.png", "specular.png", "normal.png", "face.glb", "lighting.json",
                "reconstruction.png", "report.png", "sclera.png", "iris.png", "steps", COMPLETE_MARKER)


def _marker(folder: Path) -> dict | None:
    try:
        record = json.loads((Path(folder) / COMPLETE_MARKER).read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return record if isinstance(record, dict) else None


def recorded_output_set(folder: str | Path) -> str | None:
    """The output set that completed ``folder`` (``"mesh"`` / ``"fit"``), or ``None`` when it is not complete."""
    record = _marker(Path(folder))
    value = None if record is None else record.get(OUTPUT_SET_KEY)
    return value if value in SATISFIES else None


def is_complete(folder: str | Path, output_set: str) -> bool:
    """Whether ``folder`` already holds a complete result of the command that makes ``output_set``."""
    if output_set not in SATISFIES:
        raise ValueError(f"unknown output set {output_set!r}; expected one of {sorted(SATISFIES)}")
    return recorded_output_set(folder) in SATISFIES[output_set]


def recorded_metrics(folder: str | Path, output_set: str) -> dict:
    """The per-photo metrics a batch row reports, read back from a complete folder's ``fit.json`` (so a resumed
    batch's summary keeps the numbers of photos skipped as complete). Empty when the folder records none."""
    record = _marker(Path(folder)) or {}
    timings = record.get("timings_seconds", {})
    metrics: dict = {}
    if output_set == FIT_SET:
        quality = record.get("metrics_whole_face", {})
        for key, digits in (("psnr_db", 3), ("ssim", 4), ("l1", 5)):
            if isinstance(quality.get(key), (int, float)):
                metrics[key] = round(float(quality[key]), digits)
        if timings:
            metrics["seconds_total"] = round(sum(v for k, v in timings.items() if k != "optimise_per_step"), 2)
        if isinstance(timings.get("optimise_per_step"), (int, float)):
            metrics["seconds_per_step"] = round(float(timings["optimise_per_step"]), 4)
    else:
        if timings:
            metrics["seconds_geometry"] = round(sum(timings.values()), 3)
        vertices = record.get("mesh", {}).get("vertices")
        if isinstance(vertices, int):
            metrics["vertices"] = vertices
    return metrics
