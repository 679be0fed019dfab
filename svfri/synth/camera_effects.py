"""Camera degradations of a rendered face: white balance, exposure, blur, sensor noise, JPEG.

Each effect is a small pure function of an image and its parameters (random draws come from the generator or
the seed passed in, so a degraded photo is reproducible). :func:`apply_camera_effects` chains them in the order
a camera applies them, from the linear render to an sRGB-encoded, JPEG-compressed photo:

1. **white balance** -- per-channel gains ``g`` (``I_c <- g_c I_c``), luminance-preserving
   (``sum_c Y_c g_c = 1``, ``Y`` = the luminance row of :data:`svfri.math.colorimetry.SRGB_TO_XYZ``), red and
   blue relative to green ``exp(U(-WB_MAX_LOG_SHIFT, WB_MAX_LOG_SHIFT))``;
2. **exposure** -- ``I <- 2^ev I``, ``ev`` uniform in :data:`EXPOSURE_EV_RANGE`; both 1 and 2 then clip to
   ``[0, 1]`` (the sensor saturates). Both are per-channel gains on a render that is linear in the light, so
   the training set folds them into the ground-truth light (:mod:`svfri.synth.dataset`);
3. **blur** -- Gaussian, ``sigma`` in pixels (:data:`BLUR_SIGMA_RANGE`, none with probability
   :data:`BLUR_PROBABILITY`'s complement): defocus / lens softness (a convex filter: stays in ``[0, 1]``);
4. **sensor noise** -- Poisson-Gaussian ("heteroscedastic") model of raw sensors (Foi et al., "Practical
   Poissonian-Gaussian noise modeling and fitting for single-image raw-data", IEEE TIP 17(10), 2008):
   ``I <- clip(I + sqrt(a I + b^2) n, 0, 1)``, ``n ~ N(0, 1)`` per pixel and channel, ``a`` log-uniform in
   :data:`SHOT_NOISE_GAIN_RANGE`, ``b`` log-uniform in :data:`READ_NOISE_SIGMA_RANGE` (linear units).
   Approximate: real noise is demosaicked and spatially correlated;
5. **sRGB encoding** (IEC 61966-2-1) and 8-bit quantisation;
6. **JPEG** at quality uniform in :data:`JPEG_QUALITY_RANGE` (OpenCV's libjpeg, 4:2:0 chroma subsampling).

The result is float32 sRGB in ``[0, 1]`` (multiples of 1/255).
"""

from __future__ import annotations

import dataclasses
import math

import cv2
import numpy as np

from svfri.math.color import linear_to_srgb_np
from svfri.math.colorimetry import SRGB_TO_XYZ

__all__ = [
    "WB_MAX_LOG_SHIFT", "EXPOSURE_EV_RANGE", "BLUR_PROBABILITY", "BLUR_SIGMA_RANGE", "SHOT_NOISE_GAIN_RANGE",
    "READ_NOISE_SIGMA_RANGE", "JPEG_QUALITY_RANGE", "UINT8_MAX",
    "CameraEffects", "sample_camera_effects", "white_balance_gains", "apply_white_balance", "apply_exposure_ev",
    "gaussian_blur", "add_sensor_noise", "encode_srgb_uint8", "jpeg_roundtrip", "apply_camera_effects",
]

#: Largest |log gain| of red and of blue relative to green (about +-8 %).
WB_MAX_LOG_SHIFT = 0.08
#: Camera exposure change, photographic stops.
EXPOSURE_EV_RANGE = (-0.3, 0.3)
#: Probability that a photo is blurred at all, and the blur's Gaussian sigma range in pixels.
BLUR_PROBABILITY = 0.5
BLUR_SIGMA_RANGE = (0.3, 1.0)
#: Poisson-Gaussian noise: shot-noise gain ``a`` and read-noise sigma ``b`` (linear intensity units),
#: log-uniform. At a mid-grey 0.2, ``a = 2e-3`` gives sigma 0.02 linear (about 6 / 255 after sRGB encoding).
SHOT_NOISE_GAIN_RANGE = (1e-5, 2e-3)
READ_NOISE_SIGMA_RANGE = (2e-4, 4e-3)
#: JPEG quality (inclusive range).
JPEG_QUALITY_RANGE = (60, 95)
#: Largest 8-bit code value.
UINT8_MAX = 255
#: Gaussian kernels are truncated at this many sigmas.
_BLUR_TRUNCATE_SIGMAS = 3.0
#: Luminance weights of linear sRGB.
_LUMINANCE = SRGB_TO_XYZ[1]


@dataclasses.dataclass(frozen=True)
class CameraEffects:
    """The parameters of one photo's degradations (module docstring for each).

    Attributes:
      white_balance: ``(g_r, g_g, g_b)`` gains.
      exposure_ev: stops.
      blur_sigma: Gaussian sigma in pixels (0 = no blur).
      shot_noise_gain: ``a``; read_noise_sigma: ``b``.
      noise_seed: seed of the per-pixel noise draw.
      jpeg_quality: 1..100.
    """

    white_balance: tuple[float, float, float]
    exposure_ev: float
    blur_sigma: float
    shot_noise_gain: float
    read_noise_sigma: float
    noise_seed: int
    jpeg_quality: int

    @property
    def light_gain(self) -> np.ndarray:
        """``[3]`` per-channel factor of white balance and exposure together (what the GT light absorbs)."""
        return np.asarray(self.white_balance, dtype=np.float64) * 2.0 ** self.exposure_ev

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def white_balance_gains(red_log_shift: float, blue_log_shift: float) -> np.ndarray:
    """Luminance-preserving gains ``[3]``: ``(e^r, 1, e^b)`` divided by their luminance ``sum_c Y_c g_c``."""
    gains = np.array([math.exp(red_log_shift), 1.0, math.exp(blue_log_shift)])
    return gains / float(_LUMINANCE @ gains)


def sample_camera_effects(rng: np.random.Generator) -> CameraEffects:
    """Draws :class:`CameraEffects` from the ranges of the module constants."""
    shifts = rng.uniform(-WB_MAX_LOG_SHIFT, WB_MAX_LOG_SHIFT, size=2)
    gains = white_balance_gains(float(shifts[0]), float(shifts[1]))
    ev = float(rng.uniform(*EXPOSURE_EV_RANGE))
    blur = float(rng.uniform(*BLUR_SIGMA_RANGE)) if rng.uniform() < BLUR_PROBABILITY else 0.0
    shot = _log_uniform(rng, *SHOT_NOISE_GAIN_RANGE)
    read = _log_uniform(rng, *READ_NOISE_SIGMA_RANGE)
    noise_seed = int(rng.integers(0, 2 ** 31 - 1))
    quality = int(rng.integers(JPEG_QUALITY_RANGE[0], JPEG_QUALITY_RANGE[1] + 1))
    return CameraEffects(white_balance=tuple(float(g) for g in gains), exposure_ev=ev, blur_sigma=blur,
                         shot_noise_gain=shot, read_noise_sigma=read, noise_seed=noise_seed, jpeg_quality=quality)


def apply_white_balance(image: np.ndarray, gains) -> np.ndarray:
    """``clip(g_c I_c, 0, 1)`` for a linear ``[H, W, 3]`` image and gains ``[3]``; float32."""
    return np.clip(np.asarray(image, dtype=np.float32) * np.asarray(gains, dtype=np.float32), 0.0, 1.0)


def apply_exposure_ev(image: np.ndarray, ev: float) -> np.ndarray:
    """``clip(2^ev I, 0, 1)`` for a linear image; float32."""
    return np.clip(np.asarray(image, dtype=np.float32) * np.float32(2.0 ** ev), 0.0, 1.0)


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of ``[H, W, C]`` with ``sigma`` pixels (kernel truncated at 3 sigma, reflected borders);
    ``sigma <= 0`` returns the image unchanged. A convex filter: the output range is within the input's."""
    image = np.asarray(image, dtype=np.float32)
    if sigma <= 0.0:
        return image.copy()
    radius = max(1, int(math.ceil(_BLUR_TRUNCATE_SIGMAS * sigma)))
    return cv2.GaussianBlur(image, (2 * radius + 1, 2 * radius + 1), sigmaX=sigma, sigmaY=sigma,
                            borderType=cv2.BORDER_REFLECT)


def add_sensor_noise(image: np.ndarray, *, shot_noise_gain: float, read_noise_sigma: float, seed: int) -> np.ndarray:
    """Poisson-Gaussian noise ``clip(I + sqrt(a I + b^2) n, 0, 1)``, ``n ~ N(0, 1)`` from ``seed``; float32.

    Args:
      image: ``[H, W, C]`` linear intensities in ``[0, 1]``.
      shot_noise_gain: ``a >= 0``; read_noise_sigma: ``b >= 0``.
      seed: seed of the normal draws (same seed, same noise).
    """
    image = np.asarray(image, dtype=np.float32)
    sigma = np.sqrt(shot_noise_gain * np.maximum(image, 0.0) + read_noise_sigma ** 2).astype(np.float32)
    normal = np.random.default_rng(seed).standard_normal(size=image.shape, dtype=np.float32)
    return np.clip(image + sigma * normal, 0.0, 1.0)


def encode_srgb_uint8(image: np.ndarray) -> np.ndarray:
    """Linear ``[0, 1]`` -> sRGB-encoded uint8 (round to nearest)."""
    encoded = linear_to_srgb_np(np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0))
    return np.clip(np.round(encoded * UINT8_MAX), 0, UINT8_MAX).astype(np.uint8)


def jpeg_roundtrip(image: np.ndarray, quality: int) -> tuple[np.ndarray, bytes]:
    """JPEG-compresses an RGB uint8 ``[H, W, 3]`` image at ``quality`` and decodes it again.

    Returns:
      ``(decoded [H, W, 3] uint8 RGB, the JPEG file bytes)``.
    """
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be [H, W, 3] uint8, got {image.shape} {image.dtype}")
    ok, buffer = cv2.imencode(".jpg", np.ascontiguousarray(image[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("OpenCV could not encode a JPEG")
    decoded = cv2.imdecode(buffer, cv2.IMREAD_COLOR)[..., ::-1]
    return np.ascontiguousarray(decoded), buffer.tobytes()


def apply_camera_effects(linear_image: np.ndarray, effects: CameraEffects) -> tuple[np.ndarray, bytes]:
    """Steps 1-6 of the module docstring: linear render ``[H, W, 3]`` (>= 0) -> degraded sRGB photo.

    Returns:
      ``(photo [H, W, 3] float32 sRGB in [0, 1], its JPEG bytes)``; a pure function of its arguments.
    """
    image = apply_white_balance(linear_image, effects.white_balance)
    image = apply_exposure_ev(image, effects.exposure_ev)
    image = gaussian_blur(image, effects.blur_sigma)
    image = add_sensor_noise(image, shot_noise_gain=effects.shot_noise_gain,
                             read_noise_sigma=effects.read_noise_sigma, seed=effects.noise_seed)
    decoded, jpeg = jpeg_roundtrip(encode_srgb_uint8(image), effects.jpeg_quality)
    return decoded.astype(np.float32) / np.float32(UINT8_MAX), jpeg
