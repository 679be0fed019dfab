"""Face-priority exposure augmentation (svfri.training.augment) on textures with known luminance."""

import numpy as np
import pytest

from svfri.math.color import linear_to_srgb_np, srgb_to_linear_np
from svfri.math.colorimetry import relative_luminance
from svfri.training.augment import MAX_GAIN, MID_GREY, SPREAD_EV, apply_exposure_gains, face_exposure_gains


def _texture(linear_grey: float, count: int = 64, visible: float = 1.0) -> np.ndarray:
    texture = np.zeros((count, 8, 8, 4), np.float32)
    texture[..., :3] = linear_to_srgb_np(np.full(3, linear_grey))
    texture[..., 3] = visible
    return texture


def test_re_exposed_faces_land_within_a_stop_of_mid_grey():
    texture = _texture(0.02)                                  # a dark face as a frame-metered render gives it
    gains = face_exposure_gains(texture, np.random.default_rng(0), 1.0)
    exposed = apply_exposure_gains(texture, gains)
    luminance = relative_luminance(srgb_to_linear_np(exposed[..., :3].astype(np.float64))).mean(axis=(1, 2))
    assert np.all(luminance >= MID_GREY * 2.0 ** -SPREAD_EV - 1e-4)
    assert np.all(luminance <= MID_GREY * 2.0 ** SPREAD_EV + 1e-4)
    np.testing.assert_allclose(gains, luminance / 0.02, rtol=1e-3)     # the gain is the luminance ratio
    assert gains.std() > 0.5                                  # the aim is spread, not one exposure
    np.testing.assert_array_equal(exposed[..., 3], texture[..., 3])


def test_fraction_zero_changes_nothing_and_only_visible_texels_meter():
    texture = _texture(0.3)
    gains = face_exposure_gains(texture, np.random.default_rng(1), 0.0)
    np.testing.assert_array_equal(gains, 1.0)
    np.testing.assert_allclose(apply_exposure_gains(texture, gains), texture, atol=1e-6)
    # Invisible texels (mask 0) are bright here; the gain follows the visible ones (linear 0.05).
    mixed = _texture(0.05, count=200)
    mixed[:, :, :4, :3] = 1.0
    mixed[:, :, :4, 3] = 0.0
    gains = face_exposure_gains(mixed, np.random.default_rng(2), 1.0)
    aims = gains * 0.05
    assert aims.min() >= MID_GREY / 2 - 1e-6 and aims.max() <= MID_GREY * 2 + 1e-6
    # About half re-exposed at fraction 0.5.
    assert 0.35 < np.mean(face_exposure_gains(mixed, np.random.default_rng(3), 0.5) != 1.0) < 0.65


def test_gain_is_bounded_and_clips_like_a_sensor():
    black = _texture(0.0, count=4)
    assert np.all(face_exposure_gains(black, np.random.default_rng(0), 1.0) == MAX_GAIN)
    bright = apply_exposure_gains(_texture(0.5, count=1), np.array([4.0]))
    np.testing.assert_allclose(bright[..., :3], 1.0)
    with pytest.raises(ValueError, match="fraction"):
        face_exposure_gains(black, np.random.default_rng(0), 1.5)
    with pytest.raises(ValueError, match=r"\[B, H, W, 4\]"):
        face_exposure_gains(black[..., :3], np.random.default_rng(0), 0.5)
