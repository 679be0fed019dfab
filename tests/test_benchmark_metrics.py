"""The benchmark suite's own metric helpers on known values, and a smoke fit through its quick path (tiny networks).

Run from the repository root (``python -m pytest``), which makes the ``benchmarks`` folder importable.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmarks import ablations, lighting_consistency, quality, scenes, skin_tone, speed
from svfri.math.color import srgb_to_linear_np
from svfri.math.colorimetry import ita_degrees
from svfri.render.gbuffer import GBuffer


# ------------------------------------------------------------------------------------------------------ FAIR / ITA
def test_fair_scores_on_fixed_numbers():
    # per-group mean |error|: I -> 2, II -> 4, III -> 6 (signs do not matter)
    scores = skin_tone.fair_scores({1: [1.0, -3.0], 2: [4.0], 3: [-6.0]})
    assert scores["per_group"] == {1: 2.0, 2: 4.0, 3: 6.0}
    assert scores["average"] == pytest.approx(4.0)
    assert scores["bias"] == pytest.approx(math.sqrt(8.0 / 3.0))          # population std of (2, 4, 6)
    assert scores["total"] == pytest.approx(4.0 + math.sqrt(8.0 / 3.0))


def test_fair_scores_equal_groups_have_no_bias_and_empty_groups_fail():
    assert skin_tone.fair_scores({k: [5.0, -5.0] for k in range(1, 7)})["bias"] == 0.0
    with pytest.raises(ValueError):
        skin_tone.fair_scores({1: [1.0], 2: []})


def test_ita_error_is_positive_when_the_recovered_skin_is_lighter():
    mask = np.ones((4, 4), bool)
    dark = np.full((4, 4, 3), [0.45, 0.32, 0.25])
    light = np.full((4, 4, 3), [0.85, 0.70, 0.62])
    assert skin_tone.mean_skin_ita(light, mask) > skin_tone.mean_skin_ita(dark, mask)
    assert skin_tone.ita_error(skin_tone.mean_skin_ita(light, mask), skin_tone.mean_skin_ita(dark, mask)) > 0
    assert skin_tone.ita_error(10.0, 25.0) == pytest.approx(-15.0)


def test_mean_skin_ita_averages_linear_light_over_the_mask_only():
    albedo = np.zeros((2, 4, 3))
    albedo[:, :2] = [0.9, 0.7, 0.6]
    albedo[:, 2:] = [0.3, 0.2, 0.15]
    mask = np.ones((2, 4), bool)
    expected = ita_degrees((srgb_to_linear_np(np.array([0.9, 0.7, 0.6]))
                            + srgb_to_linear_np(np.array([0.3, 0.2, 0.15]))) / 2)
    assert skin_tone.mean_skin_ita(albedo, mask) == pytest.approx(float(expected), abs=1e-9)
    # averaging the sRGB codes instead would give another angle: the test can tell the two apart
    assert abs(float(ita_degrees(srgb_to_linear_np(np.array([0.6, 0.45, 0.375])))) - expected) > 1.0
    left = mask.copy()
    left[:, 2:] = False
    assert skin_tone.mean_skin_ita(albedo, left) == pytest.approx(
        float(ita_degrees(srgb_to_linear_np(np.array([0.9, 0.7, 0.6])))))


# ------------------------------------------------------------------------------------------- lighting consistency
def test_albedo_spread_is_zero_for_identical_albedos_and_half_the_step_for_two():
    rng = np.random.default_rng(0)
    albedo = rng.uniform(size=(8, 8, 3))
    mask = np.zeros((8, 8), bool)
    mask[2:6, 1:7] = True
    assert lighting_consistency.albedo_spread(np.stack([albedo] * 4), mask) == 0.0
    shifted = albedo.copy()
    shifted[..., 0] += 0.2                                   # one channel differs by 0.2 -> std 0.1 there
    assert lighting_consistency.albedo_spread(np.stack([albedo, shifted]), mask) == pytest.approx(0.1 / 3)
    outside = albedo.copy()
    outside[~mask] += 0.5                                    # changes outside the mask do not count
    assert lighting_consistency.albedo_spread(np.stack([albedo, outside]), mask) == 0.0
    with pytest.raises(ValueError):
        lighting_consistency.albedo_spread(albedo[None], mask)


def test_pairwise_delta_e_matches_sharma_and_is_zero_for_equal_colours():
    first, second = (50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485)   # Sharma et al. 2005, pair 1: 2.0425
    mean, largest = lighting_consistency.pairwise_delta_e(np.array([first, second]))
    assert mean == pytest.approx(2.0425, abs=1e-4) and largest == pytest.approx(2.0425, abs=1e-4)
    mean, largest = lighting_consistency.pairwise_delta_e(np.array([first, first, second]))
    assert mean == pytest.approx(2 * 2.0425 / 3, abs=1e-4)       # pairs: 0, 2.0425, 2.0425
    assert largest == pytest.approx(2.0425, abs=1e-4)
    assert lighting_consistency.pairwise_delta_e(np.array([first] * 3)) == (0.0, 0.0)


def test_skin_region_mask_is_cheeks_and_forehead_inside_the_face():
    from svfri.geometry.template import load_face_template
    from svfri.training.evaluate import face_region_mask

    mask = lighting_consistency.skin_region_mask(load_face_template(), 128)
    assert mask.shape == (128, 128) and mask.sum() > 200
    assert np.mean(face_region_mask(128)[mask]) > 0.95


# ----------------------------------------------------------------------------------------------- table-1 metrics
def _toy_gbuffer(count: int = 6, size: int = 4) -> GBuffer:
    normal = np.tile([0.0, 0.0, 1.0], (count, 1)).astype(np.float32)
    return GBuffer(height=size, width=size, pixel_index=np.arange(count, dtype=np.int64),
                   triangle_id=np.zeros(count, np.int32), barycentric=np.full((count, 3), 1 / 3, np.float32),
                   position=np.zeros((count, 3), np.float32), uv=np.full((count, 2), 0.5, np.float32), normal=normal,
                   tangent=np.tile([1.0, 0.0, 0.0, 1.0], (count, 1)).astype(np.float32),
                   visibility_sh=np.zeros((count, 9), np.float32), bent_normal=normal.copy())


def test_photo_metrics_use_the_weighted_pixels_in_srgb():
    gbuffer = _toy_gbuffer()
    photo = np.full((4, 4, 3), 0.5, np.float32)
    radiance = np.full((6, 3), float(srgb_to_linear_np(np.float64(0.5))))
    weights = np.array([1, 1, 1, 1, 0.2, 0.0])
    assert quality.photo_metrics(radiance, photo, gbuffer, weights)["photo_psnr"] == math.inf
    photo_off = photo.copy().reshape(-1, 3)
    photo_off[:4] += 0.1                                      # error 0.1 on the counted pixels
    photo_off[4:] += 0.4                                      # ignored: weight below the threshold
    metrics = quality.photo_metrics(radiance, photo_off.reshape(4, 4, 3), gbuffer, weights)
    assert metrics["photo_rmse"] == pytest.approx(0.1, abs=1e-6)
    assert metrics["photo_psnr"] == pytest.approx(20.0, abs=1e-4)


def test_map_metrics_resample_to_the_truth_and_measure_the_face_only():
    size = 64
    truth = {"albedo": np.full((size, size, 3), 0.6, np.float32), "specular": np.full((size, size, 1), 0.3, np.float32),
             "normal": np.tile(np.float32([0.5, 0.5, 1.0]), (size, size, 1))}
    predicted = {"albedo": np.full((2 * size, 2 * size, 3), 0.6, np.float32),
                 "specular": np.full((2 * size, 2 * size, 1), 0.4, np.float32),
                 "normal": np.tile(np.float32([0.5, 0.5, 1.0]), (size // 2, size // 2, 1))}
    metrics = quality.map_metrics(predicted, truth)
    assert metrics["albedo_rmse"] == pytest.approx(0.0, abs=1e-6)
    assert metrics["normal_rmse"] == pytest.approx(0.0, abs=1e-6)
    assert metrics["specular_rmse"] == pytest.approx(0.1, abs=1e-6)
    assert metrics["specular_psnr"] == pytest.approx(20.0, abs=1e-3)


def test_light_metric_is_perfect_for_the_true_light_and_mean_metrics_skip_infinities():
    light = np.zeros((9, 3))
    light[0] = 2.0
    light[2] = [0.5, 0.4, 0.3]
    assert quality.light_metrics(light, light)["light_psnr"] == math.inf
    assert quality.light_metrics(light * 1.1, light)["light_psnr"] < 40.0
    assert quality.mean_metrics([{"a": math.inf}, {"a": 10.0}, {"a": 20.0}]) == {"a": 15.0}


# ---------------------------------------------------------------------------------------------------- ablations
def test_hemisphere_visibility_matches_a_quadrature_projection():
    from svfri.math.sh import project_function_np

    up = np.array([0.0, 0.0, 1.0])
    projected = project_function_np(lambda w: (w @ up > 0).astype(np.float64), order_quadrature=256)
    assert np.allclose(ablations.hemisphere_visibility_sh(up), projected, atol=2e-3)


def test_hemisphere_visibility_is_unoccluded_for_the_shader():
    import tensorflow as tf

    from svfri.math.sh import occluded_diffuse_radiance
    from svfri.render.shading import ambient_occlusion

    rng = np.random.default_rng(1)
    normals = rng.standard_normal((50, 3))
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    visibility = ablations.hemisphere_visibility_sh(normals)
    assert np.allclose(ambient_occlusion(tf.constant(visibility), tf.constant(normals, tf.float32)).numpy(), 1.0,
                       atol=1e-5)
    constant_light = np.zeros((9, 3))
    constant_light[0] = math.sqrt(4 * math.pi)               # L(w) = 1 everywhere
    radiance = occluded_diffuse_radiance(tf.constant(constant_light), tf.constant(visibility, tf.float64),
                                         tf.constant(normals)).numpy()
    assert np.allclose(radiance, 1.0, atol=1e-6)


def test_without_self_occlusion_replaces_only_visibility_and_bent_normal():
    gbuffer = _toy_gbuffer()
    changed = ablations.without_self_occlusion(gbuffer)
    assert changed.visibility_sh.shape == gbuffer.visibility_sh.shape
    assert np.allclose(changed.visibility_sh[:, 0], 2 * math.pi * 0.5 / math.sqrt(math.pi))   # 2 pi Y_00
    assert np.array_equal(changed.bent_normal, gbuffer.normal)
    assert np.array_equal(changed.pixel_index, gbuffer.pixel_index)
    assert not np.any(gbuffer.visibility_sh)                # the input is untouched


def test_zero_specular_keeps_shape_and_other_maps():
    maps = {"albedo": np.ones((4, 4, 3)), "specular": np.ones((2, 2, 1)), "normal": np.ones((2, 2, 3))}
    zeroed = ablations.zero_specular(maps)
    assert zeroed["specular"].shape == (2, 2, 1) and not zeroed["specular"].any()
    assert zeroed["albedo"] is maps["albedo"] and maps["specular"].all()


# ----------------------------------------------------------------------------------------------- scenes / setup
def test_environment_light_is_exposure_normalised():
    from svfri.errors import HdrError
    from svfri.math.colorimetry import SRGB_TO_XYZ
    from svfri.math.sh import SH_C0

    try:
        light = scenes.environment_light("city", yaw_degrees=120.0)
    except HdrError:
        pytest.skip("held-out HDR maps are not in the cache")
    assert light.shape == (9, 3)
    assert float(SRGB_TO_XYZ[1] @ light[0]) * SH_C0 == pytest.approx(1.0)
    environments = scenes.held_out_environments(6)
    assert len(set(environments)) == 6
    with pytest.raises(ValueError):
        scenes.held_out_environments(100)


def test_cli_settings_follow_the_fit_command_defaults():
    settings = speed.cli_settings()
    defaults = speed.cli_defaults()
    assert settings.fit.steps == defaults["steps"] == 150
    assert settings.geometry.texture_size == defaults["texture_size"]
    assert settings.report is (not defaults["no_report"]) is True          # a flag's default resolves to False
    assert speed.cli_settings(steps=7, texture_size=128).fit.steps == 7


def test_untrained_weights_are_recognised(tmp_path):
    from benchmarks.suite import weights_look_untrained
    from svfri.nets import FaceNetworks

    networks = FaceNetworks("tiny")
    assert weights_look_untrained(networks)
    import keras
    layer = next(layer for model in networks.models().values() for layer in model.layers
                 if isinstance(layer, keras.layers.BatchNormalization))
    layer.moving_mean.assign(layer.moving_mean + 0.1)
    assert not weights_look_untrained(networks)


# ------------------------------------------------------------------------------------------------- smoke (quick)
def test_quick_path_fits_a_held_out_scene_and_its_ablations():
    """The quick plan's cheapest part end to end with tiny untrained networks: a held-out scene, the full fit with
    a snapshot, and the no-specular and no-occlusion variants."""
    from svfri.fitting.optimise import FitSettings, LatentFitter
    from svfri.geometry.template import load_face_template
    from svfri.nets import FaceNetworks

    template = load_face_template()
    scene = scenes.held_out_scene(scenes.HELD_OUT_START_SEED, template)
    assert scene.gbuffer.pixel_count > 1000 and scene.texture.shape[-1] == 4
    networks = FaceNetworks("tiny")
    record = quality.fit_scene(LatentFitter(networks, FitSettings(steps=4)), scene, template, snapshot_every=2)
    assert len(record.loss_history) == 4 and sorted(record.snapshots) == [2, 4]
    assert record.snapshots[4] == pytest.approx(record.fit, rel=1e-4)        # the last snapshot is the result
    assert record.fit["photo_psnr"] > record.init["photo_psnr"]               # the fit fits the photo
    for key in quality.TABLE_COLUMNS:
        assert math.isfinite(record.fit[f"{key}_psnr"]) and record.fit[f"{key}_rmse"] > 0

    no_specular = quality.fit_scene(ablations.NoSpecularFitter(networks, FitSettings(steps=3)), scene, template,
                                    transform_maps=ablations.zero_specular)
    assert not no_specular.maps["specular"].any() and not no_specular.initial_maps["specular"].any()
    no_occlusion = quality.fit_scene(LatentFitter(networks, FitSettings(steps=3)), scene, template,
                                     gbuffer=ablations.without_self_occlusion(scene.gbuffer))
    # same networks' maps, another render: only the G-buffer's visibility changed
    assert np.array_equal(no_occlusion.initial_maps["albedo"], record.initial_maps["albedo"])
    assert no_occlusion.init["photo_psnr"] != pytest.approx(record.init["photo_psnr"], abs=1e-3)
    no_enhancers = quality.fit_scene(LatentFitter(networks, FitSettings(steps=2, enhance=False)), scene, template)
    assert no_enhancers.maps["albedo"].shape[0] == networks.config.albedo.texture_size


def test_source_stamp_names_the_changed_files_whole(tmp_path):
    """The report's dirty-tree stamp lists each modified tracked file by its full path (a first line's leading
    status blank must not shift it)."""
    import subprocess

    from benchmarks.pathtraced.report import source_stamp

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    for name in ("models.txt", "svfri.txt"):
        (tmp_path / name).write_text("a\n")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    assert source_stamp(tmp_path)["dirty"] is False
    (tmp_path / "models.txt").write_text("b\n")
    (tmp_path / "svfri.txt").write_text("b\n")
    stamp = source_stamp(tmp_path)
    assert stamp["dirty"] is True and stamp["dirty_files"] == ["models.txt", "svfri.txt"]
    assert len(stamp["commit"]) == 40
