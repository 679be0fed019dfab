"""Rasteriser: exact coverage and barycentrics, depth test, sphere G-buffer vs analytic, UV maps."""

import math

import numpy as np
import pytest
import trimesh

from svfri.bake.rasterize import (interpolate, project_vertices, rasterize_gbuffer, rasterize_triangles,
                                  rasterize_uv, uv_to_texel)
from svfri.geometry.mesh_ops import vertex_normals, vertex_tangents
from svfri.render.gbuffer import GBuffer


def camera(scale, centre_u, centre_v):
    """Scaled orthographic camera: u = scale X + cu, v = -scale Y + cv (v down, Y up)."""
    return np.array([[scale, 0.0, 0.0, centre_u], [0.0, -scale, 0.0, centre_v], [0.0, 0.0, 0.0, 1.0]])


def test_quad_coverage_and_barycentrics_are_exact():
    # Axis-aligned square with corners on pixel corners x in [2, 6], y in [3, 7]; its diagonal runs through
    # pixel centres, which both triangles claim and the tie rule gives to triangle 0.
    screen = np.array([[2.0, 3.0], [6.0, 3.0], [6.0, 7.0], [2.0, 7.0]])
    faces = np.array([[0, 1, 2], [0, 2, 3]])
    pixel, triangle, bary = rasterize_triangles(screen, np.zeros(4), faces, height=10, width=9)
    rows, cols = np.divmod(pixel, 9)
    expected = {(i, j) for i in range(3, 7) for j in range(2, 6)}
    assert set(zip(rows.tolist(), cols.tolist())) == expected and len(pixel) == 16
    np.testing.assert_allclose(bary.sum(axis=1), 1.0)
    # Barycentric interpolation of the corners gives back each pixel centre.
    centres = interpolate(screen, faces, triangle, bary)
    np.testing.assert_allclose(centres, np.stack([cols + 0.5, rows + 0.5], axis=-1), atol=1e-12)
    # Golden: pixel (row 3, col 5), centre (5.5, 3.5), lies in triangle 0 = (2,3) (6,3) (6,7):
    # (5.5, 3.5) = 1/8 (2,3) + 6/8 (6,3) + 1/8 (6,7).
    k = np.nonzero(pixel == 3 * 9 + 5)[0][0]
    assert triangle[k] == 0
    np.testing.assert_allclose(bary[k], [0.125, 0.75, 0.125], atol=1e-12)
    # On the diagonal (i = j + 1) the tie goes to the lower triangle index.
    on_diagonal = rows == cols + 1
    assert np.all(triangle[on_diagonal] == 0) and on_diagonal.sum() == 4


def test_shared_edges_leave_no_cracks_or_double_coverage():
    # A fan of 7 thin triangles around a centre: every covered pixel appears once; the union is the disc hull.
    angles = np.linspace(0, 2 * math.pi, 8)[:-1]
    screen = np.vstack([[[16.3, 15.7]], np.stack([16.3 + 12 * np.cos(angles), 15.7 + 12 * np.sin(angles)], -1)])
    faces = np.array([[0, 1 + k, 1 + (k + 1) % 7] for k in range(7)])
    pixel, _, _ = rasterize_triangles(screen, np.zeros(8), faces, height=32, width=32)
    assert len(np.unique(pixel)) == len(pixel)
    # Compare with an independent point-in-polygon test of the heptagon at every pixel centre.
    y, x = np.mgrid[0:32, 0:32] + 0.5
    inside = np.ones((32, 32), dtype=bool)
    ring = screen[1:]
    for k in range(7):
        a, b = ring[k], ring[(k + 1) % 7]
        inside &= (b[0] - a[0]) * (y - a[1]) - (b[1] - a[1]) * (x - a[0]) >= 0
    assert set(pixel.tolist()) == set(np.flatnonzero(inside).tolist())


def test_depth_test_keeps_the_front_triangle_in_either_order():
    # Two triangles over the same pixels, at Z = 1 (front, nearer the camera) and Z = -1 (back).
    front = np.array([[-1.0, -1.0, 1.0], [1.0, -1.0, 1.0], [0.0, 1.0, 1.0]])
    back = front * np.array([1.2, 1.2, -1.0])
    P = camera(10.0, 16.0, 16.0)
    for order in ([front, back], [back, front]):
        vertices = np.vstack(order)
        faces = np.array([[0, 1, 2], [3, 4, 5]])
        front_id = 0 if order[0] is front else 1
        gbuffer = rasterize_gbuffer(
            vertices, faces, np.zeros((6, 2)), np.tile([0.0, 0.0, 1.0], (6, 1)),
            np.tile([1.0, 0.0, 0.0, 1.0], (6, 1)), np.zeros((6, 9)), np.tile([0.0, 0.0, 1.0], (6, 1)),
            world_to_pixel=P, height=32, width=32)
        assert isinstance(gbuffer, GBuffer)
        # Pixels covered by the front triangle show it at Z = 1; the back one only around its rim.
        z = gbuffer.position[:, 2]
        assert np.all((gbuffer.triangle_id == front_id) == (z > 0))
        screen = project_vertices(front, P)
        alone, _, _ = rasterize_triangles(screen, np.ones(3), np.array([[0, 1, 2]]), height=32, width=32)
        assert set(gbuffer.pixel_index[gbuffer.triangle_id == front_id].tolist()) == set(alone.tolist())
        assert np.any(gbuffer.triangle_id != front_id)


def test_sphere_gbuffer_matches_analytic_sphere():
    radius, scale, size = 5.0, 12.0, 160
    mesh = trimesh.creation.icosphere(subdivisions=4, radius=radius)
    vertices, faces = np.asarray(mesh.vertices), np.asarray(mesh.faces)
    normals = vertex_normals(vertices, faces)
    unit = vertices / radius
    uv = 0.5 * (unit[:, :2] + 1.0)                                  # orthographic UV from the front
    tangents = vertex_tangents(vertices, faces, uv, normals)
    visibility = np.random.default_rng(0).normal(size=(len(vertices), 9))
    P = camera(scale, 80.0, 80.0)
    gbuffer = rasterize_gbuffer(vertices, faces, uv, normals, tangents, visibility, normals,
                                world_to_pixel=P, height=size, width=size)
    rows, cols = np.divmod(gbuffer.pixel_index, size)
    x = (cols + 0.5 - 80.0) / scale
    y = (80.0 - (rows + 0.5)) / scale
    # Coverage: the projected disc, up to the polygonal silhouette (chord sagitta) and boundary pixels.
    assert abs(gbuffer.pixel_count - math.pi * (radius * scale) ** 2) < 2 * math.pi * radius * scale
    assert np.all(x ** 2 + y ** 2 <= (radius + 1.0 / scale) ** 2)
    # Visible surface is the front hemisphere; positions lie on the flat facets just inside the sphere.
    np.testing.assert_allclose(gbuffer.position[:, 0], x, atol=1e-5)
    np.testing.assert_allclose(gbuffer.position[:, 1], y, atol=1e-5)
    z = np.sqrt(np.maximum(radius ** 2 - x ** 2 - y ** 2, 0.0))
    interior = x ** 2 + y ** 2 < (0.9 * radius) ** 2
    assert np.max(np.abs(gbuffer.position[interior, 2] - z[interior])) < 0.02 * radius
    analytic = np.stack([x, y, z], axis=-1) / radius
    angle = np.arccos(np.clip(np.sum(gbuffer.normal[interior] * analytic[interior], axis=1), -1, 1))
    assert np.max(angle) < 0.01 and np.median(angle) < 0.003
    np.testing.assert_allclose(np.linalg.norm(gbuffer.normal, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(gbuffer.bent_normal, gbuffer.normal, atol=1e-6)
    # UV at each pixel: (x / r + 1) / 2, exact because UV is linear in (x, y) on every facet.
    np.testing.assert_allclose(gbuffer.uv, 0.5 * (np.stack([x, y], -1) / radius + 1.0), atol=1e-5)
    # Tangent frame: unit, orthogonal to the normal, right-handed (w = +1) on the front.
    np.testing.assert_allclose(np.linalg.norm(gbuffer.tangent[:, :3], axis=1), 1.0, atol=1e-5)
    assert np.max(np.abs(np.sum(gbuffer.tangent[:, :3] * gbuffer.normal, axis=1))) < 1e-5
    assert np.all(gbuffer.tangent[interior, 3] == 1.0)
    # SH visibility is interpolated linearly with the same barycentrics.
    expected = interpolate(visibility, faces, gbuffer.triangle_id, gbuffer.barycentric.astype(np.float64))
    np.testing.assert_allclose(gbuffer.visibility_sh, expected, atol=1e-4)
    for field in ("barycentric", "position", "uv", "normal", "tangent", "visibility_sh", "bent_normal"):
        assert getattr(gbuffer, field).dtype == np.float32
        assert getattr(gbuffer, field).shape[0] == gbuffer.pixel_count


def test_uv_raster_of_a_plane_reproduces_a_linear_attribute():
    n = 9
    s, t = np.meshgrid(np.linspace(0.1, 0.85, n), np.linspace(0.2, 0.9, n))
    uv = np.stack([s.ravel(), t.ravel()], axis=-1)
    faces = np.array([[i * n + j, i * n + j + 1, (i + 1) * n + j + 1] for i in range(n - 1) for j in range(n - 1)]
                     + [[i * n + j, (i + 1) * n + j + 1, (i + 1) * n + j] for i in range(n - 1) for j in range(n - 1)])
    attribute = np.stack([3.0 * uv[:, 0] - 2.0 * uv[:, 1] + 0.5, uv[:, 1]], axis=-1)
    size = 64
    image, mask = rasterize_uv(faces, uv, attribute, size=size)
    assert image.shape == (size, size, 2) and mask.shape == (size, size)
    rows, cols = np.mgrid[0:size, 0:size]
    s_centre = (cols + 0.5) / size
    t_centre = 1.0 - (rows + 0.5) / size                                # row 0 is t near 1
    inside = (s_centre >= 0.1) & (s_centre <= 0.85) & (t_centre >= 0.2) & (t_centre <= 0.9)
    np.testing.assert_array_equal(mask, inside)
    np.testing.assert_allclose(image[mask, 0], (3.0 * s_centre - 2.0 * t_centre + 0.5)[mask], atol=1e-5)
    np.testing.assert_allclose(image[mask, 1], t_centre[mask], atol=1e-6)
    assert np.all(image[~mask] == 0.0)
    np.testing.assert_allclose(uv_to_texel(np.array([[0.0, 1.0], [1.0, 0.0]]), size), [[0, 0], [size, size]])


def test_camera_must_look_along_z():
    tilted = camera(10.0, 0.0, 0.0)
    tilted[0, 2] = 3.0
    with pytest.raises(ValueError, match="orthographic"):
        project_vertices(np.zeros((1, 3)), tilted)
