"""Equirect geometry, SH projection, rotation and GGX prefiltering (svfri.render.environment)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from svfri.data.hdri import sample_hdri_path
from svfri.io.hdr import read_environment
from svfri.math.sh import sh_basis_np
from svfri.render import environment as env_mod
from svfri.render.environment import (
    PrefilteredEnvironment, apply_exposure, direction_to_equirect_uv, environment_to_sh, equirect_directions,
    equirect_solid_angles, equirect_uv_to_direction, ggx_prefilter_reference, resize_environment,
    rotate_environment, sample_environment,
)

#: Zonal SH coefficients of the clamped cosine max(0, cos theta) about its axis, bands 0..2
#: (Ramamoorthi & Hanrahan 2001): int max(0, cos) Y_l0 dw = sqrt(pi)/2, sqrt(pi/3), sqrt(5 pi)/8.
CLAMPED_COSINE_ZONAL = (math.sqrt(math.pi) / 2.0, math.sqrt(math.pi / 3.0), math.sqrt(5.0 * math.pi) / 8.0)
BAND = np.array([0, 1, 1, 1, 2, 2, 2, 2, 2])


def _unit(vector):
    vector = np.asarray(vector, dtype=np.float64)
    return vector / np.linalg.norm(vector, axis=-1, keepdims=True)


def _random_directions(count, seed=0):
    return _unit(np.random.default_rng(seed).normal(size=(count, 3)))


def _rotation_y(degrees):
    a = math.radians(degrees)
    return np.array([[math.cos(a), 0.0, math.sin(a)], [0.0, 1.0, 0.0], [-math.sin(a), 0.0, math.cos(a)]])


def _smooth_map(height, width, *, sun=True):
    """Sky gradient plus (optionally) a bright Gaussian 'sun' lobe; float32 [H, W, 3]."""
    direction = equirect_directions(height, width, dtype=np.float64)
    sun_direction = _unit([0.4, 0.6, 0.7])
    base = 0.3 + 0.2 * direction[..., 1:2] * np.array([0.5, 1.0, 1.5])
    lobe = np.exp(60.0 * (direction @ sun_direction - 1.0))[..., None] * np.array([50.0, 45.0, 40.0])
    return (base + (lobe if sun else 0.0)).astype(np.float32)


# --- mapping ----------------------------------------------------------------------------------------------

def test_directions_follow_the_convention_at_known_points():
    cases = {(0.5, 0.5): [0, 0, 1], (0.0, 0.5): [0, 0, -1], (0.25, 0.5): [1, 0, 0], (0.75, 0.5): [-1, 0, 0],
             (0.3, 0.0): [0, 1, 0], (0.3, 1.0): [0, -1, 0]}
    for uv, expected in cases.items():
        np.testing.assert_allclose(equirect_uv_to_direction(np.array(uv)), expected, atol=1e-12)
    for uv, direction in cases.items():
        if 0.0 < uv[1] < 1.0:  # u is undefined at the poles
            np.testing.assert_allclose(direction_to_equirect_uv(np.array(direction, float)), uv, atol=1e-12)


def test_pixel_directions_are_unit_and_match_the_formula():
    height, width = 6, 12
    direction = equirect_directions(height, width, dtype=np.float64)
    assert direction.shape == (height, width, 3)
    np.testing.assert_allclose(np.linalg.norm(direction, axis=-1), 1.0, atol=1e-12)
    i, j = 1, 4  # centre u = 4.5/12, v = 1.5/6, written out from svfri.conventions
    theta, phi = math.pi * 1.5 / 6, 2 * math.pi * 4.5 / 12
    np.testing.assert_allclose(direction[i, j], [math.sin(theta) * math.sin(phi), math.cos(theta),
                                                 -math.sin(theta) * math.cos(phi)], atol=1e-12)
    assert direction[0, 0, 1] > 0.9 and direction[-1, 0, 1] < -0.9  # top row +Y, bottom row -Y
    assert direction[3, 5, 2] > 0.9 and direction[3, 6, 2] > 0.9  # columns either side of the centre: +Z
    assert direction[3, 8, 0] < -0.9  # u ~ 0.75: -X (panorama not mirrored)


def test_uv_direction_round_trip():
    direction = _random_directions(500)
    np.testing.assert_allclose(equirect_uv_to_direction(direction_to_equirect_uv(direction)), direction, atol=1e-12)
    uv = direction_to_equirect_uv(direction)
    assert np.all((uv[:, 0] >= 0.0) & (uv[:, 0] < 1.0) & (uv[:, 1] >= 0.0) & (uv[:, 1] <= 1.0))


def test_solid_angles_sum_to_four_pi_and_follow_sin_theta():
    for height, width in [(4, 8), (64, 128), (256, 512)]:
        solid_angle = equirect_solid_angles(height, width, dtype=np.float64)
        assert solid_angle.shape == (height, width)
        assert solid_angle.sum() == pytest.approx(4.0 * math.pi, rel=1e-12)
    solid_angle = equirect_solid_angles(64, 128, dtype=np.float64)
    theta = math.pi * (np.arange(64) + 0.5) / 64
    np.testing.assert_allclose(solid_angle[:, 0], np.sin(theta) * (math.pi / 64) * (2 * math.pi / 128), rtol=1e-3)


def test_sample_environment_hits_pixel_values_at_centres_and_wraps():
    image = np.random.default_rng(1).uniform(size=(8, 16, 3)).astype(np.float32)
    direction = equirect_directions(8, 16, dtype=np.float64)
    np.testing.assert_allclose(sample_environment(image, direction), image, atol=1e-6)
    seam = equirect_uv_to_direction(np.array([0.0, 0.5 / 8]))  # between last and first column, top row
    np.testing.assert_allclose(sample_environment(image, seam), 0.5 * (image[0, 0] + image[0, -1]), atol=1e-6)


# --- resize, rotation, exposure ----------------------------------------------------------------------------

def test_resize_preserves_radiant_energy():
    image = np.random.default_rng(2).uniform(0.0, 10.0, size=(64, 128, 3)).astype(np.float32)
    energy = np.einsum("hwc,hw->c", image.astype(np.float64), equirect_solid_angles(64, 128, dtype=np.float64))
    for height, width in [(32, 64), (16, 32)]:
        small = resize_environment(image, height, width)
        small_energy = np.einsum("hwc,hw->c", small.astype(np.float64),
                                 equirect_solid_angles(height, width, dtype=np.float64))
        np.testing.assert_allclose(small_energy, energy, rtol=1e-5)
    with pytest.raises(ValueError, match="only shrinks"):
        resize_environment(image, 128, 256)


def test_rotation_by_90_degrees_moves_a_spot_to_the_predicted_column_and_direction():
    height, width = 16, 64
    image = np.zeros((height, width, 3), np.float32)
    image[5, 40] = 1.0
    rotated = rotate_environment(image, 90.0)
    row, column = np.unravel_index(np.argmax(rotated[..., 0]), (height, width))
    assert (row, column) == (5, 40 - width // 4)  # content moves left by a quarter turn
    directions = equirect_directions(height, width, dtype=np.float64)
    np.testing.assert_allclose(directions[row, column], _rotation_y(90.0) @ directions[5, 40], atol=1e-12)
    np.testing.assert_array_equal(rotate_environment(image, 360.0), image)
    np.testing.assert_array_equal(rotate_environment(image, -270.0), rotated)
    # +90 degrees takes the light at +Z (centre) to +X (u = 0.25).
    centre = np.zeros((height, width, 3), np.float32)
    centre[:, width // 2] = 1.0
    assert np.argmax(rotate_environment(centre, 90.0)[8, :, 0]) == width // 4


def test_fractional_rotation_matches_rotating_the_lookup_direction():
    image = _smooth_map(64, 128, sun=False) + _smooth_map(64, 128, sun=True) * 0.01
    yaw = 37.3  # 13.26 columns: interpolated
    rotated = rotate_environment(image, yaw)
    direction = _random_directions(200, seed=3)
    expected = sample_environment(image, direction)
    got = sample_environment(rotated, direction @ _rotation_y(yaw).T)
    np.testing.assert_allclose(got, expected, rtol=2e-2, atol=1e-3)
    np.testing.assert_allclose(rotated.sum(axis=1), image.sum(axis=1), rtol=1e-5)  # energy per row kept


def test_exposure_scales_by_powers_of_two():
    image = np.full((4, 8, 3), 0.75, np.float32)
    np.testing.assert_allclose(apply_exposure(image, 1.0), 1.5)
    np.testing.assert_allclose(apply_exposure(image, -2.0), 0.1875)
    assert apply_exposure(image, 0.5).dtype == np.float32


# --- SH projection -----------------------------------------------------------------------------------------

def test_sh_projection_of_a_constant_map():
    coefficients = environment_to_sh(np.full((32, 64, 3), [1.0, 2.0, 0.5], np.float32))
    assert coefficients.shape == (9, 3)
    np.testing.assert_allclose(coefficients[0], math.sqrt(4 * math.pi) * np.array([1.0, 2.0, 0.5]), rtol=1e-6)
    np.testing.assert_allclose(coefficients[1:], 0.0, atol=1e-12)


def test_pixel_sh_integrals_agree_with_the_shared_basis_by_the_midpoint_rule():
    height, width = 64, 128
    integrals = env_mod.equirect_sh_integrals(height, width)
    midpoint = (sh_basis_np(equirect_directions(height, width, dtype=np.float64))
                * equirect_solid_angles(height, width, dtype=np.float64)[..., None])
    scale = np.abs(midpoint).max()
    np.testing.assert_allclose(integrals, midpoint, atol=2e-3 * scale)
    # environment_to_sh's separable fast path sums the same integrals.
    image = np.random.default_rng(8).uniform(size=(height, width, 3))
    np.testing.assert_allclose(environment_to_sh(image), np.einsum("hwk,hwc->kc", integrals, image), rtol=1e-5)
    # The midpoint error falls as 1/H^2: four times smaller at twice the resolution.
    error = [np.abs(env_mod.equirect_sh_integrals(h, 2 * h)
                    / equirect_solid_angles(h, 2 * h, dtype=np.float64)[..., None]
                    - sh_basis_np(equirect_directions(h, 2 * h, dtype=np.float64)))[h // 4].max() for h in (32, 64)]
    assert 3.5 < error[0] / error[1] < 4.5, error


def test_sh_projection_of_a_clamped_cosine_lobe_matches_the_closed_form():
    axis = _unit([0.3, -0.5, 0.8])
    height, width = 128, 256
    lobe = np.maximum(equirect_directions(height, width, dtype=np.float64) @ axis, 0.0)
    coefficients = environment_to_sh(lobe[..., None])[:, 0]
    # A zonal function with coefficients z_l about `axis` has c_lm = sqrt(4 pi / (2l + 1)) z_l Y_lm(axis).
    zonal = np.array(CLAMPED_COSINE_ZONAL)[BAND]
    expected = np.sqrt(4 * math.pi / (2 * BAND + 1)) * zonal * sh_basis_np(axis)
    np.testing.assert_allclose(coefficients, expected, atol=2e-4)


def test_sh_projection_recovers_band_limited_radiance():
    truth = np.random.default_rng(4).normal(size=(9, 3))
    image = sh_basis_np(equirect_directions(128, 256, dtype=np.float64)) @ truth
    np.testing.assert_allclose(environment_to_sh(image), truth, atol=5e-4)  # pixel-centre samples: O(1/H^2)


# --- prefiltering -----------------------------------------------------------------------------------------

def test_prefiltered_level_zero_is_the_map_and_lookup_at_roughness_zero_samples_it():
    image = _smooth_map(32, 64)
    prefiltered = PrefilteredEnvironment.from_environment(image)
    np.testing.assert_array_equal(prefiltered.levels[0], image)
    assert prefiltered.roughness == env_mod.DEFAULT_ROUGHNESS_LEVELS
    direction = equirect_directions(32, 64, dtype=np.float64).reshape(-1, 3)
    np.testing.assert_allclose(prefiltered.lookup(direction, 0.0), image.reshape(-1, 3), rtol=1e-5)


def test_prefiltering_a_constant_map_keeps_it_constant_at_every_level():
    prefiltered = PrefilteredEnvironment.from_environment(np.full((64, 128, 3), [2.0, 1.0, 0.5], np.float32))
    for level in prefiltered.levels:
        np.testing.assert_allclose(level, np.broadcast_to([2.0, 1.0, 0.5], level.shape), rtol=1e-5)
    direction = _random_directions(100, seed=5)
    roughness = np.random.default_rng(5).uniform(0.0, 1.0, size=100)
    np.testing.assert_allclose(prefiltered.lookup(direction, roughness), np.tile([2.0, 1.0, 0.5], (100, 1)),
                               rtol=1e-5)


def test_prefiltered_levels_equal_the_direct_reference_when_no_downsampling_happens():
    image = _smooth_map(32, 64)  # narrower than PREFILTER_MIN_WIDTH: every level is 64 x 32, source = map
    prefiltered = PrefilteredEnvironment.from_environment(image)
    direction = equirect_directions(32, 64, dtype=np.float64).reshape(-1, 3)
    for level, roughness in zip(prefiltered.levels[1:], prefiltered.roughness[1:]):
        assert level.shape == image.shape
        reference = ggx_prefilter_reference(image, direction, roughness).reshape(level.shape)
        np.testing.assert_allclose(level, reference, rtol=1e-5)


def test_prefiltered_lookup_is_close_to_the_full_resolution_reference():
    image = _smooth_map(256, 512)
    prefiltered = PrefilteredEnvironment.from_environment(image)
    assert [level.shape[1] for level in prefiltered.levels] == [512, 256, 128, 128, 128, 128]
    direction = _random_directions(40, seed=6)
    for roughness in (0.2, 0.4, 0.6, 0.8, 1.0):
        reference = ggx_prefilter_reference(image, direction, roughness)
        error = np.abs(prefiltered.lookup(direction, roughness) - reference) / reference
        assert np.median(error) < 2e-3 and error.max() < 2e-2, (roughness, np.median(error), error.max())


def test_rougher_levels_spread_a_bright_light():
    image = _smooth_map(64, 128)
    prefiltered = PrefilteredEnvironment.from_environment(image)
    sun = _unit([0.4, 0.6, 0.7])[None]
    peaks = [prefiltered.lookup(sun, roughness)[0, 0] for roughness in prefiltered.roughness]
    assert all(b < a for a, b in zip(peaks, peaks[1:])), peaks
    # Halfway between two levels the lookup is the average of the two.
    halfway = prefiltered.lookup(sun, 0.5)[0, 0]
    assert halfway == pytest.approx(0.5 * (peaks[2] + peaks[3]), rel=1e-5)


def test_prefiltering_the_shipped_studio_map():
    image = read_environment(sample_hdri_path("studio"))
    prefiltered = PrefilteredEnvironment.from_environment(image)
    direction = _random_directions(30, seed=7)
    reference = ggx_prefilter_reference(image, direction, 0.6)
    # Levels are exact at texel centres here (map narrower than PREFILTER_MIN_WIDTH); what remains is the
    # bilinear interpolation between them, largest in relative terms in dark directions.
    np.testing.assert_allclose(prefiltered.lookup(direction, 0.6), reference, rtol=2e-2,
                               atol=1e-2 * reference.mean())


def test_roughness_levels_are_validated():
    with pytest.raises(ValueError, match="start at 0 and increase"):
        PrefilteredEnvironment(levels=(np.ones((4, 8, 3)), np.ones((4, 8, 3))), roughness=(0.1, 0.5))
    with pytest.raises(ValueError, match="one roughness value per level"):
        PrefilteredEnvironment(levels=(np.ones((4, 8, 3)),), roughness=(0.0, 0.5))


def test_metering_exposure_brings_mean_luminance_to_one():
    from svfri.render.environment import equirect_solid_angles, metering_exposure_ev

    constant = np.full((32, 64, 3), 4.0, np.float32)
    assert np.isclose(metering_exposure_ev(constant), -2.0)
    rng = np.random.default_rng(3)
    env = rng.gamma(0.5, 2.0, (32, 64, 3)).astype(np.float32)
    exposed = apply_exposure(env, metering_exposure_ev(env))
    weights = equirect_solid_angles(32, 64, dtype=np.float64)
    luminance = exposed.astype(np.float64) @ np.array([0.2126, 0.7152, 0.0722])
    assert np.isclose((luminance * weights).sum() / (4 * np.pi), 1.0, rtol=1e-3)
    with pytest.raises(ValueError, match="no positive light"):
        metering_exposure_ev(np.zeros((8, 16, 3), np.float32))
