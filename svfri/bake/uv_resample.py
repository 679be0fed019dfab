"""Resampling maps between two UV layouts of one surface: the networks' template disc and ICT's face tile.

The networks were trained in svfri's template layout; the ICT head's skin maps are written in ICT's face tile
(docs/architecture.md, "UV layouts"). The correspondence is per face vertex: each ICT face render vertex has its
ICT face-tile UV ``u`` and, inside the template disc, a template UV ``s`` (:func:`svfri.geometry.ict_fit.
ict_template_uv`, a closest-point registration). Triangles with a corner off the disc are dropped.

:func:`tile_correspondence` rasterises the kept triangles in the **destination** layout and interpolates, per
destination texel centre, the source UV and both tangent frames (barycentric interpolation: exact on each flat
triangle, an approximation of the surface's own map between vertices). :func:`resample` then, per texel:

* colour maps (albedo, sRGB-encoded): decoded to linear, sampled bilinearly at the source UV, re-encoded (filtering
  in linear light, as the renderer does);
* scalar maps (specular, linear): sampled bilinearly;
* tangent-space normal maps (OpenGL ``+Y``, ``0.5 n + 0.5``): the decoded source normal ``n_s`` is taken to the
  surface frame of the source layout and back into the destination's,
  ``n_d = F_d^T F_s n_s``, ``F = [T | B | N]`` (``B = w N x T``), then renormalised and re-encoded.

Texels of the destination the correspondence does not reach (outside the template disc: ears, scalp, neck, the
tile's empty corners) are **filled from the inside** by push-pull (:func:`push_pull_fill`, Gortler et al. 1996,
"The Lumigraph", section 3.3: a pyramid of box-filtered known values, then holes filled coarse to fine, each level
upsampled bilinearly so the fill has no block edges): a smooth
continuation of the disc's edge colours, not a texture; the normal map's filled texels are renormalised. What was
resampled and what was filled is recorded (:attr:`TileCorrespondence.covered`) and ``fit.json`` says so.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from svfri.bake.rasterize import interpolate, rasterize_triangles, uv_to_texel
from svfri.bake.unwrap import sample_uv
from svfri.math.color import linear_to_srgb_np, srgb_to_linear_np

__all__ = ["TileCorrespondence", "tile_correspondence", "resample", "push_pull_fill", "MAP_KINDS"]

#: What :func:`resample` can resample.
MAP_KINDS = ("colour", "scalar", "normal")
#: Push-pull stops halving at this side (texels).
_PYRAMID_MIN_SIDE = 1
_NORMALIZE_EPSILON = 1e-12


@dataclasses.dataclass(frozen=True, eq=False)
class TileCorrespondence:
    """Per destination texel, where it lies in the source layout (module docstring).

    Attributes:
      size: destination side, texels.
      texel_index: ``[M]`` int64 row-major destination texels reached (row 0 = ``t`` near 1).
      source_uv: ``[M, 2]`` float64 source ``(s, t)`` of each.
      destination_frame, source_frame: ``[M, 3, 3]`` float64 surface frames ``[T | B | N]`` (columns) of the
        destination and source layouts at each texel.
      covered: ``[size, size]`` bool, the texels of ``texel_index``.
    """

    size: int
    texel_index: np.ndarray
    source_uv: np.ndarray
    destination_frame: np.ndarray
    source_frame: np.ndarray
    covered: np.ndarray


def _frames(normals: np.ndarray, tangents: np.ndarray) -> np.ndarray:
    """``[M, 3, 3]`` orthonormal ``[T | B | N]`` from interpolated normals ``[M, 3]`` and tangents ``[M, 4]``."""
    n = normals / np.maximum(np.linalg.norm(normals, axis=-1, keepdims=True), _NORMALIZE_EPSILON)
    t = tangents[:, :3] - n * np.sum(n * tangents[:, :3], axis=-1, keepdims=True)
    t = t / np.maximum(np.linalg.norm(t, axis=-1, keepdims=True), _NORMALIZE_EPSILON)
    b = np.where(tangents[:, 3:4] < 0.0, -1.0, 1.0) * np.cross(n, t)
    return np.stack([t, b, n], axis=-1)


def tile_correspondence(faces: np.ndarray, destination_uv: np.ndarray, source_uv: np.ndarray,
                        normals: np.ndarray, destination_tangents: np.ndarray, source_tangents: np.ndarray, *,
                        size: int) -> TileCorrespondence:
    """Rasterises ``faces`` in the destination layout at ``size`` (module docstring).

    Args:
      faces: ``[F, 3]`` triangles that have both UVs at all corners.
      destination_uv, source_uv: ``[V, 2]`` the two layouts' UVs (``t`` up).
      normals: ``[V, 3]`` unit vertex normals.
      destination_tangents, source_tangents: ``[V, 4]`` glTF tangents of each layout.
      size: destination side, texels.
    """
    faces = np.asarray(faces, dtype=np.int64)
    if not np.isfinite(np.asarray(source_uv)[faces]).all() or not np.isfinite(np.asarray(destination_uv)[faces]).all():
        raise ValueError("every corner of the corresponding triangles needs both UVs")
    texel_index, triangle, bary = rasterize_triangles(uv_to_texel(np.nan_to_num(destination_uv), size),
                                                      np.zeros(len(destination_uv)), faces, height=size, width=size)
    packed = np.concatenate([np.nan_to_num(source_uv), normals, destination_tangents, source_tangents], axis=-1)
    values = interpolate(packed.astype(np.float64), faces, triangle, bary.astype(np.float64))
    covered = np.zeros(size * size, dtype=bool)
    covered[texel_index] = True
    return TileCorrespondence(size=int(size), texel_index=texel_index, source_uv=values[:, :2],
                              destination_frame=_frames(values[:, 2:5], values[:, 5:9]),
                              source_frame=_frames(values[:, 2:5], values[:, 9:13]),
                              covered=covered.reshape(size, size))


def push_pull_fill(image: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Fills the texels where ``known`` is False from the known ones by push-pull (module docstring).

    Args:
      image: ``[H, W, C]`` float values (only the known texels are read).
      known: ``[H, W]`` bool.

    Returns:
      ``[H, W, C]`` float64: known texels unchanged, the rest a smooth extrapolation (every texel is filled when
      at least one is known; all zeros otherwise).
    """
    image = np.asarray(image, dtype=np.float64)
    weight = np.asarray(known, dtype=np.float64)
    if not weight.any():
        return np.zeros_like(image)
    levels = [(image * weight[..., None], weight)]
    while max(levels[-1][1].shape) > _PYRAMID_MIN_SIDE:
        values, w = levels[-1]
        h, wd = w.shape
        pad_h, pad_w = h % 2, wd % 2
        values = np.pad(values, ((0, pad_h), (0, pad_w), (0, 0)))
        w = np.pad(w, ((0, pad_h), (0, pad_w)))
        values = values.reshape(values.shape[0] // 2, 2, values.shape[1] // 2, 2, -1).sum(axis=(1, 3))
        w = w.reshape(w.shape[0] // 2, 2, w.shape[1] // 2, 2).sum(axis=(1, 3))
        # Normalise to weights <= 1 so that a level's value is a mean of what it covers (premultiplied).
        scale = np.maximum(w, 1.0)
        levels.append((values / scale[..., None], w / scale))
    filled_values, filled_w = levels[-1]
    mean = filled_values / np.maximum(filled_w, _NORMALIZE_EPSILON)[..., None]
    for values, w in reversed(levels[:-1]):
        h, wd = w.shape
        coarse_h, coarse_w = mean.shape[:2]
        up = cv2.resize(mean, (2 * coarse_w, 2 * coarse_h), interpolation=cv2.INTER_LINEAR)
        up = up.reshape(2 * coarse_h, 2 * coarse_w, -1)[:h, :wd]
        own = values / np.maximum(w, _NORMALIZE_EPSILON)[..., None]
        mean = own * w[..., None] + up * (1.0 - w[..., None])
    result = mean
    result[known] = image[known]
    return result


def resample(image: np.ndarray, correspondence: TileCorrespondence, kind: str) -> np.ndarray:
    """The source-layout map ``image [S, S, C]`` in the destination layout, ``[size, size, C]`` float32 in
    ``[0, 1]``, unreached texels filled by :func:`push_pull_fill` (module docstring; ``kind`` in :data:`MAP_KINDS`:
    ``"colour"`` sRGB-encoded, ``"scalar"`` linear, ``"normal"`` encoded tangent-space)."""
    if kind not in MAP_KINDS:
        raise ValueError(f"kind must be one of {MAP_KINDS}, got {kind!r}")
    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 2:
        image = image[..., None]
    size, c = correspondence.size, correspondence.source_uv
    if kind == "colour":
        values = linear_to_srgb_np(np.clip(sample_uv(srgb_to_linear_np(image), c), 0.0, 1.0))
    elif kind == "scalar":
        values = sample_uv(image, c)
    else:
        local = sample_uv(image, c) * 2.0 - 1.0                                         # [M, 3] source frame
        world = np.einsum("mij,mj->mi", correspondence.source_frame, local)
        values = np.einsum("mji,mj->mi", correspondence.destination_frame, world)        # F_d^T n
        values /= np.maximum(np.linalg.norm(values, axis=-1, keepdims=True), _NORMALIZE_EPSILON)
        values = 0.5 * values + 0.5
    out = np.zeros((size * size, image.shape[-1]))
    out[correspondence.texel_index] = values
    out = push_pull_fill(out.reshape(size, size, -1), correspondence.covered)
    if kind == "normal":
        decoded = out * 2.0 - 1.0
        out = 0.5 * decoded / np.maximum(np.linalg.norm(decoded, axis=-1, keepdims=True), _NORMALIZE_EPSILON) + 0.5
    return np.clip(out, 0.0, 1.0).astype(np.float32)
