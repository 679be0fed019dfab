"""Ground-truth quality of the fit on synthetic scenes, in the form of Geng et al. 2021, Table 1.

Metrics, defined as :mod:`svfri.training.evaluate` defines them for the networks alone, so the two tables agree:

* **Maps** (albedo sRGB, specular linear, normal encoded ``0.5 n + 0.5``, all in ``[0, 1]``): the prediction is
  resampled to the GT's own resolution (:func:`svfri.synth.dataset.resize_map`: area averaging down, normals
  renormalised) and compared over the UV face region (:func:`svfri.training.evaluate.face_region_mask`);
  ``RMSE = sqrt(mean over face texels and channels of (p - t)^2)``, ``PSNR = 20 log10(1 / RMSE)`` dB.
* **Light**: :func:`svfri.training.evaluate.light_errors` -- PSNR / RMSE of a unit-albedo Lambertian sphere
  rendered under the predicted and the true SH light, both divided by the true sphere's peak, over the disc.
* **Photo**: PSNR / RMSE of the render (clamped to ``[0, 1]`` linear, sRGB-encoded) against the photo over the
  pixels whose loss weight (:func:`svfri.fitting.optimise.pixel_weights`: face region minus eyes and mouth
  interior, minus grazing pixels) is at least :data:`svfri.pipeline.fit_job.METRIC_MASK_THRESHOLD`. The weights
  are taken *before* the fit's outlier rejection, so the initial prediction, the fit and every ablation are scored
  on the same pixels (``fit.json``'s own face-mask metrics use the fit's final weights, which leave out the
  pixels the fit rejected).

Every scene is measured at the networks' prediction (``init``: encoder + decoder + enhancer, light regressor; the
fit's starting point) and after the fit (``fit``); when the fit includes the detail refinement
(:mod:`svfri.fitting.refine`, as ``svfri fit`` does by default), also after the latent optimisation alone
(``latent``), so each stage's gain is a difference of rows. Tables give the mean over scenes.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Callable, Iterable

import numpy as np
import tensorflow as tf

from svfri.fitting.optimise import FitResult, FitSettings, LatentFitter, pixel_weights
from svfri.fitting.refine import AlbedoRefiner
from svfri.geometry.template import FaceTemplate
from svfri.math.color import linear_to_srgb_np
from svfri.math.metrics import psnr, rmse
from svfri.nets import COMPONENTS, FaceNetworks
from svfri.pipeline.fit_job import METRIC_MASK_THRESHOLD
from svfri.render.gbuffer import GBuffer
from svfri.render.shading import gbuffer_to_tensors, shade
from svfri.synth.dataset import resize_map
from svfri.training.evaluate import face_region_mask, light_errors

from benchmarks.common import markdown_table
from benchmarks.scenes import Scene, gt_maps_float

__all__ = [
    "MAP_KINDS", "TABLE_COLUMNS", "PAPER_TABLE1_PSNR", "FitRecord", "FitterFactory", "map_metrics",
    "light_metrics", "photo_metrics", "render_radiance", "scene_metrics", "fit_scene", "mean_metrics",
    "table1_rows", "table1_markdown", "format_psnr_rmse",
]

#: How each component is resampled (:func:`svfri.synth.dataset.resize_map`).
MAP_KINDS = {"albedo": "colour", "specular": "colour", "normal": "normal"}
#: Quantities of a Table-1 row, in the paper's column order, plus the photo reconstruction.
TABLE_COLUMNS = ("albedo", "normal", "specular", "light", "photo")
#: Geng et al. 2021, Table 1, PSNR (dB) -- real scans at 1024^2; printed for the form only.
PAPER_TABLE1_PSNR = {"albedo": 25.10, "normal": 26.61, "specular": 22.68, "light": 20.29}


@dataclasses.dataclass
class FitRecord:
    """One scene fitted once.

    Attributes:
      scene: scene label; variant: fit variant label.
      init, fit: ``{"<quantity>_psnr", "<quantity>_rmse"}`` for every quantity of :data:`TABLE_COLUMNS`, at the
        networks' prediction and after the fit.
      loss_history: loss per step.
      maps: the fitted maps (numpy, as :class:`svfri.fitting.optimise.FitResult` holds them).
      initial_maps: the networks' maps.
      light_sh, initial_light_sh: ``[9, 3]``.
      seconds: wall time of the fit call (encode + steps).
      snapshots: step -> the same metrics as ``fit`` at that step of the run (when the fit took snapshots).
      latent: the metrics after the latent optimisation, before the detail refinement (``None`` without one).
    """

    scene: str
    variant: str
    init: dict[str, float]
    fit: dict[str, float]
    loss_history: list[float]
    maps: dict[str, np.ndarray]
    initial_maps: dict[str, np.ndarray]
    light_sh: np.ndarray
    initial_light_sh: np.ndarray
    seconds: float
    snapshots: dict[int, dict[str, float]] = dataclasses.field(default_factory=dict)
    latent: dict[str, float] | None = None


#: Builds a fitter for networks and settings (a variant of :class:`LatentFitter`).
FitterFactory = Callable[[FaceNetworks, FitSettings], LatentFitter]


def map_metrics(predicted: dict[str, np.ndarray], truth: dict[str, np.ndarray]) -> dict[str, float]:
    """``{"<c>_psnr", "<c>_rmse"}`` of each component's predicted map against the GT over the UV face region.

    Args:
      predicted: component -> ``[S, S, C]`` in ``[0, 1]`` (any ``S``; resampled to the GT's size).
      truth: component -> ``[M, M, C]`` in ``[0, 1]``.
    """
    out = {}
    for component in COMPONENTS:
        target = np.asarray(truth[component], np.float32)
        size = target.shape[0]
        candidate = resize_map(predicted[component], size, kind=MAP_KINDS[component]).reshape(target.shape)
        mask = face_region_mask(size)
        out[f"{component}_psnr"] = psnr(candidate, target, mask)
        out[f"{component}_rmse"] = rmse(candidate, target, mask)
    return out


def light_metrics(predicted_sh: np.ndarray, true_sh: np.ndarray) -> dict[str, float]:
    """``{"light_psnr", "light_rmse"}``: the rendered-sphere light metric of :func:`light_errors` for one light."""
    errors = light_errors(np.asarray(predicted_sh, np.float64)[None], np.asarray(true_sh, np.float64)[None])
    return {"light_psnr": float(errors["psnr"][0]), "light_rmse": float(errors["rmse"][0])}


def photo_metrics(radiance: np.ndarray, photo_srgb: np.ndarray, gbuffer: GBuffer,
                  weights: np.ndarray) -> dict[str, float]:
    """``{"photo_psnr", "photo_rmse"}``: sRGB render (linear ``radiance [N, 3]`` clamped to ``[0, 1]``) against the
    photo ``[H, W, 3]`` at the G-buffer's pixels whose loss ``weights [N]`` reach ``METRIC_MASK_THRESHOLD``."""
    rendered = linear_to_srgb_np(np.clip(np.asarray(radiance, np.float64), 0.0, 1.0))
    target = np.asarray(photo_srgb, np.float64).reshape(-1, 3)[gbuffer.pixel_index]
    mask = np.asarray(weights) >= METRIC_MASK_THRESHOLD
    return {"photo_psnr": psnr(rendered, target, mask), "photo_rmse": rmse(rendered, target, mask)}


def render_radiance(gbuffer: GBuffer, maps: dict[str, np.ndarray], light_sh: np.ndarray, *,
                    roughness: float) -> np.ndarray:
    """Linear radiance ``[N, 3]`` of ``maps`` (as the fit holds them) under ``light_sh`` -- the fit's forward model
    (:func:`svfri.render.shading.shade`), for the networks' initial prediction."""
    shaded = shade(gbuffer_to_tensors(gbuffer), albedo_srgb_map=tf.constant(maps["albedo"], tf.float32),
                   specular_map=tf.constant(maps["specular"], tf.float32),
                   normal_map=tf.constant(maps["normal"], tf.float32),
                   light_sh=tf.constant(np.asarray(light_sh, np.float32)), roughness=roughness)
    return shaded["radiance"].numpy()


def scene_metrics(maps: dict[str, np.ndarray], light_sh: np.ndarray, radiance: np.ndarray, scene: Scene,
                  weights: np.ndarray) -> dict[str, float]:
    """Every Table-1 quantity of one prediction (maps, light and its render) against the scene's truth."""
    return {**map_metrics(maps, gt_maps_float(scene)), **light_metrics(light_sh, scene.light),
            **photo_metrics(radiance, scene.photo, scene.gbuffer, weights)}


def fit_scene(fitter: LatentFitter, scene: Scene, template: FaceTemplate, *, variant: str = "full",
              gbuffer: GBuffer | None = None,
              transform_maps: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]] | None = None,
              snapshot_every: int = 0, refiner: AlbedoRefiner | None = None) -> FitRecord:
    """Fits ``scene`` with ``fitter`` and measures the initial prediction and the result.

    Args:
      fitter: a (possibly modified) :class:`LatentFitter`; reused across scenes (one trace).
      scene: the scene.
      template: the face template.
      variant: label stored in the record.
      gbuffer: the G-buffer the fit renders through (default ``scene.gbuffer``; ablations pass a modified one).
      transform_maps: applied to the initial and final maps before they are measured and re-rendered (an
        ablation that forces a map, e.g. zero specular, must measure what it renders).
      snapshot_every: also measure the maps every this many steps (``FitRecord.snapshots``; 0 = never). The
        snapshots' renders are inside ``seconds`` (a few ms each), their measurement is not.
      refiner: the detail refinement to run after the latent fit (``None``: the latent fit alone); its map size must
        be the fitted albedo's.
    """
    gbuffer = gbuffer or scene.gbuffer
    transform_maps = transform_maps or (lambda maps: maps)
    roughness = fitter.settings.roughness
    snapshots: dict[int, tuple] = {}

    def on_snapshot(step: int, maps: dict, light_sh: np.ndarray) -> None:
        snapshots[step] = (transform_maps(maps), light_sh)

    clock = time.perf_counter()
    result: FitResult = fitter.fit(gbuffer, scene.texture, scene.photo, template, snapshot_every=snapshot_every,
                                   on_snapshot=on_snapshot if snapshot_every else None)
    refined = None
    if refiner is not None:
        refined = refiner.refine_fit(gbuffer, scene.photo, result, template, roughness=roughness)
    seconds = time.perf_counter() - clock
    weights = pixel_weights(scene.gbuffer, template)      # before outlier rejection: the same pixels for all
    final_maps, radiance, latent = transform_maps(result.maps), result.radiance, None
    if refined is not None:
        latent = scene_metrics(final_maps, result.light_sh, radiance, scene, weights)
        final_maps = transform_maps({**result.maps, "albedo": refined.albedo})
        radiance = refined.radiance
    initial_maps = transform_maps(result.initial_maps)
    initial_radiance = render_radiance(gbuffer, initial_maps, result.initial_light_sh, roughness=roughness)
    init = scene_metrics(initial_maps, result.initial_light_sh, initial_radiance, scene, weights)
    fit = scene_metrics(final_maps, result.light_sh, radiance, scene, weights)
    measured = {step: scene_metrics(maps, light, render_radiance(gbuffer, maps, light, roughness=roughness), scene,
                                    weights) for step, (maps, light) in snapshots.items()}
    return FitRecord(scene=scene.name, variant=variant, init=init, fit=fit, loss_history=list(result.loss_history),
                     maps=final_maps, initial_maps=initial_maps, light_sh=result.light_sh,
                     initial_light_sh=result.initial_light_sh, seconds=seconds, snapshots=measured, latent=latent)


def mean_metrics(rows: Iterable[dict[str, float]]) -> dict[str, float]:
    """Mean of each key over rows (PSNR averaged in dB, as Table 1 and :mod:`svfri.training.evaluate` do;
    an infinite PSNR -- identical images -- is left out of its mean)."""
    rows = list(rows)
    out = {}
    for key in rows[0]:
        values = [row[key] for row in rows if math.isfinite(row[key])]
        out[key] = float(np.mean(values)) if values else float("nan")
    return out


def format_psnr_rmse(metrics: dict[str, float], quantity: str) -> str:
    """``"PSNR / RMSE"`` cell text of one quantity."""
    return f"{metrics[f'{quantity}_psnr']:.2f} / {metrics[f'{quantity}_rmse']:.4f}"


def table1_rows(records: list[FitRecord], *, label: str, include_init: bool = True) -> list[list[str]]:
    """Table rows (mean over ``records``): the networks' prediction (when asked) and the fit."""
    rows = []
    if include_init:
        init = mean_metrics(r.init for r in records)
        rows.append([f"{label}: networks only (init)"] + [format_psnr_rmse(init, q) for q in TABLE_COLUMNS])
    steps = len(records[0].loss_history)
    if records[0].latent is not None:
        latent = mean_metrics(r.latent for r in records)
        rows.append([f"{label}: latent fit, {steps} steps"] + [format_psnr_rmse(latent, q) for q in TABLE_COLUMNS])
        fit = mean_metrics(r.fit for r in records)
        rows.append([f"{label}: latent fit + detail refinement"] + [format_psnr_rmse(fit, q) for q in TABLE_COLUMNS])
        return rows
    fit = mean_metrics(r.fit for r in records)
    rows.append([f"{label}: after {steps} steps"]
                + [format_psnr_rmse(fit, q) for q in TABLE_COLUMNS])
    return rows


def table1_markdown(rows: list[list[str]], *, paper_row: bool = True) -> str:
    """The Table-1 markdown table (``PSNR dB / RMSE`` per cell) with the paper's row for the form."""
    header = ["method"] + [f"{q} PSNR ↑ / RMSE ↓" for q in TABLE_COLUMNS]
    rows = list(rows)
    if paper_row:
        rows.append(["Geng et al. 2021 Table 1 (real scans, 1024², networks only; not comparable)"]
                    + [f"{PAPER_TABLE1_PSNR[q]:.2f} / —" if q in PAPER_TABLE1_PSNR else "—" for q in TABLE_COLUMNS])
    return markdown_table(header, rows)
