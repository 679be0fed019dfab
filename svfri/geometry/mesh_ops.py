"""Per-vertex differential quantities of a triangle mesh: normals and UV tangent frames (numpy).

Meshes are plain arrays: ``vertices [V, 3]`` float (world space, cm, see :mod:`svfri.conventions`),
``faces [F, 3]`` int with counter-clockwise winding seen from outside (so the geometric normal
``(p1 - p0) x (p2 - p0)`` points out of the surface), ``uv [V, 2]`` float texture coordinates ``(s, t)``,
``t`` up. All functions are pure and return new arrays.
"""

from __future__ import annotations

import numpy as np

__all__ = ["closest_point_barycentrics", 
    "DEGENERATE_LENGTH", "NORMAL_WEIGHTINGS", "face_normals", "vertex_normals", "vertex_tangents",
]

#: Vectors shorter than this (in their own units) are treated as zero: degenerate faces, UV-less vertices.
DEGENERATE_LENGTH = 1e-12
#: Accepted values of ``vertex_normals(..., weighting=)``.
NORMAL_WEIGHTINGS = ("area", "angle")


def _normalize(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors along ``vectors [..., 3]`` and a ``[...]`` bool mask of the non-degenerate ones."""
    length = np.linalg.norm(vectors, axis=-1, keepdims=True)
    valid = length[..., 0] > DEGENERATE_LENGTH
    return vectors / np.where(length > DEGENERATE_LENGTH, length, 1.0), valid


def _any_perpendicular(normals: np.ndarray) -> np.ndarray:
    """A unit vector perpendicular to each unit vector in ``normals [N, 3]`` (fallback tangent)."""
    # Cross with the coordinate axis least aligned with the normal: never parallel.
    axis = np.zeros_like(normals)
    axis[np.arange(normals.shape[0]), np.argmin(np.abs(normals), axis=-1)] = 1.0
    return _normalize(np.cross(normals, axis))[0]


def face_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Unit geometric normals ``n_f = normalize((p1 - p0) x (p2 - p0))``.

    Args:
      vertices: ``[V, 3]`` float positions.
      faces: ``[F, 3]`` int vertex indices, counter-clockwise seen from the side the normal points to.

    Returns:
      ``[F, 3]`` float64 unit normals; zero vectors for degenerate (zero-area) faces.
    """
    p = np.asarray(vertices, dtype=np.float64)[np.asarray(faces)]
    unit, valid = _normalize(np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]))
    return np.where(valid[:, None], unit, 0.0)


def vertex_normals(vertices: np.ndarray, faces: np.ndarray, *, weighting: str = "area") -> np.ndarray:
    """Unit per-vertex normals, the weighted mean of the normals of the faces around each vertex.

    ``n_v = normalize(sum_{f ∋ v} w_f n_f)`` with

    * ``weighting="area"``: ``w_f n_f = (p1 - p0) x (p2 - p0) / 2`` (area weights, the classic
      Gouraud average; Max, "Weights for computing vertex normals from facet normals", JGT 1999, compares);
    * ``weighting="angle"``: ``w_f`` = the interior angle of face ``f`` at ``v`` (Thürmer & Wüthrich,
      "Computing vertex normals from polygonal facets", JGT 1998), independent of how faces are split.

    Args:
      vertices: ``[V, 3]`` float positions.
      faces: ``[F, 3]`` int, counter-clockwise seen from outside.
      weighting: ``"area"`` or ``"angle"``.

    Returns:
      ``[V, 3]`` float64 unit normals. Vertices used by no (non-degenerate) face get ``(0, 0, 1)``,
      the view direction, so that downstream code never sees a zero normal.
    """
    if weighting not in NORMAL_WEIGHTINGS:
        raise ValueError(f"weighting must be one of {NORMAL_WEIGHTINGS}, got {weighting!r}")
    vertices = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces)
    p = vertices[faces]                                              # [F, 3 corners, 3]
    cross = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])           # [F, 3], |cross| = 2 area
    if weighting == "area":
        contribution = np.repeat(cross[:, None, :], 3, axis=1)       # same for the three corners
    else:
        unit_face, _ = _normalize(cross)
        edge_next = np.roll(p, -1, axis=1) - p                       # corner k -> k+1
        edge_prev = np.roll(p, 1, axis=1) - p                        # corner k -> k-1
        edge_next, _ = _normalize(edge_next)
        edge_prev, _ = _normalize(edge_prev)
        angle = np.arccos(np.clip(np.sum(edge_next * edge_prev, axis=-1), -1.0, 1.0))   # [F, 3]
        contribution = angle[..., None] * unit_face[:, None, :]
    accumulated = np.zeros_like(vertices)
    for corner in range(3):
        np.add.at(accumulated, faces[:, corner], contribution[:, corner])
    unit, valid = _normalize(accumulated)
    unit[~valid] = (0.0, 0.0, 1.0)
    return unit


def vertex_tangents(vertices: np.ndarray, faces: np.ndarray, uv: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """Per-vertex tangent frames from the UV parameterisation, glTF layout ``[T_x, T_y, T_z, w]``.

    Lengyel's method (E. Lengyel, "Computing Tangent Space Basis Vectors for an Arbitrary Mesh", 2001;
    *Mathematics for 3D Game Programming and Computer Graphics*, 3rd ed., §7.8.3). For a face with
    edges ``e1 = p1 - p0``, ``e2 = p2 - p0`` and UV deltas ``(ds1, dt1)``, ``(ds2, dt2)``::

        r   = 1 / (ds1 dt2 - ds2 dt1)
        dP/ds = r (dt2 e1 - dt1 e2)        dP/dt = r (ds1 e2 - ds2 e1)

    The per-face ``dP/ds``, ``dP/dt`` are summed over the faces around each vertex (unnormalised, as in
    Lengyel), then Gram-Schmidt orthonormalised against the vertex normal ``N``::

        T = normalize(dP/ds - N (N . dP/ds)),   w = sign((N x T) . dP/dt)   (w = +1 when that is 0)

    so that the bitangent is ``B = w * cross(N, T)`` (glTF 2.0, ``TANGENT`` attribute; see
    :mod:`svfri.conventions`: ``T`` points along ``+s``, ``B`` along ``+t``).

    Args:
      vertices: ``[V, 3]`` float positions.
      faces: ``[F, 3]`` int.
      uv: ``[V, 2]`` float texture coordinates ``(s, t)``, ``t`` up.
      normals: ``[V, 3]`` unit vertex normals (e.g. :func:`vertex_normals`).

    Returns:
      ``[V, 4]`` float64: unit ``T`` orthogonal to ``N`` and ``w`` in ``{-1, +1}``. Where the UV map is
      degenerate around a vertex (zero UV area, or ``dP/ds`` parallel to ``N``), ``T`` is an arbitrary unit
      vector perpendicular to ``N`` and ``w = +1``.
    """
    vertices = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces)
    uv = np.asarray(uv, dtype=np.float64)
    normals = np.asarray(normals, dtype=np.float64)
    p = vertices[faces]
    q = uv[faces]
    e1, e2 = p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]
    d1, d2 = q[:, 1] - q[:, 0], q[:, 2] - q[:, 0]
    determinant = d1[:, 0] * d2[:, 1] - d2[:, 0] * d1[:, 1]
    safe = np.abs(determinant) > DEGENERATE_LENGTH
    r = np.where(safe, 1.0 / np.where(safe, determinant, 1.0), 0.0)[:, None]
    dp_ds = r * (d2[:, 1:2] * e1 - d1[:, 1:2] * e2)                      # [F, 3]
    dp_dt = r * (d1[:, 0:1] * e2 - d2[:, 0:1] * e1)                      # [F, 3]
    sum_ds = np.zeros_like(vertices)
    sum_dt = np.zeros_like(vertices)
    for corner in range(3):
        np.add.at(sum_ds, faces[:, corner], dp_ds)
        np.add.at(sum_dt, faces[:, corner], dp_dt)
    tangent, valid = _normalize(sum_ds - normals * np.sum(normals * sum_ds, axis=-1, keepdims=True))
    if not np.all(valid):
        tangent[~valid] = _any_perpendicular(normals[~valid])
    handedness = np.where(np.sum(np.cross(normals, tangent) * sum_dt, axis=-1) < 0.0, -1.0, 1.0)
    handedness[~valid] = 1.0
    return np.concatenate([tangent, handedness[:, None]], axis=-1)


def closest_point_barycentrics(points: np.ndarray, p0: np.ndarray, p1: np.ndarray, p2: np.ndarray) -> np.ndarray:
    """Barycentric coordinates ``[..., 3]`` of the closest point on triangle ``(p0, p1, p2)`` to each point (Ericson,
    *Real-Time Collision Detection*, 2005, 5.1.5: Voronoi regions of the vertices, then the edges, then the
    interior), vectorised over ``[..., 3]`` arrays that broadcast; a degenerate triangle gives ``1/3`` each.
    The closest point itself is ``b0 p0 + b1 p1 + b2 p2``."""
    ab, ac, ap = p1 - p0, p2 - p0, points - p0
    d1, d2 = (ab * ap).sum(-1), (ac * ap).sum(-1)
    bp = points - p1
    d3, d4 = (ab * bp).sum(-1), (ac * bp).sum(-1)
    cp = points - p2
    d5, d6 = (ab * cp).sum(-1), (ac * cp).sum(-1)
    va, vb, vc = d3 * d6 - d5 * d4, d5 * d2 - d1 * d6, d1 * d4 - d3 * d2
    with np.errstate(divide="ignore", invalid="ignore"):
        denominator = va + vb + vc
        v_in, w_in = vb / denominator, vc / denominator
        v_ab = d1 / (d1 - d3)
        w_ac = d2 / (d2 - d6)
        w_bc = (d4 - d3) / ((d4 - d3) + (d5 - d6))
    result = np.stack([1 - v_in - w_in, v_in, w_in], axis=-1)
    zero = np.zeros_like(d1)
    result = np.where(((va <= 0) & (d4 - d3 >= 0) & (d5 - d6 >= 0))[..., None],
                      np.stack([zero, 1 - w_bc, w_bc], -1), result)
    result = np.where(((vb <= 0) & (d2 >= 0) & (d6 <= 0))[..., None], np.stack([1 - w_ac, zero, w_ac], -1), result)
    result = np.where(((vc <= 0) & (d1 >= 0) & (d3 <= 0))[..., None], np.stack([1 - v_ab, v_ab, zero], -1), result)
    for condition, corner in (((d6 >= 0) & (d5 <= d6), (0.0, 0.0, 1.0)), ((d3 >= 0) & (d4 <= d3), (0.0, 1.0, 0.0)),
                              ((d1 <= 0) & (d2 <= 0), (1.0, 0.0, 0.0))):
        result = np.where(condition[..., None], np.asarray(corner), result)
    return np.nan_to_num(result, nan=1.0 / 3.0)
