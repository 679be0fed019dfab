"""Photo unwrap: recovery of a known texture, back faces, occlusion, symmetry and inpainting fills."""

import math

import numpy as np
import pytest
import trimesh

from svfri.bake.rasterize import rasterize_gbuffer, rasterize_uv
from svfri.bake.unwrap import bilinear_sample, unwrap_photo
from svfri.bake.uv_bake import UV_PADDING_TEXELS, bake_textures
from svfri.geometry.mesh_ops import vertex_normals

RADIUS = 5.0
SIZE = 128


def texture_function(uv):
    """Smooth, strictly positive RGB, symmetric under s -> 1 - s."""
    s, t = uv[..., 0], uv[..., 1]
    return np.stack([0.5 + 0.3 * np.cos(2 * math.pi * (s - 0.5)) * np.sin(math.pi * t),
                     0.3 + 0.4 * t,
                     0.6 + 0.2 * (s - 0.5) ** 2], axis=-1)


def sphere_disc():
    """Icosphere minus a cap around -Z, with an azimuthal-equidistant UV disc centred on +Z."""
    mesh = trimesh.creation.icosphere(subdivisions=4, radius=RADIUS)
    unit = mesh.vertices / RADIUS
    polar = np.arccos(np.clip(unit[:, 2], -1, 1))
    keep = np.all(polar[mesh.faces] < math.radians(150), axis=1)
    disc = trimesh.Trimesh(mesh.vertices, mesh.faces[keep], process=False)
    disc.remove_unreferenced_vertices()
    vertices, faces = np.asarray(disc.vertices), np.asarray(disc.faces)
    unit = vertices / RADIUS
    polar = np.arccos(np.clip(unit[:, 2], -1, 1))
    azimuth = np.arctan2(unit[:, 1], unit[:, 0])
    rho = 0.45 * polar / math.radians(150)
    uv = np.stack([0.5 + rho * np.cos(azimuth), 0.5 + rho * np.sin(azimuth)], axis=-1)
    return vertices, faces, uv


def camera(scale, cu, cv):
    return np.array([[scale, 0.0, 0.0, cu], [0.0, -scale, 0.0, cv], [0.0, 0.0, 0.0, 1.0]])


def render(vertices, faces, uv, normals, P, height, width):
    """Synthetic photo: each covered pixel shows texture_function at its interpolated UV; background 0."""
    tangents = np.tile([1.0, 0.0, 0.0, 1.0], (len(vertices), 1))
    gbuffer = rasterize_gbuffer(vertices, faces, uv, normals, tangents,
                                np.zeros((len(vertices), 9)), normals, world_to_pixel=P, height=height, width=width)
    photo = gbuffer.scatter(texture_function(gbuffer.uv.astype(np.float64)).astype(np.float32), 0.0)
    return photo, gbuffer


def texel_grid():
    rows, cols = np.mgrid[0:SIZE, 0:SIZE]
    return np.stack([(cols + 0.5) / SIZE, 1.0 - (rows + 0.5) / SIZE], axis=-1)


def test_bilinear_sample_is_exact_on_a_linear_image():
    rows, cols = np.mgrid[0:7, 0:9]
    image = np.stack([2.0 * (cols + 0.5) - (rows + 0.5), np.ones((7, 9))], axis=-1)
    x = np.array([0.5, 3.2, 8.5, 4.75])
    y = np.array([0.5, 2.9, 6.5, 1.25])
    np.testing.assert_allclose(bilinear_sample(image, x, y)[:, 0], 2.0 * x - y, atol=1e-12)


def test_unwrap_recovers_the_texture_and_rejects_back_faces():
    vertices, faces, uv = sphere_disc()
    normals = vertex_normals(vertices, faces)
    P = camera(20.0, 128.0, 128.0)
    photo, gbuffer = render(vertices, faces, uv, normals, P, 256, 256)
    texture = unwrap_photo(photo, vertices, faces, uv, normals, world_to_pixel=P, size=SIZE, gbuffer=gbuffer)
    assert texture.shape == (SIZE, SIZE, 4) and texture.dtype == np.float32
    mask = texture[..., 3] > 0.5
    assert set(np.unique(texture[..., 3])) <= {0.0, 1.0}
    # The texel's sphere point, from the UV of its centre (inverse of the azimuthal-equidistant map).
    grid = texel_grid()
    rho = np.hypot(grid[..., 0] - 0.5, grid[..., 1] - 0.5)
    polar = rho / 0.45 * math.radians(150)
    front = (polar < math.radians(70)) & (rho < 0.45)                        # n . v > 0.34
    back = (polar > math.radians(92)) & (rho < 0.44)
    assert np.all(mask[front])
    assert not np.any(mask[back])
    # Visible texels reproduce the texture (bilinear photo sampling error only).
    expected = texture_function(grid)
    assert np.max(np.abs(texture[mask, :3] - expected[mask])) < 0.02
    # The same result without the G-buffer (the unwrap rasterises its own z-buffer).
    again = unwrap_photo(photo, vertices, faces, uv, normals, world_to_pixel=P, size=SIZE)
    np.testing.assert_array_equal(again[..., 3], texture[..., 3])
    # Holes are filled: no zero left in RGB anywhere on the layout; outside the padded layout RGB is 0.
    _, covered = rasterize_uv(faces, uv, np.ones(len(uv)), size=SIZE)
    assert np.all(texture[covered, :3] > 0.0)
    assert np.all(texture[rho > 0.45 + (UV_PADDING_TEXELS + 1) / SIZE, :3] == 0.0)
    # Inpainted back-side texels stay within the range of the visible colours.
    low, high = texture[mask, :3].min(axis=0), texture[mask, :3].max(axis=0)
    filled = covered & ~mask
    assert np.all(texture[filled, :3] >= low - 1e-5) and np.all(texture[filled, :3] <= high + 1e-5)


def test_symmetry_fill_copies_the_mirror_side():
    vertices, faces, uv = sphere_disc()
    normals = vertex_normals(vertices, faces)
    # The image ends at the sphere's vertical midline x = 0, so the x < 0 side projects outside it.
    P = camera(20.0, 0.0, 128.0)
    photo, gbuffer = render(vertices, faces, uv, normals, P, 256, 128)
    grid = texel_grid()
    rho = np.hypot(grid[..., 0] - 0.5, grid[..., 1] - 0.5)
    polar = rho / 0.45 * math.radians(150)
    left_front = (grid[..., 0] < 0.45) & (polar < math.radians(60))          # x < 0, seen if in the image
    expected = texture_function(grid)

    by_uv = unwrap_photo(photo, vertices, faces, uv, normals, world_to_pixel=P, size=SIZE, fill="symmetry",
                         mirror_uv=lambda q: np.stack([1.0 - q[:, 0], q[:, 1]], axis=-1))
    assert not np.any(by_uv[left_front, 3])                                   # outside the image: not visible
    assert np.max(np.abs(by_uv[left_front, :3] - expected[left_front])) < 0.03

    # The same from a vertex twin map (x -> -x), found by nearest neighbour on the sphere.
    mirrored = vertices * np.array([-1.0, 1.0, 1.0])
    twin = np.argmin(np.linalg.norm(mirrored[:, None] - vertices[None], axis=-1), axis=1)
    assert np.max(np.linalg.norm(vertices[twin] - mirrored, axis=1)) < 1e-6
    by_vertex = unwrap_photo(photo, vertices, faces, uv, normals, world_to_pixel=P, size=SIZE,
                             fill="symmetry", mirror_vertex=twin, gbuffer=gbuffer)
    np.testing.assert_allclose(by_vertex[left_front, :3], by_uv[left_front, :3], atol=1e-4)

    # Without any fill the holes stay black; with fill='none' the mask is unchanged.
    bare = unwrap_photo(photo, vertices, faces, uv, normals, world_to_pixel=P, size=SIZE, fill="none")
    assert np.all(bare[left_front, :3] == 0.0)
    np.testing.assert_array_equal(bare[..., 3], by_uv[..., 3])


def test_occluded_texels_are_masked():
    # A small square at Z = 2 in front of a large square at Z = 0; UV: back square on the left half,
    # front square on the right half of the layout.
    back = np.array([[-4.0, -4.0, 0.0], [4.0, -4.0, 0.0], [4.0, 4.0, 0.0], [-4.0, 4.0, 0.0]])
    front = np.array([[-1.0, -1.0, 2.0], [1.0, -1.0, 2.0], [1.0, 1.0, 2.0], [-1.0, 1.0, 2.0]])
    vertices = np.vstack([back, front])
    quad = np.array([[0, 1, 2], [0, 2, 3]])
    faces = np.vstack([quad, quad + 4])
    corners = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    uv = np.vstack([0.05 + 0.4 * corners, [0.55, 0.05] + 0.4 * corners])
    normals = np.tile([0.0, 0.0, 1.0], (8, 1))
    P = camera(10.0, 50.0, 50.0)
    photo = np.full((100, 100, 3), 0.5, dtype=np.float32)
    texture = unwrap_photo(photo, vertices, faces, uv, normals, world_to_pixel=P, size=SIZE)
    grid = texel_grid()
    in_back = (grid[..., 0] > 0.05) & (grid[..., 0] < 0.45) & (grid[..., 1] > 0.05) & (grid[..., 1] < 0.45)
    x = (grid[..., 0] - 0.05) / 0.4 * 8.0 - 4.0
    y = (grid[..., 1] - 0.05) / 0.4 * 8.0 - 4.0
    hidden = in_back & (np.abs(x) < 0.9) & (np.abs(y) < 0.9)
    open_back = in_back & ((np.abs(x) > 1.1) | (np.abs(y) > 1.1))
    in_front = (grid[..., 0] > 0.55) & (grid[..., 0] < 0.95) & (grid[..., 1] > 0.05) & (grid[..., 1] < 0.45)
    assert not np.any(texture[hidden, 3])
    assert np.all(texture[open_back, 3] == 1.0)
    assert np.all(texture[in_front, 3] == 1.0)
    np.testing.assert_allclose(texture[hidden, :3], 0.5, atol=1e-5)          # inpainted from the neighbours


def test_bake_textures_put_vertex_values_into_uv():
    vertices, faces, uv = sphere_disc()
    normals = vertex_normals(vertices, faces)
    visibility = np.random.default_rng(2).normal(size=(len(vertices), 9))
    textures = bake_textures(faces, uv, visibility, normals, size=64, padding=2)
    assert textures["visibility_sh"].shape == (64, 64, 9) and textures["bent_normal"].shape == (64, 64, 3)
    reference, mask = rasterize_uv(faces, uv, visibility, size=64)
    np.testing.assert_array_equal(textures["mask"], mask)
    np.testing.assert_allclose(textures["visibility_sh"][mask], reference[mask], atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(textures["bent_normal"][mask], axis=-1), 1.0, atol=1e-5)
    # Padding: a ring of at most 2 texels outside the layout holds copies, beyond that zeros.
    padded = np.any(textures["visibility_sh"] != 0, axis=-1)
    assert padded.sum() > mask.sum()
    grid = (np.mgrid[0:64, 0:64] + 0.5) / 64
    assert not np.any(padded & (np.hypot(grid[0] - 0.5, grid[1] - 0.5) > 0.45 + 3 / 64))


def test_rejects_bad_fill_and_shapes():
    vertices, faces, uv = sphere_disc()
    normals = vertex_normals(vertices, faces)
    photo = np.zeros((8, 8, 3))
    with pytest.raises(ValueError, match="fill"):
        unwrap_photo(photo, vertices, faces, uv, normals, world_to_pixel=camera(1, 4, 4), size=8, fill="blur")
    with pytest.raises(ValueError, match="image"):
        unwrap_photo(np.zeros((8, 8)), vertices, faces, uv, normals, world_to_pixel=camera(1, 4, 4), size=8)
