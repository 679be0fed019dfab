"""The path-traced benchmark: render held-out scenes, run every row through svfri's output contract, score.

Rows (each an output folder scored by :mod:`benchmarks.pathtraced.reproject` and
:mod:`benchmarks.pathtraced.scoring`, except the floor, which is the photo itself):

* ``photo as albedo`` -- the floor any de-lighting must beat: the photo's own sRGB pixels taken as albedo;
* ``training-mean albedo`` -- the mean of the training generator's albedo maps on the networks' mesh;
* ``networks alone`` -- ``svfri fit --steps 0`` (encoders + decoders + enhancers; the albedo's level is the
  networks' own);
* ``networks alone, level from context`` -- ``svfri fit --steps 0 --albedo-level context`` (the level regressor on
  the photo around the face, :mod:`svfri.nets.level`);
* ``default fit`` -- ``svfri fit`` as shipped (the latent fit: the paper's method with svfri's latent prior);
* ``default + detail refinement`` -- ``svfri fit --refine-steps 60`` (off by default since the tuning scenes showed
  it putting shading into the albedo);
* ablations of the default fit: ``level from context``, ``no latent prior``, ``enhancers in the loop`` (the paper: every step renders
  the enhanced maps; the default runs them once on the final codes) and ``no enhancers``.

Scores are computed over the skin pixels of the truth that the fitted mesh covers (the same pixels for every row
of a scene; the covered fraction is reported), in photo space.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from svfri.errors import SvfriError
from svfri.fitting.settings import FitSettings, RefineSettings
from svfri.io.hdr import write_exr
from svfri.io.images import write_png
from svfri.math.color import linear_to_srgb_np, srgb_to_linear_np

from benchmarks.pathtraced import scoring
from svfri.synth.pathtraced.camera import metered_exposure
from benchmarks.pathtraced.plan import Plan, make_plan
from benchmarks.pathtraced.reproject import Reprojection, reproject_output
from svfri.synth.pathtraced.scenes import SceneSpec, SceneTruth, true_environment

__all__ = ["Row", "ROWS", "ABLATION_ROWS", "run_benchmark", "render_truths", "score_row", "mean_maps",
           "read_exr_rgba", "row_folder_name", "REPO_ROOT"]

REPO_ROOT = Path(__file__).resolve().parents[2]
#: Seeds of the training generator averaged into the training-mean maps (the training split starts at 0).
MEAN_MAP_SEEDS = range(0, 64)


@dataclasses.dataclass(frozen=True)
class Row:
    """A row of the table: ``kind`` ``floor`` (the photo), ``mean`` (training-mean maps on the networks' mesh) or
    ``fit`` (``svfri fit`` with ``fit`` settings overriding the defaults; ``detail``: with the detail refinement on,
    :data:`DETAIL_STEPS` steps)."""

    name: str
    kind: str
    fit: dict | None = None
    detail: bool = False
    ablation: bool = False


#: Steps of the detail refinement in its row (the full plan; ``--quick`` uses :data:`QUICK_STEPS`).
DETAIL_STEPS = 60
#: ``--quick``: latent steps and detail steps.
QUICK_STEPS = (30, 10)
ROWS = (
    Row("photo as albedo (floor)", "floor"),
    Row("training-mean albedo", "mean"),
    Row("networks alone", "fit", {"steps": 0}),
    Row("networks alone, level from context", "fit", {"steps": 0, "albedo_level": "context"}),
    Row("default fit", "fit", {}),
    Row("default + detail refinement", "fit", {}, detail=True),
)
ABLATION_ROWS = (
    Row("default, level from context", "fit", {"albedo_level": "context"}, ablation=True),
    Row("default, no latent prior (paper)", "fit", {"latent_prior_weight": 0.0}, ablation=True),
    Row("default, free albedo level", "fit", {"hold_albedo_level": False}, ablation=True),
    Row("default, enhancers in the loop (paper)", "fit", {"enhance": "loop"}, ablation=True),
    Row("default, no enhancers", "fit", {"enhance": "off"}, ablation=True),
)
#: The row whose geometry defines the scored pixels and the training-mean row's mesh.
GEOMETRY_ROW = "networks alone"


def row_folder_name(name: str) -> str:
    """The sub-folder a row's output set is written to (its name with non-alphanumerics as underscores)."""
    return "".join(c if c.isalnum() else "_" for c in name).strip("_")


def render_truths(specs: list[SceneSpec], folder: Path, *, echo=print) -> dict[str, Path]:
    """Path-traces every spec not yet in ``folder`` (in the render worker process); returns name -> truth path."""
    folder.mkdir(parents=True, exist_ok=True)
    jobs = [{"spec": spec.to_json(), "path": str(folder / f"{spec.name}.npz")} for spec in specs]
    todo = [job for job in jobs if not Path(job["path"]).is_file()]
    if todo:
        jobs_path = folder / "jobs.json"
        jobs_path.write_text(json.dumps(todo))
        echo(f"path-tracing {len(todo)} scenes (Mitsuba 3)...")
        subprocess.run([sys.executable, "-m", "svfri.synth.pathtraced.worker", str(jobs_path)],
                       cwd=REPO_ROOT, check=True)
    return {spec.name: folder / f"{spec.name}.npz" for spec in specs}


def read_exr_rgba(path: Path) -> np.ndarray:
    """An RGBA EXR as ``[H, W, 4]`` float32 (what ``svfri relight`` writes beside its PNG)."""
    import OpenEXR

    with OpenEXR.File(str(path), separate_channels=True) as exr:
        channels = exr.channels()
        return np.stack([np.asarray(channels[c].pixels, np.float32) for c in ("R", "G", "B", "A")], axis=-1)


@functools.lru_cache(maxsize=2)
def mean_maps(layout: str = "template") -> dict[str, np.ndarray]:
    """Training-mean albedo (sRGB of the mean linear albedo) and specular maps in a UV layout: ``"template"`` (the
    networks' face disc) or ``"ict"`` (ICT's face tile, the layout an ICT-head output folder's maps are in)."""
    from svfri.synth.skin_maps import generate_skin_maps

    if layout == "ict":
        from svfri.geometry.ict_head import load_ict_head

        masks = load_ict_head().region_masks
    elif layout == "template":
        from svfri.geometry.template import load_face_template

        masks = load_face_template().region_masks
    else:
        raise ValueError(f"layout must be 'template' or 'ict', got {layout!r}")
    albedo = specular = 0.0
    for seed in MEAN_MAP_SEEDS:
        skin = generate_skin_maps(masks, seed=seed, size=256)
        albedo = albedo + skin.albedo / len(MEAN_MAP_SEEDS)
        specular = specular + skin.specular / len(MEAN_MAP_SEEDS)
    return {"albedo": linear_to_srgb_np(np.clip(albedo, 0, 1)), "specular": specular}


def _mean_folder(geometry_folder: Path, folder: Path) -> Path:
    """An output folder with the networks' mesh and camera and the training-mean maps (flat normal map), in the
    layout of that folder's maps (the ICT face tile for an ICT-head folder, else the face disc)."""
    from svfri.pipeline.export_job import is_ict_folder

    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name in ("mesh.obj", "mesh.mtl", "fit.json", "sclera.png", "iris.png"):
        if (geometry_folder / name).is_file():
            shutil.copy2(geometry_folder / name, folder / name)
    maps = mean_maps("ict" if is_ict_folder(geometry_folder) else "template")
    write_png(folder / "albedo.png", maps["albedo"])
    write_png(folder / "specular.png", maps["specular"])
    write_png(folder / "normal.png", np.broadcast_to(np.array([0.5, 0.5, 1.0]), (64, 64, 3)).copy())
    return folder


def _fit(photo: Path, folder: Path, row: Row, steps: int, refine_steps: int) -> dict:
    from svfri.pipeline.fit_job import FitJobSettings, run_fit

    fit = FitSettings(**{"steps": steps, **(row.fit or {})})
    refine = RefineSettings(steps=refine_steps if row.detail else RefineSettings().steps)
    clock = time.perf_counter()
    metrics = run_fit(photo, folder, FitJobSettings(fit=fit, refine=refine, report=False))
    metrics["seconds_wall"] = round(time.perf_counter() - clock, 2)
    return metrics


def score_row(truth: SceneTruth, reprojection: Reprojection | None, mask: np.ndarray) -> dict:
    """Every per-scene figure of one row, from its output folder reprojected into the photo
    (:func:`~benchmarks.pathtraced.reproject.reproject_output`; ``None``: the photo taken as albedo)."""
    photo_srgb = truth.photo.astype(np.float64) / 255.0
    photo_linear = srgb_to_linear_np(photo_srgb)
    true_linear = truth.albedo_linear
    true_srgb = linear_to_srgb_np(np.clip(true_linear, 0, 1))
    if reprojection is None:
        predicted_srgb, predicted_linear = photo_srgb, photo_linear
    else:
        predicted_srgb, predicted_linear = reprojection.albedo_srgb, reprojection.albedo_linear
    scaled, k = scoring.scaled_albedo_psnr(predicted_linear, true_linear, mask)
    ita_mask = truth.ita_region & mask
    ita_true = scoring.mean_ita(true_linear, ita_mask)
    ita_predicted = scoring.mean_ita(predicted_linear, ita_mask)
    result = {
        "albedo_psnr_db": scoring.albedo_psnr(predicted_srgb, true_srgb, mask),
        "albedo_psnr_scaled_db": scaled, "best_scale": k,
        "ita_true": ita_true, "ita_predicted": ita_predicted, "ita_error": ita_predicted - ita_true,
        "delta_e00": scoring.mean_delta_e(predicted_linear, true_linear, ita_mask),
        "shading_leak": scoring.shading_leak(predicted_linear, true_linear, photo_linear, mask),
    }
    if reprojection is not None:
        result["normal_error_deg"] = scoring.angular_error_degrees(reprojection.normal_camera, truth.normal_camera, mask)
        result["mesh_normal_error_deg"] = scoring.angular_error_degrees(reprojection.mesh_normal_camera,
                                                                        truth.normal_camera, mask)
        result["specular_rmse"] = scoring.specular_rmse(reprojection.specular, truth.specular, mask)
    return result


def _relight_score(folder: Path, relit_truth: SceneTruth, environment_path: Path, mask: np.ndarray) -> float:
    """PSNR (sRGB, dB) of ``svfri relight`` of ``folder`` under the map vs the path tracer's render of the true head
    under it, both exposed by the camera's metering of the true relit frame, over ``mask``."""
    from svfri.pipeline.relight_job import RelightSettings, run_relight

    out = folder / "relit.png"
    run_relight(folder, environment_path, out, RelightSettings(background="transparent"))
    relit = read_exr_rgba(out.with_suffix(".exr"))
    coverage = relit[..., 3] > 0.999
    exposure = metered_exposure(relit_truth.radiance)
    predicted = linear_to_srgb_np(np.clip(relit[..., :3] / np.maximum(relit[..., 3:], 1e-6) * exposure, 0, 1))
    true = linear_to_srgb_np(np.clip(relit_truth.radiance * exposure, 0, 1))
    return scoring.albedo_psnr(predicted, true, mask & coverage & relit_truth.skin)


def _photo_path(truth: SceneTruth, folder: Path) -> Path:
    path = folder / f"{truth.spec.name}.png"
    if not path.is_file():
        write_png(path, truth.photo.astype(np.float32) / 255.0)
    return path


def run_benchmark(*, quick: bool, work: Path, ablations: bool = True, kind: str = "report", limit: int | None = None,
                  consistency_set: bool = True, echo=print) -> dict:
    """Runs the report (or tuning) plan, optionally its first ``limit`` scenes; returns the JSON-able results."""
    plan: Plan = make_plan(kind, quick=quick)
    if limit:
        plan = dataclasses.replace(plan, scenes=plan.scenes[:limit])
    steps, refine_steps = QUICK_STEPS if quick else (FitSettings().steps, DETAIL_STEPS)
    specs = list(plan.scenes) + [plan.relight[s.name] for s in plan.scenes] + (
        list(plan.consistency) if consistency_set else [])
    clock = time.perf_counter()
    truths = render_truths(specs, work / "truth", echo=echo)
    render_seconds = time.perf_counter() - clock
    rows = ROWS + (ABLATION_ROWS if ablations else ())
    for folder in ("photos", "fits", "environments"):
        (work / folder).mkdir(parents=True, exist_ok=True)

    per_scene, failures, fit_seconds, variant = [], [], [], None
    for number, spec in enumerate(plan.scenes, 1):
        truth = SceneTruth.load(truths[spec.name])
        variant = truth.variant
        try:
            record = _score_scene(spec, truth, SceneTruth.load(truths[plan.relight[spec.name].name]),
                                  plan.relight[spec.name], rows, work, steps, refine_steps, fit_seconds)
        except SvfriError as error:   # svfri refused the photo: a result, reported, not scored
            failures.append({"scene": spec.to_json(), "error": str(error), "exit_code": error.exit_code})
            echo(f"FAILED {number}/{len(plan.scenes)} {spec.name}: {error}")
            continue
        per_scene.append(record)
        echo(f"scored {number}/{len(plan.scenes)} {spec.name}: " + ", ".join(
            f"{name} {scores['albedo_psnr_db']:.1f} dB / ITA {scores['ita_error']:+.0f}"
            for name, scores in record["rows"].items() if not name.startswith("default,")))

    consistency = (_consistency(plan, truths, work / "photos", work / "fits", steps, refine_steps)
                   if plan.consistency and consistency_set else None)
    return {"quick": quick, "plan": kind, "variant": variant, "steps": steps, "refine_steps": refine_steps,
            "rows": [row.name for row in rows], "ablation_rows": [row.name for row in rows if row.ablation],
            "scenes": per_scene, "failures": failures, "consistency": consistency, "seconds_render": round(render_seconds, 1),
            "seconds_fit": fit_seconds}


def _score_scene(spec: SceneSpec, truth: SceneTruth, relit_truth: SceneTruth, relit_spec: SceneSpec, rows, work: Path,
                 steps: int, refine_steps: int, fit_seconds: list) -> dict:
    """Fits every row of one scene and scores it (raises the fit's SvfriError when svfri refuses the photo)."""
    environment_path = work / "environments" / f"{relit_spec.name}.exr"
    write_exr(environment_path, true_environment(relit_spec.light), half=False)
    photo = _photo_path(truth, work / "photos")
    folders: dict[str, Path | None] = {}
    metrics: dict[str, dict] = {}
    for row in rows:
        if row.kind == "floor":
            folders[row.name] = None
        elif row.kind == "fit":
            folder = work / "fits" / spec.name / row_folder_name(row.name)
            metrics[row.name] = _fit(photo, folder, row, steps, refine_steps)
            fit_seconds.append((row.name, metrics[row.name]["seconds_wall"]))
            folders[row.name] = folder
    for row in rows:
        if row.kind == "mean":
            folders[row.name] = _mean_folder(folders[GEOMETRY_ROW], work / "fits" / spec.name / row_folder_name(row.name))
    reprojections = {name: None if folder is None else reproject_output(folder) for name, folder in folders.items()}
    mask = truth.skin & reprojections[GEOMETRY_ROW].coverage
    scene_rows = {}
    for row in rows:
        scores = score_row(truth, reprojections[row.name], mask)
        if row.kind in ("fit", "mean"):
            scores["relight_psnr_db"] = _relight_score(folders[row.name], relit_truth, environment_path, mask)
        if row.kind == "fit":
            scores["fit_json_psnr_db"] = metrics[row.name].get("psnr_db")
        scene_rows[row.name] = scores
    return {"scene": spec.to_json(), "head": truth.head, "skin_pixels": int(truth.skin.sum()),
            "scored_pixels": int(mask.sum()), "coverage": float(mask.sum() / max(int(truth.skin.sum()), 1)),
            "rows": scene_rows}


def _consistency(plan: Plan, truths: dict, photos: Path, fits: Path, steps: int, refine_steps: int) -> dict:
    """One head under several lights: the spread of the recovered albedo in photo space, per row."""
    rows = [row for row in ROWS if row.kind == "fit" and not row.detail]
    albedos = {row.name: [] for row in rows}
    albedos["photo as albedo (floor)"] = []
    mask = None
    failures = []
    for spec in plan.consistency:
        truth = SceneTruth.load(truths[spec.name])
        photo = _photo_path(truth, photos)
        covered, reprojections = None, {}
        try:
            for row in rows:
                folder = fits / spec.name / row_folder_name(row.name)
                _fit(photo, folder, row, steps, refine_steps)
                reprojections[row.name] = reproject_output(folder)
        except SvfriError as error:    # this environment is left out, and said so
            failures.append({"environment": spec.light.to_json(), "error": str(error)})
            continue
        for name, reprojection in reprojections.items():
            albedos[name].append(reprojection.albedo_srgb)
            covered = reprojection.coverage if covered is None else covered & reprojection.coverage
        albedos["photo as albedo (floor)"].append(truth.photo.astype(np.float64) / 255.0)
        scene_mask = truth.skin & covered
        mask = scene_mask if mask is None else mask & scene_mask
    if mask is None or len(albedos["photo as albedo (floor)"]) < 2:
        return {"environments": [spec.light.to_json() for spec in plan.consistency], "failures": failures,
                "scored_pixels": 0, "rows": {}}
    result = {name: scoring.lighting_consistency(values, mask) for name, values in albedos.items()}
    return {"environments": [spec.light.to_json() for spec in plan.consistency], "failures": failures,
            "scored_pixels": int(mask.sum()), "rows": result}
