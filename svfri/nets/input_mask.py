"""The parts of ``T`` the networks are not shown: template regions filled with the visible skin's mean colour.

Why (docs/benchmarks/networks_skin_probe.md): networks trained on the path-traced scenes read the skin tone mostly
from the contrast between the skin and the **eye openings** -- replacing the eyes of a training ``T`` by the skin's
mean moves a type-VI face's albedo ITA from -50 to -25 degrees, and a real portrait's from +59 to +14. The
generator's eyes (a large, evenly lit, near-white sclera; no lashes, no lid shadow) are unlike real eyes (mostly
iris, lashes and shadow), so on real photos that contrast says "light skin" whatever the skin. Until the training
eyes look like real ones the networks are not shown them: a trained network's config names the regions
(:attr:`~svfri.nets.config.NetworkConfig.masked_input_regions`), and :class:`~svfri.nets.FaceNetworks` applies the
same mask at training and at run time, so the two cannot drift apart.

For a mask ``m [H, W]`` in ``[0, 1]`` (the regions' union, grown by ``dilation``) and skin weights ``w`` (the
template's face minus :data:`SKIN_EXCLUDED`):

    c = sum(rgb * alpha * w * (1 - m)) / sum(alpha * w * (1 - m))          (per image, sRGB-encoded: an approximation
    rgb' = rgb (1 - m) + c m,   alpha' = alpha (1 - m)                       of the linear mean, close for skin)

so a masked texel looks like average skin and is marked unseen, as an occluded texel is. Applying it twice gives
the same colours (``c`` ignores masked texels) but squares ``1 - m`` in ``alpha``: apply it once per ``T``.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np
import tensorflow as tf

from svfri.geometry.template import load_face_template, region_weight

__all__ = ["SKIN_EXCLUDED", "input_mask", "skin_weight", "mask_texture"]

#: Regions left out of the skin colour that fills the mask (non-skin, or hair).
SKIN_EXCLUDED = ("eyes", "mouth_interior", "brows", "lips", "beard")
#: Smallest total skin weight of an image for its mean to be used (else the fill is mid grey).
_MIN_SKIN_WEIGHT = 1e-3
#: Fill colour of an image with no visible skin (sRGB).
_FALLBACK_FILL = 0.5


@functools.lru_cache(maxsize=8)
def input_mask(regions: tuple[str, ...], dilation_uv: float, size: int) -> np.ndarray:
    """``[size, size]`` float32 mask in ``[0, 1]``: the union (max) of the template ``regions``, grey-dilated by a
    disc of radius ``dilation_uv * size`` texels (rounded; 0 = none). Read-only (cached)."""
    template = load_face_template()
    union = np.zeros((size, size), np.float64)
    for name in regions:
        union = np.maximum(union, region_weight(template, size, include=name))
    radius = int(round(dilation_uv * size))
    if radius > 0:
        union = cv2.dilate(union, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1)))
    mask = np.clip(union, 0.0, 1.0).astype(np.float32)
    mask.setflags(write=False)
    return mask


@functools.lru_cache(maxsize=8)
def skin_weight(size: int) -> np.ndarray:
    """``[size, size]`` float32 skin weight of the fill colour (face minus :data:`SKIN_EXCLUDED`). Read-only."""
    weight = region_weight(load_face_template(), size, exclude=SKIN_EXCLUDED).astype(np.float32)
    weight.setflags(write=False)
    return weight


def mask_texture(texture: tf.Tensor, mask: np.ndarray, skin: np.ndarray) -> tf.Tensor:
    """``T [B, H, W, 4]`` (sRGB + visibility) with ``mask [H, W]`` filled by each image's mean skin colour under
    ``skin [H, W]`` and marked unseen (module docstring). Differentiable; float32."""
    texture = tf.convert_to_tensor(texture, tf.float32)
    keep = tf.constant(1.0 - mask, tf.float32)[tf.newaxis, :, :, tf.newaxis]
    rgb, alpha = texture[..., :3], texture[..., 3:]
    weight = alpha * keep * tf.constant(skin, tf.float32)[tf.newaxis, :, :, tf.newaxis]
    total = tf.reduce_sum(weight, axis=[1, 2])
    mean = tf.reduce_sum(rgb * weight, axis=[1, 2]) / tf.maximum(total, _MIN_SKIN_WEIGHT)
    fill = tf.where(total > _MIN_SKIN_WEIGHT, mean, tf.fill(tf.shape(mean), _FALLBACK_FILL))
    rgb = rgb * keep + fill[:, tf.newaxis, tf.newaxis, :] * (1.0 - keep)
    return tf.concat([rgb, alpha * keep], axis=-1)
