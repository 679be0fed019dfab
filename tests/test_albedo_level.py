"""The albedo level from scene context: the crop the regressor sees, its storage, the gain the fit holds, where the
level is measured, and the CLI switch."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner

from svfri.errors import ModelError, NotYetError
from svfri.fitting.optimise import apply_albedo_gain
from svfri.math.color import linear_to_srgb_np, srgb_to_linear_np
from svfri.nets.level import CONTEXT_CHANNELS, AlbedoLevelNet, context_crop
from svfri.pipeline import albedo_level
from svfri_cli.main import main


def _square_points(x0, y0, side):
    return np.array([[x0, y0], [x0 + side, y0], [x0, y0 + side], [x0 + side, y0 + side]], float)


def test_context_crop_places_the_face_at_the_centre_at_a_third_of_the_side():
    photo = np.zeros((300, 400, 3), np.uint8)
    photo[100:160, 150:210] = (200, 100, 50)           # the "face": a 60 px square
    crop = context_crop(photo, 255.0, _square_points(150, 100, 60), size=90, face_factor=3.0)
    assert crop.shape == (90, 90, CONTEXT_CHANNELS) and crop.dtype == np.float32
    # The face's 60 px span 60 / 180 of the crop: columns / rows 30..60 of 90.
    np.testing.assert_allclose(crop[45, 45, :3], np.array([200, 100, 50]) / 255.0, atol=1e-3)
    inside = crop[..., 0] > 0.5
    rows, cols = np.nonzero(inside)
    assert abs(rows.min() - 30) <= 1 and abs(rows.max() - 59) <= 1 and abs(cols.min() - 30) <= 1
    assert np.all(crop[..., 3] == 1.0)                  # the crop lies inside the photo


def test_context_crop_marks_what_lies_outside_the_photo():
    photo = np.full((200, 200, 3), 128, np.uint8)
    crop = context_crop(photo, 255.0, _square_points(0, 80, 40), size=60)   # face at the left edge
    assert crop[30, 0, 3] == 0.0 and np.all(crop[30, 0, :3] == 0.0)
    assert crop[30, 40, 3] == 1.0
    np.testing.assert_allclose(crop[30, 40, :3], 128 / 255.0, atol=1e-3)


def test_context_crop_shrinks_with_an_area_filter():
    photo = np.zeros((800, 800, 3), np.uint8)
    photo[::2] = 255                                    # stripes finer than the crop's pixels
    crop = context_crop(photo, 255.0, _square_points(300, 300, 200), size=64)
    np.testing.assert_allclose(crop[20:44, 20:44, :3], 0.5, atol=0.03)


def test_context_crop_rejects_bad_input():
    with pytest.raises(ValueError, match=r"\[H, W, 3\]"):
        context_crop(np.zeros((10, 10)), 255.0, _square_points(0, 0, 5))
    with pytest.raises(ValueError, match="no area"):
        context_crop(np.zeros((10, 10, 3), np.uint8), 255.0, np.zeros((4, 2)))


def test_level_net_starts_at_the_networks_level_and_round_trips(tmp_path):
    net = AlbedoLevelNet(64)
    rng = np.random.default_rng(0)
    context, face = (rng.random((2, 64, 64, 4)).astype(np.float32) for _ in range(2))
    own = np.array([[0.4, 0.25, 0.2], [0.1, 0.05, 0.03]])
    np.testing.assert_allclose(net.predict(context, face, own), own, rtol=1e-5)   # zero residual at the start
    for weight in net.model.get_layer("level_residual").weights:
        weight.assign(rng.normal(0.0, 0.05, weight.shape))
    expected = net.predict_log(context, face, own)
    assert not np.allclose(expected, np.log(own), atol=1e-3)
    net.provenance = {"seed": 0}
    net.save(tmp_path / "level")
    loaded = AlbedoLevelNet.from_directory(tmp_path / "level")
    np.testing.assert_allclose(loaded.predict_log(context, face, own), expected, atol=5e-3)
    np.testing.assert_allclose(loaded.predict_log(context[0], face[0], own[0]), expected[0], atol=5e-3)
    assert loaded.provenance == {"seed": 0}
    with pytest.raises(ValueError, match="face crops"):
        loaded.predict(context, np.zeros((2, 32, 32, 4)), own)
    with pytest.raises(ValueError, match="network_level"):
        loaded.predict(context, face, -own)
    with pytest.raises(ModelError, match="not found"):
        AlbedoLevelNet.from_directory(tmp_path / "nowhere")
    (tmp_path / "level" / "level.json").write_text("{")
    with pytest.raises(ModelError, match="corrupt"):
        AlbedoLevelNet.from_directory(tmp_path / "level")


def test_missing_level_weights_is_a_not_yet_error(tmp_path):
    with pytest.raises(NotYetError, match="--albedo-level networks"):
        albedo_level.load_level_net(tmp_path)


def test_apply_albedo_gain_in_linear_light():
    albedo = tf.constant([[[0.5, 0.5, 0.5]]], tf.float32)
    np.testing.assert_allclose(apply_albedo_gain(albedo, tf.ones(3)).numpy(), albedo.numpy(), atol=1e-6)
    out = apply_albedo_gain(albedo, tf.constant([2.0, 1.0, 0.5])).numpy()[0, 0]
    expected = linear_to_srgb_np(srgb_to_linear_np(0.5) * np.array([2.0, 1.0, 0.5]))
    np.testing.assert_allclose(out, expected, atol=1e-5)
    assert abs(expected[0] - 0.6858) < 1e-3          # sRGB 0.5 = linear 0.2140; doubled 0.4281 = sRGB 0.6858
    bright = apply_albedo_gain(tf.constant([[[0.9, 0.9, 0.9]]]), tf.constant([4.0, 4.0, 4.0])).numpy()
    np.testing.assert_allclose(bright, 1.0, atol=1e-6)     # clipped at 1 (an albedo cannot exceed 1)


def test_network_level_is_the_skin_weighted_mean_in_linear_light():
    from svfri.geometry.template import load_face_template

    template = load_face_template()
    constant = np.full((64, 64, 3), linear_to_srgb_np(np.array([0.3, 0.2, 0.1])))
    np.testing.assert_allclose(albedo_level.network_level(constant, template), [0.3, 0.2, 0.1], atol=1e-6)
    # Half the map at one colour, half at another: the mean is weighted by the skin mask, in linear light.
    split = constant.copy()
    split[32:] = linear_to_srgb_np(np.array([0.1, 0.1, 0.1]))
    weights = albedo_level._template_skin(template, 64)
    top = weights[:32].sum() / weights.sum()
    expected = top * np.array([0.3, 0.2, 0.1]) + (1 - top) * 0.1
    np.testing.assert_allclose(albedo_level.network_level(split, template), expected, atol=1e-6)
    # Eyes and brows carry no weight: painting them changes nothing.
    painted = constant.copy()
    eyes = cv2.resize(np.asarray(template.region_masks["eyes"], np.float32), (64, 64)) > 0.999
    painted[eyes] = 1.0
    np.testing.assert_allclose(albedo_level.network_level(painted, template), [0.3, 0.2, 0.1], atol=2e-3)


def test_cli_refuses_an_unknown_albedo_level(sample_photo, tmp_path):
    result = CliRunner().invoke(main, ["fit", str(sample_photo), "--out", str(tmp_path), "--albedo-level", "face"])
    assert result.exit_code == 2
    assert "'face' is not one of 'networks', 'context'" in result.output


def test_fit_json_records_the_level(sample_photo, tmp_path, use_tiny):
    result = CliRunner().invoke(main, ["fit", str(sample_photo), "--out", str(tmp_path / "a"), "--steps", "0",
                                       "--texture-size", "128", "--no-report", "-q", "--albedo-level", "context"])
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "a" / "fit.json").read_text())["albedo_level"]
    assert record["source"] == "context" and len(record["predicted_linear"]) == 3
    predicted, measured, applied = (np.array(record[k]) for k in ("predicted_linear", "networks_linear",
                                                                  "gain_applied"))
    np.testing.assert_allclose(applied, np.clip(predicted / measured, 1 / 8, 8), rtol=1e-3)
    result = CliRunner().invoke(main, ["fit", str(sample_photo), "--out", str(tmp_path / "b"), "--steps", "0",
                                       "--texture-size", "128", "--no-report", "-q"])            # the default
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "b" / "fit.json").read_text())["albedo_level"]
    assert record["source"] == "networks" and record["gain_applied"] == [1.0, 1.0, 1.0]


def test_level_scoring_and_split_on_known_answers():
    from precompute.make_pathtraced_training_set import is_test
    from precompute.train_level import ita_figures
    from svfri.math.colorimetry import ita_degrees

    true = np.array([[0.5, 0.35, 0.3], [0.3, 0.18, 0.12], [0.1, 0.05, 0.03], [0.5, 0.35, 0.3]])
    types = np.array([1, 3, 6, 1])
    exact = ita_figures(true, true, types)
    assert exact["ita_error_deg"] == 0.0 and exact["ita_bias_deg"] == 0.0 and exact["delta_e_2000"] == 0.0
    lighter = true * np.array([[1.0], [1.0], [1.0], [1.2]])          # only the last sample (type I) off
    figures = ita_figures(lighter, true, types)
    error = float(ita_degrees(lighter[3]) - ita_degrees(true[3]))
    assert error > 0                                                      # lighter skin: higher ITA
    np.testing.assert_allclose(figures["ita_error_per_type"][1], round(abs(error) / 2, 2), atol=0.01)
    np.testing.assert_allclose(figures["ita_signed_per_type"][1], round(error / 2, 2), atol=0.01)
    assert figures["ita_error_per_type"][3] == figures["ita_error_per_type"][6] == 0.0
    # The split takes whole blocks of the six skin types, one block in ten.
    test = [i for i in range(130) if is_test(i)]
    assert test == list(range(6)) + list(range(60, 66)) + list(range(120, 126))
