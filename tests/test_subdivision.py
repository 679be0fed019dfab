"""Loop subdivision as a sparse operator: counts, affine invariance, known weights, boundary rules, convergence."""

import math

import numpy as np
import pytest
import trimesh

from svfri.geometry.subdivision import (boundary_vertex_mask, loop_beta, loop_subdivision_operator, mesh_edges,
                                        midpoint_subdivision_operator, subdivision_operator)


def _icosphere():
    sphere = trimesh.creation.icosphere(subdivisions=0)
    return np.asarray(sphere.vertices, dtype=np.float64), np.asarray(sphere.faces, dtype=np.int64)


def _grid(n=5, jitter=0.0, seed=0):
    """A triangulated n x n planar grid (a disc with boundary) in the plane z = 0.3 x - 0.2 y + 1."""
    rng = np.random.default_rng(seed)
    ys, xs = np.meshgrid(np.arange(n, dtype=float), np.arange(n, dtype=float), indexing="ij")
    xy = np.stack([xs.ravel(), ys.ravel()], axis=1) + jitter * rng.uniform(-1, 1, (n * n, 2))
    vertices = np.column_stack([xy, 0.3 * xy[:, 0] - 0.2 * xy[:, 1] + 1.0])
    faces = []
    for i in range(n - 1):
        for j in range(n - 1):
            a, b, c, d = i * n + j, i * n + j + 1, (i + 1) * n + j, (i + 1) * n + j + 1
            faces += [(a, b, d), (a, d, c)]
    return vertices, np.asarray(faces)


def test_icosphere_counts_and_euler():
    vertices, faces = _icosphere()
    operator, new_faces = loop_subdivision_operator(faces, len(vertices))
    assert operator.shape == (12 + 30, 12)
    assert new_faces.shape == (80, 3)
    composed, faces2 = subdivision_operator(faces, 12, levels=2)
    assert composed.shape == (162, 12) and faces2.shape == (320, 3)
    edges, _ = mesh_edges(faces2)
    assert 162 - len(edges) + 320 == 2                   # closed sphere stays genus 0


def test_rows_sum_to_one_and_weights_non_negative():
    vertices, faces = _icosphere()
    composed, _ = subdivision_operator(faces, 12, levels=3)
    np.testing.assert_allclose(np.asarray(composed.sum(axis=1)).ravel(), 1.0, atol=1e-12)
    assert composed.data.min() >= 0.0


def test_known_weights_on_icosahedron():
    # Every icosahedron vertex has valence 5: centre weight 1 - 5 beta(5), neighbours beta(5).
    beta5 = (5 / 8 - (3 / 8 + math.cos(2 * math.pi / 5) / 4) ** 2) / 5
    assert loop_beta(np.array(5)) == pytest.approx(beta5)
    assert loop_beta(np.array(6)) == pytest.approx(1 / 16)
    vertices, faces = _icosphere()
    operator, _ = loop_subdivision_operator(faces, 12)
    row = operator[0].toarray().ravel()
    assert row[0] == pytest.approx(1 - 5 * beta5)
    assert sorted(row[row > 0])[:5] == pytest.approx([beta5] * 5)
    edge_rows = operator[12:].toarray()
    np.testing.assert_allclose(np.sort(edge_rows, axis=1)[:, -4:], np.tile([1 / 8, 1 / 8, 3 / 8, 3 / 8], (30, 1)))
    assert np.count_nonzero(edge_rows, axis=1).max() == 4


def test_convex_shape_moves_inward_and_converges_to_limit_points():
    # Loop's limit position of a control vertex of valence n (Loop 1987; e.g. Hoppe et al. 1994, eq. for
    # "limit masks"): (1 - n g) v + g sum(neighbours), g = 1 / (n + 3 / (8 beta(n))).
    vertices, faces = _icosphere()
    edges, _ = mesh_edges(faces)
    neighbours = [np.concatenate([edges[edges[:, 0] == i, 1], edges[edges[:, 1] == i, 0]]) for i in range(12)]
    limit = np.empty_like(vertices)
    for i, ring in enumerate(neighbours):
        n = len(ring)
        g = 1.0 / (n + 3.0 / (8.0 * loop_beta(np.array(n))))
        limit[i] = (1 - n * g) * vertices[i] + g * vertices[ring].sum(axis=0)
    errors, max_radius = [], [1.0]
    for levels in range(1, 6):
        composed, _ = subdivision_operator(faces, 12, levels=levels)
        fine = composed @ vertices
        errors.append(np.abs(fine[:12] - limit).max())
        max_radius.append(np.linalg.norm(fine, axis=1).max())
    assert all(later < earlier for earlier, later in zip(max_radius, max_radius[1:]))    # moves inward
    assert all(later < 0.5 * earlier for earlier, later in zip(errors, errors[1:]))      # geometric convergence
    assert errors[-1] < 1e-3


def test_planar_mesh_stays_planar_and_affine_invariance():
    vertices, faces = _grid(jitter=0.2)
    composed, _ = subdivision_operator(faces, len(vertices), levels=2)
    fine = composed @ vertices
    np.testing.assert_allclose(fine[:, 2], 0.3 * fine[:, 0] - 0.2 * fine[:, 1] + 1.0, atol=1e-12)
    rng = np.random.default_rng(1)
    matrix, offset = rng.normal(size=(3, 3)), rng.normal(size=3)
    np.testing.assert_allclose(composed @ (vertices @ matrix.T + offset), fine @ matrix.T + offset, atol=1e-10)


def test_boundary_vertices_depend_only_on_boundary_vertices():
    vertices, faces = _grid(n=6)
    operator, new_faces = loop_subdivision_operator(faces, len(vertices))
    boundary = boundary_vertex_mask(faces, len(vertices))
    new_boundary = boundary_vertex_mask(new_faces, operator.shape[0])
    rows = operator[np.where(new_boundary)[0]]
    assert not np.any(rows[:, ~boundary].toarray())
    # boundary vertex rule 1/8, 3/4, 1/8 and boundary edge rule 1/2, 1/2
    corner_free = np.where(boundary)[0][1]
    weights = np.sort(operator[corner_free].data)
    np.testing.assert_allclose(weights, [1 / 8, 1 / 8, 3 / 4])
    edges, face_edges = mesh_edges(faces)
    on_rim = np.bincount(face_edges.ravel(), minlength=len(edges)) == 1
    boundary_edge_rows = operator[len(vertices):][on_rim].toarray()
    assert np.count_nonzero(boundary_edge_rows, axis=1).max() == 2
    np.testing.assert_allclose(np.sort(boundary_edge_rows, axis=1)[:, -2:], 0.5)


def test_orientation_preserved():
    vertices, faces = _icosphere()
    composed, fine_faces = subdivision_operator(faces, 12, levels=2)
    fine = composed @ vertices
    p = fine[fine_faces]
    normals = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    assert np.all(np.einsum("ij,ij->i", normals, p.mean(axis=1)) > 0)   # outward, as the input


def test_midpoint_operator_is_linear_interpolation():
    vertices, faces = _grid(n=4, jitter=0.3)
    operator, fine_faces = midpoint_subdivision_operator(faces, len(vertices))
    _, loop_faces = loop_subdivision_operator(faces, len(vertices))
    np.testing.assert_array_equal(fine_faces, loop_faces)
    fine = operator @ vertices
    np.testing.assert_array_equal(fine[: len(vertices)], vertices)
    edges, _ = mesh_edges(faces)
    np.testing.assert_allclose(fine[len(vertices):], 0.5 * (vertices[edges[:, 0]] + vertices[edges[:, 1]]))


def test_rejects_non_manifold():
    with pytest.raises(ValueError):
        loop_subdivision_operator(np.array([[0, 1, 2], [0, 1, 3], [0, 1, 4]]), 5)
    with pytest.raises(ValueError):
        subdivision_operator(np.array([[0, 1, 2]]), 3, levels=1, scheme="catmull")
