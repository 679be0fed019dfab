"""The fit's speed machinery: the box-filtered G-buffer of the working resolution, the per-photo render object,
precomputed bilinear taps, the XLA-compiled shading step and the held specular / normal maps."""

import dataclasses

import numpy as np
import pytest

from svfri.fitting.optimise import FitSettings, LatentFitter
from svfri.fitting.scene import PhotoScene, face_extent_px, pixel_weights, working_factor
from svfri.geometry.template import load_face_template
from svfri.io.images import read_photo
from svfri.math.color import linear_to_srgb_np, srgb_to_linear_np
from svfri.nets import FaceNetworks
from svfri.pipeline.geometry_stage import GeometrySettings, compute_geometry
from svfri.render.gbuffer import GBuffer
from svfri.render.shading import gbuffer_to_tensors, shade

RNG = np.random.default_rng(3)


@pytest.fixture(scope="module")
def geometry(sample_photo):
    return compute_geometry(read_photo(sample_photo), GeometrySettings(mesh="template", texture_size=64))


@pytest.fixture(scope="module")
def texture():
    networks = FaceNetworks("tiny")
    size = networks.config.input_texture_size
    texture = np.zeros((size, size, 4), np.float32)
    texture[..., :3], texture[..., 3] = 0.6, 1.0
    return networks, texture


def _plane(height=7, width=9, skip=()):
    """A frontal plane covering every pixel but ``skip`` (flat indices), UV linear in the pixel position."""
    index = np.array([i for i in range(height * width) if i not in set(skip)], np.int64)
    rows, columns = np.divmod(index, width)
    n = index.size
    uv = np.stack([(columns + 0.5) / width, 1.0 - (rows + 0.5) / height], -1).astype(np.float32)
    normal = np.tile(np.float32([0.0, 0.0, 1.0]), (n, 1))
    tilt = RNG.normal(0, 0.2, (n, 3)).astype(np.float32)
    normal = normal + tilt * np.float32([1, 1, 0])
    normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
    tangent = np.concatenate([np.tile(np.float32([1, 0, 0]), (n, 1)), np.ones((n, 1), np.float32)], -1)
    return GBuffer(height=height, width=width, pixel_index=index, triangle_id=np.arange(n, dtype=np.int32),
                   barycentric=np.full((n, 3), 1 / 3, np.float32), position=RNG.normal(size=(n, 3)).astype(np.float32),
                   uv=uv, normal=normal, tangent=tangent, visibility_sh=RNG.normal(size=(n, 9)).astype(np.float32),
                   bent_normal=normal.copy())


def test_downsample_averages_each_block():
    fine = _plane(skip=(0, 1, 61))
    coarse, blocks = fine.downsample(2)
    assert (coarse.height, coarse.width) == (4, 5)
    assert coarse.pixel_count == 20                     # every block holds a covered pixel
    assert blocks.counts.sum() == fine.pixel_count and blocks.counts.max() == 4
    # Block (0, 0) lost pixels 0 and 1: it averages pixels 9 and 10 only.
    first = np.nonzero(blocks.block == 0)[0]
    assert list(fine.pixel_index[first]) == [9, 10]
    np.testing.assert_allclose(coarse.uv[0], fine.uv[first].mean(0), rtol=1e-6)
    np.testing.assert_allclose(coarse.visibility_sh, blocks.block_mean(fine.visibility_sh), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(coarse.normal, axis=-1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(np.sum(coarse.normal * coarse.tangent[:, :3], -1), 0.0, atol=1e-6)
    weights = RNG.uniform(size=fine.pixel_count)
    np.testing.assert_allclose(blocks.coverage_weighted(weights).sum() * 4, weights.sum(), rtol=1e-5)
    same, identity = fine.downsample(1)
    assert same is fine and identity.coarse_count == fine.pixel_count


def test_working_factor_keeps_the_face_at_least_the_working_size(geometry):
    extent = face_extent_px(geometry.gbuffer)
    assert working_factor(geometry.gbuffer, 0) == 1
    assert working_factor(geometry.gbuffer, extent + 1) == 1
    factor = working_factor(geometry.gbuffer, extent // 3)
    assert factor == 3 and extent / factor >= extent // 3


def test_scene_targets_and_weights_at_the_working_resolution(geometry):
    template = load_face_template()
    photo = RNG.uniform(size=geometry.work_image.shape).astype(np.float32)
    scene = PhotoScene(geometry.gbuffer, photo, template, factor=2, map_sizes=(64,))
    fine = srgb_to_linear_np(photo.reshape(-1, 3)[geometry.gbuffer.pixel_index])
    expected = linear_to_srgb_np(scene.blocks.block_mean(fine))            # averaged in linear light
    np.testing.assert_allclose(scene.working_target.numpy(), expected, atol=1e-5)
    assert scene.working_pixel_count < scene.pixel_count / 3
    weights = pixel_weights(geometry.gbuffer, template)
    np.testing.assert_allclose(scene.working_weights(weights).sum() * 4, weights.sum(), rtol=1e-4)
    assert scene.taps(64) is not None and scene.taps(128) is None


def test_precomputed_taps_shade_exactly_as_without(geometry):
    maps = {"albedo_srgb_map": RNG.uniform(size=(32, 32, 3)).astype(np.float32),
            "specular_map": RNG.uniform(size=(16, 16, 1)).astype(np.float32),
            "normal_map": np.clip(RNG.normal([0.5, 0.5, 1.0], 0.05, (16, 16, 3)), 0, 1).astype(np.float32)}
    light = RNG.normal(0, 0.3, (9, 3)).astype(np.float32)
    light[0] = 2.0
    plain = shade(gbuffer_to_tensors(geometry.gbuffer), light_sh=light, roughness=0.45, **maps)
    tapped = shade(gbuffer_to_tensors(geometry.gbuffer, map_sizes=(16, 32)), light_sh=light, roughness=0.45, **maps)
    np.testing.assert_array_equal(plain["radiance"].numpy(), tapped["radiance"].numpy())


def test_xla_step_follows_the_graph_step(geometry, texture):
    networks, tex = texture
    template = load_face_template()
    settings = FitSettings(steps=4, learning_rate=0.05, working_face_px=0, held_maps=(), jit_shader=False)
    plain = LatentFitter(networks, settings).fit(geometry.gbuffer, tex, geometry.work_image, template)
    xla = LatentFitter(networks, dataclasses.replace(settings, jit_shader=True)).fit(
        geometry.gbuffer, tex, geometry.work_image, template)
    np.testing.assert_allclose(xla.loss_history, plain.loss_history, rtol=2e-4)
    np.testing.assert_allclose(xla.light_sh, plain.light_sh, atol=2e-5)
    assert plain.loss_history[-1] < plain.loss_history[0]


def test_held_maps_stay_at_the_encoders_prediction_and_outputs_stay_full_resolution(geometry, texture):
    networks, tex = texture
    template = load_face_template()
    extent = face_extent_px(geometry.gbuffer)
    settings = FitSettings(steps=4, learning_rate=0.05, working_face_px=extent // 2)
    result = LatentFitter(networks, settings).fit(geometry.gbuffer, tex, geometry.work_image, template)
    assert result.working_factor == 2 and result.working_pixels < geometry.gbuffer.pixel_count / 3
    assert result.radiance.shape == (geometry.gbuffer.pixel_count, 3)
    assert result.weights.shape == (geometry.gbuffer.pixel_count,)
    for held in ("specular", "normal"):
        np.testing.assert_array_equal(result.maps[held], result.initial_maps[held])
    assert np.abs(result.maps["albedo"] - result.initial_maps["albedo"]).max() > 1e-4
    moving = LatentFitter(networks, dataclasses.replace(settings, held_maps=())).fit(
        geometry.gbuffer, tex, geometry.work_image, template)
    assert np.abs(moving.maps["specular"] - moving.initial_maps["specular"]).max() > 0
    assert result.scene is not None and result.scene.gbuffer is geometry.gbuffer


def test_settings_reject_unknown_held_maps():
    with pytest.raises(ValueError, match="held_maps"):
        FitSettings(held_maps=("roughness",))
    with pytest.raises(ValueError):
        FitSettings(working_face_px=-1)
