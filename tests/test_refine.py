"""The detail refinement (svfri.fitting.refine): recovery of albedo detail, the low-pass prior, its filters."""

import dataclasses

import cv2
import numpy as np
import pytest
import tensorflow as tf

from svfri.fitting.optimise import pixel_weights
from svfri.fitting.refine import AlbedoRefiner, face_texel_mask, gaussian_kernel_1d, lowpass
from svfri.fitting.settings import RefineSettings
from svfri.geometry.template import load_face_template
from svfri.io.images import read_photo
from svfri.math.color import linear_to_srgb_np, srgb_to_linear_np
from svfri.pipeline.geometry_stage import GeometrySettings, compute_geometry
from svfri.render.shading import gbuffer_to_tensors, shade

MAP_SIZE = 128
LIGHT = np.zeros((9, 3), np.float32)
LIGHT[0] = 3.0          # bright, mostly frontal light: every seen texel gets signal
LIGHT[2] = 1.0
SPECULAR = np.full((16, 16, 1), 0.5, np.float32)
FLAT_NORMAL = np.tile(np.array([0.5, 0.5, 1.0], np.float32), (16, 16, 1))
ROUGHNESS = 0.45


@pytest.fixture(scope="module")
def scene(sample_photo):
    geometry = compute_geometry(read_photo(sample_photo), GeometrySettings(mesh="template", texture_size=64))
    template = load_face_template()
    rng = np.random.default_rng(7)
    base = np.empty((MAP_SIZE, MAP_SIZE, 3), np.float32)
    base[...] = (0.75, 0.55, 0.45)
    # Albedo detail the smooth "network" map lacks: dark blobs of a few texels (freckles / stubble / brow hair).
    detail = np.zeros((MAP_SIZE, MAP_SIZE), np.float32)
    detail[rng.integers(0, MAP_SIZE, 300), rng.integers(0, MAP_SIZE, 300)] = 1.0
    detail = np.clip(cv2.GaussianBlur(detail, (0, 0), 1.0) * 6.0, 0.0, 1.0)
    truth = base * (1.0 - 0.5 * detail[..., None])
    return geometry, template, base, truth


def render(geometry, albedo_srgb):
    shaded = shade(gbuffer_to_tensors(geometry.gbuffer), albedo_srgb_map=albedo_srgb, specular_map=SPECULAR,
                   normal_map=FLAT_NORMAL, light_sh=LIGHT, roughness=ROUGHNESS)
    return shaded["radiance"].numpy()


def photo_of(geometry, radiance):
    encoded = linear_to_srgb_np(np.clip(radiance, 0.0, 1.0)).astype(np.float32)
    return geometry.gbuffer.scatter(encoded, background=geometry.work_image)


def refine(geometry, template, photo, albedo, settings):
    return AlbedoRefiner(MAP_SIZE, settings).refine(
        geometry.gbuffer, photo, albedo_srgb=albedo, specular=SPECULAR, normal=FLAT_NORMAL, light_sh=LIGHT,
        roughness=ROUGHNESS, weights=pixel_weights(geometry.gbuffer, template),
        face_region=template.region_masks["face"])


def seen_texels(geometry, template):
    """Texels the loss sees (weight > 0.5) and inside the face region."""
    weights = pixel_weights(geometry.gbuffer, template)
    uv = geometry.gbuffer.uv[weights > 0.5]
    seen = np.zeros((MAP_SIZE, MAP_SIZE), np.uint8)
    columns = np.clip((uv[:, 0] * MAP_SIZE).astype(int), 0, MAP_SIZE - 1)
    rows = np.clip(((1.0 - uv[:, 1]) * MAP_SIZE).astype(int), 0, MAP_SIZE - 1)
    seen[rows, columns] = 1
    seen = cv2.erode(seen, np.ones((3, 3), np.uint8)) > 0       # away from the seen area's border
    return seen & (face_texel_mask(template.region_masks["face"], MAP_SIZE)[..., 0] > 0.99)


def test_recovers_albedo_detail_the_smooth_map_lacks(scene):
    geometry, template, base, truth = scene
    photo = photo_of(geometry, render(geometry, truth))
    # Weak priors: this checks the mechanism (gradients reach the texels, the optimum is the true albedo), not the
    # shipped weights, which trade detail for robustness to shading (docs/benchmarks/refine_tuning_round2.md).
    result = refine(geometry, template, photo, base, RefineSettings(steps=80, learning_rate=0.05, prior_weight=1e-3,
                                                                    smooth_weight=1e-2))
    mask = seen_texels(geometry, template)
    assert mask.sum() > 2000
    before = np.sqrt(np.mean((base - truth)[mask] ** 2))
    after = np.sqrt(np.mean((result.albedo - truth)[mask] ** 2))
    assert after < 0.5 * before, (before, after)
    assert result.data_loss_history[-1] < 0.2 * result.data_loss_history[0]
    # The render with the refined map is the one returned.
    assert np.allclose(result.radiance, render(geometry, result.albedo), atol=2e-3)


def test_a_photo_the_map_already_explains_changes_nothing(scene):
    geometry, template, base, _ = scene
    photo = photo_of(geometry, render(geometry, base))
    result = refine(geometry, template, photo, base, RefineSettings(steps=30))
    assert np.abs(result.log_ratio).max() < 0.03
    assert np.abs(result.albedo - base).max() < 0.02


def test_lowpass_prior_keeps_smooth_shading_error_out_of_the_albedo(scene):
    """The photo is the true render times a smooth left-to-right shading ramp the model cannot make (as a key
    light's falloff would be): without the low-pass prior the albedo absorbs the ramp, with it much less."""
    geometry, template, base, _ = scene
    radiance = render(geometry, base)
    columns = geometry.gbuffer.pixel_index % geometry.gbuffer.width
    ramp = 0.55 + 0.9 * columns / geometry.gbuffer.width
    photo = photo_of(geometry, radiance * ramp[:, None])
    settings = RefineSettings(steps=60, lowpass_weight=0.3)
    free = refine(geometry, template, photo, base, dataclasses.replace(settings, lowpass_weight=0.0))
    held = refine(geometry, template, photo, base, settings)
    mask = seen_texels(geometry, template)

    def low_frequency(log_ratio):
        return np.abs(cv2.GaussianBlur(log_ratio, (0, 0), MAP_SIZE * settings.lowpass_sigma))[mask].mean()

    assert low_frequency(free.log_ratio) > 0.05
    assert low_frequency(held.log_ratio) < 0.5 * low_frequency(free.log_ratio)


def test_gaussian_kernel_and_lowpass():
    kernel = gaussian_kernel_1d(2.0)
    assert kernel.shape == (2 * 6 + 1,) and np.isclose(kernel.sum(), 1.0) and np.allclose(kernel, kernel[::-1])
    constant = tf.fill([64, 64, 3], 0.7)
    low = lowpass(constant, sigma=4.0).numpy()
    assert low.shape == (16, 16, 3)
    assert np.allclose(low[4:-4, 4:-4], 0.7, atol=1e-6)           # away from the zero padding
    impulse = np.zeros((64, 64, 1), np.float32)
    impulse[30:34, 30:34] = 1.0                                   # one pooled texel
    assert np.isclose(lowpass(tf.constant(impulse), sigma=4.0).numpy().sum(), 1.0, atol=1e-5)


def test_face_texel_mask_and_settings_validation():
    template = load_face_template()
    mask = face_texel_mask(template.region_masks["face"], 64)
    assert mask.shape == (64, 64, 1) and 0.0 <= mask.min() and mask.max() <= 1.0 and mask.mean() > 0.2
    for bad in ({"steps": -1}, {"prior_weight": -1.0}, {"lowpass_sigma": 0.0}):
        with pytest.raises(ValueError):
            RefineSettings(**bad)
    with pytest.raises(ValueError, match="multiple of 4"):
        AlbedoRefiner(30)


def test_albedo_stays_linear_consistent(scene):
    """delta is a log-ratio on the linear albedo: the returned sRGB map decodes to base_linear * exp(delta)."""
    geometry, template, base, truth = scene
    photo = photo_of(geometry, render(geometry, truth))
    result = refine(geometry, template, photo, base, RefineSettings(steps=10))
    expected = linear_to_srgb_np(np.clip(srgb_to_linear_np(base) * np.exp(result.log_ratio), 0.0, 1.0))
    assert np.allclose(result.albedo, expected, atol=1e-5)
