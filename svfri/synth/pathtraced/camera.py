"""What a camera does to the path tracer's radiance before anyone sees a photo: exposure, white balance, noise, JPEG.

The path tracer gives linear RGB radiance (the HDR map's units). A camera then

1. **meters**: centre-weighted average metering, the default of most cameras: the exposure ``e`` makes the
   Gaussian-weighted mean luminance of the frame (weight ``exp(-r^2 / 2 sigma^2)``, ``r`` the distance from the
   frame centre, ``sigma = METERING_SIGMA`` of the frame side) equal to middle grey
   (:data:`MIDDLE_GREY`). The face therefore does *not* fix the exposure: a dark face in a bright room comes
   out dark, as on a real camera, and a face filling the frame pulls the exposure towards itself.
2. **white-balances imperfectly**: per-channel gains ``exp(N(0, sigma_wb))`` normalised to unit luminance (an
   auto white balance that is a few percent off).
3. **adds sensor noise**: heteroscedastic Gaussian, ``var = a x + b`` on the exposed linear value ``x`` (shot and
   read noise; Foi et al. 2008's Poisson-Gaussian model, Gaussian approximation).
4. **encodes** with the sRGB transfer function, clipping at 1 (no tone curve: an approximation, cameras add an
   S-curve), quantises to 8 bits and compresses as JPEG.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from svfri.math.color import linear_to_srgb_np
from svfri.math.colorimetry import relative_luminance as luminance

__all__ = ["MIDDLE_GREY", "METERING_SIGMA", "CameraEffects", "metering_weights", "metered_exposure",
           "apply_camera"]

#: Linear luminance the metering brings the weighted frame mean to (18 % grey).
MIDDLE_GREY = 0.18
#: Standard deviation of the centre-weighting Gaussian, as a fraction of the frame's side.
METERING_SIGMA = 0.3


@dataclasses.dataclass(frozen=True)
class CameraEffects:
    """One photo's camera: exposure bias (EV added to the metered exposure), white-balance error gains (linear
    RGB, unit luminance), noise ``a``/``b`` (variance ``a x + b``), JPEG quality (0 = PNG, lossless)."""

    exposure_bias_ev: float = 0.0
    white_balance: tuple = (1.0, 1.0, 1.0)
    noise_shot: float = 0.0
    noise_read: float = 0.0
    jpeg_quality: int = 0

    @staticmethod
    def draw(rng: np.random.Generator) -> "CameraEffects":
        """Typical phone / DSLR portraits: ±1/3 EV bias, 3 % white-balance error, ISO 100-800 noise, JPEG 80-95."""
        gains = np.exp(rng.normal(0.0, 0.03, 3))
        gains /= float(luminance(gains))
        return CameraEffects(exposure_bias_ev=float(rng.uniform(-1 / 3, 1 / 3)),
                             white_balance=tuple(float(g) for g in gains),
                             noise_shot=float(10 ** rng.uniform(-4.5, -3.3)), noise_read=float(10 ** rng.uniform(-6, -5)),
                             jpeg_quality=int(rng.integers(80, 96)))

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def metering_weights(height: int, width: int, *, sigma: float = METERING_SIGMA) -> np.ndarray:
    """``[H, W]`` centre-weighted metering weights summing to 1 (module docstring)."""
    rows = (np.arange(height) + 0.5) / height - 0.5
    cols = (np.arange(width) + 0.5) / width - 0.5
    r2 = rows[:, None] ** 2 + cols[None, :] ** 2
    weights = np.exp(-0.5 * r2 / sigma ** 2)
    return weights / weights.sum()


def metered_exposure(radiance: np.ndarray) -> float:
    """Linear exposure scale ``e`` with ``sum_p w_p Y(e L_p) = MIDDLE_GREY`` for radiance ``[H, W, 3]``."""
    weights = metering_weights(*radiance.shape[:2])
    mean = float((luminance(radiance) * weights).sum())
    if not mean > 0:
        raise ValueError("the frame is black: nothing to meter")
    return MIDDLE_GREY / mean


def apply_camera(radiance: np.ndarray, effects: CameraEffects, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Radiance ``[H, W, 3]`` (linear) -> ``(photo uint8 [H, W, 3] sRGB, exposure scale applied)``.

    The exposure scale ``e`` is the metered one times ``2^bias``; the white balance and noise act after it.
    """
    exposure = metered_exposure(radiance) * 2.0 ** effects.exposure_bias_ev
    exposed = radiance * exposure * np.asarray(effects.white_balance)[None, None, :]
    if effects.noise_shot or effects.noise_read:
        std = np.sqrt(np.maximum(effects.noise_shot * np.maximum(exposed, 0) + effects.noise_read, 0))
        exposed = exposed + rng.standard_normal(exposed.shape) * std
    encoded = np.round(np.clip(linear_to_srgb_np(np.clip(exposed, 0, 1)), 0, 1) * 255).astype(np.uint8)
    if effects.jpeg_quality:
        ok, data = cv2.imencode(".jpg", encoded[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(effects.jpeg_quality)])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        encoded = cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1]
    return np.ascontiguousarray(encoded), float(exposure)
