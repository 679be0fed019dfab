"""The G-buffer: what rasterising the fixed, fitted mesh once gives the shader.

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

__all__ = ["GBuffer", "VIEW_DIRECTION"]

#: Unit vector from any surface point towards the (orthographic) camera, world space.
VIEW_DIRECTION = np.array([0.0, 0.0, 1.0], dtype=np.float32)


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
