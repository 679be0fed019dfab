"""Per-vertex bake results written as textures in the UV layout (docs/architecture.md, step 2: "also written out as
textures in UV", as the paper bakes them into mesh textures).

The arrays returned are ready for ``np.savez_compressed(path, **textures)``; saving is the caller's job.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from svfri.bake.rasterize import rasterize_uv

__all__ = ["DEFAULT_BAKE_TEXTURE_SIZE", "UV_PADDING_TEXELS", "pad_texture", "bake_textures"]

#: Default side of the baked visibility textures (the SH visibility is low-frequency).
DEFAULT_BAKE_TEXTURE_SIZE = 256
#: Texels outside the UV layout that receive the value of the nearest covered texel, so that bilinear
#: lookups and mip-maps at the layout's border do not pull in the empty background.
UV_PADDING_TEXELS = 4


def pad_texture(image: np.ndarray, mask: np.ndarray, *, padding: int = UV_PADDING_TEXELS) -> np.ndarray:
    """Copies into every uncovered texel within ``padding`` texels (Euclidean) of the covered ones the value of
    the nearest covered texel; texels further out are left as they are.

    Args:
      image: ``[H, W, C]`` or ``[H, W]`` texture.
      mask: ``[H, W]`` bool, covered texels.
      padding: dilation radius in texels (``0``: no change).

    Returns:
      A padded copy of ``image``.
    """
    image = np.array(image, copy=True)
    if padding <= 0 or not mask.any() or mask.all():
        return image
    distance, (rows, cols) = ndimage.distance_transform_edt(~mask, return_indices=True)
    ring = (~mask) & (distance <= padding)
    image[ring] = image[rows[ring], cols[ring]]
    return image


def bake_textures(faces: np.ndarray, uv: np.ndarray, visibility_sh: np.ndarray, bent_normal: np.ndarray, *,
                  size: int = DEFAULT_BAKE_TEXTURE_SIZE, padding: int = UV_PADDING_TEXELS) -> dict[str, np.ndarray]:
    """Rasterises the per-vertex SH visibility and bent normals into ``size x size`` UV textures.

    Each texel holds the barycentric interpolation of the per-vertex values at its centre
    (:func:`svfri.bake.rasterize.rasterize_uv`; row 0 is ``t`` near 1). Bent normals are renormalised after
    interpolation and stay in **world space** (not tangent space). Texels outside the layout are padded by
    ``padding`` texels (:func:`pad_texture`) and zero beyond.

    Args:
      faces: ``[F, 3]`` int.
      uv: ``[V, 2]`` texture coordinates.
      visibility_sh: ``[V, 9]`` SH visibility (:func:`svfri.bake.visibility.bake_visibility`), svfri's SH order.
      bent_normal: ``[V, 3]`` unit bent normals, world space.
      size: texture side in texels.
      padding: texels of border padding.

    Returns:
      ``{"visibility_sh": [size, size, 9] float32, "bent_normal": [size, size, 3] float32,
      "mask": [size, size] bool}`` (``mask``: texels covered by the layout).
    """
    visibility_sh = np.asarray(visibility_sh, dtype=np.float32)
    bent_normal = np.asarray(bent_normal, dtype=np.float32)
    if visibility_sh.shape[1:] != (9,) or bent_normal.shape[1:] != (3,):
        raise ValueError(f"visibility_sh must be [V, 9] and bent_normal [V, 3], got {visibility_sh.shape} "
                         f"and {bent_normal.shape}")
    image, mask = rasterize_uv(faces, uv, np.concatenate([visibility_sh, bent_normal], axis=-1), size=size)
    visibility_map, bent_map = image[..., :9], image[..., 9:]
    length = np.linalg.norm(bent_map, axis=-1, keepdims=True)
    bent_map = np.where(length > 0.0, bent_map / np.where(length > 0.0, length, 1.0), 0.0)
    return {
        "visibility_sh": pad_texture(visibility_map, mask, padding=padding).astype(np.float32),
        "bent_normal": pad_texture(bent_map, mask, padding=padding).astype(np.float32),
        "mask": mask,
    }
