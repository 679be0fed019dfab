"""Bilinear texture sampling in svfri's UV convention (TensorFlow, differentiable w.r.t. the texture).

UV convention (:mod:`svfri.conventions`): ``(s, t)`` in ``[0, 1]^2`` with ``t`` up; texel ``(i, j)`` of an
``H x W`` texture (row ``i`` from the top) has its centre at ``s = (j + 0.5) / W``, ``t = 1 - (i + 0.5) / H``.
So the continuous texel coordinates of ``(s, t)`` are ``x = s W - 0.5`` (column) and ``y = (1 - t) H - 0.5``
(row), and bilinear filtering blends the four texel centres around ``(x, y)``. Addressing is
clamp-to-edge: coordinates outside the texel-centre range take the border texels' values.

Sampling is linear in the texture, so gradients w.r.t. the texture are exact (scatter-adds of the bilinear
weights). For UVs that do not change between calls, :func:`bilinear_taps` computes the four texel indices and
weights once and :func:`sample_bilinear_taps` reuses them.
"""

from __future__ import annotations

from typing import NamedTuple

import tensorflow as tf

__all__ = ["BilinearTaps", "bilinear_taps", "sample_bilinear_taps", "sample_bilinear"]


class BilinearTaps(NamedTuple):
    """The four texels and weights that bilinear filtering blends for each UV.

    Attributes:
      indices: ``[..., 4]`` int32 row-major flat texel indices ``row * W + column``.
      weights: ``[..., 4]`` float weights summing to 1.
    """

    indices: tf.Tensor
    weights: tf.Tensor


def _axis_taps(coordinate: tf.Tensor, size: int) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Lower/upper integer texel and fraction along one axis, clamp-to-edge."""
    position = tf.clip_by_value(coordinate, 0.0, float(size - 1))
    lower = tf.minimum(tf.floor(position), float(max(size - 2, 0)))
    fraction = position - lower
    lower_index = tf.cast(lower, tf.int32)
    upper_index = tf.minimum(lower_index + 1, size - 1)
    return lower_index, upper_index, fraction


def bilinear_taps(uv: tf.Tensor, height: int, width: int) -> BilinearTaps:
    """Bilinear texel indices and weights for ``uv`` on an ``height x width`` texture.

    Args:
      uv: ``[..., 2]`` texture coordinates ``(s, t)``, ``t`` up (values outside ``[0, 1]`` clamp to the edge).
      height, width: texture size in texels (``>= 1``).

    Returns:
      :class:`BilinearTaps` with ``[..., 4]`` indices and weights (order: top-left, top-right, bottom-left,
      bottom-right in image rows), weights in ``uv``'s dtype.
    """
    uv = tf.convert_to_tensor(uv)
    x = uv[..., 0] * width - 0.5
    y = (1.0 - uv[..., 1]) * height - 0.5
    column0, column1, fx = _axis_taps(x, width)
    row0, row1, fy = _axis_taps(y, height)
    indices = tf.stack([row0 * width + column0, row0 * width + column1,
                        row1 * width + column0, row1 * width + column1], axis=-1)
    weights = tf.stack([(1.0 - fy) * (1.0 - fx), (1.0 - fy) * fx, fy * (1.0 - fx), fy * fx], axis=-1)
    return BilinearTaps(indices=indices, weights=weights)


def sample_bilinear_taps(texture: tf.Tensor, taps: BilinearTaps) -> tf.Tensor:
    """Samples ``texture [H, W, C]`` at precomputed :class:`BilinearTaps` ``[..., 4]``: returns ``[..., C]``."""
    texture = tf.convert_to_tensor(texture)
    flat = tf.reshape(texture, [-1, tf.shape(texture)[-1]])
    texels = tf.gather(flat, taps.indices)                                  # [..., 4, C]
    weights = tf.cast(taps.weights, texture.dtype)
    return tf.reduce_sum(weights[..., None] * texels, axis=-2)


def sample_bilinear(texture: tf.Tensor, uv: tf.Tensor) -> tf.Tensor:
    """Bilinear, clamp-to-edge sampling of ``texture`` at ``uv`` (module docstring for the convention).

    Args:
      texture: ``[H, W, C]`` texel values (any colour space; filtering is linear in the stored values).
      uv: ``[..., 2]`` texture coordinates ``(s, t)``, ``t`` up, same float dtype as ``texture``.

    Returns:
      ``[..., C]`` filtered values; differentiable w.r.t. ``texture`` (and piecewise w.r.t. ``uv``).
    """
    texture = tf.convert_to_tensor(texture)
    if texture.shape.rank != 3:
        raise ValueError(f"texture must be [H, W, C], got shape {texture.shape}")
    height, width = int(texture.shape[0]), int(texture.shape[1])
    return sample_bilinear_taps(texture, bilinear_taps(tf.convert_to_tensor(uv, texture.dtype), height, width))
