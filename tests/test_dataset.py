"""Synthetic training set: faces, camera effects, lighting split, sample contract, shards and loader."""

import json
import math

import numpy as np
import pytest

from svfri.data.hdri import HELD_OUT_HDRIS, TRAIN_HDRIS, list_hdris
from svfri.geometry.camera import project
from svfri.geometry.template import load_face_template
from svfri.math.colorimetry import SRGB_TO_XYZ
from svfri.render.environment import environment_to_sh
from svfri.synth import camera_effects, dataset, faces

HDRIS_CACHED = set(HELD_OUT_HDRIS + TRAIN_HDRIS) <= set(list_hdris())
needs_hdris = pytest.mark.skipif(not HDRIS_CACHED, reason="HDR maps not cached: run python -m precompute.fetch_hdris")
SETTINGS = dataset.SynthesisSettings()


@pytest.fixture(scope="module")
def template():
    return load_face_template()


@pytest.fixture(scope="module")
def sample(template):
    return dataset.synthesize_sample(3, split="train", template=template)


# --- faces ---------------------------------------------------------------------------------------------------

def _symmetric_shape(rng, count):
    shape = faces.random_face_shape(rng, count)
    return faces.FaceShape(scale=(1.05, 0.95, 1.02), jaw_width=shape.jaw_width, nose_length_cm=shape.nose_length_cm,
                           nose_protrusion_cm=shape.nose_protrusion_cm, bump_centres=shape.bump_centres,
                           bump_amplitudes_cm=tuple((a, a) for a, _ in shape.bump_amplitudes_cm),
                           bump_radii_cm=shape.bump_radii_cm)


def test_identity_shape_returns_template(template):
    identity = faces.FaceShape(scale=(1.0, 1.0, 1.0), jaw_width=0.0, nose_length_cm=0.0, nose_protrusion_cm=0.0,
                               bump_centres=(5,), bump_amplitudes_cm=((0.0, 0.0),), bump_radii_cm=(2.0,))
    out = faces.deform_face(template.vertices, template.faces, template.mirror_vertex, identity)
    np.testing.assert_allclose(out, template.vertices, atol=1e-12)


def test_symmetric_deformation_keeps_mirror_symmetry_and_stays_small(template):
    base = np.asarray(template.vertices)
    mirror = template.mirror_vertex
    asymmetry_before = np.abs(base[mirror] * [-1, 1, 1] - base).max()
    for seed in range(5):
        shape = _symmetric_shape(np.random.default_rng(seed), template.vertex_count)
        out = faces.deform_face(base, template.faces, mirror, shape)
        assert np.abs(out[mirror] * [-1, 1, 1] - out).max() < asymmetry_before + 1e-6
        # A few millimetres to ~1.5 cm of change, never a different object.
        change = np.linalg.norm(out - base, axis=-1)
        assert 0.05 < change.max() < 2.0


def test_pose_rotation_signs():
    z = np.array([0.0, 0.0, 1.0])
    np.testing.assert_allclose(faces.pose_rotation(faces.Pose(90, 0, 0)) @ z, [1, 0, 0], atol=1e-12)   # to +X
    np.testing.assert_allclose(faces.pose_rotation(faces.Pose(0, 90, 0)) @ z, [0, -1, 0], atol=1e-12)  # down
    np.testing.assert_allclose(faces.pose_rotation(faces.Pose(0, 0, 90)) @ [1, 0, 0], [0, 1, 0], atol=1e-12)
    rotation = faces.pose_rotation(faces.random_pose(np.random.default_rng(0)))
    np.testing.assert_allclose(rotation @ rotation.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(rotation) == pytest.approx(1.0)


def test_framing_camera_fill_and_centre(template):
    posed = faces.apply_pose(template.vertices, faces.Pose(20, -10, 5))
    camera = faces.framing_camera(posed, size=200, fill=0.6, offset=(0.0, 0.0))
    pixels = project(camera.world_to_pixel, posed)
    extent = pixels.max(0) - pixels.min(0)
    assert extent.max() == pytest.approx(120.0)
    np.testing.assert_allclose((pixels.max(0) + pixels.min(0)) / 2, [100, 100], atol=1e-9)
    shifted = project(faces.framing_camera(posed, size=200, fill=0.6, offset=(1.0, -1.0)).world_to_pixel, posed)
    assert shifted[:, 0].max() == pytest.approx(200.0) and shifted[:, 1].min() == pytest.approx(0.0)
    # Image v grows downwards while world Y grows upwards (svfri.conventions).
    assert camera.world_to_pixel[1, 1] < 0 < camera.world_to_pixel[0, 0]


def test_regressor_error_rms_and_smoothness(template):
    rng = np.random.default_rng(1)
    field = faces.regressor_error(template.vertices, rng, rms_cm=0.15)
    assert math.sqrt(np.mean(np.sum(field ** 2, axis=-1))) == pytest.approx(0.15)
    edges = np.concatenate([template.faces[:, [0, 1]], template.faces[:, [1, 2]]])
    neighbour = np.linalg.norm(field[edges[:, 0]] - field[edges[:, 1]], axis=-1)
    white = rng.standard_normal(field.shape) * 0.15 / math.sqrt(3)
    white_neighbour = np.linalg.norm(white[edges[:, 0]] - white[edges[:, 1]], axis=-1)
    assert neighbour.mean() < 0.2 * white_neighbour.mean()


# --- camera effects ------------------------------------------------------------------------------------------

def test_camera_effects_deterministic_and_in_range():
    image = np.random.default_rng(0).uniform(0.0, 3.0, size=(48, 40, 3)).astype(np.float32)   # over-exposed
    first = camera_effects.sample_camera_effects(np.random.default_rng(11))
    second = camera_effects.sample_camera_effects(np.random.default_rng(11))
    assert first == second
    assert first != camera_effects.sample_camera_effects(np.random.default_rng(12))
    photo_a, jpeg_a = camera_effects.apply_camera_effects(image, first)
    photo_b, jpeg_b = camera_effects.apply_camera_effects(image, second)
    assert jpeg_a == jpeg_b
    np.testing.assert_array_equal(photo_a, photo_b)
    assert photo_a.dtype == np.float32 and photo_a.shape == image.shape
    assert photo_a.min() >= 0.0 and photo_a.max() <= 1.0
    for step in (camera_effects.apply_white_balance(image, first.white_balance),
                 camera_effects.apply_exposure_ev(image, 1.0),
                 camera_effects.add_sensor_noise(np.clip(image, 0, 1), shot_noise_gain=0.01, read_noise_sigma=0.05,
                                                 seed=1)):
        assert step.min() >= 0.0 and step.max() <= 1.0
    for seed in range(50):
        effects = camera_effects.sample_camera_effects(np.random.default_rng(seed))
        assert camera_effects.JPEG_QUALITY_RANGE[0] <= effects.jpeg_quality <= camera_effects.JPEG_QUALITY_RANGE[1]
        assert 0.0 <= effects.blur_sigma <= camera_effects.BLUR_SIGMA_RANGE[1]


def test_white_balance_gains_preserve_luminance():
    gains = camera_effects.white_balance_gains(0.07, -0.05)
    assert float(SRGB_TO_XYZ[1] @ gains) == pytest.approx(1.0)
    assert gains[0] / gains[1] == pytest.approx(math.exp(0.07))
    assert gains[2] / gains[1] == pytest.approx(math.exp(-0.05))


def test_sensor_noise_variance_follows_poisson_gaussian_model():
    level, gain, read = 0.25, 1e-3, 0.01
    image = np.full((256, 256, 3), level, np.float32)
    noisy = camera_effects.add_sensor_noise(image, shot_noise_gain=gain, read_noise_sigma=read, seed=4)
    assert noisy.mean() == pytest.approx(level, abs=1e-3)
    assert noisy.std() == pytest.approx(math.sqrt(gain * level + read ** 2), rel=0.02)


def test_blur_and_jpeg():
    image = np.zeros((33, 33, 3), np.float32)
    image[16, 16] = 1.0
    blurred = camera_effects.gaussian_blur(image, 1.0)
    assert blurred.sum() == pytest.approx(3.0, rel=1e-4)            # energy kept (reflected borders far away)
    assert blurred[16, 16, 0] == pytest.approx(1 / (2 * math.pi), rel=0.05)
    np.testing.assert_array_equal(camera_effects.gaussian_blur(image, 0.0), image)
    smooth = (np.linspace(0, 255, 64)[None, :, None] * np.ones((64, 1, 3))).astype(np.uint8)
    decoded, data = camera_effects.jpeg_roundtrip(smooth, 95)
    assert data[:2] == b"\xff\xd8" and np.abs(decoded.astype(int) - smooth).max() <= 4
    colour = np.zeros((16, 16, 3), np.uint8)
    colour[..., 0] = 200                                              # red stays red (RGB order kept)
    decoded, _ = camera_effects.jpeg_roundtrip(colour, 90)
    assert decoded[..., 0].mean() > 190 and decoded[..., 2].mean() < 10


# --- lighting ------------------------------------------------------------------------------------------------

def test_exposure_scale_of_constant_environment():
    environment = np.full((16, 32, 3), 2.0, np.float32)
    assert dataset.light_exposure_scale(environment_to_sh(environment)) == pytest.approx(0.5, rel=1e-5)


def test_synthetic_environment_is_positive_and_front_lit():
    for seed in range(5):
        environment = dataset.synthetic_environment(np.random.default_rng(seed))
        assert environment.min() >= 0.0
        light = environment_to_sh(environment)
        assert np.all(light[0] > 0)


@needs_hdris
def test_test_split_never_uses_training_maps():
    seen = {"train": set(), "test": set()}
    for split in ("train", "test"):
        for seed in range(150):
            lighting = dataset.draw_lighting(dataset.sample_streams(seed)["light"], split)
            seen[split].add(lighting.hdri)
            luminance = SRGB_TO_XYZ[1] @ lighting.light_sh[0] * 0.5 / math.sqrt(math.pi)
            assert 2 ** dataset.LIGHT_EV_RANGE[0] - 1e-4 <= luminance <= 2 ** dataset.LIGHT_EV_RANGE[1] + 1e-4
    assert seen["test"] == set(HELD_OUT_HDRIS) | {dataset.SYNTHETIC_HDRI}
    assert seen["train"] <= set(TRAIN_HDRIS) | {dataset.SYNTHETIC_HDRI}
    assert len(seen["train"]) > 10
    with pytest.raises(Exception):
        dataset.draw_lighting(np.random.default_rng(0), "validation")


# --- one sample ----------------------------------------------------------------------------------------------

@needs_hdris
def test_sample_shapes_dtypes_ranges(sample):
    size, texture, maps = SETTINGS.render_size, SETTINGS.texture_size, SETTINGS.map_size
    assert sample.photo.shape == (size, size, 3) and sample.photo.dtype == np.float32
    assert 0.0 <= sample.photo.min() and sample.photo.max() <= 1.0
    assert sample.texture.shape == (texture, texture, 4) and sample.texture.dtype == np.float32
    assert set(np.unique(sample.texture[..., 3])) <= {0.0, 1.0}
    assert 0.0 <= sample.texture[..., :3].min() and sample.texture[..., :3].max() <= 1.0
    assert sample.albedo.shape == (maps, maps, 3) and sample.albedo.dtype == np.uint8
    assert sample.specular.shape == (maps, maps) and sample.specular.dtype == np.uint8
    assert sample.normal.shape == (maps, maps, 3) and sample.normal.dtype == np.uint8
    assert sample.light.shape == (9, 3) and sample.light.dtype == np.float32 and np.all(sample.light[0] > 0)
    assert sample.hdri in TRAIN_HDRIS + (dataset.SYNTHETIC_HDRI,)
    # The face covers the requested fraction of the photo, and the photo is a face on a background.
    extent = project(sample.world_to_pixel, sample.vertices)
    fill = (extent.max(0) - extent.min(0)).max() / size
    assert faces.FILL_RANGE[0] - 1e-6 <= fill <= faces.FILL_RANGE[1] + 1e-6
    face_level = sample.photo[sample.photo_mask].mean()
    assert 0.1 < face_level < 0.9                                       # exposed, neither black nor clipped
    # The simulated run-time mesh differs from the truth by the regressor error only (1-2 mm RMS after
    # rescaling to the run-time 9 cm eye distance): its projection lands within a few pixels.
    truth = project(sample.world_to_pixel, sample.vertices)
    fitted = project(sample.fit_world_to_pixel, sample.fit_vertices)
    assert 0.3 < np.sqrt(np.mean(np.sum((truth - fitted) ** 2, axis=-1))) < 6.0
    # Visible T texels show the photo: T's mean colour matches the photo's face colour.
    visible = sample.texture[..., 3] > 0
    np.testing.assert_allclose(sample.texture[visible, :3].mean(0), sample.photo[sample.photo_mask].mean(0),
                               atol=0.06)


@needs_hdris
def test_photo_is_the_forward_model_of_the_stored_ground_truth(sample, template):
    """Re-rendering the stored maps under the stored light (white balance and exposure folded in) gives the
    photo up to blur, noise and JPEG: catches a light that is not the one the photo was made with."""
    from scipy import ndimage
    from svfri.bake.rasterize import rasterize_gbuffer
    from svfri.bake.visibility import bake_visibility
    from svfri.geometry.mesh_ops import vertex_normals, vertex_tangents
    from svfri.math.color import linear_to_srgb_np
    from svfri.synth.skin_maps import generate_skin_maps

    vertices = template.subdivide(sample.vertices)
    normals = vertex_normals(vertices, template.faces_sub)
    tangents = vertex_tangents(vertices, template.faces_sub, template.uv_sub, normals)
    bake_seed = int(dataset.sample_streams(sample.seed)["bake"].integers(0, 2 ** 31 - 1))
    visibility, bent = bake_visibility(vertices, template.faces_sub, normals, ray_count=SETTINGS.ray_count,
                                       seed=bake_seed)
    size = SETTINGS.render_size
    gbuffer = rasterize_gbuffer(vertices, template.faces_sub, template.uv_sub, normals, tangents, visibility, bent,
                                world_to_pixel=sample.world_to_pixel, height=size, width=size)
    np.testing.assert_array_equal(gbuffer.mask(), sample.photo_mask)
    roughness = generate_skin_maps(template.region_masks, seed=sample.seed, size=SETTINGS.map_size).roughness
    radiance = dataset.render_face(gbuffer, albedo=sample.albedo, specular=sample.specular, normal=sample.normal,
                                   roughness=roughness, light_sh=sample.light)
    expected = linear_to_srgb_np(np.clip(gbuffer.scatter(radiance), 0.0, 1.0))
    interior = ndimage.binary_erosion(sample.photo_mask, iterations=3)
    difference = expected[interior] - sample.photo[interior]
    assert np.median(np.abs(difference)) < 0.02 and np.mean(np.abs(difference)) < 0.03
    # No colour bias: noise and JPEG average out (seed 3: a light without the camera's white balance and
    # exposure gains would be off by -0.04, -0.03, -0.02 per channel).
    np.testing.assert_allclose(difference.mean(axis=0), 0.0, atol=0.006)


@needs_hdris
def test_sample_is_deterministic(sample, template):
    again = dataset.synthesize_sample(3, split="train", template=template)
    assert again.photo_jpeg == sample.photo_jpeg
    for name in ("texture", "albedo", "specular", "normal", "light", "fit_vertices"):
        np.testing.assert_array_equal(getattr(again, name), getattr(sample, name))
    other = dataset.synthesize_sample(4, split="train", template=template)
    assert not np.array_equal(other.albedo, sample.albedo)


@needs_hdris
def test_turned_head_masks_the_far_cheek(template):
    sample = dataset.synthesize_sample(8, split="train", template=template, pose=faces.Pose(35.0, 0.0, 0.0))
    size = SETTINGS.texture_size
    cheeks = np.asarray(template.region_masks["cheeks"])
    step = cheeks.shape[0] // size
    cheeks = cheeks.reshape(size, step, size, step).mean(axis=(1, 3)) > 0.5
    s = (np.arange(size) + 0.5) / size
    mask = sample.texture[..., 3]
    # Positive yaw turns the face towards +X, the subject's left (s > 0.5): that cheek turns away.
    far = mask[cheeks & (s[None, :] > 0.5)].mean()
    near = mask[cheeks & (s[None, :] < 0.5)].mean()
    assert near > 0.95 and far < 0.5
    # Hidden texels were filled (by symmetry and inpainting), not left black.
    hidden = cheeks & (mask == 0)
    assert sample.texture[hidden, :3].mean() > 0.05


# --- shards and loader ---------------------------------------------------------------------------------------

@needs_hdris
def test_shards_round_trip_through_the_loader(tmp_path, template):
    entry = dataset.generate_split(tmp_path, split="test", count=3, start_seed=1_000_000, shard_size=2)
    assert entry["complete"] and len(entry["shards"]) == 2
    manifest = json.loads((tmp_path / dataset.MANIFEST_NAME).read_text())
    assert manifest["splits"]["test"]["start_seed"] == 1_000_000 and manifest["settings"] == SETTINGS.to_json()
    shard = dataset.read_shard(dataset.shard_path(tmp_path, "test", 0))
    assert set(shard) == set(dataset.SHARD_KEYS) and shard["texture"].dtype == np.uint8
    assert set(shard["hdri"]) <= set(HELD_OUT_HDRIS) | {dataset.SYNTHETIC_HDRI}

    reference = dataset.synthesize_sample(1_000_001, split="test", template=template)
    np.testing.assert_array_equal(dataset.decode_photo(shard, 1), reference.photo)

    sizes = {"texture": (128, 64), "albedo": (128, 512), "specular": (64, 256), "normal": (64,)}
    batches = list(dataset.iterate_training_batches(tmp_path, "test", 2, component_sizes=sizes, shuffle=False))
    assert [b["seed"].tolist() for b in batches] == [[1_000_000, 1_000_001], [1_000_002]]
    batch = batches[0]
    assert all(value.dtype == np.float32 for key, value in batch.items() if key != "seed")
    assert batch["texture_128"].shape == (2, 128, 128, 4) and batch["texture_64"].shape == (2, 64, 64, 4)
    assert batch["albedo_512"].shape == (2, 512, 512, 3) and batch["specular_256"].shape == (2, 256, 256, 1)
    assert batch["normal_64"].shape == (2, 64, 64, 3) and batch["light"].shape == (2, 9, 3)
    np.testing.assert_allclose(batch["texture_128"][1], reference.texture, atol=0.5 / 255 + 1e-6)
    np.testing.assert_allclose(batch["light"][1], reference.light, rtol=2e-3, atol=1e-3)
    np.testing.assert_allclose(batch["albedo_128"][1], dataset.resize_map(reference.albedo / 255.0, 128,
                                                                          kind="colour"), atol=1e-6)
    # Area-resized T: the mask becomes the visible fraction, the mean is kept.
    assert batch["texture_64"][1, ..., 3].mean() == pytest.approx(reference.texture[..., 3].mean(), abs=1e-3)
    normals = 2.0 * batch["normal_64"][0] - 1.0
    np.testing.assert_allclose(np.linalg.norm(normals, axis=-1), 1.0, atol=1e-5)
    for value in batch.values():
        if value.dtype == np.float32 and value.ndim == 4:
            assert value.min() >= 0.0 and value.max() <= 1.0

    # The tf.data wrapper yields the same arrays.
    tf_batch = next(iter(dataset.make_tf_dataset(tmp_path, "test", 2, component_sizes=sizes, repeat=False,
                                                      shuffle=False)))
    np.testing.assert_array_equal(tf_batch["texture_64"].numpy(), batch["texture_64"])
    assert tf_batch["seed"].numpy().tolist() == [1_000_000, 1_000_001]

    # Shuffled and repeating: every sample appears once per epoch, full batches only.
    stream = dataset.iterate_training_batches(tmp_path, "test", 2, component_sizes={"texture": (64,)}, seed=5,
                                              repeat=True)
    seeds = np.concatenate([next(stream)["seed"] for _ in range(3)])
    assert sorted(seeds[:3].tolist()) == [1_000_000, 1_000_001, 1_000_002]

    # Resumable: a second run makes nothing; a damaged shard is made again, identically.
    path = dataset.shard_path(tmp_path, "test", 1)
    before = path.stat().st_mtime_ns
    again = dataset.generate_split(tmp_path, split="test", count=3, start_seed=1_000_000, shard_size=2)
    assert again["last_run"]["shards_made"] == 0 and path.stat().st_mtime_ns == before
    path.write_bytes(b"truncated")
    again = dataset.generate_split(tmp_path, split="test", count=3, start_seed=1_000_000, shard_size=2)
    assert again["last_run"]["shards_made"] == 1
    np.testing.assert_array_equal(dataset.read_shard(path)["texture"][0], shard_texture_of(reference_seed=1_000_002,
                                                                                          template=template))
    with pytest.raises(Exception, match="start"):
        dataset.generate_split(tmp_path, split="test", count=3, start_seed=5, shard_size=2)


def shard_texture_of(*, reference_seed, template):
    sample = dataset.synthesize_sample(reference_seed, split="test", template=template)
    return np.clip(np.round(sample.texture * 255.0), 0, 255).astype(np.uint8)
