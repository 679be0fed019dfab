"""The ICT head as svfri's mesh: the posed render mesh, the stated UV resampling (template disc <-> face tile),
push-pull, the material atlas, and the ``svfri fit`` / ``svfri relight`` output set on the ICT head."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from svfri.bake.uv_resample import push_pull_fill, resample, tile_correspondence
from svfri.geometry.ict_fit import fit_ict_head
from svfri.geometry.ict_head import OPAQUE_PARTS, PART_NAMES, load_ict_head
from svfri.geometry.ict_mesh import build_ict_mesh
from svfri.pipeline.fit_job import NETWORKS_DIR_ENV
from svfri_cli.main import main

FIT_ARGS = ["--steps", "3", "--texture-size", "128", "--no-report"]


@pytest.fixture(scope="module")
def head():
    return load_ict_head()


@pytest.fixture(scope="module")
def posed(head):
    """A synthetic face: ICT identity / expression / pose known, its 468 points as Face Mesh would give them."""
    rng = np.random.default_rng(3)
    identity = rng.normal(size=head.identity_count) * 0.8
    expression = np.zeros(head.expression_count)
    expression[head.expression_names.index("jawOpen")] = 0.3
    angle = np.deg2rad(12.0)
    rotation = np.array([[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]])
    shape = head.shape(identity, expression)
    scale, offset = 18.0, np.array([256.0, 250.0])
    world = shape @ rotation.T
    points = head.points468(world)
    uv = points[:, :2] * np.array([scale, -scale]) + offset
    pixels = np.concatenate([uv, points[:, 2:3] * scale], axis=1)
    truth = head.landmarks68(world)[:, :2] * np.array([scale, -scale]) + offset
    fit = fit_ict_head(pixels, head)
    return fit, build_ict_mesh(head, fit), truth


def test_mesh_parts_vertices_and_triangles(head, posed):
    _, mesh, _ = posed
    assert np.array_equal(mesh.render_ids[mesh.faces], head.render_faces[head.part_mask(OPAQUE_PARTS)])
    vertex_part = np.full(len(mesh.vertices), -1)
    vertex_part[mesh.faces.reshape(-1)] = np.repeat(mesh.face_part, 3)
    assert np.all(vertex_part[mesh.faces] == mesh.face_part[:, None])     # one part per vertex
    assert np.all(np.diff(vertex_part) >= 0)                              # contiguous blocks in part order
    assert np.all((mesh.uv >= -1e-6) & (mesh.uv <= 1 + 1e-6))             # every part in its own [0, 1] square
    assert np.isfinite(mesh.template_uv[mesh.template_faces]).all()
    assert np.isnan(mesh.template_uv[vertex_part != PART_NAMES.index("face")]).all()


def test_landmarks_of_a_synthetic_head_within_tolerance(posed):
    fit, mesh, truth = posed
    landmarks = mesh.landmarks_world @ fit.world_to_pixel[:2, :3].T + fit.world_to_pixel[:2, 3]
    eye_corners = np.linalg.norm(truth[36] - truth[45])
    error = np.linalg.norm(landmarks - truth, axis=1).mean() / eye_corners
    assert error < 0.03, error


def _correspondences(mesh, size):
    tangents, template_tangents = mesh.tangents(), mesh.template_tangents()
    faces = mesh.template_faces
    forward = tile_correspondence(faces, mesh.uv, mesh.template_uv, mesh.normals, tangents, template_tangents,
                                  size=size)
    backward = tile_correspondence(faces, mesh.template_uv, mesh.uv, mesh.normals, template_tangents, tangents,
                                   size=size)
    return forward, backward


def test_resampling_round_trip_template_tile_template(posed):
    """A smooth known pattern in the template layout, into the face tile and back: the same pattern where the
    correspondence reaches both ways (bilinear twice at 256^2: error well under 1/255 of its contrast x 10)."""
    _, mesh, _ = posed
    size = 256
    s, t = np.meshgrid((np.arange(size) + 0.5) / size, 1 - (np.arange(size) + 0.5) / size)
    pattern = np.stack([0.5 + 0.4 * np.sin(2 * np.pi * 2 * s), 0.5 + 0.4 * np.cos(2 * np.pi * 3 * t),
                        0.3 + 0.4 * s * t], axis=-1)
    forward, backward = _correspondences(mesh, size)
    tile = resample(pattern, forward, "scalar")
    back = resample(tile, backward, "scalar")
    inside = backward.covered.copy()
    inside[:8] = inside[-8:] = False   # keep away from the disc's rim (bilinear taps reach the fill)
    from scipy import ndimage

    inside &= ndimage.binary_erosion(backward.covered, iterations=3)
    error = np.abs(back - pattern)[inside]
    assert inside.sum() > 0.3 * size * size and np.median(error) < 0.01 and np.percentile(error, 95) < 0.04
    # the tile is covered where the face is, and the fill reaches every texel
    assert 0.2 < forward.covered.mean() < 0.9 and np.isfinite(tile).all()


def test_normal_map_round_trip_keeps_the_world_normal(posed):
    _, mesh, _ = posed
    size = 128
    s, t = np.meshgrid((np.arange(size) + 0.5) / size, 1 - (np.arange(size) + 0.5) / size)
    tilt = np.stack([0.3 * np.sin(2 * np.pi * s), 0.3 * np.cos(2 * np.pi * t), np.ones_like(s)], axis=-1)
    tilt /= np.linalg.norm(tilt, axis=-1, keepdims=True)
    encoded = 0.5 * tilt + 0.5
    forward, backward = _correspondences(mesh, size)
    back = resample(resample(encoded, forward, "normal"), backward, "normal") * 2 - 1
    from scipy import ndimage

    inside = ndimage.binary_erosion(backward.covered, iterations=3)
    cosine = np.sum(back[inside] * tilt[inside], axis=-1)
    assert np.degrees(np.arccos(np.clip(np.median(cosine), -1, 1))) < 3.0
    # a flat map stays flat in the other layout only if the frames are re-expressed: check it is not copied raw
    tile = resample(encoded, forward, "normal")
    assert np.allclose(np.linalg.norm(tile * 2 - 1, axis=-1), 1.0, atol=1e-3)


def test_push_pull_fill():
    rng = np.random.default_rng(0)
    image = rng.uniform(size=(37, 50, 2))
    known = rng.uniform(size=(37, 50)) < 0.1
    filled = push_pull_fill(image, known)
    assert np.allclose(filled[known], image[known]) and np.isfinite(filled).all()
    assert filled.min() >= image[known].min() - 1e-9 and filled.max() <= image[known].max() + 1e-9
    constant = push_pull_fill(np.full((16, 16, 1), 0.7), np.eye(16, dtype=bool))
    assert np.allclose(constant, 0.7)
    assert not push_pull_fill(image, np.zeros((37, 50), bool)).any()


def test_bad_mesh_kind_is_refused(sample_photo):
    from svfri.io.images import read_photo
    from svfri.pipeline.geometry_stage import GeometrySettings, compute_geometry

    with pytest.raises(ValueError, match="mesh must be one of"):
        compute_geometry(read_photo(sample_photo), GeometrySettings(mesh="sphere"))
    result = CliRunner().invoke(main, ["mesh", str(sample_photo), "--out", "/tmp/never", "--mesh", "sphere"])
    assert result.exit_code == 2


@pytest.fixture(scope="module")
def ict_fitted(tmp_path_factory, tiny_networks, sample_photo):
    out = tmp_path_factory.mktemp("ict_fit")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(NETWORKS_DIR_ENV, str(tiny_networks))
        result = CliRunner().invoke(main, ["fit", str(sample_photo), "--out", str(out), *FIT_ARGS, "-q"])
    assert result.exit_code == 0, result.output
    return out


def test_fit_json_carries_the_ict_record_parts_and_resampling(ict_fitted, head):
    fit = json.loads((ict_fitted / "fit.json").read_text())
    ict = fit["ict"]
    assert {"model", "format_version", "identity", "expression", "rotation_model_to_world", "scale_px_per_cm_work",
            "residual_rms_px", "seconds"} <= set(ict)
    assert ict["model"] == "ict_head.npz" and ict["format_version"] == 1
    assert len(ict["identity"]) == head.identity_count and list(ict["expression"]) == list(head.expression_names)
    rotation = np.array(ict["rotation_model_to_world"])
    assert np.allclose(rotation @ rotation.T, np.eye(3), atol=1e-6) and ict["scale_px_per_cm_work"] > 0
    assert fit["mesh"]["kind"] == "ict"
    parts = fit["parts"]
    assert set(parts) == set(OPAQUE_PARTS)
    for name, entry in parts.items():
        assert {"texture", "albedo_srgb", "roughness", "specular"} <= set(entry), name
        assert len(entry["albedo_srgb"]) == 3 and 0 <= entry["roughness"] <= 1, name
        if entry["texture"]:
            assert (ict_fitted / entry["texture"]).is_file(), name
    assert parts["face"]["texture"] == "albedo.png"
    assert parts["sclera_left"]["texture"] == parts["sclera_right"]["texture"] or \
        parts["sclera_left"]["texture"] is None
    assert {"network_input", "fit_pixels", "maps", "fill", "covered_fraction"} <= set(fit["uv_resampling"])
    mtl = (ict_fitted / "mesh.mtl").read_text()
    assert all(f"newmtl {name}" in mtl for name in OPAQUE_PARTS if name != "face") and "newmtl face" in mtl


def test_relight_reads_the_parts_back(ict_fitted, tmp_path):
    from svfri.data.hdri import sample_hdri_path
    from svfri.io.output_set import load_face_asset

    asset = load_face_asset(ict_fitted)
    assert len(asset.parts) == len(OPAQUE_PARTS) - 1 and asset.face_material.shape == (len(asset.faces),)
    assert asset.face_material.min() == 0 and asset.face_material.max() == len(asset.parts)
    out = tmp_path / "relit.png"
    result = CliRunner().invoke(main, ["relight", str(ict_fitted), "--hdr", str(sample_hdri_path("studio")),
                                       "--out", str(out), "--yaw", "30", "--size", "96"])
    assert result.exit_code == 0, result.output
    import cv2

    image = cv2.imread(str(out))
    assert image is not None and image.std() > 5


def test_face_texel_density_of_both_layouts(head):
    """The numbers quoted in docs/architecture.md ("UV layouts"), at 512^2."""
    from svfri.geometry.ict_mesh import face_texel_density

    density = face_texel_density(head, 512)
    assert density["template_disc"] == pytest.approx(389.7, rel=0.02)
    assert density["ict_face_tile"] == pytest.approx(306.3, rel=0.02)
    assert density["ict_face_tile"] < density["template_disc"]


def test_landmarks_on_a_rendered_ict_head(head, tmp_path):
    """End to end on a picture: an ICT head rendered by svfri's shader (known identity, expression, pose), read as a
    photo by the geometry stage (BlazeFace, Face Mesh, the ICT fit): landmarks.json within 6 % of the outer-eye-
    corner distance of the true ICT landmark vertices (mean), the fitted head over the rendered one."""
    pytest.importorskip("tensorflow")
    from svfri.geometry.face_models import ensure_face_models
    from svfri.geometry.ict_fit import IctFit
    from svfri.io.images import read_photo, write_png
    from svfri.io.output_set import FaceAsset
    from svfri.math.color import linear_to_srgb_np
    from svfri.pipeline.geometry_stage import GeometrySettings, compute_geometry
    from svfri.pipeline.head_parts import asset_parts, default_part_records
    from svfri.render.relight import shade_asset
    from svfri.bake.rasterize import rasterize_gbuffer
    from svfri.bake.visibility import bake_visibility

    ensure_face_models(quiet=True)
    size, scale = 384, 16.0
    rng = np.random.default_rng(7)
    angle = np.deg2rad(10.0)
    rotation = np.array([[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]])
    truth = IctFit(scale=scale, rotation=rotation, translation=np.array([size / 2, size / 2 + 20, 0.0]),
                   identity=rng.normal(size=head.identity_count) * 0.6, expression=np.zeros(head.expression_count),
                   residuals=np.zeros(468), depth_residuals=np.zeros(468), robust_weights=np.ones(468),
                   contour=np.zeros(468, bool), iterations=0, timings={})
    mesh = build_ict_mesh(head, truth)
    records = default_part_records(0.45)
    parts, face_material = asset_parts(records, mesh.face_part)
    skin = np.full((4, 4, 3), (0.80, 0.62, 0.52), np.float32)
    asset = FaceAsset(vertices=mesh.vertices, faces=mesh.faces, uv=mesh.uv, visibility_sh=None, bent_normal=None,
                      albedo_srgb=skin, specular=np.full((4, 4, 1), 0.5, np.float32),
                      normal_map=np.tile(np.float32([0.5, 0.5, 1.0]), (4, 4, 1)), roughness=0.45,
                      world_to_pixel=truth.world_to_pixel, image_width=size, image_height=size, photo=None, notes=(),
                      parts=parts, face_material=face_material)
    visibility, bent = bake_visibility(mesh.vertices, mesh.faces, mesh.normals, ray_count=32)
    tangents = mesh.tangents()
    gbuffer = rasterize_gbuffer(mesh.vertices, mesh.faces, mesh.uv, mesh.normals, tangents, visibility, bent,
                                world_to_pixel=truth.world_to_pixel, height=size, width=size)
    light = np.zeros((9, 3))
    light[0] = 2.2                                   # ambient
    light[2] = 0.8                                   # from above (Y10 ~ y)
    light[3] = 0.3                                   # a little from the subject's left (Y11 ~ x)
    radiance = shade_asset(asset, gbuffer, light)
    image = gbuffer.scatter(linear_to_srgb_np(np.clip(radiance, 0, 1)).astype(np.float32), background=0.35)
    path = tmp_path / "ict_render.png"
    write_png(path, image)
    result = compute_geometry(read_photo(path), GeometrySettings(ray_count=16))
    true_landmarks = truth.project(head.landmarks68(truth.shape(head)))
    found = result.landmarks68
    eye_corners = np.linalg.norm(true_landmarks[36] - true_landmarks[45])
    error = np.linalg.norm(found - true_landmarks, axis=1).mean() / eye_corners
    assert error < 0.06, error


def test_fit_pixels_on_the_ict_head_keep_the_loss_exclusions(sample_photo):
    """The fit's G-buffer on the ICT head: only face triangles with template UVs (no eyeball, teeth, socket or
    back-of-head pixel), with the template's exclusions (eyes, mouth interior, grazing) still applied."""
    from svfri.fitting.scene import pixel_weights
    from svfri.geometry.template import load_face_template
    from svfri.io.images import read_photo
    from svfri.pipeline.geometry_stage import GeometrySettings, compute_geometry
    from svfri.render.texture import sample_bilinear

    geometry = compute_geometry(read_photo(sample_photo), GeometrySettings(texture_size=64, ray_count=16))
    fit_gbuffer = geometry.template_gbuffer
    assert geometry.ict_mesh.template_triangles[fit_gbuffer.triangle_id].all()
    assert 0 < fit_gbuffer.pixel_count < geometry.gbuffer.pixel_count
    assert np.isin(fit_gbuffer.pixel_index, geometry.gbuffer.pixel_index).all()
    template = load_face_template()
    weights = pixel_weights(fit_gbuffer, template)
    masks = sample_bilinear(np.stack([template.region_masks["eyes"], template.region_masks["mouth_interior"]],
                                     axis=-1).astype(np.float32), fit_gbuffer.uv).numpy()
    assert weights[masks[:, 0] > 0.99].max(initial=0.0) < 0.01 and weights[masks[:, 1] > 0.99].max(initial=0.0) < 0.01
    assert weights[fit_gbuffer.normal[:, 2] < 0.2].max(initial=0.0) == 0.0
    assert (weights > 0.5).mean() > 0.5
