"""The path-traced benchmark's scoring, reprojection, camera and plan on cases with known answers."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from svfri.io.images import write_png
from svfri.io.mesh_io import write_obj
from svfri.math.color import linear_to_srgb_np
from svfri.math.colorimetry import ita_degrees

from benchmarks.pathtraced import scoring
from svfri.synth.pathtraced.camera import MIDDLE_GREY, metered_exposure, metering_weights
from benchmarks.pathtraced.plan import check_disjoint, make_plan
from benchmarks.pathtraced.reproject import camera_frame_from_world_to_pixel, reproject_output
from svfri.bake.unwrap import sample_uv

SIZE = 32


def _albedo(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = np.array([0.45, 0.3, 0.22])
    return np.clip(base * np.exp(rng.normal(0, 0.15, (SIZE, SIZE, 3))), 0.01, 0.9)


def _shading() -> np.ndarray:
    ramp = np.linspace(0.3, 1.2, SIZE)
    return np.broadcast_to(ramp[None, :, None], (SIZE, SIZE, 1)) * np.ones((SIZE, SIZE, 1))


MASK = np.ones((SIZE, SIZE), bool)


def test_perfect_albedo_scores_perfectly():
    truth = _albedo()
    photo = truth * _shading()
    srgb = linear_to_srgb_np(truth)
    assert scoring.albedo_psnr(srgb, srgb, MASK) == math.inf
    assert scoring.mean_delta_e(truth, truth, MASK) == pytest.approx(0.0, abs=1e-9)
    assert scoring.shading_leak(truth, truth, photo, MASK) == pytest.approx(0.0, abs=1e-9)
    assert scoring.mean_ita(truth, MASK) == pytest.approx(float(ita_degrees(truth.reshape(-1, 3).mean(0))))


def test_known_scale_is_recovered_and_leaves_no_shading():
    truth = _albedo()
    scaled_down = truth * 0.5
    assert scoring.best_grey_scale(scaled_down, truth, MASK) == pytest.approx(2.0)
    psnr_scaled, k = scoring.scaled_albedo_psnr(scaled_down, truth, MASK)
    assert k == pytest.approx(2.0) and psnr_scaled > 100
    assert scoring.albedo_psnr(linear_to_srgb_np(scaled_down), linear_to_srgb_np(truth), MASK) < 20
    # A level error is not shading: the leak stays 0.
    assert scoring.shading_leak(scaled_down, truth, truth * _shading(), MASK) == pytest.approx(0.0, abs=1e-9)


def test_shading_leak_is_the_exponent_of_the_shading_left_in():
    truth = _albedo()
    shading = _shading()
    photo = truth * shading
    assert scoring.shading_leak(photo, truth, photo, MASK) == pytest.approx(1.0)
    half = truth * np.sqrt(shading)
    assert scoring.shading_leak(half, truth, photo, MASK) == pytest.approx(0.5)


def test_constant_shading_photo_is_a_perfect_albedo_up_to_its_level():
    truth = _albedo()
    photo = truth * 0.7
    psnr_scaled, k = scoring.scaled_albedo_psnr(photo, truth, MASK)
    assert k == pytest.approx(1 / 0.7) and psnr_scaled > 100
    assert math.isnan(scoring.shading_leak(photo, truth, photo, MASK))


def test_ita_golden_values_and_shift_sign():
    white = np.ones((SIZE, SIZE, 3))
    assert scoring.mean_ita(white, MASK) == pytest.approx(90.0)  # L* = 100, b* = 0
    skin = np.broadcast_to(np.array([0.4, 0.25, 0.17]), (SIZE, SIZE, 3))
    assert scoring.mean_ita(skin * 1.3, MASK) > scoring.mean_ita(skin, MASK)  # lighter skin, larger ITA
    assert scoring.mean_delta_e(skin * 1.3, skin, MASK) > 1.0


def test_lighting_consistency_known_spread():
    a = np.full((SIZE, SIZE, 3), 0.4)
    result = scoring.lighting_consistency([a, a + 0.1], MASK)
    assert result["pixel_std"] == pytest.approx(0.05)
    same = scoring.lighting_consistency([a, a, a], MASK)
    assert same["pixel_std"] == pytest.approx(0.0, abs=1e-12) and same["max_delta_e"] == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError):
        scoring.lighting_consistency([a], MASK)


def test_angular_error_and_empty_masks():
    z = np.zeros((SIZE, SIZE, 3))
    z[..., 2] = 1
    x = np.zeros((SIZE, SIZE, 3))
    x[..., 0] = 1
    assert scoring.angular_error_degrees(z, x, MASK) == pytest.approx(90.0)
    assert scoring.angular_error_degrees(z, z * 3, MASK) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="no pixel"):
        scoring.albedo_psnr(z, z, np.zeros((SIZE, SIZE), bool))


def test_metering_brings_the_weighted_mean_to_middle_grey():
    radiance = np.full((20, 30, 3), 4.0)
    assert metered_exposure(radiance) == pytest.approx(MIDDLE_GREY / 4.0)
    weights = metering_weights(20, 30)
    assert weights.sum() == pytest.approx(1.0) and weights[10, 15] > weights[0, 0]


def test_plans_are_fixed_and_disjoint():
    report, tuning = make_plan("report"), make_plan("tuning")
    check_disjoint(report, tuning)
    assert [s.seed for s in report.scenes] == [s.seed for s in make_plan("report").scenes]
    assert sorted({s.skin_type for s in report.scenes}) == [1, 2, 3, 4, 5, 6]
    assert any(s.light.key for s in report.scenes) and not all(s.light.key for s in report.scenes)
    assert len(report.consistency) >= 6 and len({s.seed for s in report.consistency}) == 1
    with pytest.raises(AssertionError, match="share"):
        check_disjoint(report, report)


def test_sample_uv_reads_texel_centres_with_t_up():
    image = np.zeros((4, 4, 3), np.float32)
    image[0, 0] = 1.0        # row 0 is t near 1 (top), column 0 is s near 0
    value = sample_uv(image, np.array([[0.125, 0.875], [0.875, 0.125]]))
    np.testing.assert_allclose(value[0], 1.0, atol=1e-6)
    np.testing.assert_allclose(value[1], 0.0, atol=1e-6)


def test_reprojection_through_the_output_contract(tmp_path):
    """A textured square seen by a known camera: coverage, albedo and normals come back where they belong."""
    vertices = np.array([[-1.0, -1.0, 0.0], [1.0, -1.0, 0.0], [1.0, 1.0, 0.0], [-1.0, 1.0, 0.0]])
    faces = np.array([[0, 1, 2], [0, 2, 3]])
    uv = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    normals = np.tile([0.0, 0.0, 1.0], (4, 1))
    write_obj(tmp_path / "mesh.obj", vertices, faces, uv, normals)
    albedo = np.zeros((8, 8, 3), np.float32)
    albedo[:4] = (0.8, 0.2, 0.2)     # top half of the texture (t > 0.5) red
    albedo[4:] = (0.2, 0.2, 0.8)
    write_png(tmp_path / "albedo.png", albedo)
    write_png(tmp_path / "specular.png", np.full((8, 8), 0.5, np.float32))
    write_png(tmp_path / "normal.png", np.broadcast_to(np.float32([0.5, 0.5, 1.0]), (8, 8, 3)).copy())
    # 10 px per cm, the square's centre at pixel (20, 20), image y down = world -Y.
    world_to_pixel = [[10.0, 0, 0, 20.0], [0, -10.0, 0, 20.0], [0, 0, 0, 1.0]]
    (tmp_path / "fit.json").write_text(json.dumps({"camera": {"world_to_pixel": world_to_pixel, "image_width": 40,
                                                              "image_height": 40}}))
    result = reproject_output(tmp_path)
    assert result.coverage.sum() == pytest.approx(400, abs=40)
    assert not result.coverage[0, 0] and result.coverage[20, 20]
    np.testing.assert_allclose(result.albedo_srgb[12, 20], (0.8, 0.2, 0.2), atol=0.01)   # upper half of the photo
    np.testing.assert_allclose(result.albedo_srgb[27, 20], (0.2, 0.2, 0.8), atol=0.01)
    np.testing.assert_allclose(result.normal_camera[20, 20], (0.0, 0.0, 1.0), atol=0.01)  # 8-bit normal map
    assert result.specular[20, 20] == pytest.approx(0.5, abs=0.01)
    frame = camera_frame_from_world_to_pixel(np.array(world_to_pixel))
    np.testing.assert_allclose(frame, np.eye(3), atol=1e-12)
