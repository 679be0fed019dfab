"""Training-time augmentation of the unwrapped photo T: face-priority exposure.

Why. A camera with face detection meters on the face, and a portrait photographer exposes for it: in real portraits
faces of every skin type land near mid-grey. svfri's path-traced training scenes are metered centre-weighted over
the whole frame (:mod:`svfri.synth.pathtraced.camera`), so there a deep-toned face is a dark texture and a light
one a bright texture, and the networks learned to read the skin type off T's brightness. On a real portrait of a
dark-skinned person, exposed for his face, that cue says "light skin": the networks' albedo came out pale pink
(README, "Real portraits"). Re-exposing a fraction of the training textures as a face-priority camera would takes
the cue away where real photos take it away, so the networks must use what survives exposure: the skin's
chromaticity and its contrast with the sclera, teeth and lips.

What (per sample, with probability ``fraction``)::

    Y_face = sum_texels m Y(linear(T)) / sum_texels m          (m: T's visibility channel, Y: Rec. 709 luminance)
    g      = clip(target / Y_face, 1 / MAX_GAIN, MAX_GAIN),     target = MID_GREY * 2^u,  u ~ U(-SPREAD_EV, SPREAD_EV)
    T'     = srgb(clip(g * linear(T), 0, 1)),  visibility unchanged;  light' = g * light

i.e. the photo re-exposed by ``log2 g`` EV before the unwrap (exposure is a linear scale of the sensor's radiance,
and the unwrap resamples linearly up to the sRGB encoding; clipping at 1 is what a sensor does). The albedo,
specular and normal targets do not change (they are the surface's); the SH light scales with ``g`` (the light that
would give that photo with the same albedo). **Assumption** stated, not measured: a face-metered camera puts the
face's mean luminance at 18 % grey within +-1 EV; the bundled real portraits were not used to choose the range.
"""

from __future__ import annotations

import numpy as np

from svfri.math.color import linear_to_srgb_np, srgb_to_linear_np
from svfri.math.colorimetry import relative_luminance

__all__ = ["MID_GREY", "SPREAD_EV", "MAX_GAIN", "face_exposure_gains", "apply_exposure_gains"]

#: Mean face luminance (linear) a face-priority camera aims at: photographic mid-grey.
MID_GREY = 0.18
#: Half-width (EV) of the uniform spread of that aim about mid-grey.
SPREAD_EV = 1.0
#: Largest gain either way (a texture with almost no visible texels must not be amplified without bound).
MAX_GAIN = 16.0
_EPSILON = 1e-6


def face_exposure_gains(texture: np.ndarray, rng: np.random.Generator, fraction: float) -> np.ndarray:
    """Per-sample exposure gains ``g [B]`` (module docstring): 1 for the samples left as rendered.

    Args:
      texture: ``[B, H, W, 4]`` T, sRGB in ``[0, 1]`` plus the visibility channel.
      rng: the random generator (a draw for the choice and one for the aim, per sample).
      fraction: probability that a sample is re-exposed, in ``[0, 1]``.

    Raises:
      ValueError: ``fraction`` outside ``[0, 1]`` or ``texture`` not ``[B, H, W, 4]``.
    """
    texture = np.asarray(texture)
    if texture.ndim != 4 or texture.shape[-1] != 4:
        raise ValueError(f"texture must be [B, H, W, 4] (sRGB + visibility), got {texture.shape}")
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be in [0, 1], got {fraction}")
    count = texture.shape[0]
    chosen = rng.uniform(size=count) < fraction
    aim = MID_GREY * np.exp2(rng.uniform(-SPREAD_EV, SPREAD_EV, size=count))
    weight = texture[..., 3].astype(np.float64)
    luminance = relative_luminance(srgb_to_linear_np(texture[..., :3].astype(np.float64)))
    face = (weight * luminance).sum(axis=(1, 2)) / np.maximum(weight.sum(axis=(1, 2)), _EPSILON)
    gains = np.clip(aim / np.maximum(face, _EPSILON), 1.0 / MAX_GAIN, MAX_GAIN)
    return np.where(chosen, gains, 1.0)


def apply_exposure_gains(texture: np.ndarray, gains: np.ndarray) -> np.ndarray:
    """``T' = srgb(clip(g * linear(T), 0, 1))`` per sample, the visibility channel kept: ``[B, H, W, 4]`` float32."""
    texture = np.asarray(texture, dtype=np.float32)
    gains = np.asarray(gains, dtype=np.float64).reshape(-1, 1, 1, 1)
    exposed = linear_to_srgb_np(np.clip(srgb_to_linear_np(texture[..., :3].astype(np.float64)) * gains, 0.0, 1.0))
    return np.concatenate([exposed.astype(np.float32), texture[..., 3:]], axis=-1)
