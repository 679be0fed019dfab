"""Metric code against known values."""

import math

import numpy as np
import pytest

from svfri.math.colorimetry import ita_degrees, srgb_linear_to_lab
from svfri.math.metrics import delta_e_2000, l1, psnr, rmse, ssim

# Sharma, Wu & Dalal 2005, Table 1: pairs (L1 a1 b1), (L2 a2 b2), expected dE00 (a selection covering the hue
# wrap-around, the achromatic case and the large-difference rows).
SHARMA_PAIRS = [
    ((50.0000, 2.6772, -79.7751), (50.0000, 0.0000, -82.7485), 2.0425),
    ((50.0000, 3.1571, -77.2803), (50.0000, 0.0000, -82.7485), 2.8615),
    ((50.0000, 2.8361, -74.0200), (50.0000, 0.0000, -82.7485), 3.4412),
    ((50.0000, -1.3802, -84.2814), (50.0000, 0.0000, -82.7485), 1.0000),
    ((50.0000, 0.0000, 0.0000), (50.0000, -1.0000, 2.0000), 2.3669),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0009), 7.1792),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0011), 7.2195),
    ((50.0000, -0.0010, 2.4900), (50.0000, 0.0009, -2.4900), 4.8045),
    ((50.0000, -0.0010, 2.4900), (50.0000, 0.0011, -2.4900), 4.7461),
    ((50.0000, 2.5000, 0.0000), (73.0000, 25.0000, -18.0000), 27.1492),
    ((50.0000, 2.5000, 0.0000), (61.0000, -5.0000, 29.0000), 22.8977),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ((63.0109, -31.0961, -5.8663), (62.8187, -29.7946, -4.0864), 1.2630),
    ((22.7233, 20.0904, -46.6940), (23.0331, 14.9730, -42.5619), 2.0373),
    ((90.8027, -2.0831, 1.4410), (91.1528, -1.6435, 0.0447), 1.4441),
    ((2.0776, 0.0795, -1.1350), (0.9033, -0.0636, -0.5514), 0.9082),
]


@pytest.mark.parametrize("lab1, lab2, expected", SHARMA_PAIRS)
def test_ciede2000_against_sharma_table(lab1, lab2, expected):
    assert delta_e_2000(np.array(lab1), np.array(lab2)) == pytest.approx(expected, abs=1e-4)
    assert delta_e_2000(np.array(lab2), np.array(lab1)) == pytest.approx(expected, abs=1e-4)


def test_psnr_rmse_l1_closed_form():
    a = np.zeros((8, 8, 3))
    b = np.full((8, 8, 3), 0.1)
    assert rmse(a, b) == pytest.approx(0.1)
    assert l1(a, b) == pytest.approx(0.1)
    assert psnr(a, b) == pytest.approx(20.0)
    assert psnr(a, a) == math.inf
    mask = np.zeros((8, 8), bool)
    mask[:2] = True
    c = b.copy()
    c[2:] = 5.0  # outside the mask: ignored
    assert psnr(a, c, mask) == pytest.approx(20.0)
    assert psnr(a * 255, b * 255, peak=255.0) == pytest.approx(20.0)


def test_ssim_identity_and_degradation():
    rng = np.random.default_rng(0)
    image = rng.uniform(size=(64, 64, 3))
    assert ssim(image, image) == pytest.approx(1.0)
    noisy = np.clip(image + rng.normal(scale=0.2, size=image.shape), 0, 1)
    blurred_score = ssim(image, noisy)
    assert 0.0 < blurred_score < 0.9
    assert ssim(image, np.clip(image + rng.normal(scale=0.05, size=image.shape), 0, 1)) > blurred_score
    # Constant images with a constant offset: luminance term only, closed form (2 m1 m2 + C1) / (m1^2 + m2^2 + C1).
    c1 = 0.01 ** 2
    expected = (2 * 0.5 * 0.6 + c1) / (0.5 ** 2 + 0.6 ** 2 + c1)
    assert ssim(np.full((32, 32), 0.5), np.full((32, 32), 0.6)) == pytest.approx(expected, rel=1e-9)


def test_ita_of_known_colours():
    assert srgb_linear_to_lab(np.ones(3)) == pytest.approx([100.0, 0.0, 0.0], abs=1e-3)
    # ITA = atan((L* - 50) / b*): for a colour with L* = 50 it is 0 whatever b* (> 0).
    lab_yellowish_grey = srgb_linear_to_lab(np.array([0.19, 0.18, 0.12]))
    ita = ita_degrees(np.array([0.19, 0.18, 0.12]))
    assert ita == pytest.approx(math.degrees(math.atan2(lab_yellowish_grey[0] - 50, lab_yellowish_grey[2])), abs=1e-6)


def test_empty_mask_is_an_error():
    image = np.zeros((4, 4, 3))
    for metric in (psnr, rmse, l1, ssim):
        with pytest.raises(ValueError, match="empty mask"):
            metric(image, image, np.zeros((4, 4), bool))
