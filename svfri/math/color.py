"""sRGB transfer functions (IEC 61966-2-1:1999), TensorFlow (differentiable) and numpy, and the dielectric
Fresnel constants of skin: the one definition the renderer, the writers (OBJ/MTL, glTF) and the jobs import.

Decoding (sRGB-encoded value ``c`` to linear ``x``)::

    x = c / 12.92                       for c <= 0.04045
    x = ((c + 0.055) / 1.055) ^ 2.4     otherwise

Encoding (linear ``x`` to sRGB ``c``)::

    c = 12.92 x                         for x <= 0.0031308
    c = 1.055 x ^ (1 / 2.4) - 0.055     otherwise

Values below the threshold (including negative ones) go through the linear segment, values above 1 through
the power segment, so neither direction clips: clip where the data demands it (e.g. before writing a PNG).
The power branch is evaluated on an argument clamped to the threshold, so gradients are finite everywhere
(``tf.where`` would otherwise propagate the ``inf`` of ``x ^ (1/2.4)`` at ``0``).

Importing this module does not import TensorFlow (the numpy half serves the exporters, which must stay light);
the TensorFlow functions import it when first called.

Fresnel at normal incidence against air: ``F0 = ((n - 1) / (n + 1))^2`` (:func:`ior_to_f0`); skin's outer layer
``n ~= 1.4`` (Weyrich et al. 2006 measure about 1.38) gives 0.0278, rounded to :data:`SKIN_F0` = 0.028, the F0
that svfri's specular map scales.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "SRGB_DECODE_THRESHOLD", "SRGB_ENCODE_THRESHOLD", "srgb_to_linear", "linear_to_srgb", "srgb_to_linear_np",
    "linear_to_srgb_np", "srgb_encode_unit", "SKIN_INDEX_OF_REFRACTION", "SKIN_F0", "ior_to_f0",
]

#: Skin's index of refraction (outer layer; module docstring).
SKIN_INDEX_OF_REFRACTION = 1.4
#: Specular reflectance of skin at normal incidence, ``ior_to_f0(1.4) = 0.0278`` rounded: the F0 that svfri's
#: specular map scales (``F0 = SKIN_F0 * t_s``).
SKIN_F0 = 0.028


def ior_to_f0(index_of_refraction: float) -> float:
    """Normal-incidence Fresnel reflectance against air, ``F0 = ((n - 1) / (n + 1))^2`` (``n = 1.4 -> 0.02778``)."""
    return ((float(index_of_refraction) - 1.0) / (float(index_of_refraction) + 1.0)) ** 2

#: Encoded value below which the sRGB decode is linear.
SRGB_DECODE_THRESHOLD = 0.04045
#: Linear value below which the sRGB encode is linear.
SRGB_ENCODE_THRESHOLD = 0.0031308
#: Slope of the linear segment.
_LINEAR_SLOPE = 12.92
#: Offset ``a`` and scale ``1 + a`` of the power segment.
_POWER_OFFSET = 0.055
_POWER_SCALE = 1.055
#: Exponent of the power segment.
_GAMMA = 2.4


def srgb_to_linear(encoded: tf.Tensor) -> tf.Tensor:
    """Decodes sRGB values to linear (IEC 61966-2-1), ``[...]`` -> ``[...]``, differentiable with finite gradients.

    Args:
      encoded: sRGB-encoded values, nominally in ``[0, 1]`` (float32 or float64).

    Returns:
      Linear values, same shape and dtype.
    """
    import tensorflow as tf

    encoded = tf.convert_to_tensor(encoded)
    safe = tf.maximum(encoded, SRGB_DECODE_THRESHOLD)
    power = tf.pow((safe + _POWER_OFFSET) / _POWER_SCALE, _GAMMA)
    return tf.where(encoded <= SRGB_DECODE_THRESHOLD, encoded / _LINEAR_SLOPE, power)


def linear_to_srgb(linear: tf.Tensor) -> tf.Tensor:
    """Encodes linear values to sRGB (IEC 61966-2-1), ``[...]`` -> ``[...]``, differentiable with finite gradients.

    Args:
      linear: linear values (float32 or float64); not clipped.

    Returns:
      sRGB-encoded values, same shape and dtype.
    """
    import tensorflow as tf

    linear = tf.convert_to_tensor(linear)
    safe = tf.maximum(linear, SRGB_ENCODE_THRESHOLD)
    power = _POWER_SCALE * tf.pow(safe, 1.0 / _GAMMA) - _POWER_OFFSET
    return tf.where(linear <= SRGB_ENCODE_THRESHOLD, linear * _LINEAR_SLOPE, power)


def srgb_to_linear_np(encoded: np.ndarray) -> np.ndarray:
    """numpy version of :func:`srgb_to_linear` (float arrays; dtype kept for float inputs)."""
    encoded = np.asarray(encoded)
    if not np.issubdtype(encoded.dtype, np.floating):
        encoded = encoded.astype(np.float64)
    safe = np.maximum(encoded, SRGB_DECODE_THRESHOLD)
    power = ((safe + _POWER_OFFSET) / _POWER_SCALE) ** _GAMMA
    return np.where(encoded <= SRGB_DECODE_THRESHOLD, encoded / _LINEAR_SLOPE, power).astype(encoded.dtype)


def linear_to_srgb_np(linear: np.ndarray) -> np.ndarray:
    """numpy version of :func:`linear_to_srgb` (float arrays; dtype kept for float inputs)."""
    linear = np.asarray(linear)
    if not np.issubdtype(linear.dtype, np.floating):
        linear = linear.astype(np.float64)
    safe = np.maximum(linear, SRGB_ENCODE_THRESHOLD)
    power = _POWER_SCALE * safe ** (1.0 / _GAMMA) - _POWER_OFFSET
    return np.where(linear <= SRGB_ENCODE_THRESHOLD, linear * _LINEAR_SLOPE, power).astype(linear.dtype)


def srgb_encode_unit(linear: np.ndarray) -> np.ndarray:
    """Linear values clipped to ``[0, 1]`` then sRGB-encoded, float64 (what an 8-bit sRGB texture stores)."""
    return linear_to_srgb_np(np.clip(np.asarray(linear, dtype=np.float64), 0.0, 1.0))
