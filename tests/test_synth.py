"""Tests for the synthetic skin generator: colorimetry, the spectral skin model, noise, and the UV maps."""

import dataclasses
import math

import numpy as np
import pytest

from svfri.math import colorimetry
from svfri.synth import noise, skin_color, skin_maps

SIZE = 128


@pytest.fixture(scope="module")
def masks():
    return skin_maps.synthetic_region_masks(SIZE)


def _region(masks, name, *, exclude=()):
    keep = masks[name] > 0.8
    for other in exclude:
        keep &= masks[other] < 0.2
    assert keep.sum() > 20, name
    return keep


# --- colorimetry ---------------------------------------------------------------------------------------------

def test_lab_golden_values():
    np.testing.assert_allclose(colorimetry.srgb_linear_to_lab([1.0, 1.0, 1.0]), [100.0, 0.0, 0.0], atol=1e-9)
    # Grey: L* = 116 Y^(1/3) - 16, a* = b* = 0.
    np.testing.assert_allclose(colorimetry.srgb_linear_to_lab([0.18, 0.18, 0.18]),
                               [116.0 * 0.18 ** (1.0 / 3.0) - 16.0, 0.0, 0.0], atol=1e-9)
    # Linear branch of f: L* = kappa Y for Y <= epsilon.
    np.testing.assert_allclose(colorimetry.srgb_linear_to_lab([1e-3] * 3)[0], (29.0 / 3.0) ** 3 * 1e-3, atol=1e-9)
    # sRGB red primary (published: 53.24, 80.09, 67.20).
    np.testing.assert_allclose(colorimetry.srgb_linear_to_lab([1.0, 0.0, 0.0]), [53.24, 80.09, 67.20], atol=0.02)


def test_xyz_round_trip_and_white():
    rgb = np.random.default_rng(0).random((10, 3))
    np.testing.assert_allclose(colorimetry.xyz_to_srgb_linear(colorimetry.srgb_linear_to_xyz(rgb)), rgb, atol=1e-12)
    white = colorimetry.D65_WHITE_XYZ
    np.testing.assert_allclose(white[:2] / white.sum(), [0.3127, 0.3290], atol=1e-4)


def test_ita_golden_values():
    np.testing.assert_allclose(colorimetry.ita_from_lab([60.0, 10.0, 10.0]), 45.0)
    np.testing.assert_allclose(colorimetry.ita_from_lab([50.0, 10.0, 20.0]), 0.0)
    np.testing.assert_allclose(colorimetry.ita_from_lab([50.0 - 20.0 * math.sqrt(3.0), 5.0, 20.0]), -60.0)
    assert skin_color.ita_category(56.0) == 1 and skin_color.ita_category(55.0) == 1
    assert list(skin_color.ita_category([50.0, 30.0, 20.0, 0.0, -45.0])) == [2, 3, 4, 5, 6]


# --- spectral skin model -------------------------------------------------------------------------------------

def test_colour_matching_and_illuminant_tables():
    cmf = skin_color.cie_xyz_cmf_wyman(np.array([555.0, 600.0, 445.0]))
    assert abs(cmf[0, 1] - 1.0) < 0.01          # ybar peaks at ~1 near 555 nm
    assert abs(cmf[1, 0] - 1.06) < 0.02         # xbar(600) = 1.062
    assert abs(cmf[2, 2] - 1.78) < 0.05         # zbar(445) = 1.783
    # D65 table x CMF fit reproduces the D65 white to within 1 % before the white normalisation.
    np.testing.assert_allclose(skin_color._WHITE_RGB, 1.0, atol=0.01)
    flat = np.full(skin_color.WAVELENGTHS_NM.shape, 0.37)
    np.testing.assert_allclose(skin_color.spectrum_to_linear_srgb(flat), [0.37] * 3, atol=1e-12)


def test_absorption_golden_values():
    # Blood at 420 nm, fully oxygenated: ln10 * 480360 * 150/64500 cm^-1 -> mm^-1.
    index = int(np.flatnonzero(skin_color.WAVELENGTHS_NM == 420.0)[0])
    expected = math.log(10.0) * 480360.0 * 150.0 / 64500.0 / 10.0
    np.testing.assert_allclose(skin_color.blood_absorption(1.0)[index], expected, rtol=1e-12)
    np.testing.assert_allclose(skin_color.eumelanin_absorption(500.0), 0.1 * 6.6e11 * 500.0 ** -3.33, rtol=1e-12)
    # Melanin absorbs more towards blue; blood absorbs far more at 560 nm than at 650 nm.
    assert skin_color.eumelanin_absorption(400.0) > skin_color.eumelanin_absorption(700.0)
    mu = skin_color.blood_absorption()
    assert mu[skin_color.WAVELENGTHS_NM == 560.0] > 20 * mu[skin_color.WAVELENGTHS_NM == 650.0]


def test_kubelka_munk_layer_limits():
    wl = skin_color.WAVELENGTHS_NM
    melanin, blood = 0.05, 0.02
    scattering = 0.75 * skin_color.skin_reduced_scattering(wl)
    base = skin_color.baseline_skin_absorption(wl)
    # No epidermis: the semi-infinite dermis alone, R = 1 + K/S - sqrt((K/S)^2 + 2 K/S).
    mu_dermis = blood * skin_color.blood_absorption() + (1 - blood) * base
    ratio = 2.0 * mu_dermis / scattering
    r_dermis = 1.0 + ratio - np.sqrt(ratio ** 2 + 2.0 * ratio)
    np.testing.assert_allclose(skin_color.skin_reflectance_spectrum(melanin, blood, epidermis_thickness_mm=0.0),
                               r_dermis, rtol=1e-10)
    # Infinitely thick epidermis: its own R_inf.
    beta = skin_color.DEFAULT_EUMELANIN_SHARE
    mu_epi = melanin * (beta * skin_color.eumelanin_absorption(wl) + (1 - beta) * skin_color.pheomelanin_absorption(wl)) \
        + (1 - melanin) * base
    ratio = 2.0 * mu_epi / scattering
    np.testing.assert_allclose(skin_color.skin_reflectance_spectrum(melanin, blood, epidermis_thickness_mm=100.0),
                               1.0 + ratio - np.sqrt(ratio ** 2 + 2.0 * ratio), rtol=1e-8)


def test_albedo_in_gamut_and_ordered():
    melanin = np.geomspace(*skin_color.MELANIN_FRACTION_RANGE, 60)
    for blood in (0.002, 0.02, 0.1, 0.25):
        spectrum = skin_color.skin_reflectance_spectrum(melanin, blood)
        rgb = skin_color.spectrum_to_linear_srgb(spectrum)
        assert rgb.min() > 0.0 and rgb.max() < 1.0                      # inside [0, 1] without clipping
        assert np.all(rgb[:, 0] >= rgb[:, 1]) and np.all(rgb[:, 0] >= rgb[:, 2])  # skin is red-dominant
        ita = colorimetry.ita_degrees(rgb)
        assert np.all(np.diff(ita) < 0), blood                           # more melanin -> lower ITA
        assert np.all(np.diff(colorimetry.srgb_linear_to_lab(rgb)[:, 0]) < 0)
    assert ita.max() > 60.0 and ita.min() < -60.0
    # More blood -> redder (a* up) at fixed melanin.
    a_star = colorimetry.srgb_linear_to_lab(skin_color.skin_albedo_linear(0.02, np.array([0.005, 0.02, 0.08])))[:, 1]
    assert np.all(np.diff(a_star) > 0)


def test_sampler_covers_all_skin_types():
    rng = np.random.default_rng(7)
    draws = [skin_color.sample_skin_type_params(rng) for _ in range(200)]
    ita = np.array([colorimetry.ita_degrees(d.albedo()) for d in draws])
    categories = skin_color.ita_category(ita)
    assert set(categories.tolist()) == {1, 2, 3, 4, 5, 6}
    assert ita.max() > 55.0 and ita.min() < -30.0
    np.testing.assert_allclose(ita, [d.target_ita for d in draws], atol=0.5)
    assert all(c == d.skin_type for c, d in zip(categories, draws))
    for skin_type in range(1, 7):
        tone = skin_color.sample_skin_type_params(rng, skin_type)
        assert skin_color.ita_category(colorimetry.ita_degrees(tone.albedo())) == skin_type
    with pytest.raises(ValueError):
        skin_color.sample_skin_type_params(rng, 7)


def test_hair_colours():
    black = skin_color.hair_albedo_linear(8.0, 0.0)
    blond = skin_color.hair_albedo_linear(0.3, 0.1)
    red = skin_color.hair_albedo_linear(0.2, 2.5)
    assert black.max() < 0.01 and blond.mean() > 10 * black.mean()
    assert red[0] > 2 * red[1] > 4 * red[2]                       # red hair: R >> G >> B
    np.testing.assert_allclose(skin_color.hair_albedo_linear(8.0, 0.0, grey=1.0), 0.5)


# --- noise ---------------------------------------------------------------------------------------------------

def test_noise_ranges_and_determinism():
    a = noise.fractal_noise(np.random.default_rng(3), (64, 96), base_cells=4, octaves=4)
    b = noise.fractal_noise(np.random.default_rng(3), (64, 96), base_cells=4, octaves=4)
    assert a.shape == (64, 96) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert a.min() >= -1.0 and a.max() <= 1.0 and a.std() > 0.05
    v = noise.value_noise(np.random.default_rng(1), (32, 32), 2.0)
    # 2 cells across: neighbouring pixels are strongly correlated.
    assert np.corrcoef(v[:, :-1].ravel(), v[:, 1:].ravel())[0, 1] > 0.95


def test_strokes_follow_uv_direction():
    impulses = np.zeros((21, 21), dtype=np.float32)
    impulses[10, 10] = 1.0
    down = noise.splat_strokes(impulses, 6.0, -math.pi / 2)        # towards -t: image rows below
    rows = np.nonzero(down.sum(axis=1) > 0)[0]
    assert rows.min() >= 9 and rows.max() >= 15
    right = noise.splat_strokes(impulses, 6.0, 0.0)                # towards +s: columns to the right
    cols = np.nonzero(right.sum(axis=0) > 0)[0]
    assert cols.min() >= 9 and cols.max() >= 15


# --- maps ----------------------------------------------------------------------------------------------------

def test_determinism_by_seed(masks):
    a = skin_maps.generate_skin_maps(masks, seed=11, size=SIZE)
    b = skin_maps.generate_skin_maps(masks, seed=11, size=SIZE)
    c = skin_maps.generate_skin_maps(masks, seed=12, size=SIZE)
    d = skin_maps.generate_skin_maps(masks, seed=11, size=SIZE, params=a.params)
    for name in ("albedo", "specular", "roughness", "normal_map"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        np.testing.assert_array_equal(getattr(a, name), getattr(d, name))
        assert not np.array_equal(getattr(a, name), getattr(c, name))


def test_shapes_dtypes_ranges_and_unit_normals(masks):
    for seed in range(4):
        sample = skin_maps.generate_skin_maps(masks, seed=seed, size=SIZE)
        assert sample.albedo.shape == (SIZE, SIZE, 3) and sample.normal_map.shape == (SIZE, SIZE, 3)
        assert sample.specular.shape == sample.roughness.shape == (SIZE, SIZE)
        for image in (sample.albedo, sample.specular, sample.roughness, sample.normal_map, sample.albedo_srgb()):
            assert image.dtype == np.float32 and np.isfinite(image).all()
            assert image.min() >= 0.0 and image.max() <= 1.0
        n = sample.normals()
        np.testing.assert_allclose(np.linalg.norm(n, axis=-1), 1.0, atol=1e-5)
        # The stored encoding is already unit length (decoding without renormalising).
        np.testing.assert_allclose(np.linalg.norm(2 * sample.normal_map - 1, axis=-1), 1.0, atol=1e-5)
        assert n[..., 2].min() > 0.3
        outside = masks["face"] < 1e-6
        assert np.abs(n[outside] - [0.0, 0.0, 1.0]).max() < 1e-6
        assert n[masks["face"] > 0.99, 0].std() > 0.02                   # real detail inside the face
        assert 0.05 <= sample.roughness.min() and sample.roughness[_region(masks, "cheeks")].mean() < 0.55


def test_height_to_normal_convention():
    # Height rising towards +t (image top): the surface faces -t, i.e. n_y < 0 (OpenGL +Y = +t).
    size = 16
    t = 1.0 - (np.arange(size) + 0.5) / size
    height = np.repeat((0.1 * t)[:, None], size, axis=1)
    ds, dt = skin_maps._slope_from_height(height, size)
    np.testing.assert_allclose(dt, 0.1, rtol=1e-5)
    np.testing.assert_allclose(ds, 0.0, atol=1e-7)


def test_lut_matches_direct_model():
    lut = skin_color.skin_albedo_lut(eumelanin_share=0.7, oxygen_saturation=0.75)
    rng = np.random.default_rng(0)
    melanin = np.exp(rng.uniform(math.log(0.005), math.log(0.4), (8, 8))).astype(np.float32)
    blood = np.exp(rng.uniform(math.log(0.003), math.log(0.2), (8, 8))).astype(np.float32)
    looked_up = skin_maps._lut_lookup(lut, np.log(melanin), np.log(blood))
    direct = skin_color.skin_albedo_linear(melanin, blood, eumelanin_share=0.7, oxygen_saturation=0.75)
    np.testing.assert_allclose(looked_up, direct, atol=0.01)


def test_region_effects(masks):
    lips = _region(masks, "lips")
    cheeks = _region(masks, "cheeks", exclude=("beard", "under_eye", "nose"))
    t_zone = _region(masks, "t_zone", exclude=("eyes", "brows"))
    for seed in range(5):
        sample = skin_maps.generate_skin_maps(masks, seed=seed, size=SIZE)
        lab = colorimetry.srgb_linear_to_lab(sample.albedo)
        assert lab[lips, 1].mean() > lab[cheeks, 1].mean() + 2.0, seed          # lips redder (a*)
        assert sample.specular[t_zone].mean() > sample.specular[cheeks].mean(), seed
        # The skin colour of the map stays near the sampled tone (cheeks include the redness, so a few degrees).
        cheek_ita = colorimetry.ita_degrees(sample.albedo[cheeks].mean(axis=0))
        assert abs(cheek_ita - colorimetry.ita_degrees(sample.params.tone.albedo())) < 12.0


def test_beard_density_darkens_beard_region(masks):
    beard = _region(masks, "beard")
    base = skin_maps.sample_params(np.random.default_rng(5), skin_type=2, beard_probability=0.0)
    base = dataclasses.replace(base, hair_eumelanin=6.0, hair_grey=0.0, beard_length=0.008)
    luminance, coverage = [], []
    for density in (0.0, 0.4, 0.9):
        sample = skin_maps.generate_skin_maps(masks, seed=3, size=SIZE,
                                              params=dataclasses.replace(base, beard_density=density))
        luminance.append(float(colorimetry.srgb_linear_to_xyz(sample.albedo[beard])[:, 1].mean()))
        coverage.append(float(sample.hair_coverage[beard].mean()))
    assert coverage[0] == 0.0 and coverage[0] < coverage[1] < coverage[2]
    assert luminance[0] > luminance[1] > luminance[2]
    assert luminance[2] < 0.6 * luminance[0]


def test_missing_and_resized_masks():
    small = skin_maps.synthetic_region_masks(64)
    partial = {"face": small["face"], "lips": small["lips"]}
    for region_masks in ({}, partial, small):
        sample = skin_maps.generate_skin_maps(region_masks, seed=1, size=SIZE)
        assert sample.albedo.shape == (SIZE, SIZE, 3) and np.isfinite(sample.normal_map).all()
    with pytest.raises(ValueError):
        skin_maps.generate_skin_maps({"face": np.ones((4, 4, 3))}, seed=1, size=SIZE)


def test_synthetic_masks_layout():
    m = skin_maps.synthetic_region_masks(64)
    assert set(m) == set(skin_maps.REGION_NAMES)
    for mask in m.values():
        assert mask.shape == (64, 64) and mask.dtype == np.float32 and 0.0 <= mask.min() <= mask.max() <= 1.0
    rows, _ = np.nonzero(m["lips"] > 0.5)
    eye_rows, _ = np.nonzero(m["eyes"] > 0.5)
    assert rows.mean() > eye_rows.mean()          # t up: lips (t ~ 0.25) lie below the eyes in image rows
    np.testing.assert_allclose((1.0 - (rows.mean() + 0.5) / 64), 0.25, atol=0.02)
