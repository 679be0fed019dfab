"""The G-buffer record: what rasterising the fixed, fitted mesh once gives the shader (numpy; used by bake and render).

The mesh does not move during optimisation, so visibility is resolved once per photo (numpy / Embree, see
:mod:`svfri.bake`) and only shading is differentiable. The record holds the covered pixels only, as flat
arrays of length ``N`` (PyTorch3D's ``Fragments`` idea, compacted): shading works on ``[N, C]`` tensors and
:meth:`GBuffer.scatter` puts the result back into an ``[H, W, C]`` image.

All vectors are in world space (:mod:`svfri.conventions`); the camera is orthographic along ``-Z``, so the
direction from surface to camera is ``+Z`` everywhere.
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["GBuffer", "BlockMap", "VIEW_DIRECTION"]

#: Unit vector from any surface point towards the (orthographic) camera, world space.
VIEW_DIRECTION = np.array([0.0, 0.0, 1.0], dtype=np.float32)


@dataclasses.dataclass(frozen=True)
class BlockMap:
    """Which coarse pixel each fine pixel falls in, for :meth:`GBuffer.downsample` by an integer ``factor``.

    Attributes:
      factor: side of a block of fine pixels, pixels (``>= 1``).
      block: ``[N]`` int64, index ``0 .. M-1`` of the coarse pixel (block) holding each fine pixel.
      counts: ``[M]`` int64, covered fine pixels per block (``1 .. factor^2``).
    """

    factor: int
    block: np.ndarray
    counts: np.ndarray

    @property
    def coarse_count(self) -> int:
        """Number of coarse pixels ``M``."""
        return int(self.counts.shape[0])

    def block_sum(self, values: np.ndarray) -> np.ndarray:
        """Sum of per-fine-pixel ``values [N, ...]`` over each block: ``[M, ...]`` float64."""
        values = np.asarray(values, dtype=np.float64)
        flat = values.reshape(values.shape[0], -1)
        out = np.stack([np.bincount(self.block, weights=flat[:, k], minlength=self.coarse_count)
                        for k in range(flat.shape[1])], axis=-1)
        return out.reshape((self.coarse_count,) + values.shape[1:])

    def block_mean(self, values: np.ndarray) -> np.ndarray:
        """Mean of ``values [N, ...]`` over each block's covered fine pixels: ``[M, ...]`` float64."""
        total = self.block_sum(values)
        return total / self.counts.reshape((-1,) + (1,) * (total.ndim - 1))

    def coverage_weighted(self, weights: np.ndarray) -> np.ndarray:
        """Per-block weight ``sum of the fine weights / factor^2`` (``[N] -> [M]`` float32): a block counts as much
        as the fine pixels it stands for, so a loss over blocks approximates the fine loss box-filtered (a block
        half covered by the mesh, or half in the eye region, counts half)."""
        return (self.block_sum(weights) / float(self.factor * self.factor)).astype(np.float32)


def _unit_rows(vectors: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    length = np.linalg.norm(vectors, axis=-1, keepdims=True)
    ok = length > 1e-12
    return np.where(ok, vectors / np.where(ok, length, 1.0), fallback)


@dataclasses.dataclass(frozen=True)
class GBuffer:
    """Per-pixel surface record for the ``N`` pixels the mesh covers in an ``height x width`` image.

    Attributes:
      height, width: image size in pixels.
      pixel_index: ``[N]`` int64, row-major flat index ``row * width + column`` of each covered pixel.
      triangle_id: ``[N]`` int32, index into the mesh's face array of the visible triangle.
      barycentric: ``[N, 3]`` float32, barycentric coordinates of the pixel centre in that triangle.
      position: ``[N, 3]`` float32, world-space surface point (cm).
      uv: ``[N, 2]`` float32, texture coordinates ``(s, t)``, ``t`` up.
      normal: ``[N, 3]`` float32, unit interpolated vertex normal (the geometric shading normal).
      tangent: ``[N, 4]`` float32, unit tangent ``T`` (xyz, orthogonal to ``normal``) and handedness ``w``
        with bitangent ``B = w * cross(N, T)`` (glTF convention).
      visibility_sh: ``[N, 9]`` float32, SH projection of the visibility function
        ``V(w) = [w above the tangent plane and the ray from the point along w escapes the mesh]``.
      bent_normal: ``[N, 3]`` float32, unit mean unoccluded direction (cosine-weighted).
    """

    height: int
    width: int
    pixel_index: np.ndarray
    triangle_id: np.ndarray
    barycentric: np.ndarray
    position: np.ndarray
    uv: np.ndarray
    normal: np.ndarray
    tangent: np.ndarray
    visibility_sh: np.ndarray
    bent_normal: np.ndarray

    @property
    def pixel_count(self) -> int:
        """Number of covered pixels ``N``."""
        return int(self.pixel_index.shape[0])

    def mask(self) -> np.ndarray:
        """``[H, W]`` bool coverage mask."""
        mask = np.zeros(self.height * self.width, dtype=bool)
        mask[self.pixel_index] = True
        return mask.reshape(self.height, self.width)

    def scatter(self, values: np.ndarray, background: np.ndarray | float = 0.0) -> np.ndarray:
        """Puts per-pixel ``[N, C]`` values into an ``[H, W, C]`` image over ``background`` (scalar or ``[H, W, C]``)."""
        values = np.asarray(values)
        channels = values.shape[1:]
        image = np.empty((self.height * self.width,) + channels, dtype=values.dtype)
        image[...] = np.broadcast_to(background, (self.height, self.width) + channels).reshape(image.shape)
        image[self.pixel_index] = values
        return image.reshape((self.height, self.width) + channels)

    def downsample(self, factor: int) -> tuple["GBuffer", BlockMap]:
        """The G-buffer of the image shrunk ``factor`` times per side (box filter), and the fine-to-coarse map.

        Coarse pixel ``(i, j)`` of the ``ceil(H / factor) x ceil(W / factor)`` image stands for the fine pixels
        ``[i f, (i + 1) f) x [j f, (j + 1) f)``; it is covered when any of them is. Its fields are the mean over the
        block's covered fine pixels (a supersampled G-buffer: ``factor^2`` samples per pixel): ``position``, ``uv``
        and ``visibility_sh`` averaged as they are (``visibility_sh`` is linear in the visibility); ``normal`` and
        ``bent_normal`` averaged then renormalised; ``tangent`` averaged, Gram-Schmidt orthogonalised against the
        normal and renormalised, handedness the sign of the mean ``w``. ``triangle_id`` and ``barycentric`` are
        those of the block's first covered fine pixel (row-major): the coarse record is for shading only.
        ``factor = 1`` returns this G-buffer and the identity map.
        """
        factor = int(factor)
        if factor < 1:
            raise ValueError(f"downsample factor must be >= 1, got {factor}")
        rows, columns = np.divmod(self.pixel_index, self.width)
        height, width = -(-self.height // factor), -(-self.width // factor)
        coarse_index = (rows // factor) * width + columns // factor
        unique, first, block, counts = np.unique(coarse_index, return_index=True, return_inverse=True,
                                                 return_counts=True)
        blocks = BlockMap(factor=factor, block=block.reshape(-1).astype(np.int64), counts=counts.astype(np.int64))
        if factor == 1:
            return self, blocks
        mean = blocks.block_mean
        f32 = np.float32
        normal = _unit_rows(mean(self.normal), np.broadcast_to(VIEW_DIRECTION.astype(np.float64), (len(unique), 3)))
        tangent = mean(self.tangent[:, :3])
        tangent = tangent - normal * np.sum(normal * tangent, axis=-1, keepdims=True)
        fallback = _unit_rows(np.cross(normal, [0.0, 1.0, 0.0]), np.broadcast_to([1.0, 0.0, 0.0], normal.shape))
        tangent = _unit_rows(tangent, fallback)
        handedness = np.where(mean(self.tangent[:, 3:]) < 0.0, -1.0, 1.0)
        coarse = GBuffer(
            height=height, width=width, pixel_index=unique.astype(np.int64),
            triangle_id=self.triangle_id[first].astype(np.int32), barycentric=self.barycentric[first].astype(f32),
            position=mean(self.position).astype(f32), uv=mean(self.uv).astype(f32), normal=normal.astype(f32),
            tangent=np.concatenate([tangent, handedness], axis=-1).astype(f32),
            visibility_sh=mean(self.visibility_sh).astype(f32),
            bent_normal=_unit_rows(mean(self.bent_normal), normal).astype(f32))
        return coarse, blocks
