"""Vertex normals and UV tangent frames against closed-form meshes."""

import numpy as np
import pytest
import trimesh

from svfri.geometry.mesh_ops import face_normals, vertex_normals, vertex_tangents


def grid(n=6, size=2.0):
    """A flat ``n x n`` vertex grid in the plane z = 0, counter-clockwise seen from +Z."""
    xs = np.linspace(-size / 2, size / 2, n)
    x, y = np.meshgrid(xs, xs)
    vertices = np.stack([x.ravel(), y.ravel(), np.zeros(n * n)], axis=-1)
    faces = []
    for i in range(n - 1):
        for j in range(n - 1):
            a, b, c, d = i * n + j, i * n + j + 1, (i + 1) * n + j, (i + 1) * n + j + 1
            faces += [[a, b, d], [a, d, c]]
    return vertices, np.array(faces)


@pytest.mark.parametrize("weighting", ["area", "angle"])
def test_plane_normals_point_up(weighting):
    vertices, faces = grid()
    np.testing.assert_allclose(vertex_normals(vertices, faces, weighting=weighting),
                               np.tile([0.0, 0.0, 1.0], (len(vertices), 1)), atol=1e-12)


def test_corner_weights_golden():
    # Vertex 0 shared by a face in z = 0 (normal +Z, area 1/2, angle 90 deg) and a face in x = 0
    # (normal +X, area 1, angle 90 deg).
    vertices = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 2]], dtype=float)
    faces = np.array([[0, 1, 2], [0, 2, 3]])
    np.testing.assert_allclose(face_normals(vertices, faces), [[0, 0, 1], [1, 0, 0]], atol=1e-12)
    area = vertex_normals(vertices, faces, weighting="area")[0]
    angle = vertex_normals(vertices, faces, weighting="angle")[0]
    np.testing.assert_allclose(area, np.array([1.0, 0.0, 0.5]) / np.sqrt(1.25), atol=1e-12)
    np.testing.assert_allclose(angle, np.array([1.0, 0.0, 1.0]) / np.sqrt(2.0), atol=1e-12)


def test_sphere_normals_are_radial_and_unreferenced_vertex_gets_view_direction():
    mesh = trimesh.creation.icosphere(subdivisions=3, radius=3.0)
    vertices = np.vstack([mesh.vertices, [[10.0, 0.0, 0.0]]])       # one vertex in no face
    normals = vertex_normals(vertices, mesh.faces)
    radial = mesh.vertices / np.linalg.norm(mesh.vertices, axis=1, keepdims=True)
    assert np.max(np.linalg.norm(normals[:-1] - radial, axis=1)) < 0.02
    np.testing.assert_allclose(normals[-1], [0.0, 0.0, 1.0])


@pytest.mark.parametrize("mirror", [1.0, -1.0])
def test_plane_tangents_follow_affine_uv(mirror):
    vertices, faces = grid()
    # uv = A @ (x, y) + offset; dP/ds is the first column of A^-1 (in the plane).
    matrix = np.array([[0.3 * mirror, 0.1], [-0.05, 0.25]])
    uv = vertices[:, :2] @ matrix.T + 0.5
    normals = vertex_normals(vertices, faces)
    frames = vertex_tangents(vertices, faces, uv, normals)
    inverse = np.linalg.inv(matrix)
    dp_ds = np.array([inverse[0, 0], inverse[1, 0], 0.0])
    dp_dt = np.array([inverse[0, 1], inverse[1, 1], 0.0])
    expected_t = dp_ds / np.linalg.norm(dp_ds)
    np.testing.assert_allclose(frames[:, :3], np.tile(expected_t, (len(vertices), 1)), atol=1e-9)
    # Handedness: B = w (N x T) must point along dP/dt (the +t direction).
    w = np.sign(np.dot(np.cross([0.0, 0.0, 1.0], expected_t), dp_dt))
    assert w == (1.0 if mirror > 0 else -1.0)
    np.testing.assert_array_equal(frames[:, 3], w)


def test_sphere_tangents_are_orthonormal_and_follow_longitude():
    mesh = trimesh.creation.uv_sphere(radius=2.0, count=[24, 32])
    vertices = np.asarray(mesh.vertices)
    unit = vertices / np.linalg.norm(vertices, axis=1, keepdims=True)
    # Orthographic UV from the front: s = (x/r + 1)/2, t = (y/r + 1)/2.
    uv = 0.5 * (unit[:, :2] + 1.0)
    normals = vertex_normals(vertices, mesh.faces)
    frames = vertex_tangents(vertices, mesh.faces, uv, normals)
    np.testing.assert_allclose(np.linalg.norm(frames[:, :3], axis=1), 1.0, atol=1e-12)
    assert np.max(np.abs(np.sum(frames[:, :3] * normals, axis=1))) < 1e-12
    # On the front cap (z > 0.5) the projection is well conditioned. With (x, y) = r (2 s - 1, 2 t - 1) and
    # z = sqrt(r^2 - x^2 - y^2): dP/ds = 2 r (1, 0, -x / z), parallel to (n_z, 0, -n_x); w = +1.
    front = unit[:, 2] > 0.5
    analytic = np.stack([unit[front, 2], np.zeros(front.sum()), -unit[front, 0]], axis=-1)
    analytic /= np.linalg.norm(analytic, axis=1, keepdims=True)
    assert np.min(np.sum(frames[front, :3] * analytic, axis=1)) > 0.995
    assert np.all(frames[front, 3] == 1.0)
    # On the back cap the orthographic projection is mirrored: w = -1.
    assert np.all(frames[unit[:, 2] < -0.5, 3] == -1.0)


def test_degenerate_uv_gives_perpendicular_unit_tangent():
    vertices, faces = grid(4)
    normals = vertex_normals(vertices, faces)
    frames = vertex_tangents(vertices, faces, np.zeros((len(vertices), 2)), normals)
    assert np.all(np.isfinite(frames))
    np.testing.assert_allclose(np.linalg.norm(frames[:, :3], axis=1), 1.0)
    np.testing.assert_allclose(np.sum(frames[:, :3] * normals, axis=1), 0.0, atol=1e-12)
    np.testing.assert_array_equal(frames[:, 3], 1.0)


def test_rejects_unknown_weighting():
    vertices, faces = grid(3)
    with pytest.raises(ValueError, match="weighting"):
        vertex_normals(vertices, faces, weighting="uniform")
