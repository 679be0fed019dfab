"""Image-quality and colour-difference metrics (numpy), masked where a face mask applies.

* PSNR: ``10 log10(peak^2 / MSE)`` over the masked pixels and channels; ``inf`` for identical inputs.
* RMSE: ``sqrt(MSE)``.
* L1: mean absolute difference.
* SSIM: Wang, Bovik, Sheikh & Simoncelli, "Image quality assessment: from error visibility to structural
  similarity", IEEE TIP 2004: Gaussian window ``sigma = 1.5`` (11x11), ``K1 = 0.01``, ``K2 = 0.03``, computed per
  channel on the full image and averaged over the mask (the window straddles the mask edge: pixels outside the mask
  should hold the same values in both images, e.g. both zero, so they add no spurious structure).
* CIEDE2000: Sharma, Wu & Dalal, "The CIEDE2000 color-difference formula: implementation notes, supplementary test
  data, and mathematical observations", Color Res. Appl. 2005 (``kL = kC = kH = 1``).

Images are ``[H, W, C]`` arrays in ``[0, peak]``; masks ``[H, W]`` bool or weights. An empty mask is a
``ValueError`` (there is nothing to measure).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["psnr", "rmse", "l1", "ssim", "delta_e_2000", "SSIM_SIGMA", "SSIM_K1", "SSIM_K2"]

SSIM_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03
_SSIM_TRUNCATE = 3.5  # Gaussian window radius in sigmas (11x11 at sigma 1.5)


def _masked_values(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    if mask is None:
        return a.reshape(-1), b.reshape(-1)
    mask = np.asarray(mask).astype(bool)
    if not mask.any():
        raise ValueError("empty mask: no pixels to compare")
    return a[mask].reshape(-1), b[mask].reshape(-1)


def rmse(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Root mean squared difference over the masked pixels (all channels)."""
    x, y = _masked_values(a, b, mask)
    return float(np.sqrt(np.mean((x - y) ** 2)))


def l1(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean absolute difference over the masked pixels (all channels)."""
    x, y = _masked_values(a, b, mask)
    return float(np.mean(np.abs(x - y)))


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None, *, peak: float = 1.0) -> float:
    """``10 log10(peak^2 / MSE)`` in dB over the masked pixels; ``inf`` when identical."""
    error = rmse(a, b, mask)
    if error == 0.0:
        return float("inf")
    return float(20.0 * math.log10(peak / error))


def ssim(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None, *, peak: float = 1.0) -> float:
    """Mean SSIM (Wang et al. 2004, Gaussian window) over the masked pixels, averaged over channels."""
    import cv2

    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    if a.ndim == 2:
        a, b = a[..., None], b[..., None]
    c1, c2 = (SSIM_K1 * peak) ** 2, (SSIM_K2 * peak) ** 2
    radius = int(_SSIM_TRUNCATE * SSIM_SIGMA + 0.5)
    blur = lambda x: cv2.GaussianBlur(x, (2 * radius + 1, 2 * radius + 1), SSIM_SIGMA, borderType=cv2.BORDER_REFLECT)
    values = []
    for channel in range(a.shape[2]):
        x, y = a[..., channel], b[..., channel]
        mu_x, mu_y = blur(x), blur(y)
        var_x = blur(x * x) - mu_x ** 2
        var_y = blur(y * y) - mu_y ** 2
        cov = blur(x * y) - mu_x * mu_y
        index = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x ** 2 + mu_y ** 2 + c1) * (var_x + var_y + c2))
        values.append(index)
    index = np.mean(values, axis=0)
    if mask is None:
        return float(index.mean())
    mask = np.asarray(mask).astype(bool)
    if not mask.any():
        raise ValueError("empty mask: no pixels to compare")
    return float(index[mask].mean())


def delta_e_2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference ``[...]`` between CIELAB colours ``[..., 3]`` (Sharma et al. 2005, eqs. 1-20)."""
    lab1 = np.asarray(lab1, dtype=np.float64)
    lab2 = np.asarray(lab2, dtype=np.float64)
    l1_, a1, b1 = lab1[..., 0], lab1[..., 1], lab1[..., 2]
    l2_, a2, b2 = lab2[..., 0], lab2[..., 1], lab2[..., 2]
    c1 = np.hypot(a1, b1)
    c2 = np.hypot(a2, b2)
    c_bar7 = ((c1 + c2) / 2) ** 7
    g = 0.5 * (1 - np.sqrt(c_bar7 / (c_bar7 + 25.0 ** 7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.where((a1p == 0) & (b1 == 0), 0.0, np.degrees(np.arctan2(b1, a1p)) % 360)
    h2p = np.where((a2p == 0) & (b2 == 0), 0.0, np.degrees(np.arctan2(b2, a2p)) % 360)
    d_lp = l2_ - l1_
    d_cp = c2p - c1p
    dh = h2p - h1p
    dh = np.where(c1p * c2p == 0, 0.0, np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh)))
    d_hp = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh / 2))
    l_bar = (l1_ + l2_) / 2
    c_bar = (c1p + c2p) / 2
    h_sum = h1p + h2p
    h_bar = np.where(c1p * c2p == 0, h_sum,
                     np.where(np.abs(h1p - h2p) <= 180, h_sum / 2,
                              np.where(h_sum < 360, (h_sum + 360) / 2, (h_sum - 360) / 2)))
    t = (1 - 0.17 * np.cos(np.radians(h_bar - 30)) + 0.24 * np.cos(np.radians(2 * h_bar))
         + 0.32 * np.cos(np.radians(3 * h_bar + 6)) - 0.20 * np.cos(np.radians(4 * h_bar - 63)))
    d_theta = 30 * np.exp(-(((h_bar - 275) / 25) ** 2))
    r_c = 2 * np.sqrt(c_bar ** 7 / (c_bar ** 7 + 25.0 ** 7))
    s_l = 1 + 0.015 * (l_bar - 50) ** 2 / np.sqrt(20 + (l_bar - 50) ** 2)
    s_c = 1 + 0.045 * c_bar
    s_h = 1 + 0.015 * c_bar * t
    r_t = -np.sin(np.radians(2 * d_theta)) * r_c
    return np.sqrt((d_lp / s_l) ** 2 + (d_cp / s_c) ** 2 + (d_hp / s_h) ** 2 + r_t * (d_cp / s_c) * (d_hp / s_h))
