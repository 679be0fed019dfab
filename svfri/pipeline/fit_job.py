"""``svfri fit`` for one photo: geometry stage, network encoding, latent optimisation, the full output set.

Output set (docs/architecture.md): everything of ``svfri mesh`` plus ``albedo.png`` (sRGB), ``specular.png``
(linear grey), ``normal.png`` (tangent space, OpenGL +Y), ``lighting.json`` (SH 9x3), ``reconstruction.png`` (the
render composited over the photo), ``report.png`` (photo | reconstruction | maps | two relights | loss curve), and
``fit.json`` extended with the loss per step, reconstruction PSNR / SSIM / L1 over the whole projected face (and, labelled,
over the fit's own inlier pixels), per-stage timings, settings and versions.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import json
import os
import platform
import time
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

import svfri
from svfri.assets import NETWORKS_SUBDIR, models_dir
from svfri.errors import FaceTooSmallError, NotYetError, OutputError
from svfri.fitting.optimise import FitResult, FitSettings, LatentFitter
from svfri.fitting.refine import AlbedoRefiner, RefineResult, RefineSettings
from svfri.geometry.template import load_face_template
from svfri.io.gltf import write_glb
from svfri.io.gltf_ict import write_ict_glb_from_folder
from svfri.io.images import atomic_write_bytes, read_photo, write_png
from svfri.io.output_set import FaceAsset
from svfri.io.staging import StagedOutput
from svfri.pipeline.completeness import COMPLETE_MARKER, FIT_SET, OUTPUT_FILES, OUTPUT_SET_KEY
from svfri.math.color import SKIN_F0, linear_to_srgb_np
from svfri.math.metrics import l1, psnr, ssim
from svfri.math.sh import SH_COEFFICIENT_COUNT
from svfri.pipeline import head_parts
from svfri.pipeline.albedo_level import level_gain, load_level_net
from svfri.pipeline.geometry_stage import (GeometryResult, GeometrySettings, compute_geometry, photo_notes,
                                           unwrap_network_texture, write_geometry_outputs)

__all__ = ["FitJobSettings", "load_networks", "NETWORKS_DIR_ENV", "run_fit", "fit_photo", "asset_from_fit", "RECONSTRUCTION_MAX_SIDE",
           "METRIC_MASK_THRESHOLD", "REPORT_HDRIS"]

#: reconstruction.png is the photo shrunk so its longer side is at most this (the face keeps its work resolution).
RECONSTRUCTION_MAX_SIDE = 2048
#: Pixels whose loss weight is at least this count in the reported PSNR / SSIM / L1.
METRIC_MASK_THRESHOLD = 0.5
#: The shipped sample environments used for the report's two relights, and the side of those relights, pixels.
REPORT_HDRIS = ("studio", "sky")
REPORT_RELIGHT_SIZE = 256
_SH_ORDER_NAMES = ["Y00", "Y1-1", "Y10", "Y11", "Y2-2", "Y2-1", "Y20", "Y21", "Y22"]


@dataclasses.dataclass(frozen=True)
class FitJobSettings:
    """``resolution``: side of the written maps (resampled from the networks' own sizes when different; 0 keeps
    them); ``save_every``: write the maps every N steps into ``steps/`` of the output folder as the fit goes;
    ``refine``: the detail refinement after the latent fit (:mod:`svfri.fitting.refine`; ``steps=0`` skips it)."""

    geometry: GeometrySettings = GeometrySettings()
    fit: FitSettings = FitSettings()
    refine: RefineSettings = RefineSettings()
    resolution: int = 0
    save_every: int = 0
    report: bool = True


def _resample(image: np.ndarray, size: int) -> np.ndarray:
    if not size or image.shape[0] == size:
        return image
    interpolation = cv2.INTER_AREA if size < image.shape[0] else cv2.INTER_CUBIC
    resized = cv2.resize(image, (size, size), interpolation=interpolation)
    return np.clip(resized.reshape(size, size, -1), 0.0, 1.0)


def _write_maps(folder: Path, maps: dict[str, np.ndarray], size: int) -> dict[str, np.ndarray]:
    """Writes albedo/specular/normal PNGs at ``size`` (0 = as they are); returns the maps as written."""
    written = {"albedo": _resample(maps["albedo"], size), "specular": _resample(maps["specular"], size)}
    normal = _resample(maps["normal"], size)
    if size and normal.shape[0] != maps["normal"].shape[0]:  # keep unit vectors after resampling
        decoded = normal * 2 - 1
        normal = 0.5 * decoded / np.maximum(np.linalg.norm(decoded, axis=-1, keepdims=True), 1e-6) + 0.5
    written["normal"] = normal
    write_png(folder / "albedo.png", written["albedo"])
    write_png(folder / "specular.png", written["specular"][..., 0])
    write_png(folder / "normal.png", written["normal"])
    return written


#: Environment variable naming another folder of network weights (``networks.npz`` + ``networks.json``).
NETWORKS_DIR_ENV = "SVFRI_NETWORKS_DIR"


def load_networks(directory: str | os.PathLike | None = None):
    """The trained networks, loaded once per process and folder: ``directory``, else ``$SVFRI_NETWORKS_DIR``, else
    the shipped ``models/networks``. :class:`NotYetError` until weights are installed there."""
    folder = Path(directory or os.environ.get(NETWORKS_DIR_ENV) or models_dir() / NETWORKS_SUBDIR)
    return _load_networks(folder.resolve())


@functools.lru_cache(maxsize=None)
def _load_networks(folder: Path):
    from svfri.nets import MANIFEST_FILE, FaceNetworks

    if not (folder / MANIFEST_FILE).is_file():
        raise NotYetError(f"no trained network weights in {folder}: `svfri fit` needs them (train with "
                          "`python -m precompute.train_networks`); `svfri mesh` runs the geometry stage meanwhile")
    return FaceNetworks.from_directory(folder)


@functools.lru_cache(maxsize=4)
def _fitter(networks, settings: FitSettings) -> LatentFitter:
    """One compiled fitter per networks and settings: a batch traces the step once, not once per photo."""
    return LatentFitter(networks, settings)


@functools.lru_cache(maxsize=4)
def _refiner(size: int, settings: RefineSettings, loss_space: str) -> AlbedoRefiner:
    """One compiled refinement per map size and settings, reused across a batch."""
    return AlbedoRefiner(size, settings, loss_space)


@dataclasses.dataclass
class FitOutcome:
    """Geometry, the latent fit, and the detail refinement (``None`` when skipped).

    ``network_maps``: the final maps in the networks' template layout (the refined albedo with the latent fit's
    specular and normal maps). ICT mesh: ``skin_maps`` are those maps resampled into the face tile (the written
    ones), ``parts`` the other parts' materials, ``uv_resampling`` the record for ``fit.json`` and
    ``output_radiance`` the render of the whole head with them (``[N, 3]`` on ``geometry.gbuffer``); template mesh:
    ``None``, the network maps and the fit's own render are the output."""

    geometry: GeometryResult
    fit: FitResult
    timings: dict
    refine: RefineResult | None = None
    skin_maps: dict | None = None
    skin_covered: dict | None = None
    parts: dict | None = None
    uv_resampling: dict | None = None
    output_radiance: np.ndarray | None = None
    uv: np.ndarray | None = None                 # ICT: the written UVs (back_head on its swatch texel)
    albedo_level: dict | None = None             # where the albedo's level came from (fit.json "albedo_level")

    @property
    def network_maps(self) -> dict[str, np.ndarray]:
        if self.refine is None:
            return self.fit.maps
        return {**self.fit.maps, "albedo": self.refine.albedo}

    @property
    def maps(self) -> dict[str, np.ndarray]:
        """The output maps (the mesh's own UV layout)."""
        return self.network_maps if self.skin_maps is None else self.skin_maps

    @property
    def radiance(self) -> np.ndarray:
        """``[N, 3]`` linear render of ``geometry.gbuffer``'s pixels with the output maps."""
        if self.output_radiance is not None:
            return self.output_radiance
        return self.fit.radiance if self.refine is None else self.refine.radiance


def fit_photo(photo, settings: FitJobSettings, *, networks=None, on_step: Callable[[int, float], None] | None = None,
              on_snapshot=None) -> FitOutcome:
    """Geometry + fit for a decoded :class:`~svfri.io.images.Photo` (no writing)."""
    networks = networks or load_networks()
    template = load_face_template()
    geometry = compute_geometry(photo, settings.geometry, template=template)
    clock = time.perf_counter()
    # The networks see T unwrapped at their own input size in their (template) layout, as the training set made it.
    network_texture = unwrap_network_texture(geometry, networks.config.input_texture_size, template)
    gain_function, level_record = None, {"source": "networks", "note": "the albedo networks' own level"}
    if settings.fit.albedo_level == "context":
        gain_function, level_record = level_gain(geometry, template, load_level_net())
    result = _fitter(networks, settings.fit).fit(geometry.template_gbuffer, network_texture, geometry.work_image,
                                                 template,
                                                 on_step=on_step, snapshot_every=settings.save_every,
                                                 on_snapshot=on_snapshot, albedo_gain=gain_function)
    level_record["gain_applied"] = [round(float(v), 5) for v in result.albedo_gain]
    timings = dict(geometry.timings)
    timings["encode"] = result.seconds_encode
    timings["optimise"] = time.perf_counter() - clock - result.seconds_encode
    timings["optimise_per_step"] = result.seconds_per_step
    refined = None
    if settings.refine.steps:
        size = result.maps["albedo"].shape[0]
        first = settings.fit.steps

        def refine_step(step: int, loss: float) -> None:
            if on_step is not None:
                on_step(first + step, loss)

        refined = _refiner(size, settings.refine, settings.fit.loss_space).refine_fit(
            geometry.template_gbuffer, geometry.work_image, result, template, roughness=settings.fit.roughness,
            on_step=refine_step)
        timings["refine"] = refined.seconds
    outcome = FitOutcome(geometry, result, timings, refined, albedo_level=level_record)
    if geometry.mesh_kind == "ict":
        _to_ict_head(outcome, settings.fit.roughness)
    return outcome


def _to_ict_head(outcome: FitOutcome, roughness: float) -> None:
    """The stated UV resampling's last step (docs/architecture.md, "UV layouts"): the fitted template-layout maps
    into ICT's face tile, the other parts' materials from the photo, and the whole head rendered with them under
    the fitted light (the reconstruction)."""
    from svfri.render.relight import shade_asset

    clock = time.perf_counter()
    skin, record, covered = head_parts.resample_skin_maps(outcome.geometry, outcome.network_maps)
    outcome.skin_maps, outcome.skin_covered, outcome.uv_resampling = skin, covered, record
    outcome.uv = head_parts.swatch_uv(outcome.geometry, skin, covered)
    outcome.timings["resample_maps"] = time.perf_counter() - clock
    clock = time.perf_counter()
    outcome.parts = head_parts.photo_part_records(outcome.geometry, outcome.fit.light_sh, skin, covered, roughness)
    outcome.timings["part_materials"] = time.perf_counter() - clock
    clock = time.perf_counter()
    outcome.output_radiance = shade_asset(asset_from_fit(outcome, roughness), outcome.geometry.gbuffer,
                                          outcome.fit.light_sh)
    outcome.timings["render_head"] = time.perf_counter() - clock


def asset_from_fit(outcome: FitOutcome, roughness: float) -> FaceAsset:
    """The fitted face as an in-memory :class:`FaceAsset` (for relights)."""
    g, maps = outcome.geometry, outcome.maps
    parts, face_material = ((), None) if outcome.parts is None else head_parts.asset_parts(outcome.parts, g.face_part)
    return FaceAsset(vertices=g.vertices, faces=g.faces, uv=g.uv if outcome.uv is None else outcome.uv,
                     visibility_sh=g.visibility_sh.astype(np.float64),
                     bent_normal=g.bent_normal.astype(np.float64), albedo_srgb=maps["albedo"],
                     specular=maps["specular"], normal_map=maps["normal"], roughness=roughness,
                     world_to_pixel=g.photo_camera.world_to_pixel, image_width=g.photo.width,
                     image_height=g.photo.height, photo=None, notes=(), parts=parts, face_material=face_material)


def _reconstruction(outcome: FitOutcome) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(work-image render over the work image, the photo with it pasted in, the whole-face mask, the fit's inlier
    mask) — sRGB floats and ``[h, w]`` bool masks in work-image pixels.

    The whole-face mask (:func:`_whole_face_pixels`) is the pixels the quality figures are computed on. The inlier mask is the fit's own loss pixels (eyes, mouth, grazing and rejected
    occluder pixels left out), kept only as a labelled diagnostic."""
    g = outcome.geometry
    rendered = linear_to_srgb_np(np.clip(outcome.radiance, 0.0, 1.0))
    work = g.gbuffer.scatter(rendered.astype(np.float32), background=g.work_image)
    coverage = g.gbuffer.mask().astype(np.float32) * _border_fade(*g.gbuffer.mask().shape)
    whole_face = g.gbuffer.scatter(_whole_face_pixels(g)[:, None], background=False)[..., 0]
    inliers = g.template_gbuffer.scatter((outcome.fit.weights >= METRIC_MASK_THRESHOLD)[:, None],
                                         background=False)[..., 0]

    photo = g.photo
    shrink = min(1.0, RECONSTRUCTION_MAX_SIDE / max(photo.width, photo.height))
    size = (max(1, round(photo.width * shrink)), max(1, round(photo.height * shrink)))
    canvas = cv2.resize(photo.to_float(), size, interpolation=cv2.INTER_AREA) if shrink < 1 else photo.to_float()
    work_to_canvas = g.work_to_photo * shrink
    pasted = cv2.warpAffine(work, work_to_canvas, size, flags=cv2.INTER_LINEAR)
    alpha = cv2.warpAffine(coverage, work_to_canvas, size, flags=cv2.INTER_LINEAR)[..., None]
    return work, canvas * (1 - alpha) + pasted * alpha, whole_face, inliers


#: Work-image pixels within this distance of the work image's border fade out of reconstruction.png (the ICT head's
#: neck runs past the face crop; without the fade the paste ends in a hard line).
RECONSTRUCTION_BORDER_FADE_PX = 12


def _whole_face_pixels(geometry: GeometryResult) -> np.ndarray:
    """``[N]`` bool: the G-buffer pixels the whole-face metrics count. Template mesh: every pixel it covers (eyes and
    mouth included). ICT head: the same face area, i.e. the face triangles inside the template disc plus the eyes,
    teeth, gums and mouth and eye sockets seen through it; not the ears, scalp and neck (outside the area the
    networks' maps cover, and hair or clothes in most photos)."""
    if geometry.face_part is None:
        return np.ones(geometry.gbuffer.pixel_count, dtype=bool)
    inner = geometry.ict_mesh.template_triangles | ~geometry.ict_mesh.part_triangles(("face", "back_head"))
    return inner[geometry.gbuffer.triangle_id]


def _border_fade(height: int, width: int) -> np.ndarray:
    """``[h, w]`` float32 in [0, 1]: 1 inside, falling linearly to 0 over :data:`RECONSTRUCTION_BORDER_FADE_PX` at the
    work image's border."""
    rows = np.minimum(np.arange(height), np.arange(height)[::-1]) + 0.5
    columns = np.minimum(np.arange(width), np.arange(width)[::-1]) + 0.5
    distance = np.minimum(rows[:, None], columns[None, :])
    return np.clip(distance / RECONSTRUCTION_BORDER_FADE_PX, 0.0, 1.0).astype(np.float32)


def _reconstruction_metrics(reconstruction: np.ndarray, photo: np.ndarray, mask: np.ndarray) -> dict:
    """PSNR (dB), SSIM and L1 of the sRGB reconstruction against the photo over ``mask``, and the pixel count."""
    return {"psnr_db": round(psnr(reconstruction, photo, mask), 5), "ssim": round(ssim(reconstruction, photo, mask), 5),
            "l1": round(l1(reconstruction, photo, mask), 5), "mask_pixels": int(mask.sum())}


def _lighting_json(light_sh: np.ndarray) -> dict:
    return {
        "coefficients": np.round(light_sh, 6).tolist(),
        "shape": [SH_COEFFICIENT_COUNT, 3],
        "basis": "real spherical harmonics, bands 0-2, orthonormal over the sphere, no Condon-Shortley phase",
        "order": _SH_ORDER_NAMES,
        "channels": "linear RGB (columns)",
        "quantity": "incoming radiance L(w) = sum_i c_i Y_i(w), w the world-space direction towards the light",
        "frame": "world space of mesh.obj: +X subject's left, +Y up, +Z towards the camera",
        "lambertian": "outgoing radiance = albedo / pi * irradiance",
    }


def _report(outcome: FitOutcome, work_reconstruction: np.ndarray, roughness: float, path: Path) -> None:
    """One-page visual report: photo | reconstruction | albedo | specular | normal | two relights | loss curve."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from svfri.data.hdri import sample_hdri_path
    from svfri.io.hdr import read_environment
    from svfri.pipeline.relight_job import relit_preview
    from svfri.render.relight import environment_lighting

    asset = asset_from_fit(outcome, roughness)
    relights = []
    for name in REPORT_HDRIS:
        lighting = environment_lighting(read_environment(sample_hdri_path(name)),
                                        match_light_sh=outcome.fit.light_sh)
        relights.append((name, relit_preview(asset, lighting, yaw=0.0, size=REPORT_RELIGHT_SIZE)))
    maps = outcome.maps
    panels = [("photo (face crop)", outcome.geometry.work_image), ("reconstruction", work_reconstruction),
              ("albedo", maps["albedo"]), ("specular", maps["specular"][..., 0]), ("normal", maps["normal"])]
    panels += [(f"relit: {name}", image) for name, image in relights]
    figure, axes = plt.subplots(2, 4, figsize=(16, 8.4))
    for axis, (title, image) in zip(axes.ravel(), panels):
        axis.imshow(np.clip(image, 0, 1), cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=1)
        axis.set_title(title)
        axis.axis("off")
    curve = axes.ravel()[-1]
    latent_steps = len(outcome.fit.loss_history)
    curve.plot(np.arange(1, latent_steps + 1), outcome.fit.loss_history, label="latent codes")
    if outcome.refine is not None:
        refine_losses = outcome.refine.data_loss_history
        curve.plot(np.arange(latent_steps + 1, latent_steps + len(refine_losses) + 1), refine_losses,
                   label="detail refinement (data term)")
        curve.legend(fontsize=8)
    curve.set_yscale("log")
    curve.set_xlabel("step")
    curve.set_ylabel("masked L2")
    curve.set_title("loss")
    figure.suptitle(f"svfri {svfri.__version__}: {outcome.geometry.photo.path.name}")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=72)
    plt.close(figure)
    atomic_write_bytes(path, buffer.getvalue())


def _refine_json(settings: RefineSettings, refined: RefineResult | None) -> dict:
    record = {"steps": settings.steps, **({} if not settings.steps else dataclasses.asdict(settings))}
    if refined is not None:
        record["data_loss_per_step"] = [round(v, 7) for v in refined.data_loss_history]
        record["mean_abs_log_ratio"] = round(float(np.abs(refined.log_ratio).mean()), 5)
    return record


def _versions(networks) -> dict:
    import tensorflow as tf

    return {"svfri": svfri.__version__, "tensorflow": tf.__version__, "numpy": np.__version__,
            "python": platform.python_version(), "networks": networks.config.to_dict()}


def run_fit(photo_path: Path, folder: Path, settings: FitJobSettings = FitJobSettings(), *,
            on_step: Callable[[int, float], None] | None = None) -> dict:
    """``svfri fit`` for one photo: compute everything, then write the output set into ``folder``; returns metrics."""
    clock = time.perf_counter()
    networks = load_networks()
    photo = read_photo(photo_path)
    load_seconds = time.perf_counter() - clock

    # One staging folder for the whole run: --save-every snapshots go into it as the fit goes and are committed
    # with the rest, so a failed or interrupted fit leaves no snapshot beside an earlier result.
    with StagedOutput(folder, last=COMPLETE_MARKER, replaces=OUTPUT_FILES) as stage:
        def snapshot(step: int, maps: dict, light_sh: np.ndarray) -> None:
            _write_maps(stage.path / "steps" / f"step_{step:04d}", maps, settings.resolution)

        outcome = fit_photo(photo, settings, networks=networks, on_step=on_step, on_snapshot=snapshot)
        outcome.geometry.timings = {"load": load_seconds, **outcome.geometry.timings}

        clock = time.perf_counter()
        work_reconstruction, reconstruction, whole_face, inliers = _reconstruction(outcome)
        work = outcome.geometry.work_image
        if not inliers.any():  # nothing of the face counted (e.g. an extreme profile): no quality numbers
            raise FaceTooSmallError("no part of the face is seen frontally enough to fit; use a more frontal photo")
        metrics = _reconstruction_metrics(work_reconstruction, work, whole_face)
        inlier_metrics = _reconstruction_metrics(work_reconstruction, work, inliers)
        maps = outcome.maps
        written = _write_maps(stage.path, maps, settings.resolution)
        write_png(stage.path / "reconstruction.png", reconstruction)
        atomic_write_bytes(stage.path / "lighting.json",
                           (json.dumps(_lighting_json(outcome.fit.light_sh), indent=1) + "\n").encode())
        report_notes = []
        if settings.report:
            try:
                _report(outcome, work_reconstruction, settings.fit.roughness, stage.path / "report.png")
            except OutputError:
                raise  # the folder cannot be written: the rest would fail too
            except Exception as error:  # the report pictures the result; it is not part of it
                report_notes.append(f"report.png could not be made ({type(error).__name__}: {error}); "
                                    "the fit is complete without it")
        if outcome.geometry.mesh_kind == "template":
            asset = dataclasses.replace(asset_from_fit(outcome, settings.fit.roughness),
                                        albedo_srgb=written["albedo"], specular=written["specular"],
                                        normal_map=written["normal"])
            write_glb(stage.path / "face.glb", asset)
        timings = {"load": load_seconds, **outcome.timings}
        extra = {
            "fit": {"loss_space": settings.fit.loss_space, "steps": settings.fit.steps,
                    "loss_per_step": [round(v, 7) for v in outcome.fit.loss_history],
                    "outlier_pixels_dropped": outcome.fit.outlier_pixels,
                    "latent_prior_weight": settings.fit.latent_prior_weight,
                    "hold_albedo_level": settings.fit.hold_albedo_level,
                    "working_resolution": {"face_px": settings.fit.working_face_px,
                                           "factor": outcome.fit.working_factor,
                                           "pixels": outcome.fit.working_pixels,
                                           "full_resolution_pixels": outcome.geometry.gbuffer.pixel_count},
                    "initial_light_sh": np.round(outcome.fit.initial_light_sh, 6).tolist()},
            "refine": _refine_json(settings.refine, outcome.refine),
            "albedo_level": outcome.albedo_level,
            "metrics_whole_face": {**metrics, "pixels_scored": (
                "every work-image pixel the projected mesh covers (eyes and mouth included)"
                if outcome.geometry.mesh_kind == "template" else
                "the work-image pixels of the face inside the networks' template disc and of the eyes, teeth, gums "
                "and mouth and eye sockets (eyes and mouth included; ears, scalp and neck not)")},
            "metrics_fit_inliers": {**inlier_metrics,
                                    "pixels_scored": "the fit's own loss pixels only (eyes, mouth, grazing and "
                                                     "rejected occluder pixels left out): a diagnostic of the "
                                                     "optimiser, not a quality figure"},
            "material": {"roughness": settings.fit.roughness, "specular_f0_scale": SKIN_F0},
            **({"uv_resampling": outcome.uv_resampling} if outcome.uv_resampling is not None else {}),
            "versions": _versions(networks),
            OUTPUT_SET_KEY: FIT_SET,
        }
        outcome.geometry.timings = timings
        skin_part = None
        if outcome.parts is not None:
            covered = outcome.skin_covered
            skin_part = {"texture": "albedo.png",
                         "albedo_srgb": [round(float(c), 4) for c in np.median(outcome.maps["albedo"][covered["albedo"]], axis=0)],
                         "roughness": settings.fit.roughness,
                         "specular": round(float(np.mean(outcome.maps["specular"][covered["specular"]])), 4),
                         "source": "the fitted skin maps resampled into the face tile (see uv_resampling)"}
        write_geometry_outputs(outcome.geometry, stage.path, settings.geometry, extra_fit_json=extra,
                               write_started=clock, parts=outcome.parts, skin_part=skin_part,
                               skin_roughness=settings.fit.roughness, uv=outcome.uv)
        if outcome.geometry.mesh_kind == "ict":
            # The ICT head's face.glb (a primitive and material per part, the 53 expression morph targets) is made
            # from the staged folder itself (fit.json's "ict" and "parts", the maps): the same file `svfri export`
            # writes (svfri.io.gltf_ict).
            write_ict_glb_from_folder(stage.path)
    total = sum(v for k, v in outcome.geometry.timings.items() if k != "optimise_per_step")
    return {"psnr_db": round(metrics["psnr_db"], 3), "ssim": round(metrics["ssim"], 4), "l1": round(metrics["l1"], 5),
            "seconds_total": round(total, 2), "seconds_per_step": round(outcome.fit.seconds_per_step, 4),
            "notes": photo_notes(outcome.geometry) + report_notes}
