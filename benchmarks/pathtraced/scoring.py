"""Scoring a reconstruction against path-traced ground truth, through the output contract only.

Everything here compares images **in photo space**: the fitted maps are reprojected into the photo with the
output set's own mesh and camera (:mod:`benchmarks.pathtraced.reproject`), the truth comes from the path
tracer's AOVs. Neither side needs to know the other's mesh topology or UV layout.

All functions are pure and take ``[H, W, ...]`` arrays with a boolean ``mask [H, W]`` of the pixels scored.
Colour spaces are stated per argument: *linear* is linear sRGB (D65), *sRGB* the encoded values in ``[0, 1]``.

Figures (each tested on cases with a known answer in ``tests/test_pathtraced_scoring.py``):

* :func:`albedo_psnr`: PSNR (dB, peak 1) of the sRGB-encoded albedo over the mask.
* :func:`best_grey_scale` / :func:`scaled_albedo_psnr`: the same after multiplying the predicted *linear* albedo by
  the single scale ``k = <p, t> / <p, p>`` that best matches the truth in linear light (least squares over the
  mask and the three channels): the albedo's shape apart from its level.
* :func:`mean_ita`, :func:`mean_delta_e`: ITA (Chardon et al. 1991) and CIEDE2000 of the *mean linear* skin
  colour over the mask (FAIR's form, Feng et al. 2022).
* :func:`shading_leak`: how much of the photo's shading survives in the albedo. With per-pixel luminances
  ``S = photo / truth`` (the shading the photo shows, exposure included) and ``R = albedo / truth``, the leak is
  the least-squares slope of ``log R`` on ``log S`` over the mask: 0 for an albedo free of shading (at any
  level), 1 for the photo taken as albedo, ``g`` for an albedo ``truth * S^g``.
* :func:`lighting_consistency`: for one head under several lights, the mean over pixels of the per-pixel
  standard deviation of the sRGB albedo, and the largest pairwise CIEDE2000 between the mean skin colours.
* :func:`angular_error_degrees`: mean angle between unit normals.
"""

from __future__ import annotations

import itertools

import numpy as np

from svfri.math.color import linear_to_srgb_np, srgb_to_linear_np
from svfri.math.colorimetry import ita_degrees, relative_luminance as luminance, srgb_linear_to_lab
from svfri.math.metrics import delta_e_2000, psnr, rmse

__all__ = ["LUMINANCE_FLOOR", "albedo_psnr", "best_grey_scale", "scaled_albedo_psnr", "mean_ita", "mean_delta_e",
           "shading_leak", "lighting_consistency", "angular_error_degrees", "specular_rmse", "luminance"]

#: Luminances below this are left out of the log-ratio of :func:`shading_leak` (black pixels have no ratio).
LUMINANCE_FLOOR = 1e-4


def _mask(mask: np.ndarray, shape: tuple) -> np.ndarray:
    mask = np.asarray(mask, bool)
    if mask.shape != tuple(shape[:2]):
        raise ValueError(f"mask {mask.shape} does not match image {shape[:2]}")
    if not mask.any():
        raise ValueError("the mask selects no pixel")
    return mask


def albedo_psnr(predicted_srgb: np.ndarray, true_srgb: np.ndarray, mask: np.ndarray) -> float:
    """PSNR in dB (peak 1) of sRGB-encoded albedos ``[H, W, 3]`` over ``mask [H, W]``."""
    return psnr(np.clip(predicted_srgb, 0, 1), np.clip(true_srgb, 0, 1), _mask(mask, np.shape(true_srgb)))


def best_grey_scale(predicted_linear: np.ndarray, true_linear: np.ndarray, mask: np.ndarray) -> float:
    """``k = <p, t> / <p, p>`` over the masked pixels and channels: the grey scale on ``p`` closest to ``t``
    (linear sRGB ``[H, W, 3]``). Returns 1 for an all-zero prediction."""
    mask = _mask(mask, np.shape(true_linear))
    p = np.asarray(predicted_linear, np.float64)[mask]
    t = np.asarray(true_linear, np.float64)[mask]
    denominator = float((p * p).sum())
    return float((p * t).sum() / denominator) if denominator > 0 else 1.0


def scaled_albedo_psnr(predicted_linear: np.ndarray, true_linear: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    """``(psnr_db, k)``: :func:`albedo_psnr` of ``k * predicted`` (``k`` from :func:`best_grey_scale`), in sRGB."""
    k = best_grey_scale(predicted_linear, true_linear, mask)
    scaled = linear_to_srgb_np(np.clip(k * np.asarray(predicted_linear, np.float64), 0, 1))
    return albedo_psnr(scaled, linear_to_srgb_np(np.clip(true_linear, 0, 1)), mask), k


def mean_ita(linear: np.ndarray, mask: np.ndarray) -> float:
    """ITA in degrees of the mean linear colour ``[H, W, 3]`` over ``mask``."""
    mask = _mask(mask, np.shape(linear))
    return float(ita_degrees(np.asarray(linear, np.float64)[mask].mean(axis=0)))


def mean_delta_e(predicted_linear: np.ndarray, true_linear: np.ndarray, mask: np.ndarray) -> float:
    """CIEDE2000 between the mean linear colours of two ``[H, W, 3]`` images over ``mask``."""
    mask = _mask(mask, np.shape(true_linear))
    a = srgb_linear_to_lab(np.asarray(predicted_linear, np.float64)[mask].mean(axis=0))
    b = srgb_linear_to_lab(np.asarray(true_linear, np.float64)[mask].mean(axis=0))
    return float(delta_e_2000(a, b))


def shading_leak(predicted_linear: np.ndarray, true_linear: np.ndarray, photo_linear: np.ndarray,
                 mask: np.ndarray) -> float:
    """Slope of ``log(albedo / truth)`` on ``log(photo / truth)`` (luminances) over ``mask`` (module docstring).

    Args:
      predicted_linear, true_linear, photo_linear: ``[H, W, 3]`` linear sRGB: the recovered albedo, the true albedo,
        and the photo decoded to linear.
      mask: ``[H, W]`` bool; pixels with any luminance under :data:`LUMINANCE_FLOOR` are left out.

    Returns:
      The leak (0 = no shading in the albedo, 1 = all of it). NaN when the photo shows no shading variation.
    """
    mask = _mask(mask, np.shape(true_linear))
    p, t, f = (luminance(x)[mask] for x in (predicted_linear, true_linear, photo_linear))
    keep = (p > LUMINANCE_FLOOR) & (t > LUMINANCE_FLOOR) & (f > LUMINANCE_FLOOR)
    log_shading = np.log(f[keep] / t[keep])
    log_ratio = np.log(p[keep] / t[keep])
    log_shading -= log_shading.mean()
    variance = float((log_shading ** 2).sum())
    if variance <= 1e-12:
        return float("nan")
    return float((log_shading * (log_ratio - log_ratio.mean())).sum() / variance)


def lighting_consistency(albedos_srgb: list[np.ndarray], mask: np.ndarray) -> dict:
    """Spread of one head's albedo recovered under several lights.

    Args:
      albedos_srgb: ``n >= 2`` sRGB albedos ``[H, W, 3]`` in photo space (same view).
      mask: ``[H, W]`` pixels scored in every one.

    Returns:
      ``{"pixel_std": mean over pixels of the per-pixel std over lights (sRGB, averaged over channels),
      "max_delta_e": largest CIEDE2000 between two lights' mean linear colours}``.
    """
    if len(albedos_srgb) < 2:
        raise ValueError("lighting consistency needs at least two albedos")
    mask = _mask(mask, np.shape(albedos_srgb[0]))
    stack = np.stack([np.asarray(a, np.float64)[mask] for a in albedos_srgb])          # [n, N, 3]
    pixel_std = float(stack.std(axis=0).mean())
    means = [srgb_to_linear_np(np.clip(values, 0, 1)).mean(axis=0) for values in stack]
    labs = [srgb_linear_to_lab(m) for m in means]
    max_delta_e = max(float(delta_e_2000(a, b)) for a, b in itertools.combinations(labs, 2))
    return {"pixel_std": pixel_std, "max_delta_e": max_delta_e}


def angular_error_degrees(predicted: np.ndarray, true: np.ndarray, mask: np.ndarray) -> float:
    """Mean angle in degrees between unit vectors ``[H, W, 3]`` over ``mask`` (inputs renormalised)."""
    mask = _mask(mask, np.shape(true))
    a = np.asarray(predicted, np.float64)[mask]
    b = np.asarray(true, np.float64)[mask]
    a /= np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-12)
    b /= np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), 1e-12)
    return float(np.degrees(np.arccos(np.clip((a * b).sum(-1), -1.0, 1.0))).mean())


def specular_rmse(predicted: np.ndarray, true: np.ndarray, mask: np.ndarray) -> float:
    """RMSE of specular-intensity maps ``[H, W]`` (scale on skin's F0, linear) over ``mask``."""
    mask = _mask(mask, np.shape(true))
    return rmse(np.asarray(predicted, np.float64), np.asarray(true, np.float64), mask)
