"""Bilinear lookup of a UV map at arbitrary texture coordinates (numpy / OpenCV)."""

from __future__ import annotations

import cv2
import numpy as np

from svfri.bake.rasterize import uv_to_texel

__all__ = ["sample_map"]

#: ``cv2.remap`` wants maps under 32767 pixels a side: the lookups are laid out as rows of this many.
_REMAP_ROW = 1024


def sample_map(image: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Bilinear lookup of ``image [S, S', C]`` at texture coordinates ``uv [N, 2]`` (``t`` up) -> ``[N, C]``.

    Coordinates outside ``[0, 1]`` clamp to the border texels.
    """
    image = np.asarray(image, np.float32)
    if image.ndim == 2:
        image = image[..., None]
    height, width = image.shape[:2]
    texel = uv_to_texel(np.asarray(uv, np.float64).reshape(-1, 2), 1) * np.array([width, height]) - 0.5
    count = texel.shape[0]
    # cv2.remap wants maps under 32767 pixels a side: lay the lookups out as rows of _REMAP_ROW.
    rows = max(1, -(-count // _REMAP_ROW))
    padded = np.zeros((rows * _REMAP_ROW, 2), np.float32)
    padded[:count] = texel
    map_x = padded[:, 0].reshape(rows, _REMAP_ROW)
    map_y = padded[:, 1].reshape(rows, _REMAP_ROW)
    channels = [cv2.remap(np.ascontiguousarray(image[..., c]), map_x, map_y, cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE).reshape(-1)[:count] for c in range(image.shape[2])]
    return np.stack(channels, axis=-1)
