"""The hard-light benchmark scene (:func:`benchmarks.scenes.hard_light_scene`): an SH fill plus a directional sun
with ray-traced shadows.

Run from the repository root (``python -m pytest``), which makes the ``benchmarks`` folder importable. Needs the
held-out HDR maps (``python -m precompute.fetch_hdris``); skipped without them.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmarks import scenes
from svfri.math.colorimetry import SRGB_TO_XYZ
from svfri.math.sh import SH_C0, SH_C1, SH_C2_ZZ, sh_basis_np
from svfri.render.dfg import dfg_lookup

#: 60 degrees from the view axis towards the subject's left (+X).
SUN_FROM_SUBJECTS_LEFT = np.array([math.sin(math.radians(60.0)), 0.0, math.cos(math.radians(60.0))])
#: Irradiance of the test sun (radiance units x sr): about twice the fill's frontal irradiance.
SUN_IRRADIANCE = np.array([2.0, 2.0, 2.0])
#: A grazing sun, ~79 degrees from the view axis, from the subject's left.
GRAZING_SUN = np.array([1.0, 0.0, 0.2]) / math.hypot(1.0, 0.2)
#: A sun on the view axis: it sees exactly what the camera sees.
CAMERA_SUN = np.array([0.0, 0.0, 1.0])


@pytest.fixture(scope="module")
def setting():
    from svfri.errors import HdrError
    from svfri.geometry.template import load_face_template
    from svfri.synth.dataset import SynthesisSettings

    try:
        ambient = scenes.hard_light_ambient("city")
    except HdrError:
        pytest.skip("held-out HDR maps are not in the cache (python -m precompute.fetch_hdris)")
    template = load_face_template()
    geometry = scenes.scene_geometry(scenes.HELD_OUT_START_SEED, template)
    skin = scenes.skin_maps(geometry.seed, template, size=SynthesisSettings().map_size)
    return {"template": template, "geometry": geometry, "skin": skin, "ambient": ambient}


def _scene(setting, direction, radiance):
    return scenes.hard_light_scene(setting["geometry"], setting["skin"], setting["template"],
                                   ambient_sh=setting["ambient"], sun_direction=direction, sun_radiance=radiance,
                                   name="test")


def _lit(setting, direction):
    geometry = setting["geometry"]
    return scenes.sun_lit_mask(geometry.true_gbuffer, geometry.true_vertices, setting["template"].faces_sub,
                               direction)


def _pixels(scene_photo, gbuffer):
    """``[N, 3]`` photo values at the true G-buffer's pixels."""
    return scene_photo.reshape(-1, 3)[gbuffer.pixel_index]


def test_geometry_carries_the_true_mesh_of_the_true_gbuffer(setting):
    geometry, template = setting["geometry"], setting["template"]
    assert geometry.true_vertices.shape == geometry.true_normals.shape == (template.subdivided_vertex_count, 3)
    points = scenes._surface_points(geometry.true_gbuffer, geometry.true_vertices, template.faces_sub)
    np.testing.assert_allclose(points, geometry.true_gbuffer.position, atol=1e-4)      # cm


def test_without_sun_the_photo_is_relit_scenes(setting):
    hard = _scene(setting, SUN_FROM_SUBJECTS_LEFT, 0.0)
    relit = scenes.relit_scene(setting["geometry"], setting["skin"], setting["ambient"], setting["template"],
                               name="test", hdri="hard sun")
    assert np.array_equal(hard.photo, relit.photo)
    assert np.array_equal(hard.texture, relit.texture)
    assert np.array_equal(hard.light, relit.light)


def test_scene_light_is_the_fill_plus_the_projected_sun(setting):
    scene = _scene(setting, 3.0 * SUN_FROM_SUBJECTS_LEFT, SUN_IRRADIANCE)           # direction normalised inside
    expected = setting["ambient"] + sh_basis_np(SUN_FROM_SUBJECTS_LEFT)[:, None] * SUN_IRRADIANCE[None, :]
    np.testing.assert_allclose(scene.light, expected, rtol=1e-12, atol=1e-12)
    # closed form on the view axis: Y(+Z) = (C0, 0, C1, 0, 0, 0, 2 C2_ZZ, 0, 0)
    on_axis = scenes.directional_light_sh(CAMERA_SUN, 1.0)
    np.testing.assert_allclose(on_axis[:, 0], [SH_C0, 0, SH_C1, 0, 0, 0, 2 * SH_C2_ZZ, 0, 0], atol=1e-12)
    # its SH irradiance facing the sun: E * sum_l A_l (2l + 1) / (4 pi) = E (1/4 + 1/2 + 5/16), the order-2
    # truncation of the clamped cosine at 0 degrees (about 6 % above the exact E)
    np.testing.assert_allclose(scenes.frontal_irradiance(on_axis * 2.0), 2.0 * 1.0625, rtol=1e-12)


def test_sun_adds_light_only_where_the_rays_reach(setting):
    gbuffer = setting["geometry"].true_gbuffer
    lit = _lit(setting, SUN_FROM_SUBJECTS_LEFT)
    facing = gbuffer.normal @ SUN_FROM_SUBJECTS_LEFT > 0.0
    cast = facing & ~lit
    assert cast.sum() > 20                                                           # the nose's shadow
    with_sun = _pixels(_scene(setting, SUN_FROM_SUBJECTS_LEFT, SUN_IRRADIANCE).photo, gbuffer)
    without = _pixels(_scene(setting, SUN_FROM_SUBJECTS_LEFT, 0.0).photo, gbuffer)
    assert np.array_equal(with_sun[~lit], without[~lit])                             # shadowed: fill only
    strongly_lit = lit & (gbuffer.normal @ SUN_FROM_SUBJECTS_LEFT > 0.3)
    assert (with_sun[strongly_lit].sum(-1) > without[strongly_lit].sum(-1)).mean() > 0.99
    luminance = with_sun @ SRGB_TO_XYZ[1]
    assert luminance[cast].mean() < luminance[lit].mean() - 0.1
    # the subject's right half (-X) is darker than the left half (+X, towards the sun)
    x = gbuffer.position[:, 0]
    assert luminance[x < np.median(x)].mean() < luminance[x > np.median(x)].mean() - 0.05


def test_a_grazing_sun_casts_shadows_and_a_sun_on_the_view_axis_none(setting):
    gbuffer = setting["geometry"].true_gbuffer
    grazing = _lit(setting, GRAZING_SUN)
    assert ((gbuffer.normal @ GRAZING_SUN > 0.0) & ~grazing).sum() > 50
    camera = _lit(setting, CAMERA_SUN)
    facing = gbuffer.normal @ CAMERA_SUN > 0.0                                       # every pixel the camera sees
    assert facing.mean() > 0.95 and camera[facing].all() and not camera[~facing].any()


def test_sun_term_is_the_lambertian_point_light_without_specular_at_the_mirror_direction(setting):
    """Sun on the view axis (``h = v``, so Schlick gives ``F = F0``), specular map 0: the sun adds exactly
    ``t_a (1 - DFG2(n.v, r)) / pi * E * n.l``; the flat normal map (128, 128, 255) leaves ``n`` within 0.4 % of
    the geometric normal."""
    gbuffer = setting["geometry"].true_gbuffer
    size, roughness = 8, 0.5
    albedo_code = 200
    maps = {"albedo": np.full((size, size, 3), albedo_code, np.uint8), "specular": np.zeros((size, size), np.uint8),
            "normal": np.tile(np.array([128, 128, 255], np.uint8), (size, size, 1)),
            "roughness": np.full((size, size), roughness, np.float32)}
    radiance = scenes.render_sun(gbuffer, **maps, sun_direction=CAMERA_SUN, sun_radiance=SUN_IRRADIANCE,
                                 lit=np.ones(gbuffer.pixel_count, bool))
    dark = scenes.render_sun(gbuffer, **maps, sun_direction=CAMERA_SUN, sun_radiance=SUN_IRRADIANCE,
                             lit=np.zeros(gbuffer.pixel_count, bool))
    assert not dark.any()
    cosine = gbuffer.normal[:, 2].astype(np.float64)
    steep = cosine > 0.5
    albedo_linear = ((albedo_code / 255.0 + 0.055) / 1.055) ** 2.4                 # sRGB decode, IEC 61966-2-1
    dfg2 = dfg_lookup(cosine[steep], np.full(steep.sum(), roughness)).numpy()[:, 1]
    expected = albedo_linear * (1.0 - dfg2) / math.pi * SUN_IRRADIANCE[0] * cosine[steep]
    np.testing.assert_allclose(radiance[steep, 0], expected, rtol=0.02)


def test_hard_light_setups_are_deterministic_and_the_sun_dominates():
    from svfri.errors import HdrError

    try:
        setups = scenes.hard_light_setups(6)
    except HdrError:
        pytest.skip("held-out HDR maps are not in the cache")
    again = scenes.hard_light_setups(6)
    assert all(a.hdri == b.hdri and a.label == b.label and np.array_equal(a.sun_direction, b.sun_direction)
               and np.array_equal(a.sun_radiance, b.sun_radiance) for a, b in zip(setups, again))
    assert len({s.label for s in setups}) == 6
    for setup in setups:
        angle = math.degrees(math.acos(setup.sun_direction[2]))
        assert 30.0 <= angle <= 60.0 + 1e-9 and np.linalg.norm(setup.sun_direction) == pytest.approx(1.0)
        fill = float(SRGB_TO_XYZ[1] @ scenes.frontal_irradiance(scenes.hard_light_ambient(setup.hdri)))
        sun = float(SRGB_TO_XYZ[1] @ setup.sun_radiance) * setup.sun_direction[2]
        assert 0.6 - 1e-9 <= sun / (sun + fill) <= 0.75 + 1e-9
    with pytest.raises(ValueError):
        scenes.hard_light_setups(100)
