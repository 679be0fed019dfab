"""Photo -> UV unwrap: the texture ``T`` (RGB + visibility mask) that the encoders read (docs/architecture.md, step 2).

For every texel of the ``size x size`` UV layout:

1. its surface point ``X`` and normal ``n`` are the barycentric interpolation of the mesh's vertex positions and
   normals at the texel centre (UV rasterisation, :func:`svfri.bake.rasterize.rasterize_triangles`);
2. ``X`` is projected into the photo, ``[u, v] = P [X; 1]``, and the photo is sampled there bilinearly
   (pixel ``(i, j)`` has its centre at ``(j + 0.5, i + 0.5)``; samples clamp to the edge pixels);
3. the texel is **visible** when ``(u, v)`` lies inside the image, the photo pixel containing ``(u, v)`` is
   covered by the mesh, ``X`` is not behind the nearest surface there (z-buffer test, shadow-map style slope
   scaled bias: ``z_X >= z_buffer - pixel_size (DEPTH_BIAS_PIXELS + tan(theta) / sqrt 2)``, ``theta`` the angle
   between ``n`` and the view direction ``+Z``; ``1/sqrt 2`` pixel is the farthest a point is from the pixel
   centre where the z-buffer was sampled), and ``n_z > MIN_VIEW_COSINE`` (grazing texels are smeared).

Holes (texels of the layout that are not visible) are then filled, in the order named by ``fill``:

* ``"symmetry"``: from the mirrored texel of the face's left-right symmetry, when that one is visible. The
  mirror comes from ``mirror_vertex`` (``[V]`` index of each vertex's mirror twin: the mirror of a texel is the
  same barycentric combination of the twins' UVs) or ``mirror_uv`` (a function ``[N, 2] -> [N, 2]``). Without
  either, this step is skipped. Approximate: copies the other side's shading too.
* ``"inpaint"``: everything still missing, by Telea's fast-marching inpainting (A. Telea, "An image inpainting
  technique based on the fast marching method", JGT 9(1), 2004; ``cv2.inpaint``, radius
  ``INPAINT_RADIUS_TEXELS``), after a nearest-known pre-fill of the texels outside the layout so that the
  background does not bleed in. Each channel is inpainted as 16-bit over its own range (OpenCV's float32 Telea
  path returns out-of-range values on large holes), so filled texels carry a quantisation error <= range/65535.

The mask channel always holds the **true** visibility: filled texels have mask 0. Texels within
``UV_PADDING_TEXELS`` of the layout are inpainted too (border padding for bilinear lookups); beyond, RGB is 0.
The colour space of the output is that of the input photo (linear or sRGB: nothing is converted).
"""

from __future__ import annotations

import math
from typing import Callable

import cv2
import numpy as np
from scipy import ndimage

from svfri.bake.rasterize import interpolate, project_vertices, rasterize_triangles, uv_to_texel
from svfri.bake.uv_bake import UV_PADDING_TEXELS
from svfri.geometry.gbuffer import GBuffer

__all__ = [
    "MIN_VIEW_COSINE", "DEPTH_BIAS_PIXELS", "INPAINT_RADIUS_TEXELS", "INPAINT_LEVELS", "MIRROR_MIN_WEIGHT",
    "FILL_MODES",
    "bilinear_sample", "photo_depth_buffer", "texel_visibility", "unwrap_photo",
]

#: Texels whose normal makes a cosine below this with the view direction are not trusted (grazing view:
#: one photo pixel smears over many texels). cos 78 deg.
MIN_VIEW_COSINE = 0.2
#: Constant part of the z-buffer bias, in photo pixels (times the world size of a pixel).
DEPTH_BIAS_PIXELS = 1.0
#: Neighbourhood radius of Telea inpainting, in texels.
INPAINT_RADIUS_TEXELS = 3
#: Quantisation levels of the 16-bit inpainting input (module docstring).
INPAINT_LEVELS = 65535
#: A mirrored lookup is used when at least this bilinear weight falls on visible texels.
MIRROR_MIN_WEIGHT = 0.5
#: Accepted ``fill`` values.
FILL_MODES = ("symmetry+inpaint", "inpaint", "symmetry", "none")


def bilinear_sample(image: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bilinear lookup of ``image [H, W, C]`` at continuous pixel positions ``(x, y)`` (``[N]`` each).

    Pixel ``(i, j)`` is the sample at ``(j + 0.5, i + 0.5)``; positions clamp to the edge pixels.
    Returns ``[N, C]`` in the image's floating dtype (float64 for integer images).
    """
    height, width = image.shape[:2]
    dtype = image.dtype if np.issubdtype(image.dtype, np.floating) else np.float64
    fx = np.clip(np.asarray(x, dtype=np.float64) - 0.5, 0.0, width - 1.0)
    fy = np.clip(np.asarray(y, dtype=np.float64) - 0.5, 0.0, height - 1.0)
    x0 = np.minimum(np.floor(fx).astype(np.int64), max(width - 2, 0))
    y0 = np.minimum(np.floor(fy).astype(np.int64), max(height - 2, 0))
    x1 = np.minimum(x0 + 1, width - 1)
    y1 = np.minimum(y0 + 1, height - 1)
    ax = (fx - x0)[:, None].astype(dtype)
    ay = (fy - y0)[:, None].astype(dtype)
    flat = image.reshape(height, width, -1).astype(dtype, copy=False)
    top = flat[y0, x0] * (1 - ax) + flat[y0, x1] * ax
    bottom = flat[y1, x0] * (1 - ax) + flat[y1, x1] * ax
    return top * (1 - ay) + bottom * ay


def sample_uv(image: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Bilinear lookup of a UV map ``image [S, S', C]`` (or ``[S, S']``) at texture coordinates ``uv [..., 2]``
    (``t`` up, texel centres at ``((j + 0.5) / S', 1 - (i + 0.5) / S)``, :func:`uv_to_texel`) -> ``[N, C]``.
    Coordinates outside ``[0, 1]`` clamp to the border texels (:func:`bilinear_sample`)."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[..., None]
    height, width = image.shape[:2]
    uv = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
    return bilinear_sample(image, uv[:, 0] * width, (1.0 - uv[:, 1]) * height)


def photo_depth_buffer(vertices: np.ndarray, faces: np.ndarray, *, world_to_pixel: np.ndarray, height: int,
                       width: int, gbuffer: GBuffer | None = None) -> np.ndarray:
    """``[H, W]`` float64 world ``Z`` of the nearest surface at each photo pixel centre, ``-inf`` where uncovered.

    Reuses ``gbuffer`` (same mesh, camera and size) when given instead of rasterising again.
    """
    depth = np.full(height * width, -np.inf)
    if gbuffer is not None:
        if (gbuffer.height, gbuffer.width) != (height, width):
            raise ValueError(f"gbuffer is {gbuffer.height} x {gbuffer.width}, the photo {height} x {width}")
        depth[gbuffer.pixel_index] = gbuffer.position[:, 2]
    else:
        vertices = np.asarray(vertices, dtype=np.float64)
        pixel, triangle, bary = rasterize_triangles(project_vertices(vertices, world_to_pixel), vertices[:, 2],
                                                    faces, height=height, width=width)
        depth[pixel] = interpolate(vertices[:, 2:3], faces, triangle, bary)[:, 0]
    return depth.reshape(height, width)


def texel_visibility(points: np.ndarray, normals: np.ndarray, depth: np.ndarray, *,
                     world_to_pixel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which surface points the camera sees (module docstring, step 3), and where they project.

    Args:
      points: ``[N, 3]`` world surface points.
      normals: ``[N, 3]`` unit normals at those points.
      depth: ``[H, W]`` photo z-buffer (:func:`photo_depth_buffer`).
      world_to_pixel: ``[3, 4]`` camera.

    Returns:
      ``visible``: ``[N]`` bool. ``pixel_xy``: ``[N, 2]`` float64 photo positions ``(u, v)``.
    """
    height, width = depth.shape
    pixel_xy = project_vertices(points, world_to_pixel)
    matrix = np.asarray(world_to_pixel, dtype=np.float64)
    pixel_size = 1.0 / math.sqrt(abs(np.linalg.det(matrix[:2, :2])))               # world units per pixel
    u, v = pixel_xy[:, 0], pixel_xy[:, 1]
    inside = (u >= 0.0) & (u < width) & (v >= 0.0) & (v < height)
    column = np.clip(np.floor(u), 0, width - 1).astype(np.int64)
    row = np.clip(np.floor(v), 0, height - 1).astype(np.int64)
    nearest = depth[row, column]
    cosine = np.clip(normals[:, 2], MIN_VIEW_COSINE, 1.0)
    slope = np.sqrt(1.0 - cosine * cosine) / cosine                                  # tan(theta)
    bias = pixel_size * (DEPTH_BIAS_PIXELS + slope / math.sqrt(2.0))
    with np.errstate(invalid="ignore"):
        unoccluded = np.isfinite(nearest) & (points[:, 2] >= nearest - bias)
    visible = inside & unoccluded & (normals[:, 2] > MIN_VIEW_COSINE)
    return visible, pixel_xy


def _mirror_fill(texture, known, texel_index, texel_uv_mirror, size):
    """Fills unknown texels from their mirror images where those are known (normalised bilinear lookup)."""
    target = ~known.reshape(-1)[texel_index]
    if not target.any():
        return texture, known
    xy = uv_to_texel(texel_uv_mirror[target], size)
    weights = bilinear_sample(known.astype(np.float32)[..., None], xy[:, 0], xy[:, 1])[:, 0]
    colour = bilinear_sample(texture * known[..., None], xy[:, 0], xy[:, 1])
    usable = weights >= MIRROR_MIN_WEIGHT
    destination = texel_index[target][usable]
    texture = texture.copy()
    known = known.copy()
    texture.reshape(-1, texture.shape[-1])[destination] = colour[usable] / weights[usable, None]
    known.reshape(-1)[destination] = True
    return texture, known


def _inpaint_fill(texture, known, region):
    """Fills ``region & ~known`` by Telea inpainting, after a nearest-known pre-fill of everything unknown."""
    holes = region & ~known
    if not holes.any() or not known.any():
        return texture
    _, (rows, cols) = ndimage.distance_transform_edt(~known, return_indices=True)
    prefilled = texture[rows, cols].astype(np.float64)            # nearest known colour everywhere
    mask = holes.astype(np.uint8)
    channels = []
    for c in range(texture.shape[-1]):
        # cv2.inpaint takes 1-channel float32 or uint16, but its float32 Telea path returns out-of-range garbage
        # on large holes (OpenCV 5.0.0); quantise each channel's range to 16 bits instead (error <= range/65535).
        low, high = float(prefilled[..., c].min()), float(prefilled[..., c].max())
        span = high - low if high > low else 1.0
        quantised = np.round((prefilled[..., c] - low) / span * INPAINT_LEVELS).astype(np.uint16)
        result = cv2.inpaint(quantised, mask, INPAINT_RADIUS_TEXELS, cv2.INPAINT_TELEA)
        channels.append(low + result.astype(np.float64) / INPAINT_LEVELS * span)
    filled = np.stack(channels, axis=-1).astype(texture.dtype)
    result = texture.copy()
    result[holes] = filled[holes]
    return result


def unwrap_photo(image: np.ndarray, vertices: np.ndarray, faces: np.ndarray, uv: np.ndarray,
                 normals: np.ndarray, *, world_to_pixel: np.ndarray, size: int, fill: str = "symmetry+inpaint",
                 mirror_vertex: np.ndarray | None = None,
                 mirror_uv: Callable[[np.ndarray], np.ndarray] | None = None,
                 gbuffer: GBuffer | None = None, padding: int = UV_PADDING_TEXELS) -> np.ndarray:
    """Samples the photo into the UV layout (module docstring): texture ``T`` with a visibility mask channel.

    Args:
      image: ``[H, W, 3]`` float photo, linear or sRGB (returned in the same space).
      vertices: ``[V, 3]`` fitted mesh in world space (cm), aligned with the photo by ``world_to_pixel``.
      faces: ``[F, 3]`` int.
      uv: ``[V, 2]`` texture coordinates, ``t`` up.
      normals: ``[V, 3]`` unit vertex normals.
      world_to_pixel: ``[3, 4]`` scaled-orthographic camera, ``[u, v, 1] = P @ [X, Y, Z, 1]``.
      size: texture side in texels.
      fill: ``"symmetry+inpaint"``, ``"inpaint"``, ``"symmetry"`` or ``"none"``.
      mirror_vertex: optional ``[V]`` int, the index of each vertex's left-right twin.
      mirror_uv: optional function mapping ``[N, 2]`` UVs to their mirror UVs (used if ``mirror_vertex`` is not).
      gbuffer: optional photo G-buffer of the same mesh and camera, reused as the z-buffer.
      padding: texels outside the layout that are filled too (border padding).

    Returns:
      ``[size, size, 4]`` float32: RGB, and the mask (1.0 where the texel was seen in the photo, else 0.0).
      Row 0 is ``t`` near 1. RGB is 0 beyond the padded layout; with ``fill="none"`` it is 0 in every hole.
      With no visible texel at all there is nothing to fill from and RGB stays 0.
    """
    if fill not in FILL_MODES:
        raise ValueError(f"fill must be one of {FILL_MODES}, got {fill!r}")
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be [H, W, 3], got {image.shape}")
    vertices = np.asarray(vertices, dtype=np.float64)
    uv = np.asarray(uv, dtype=np.float64)
    normals = np.asarray(normals, dtype=np.float64)
    if uv.shape != (vertices.shape[0], 2) or normals.shape != vertices.shape:
        raise ValueError(f"uv must be [V, 2] and normals [V, 3] for V = {vertices.shape[0]}, "
                         f"got {uv.shape} and {normals.shape}")
    height, width = image.shape[:2]

    texel_index, triangle, bary = rasterize_triangles(uv_to_texel(uv, size), np.zeros(len(uv)), faces,
                                                      height=size, width=size)
    packed = interpolate(np.concatenate([vertices, normals], axis=-1), faces, triangle, bary)
    points, texel_normal = np.ascontiguousarray(packed[:, :3]), np.ascontiguousarray(packed[:, 3:])
    texel_normal /= np.maximum(np.linalg.norm(texel_normal, axis=-1, keepdims=True), np.finfo(float).tiny)

    depth = photo_depth_buffer(vertices, faces, world_to_pixel=world_to_pixel, height=height, width=width,
                               gbuffer=gbuffer)
    visible, pixel_xy = texel_visibility(points, texel_normal, depth, world_to_pixel=world_to_pixel)

    texture = np.zeros((size * size, 3), dtype=np.float32)
    seen = texel_index[visible]
    texture[seen] = bilinear_sample(image.astype(np.float32, copy=False), pixel_xy[visible, 0],
                                    pixel_xy[visible, 1])
    texture = texture.reshape(size, size, 3)
    mask = np.zeros(size * size, dtype=bool)
    mask[seen] = True
    mask = mask.reshape(size, size)
    covered = np.zeros(size * size, dtype=bool)
    covered[texel_index] = True
    covered = covered.reshape(size, size)

    known = mask
    if "symmetry" in fill and (mirror_vertex is not None or mirror_uv is not None):
        if mirror_vertex is not None:
            mirror_vertex = np.asarray(mirror_vertex)
            if mirror_vertex.shape != (vertices.shape[0],):
                raise ValueError(f"mirror_vertex must be [V] = [{vertices.shape[0]}], got {mirror_vertex.shape}")
            mirrored = interpolate(uv[mirror_vertex], faces, triangle, bary)
        else:
            texel_uv = interpolate(uv, faces, triangle, bary)
            mirrored = np.asarray(mirror_uv(texel_uv), dtype=np.float64)
        texture, known = _mirror_fill(texture, known, texel_index, mirrored, size)
    region = covered
    if padding > 0:
        disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * padding + 1, 2 * padding + 1))
        region = cv2.dilate(covered.astype(np.uint8), disc) > 0
    if "inpaint" in fill:
        texture = _inpaint_fill(texture, known, region)
    texture = np.where(region[..., None], texture, 0.0)
    return np.concatenate([texture, mask[..., None]], axis=-1).astype(np.float32)
