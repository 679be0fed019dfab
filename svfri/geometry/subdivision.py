"""Loop subdivision of triangle meshes (with boundary) as sparse linear operators (numpy / scipy.sparse).

One level of Loop subdivision (C. Loop, "Smooth subdivision surfaces based on triangles", MSc thesis,
University of Utah, 1987) splits every triangle into four and computes the new positions as fixed linear
combinations of the old ones, so a level is a sparse matrix ``S [V + E, V]``: ``vertices_new = S @ vertices``.
Several levels compose into one matrix, which is how svfri subdivides every fitted mesh at run time.

Rules (``n`` = valence of an interior vertex, ``beta(n) = (5/8 - (3/8 + cos(2 pi / n) / 4)^2) / n``):

* interior **vertex point**: ``(1 - n beta) v + beta * sum(neighbours)``;
* interior **edge point** of edge ``(a, b)`` with opposite vertices ``c, d``: ``3/8 (a + b) + 1/8 (c + d)``;
* **boundary** (the standard crease rules, Hoppe et al., "Piecewise smooth surface reconstruction",
  SIGGRAPH 1994): boundary edge point ``(a + b) / 2``, boundary vertex point ``3/4 v + 1/8 (b0 + b1)`` with
  ``b0, b1`` its two boundary neighbours (a cubic B-spline along the boundary curve, which depends on boundary
  vertices only). Simplification: Hoppe et al.'s modified weights for interior edges next to irregular crease
  vertices (and Biermann et al. 2000's improvements) are not applied; the surface is C1 away from the
  boundary and the extraordinary vertices, as in standard Loop.

Ordering of the new vertices: the ``V`` old vertices keep their indices (moved to their vertex points),
followed by one vertex per edge in the order of :func:`mesh_edges`. Each face ``(a, b, c)`` becomes
``(a, ab, ca), (ab, b, bc), (ca, bc, c), (ab, bc, ca)`` in that order (``4 f .. 4 f + 3``), which keeps the
winding of the input.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse

__all__ = [
    "mesh_edges", "loop_beta", "loop_subdivision_operator", "midpoint_subdivision_operator",
    "subdivision_operator", "boundary_vertex_mask",
]


def mesh_edges(faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique undirected edges of a triangle mesh and, per face corner, the index of the edge leaving it.

    Args:
      faces: ``[F, 3]`` int vertex indices.

    Returns:
      ``edges [E, 2]`` int with ``edges[:, 0] < edges[:, 1]``, sorted lexicographically, and
      ``face_edges [F, 3]`` int: ``face_edges[f, k]`` is the index of edge ``(faces[f, k], faces[f, (k+1) % 3])``.
    """
    faces = np.asarray(faces, dtype=np.int64)
    directed = np.stack([faces, np.roll(faces, -1, axis=1)], axis=-1).reshape(-1, 2)   # [3F, 2]
    undirected = np.sort(directed, axis=1)
    edges, inverse = np.unique(undirected, axis=0, return_inverse=True)
    return edges, inverse.reshape(-1, 3)


def loop_beta(valence: np.ndarray) -> np.ndarray:
    """Loop's interior vertex weight ``beta(n) = (5/8 - (3/8 + cos(2 pi / n) / 4)^2) / n`` (Loop 1987).

    ``beta(6) = 1/16``, the regular case. Args: ``valence [...]`` int >= 3. Returns float64 ``[...]``.
    """
    n = np.asarray(valence, dtype=np.float64)
    return (5.0 / 8.0 - (3.0 / 8.0 + 0.25 * np.cos(2.0 * math.pi / n)) ** 2) / n


def boundary_vertex_mask(faces: np.ndarray, vertex_count: int) -> np.ndarray:
    """``[vertex_count]`` bool: vertices on an edge used by exactly one face."""
    edges, face_edges = mesh_edges(faces)
    uses = np.bincount(face_edges.ravel(), minlength=len(edges))
    mask = np.zeros(vertex_count, dtype=bool)
    mask[edges[uses == 1].ravel()] = True
    return mask


def _check_mesh(faces: np.ndarray, vertex_count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    faces = np.asarray(faces, dtype=np.int64)
    if faces.ndim != 2 or faces.shape[1] != 3:
        raise ValueError(f"faces must be [F, 3], got {faces.shape}")
    if faces.size and (faces.min() < 0 or faces.max() >= vertex_count):
        raise ValueError(f"face indices must lie in [0, {vertex_count})")
    edges, face_edges = mesh_edges(faces)
    uses = np.bincount(face_edges.ravel(), minlength=len(edges))
    if np.any(uses > 2):
        raise ValueError("non-manifold mesh: an edge is used by more than two faces")
    return faces, edges, face_edges


def _split_faces(faces: np.ndarray, face_edges: np.ndarray, vertex_count: int) -> np.ndarray:
    """The 1-to-4 split of every face (see the module docstring), new edge vertices numbered after the old."""
    a, b, c = faces[:, 0], faces[:, 1], faces[:, 2]
    ab, bc, ca = (face_edges[:, 0] + vertex_count, face_edges[:, 1] + vertex_count,
                  face_edges[:, 2] + vertex_count)
    new = np.stack([np.stack([a, ab, ca], 1), np.stack([ab, b, bc], 1), np.stack([ca, bc, c], 1),
                    np.stack([ab, bc, ca], 1)], axis=1)
    return new.reshape(-1, 3)


def loop_subdivision_operator(faces: np.ndarray, vertex_count: int
                              ) -> tuple[scipy.sparse.csr_matrix, np.ndarray]:
    """One level of Loop subdivision as a sparse matrix.

    Args:
      faces: ``[F, 3]`` int, a manifold triangle mesh (each edge in one or two faces), possibly with boundary.
      vertex_count: ``V``, the number of vertices the faces index.

    Returns:
      ``S``: ``[V + E, V]`` float64 CSR; ``vertices_new = S @ vertices`` for any per-vertex attribute
      ``[V, k]``. Every row sums to 1 (affine invariance). ``faces_new``: ``[4 F, 3]`` int.

    Raises:
      ValueError: faces malformed or non-manifold.
    """
    faces, edges, face_edges = _check_mesh(faces, vertex_count)
    edge_count = len(edges)
    uses = np.bincount(face_edges.ravel(), minlength=edge_count)
    is_boundary_edge = uses == 1
    is_boundary_vertex = np.zeros(vertex_count, dtype=bool)
    is_boundary_vertex[edges[is_boundary_edge].ravel()] = True

    rows, cols, vals = [], [], []

    # Edge points. Opposite vertex of each (face, corner k) edge is faces[f, (k + 2) % 3].
    opposite = np.roll(faces, -2, axis=1).ravel()       # [3F] opposite vertex of edge face_edges.ravel()
    edge_ids = face_edges.ravel()
    interior_corner = ~is_boundary_edge[edge_ids]
    row_offset = vertex_count
    # endpoints: 3/8 each (interior) or 1/2 each (boundary)
    end_weight = np.where(is_boundary_edge, 0.5, 3.0 / 8.0)
    for k in range(2):
        rows.append(row_offset + np.arange(edge_count))
        cols.append(edges[:, k])
        vals.append(end_weight)
    rows.append(row_offset + edge_ids[interior_corner])
    cols.append(opposite[interior_corner])
    vals.append(np.full(int(interior_corner.sum()), 1.0 / 8.0))

    # Vertex points. Neighbours through the unique edges.
    neighbour_rows = np.concatenate([edges[:, 0], edges[:, 1]])
    neighbour_cols = np.concatenate([edges[:, 1], edges[:, 0]])
    neighbour_boundary = np.concatenate([is_boundary_edge, is_boundary_edge])
    valence = np.bincount(neighbour_rows, minlength=vertex_count)
    beta = loop_beta(np.maximum(valence, 3))
    interior_link = ~is_boundary_vertex[neighbour_rows]
    rows.append(neighbour_rows[interior_link])
    cols.append(neighbour_cols[interior_link])
    vals.append(beta[neighbour_rows[interior_link]])
    boundary_link = is_boundary_vertex[neighbour_rows] & neighbour_boundary
    rows.append(neighbour_rows[boundary_link])
    cols.append(neighbour_cols[boundary_link])
    vals.append(np.full(int(boundary_link.sum()), 1.0 / 8.0))
    centre = np.where(is_boundary_vertex, 3.0 / 4.0, 1.0 - valence * beta)
    used = valence > 0
    centre = np.where(used, centre, 1.0)                   # isolated vertices are copied
    rows.append(np.arange(vertex_count))
    cols.append(np.arange(vertex_count))
    vals.append(centre)

    matrix = scipy.sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(vertex_count + edge_count, vertex_count))
    matrix.sum_duplicates()
    return matrix, _split_faces(faces, face_edges, vertex_count)


def midpoint_subdivision_operator(faces: np.ndarray, vertex_count: int
                                  ) -> tuple[scipy.sparse.csr_matrix, np.ndarray]:
    """One level of linear (midpoint) 1-to-4 subdivision with the same topology and ordering as Loop's.

    Old vertices are copied, edge points are ``(a + b) / 2``: the subdivided attribute stays piecewise linear
    over the input triangles (used for UVs: each new vertex gets the parameter of the point it refines).

    Returns: ``S [V + E, V]`` float64 CSR (rows sum to 1) and ``faces_new [4 F, 3]``.
    """
    faces, edges, face_edges = _check_mesh(faces, vertex_count)
    edge_count = len(edges)
    rows = np.concatenate([np.arange(vertex_count), vertex_count + np.arange(edge_count),
                           vertex_count + np.arange(edge_count)])
    cols = np.concatenate([np.arange(vertex_count), edges[:, 0], edges[:, 1]])
    vals = np.concatenate([np.ones(vertex_count), np.full(2 * edge_count, 0.5)])
    matrix = scipy.sparse.csr_matrix((vals, (rows, cols)), shape=(vertex_count + edge_count, vertex_count))
    return matrix, _split_faces(faces, face_edges, vertex_count)


def subdivision_operator(faces: np.ndarray, vertex_count: int, *, levels: int, scheme: str = "loop"
                         ) -> tuple[scipy.sparse.csr_matrix, np.ndarray]:
    """``levels`` levels of ``scheme`` (``"loop"`` or ``"midpoint"``) composed into one ``[V_levels, V]`` CSR.

    Returns the composed operator (``S_levels @ ... @ S_1``) and the faces of the finest level.
    """
    if levels < 0:
        raise ValueError(f"levels must be >= 0, got {levels}")
    step = {"loop": loop_subdivision_operator, "midpoint": midpoint_subdivision_operator}.get(scheme)
    if step is None:
        raise ValueError(f"scheme must be 'loop' or 'midpoint', got {scheme!r}")
    total = scipy.sparse.identity(vertex_count, format="csr", dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64)
    for _ in range(levels):
        matrix, faces = step(faces, total.shape[0])
        total = (matrix @ total).tocsr()
    total.sort_indices()
    return total, faces
