"""``svfri relight``: an output folder + an HDR map -> tone-mapped PNG, linear EXR, optional turntable GIF.

Failures are one-line errors: an unreadable folder (corrupt ``visibility.npz``, unreadable maps) is an
:class:`~svfri.errors.InputError`, a bad map an :class:`~svfri.errors.HdrError`, a file that cannot be written
(PNG, EXR or GIF) an :class:`~svfri.errors.OutputError`. Each file is written atomically.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from pathlib import Path

import cv2
import numpy as np

from svfri.errors import OutputError, UsageError
from svfri.io.hdr import read_environment, write_exr
from svfri.io.images import write_png
from svfri.io.output_set import FaceAsset
from svfri.pipeline.folder_input import load_output_folder
from svfri.render.relight import (EnvironmentLighting, environment_lighting, framing_camera, render_asset,
                                  tonemap_aces, view_rotation, with_visibility)

__all__ = ["RelightSettings", "run_relight", "render_view", "SUPERSAMPLING", "PHOTO_VIEW_MAX_SIDE",
           "NEUTRAL_BACKGROUND_LINEAR", "TURNTABLE_YAW_DEGREES"]

#: Renders are made at this many times the output size per axis and averaged down (anti-aliased edges).
SUPERSAMPLING = 2
#: The photo view is rendered at the photo's size, shrunk so its longer side is at most this.
PHOTO_VIEW_MAX_SIDE = 1024
#: Background of novel views (linear grey, 18% "middle grey").
NEUTRAL_BACKGROUND_LINEAR = 0.18
#: Turntable frames swing the yaw sinusoidally between -/+ this many degrees.
TURNTABLE_YAW_DEGREES = 50.0
_TURNTABLE_FRAME_SECONDS = 0.08


@dataclasses.dataclass(frozen=True)
class RelightSettings:
    rotate_degrees: float = 0.0
    exposure_ev: float = 0.0
    yaw_degrees: float | None = None
    pitch_degrees: float | None = None
    size: int = 512
    turntable_frames: int = 0
    background: str = "auto"   # auto | photo | grey | transparent
    match_photo_exposure: bool = False


def render_view(asset: FaceAsset, lighting: EnvironmentLighting, *, yaw: float | None, pitch: float | None,
                size: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """Linear radiance ``[H, W, 3]``, coverage ``[H, W]`` in [0, 1], and whether it is the photo's own view."""
    photo_view = yaw is None and pitch is None
    if photo_view:
        shrink = min(1.0, PHOTO_VIEW_MAX_SIDE / max(asset.image_width, asset.image_height))
        height, width = round(asset.image_height * shrink), round(asset.image_width * shrink)
        camera = np.diag([shrink * SUPERSAMPLING, shrink * SUPERSAMPLING, 1.0]) @ asset.world_to_pixel
        rotation = np.eye(3)
    else:
        height = width = size
        rotation = view_rotation(yaw or 0.0, pitch or 0.0)
        camera = framing_camera(asset.vertices @ rotation.T, size * SUPERSAMPLING)
    radiance, gbuffer = render_asset(asset, lighting, rotation=rotation, world_to_pixel=camera,
                                     height=height * SUPERSAMPLING, width=width * SUPERSAMPLING)
    coverage = gbuffer.mask().astype(np.float32)
    radiance = cv2.resize(radiance, (width, height), interpolation=cv2.INTER_AREA)
    coverage = cv2.resize(coverage, (width, height), interpolation=cv2.INTER_AREA)
    return radiance, coverage, photo_view


def _composite(display: np.ndarray, coverage: np.ndarray, background: np.ndarray | None) -> np.ndarray:
    """Display-space ``[H, W, 3]`` over a background (``None`` -> RGBA with the coverage as alpha)."""
    alpha = coverage[..., None]
    if background is None:
        return np.concatenate([display, alpha], axis=-1)
    return display * alpha + background * (1 - alpha)


def _background(kind: str, asset: FaceAsset, photo_view: bool, shape: tuple[int, int]) -> np.ndarray | None:
    if kind == "transparent":
        return None
    if kind == "auto":
        kind = "photo" if photo_view and asset.photo is not None else "grey"
    if kind == "photo":
        if not photo_view:
            raise UsageError("--background photo needs the photo's own view (no --yaw/--pitch/--turntable)")
        if asset.photo is None:
            raise UsageError("--background photo: the input photo named in fit.json is not available")
        return cv2.resize(asset.photo, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)
    grey = float(tonemap_aces(np.array([NEUTRAL_BACKGROUND_LINEAR]))[0])
    return np.full(shape + (3,), grey, np.float32)


def fitted_light(folder: Path) -> np.ndarray:
    """``[9, 3]`` the light fitted to the photo, from ``folder/lighting.json`` (for ``--match-photo-exposure``)."""
    path = Path(folder) / "lighting.json"
    try:
        return np.asarray(json.loads(path.read_text())["coefficients"], np.float64)
    except (OSError, ValueError, KeyError) as error:
        raise UsageError(f"--match-photo-exposure needs the fitted light in {path} (made by `svfri fit`): "
                         f"{error}") from None


#: Display value (sRGB, after tone mapping) of the grey behind the report's and README's relit previews.
PREVIEW_BACKGROUND = 0.45


def relit_preview(asset: FaceAsset, lighting: EnvironmentLighting, *, yaw: float, size: int) -> np.ndarray:
    """A novel view (head turned by ``yaw`` degrees) tone-mapped and composited over :data:`PREVIEW_BACKGROUND`:
    ``[size, size, 3]`` display values in ``[0, 1]``, for reports and README pictures."""
    radiance, coverage, _ = render_view(asset, lighting, yaw=yaw, pitch=0.0, size=size)
    display = tonemap_aces(radiance / np.maximum(coverage[..., None], 1e-6))
    return display * coverage[..., None] + PREVIEW_BACKGROUND * (1 - coverage[..., None])


def run_relight(folder: Path, hdr: Path, out: Path, settings: RelightSettings = RelightSettings()) -> dict:
    """Renders ``folder`` under ``hdr``; writes ``out`` (PNG), ``out`` with ``.exr`` (linear RGBA) and, with a
    turntable, ``out`` with ``_turntable.gif``. Returns timings and the files written."""
    clock = time.perf_counter()
    asset = with_visibility(load_output_folder(folder))
    environment = read_environment(hdr)
    match = fitted_light(folder) if settings.match_photo_exposure else None
    try:
        lighting = environment_lighting(environment, rotate_degrees=settings.rotate_degrees,
                                        exposure_ev=settings.exposure_ev, match_light_sh=match)
    except ValueError as error:
        raise UsageError(f"--match-photo-exposure: {error}") from None
    prepare_seconds = time.perf_counter() - clock

    clock = time.perf_counter()
    radiance, coverage, photo_view = render_view(asset, lighting, yaw=settings.yaw_degrees,
                                                 pitch=settings.pitch_degrees, size=settings.size)
    display = tonemap_aces(radiance / np.maximum(coverage[..., None], 1e-6))
    image = _composite(display, coverage, _background(settings.background, asset, photo_view, coverage.shape))
    write_png(out, image)
    written = [str(out)]
    exr = out.with_suffix(".exr")
    write_exr(exr, np.concatenate([radiance, coverage[..., None]], axis=-1), half=True)
    written.append(str(exr))
    render_seconds = time.perf_counter() - clock

    if settings.turntable_frames:
        import imageio.v2 as imageio

        frames = []
        for k in range(settings.turntable_frames):
            yaw = TURNTABLE_YAW_DEGREES * math.sin(2 * math.pi * k / settings.turntable_frames)
            radiance, coverage, _ = render_view(asset, lighting, yaw=yaw, pitch=settings.pitch_degrees or 0.0,
                                                size=settings.size)
            frame = _composite(tonemap_aces(radiance / np.maximum(coverage[..., None], 1e-6)), coverage,
                               _background("grey", asset, False, coverage.shape))
            frames.append(np.clip(frame * 255 + 0.5, 0, 255).astype(np.uint8))
        gif = out.with_name(out.stem + "_turntable.gif")
        temporary = gif.with_name("." + gif.name + ".tmp")
        try:
            imageio.mimsave(temporary, frames, format="GIF", duration=_TURNTABLE_FRAME_SECONDS, loop=0)
            temporary.replace(gif)
        except (OSError, ValueError, RuntimeError) as error:
            temporary.unlink(missing_ok=True)
            raise OutputError(f"{gif}: the turntable GIF cannot be written ({type(error).__name__}: {error}); "
                              "check the disk and the --out folder") from None
        written.append(str(gif))
    return {"files": written, "notes": list(asset.notes), "seconds_prepare": round(prepare_seconds, 3),
            "seconds_render": round(render_seconds, 3), "photo_view": photo_view}
