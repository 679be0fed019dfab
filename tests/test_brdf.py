"""Tests of svfri.math.brdf (GGX, Smith, Schlick), svfri.math.sampling and svfri.math.color."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf

from svfri.math import brdf, color, sampling

RNG_SEED = 99


def _hemisphere_integral_over_theta(fn, *, points=400001):
    """``2 pi int_0^{pi/2} fn(theta) sin(theta) dtheta`` for azimuth-independent ``fn``, dense trapezoid."""
    theta = np.linspace(0.0, math.pi / 2.0, points)
    return 2.0 * math.pi * np.trapezoid(fn(theta) * np.sin(theta), theta)


@pytest.mark.parametrize("alpha", [0.02, 0.1, 0.3, 0.6, 1.0])
def test_ggx_ndf_is_normalised_in_projected_area(alpha):
    total = _hemisphere_integral_over_theta(lambda t: brdf.ggx_ndf(np.cos(t), alpha) * np.cos(t))
    assert total == pytest.approx(1.0, abs=1e-6)


def test_ggx_ndf_closed_form_values():
    # alpha = 1: uniform 1/pi; peak value at n.h = 1 is 1 / (pi alpha^2).
    np.testing.assert_allclose(brdf.ggx_ndf(np.array([0.0, 0.3, 1.0]), 1.0), 1.0 / math.pi, rtol=1e-14)
    assert brdf.ggx_ndf(1.0, 0.25) == pytest.approx(1.0 / (math.pi * 0.0625), rel=1e-14)


def test_alpha_is_roughness_squared():
    assert brdf.roughness_to_alpha(0.5) == 0.25
    np.testing.assert_allclose(brdf.roughness_to_alpha(tf.constant([0.3, 1.0])).numpy(), [0.09, 1.0], rtol=1e-6)


def test_fresnel_schlick_limits_and_monotonic():
    f0 = brdf.SKIN_F0
    assert brdf.fresnel_schlick(1.0, f0) == pytest.approx(f0, abs=1e-15)
    assert brdf.fresnel_schlick(0.0, f0) == pytest.approx(1.0, abs=1e-15)
    cosine = np.linspace(0.0, 1.0, 50)
    assert np.all(np.diff(brdf.fresnel_schlick(cosine, f0)) < 0)
    assert brdf.fresnel_schlick(0.5, f0) == pytest.approx(f0 + (1 - f0) / 32.0, rel=1e-14)


def test_skin_f0_matches_index_of_refraction():
    assert brdf.fresnel_f0_from_ior(brdf.SKIN_INDEX_OF_REFRACTION) == pytest.approx(0.027778, abs=1e-6)
    assert brdf.SKIN_F0 == pytest.approx(brdf.fresnel_f0_from_ior(brdf.SKIN_INDEX_OF_REFRACTION), abs=5e-4)


def _smith_lambda(cosine, alpha):
    """Smith Lambda for GGX (Heitz 2014, eq. 72): (-1 + sqrt(1 + alpha^2 tan^2 theta)) / 2."""
    tan2 = (1.0 - cosine * cosine) / (cosine * cosine)
    return 0.5 * (-1.0 + np.sqrt(1.0 + alpha * alpha * tan2))


def test_visibility_symmetric_and_matches_heitz_g2():
    rng = np.random.default_rng(RNG_SEED)
    n_dot_v = rng.uniform(0.05, 1.0, size=100)
    n_dot_l = rng.uniform(0.05, 1.0, size=100)
    alpha = rng.uniform(0.01, 1.0, size=100)
    visibility = brdf.smith_ggx_correlated_visibility(n_dot_v, n_dot_l, alpha)
    np.testing.assert_allclose(visibility, brdf.smith_ggx_correlated_visibility(n_dot_l, n_dot_v, alpha), rtol=1e-14)
    # Height-correlated G2 = 1 / (1 + Lambda(v) + Lambda(l)) (Heitz 2014, eq. 99), V = G2 / (4 n.l n.v).
    g2 = 1.0 / (1.0 + _smith_lambda(n_dot_v, alpha) + _smith_lambda(n_dot_l, alpha))
    np.testing.assert_allclose(visibility, g2 / (4.0 * n_dot_v * n_dot_l), rtol=1e-12)
    # Smooth limit: G2 = 1.
    np.testing.assert_allclose(brdf.smith_ggx_correlated_visibility(n_dot_v, n_dot_l, 0.0),
                               1.0 / (4.0 * n_dot_v * n_dot_l), rtol=1e-14)


def test_specular_energy_at_normal_incidence():
    """White furnace with F = 1: single-scattering GGX reflects <= 1, ~1 when smooth, less as it roughens.

    Golden value: at alpha = 1 and n.v = 1, D = 1/pi and V = 0.5 / (1 + n.l), so the albedo is
    int_0^1 mu / (1 + mu) dmu = 1 - ln 2.
    """
    directions, weights = sampling.hemisphere_quadrature_np(500, 8)  # the lobe is azimuth-symmetric here
    view = np.array([0.0, 0.0, 1.0])
    half = directions + view
    half /= np.linalg.norm(half, axis=-1, keepdims=True)
    n_dot_l = directions[:, 2]
    energy = []
    for alpha in (0.05, 0.3, 0.8, 1.0):
        value = brdf.ggx_specular_brdf(1.0, n_dot_l, half[:, 2], half @ view, alpha, 1.0) * n_dot_l
        energy.append(np.sum(weights * value))
    assert energy[0] == pytest.approx(1.0, abs=5e-3)
    assert energy[-1] == pytest.approx(1.0 - math.log(2.0), abs=1e-9)
    assert np.all(np.diff(energy) < 0) and max(energy) <= 1.0


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64])
def test_tf_and_numpy_agree_and_gradients_are_finite(dtype):
    rng = np.random.default_rng(RNG_SEED)
    cosines = rng.uniform(0.1, 1.0, size=(4, 4))
    alpha = 0.3
    numpy_value = brdf.ggx_specular_brdf(*cosines, alpha, brdf.SKIN_F0)
    tensors = [tf.constant(c, dtype) for c in cosines]
    with tf.GradientTape() as tape:
        tape.watch(tensors)
        tf_value = brdf.ggx_specular_brdf(*tensors, tf.constant(alpha, dtype), brdf.SKIN_F0)
    assert tf_value.dtype == dtype
    np.testing.assert_allclose(tf_value.numpy(), numpy_value, rtol=1e-5 if dtype == tf.float32 else 1e-13)
    gradients = tape.gradient(tf_value, tensors)
    assert all(np.all(np.isfinite(g.numpy())) for g in gradients)


def test_hammersley_points():
    points = sampling.hammersley_2d_np(4)
    np.testing.assert_array_equal(points, [[0.0, 0.0], [0.25, 0.5], [0.5, 0.25], [0.75, 0.75]])
    many = sampling.hammersley_2d_np(1024)
    assert np.all((many >= 0) & (many < 1))
    assert np.unique(many[:, 1]).size == 1024


@pytest.mark.parametrize("alpha", [0.1, 0.5])
def test_ggx_sampler_matches_its_density_statistically(alpha):
    """P(n.h > c) from the sampler equals int_{n.h > c} D (n.h) dh (Hammersley, so the error is tiny)."""
    half = sampling.sample_ggx_half_vector_np(sampling.hammersley_2d_np(4096), alpha)
    np.testing.assert_allclose(np.linalg.norm(half, axis=-1), 1.0, atol=1e-12)
    for threshold in (0.5, 0.9, 0.99):
        empirical = np.mean(half[:, 2] > threshold)
        theta_max = math.acos(threshold)
        theta = np.linspace(0.0, theta_max, 200001)
        expected = 2.0 * math.pi * np.trapezoid(
            brdf.ggx_ndf(np.cos(theta), alpha) * np.cos(theta) * np.sin(theta), theta)
        assert empirical == pytest.approx(expected, abs=2e-3)
    # Azimuth is uniform: the mean half vector lies on +Z.
    np.testing.assert_allclose(half[:, :2].mean(axis=0), 0.0, atol=2e-3)


def test_sphere_quadrature_integrates_polynomials_exactly():
    directions, weights = sampling.sphere_quadrature_np(3)  # exact to degree 5
    assert weights.sum() == pytest.approx(4.0 * math.pi, rel=1e-14)
    x, y, z = directions.T
    assert np.sum(weights * z ** 4) == pytest.approx(4.0 * math.pi / 5.0, rel=1e-13)
    assert np.sum(weights * x * x * y * y) == pytest.approx(4.0 * math.pi / 15.0, rel=1e-13)
    with pytest.raises(ValueError):
        sampling.sphere_quadrature_np(0)


# ---------------------------------------------------------------------------------------------- colour

def test_srgb_round_trip_and_golden_values():
    encoded = np.linspace(0.0, 1.0, 101)
    linear = color.srgb_to_linear_np(encoded)
    np.testing.assert_allclose(color.linear_to_srgb_np(linear), encoded, atol=1e-12)
    assert color.srgb_to_linear_np(np.array(0.5)) == pytest.approx(0.21404114, abs=1e-7)
    assert color.linear_to_srgb_np(np.array(0.18)) == pytest.approx(0.46135612, abs=1e-7)
    assert color.srgb_to_linear_np(np.array(1.0)) == pytest.approx(1.0, abs=1e-12)
    # The two segments meet continuously at the thresholds.
    t = color.SRGB_DECODE_THRESHOLD
    assert color.srgb_to_linear_np(np.array(t - 1e-12)) == pytest.approx(color.srgb_to_linear_np(np.array(t + 1e-12)),
                                                                         abs=1e-7)
    np.testing.assert_allclose(color.srgb_to_linear(tf.constant(encoded)).numpy(), linear, atol=1e-14)
    np.testing.assert_allclose(color.linear_to_srgb(tf.constant(linear)).numpy(), encoded, atol=1e-12)


@pytest.mark.parametrize("fn", [color.srgb_to_linear, color.linear_to_srgb])
def test_srgb_gradients_finite_at_zero_and_match_finite_differences(fn):
    at_zero = tf.constant([0.0, -0.1, 1e-9], tf.float64)
    with tf.GradientTape() as tape:
        tape.watch(at_zero)
        value = fn(at_zero)
    assert np.all(np.isfinite(tape.gradient(value, at_zero).numpy()))
    points = tf.constant([0.001, 0.02, 0.2, 0.7, 1.3], tf.float64)
    theoretical, numerical = tf.test.compute_gradient(fn, [points], delta=1e-6)
    np.testing.assert_allclose(theoretical[0], numerical[0], atol=1e-5)
