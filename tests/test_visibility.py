"""SH visibility and bent normals against closed forms: convex sphere (nothing occluded) and a spherical bowl,
where the visible set is exactly the solid angle of the rim polygon."""

import math

import numpy as np
import pytest
import trimesh

from svfri.bake.rays import any_hit, embree_available
from svfri.bake.visibility import bake_visibility, hemisphere_fibonacci, orthonormal_frames
from svfri.geometry.mesh_ops import vertex_normals
from svfri.math.sh import sh_basis_np

needs_embree = pytest.mark.skipif(not embree_available(), reason="embreex not installed")


def bowl(rings=10, segments=32, radius=1.0):
    """Lower hemisphere (z <= 0) of a sphere, open at the rim z = 0, wound so that normals point inward."""
    polar = np.linspace(math.pi / 2, math.pi, rings + 1)[:-1]                  # from +Z; row 0 is the rim
    azimuth = 2 * math.pi * np.arange(segments) / segments
    rows = np.stack([np.sin(polar)[:, None] * np.cos(azimuth), np.sin(polar)[:, None] * np.sin(azimuth),
                     np.cos(polar)[:, None] * np.ones_like(azimuth)], axis=-1).reshape(-1, 3)
    vertices = radius * np.vstack([rows, [[0.0, 0.0, -1.0]]])
    index = lambda r, s: r * segments + s % segments  # noqa: E731
    faces = []
    for r in range(rings - 1):
        for s in range(segments):
            a, b, c, d = index(r, s), index(r, s + 1), index(r + 1, s), index(r + 1, s + 1)
            faces += [[a, b, c], [b, d, c]]
    faces += [[index(rings - 1, s), index(rings - 1, s + 1), len(vertices) - 1] for s in range(segments)]
    return vertices, np.array(faces), vertices[:segments]


def polygon_solid_angle_and_vector(point, polygon):
    """Solid angle of a planar convex polygon seen from ``point`` (Van Oosterom & Strackee 1983, fan from the
    centroid) and ``int w dw`` over it (Arvo 1995, "Applications of irradiance tensors": 1/2 sum theta_e u_e)."""
    centre = polygon.mean(axis=0)
    omega = 0.0
    vector = np.zeros(3)
    for k in range(len(polygon)):
        a, b, c = centre - point, polygon[k] - point, polygon[(k + 1) % len(polygon)] - point
        la, lb, lc = (np.linalg.norm(v) for v in (a, b, c))
        numerator = abs(np.dot(a, np.cross(b, c)))
        denominator = la * lb * lc + np.dot(a, b) * lc + np.dot(a, c) * lb + np.dot(b, c) * la
        omega += 2.0 * math.atan2(numerator, denominator)
        ub, uc = b / lb, c / lc
        normal = np.cross(ub, uc)
        vector += 0.5 * math.atan2(np.linalg.norm(normal), np.dot(ub, uc)) * normal / np.linalg.norm(normal)
    return omega, vector


def test_direction_lattice_is_uniform_on_the_hemisphere():
    directions = hemisphere_fibonacci(512)
    np.testing.assert_allclose(np.linalg.norm(directions, axis=1), 1.0)
    assert np.all(directions[:, 2] > 0)
    # int_hemisphere z dw = pi, int x^2 dw = 2 pi / 3.
    assert abs(2 * math.pi * directions[:, 2].mean() - math.pi) < 1e-5
    assert abs(2 * math.pi * np.mean(directions[:, 0] ** 2) - 2 * math.pi / 3) < 5e-3
    normals = np.random.default_rng(1).normal(size=(50, 3))
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    t1, t2 = orthonormal_frames(normals)
    np.testing.assert_allclose(np.cross(t1, t2), normals, atol=1e-12)
    np.testing.assert_allclose(np.sum(t1 * normals, axis=1), 0.0, atol=1e-12)


@pytest.mark.parametrize("backend", ["auto", "numpy"])
def test_any_hit_single_triangle(backend):
    vertices = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    faces = np.array([[0, 1, 2]])
    origins = np.array([[0.2, 0.2, 1.0], [0.2, 0.2, 1.0], [0.8, 0.8, 1.0], [0.2, 0.2, -1.0], [0.2, 0.2, 1.0]])
    directions = np.array([[0, 0, -1.0], [0, 0, 1.0], [0, 0, -1.0], [0, 0, 1.0], [0, 0, -1.0]])
    limits = np.array([np.inf, np.inf, np.inf, np.inf, 0.5])                    # last one stops short
    hit = any_hit(origins, directions, vertices, faces, max_distance=limits, backend=backend)
    np.testing.assert_array_equal(hit, [True, False, False, True, False])


def test_convex_sphere_matches_closed_form_hemisphere():
    mesh = trimesh.creation.icosphere(subdivisions=3, radius=5.0)
    normals = vertex_normals(mesh.vertices, mesh.faces)
    visibility, bent = bake_visibility(mesh.vertices, mesh.faces, normals, ray_count=128, seed=3)
    # Hemisphere indicator around n: zonal (sqrt(pi), sqrt(3 pi)/2, 0), rotated to n; band 1 = (n_y, n_z, n_x).
    expected = np.zeros((len(normals), 9))
    expected[:, 0] = math.sqrt(math.pi)
    expected[:, 1:4] = math.sqrt(3 * math.pi) / 2 * normals[:, [1, 2, 0]]
    np.testing.assert_allclose(visibility[:, 0], expected[:, 0], rtol=1e-5)    # every ray escapes
    assert np.max(np.abs(visibility[:, 1:4] - expected[:, 1:4])) < 0.03
    assert np.max(np.abs(visibility[:, 4:])) < 0.04
    assert np.max(np.linalg.norm(bent - normals, axis=1)) < 5e-3
    # Cross-check the projection against an independent quadrature of the closed-form hemisphere indicator.
    directions = np.random.default_rng(0).normal(size=(200_000, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    indicator = (directions @ normals[7] > 0).astype(float)
    reference = 4 * math.pi * np.mean(indicator[:, None] * sh_basis_np(directions), axis=0)
    np.testing.assert_allclose(expected[7], reference, atol=0.02)


@needs_embree
def test_bowl_visibility_is_the_rim_polygon_solid_angle():
    vertices, faces, rim = bowl()
    normals = vertex_normals(vertices, faces)
    visibility, bent = bake_visibility(vertices, faces, normals, ray_count=512, seed=0)
    inner = np.nonzero(vertices[:, 2] < -0.2)[0]                                # away from the rim
    errors0, errors1 = [], []
    for index in inner:
        omega, vector = polygon_solid_angle_and_vector(vertices[index], rim)
        vector = vector if vector[2] > 0 else -vector                            # orientation of the fan
        errors0.append(visibility[index, 0] - omega / (2 * math.sqrt(math.pi)))  # Y_0 = 1 / (2 sqrt(pi))
        band1 = math.sqrt(3 / (4 * math.pi)) * vector[[1, 2, 0]]
        errors1.append(np.max(np.abs(visibility[index, 1:4] - band1)))
    assert np.max(np.abs(errors0)) < 0.04
    assert abs(np.mean(errors0)) < 0.01                                          # no bias
    assert np.max(errors1) < 0.05
    assert np.all(visibility[inner, 0] < 0.5 * math.sqrt(math.pi))      # unoccluded: sqrt(pi)
    # Bent normals on the wall lean towards the opening (+Z); at the bottom pole they stay on the axis.
    wall = np.nonzero((vertices[:, 2] < -0.2) & (vertices[:, 2] > -0.95))[0]
    assert np.all(bent[wall, 2] > normals[wall, 2] + 0.02)
    np.testing.assert_allclose(np.linalg.norm(bent, axis=1), 1.0, rtol=1e-5)


@needs_embree
def test_backends_agree_on_a_small_bowl():
    vertices, faces, _ = bowl(rings=4, segments=10, radius=3.0)
    normals = vertex_normals(vertices, faces)
    fast = bake_visibility(vertices, faces, normals, ray_count=48, seed=5, backend="embree")
    slow = bake_visibility(vertices, faces, normals, ray_count=48, seed=5, backend="numpy")
    np.testing.assert_allclose(fast[0], slow[0], atol=1e-5)
    np.testing.assert_allclose(fast[1], slow[1], atol=1e-5)


def test_seed_is_deterministic():
    vertices, faces, _ = bowl(rings=3, segments=8)
    normals = vertex_normals(vertices, faces)
    first = bake_visibility(vertices, faces, normals, ray_count=16, seed=11)
    again = bake_visibility(vertices, faces, normals, ray_count=16, seed=11)
    other = bake_visibility(vertices, faces, normals, ray_count=16, seed=12)
    np.testing.assert_array_equal(first[0], again[0])
    assert not np.array_equal(first[0], other[0])


def test_rejects_bad_shapes():
    with pytest.raises(ValueError, match="normals"):
        bake_visibility(np.zeros((4, 3)), np.array([[0, 1, 2]]), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="backend"):
        any_hit(np.zeros((1, 3)), np.ones((1, 3)), np.eye(3), np.array([[0, 1, 2]]), backend="optix")


def test_auto_falls_back_to_numpy_and_warns_on_big_jobs(monkeypatch):
    import svfri.bake.rays as rays

    monkeypatch.setattr(rays, "embree_available", lambda: False)
    monkeypatch.setattr(rays, "NUMPY_WARN_SECONDS", 0.0)
    assert rays.resolve_backend("auto") == "numpy"
    vertices = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    with pytest.warns(RuntimeWarning, match="embreex"):
        hit = rays.any_hit([[0.2, 0.2, 1.0]], [[0.0, 0.0, -1.0]], vertices, [[0, 1, 2]])
    assert hit.tolist() == [True]
