"""Speed of ``svfri fit`` end to end and per stage, on real photos, plus reconstruction quality on real photos.

Every timing is also given as a ratio to :func:`benchmarks.common.time_reference` measured in the same run
(a fixed numpy matrix-product chain): ratios move much less than seconds on a loaded or slower machine.

* **Stages** (:func:`run_photo`): :func:`svfri.pipeline.fit_job.run_fit` -- exactly what ``svfri fit`` runs per
  photo -- with the CLI's default options (:func:`cli_settings`: ``svfri fit``'s own defaults, read from the
  command's options) and the stage timings it writes to ``fit.json``: load, detect + mesh, subdivide, bake,
  G-buffer, unwrap (+ bake textures), encode, optimise (all steps), write (maps, reconstruction, report; the
  mesh, glTF and visibility files are written after ``fit.json``'s timings are taken, so end to end is the wall
  clock of the whole ``run_fit`` call, which also holds them and the face-mask metrics). Per step: the
  median of the step-to-step intervals (the steady state), and the first step (which includes tracing the
  compiled step when the process has not fitted with these settings yet: a *cold* run).
* **Scaling with steps** (:func:`steps_scaling`): cumulative optimisation time after ``k`` steps, from the step
  times of one run (so no extra fits): end to end at ``k`` steps = the run's other stages + that.
* **Scaling with texture resolution** (:func:`geometry_scaling`): the geometry stage at several
  ``--texture-size`` values (the networks resample ``T`` to their own sizes, so the fit itself does not change).
* **Batch throughput** (:func:`batch_throughput`): ``svfri fit p1 .. pN`` in one process against ``N`` processes
  of ``svfri fit p_i``, wall clock including interpreter, TensorFlow and model start-up: the batch pays one
  start-up and one trace.
* **Real photos** (:func:`photo_variants`): the shipped public-domain portrait ``samples/astronaut.png`` and
  derived *robustness variants* of the same photo (mirror, tight crop, 3/4 size, warm colour grade, JPEG
  quality 20) -- not new people. Quality = ``fit.json``'s face-mask metrics (PSNR, SSIM, L1 of the
  reconstruction against the photo, sRGB, pixels whose loss weight >= 0.5).
"""

from __future__ import annotations

import dataclasses
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from benchmarks.common import markdown_table

__all__ = ["REPO", "SAMPLE_PHOTO", "STAGES", "PhotoRun", "cli_defaults", "cli_settings", "run_photo",
           "photo_variants", "geometry_scaling", "steps_scaling", "batch_throughput", "stage_table",
           "VARIANT_JPEG_QUALITY", "VARIANT_CROP_FACTOR", "VARIANT_WARM_GAINS"]

REPO = Path(__file__).resolve().parents[1]
SAMPLE_PHOTO = REPO / "samples" / "astronaut.png"
#: ``fit.json`` timing keys, in pipeline order, with their table labels.
STAGES = (("load", "load"), ("detect_mesh", "detect + mesh"), ("subdivide", "subdivide"), ("bake", "bake"),
          ("gbuffer", "G-buffer"), ("unwrap_bake_textures", "unwrap"), ("encode", "encode"),
          ("optimise", "optimise (all steps)"), ("refine", "detail refinement"), ("write", "write"))
#: The other public-domain portraits of ``samples/`` (``samples/PROVENANCE.md``), fitted at default settings.
OTHER_PORTRAITS = tuple(REPO / "samples" / name for name in (
    "grace_hopper.jpg", "obama_2012.jpg", "obama_2009_stage_light.jpg", "biden_2010_full_length.jpg"))
#: Robustness variants: JPEG quality, crop side as a multiple of the face's extent, linear RGB gains of the grade.
VARIANT_JPEG_QUALITY = 20
VARIANT_CROP_FACTOR = 1.3
VARIANT_WARM_GAINS = (1.12, 1.0, 0.86)
#: Downscale factor of the rescaled variant (the sample's face is ~96 px wide; svfri needs >= 48 px).
VARIANT_DOWNSCALE = 0.75


def cli_defaults() -> dict:
    """``svfri fit``'s option defaults (``cli/main.py``), by option name, as Click resolves them (flags: False)."""
    import click

    from cli.main import fit_command
    context = click.Context(fit_command)
    return {parameter.name: parameter.get_default(context) for parameter in fit_command.params}


def cli_settings(*, steps: int | None = None, texture_size: int | None = None):
    """The :class:`~svfri.pipeline.fit_job.FitJobSettings` that ``svfri fit`` builds from its defaults, with the
    number of steps and the texture size optionally changed."""
    from svfri.fitting.optimise import FitSettings
    from svfri.pipeline.fit_job import FitJobSettings
    from svfri.pipeline.geometry_stage import GeometrySettings

    d = cli_defaults()
    return FitJobSettings(
        geometry=GeometrySettings(face_index=d["face_index"], texture_size=texture_size or d["texture_size"],
                                  seed=d["seed"]),
        fit=FitSettings(steps=d["steps"] if steps is None else steps, learning_rate=d["learning_rate"],
                        loss_space=d["loss_space"]),
        resolution=d["resolution"], save_every=d["save_every"], report=not d["no_report"])


@dataclasses.dataclass
class PhotoRun:
    """One ``run_fit`` call: its returned metrics, ``fit.json``'s stage timings, step intervals and wall time."""

    label: str
    path: Path
    steps: int
    metrics: dict
    timings: dict
    step_seconds: list[float]
    wall: float
    refine_step_seconds: list[float] = dataclasses.field(default_factory=list)

    @property
    def step_median(self) -> float:
        return statistics.median(self.step_seconds[1:]) if len(self.step_seconds) > 1 else float("nan")

    @property
    def refine_step_median(self) -> float:
        """Median seconds of a detail-refinement step (steps 2..N of that stage), NaN when it did not run."""
        steps = self.refine_step_seconds[1:]
        return statistics.median(steps) if steps else float("nan")

    @property
    def first_step(self) -> float:
        return self.step_seconds[0] if self.step_seconds else float("nan")


def run_photo(path: Path, folder: Path, settings, *, label: str) -> PhotoRun:
    """Runs :func:`svfri.pipeline.fit_job.run_fit` on ``path`` into ``folder`` and collects its timings."""
    from svfri.pipeline.fit_job import run_fit

    marks = []
    clock = time.perf_counter()
    metrics = run_fit(path, folder, settings, on_step=lambda step, loss: marks.append((step, time.perf_counter())))
    wall = time.perf_counter() - clock
    timings = json.loads((folder / "fit.json").read_text())["timings_seconds"]
    # on_step numbers the latent steps 0..S-1 and the refinement's S..S+R-1: the two stages are timed apart.
    latent = [t for step, t in marks if step < settings.fit.steps]
    refine = [t for step, t in marks if step >= settings.fit.steps]
    intervals = [float(v) for v in np.diff(latent)]          # latent steps 2..N
    if latent:
        # ``optimise`` runs from the fit's setup to its final render: what the later steps leave of it is the
        # first step plus that setup (and the trace on a cold run).
        intervals = [max(timings["optimise"] - float(np.sum(intervals)), 0.0)] + intervals
    refine_intervals = [float(v) for v in np.diff(refine)]
    if refine:
        refine_intervals = [max(timings.get("refine", 0.0) - float(np.sum(refine_intervals)), 0.0)] + refine_intervals
    return PhotoRun(label=label, path=path, steps=settings.fit.steps, metrics=metrics, timings=timings,
                    step_seconds=intervals, wall=wall, refine_step_seconds=refine_intervals)


def photo_variants(photo_path: Path, folder: Path) -> list[tuple[str, Path]]:
    """The photo and its robustness variants (module docstring), written into ``folder``: ``[(label, path)]``."""
    from svfri.geometry.face_detect import fit_face_mesh
    from svfri.io.images import read_photo, write_png
    from svfri.math.color import linear_to_srgb_np, srgb_to_linear_np

    folder.mkdir(parents=True, exist_ok=True)
    photo = read_photo(photo_path)
    pixels = photo.pixels
    out = [("original", photo_path)]
    write_png(folder / "mirrored.png", pixels[:, ::-1].copy())
    out.append(("mirrored (horizontal flip)", folder / "mirrored.png"))

    points = fit_face_mesh(pixels).points[:, :2]
    centre = (points.min(0) + points.max(0)) / 2
    half = (points.max(0) - points.min(0)).max() * VARIANT_CROP_FACTOR / 2
    x0, y0 = np.maximum(np.floor(centre - half).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(centre + half).astype(int), [photo.width, photo.height])
    write_png(folder / "crop.png", pixels[y0:y1, x0:x1].copy())
    out.append((f"tight crop (face extent x {VARIANT_CROP_FACTOR})", folder / "crop.png"))

    size = (round(photo.width * VARIANT_DOWNSCALE), round(photo.height * VARIANT_DOWNSCALE))
    write_png(folder / "scaled.png", cv2.resize(pixels, size, interpolation=cv2.INTER_AREA))
    out.append((f"downscaled x {VARIANT_DOWNSCALE}", folder / "scaled.png"))

    linear = srgb_to_linear_np(pixels.astype(np.float32) / 255.0) * np.asarray(VARIANT_WARM_GAINS, np.float32)
    write_png(folder / "warm.png", linear_to_srgb_np(np.clip(linear, 0.0, 1.0)))
    out.append((f"warm colour grade (linear gains {VARIANT_WARM_GAINS})", folder / "warm.png"))

    ok, data = cv2.imencode(".jpg", pixels[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, VARIANT_JPEG_QUALITY])
    if not ok:
        raise RuntimeError("OpenCV could not encode the JPEG variant")
    (folder / "jpeg.jpg").write_bytes(data.tobytes())
    out.append((f"JPEG quality {VARIANT_JPEG_QUALITY}", folder / "jpeg.jpg"))
    return out


def geometry_scaling(photo_path: Path, texture_sizes: tuple[int, ...]) -> list[dict]:
    """Geometry-stage timings (``fit.json`` keys) at each texture size; one warm-up call first (model loading)."""
    from svfri.io.images import read_photo
    from svfri.pipeline.geometry_stage import GeometrySettings, compute_geometry

    photo = read_photo(photo_path)
    compute_geometry(photo, GeometrySettings(texture_size=texture_sizes[0]))
    rows = []
    for size in texture_sizes:
        clock = time.perf_counter()
        result = compute_geometry(photo, GeometrySettings(texture_size=size))
        rows.append({"texture_size": size, "total": time.perf_counter() - clock, **result.timings})
    return rows


def steps_scaling(run: PhotoRun, counts: tuple[int, ...]) -> list[dict]:
    """End-to-end seconds of ``run`` had it stopped after ``k`` steps, for each ``k <= run.steps``.

    ``other`` = the run's wall clock minus its optimisation; optimisation after ``k`` steps = sum of the first
    ``k`` step times (the first includes the fit's setup, and tracing on a cold run).
    """
    other = run.wall - run.timings["optimise"]
    cumulative = np.concatenate([[0.0], np.cumsum(run.step_seconds)])
    return [{"steps": k, "optimise": float(cumulative[k]), "total": other + float(cumulative[k])}
            for k in counts if k <= len(run.step_seconds)]


def batch_throughput(paths: list[Path], folder: Path, *, steps: int, networks_dir: Path) -> dict:
    """Wall clock of ``svfri fit`` on all ``paths`` in one process vs one process per photo (module docstring)."""
    env = {**os.environ, "SVFRI_NETWORKS_DIR": str(networks_dir), "TF_CPP_MIN_LOG_LEVEL": "2"}
    base = [sys.executable, "-m", "cli.main", "fit", "--steps", str(steps), "-q"]

    def run(arguments: list[str]) -> float:
        clock = time.perf_counter()
        completed = subprocess.run(base + arguments, cwd=REPO, env=env, capture_output=True, text=True)
        if completed.returncode != 0:
            raise RuntimeError(f"svfri fit failed ({completed.returncode}): {completed.stderr.strip()[-400:]}")
        return time.perf_counter() - clock

    batch = run([str(p) for p in paths] + ["--out", str(folder / "batch")])
    singles = [run([str(p), "--out", str(folder / f"single_{i}")]) for i, p in enumerate(paths)]
    return {"photos": len(paths), "steps": steps, "batch_seconds": batch, "single_seconds": singles,
            "separate_total": float(sum(singles))}


def stage_table(runs: list[PhotoRun], reference: float) -> str:
    """Per-stage seconds of each run (columns), with per-step, end-to-end and the ratio to the reference."""
    header = ["stage"] + [f"{r.label}" for r in runs]
    rows = [[label] + [f"{r.timings.get(key, float('nan')):.3f}" for r in runs] for key, label in STAGES]
    rows.append(["per step, median (steady state)"] + [f"{r.step_median:.3f}" for r in runs])
    rows.append(["per step / reference workload"] + [f"{r.step_median / reference:.2f}" for r in runs])
    rows.append(["per refinement step, median"] + [f"{r.refine_step_median:.3f}" for r in runs])
    rows.append(["first step + fit setup (+ trace when cold)"] + [f"{r.first_step:.3f}" for r in runs])
    totals = [sum(v for k, v in r.timings.items() if k != "optimise_per_step") for r in runs]
    rows.append(["sum of the stages above, s"] + [f"{t:.2f}" for t in totals])
    rows.append(["**end to end (wall clock of `run_fit`), s**"] + [f"**{r.wall:.2f}**" for r in runs])
    rows.append(["end to end / reference workload"] + [f"{r.wall / reference:.1f}" for r in runs])
    return markdown_table(header, rows)
