"""Tests of svfri.render.texture and svfri.render.shading (the differentiable shader)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf

from svfri.math.brdf import SKIN_F0
from svfri.math.color import srgb_to_linear_np
from svfri.math.sh import SH_C1, sh_basis_np
from svfri.render.dfg import dfg_lookup
from svfri.render.gbuffer import GBuffer
from svfri.render.shading import (gbuffer_to_tensors, shade, shading_normal, specular_occlusion,
                                  spherical_cap_intersection)
from svfri.render.texture import bilinear_taps, sample_bilinear, sample_bilinear_taps

RNG_SEED = 7
#: Constant radiance 1 in SH (sqrt(4 pi) on Y00), RGB.
CONSTANT_ONE_LIGHT = np.concatenate([np.full((1, 3), math.sqrt(4.0 * math.pi)), np.zeros((8, 3))])


def _hemisphere_visibility(normal):
    """Analytic SH of the unoccluded hemisphere about each normal: [sqrt(pi), C1 pi (y, z, x), 0...]."""
    normal = np.asarray(normal, dtype=np.float64)
    visibility = np.zeros(normal.shape[:-1] + (9,))
    visibility[..., 0] = math.sqrt(math.pi)
    visibility[..., 1] = SH_C1 * math.pi * normal[..., 1]
    visibility[..., 2] = SH_C1 * math.pi * normal[..., 2]
    visibility[..., 3] = SH_C1 * math.pi * normal[..., 0]
    return visibility


def _gbuffer(uv, normal, tangent, *, visibility=None, size=(4, 4)):
    count = uv.shape[0]
    normal = normal / np.linalg.norm(normal, axis=-1, keepdims=True)
    return GBuffer(
        height=size[0], width=size[1], pixel_index=np.arange(count, dtype=np.int64),
        triangle_id=np.zeros(count, np.int32), barycentric=np.full((count, 3), 1.0 / 3.0, np.float32),
        position=np.zeros((count, 3), np.float32), uv=uv.astype(np.float32), normal=normal.astype(np.float32),
        tangent=tangent.astype(np.float32),
        visibility_sh=(_hemisphere_visibility(normal) if visibility is None else visibility).astype(np.float32),
        bent_normal=normal.astype(np.float32))


def _plane_gbuffer(count=6, seed=RNG_SEED):
    """A flat plane facing +Z, tangent +X, unoccluded; a handful of pixels at random UVs."""
    rng = np.random.default_rng(seed)
    uv = rng.uniform(0.1, 0.9, size=(count, 2))
    normal = np.tile([0.0, 0.0, 1.0], (count, 1))
    tangent = np.tile([1.0, 0.0, 0.0, 1.0], (count, 1))
    return _gbuffer(uv, normal, tangent, size=(2, 3))


def _sphere_gbuffer(size):
    """Front hemisphere of a unit sphere seen orthographically in a size x size image; UV = (x, y) mapped to [0,1]."""
    rows, columns = np.mgrid[0:size, 0:size]
    x = (columns + 0.5) / size * 2.0 - 1.0
    y = 1.0 - (rows + 0.5) / size * 2.0
    inside = x * x + y * y < 0.95
    x, y = x[inside], y[inside]
    normal = np.stack([x, y, np.sqrt(1.0 - x * x - y * y)], axis=-1)
    tangent = np.cross([0.0, 1.0, 0.0], normal)
    tangent /= np.linalg.norm(tangent, axis=-1, keepdims=True)
    uv = np.stack([(x + 1.0) / 2.0, (y + 1.0) / 2.0], axis=-1)
    gbuffer = _gbuffer(uv, normal, np.concatenate([tangent, np.ones((len(x), 1))], axis=-1), size=(size, size))
    return dataclass_replace(gbuffer, pixel_index=np.flatnonzero(inside.ravel()))


def dataclass_replace(record, **changes):
    import dataclasses
    return dataclasses.replace(record, **changes)


def _flat_normal_map(size=4):
    return np.tile(np.array([0.5, 0.5, 1.0]), (size, size, 1))


# ---------------------------------------------------------------------------------------------- texture

def test_texel_centres_follow_the_t_up_convention():
    texture = np.arange(2 * 3 * 2, dtype=np.float64).reshape(2, 3, 2)
    rows, columns = np.mgrid[0:2, 0:3]
    uv = np.stack([(columns + 0.5) / 3.0, 1.0 - (rows + 0.5) / 2.0], axis=-1)  # [2, 3, 2]
    np.testing.assert_allclose(sample_bilinear(texture, uv).numpy(), texture, atol=1e-12)
    # Top-left corner texel lives at high t.
    np.testing.assert_allclose(sample_bilinear(texture, [[0.5 / 3.0, 0.75]]).numpy(), texture[0:1, 0], atol=1e-12)


def test_bilinear_blends_reproduce_linear_functions_and_clamp_to_edge():
    height, width = 5, 7
    rows, columns = np.mgrid[0:height, 0:width]
    texture = np.stack([2.0 * columns + 3.0 * rows + 1.0], axis=-1).astype(np.float64)
    rng = np.random.default_rng(RNG_SEED)
    uv = np.stack([rng.uniform(0.5 / width, 1 - 0.5 / width, 50), rng.uniform(0.5 / height, 1 - 0.5 / height, 50)],
                  axis=-1)
    x = uv[:, 0] * width - 0.5
    y = (1.0 - uv[:, 1]) * height - 0.5
    np.testing.assert_allclose(sample_bilinear(texture, uv).numpy()[:, 0], 2.0 * x + 3.0 * y + 1.0, atol=1e-12)
    outside = np.array([[-0.3, 1.4], [1.2, -0.5], [0.0, 0.0], [1.0, 1.0]])
    expected = texture[[0, height - 1, height - 1, 0], [0, width - 1, 0, width - 1]]
    np.testing.assert_allclose(sample_bilinear(texture, outside).numpy(), expected, atol=1e-12)
    single = np.full((1, 1, 2), 0.25)
    np.testing.assert_allclose(sample_bilinear(single, uv[:3]).numpy(), 0.25)


def test_texture_gradient_is_the_bilinear_weights_and_taps_reuse_agrees():
    rng = np.random.default_rng(RNG_SEED)
    texture = tf.constant(rng.uniform(size=(4, 6, 3)))
    uv = tf.constant(rng.uniform(size=(5, 2)))
    theoretical, numerical = tf.test.compute_gradient(lambda t: sample_bilinear(t, uv), [texture])
    np.testing.assert_allclose(theoretical[0], numerical[0], atol=1e-8)
    taps = bilinear_taps(uv, 4, 6)
    np.testing.assert_allclose(tf.reduce_sum(taps.weights, axis=-1).numpy(), 1.0, atol=1e-12)
    np.testing.assert_allclose(sample_bilinear_taps(texture, taps).numpy(), sample_bilinear(texture, uv).numpy())
    with pytest.raises(ValueError, match="texture must be"):
        sample_bilinear(tf.zeros((4, 4)), uv)


# ---------------------------------------------------------------------------------------------- shading

def test_gbuffer_to_tensors_types():
    tensors = gbuffer_to_tensors(_plane_gbuffer(), tf.float64)
    assert tensors["uv"].dtype == tf.float64 and tensors["uv"].shape == (6, 2)
    assert tensors["visibility_sh"].shape == (6, 9) and tensors["tangent"].shape == (6, 4)
    assert tensors["pixel_index"].dtype == tf.int64 and tensors["triangle_id"].dtype == tf.int32


def test_flat_normal_map_keeps_the_geometric_normal_and_encoding_is_opengl():
    rng = np.random.default_rng(RNG_SEED)
    normal = rng.normal(size=(10, 3))
    normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
    tangent = np.cross(rng.normal(size=(10, 3)), normal)
    tangent /= np.linalg.norm(tangent, axis=-1, keepdims=True)
    handedness = np.where(rng.uniform(size=(10, 1)) < 0.5, -1.0, 1.0)
    tangent4 = np.concatenate([tangent, handedness], axis=-1)
    flat = np.tile([0.5, 0.5, 1.0], (10, 1))
    np.testing.assert_allclose(shading_normal(tf.constant(flat), tf.constant(normal), tf.constant(tangent4)).numpy(),
                               normal, atol=1e-12)
    # OpenGL: a texel leaning to +Y (green up) tilts the normal towards B = w cross(N, T); here N=+Z, T=+X -> +Y.
    tilt = math.radians(30.0)
    texel = 0.5 * np.array([[0.0, math.sin(tilt), math.cos(tilt)]]) + 0.5
    got = shading_normal(tf.constant(texel), np.array([[0.0, 0.0, 1.0]]), np.array([[1.0, 0.0, 0.0, 1.0]]))
    np.testing.assert_allclose(got.numpy(), [[0.0, math.sin(tilt), math.cos(tilt)]], atol=1e-12)
    # ... and through shade(): the shading normal of a flat map equals the plane's normal.
    tensors = gbuffer_to_tensors(_plane_gbuffer(), tf.float64)
    out = shade(tensors, albedo_srgb_map=np.full((4, 4, 3), 0.5), specular_map=np.full((4, 4, 1), 0.5),
                normal_map=_flat_normal_map(), light_sh=CONSTANT_ONE_LIGHT, roughness=0.5)
    np.testing.assert_allclose(out["shading_normal"].numpy(), np.tile([0.0, 0.0, 1.0], (6, 1)), atol=1e-12)


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64])
def test_white_furnace_through_shade(dtype):
    """Albedo 1, constant radiance 1, unoccluded: radiance 1 for any specular, roughness and view.

    Exact (not approximate) because a product with constant light is not truncated, the unoccluded hemisphere
    has no band-2 part, L_pre of constant light is 1, and the diffuse gets 1 - E_s of the energy.
    """
    gbuffer = _plane_gbuffer()
    tilted_normal = np.tile([0.0, 0.6, 0.8], (6, 1))  # n.v = 0.8, its own unoccluded hemisphere
    tilted = _gbuffer(gbuffer.uv, tilted_normal, np.tile([1.0, 0.0, 0.0, 1.0], (6, 1)), size=(2, 3))
    tolerance = 1e-5 if dtype == tf.float32 else 1e-12
    for record in (gbuffer, tilted):
        tensors = gbuffer_to_tensors(record, dtype)
        for specular, roughness in ((0.0, 0.5), (1.0, 0.5), (0.6, 0.2)):
            out = shade(tensors, albedo_srgb_map=np.ones((4, 4, 3)), specular_map=np.full((4, 4, 1), specular),
                        normal_map=_flat_normal_map(), light_sh=CONSTANT_ONE_LIGHT, roughness=roughness)
            assert out["radiance"].dtype == dtype and out["radiance"].shape == (6, 3)
            np.testing.assert_allclose(out["radiance"].numpy(), 1.0, atol=tolerance)
            n_dot_v = out["shading_normal"][0, 2]
            dfg1, dfg2 = dfg_lookup(n_dot_v, roughness).numpy()
            np.testing.assert_allclose(out["specular"].numpy(), SKIN_F0 * specular * dfg1 + dfg2, atol=tolerance)


def test_occlusion_darkens_diffuse_and_specular():
    gbuffer = _plane_gbuffer()
    occluded = dataclass_replace(gbuffer, visibility_sh=np.zeros_like(gbuffer.visibility_sh))
    maps = dict(albedo_srgb_map=np.ones((4, 4, 3)), specular_map=np.ones((4, 4, 1)), normal_map=_flat_normal_map(),
                light_sh=CONSTANT_ONE_LIGHT, roughness=0.4)
    out = shade(gbuffer_to_tensors(occluded, tf.float64), **maps)
    np.testing.assert_allclose(out["radiance"].numpy(), 0.0, atol=1e-12)
    half = dataclass_replace(gbuffer, visibility_sh=0.5 * gbuffer.visibility_sh)
    half_out = shade(gbuffer_to_tensors(half, tf.float64), **maps)
    full_out = shade(gbuffer_to_tensors(gbuffer, tf.float64), **maps)
    np.testing.assert_allclose(half_out["diffuse"].numpy(), 0.5 * full_out["diffuse"].numpy(), atol=1e-12)
    # The specular follows the occluders' direction (bent-normal cone): half the hemisphere open about the
    # reflection (R = +Z here) keeps the lobe (0.4 roughness: a 19-degree cone inside a 45-degree one); the same
    # openness tilted 60 degrees away from R darkens it.
    np.testing.assert_allclose(half_out["specular"].numpy(), full_out["specular"].numpy(), atol=1e-12)
    tilted = np.tile([math.sin(math.radians(60.0)), 0.0, math.cos(math.radians(60.0))], (len(gbuffer.uv), 1))
    away = dataclass_replace(half, bent_normal=tilted.astype(np.float32))
    away_out = shade(gbuffer_to_tensors(away, tf.float64), **maps)
    assert np.all(away_out["specular"].numpy() < 0.5 * full_out["specular"].numpy())
    np.testing.assert_allclose(away_out["diffuse"].numpy(), half_out["diffuse"].numpy(), atol=1e-12)


def test_spherical_cap_intersection_limiting_cases():
    cos = lambda degrees: tf.constant(math.cos(math.radians(degrees)), tf.float64)  # noqa: E731
    # one cap inside the other: the smaller cap's area / 2 pi = 1 - cos(smaller half-angle)
    assert float(spherical_cap_intersection(cos(60), cos(20), cos(30))) == pytest.approx(1 - math.cos(math.radians(20)))
    assert float(spherical_cap_intersection(cos(20), cos(60), cos(0))) == pytest.approx(1 - math.cos(math.radians(20)))
    # apart: nothing
    assert float(spherical_cap_intersection(cos(20), cos(30), cos(51))) == 0.0
    # half-way between touching and nested: smoothstep(0.5) = 0.5 of the smaller cap
    assert float(spherical_cap_intersection(cos(30), cos(10), cos(30))) == pytest.approx(
        0.5 * (1 - math.cos(math.radians(10))))


def test_specular_occlusion_is_one_when_nothing_is_occluded_and_follows_the_bent_normal():
    rng = np.random.default_rng(RNG_SEED)
    normal = np.tile([0.0, 0.0, 1.0], (200, 1))
    reflection = rng.normal(size=(200, 3))
    reflection[:, 2] = np.abs(reflection[:, 2])
    reflection /= np.linalg.norm(reflection, axis=1, keepdims=True)
    alpha = tf.constant(rng.uniform(0.0, 1.0, size=(200, 1)))
    unoccluded = specular_occlusion(tf.constant(reflection), tf.constant(normal), tf.constant(normal),
                                    tf.ones((200, 1), tf.float64), alpha).numpy()
    np.testing.assert_allclose(unoccluded, 1.0, atol=1e-12)
    # A quarter open about +X: reflections towards +X keep more than reflections towards -X.
    bent = np.tile([math.sqrt(0.5), 0.0, math.sqrt(0.5)], (2, 1))
    towards = np.array([[math.sqrt(0.5), 0.0, math.sqrt(0.5)], [-math.sqrt(0.5), 0.0, math.sqrt(0.5)]])
    occlusion = specular_occlusion(tf.constant(towards), tf.constant(bent), tf.constant(normal[:2]),
                                   tf.fill((2, 1), tf.constant(0.25, tf.float64)),
                                   tf.constant(0.09, tf.float64)).numpy()
    assert occlusion[0, 0] == pytest.approx(1.0) and occlusion[1, 0] == pytest.approx(0.0)


def test_roughness_map_matches_scalar_and_specular_follows_reflection():
    gbuffer = gbuffer_to_tensors(_plane_gbuffer(), tf.float64)
    rng = np.random.default_rng(RNG_SEED)
    light = rng.normal(size=(9, 3))
    maps = dict(albedo_srgb_map=np.full((4, 4, 3), 0.6), specular_map=np.full((4, 4, 1), 0.8),
                normal_map=_flat_normal_map(), light_sh=light)
    scalar = shade(gbuffer, roughness=0.35, **maps)
    mapped = shade(gbuffer, roughness=np.full((3, 3, 1), 0.35), **maps)
    np.testing.assert_allclose(mapped["radiance"].numpy(), scalar["radiance"].numpy(), atol=1e-12)
    # Near-mirror on a +Z plane viewed along +Z: R = +Z, so specular ~ (F0 DFG1 + DFG2) L(+Z).
    mirror = shade(gbuffer, roughness=0.0, **maps)
    dfg1, dfg2 = dfg_lookup(1.0, 0.0).numpy()
    expected = (0.8 * SKIN_F0 * dfg1 + dfg2) * (sh_basis_np(np.array([0.0, 0.0, 1.0])) @ light)
    np.testing.assert_allclose(mirror["specular"].numpy(), np.tile(expected, (6, 1)), atol=1e-5)


def test_shade_gradients_match_finite_differences():
    rng = np.random.default_rng(RNG_SEED)
    count = 5
    normal = np.tile([0.0, 0.0, 1.0], (count, 1)) + rng.normal(scale=0.2, size=(count, 3))
    normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
    tangent = np.cross([0.0, 1.0, 0.0], normal)
    tangent /= np.linalg.norm(tangent, axis=-1, keepdims=True)
    gbuffer = _gbuffer(rng.uniform(0.1, 0.9, (count, 2)), normal,
                       np.concatenate([tangent, np.ones((count, 1))], axis=-1))
    tensors = gbuffer_to_tensors(gbuffer, tf.float64)
    inputs = {
        "albedo_srgb_map": tf.constant(rng.uniform(0.2, 0.9, (3, 3, 3))),
        "specular_map": tf.constant(rng.uniform(0.2, 0.9, (3, 3, 1))),
        "normal_map": tf.constant(np.clip(_flat_normal_map(3) + rng.normal(scale=0.1, size=(3, 3, 3)), 0.0, 1.0)),
        "light_sh": tf.constant(rng.normal(size=(9, 3))),
        "roughness": tf.constant(rng.uniform(0.3, 0.7, (3, 3, 1))),
    }
    for name, value in inputs.items():
        def fn(x, name=name):
            return shade(tensors, **{**inputs, name: x})["radiance"]
        theoretical, numerical = tf.test.compute_gradient(fn, [value], delta=1e-6)
        assert np.abs(theoretical[0]).max() > 0.0, name
        np.testing.assert_allclose(theoretical[0], numerical[0], atol=2e-6, err_msg=name)


def test_recovers_lighting_by_least_squares_and_albedo_by_adam():
    gbuffer = gbuffer_to_tensors(_sphere_gbuffer(40), tf.float64)
    rng = np.random.default_rng(RNG_SEED)
    true_light = np.concatenate([np.full((1, 3), 2.5), rng.normal(scale=0.6, size=(8, 3))])
    u, v = np.meshgrid(np.linspace(0, 1, 8), np.linspace(0, 1, 8))
    true_albedo = np.stack([0.4 + 0.3 * u, 0.5 - 0.2 * v, 0.3 + 0.2 * u * v], axis=-1)
    maps = dict(specular_map=np.full((8, 8, 1), 0.7), normal_map=_flat_normal_map(8), roughness=0.45)
    target = shade(gbuffer, albedo_srgb_map=true_albedo, light_sh=true_light, **maps)["radiance"]

    # The render is linear in the light: least squares on the exact Jacobian recovers it.
    light = tf.Variable(np.zeros((9, 3)))
    with tf.GradientTape() as tape:
        rendered = shade(gbuffer, albedo_srgb_map=true_albedo, light_sh=light, **maps)["radiance"]
    jacobian = tape.jacobian(rendered, light).numpy().reshape(-1, 27)
    solution, *_ = np.linalg.lstsq(jacobian, target.numpy().reshape(-1), rcond=None)
    np.testing.assert_allclose(solution.reshape(9, 3), true_light, atol=1e-6)

    # Albedo (sRGB map, 8x8) from a flat grey start under the known light: Adam.
    albedo = tf.Variable(np.full((8, 8, 3), 0.5))
    optimizer = tf.keras.optimizers.Adam(learning_rate=0.02)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            rendered = shade(gbuffer, albedo_srgb_map=albedo, light_sh=true_light, **maps)["radiance"]
            loss = tf.reduce_mean(tf.square(rendered - target))
        optimizer.apply_gradients([(tape.gradient(loss, albedo), albedo)])
        return loss

    first = float(step())
    for _ in range(300):
        loss = float(step())
    assert loss < 1e-4 * first
    # The sphere's UV footprint covers the map's interior texels; compare those.
    np.testing.assert_allclose(albedo.numpy()[2:6, 2:6], true_albedo[2:6, 2:6], atol=0.02)
