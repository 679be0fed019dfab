"""Z-buffered triangle rasterisation in numpy: the photo-space G-buffer and UV-space attribute maps.

Both rasterisers share :func:`rasterize_triangles`, which takes triangles already in pixel coordinates:

* Pixel ``(i, j)`` (row, column) is sampled at its centre ``(x, y) = (j + 0.5, i + 0.5)``
  (:mod:`svfri.conventions`). A pixel is covered by a triangle when all three barycentric coordinates of its
  centre are ``>= -COVERAGE_EPSILON``; centres exactly on a shared edge are claimed by both triangles and the
  depth test (then the lower triangle index) picks one, so closed surfaces have no cracks.
* Barycentrics are affine in screen space: exact for the orthographic camera (no perspective correction
  is needed or applied).
* Depth test: the covered fragment with the **largest** depth wins (the camera looks down ``-Z``, so larger
  world ``Z`` is nearer); ties go to the lower triangle index. No back-face culling (the face mesh is an open
  disc and either winding may face the camera); degenerate (zero screen area) triangles cover nothing.

Implementation: each triangle's pixel bounding box is enumerated with ``np.repeat`` (all triangles at once,
in chunks of at most ``CANDIDATES_PER_CHUNK`` candidate pixels), barycentrics come from per-triangle affine
coefficients, and the depth test is a scatter-max (``np.maximum.at``) of the covered fragments per chunk,
then a compare against the running z-buffer. A 15 k-triangle face mesh covering ~280 k pixels of a
1024 x 1024 photo rasterises in ~0.2 s and interpolates all G-buffer fields in ~0.1 s on this 2-core CPU.
"""

from __future__ import annotations

import numpy as np

from svfri.geometry.gbuffer import GBuffer

__all__ = [
    "COVERAGE_EPSILON", "CANDIDATES_PER_CHUNK", "VIEW_AXIS_TOLERANCE", "rasterize_triangles", "project_vertices",
    "uv_to_texel", "interpolate", "rasterize_gbuffer", "gbuffer_with_uv", "rasterize_uv",
]

#: Barycentric slack of the coverage test: absorbs round-off for pixel centres lying on an edge.
COVERAGE_EPSILON = 1e-9
#: Candidate pixels (bounding-box samples) processed per chunk; bounds temporary memory to ~100 MB.
CANDIDATES_PER_CHUNK = 1 << 20
#: ``world_to_pixel`` may mix world ``Z`` into ``(u, v)`` by at most this fraction of its scale
#: (the camera looks along ``-Z``, :mod:`svfri.conventions`).
VIEW_AXIS_TOLERANCE = 1e-6


def rasterize_triangles(screen_xy: np.ndarray, depth: np.ndarray, faces: np.ndarray, *,
                        height: int, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Visible triangle and barycentrics at every covered pixel centre (module docstring for the rules).

    Args:
      screen_xy: ``[V, 2]`` float vertex positions in pixel units, ``x`` right (column), ``y`` down (row).
      depth: ``[V]`` float, larger is nearer the camera.
      faces: ``[F, 3]`` int triangles.
      height, width: image size in pixels.

    Returns:
      ``pixel_index``: ``[N]`` int64 row-major flat indices of the covered pixels, ascending.
      ``triangle_id``: ``[N]`` int32 index of the visible triangle.
      ``barycentric``: ``[N, 3]`` float64 weights of the triangle's three vertices at the pixel centre
      (sum to 1; each ``>= -COVERAGE_EPSILON``).
    """
    screen_xy = np.asarray(screen_xy, dtype=np.float64)
    depth = np.asarray(depth, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64)
    if screen_xy.ndim != 2 or screen_xy.shape[1] != 2 or depth.shape != screen_xy.shape[:1]:
        raise ValueError(f"screen_xy must be [V, 2] and depth [V], got {screen_xy.shape} and {depth.shape}")
    if height < 1 or width < 1:
        raise ValueError(f"image size must be positive, got {height} x {width}")

    a, b, c = (screen_xy[faces[:, k]] for k in range(3))                       # [F, 2] each
    ab, ac = b - a, c - a
    area2 = ab[:, 0] * ac[:, 1] - ab[:, 1] * ac[:, 0]                           # twice the signed area
    finite = np.isfinite(area2) & np.all(np.isfinite(depth[faces]), axis=1)
    # Pixel centres j + 0.5 within [min x, max x]: j in [ceil(min x - 0.5), floor(max x - 0.5)].
    corners = screen_xy[faces]                                                  # [F, 3, 2]
    with np.errstate(invalid="ignore"):
        low = np.ceil(np.nan_to_num(corners.min(axis=1), nan=np.inf) - 0.5)
        high = np.floor(np.nan_to_num(corners.max(axis=1), nan=-np.inf) - 0.5)
    col0 = np.clip(low[:, 0], 0, width).astype(np.int64)
    col1 = np.clip(high[:, 0], -1, width - 1).astype(np.int64)
    row0 = np.clip(low[:, 1], 0, height).astype(np.int64)
    row1 = np.clip(high[:, 1], -1, height - 1).astype(np.int64)
    box_w = np.maximum(col1 - col0 + 1, 0)
    box_h = np.maximum(row1 - row0 + 1, 0)
    count = box_w * box_h
    usable = finite & (area2 != 0.0) & (count > 0)
    ids = np.nonzero(usable)[0]
    inv_area2 = np.zeros_like(area2)
    inv_area2[ids] = 1.0 / area2[ids]

    pixel_total = height * width
    z_buffer = np.full(pixel_total, -np.inf)
    triangle_buffer = np.full(pixel_total, -1, dtype=np.int64)
    bary_buffer = np.zeros((pixel_total, 2))                                    # weights of b and c

    # Chunks of consecutive triangles with at most CANDIDATES_PER_CHUNK candidates (one huge triangle alone).
    cumulative = np.cumsum(count[ids])
    start = 0
    while start < ids.size:
        base = cumulative[start - 1] if start else 0
        stop = int(np.searchsorted(cumulative, base + CANDIDATES_PER_CHUNK, side="right"))
        stop = max(stop, start + 1)
        chunk = ids[start:stop]
        start = stop

        n = count[chunk]
        tri = np.repeat(chunk, n)
        offsets = np.repeat(np.cumsum(n) - n, n)
        local = np.arange(tri.size, dtype=np.int64) - offsets
        bw = box_w[tri]
        row = row0[tri] + local // bw
        col = col0[tri] + local % bw
        px = col + 0.5 - a[tri, 0]
        py = row + 0.5 - a[tri, 1]
        inv = inv_area2[tri]
        wb = (px * ac[tri, 1] - py * ac[tri, 0]) * inv
        wc = (py * ab[tri, 0] - px * ab[tri, 1]) * inv
        inside = (wb >= -COVERAGE_EPSILON) & (wc >= -COVERAGE_EPSILON) & (1.0 - wb - wc >= -COVERAGE_EPSILON)
        tri, wb, wc = tri[inside], wb[inside], wc[inside]
        pixel = row[inside] * width + col[inside]
        z = (1.0 - wb - wc) * depth[faces[tri, 0]] + wb * depth[faces[tri, 1]] + wc * depth[faces[tri, 2]]

        # Nearest fragment per pixel within the chunk (largest depth, then lowest triangle index), by scatter
        # reductions (O(n), ~6x faster than sorting); a triangle gives at most one fragment per pixel.
        chunk_depth = np.full(pixel_total, -np.inf)
        np.maximum.at(chunk_depth, pixel, z)
        best = z == chunk_depth[pixel]
        chunk_triangle = np.full(pixel_total, np.iinfo(np.int64).max)
        np.minimum.at(chunk_triangle, pixel[best], tri[best])
        best &= tri == chunk_triangle[pixel]
        pixel, z, tri, wb, wc = pixel[best], z[best], tri[best], wb[best], wc[best]
        nearer = z > z_buffer[pixel]                                            # ties: earlier chunk wins
        pixel = pixel[nearer]
        z_buffer[pixel] = z[nearer]
        triangle_buffer[pixel] = tri[nearer]
        bary_buffer[pixel, 0] = wb[nearer]
        bary_buffer[pixel, 1] = wc[nearer]

    pixel_index = np.nonzero(triangle_buffer >= 0)[0]
    weights = bary_buffer[pixel_index]
    barycentric = np.stack([1.0 - weights[:, 0] - weights[:, 1], weights[:, 0], weights[:, 1]], axis=-1)
    return pixel_index.astype(np.int64), triangle_buffer[pixel_index].astype(np.int32), barycentric


def project_vertices(vertices: np.ndarray, world_to_pixel: np.ndarray) -> np.ndarray:
    """Photo pixel coordinates ``[u, v] = P @ [X, Y, Z, 1]`` of ``vertices [V, 3]`` -> ``[V, 2]`` float64.

    Raises ``ValueError`` when ``P`` is not ``3 x 4`` with last row ``[0, 0, 0, 1]`` and no dependence on
    world ``Z`` (the scaled-orthographic camera along ``-Z`` of :mod:`svfri.conventions`).
    """
    matrix = np.asarray(world_to_pixel, dtype=np.float64)
    if matrix.shape != (3, 4):
        raise ValueError(f"world_to_pixel must be 3 x 4, got {matrix.shape}")
    scale = float(np.abs(matrix[:2, :2]).max())
    if (not np.allclose(matrix[2], (0.0, 0.0, 0.0, 1.0))
            or np.abs(matrix[:2, 2]).max() > VIEW_AXIS_TOLERANCE * max(scale, 1.0)):
        raise ValueError("world_to_pixel must be a scaled-orthographic camera along -Z: "
                         "third column [0, 0, *] and last row [0, 0, 0, 1] (svfri.conventions)")
    vertices = np.ascontiguousarray(vertices, dtype=np.float64)    # strided input sends matmul to a slow path
    return vertices @ np.ascontiguousarray(matrix[:2, :3].T) + matrix[:2, 3]


def uv_to_texel(uv: np.ndarray, size: int) -> np.ndarray:
    """Texture coordinates ``(s, t)`` (``t`` up) -> texel-grid positions ``(x, y) = (s N, (1 - t) N)``.

    Texel ``(i, j)`` of an ``N x N`` map has its centre at ``(j + 0.5, i + 0.5)``, i.e. ``s = (j + 0.5) / N``,
    ``t = 1 - (i + 0.5) / N`` (:mod:`svfri.conventions`). ``[..., 2]`` -> ``[..., 2]`` float64.
    """
    uv = np.asarray(uv, dtype=np.float64)
    return np.stack([uv[..., 0] * size, (1.0 - uv[..., 1]) * size], axis=-1)


def interpolate(attributes: np.ndarray, faces: np.ndarray, triangle_id: np.ndarray,
                barycentric: np.ndarray) -> np.ndarray:
    """Barycentric interpolation ``sum_k b_k A[faces[tri, k]]`` of ``attributes [V, C]`` -> ``[N, C]``.

    Computed in the floating dtype of ``attributes`` (float64 for integer input).
    """
    attributes = np.asarray(attributes)
    if not np.issubdtype(attributes.dtype, np.floating):
        attributes = attributes.astype(np.float64)
    weights = np.asarray(barycentric, dtype=attributes.dtype)
    corner = np.asarray(faces)[triangle_id]                                     # [N, 3]
    result = weights[:, 0:1] * attributes[corner[:, 0]]
    result += weights[:, 1:2] * attributes[corner[:, 1]]
    result += weights[:, 2:3] * attributes[corner[:, 2]]
    return result


def _unit(vectors: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    length = np.linalg.norm(vectors, axis=-1, keepdims=True)
    ok = length > 0.0
    return np.where(ok, vectors / np.where(ok, length, 1.0), fallback)


def rasterize_gbuffer(vertices: np.ndarray, faces: np.ndarray, uv: np.ndarray, normals: np.ndarray,
                      tangents: np.ndarray, visibility_sh: np.ndarray, bent_normal: np.ndarray, *,
                      world_to_pixel: np.ndarray, height: int, width: int) -> GBuffer:
    """Rasterises the mesh into the photo and fills every field of :class:`svfri.geometry.gbuffer.GBuffer`.

    Per covered pixel centre: nearest triangle (largest world ``Z``), barycentrics ``b``, and ``sum_k b_k A_k``
    of each per-vertex attribute. Unit vectors are renormalised after interpolation: ``normal`` and
    ``bent_normal`` directly; the tangent is Gram-Schmidt orthogonalised against the interpolated normal then
    normalised, its handedness ``w`` is the sign of the interpolated ``w`` (``+1`` at exactly 0).
    ``visibility_sh`` is interpolated linearly (it is a linear function of ``V``). ``position`` is the exact
    surface point of the flat triangle.

    Args:
      vertices: ``[V, 3]`` world positions (cm).
      faces: ``[F, 3]`` int.
      uv: ``[V, 2]`` texture coordinates, ``t`` up.
      normals: ``[V, 3]`` unit vertex normals.
      tangents: ``[V, 4]`` tangent frames (:func:`svfri.geometry.mesh_ops.vertex_tangents`).
      visibility_sh: ``[V, 9]`` baked SH visibility (:func:`svfri.bake.visibility.bake_visibility`).
      bent_normal: ``[V, 3]`` unit bent normals.
      world_to_pixel: ``[3, 4]`` camera matrix, ``[u, v, 1] = P @ [X, Y, Z, 1]``.
      height, width: photo size in pixels.

    Returns:
      The :class:`GBuffer` (float32 fields, ``pixel_index`` int64, ``triangle_id`` int32).
    """
    vertices = np.asarray(vertices, dtype=np.float64)
    count = vertices.shape[0]
    for name, array, channels in (("uv", uv, 2), ("normals", normals, 3), ("tangents", tangents, 4),
                                  ("visibility_sh", visibility_sh, 9), ("bent_normal", bent_normal, 3)):
        if np.shape(array) != (count, channels):
            raise ValueError(f"{name} must be [{count}, {channels}] to match vertices, got {np.shape(array)}")
    screen = project_vertices(vertices, world_to_pixel)
    pixel_index, triangle_id, barycentric = rasterize_triangles(
        screen, vertices[:, 2], faces, height=height, width=width)

    f32 = np.float32
    packed = np.concatenate([vertices, uv, normals, tangents, visibility_sh, bent_normal],
                            axis=-1).astype(f32)                                   # [V, 24]
    values = interpolate(packed, faces, triangle_id, barycentric)
    position, uv_px, normal_raw, tangent_raw, handedness, vis, bent_raw = np.split(
        values, [3, 5, 8, 11, 12, 21], axis=-1)
    view = np.broadcast_to(np.array([0.0, 0.0, 1.0], dtype=f32), normal_raw.shape)
    normal = _unit(normal_raw, view)
    tangent = tangent_raw - normal * np.sum(normal * tangent_raw, axis=-1, keepdims=True)
    fallback = np.cross(normal, np.array([0.0, 1.0, 0.0], dtype=f32))
    fallback = _unit(fallback, np.broadcast_to(np.array([1.0, 0.0, 0.0], dtype=f32), normal.shape))
    tangent = _unit(tangent, fallback)
    sign = np.where(handedness < 0.0, f32(-1.0), f32(1.0))
    bent = _unit(bent_raw, normal)
    return GBuffer(
        height=int(height), width=int(width), pixel_index=pixel_index, triangle_id=triangle_id,
        barycentric=barycentric.astype(f32), position=position.astype(f32), uv=uv_px.astype(f32),
        normal=normal.astype(f32), tangent=np.concatenate([tangent, sign], axis=-1).astype(f32),
        visibility_sh=vis.astype(f32), bent_normal=bent.astype(f32))


def gbuffer_with_uv(gbuffer: GBuffer, faces: np.ndarray, uv: np.ndarray, tangents: np.ndarray,
                    keep_triangles: np.ndarray) -> GBuffer:
    """The pixels of ``gbuffer`` whose visible triangle is in ``keep_triangles``, with ``uv`` and ``tangent``
    re-interpolated from another UV set of the same mesh (same ``faces``; positions, normals and visibility kept).

    Used to give the fit a G-buffer in another texture layout without rasterising twice: visibility (which triangle
    is nearest) is the whole mesh's, so a dropped triangle still occludes what lies behind it.

    Args:
      gbuffer: rasterised with :func:`rasterize_gbuffer` from ``faces``.
      faces: ``[F, 3]`` the mesh's triangles.
      uv: ``[V, 2]`` the other texture coordinates (finite on the kept triangles' corners).
      tangents: ``[V, 4]`` tangent frames of ``uv``.
      keep_triangles: ``[F]`` bool.

    Returns:
      A :class:`GBuffer` of the kept pixels (``triangle_id`` still indexes ``faces``).
    """
    keep = np.asarray(keep_triangles, dtype=bool)[gbuffer.triangle_id]
    triangle_id, barycentric = gbuffer.triangle_id[keep], gbuffer.barycentric[keep].astype(np.float64)
    f32 = np.float32
    packed = np.concatenate([np.asarray(uv, np.float64), np.asarray(tangents, np.float64)], axis=-1)
    values = interpolate(packed, faces, triangle_id, barycentric)
    normal = gbuffer.normal[keep]
    tangent_raw, handedness = values[:, 2:5].astype(f32), values[:, 5:6]
    tangent = tangent_raw - normal * np.sum(normal * tangent_raw, axis=-1, keepdims=True)
    fallback = _unit(np.cross(normal, np.array([0.0, 1.0, 0.0], dtype=f32)),
                     np.broadcast_to(np.array([1.0, 0.0, 0.0], dtype=f32), normal.shape))
    tangent = _unit(tangent, fallback)
    sign = np.where(handedness < 0.0, f32(-1.0), f32(1.0))
    return GBuffer(height=gbuffer.height, width=gbuffer.width, pixel_index=gbuffer.pixel_index[keep],
                   triangle_id=triangle_id, barycentric=gbuffer.barycentric[keep], position=gbuffer.position[keep],
                   uv=values[:, :2].astype(f32), normal=normal,
                   tangent=np.concatenate([tangent, sign], axis=-1).astype(f32),
                   visibility_sh=gbuffer.visibility_sh[keep], bent_normal=gbuffer.bent_normal[keep])


def rasterize_uv(faces: np.ndarray, uv: np.ndarray, attributes: np.ndarray, *,
                 size: int) -> tuple[np.ndarray, np.ndarray]:
    """Rasterises per-vertex attributes into an ``size x size`` texture over the UV layout.

    Texel ``(i, j)`` holds the barycentric interpolation of ``attributes`` at its centre
    ``s = (j + 0.5) / size``, ``t = 1 - (i + 0.5) / size`` (row 0 is ``t`` near 1, :mod:`svfri.conventions`).
    Overlapping UV triangles (not expected: the layout is a seam-free disc) resolve to the lower index.

    Args:
      faces: ``[F, 3]`` int.
      uv: ``[V, 2]`` texture coordinates in ``[0, 1]``.
      attributes: ``[V, C]`` (or ``[V]``) per-vertex values.
      size: texture side in texels.

    Returns:
      ``image``: ``[size, size, C]`` float (float32, or float64 for float64 attributes), 0 where uncovered.
      ``mask``: ``[size, size]`` bool, texels whose centre lies in some UV triangle.
    """
    attributes = np.asarray(attributes)
    squeeze = attributes.ndim == 1
    values = attributes[:, None] if squeeze else attributes
    uv = np.asarray(uv, dtype=np.float64)
    if values.shape[0] != uv.shape[0]:
        raise ValueError(f"attributes have {values.shape[0]} rows but uv has {uv.shape[0]}")
    pixel_index, triangle_id, barycentric = rasterize_triangles(
        uv_to_texel(uv, size), np.zeros(uv.shape[0]), faces, height=size, width=size)
    dtype = np.float64 if values.dtype == np.float64 else np.float32
    image = np.zeros((size * size, values.shape[1]), dtype=dtype)
    image[pixel_index] = interpolate(values, faces, triangle_id, barycentric)
    mask = np.zeros(size * size, dtype=bool)
    mask[pixel_index] = True
    image = image.reshape(size, size, values.shape[1])
    return (image[..., 0] if squeeze else image), mask.reshape(size, size)
