"""One photo's render object: the G-buffer tensors, bilinear taps, loss target and pixel weights, at the work
image's resolution and at the fit's *working resolution*, built once and shared by the latent fit and the
detail refinement.

**Working resolution.** A fit step's cost grows with the number of G-buffer pixels ``N`` (gather, shading and the
scatter-add of the backward pass are all ``O(N)``), while the latent codes, the light and the decoded maps do not
depend on it. So the latent fit's loss is evaluated on the photo and the G-buffer shrunk by an integer ``factor``
(box filter, :meth:`svfri.geometry.gbuffer.GBuffer.downsample`), chosen per photo so that the face stays at least
:data:`svfri.fitting.settings.FitSettings.working_face_px` pixels across (:func:`working_factor`). Everything
written (the final render, the face-mask metrics, the occluder rejection and the detail refinement) stays at the
work image's full resolution. The loss over blocks: coarse pixel ``b`` gets the mean target of its covered fine
pixels (averaged in linear light, then put in the loss space) and weight ``sum_{p in b} w_p / factor^2``
(:meth:`~svfri.geometry.gbuffer.BlockMap.coverage_weighted`), so it approximates the full-resolution loss of the
box-filtered residual. What it cannot see is detail finer than a block; the refinement, which follows at full
resolution, is where such detail goes. The measured cost in quality is in README ("Speed").
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from svfri.geometry.template import FaceTemplate
from svfri.math.color import linear_to_srgb, linear_to_srgb_np, srgb_to_linear_np
from svfri.geometry.gbuffer import GBuffer
from svfri.render.shading import gbuffer_to_tensors
from svfri.render.texture import sample_bilinear

__all__ = ["PhotoScene", "working_factor", "face_extent_px", "pad_rows", "pixel_weights", "in_loss_space", "loss_target",
           "MIN_VIEW_COSINE", "EXCLUDED_REGIONS"]

#: Pixels whose geometric normal is more grazing than this (``n . v``) are left out of the loss.
MIN_VIEW_COSINE = 0.25
#: Template regions left out of the loss (not skin).
EXCLUDED_REGIONS = ("eyes", "mouth_interior")


def pixel_weights(gbuffer: GBuffer, template: FaceTemplate) -> np.ndarray:
    """``[N]`` loss weights in ``[0, 1]``: the template's ``face`` region at each pixel's UV, minus
    :data:`EXCLUDED_REGIONS`, zero where ``n . v < MIN_VIEW_COSINE`` (:mod:`svfri.fitting.optimise`)."""
    masks = template.region_masks
    stacked = np.stack([masks["face"]] + [masks[name] for name in EXCLUDED_REGIONS], axis=-1)
    sampled = sample_bilinear(tf.constant(stacked, tf.float32), tf.constant(gbuffer.uv, tf.float32)).numpy()
    weights = sampled[:, 0] * np.prod(1.0 - sampled[:, 1:], axis=1)
    weights = weights * (gbuffer.normal[:, 2] >= MIN_VIEW_COSINE)
    return np.clip(weights, 0.0, 1.0).astype(np.float32)


def in_loss_space(radiance: tf.Tensor, loss_space: str) -> tf.Tensor:
    """Linear radiance ``[N, 3]`` in the loss's comparison space ``f`` (:mod:`svfri.fitting.optimise`):
    sRGB-encoded after clamping to ``[0, 1]`` (``"srgb"``), or as it is (``"linear"``)."""
    if loss_space == "srgb":
        return linear_to_srgb(tf.clip_by_value(radiance, 0.0, 1.0))
    return radiance


def loss_target(photo_srgb: np.ndarray, gbuffer: GBuffer, loss_space: str) -> np.ndarray:
    """``[N, 3]`` float32: the photo (sRGB ``[H, W, 3]`` on the G-buffer's pixels) in the loss's comparison space."""
    target = np.asarray(photo_srgb).reshape(-1, 3)[gbuffer.pixel_index].astype(np.float32)
    return srgb_to_linear_np(target).astype(np.float32) if loss_space == "linear" else target


def pad_rows(tensor: tf.Tensor, count: int) -> tf.Tensor:
    """``tensor [M, ...]`` padded to ``[count, ...]`` with copies of its first row (unchanged when ``count <= M``);
    the callers give the padding rows weight 0, so it only fixes the shapes XLA compiles for."""
    extra = count - int(tensor.shape[0])
    if extra <= 0:
        return tensor
    return tf.concat([tensor, tf.repeat(tensor[:1], extra, axis=0)], axis=0)


def face_extent_px(gbuffer: GBuffer) -> int:
    """Larger side of the bounding box of the G-buffer's covered pixels (the face mesh in the image), pixels."""
    if gbuffer.pixel_count == 0:
        return 0
    rows, columns = np.divmod(gbuffer.pixel_index, gbuffer.width)
    return int(max(rows.max() - rows.min(), columns.max() - columns.min()) + 1)


def working_factor(gbuffer: GBuffer, working_face_px: int) -> int:
    """Integer shrink factor of the fit's working resolution: the largest that keeps the face at least
    ``working_face_px`` pixels across (1 = full resolution; ``working_face_px = 0`` always gives 1)."""
    if working_face_px <= 0:
        return 1
    return max(1, int(math.floor(face_extent_px(gbuffer) / float(working_face_px))))


class PhotoScene:
    """Everything per photo that the fit's two stages render with and that does not change during the fit.

    Attributes:
      gbuffer: the work image's G-buffer (``N`` pixels); ``tensors``: its :func:`gbuffer_to_tensors` with the
        bilinear taps of ``map_sizes``; ``target``: ``[N, 3]`` the photo in the loss space (tensor);
        ``base_weights``: ``[N]`` :func:`pixel_weights` (numpy).
      factor: the working resolution's shrink factor; ``working``, ``working_tensors``, ``working_target``: the
        same at the working resolution (``M`` pixels; the full-resolution objects themselves when ``factor`` is
        1); ``blocks``: the fine-to-coarse :class:`~svfri.geometry.gbuffer.BlockMap`.
      loss_space: the comparison space the targets are in.
    """

    def __init__(self, gbuffer: GBuffer, photo_srgb: np.ndarray, template: FaceTemplate, *,
                 loss_space: str = "srgb", map_sizes: tuple = (), factor: int = 1):
        self.gbuffer = gbuffer
        self.loss_space = loss_space
        self.map_sizes = tuple(sorted(set(map_sizes)))
        self.tensors = gbuffer_to_tensors(gbuffer, map_sizes=self.map_sizes)
        self.target = tf.constant(loss_target(photo_srgb, gbuffer, loss_space))
        self.base_weights = pixel_weights(gbuffer, template)
        self.factor = int(factor)
        self.working, self.blocks = gbuffer.downsample(self.factor)
        if self.factor == 1:
            self.working_tensors, self.working_target = self.tensors, self.target
            return
        self.working_tensors = gbuffer_to_tensors(self.working, map_sizes=self.map_sizes)
        linear = srgb_to_linear_np(np.asarray(photo_srgb, np.float32).reshape(-1, 3)[gbuffer.pixel_index])
        mean = self.blocks.block_mean(linear).astype(np.float32)
        target = linear_to_srgb_np(np.clip(mean, 0.0, 1.0)) if loss_space == "srgb" else mean
        self.working_target = tf.constant(np.asarray(target, np.float32))

    @property
    def pixel_count(self) -> int:
        """``N``, pixels at full resolution."""
        return self.gbuffer.pixel_count

    @property
    def working_pixel_count(self) -> int:
        """``M``, pixels at the working resolution."""
        return self.working.pixel_count

    def working_weights(self, weights: np.ndarray) -> np.ndarray:
        """Full-resolution weights ``[N]`` -> the working resolution's ``[M]`` (module docstring)."""
        if self.factor == 1:
            return np.asarray(weights, np.float32)
        return self.blocks.coverage_weighted(weights)

    def taps(self, height: int, width: int | None = None):
        """The precomputed full-resolution :class:`~svfri.render.texture.BilinearTaps` of an ``H x W`` map, or
        ``None`` when that size was not in ``map_sizes``."""
        return self.tensors.get("taps", {}).get(f"{height}x{width or height}")

