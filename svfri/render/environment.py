"""Equirectangular environment maps: directions, solid angles, SH projection and GGX prefiltering (numpy).

Mapping (:mod:`svfri.conventions`, stated again because everything here depends on it). Pixel ``(i, j)`` of
an ``H x W`` map has its centre at ``u = (j + 0.5) / W`` and ``v = (i + 0.5) / H``; then::

    phi   = 2 pi u                    (azimuth)
    theta = pi v                      (polar angle from +Y)
    w     = (sin(theta) sin(phi), cos(theta), -sin(theta) cos(phi))

so the centre column (``u = 0.5``) looks along ``+Z``, ``u = 0.25`` along ``+X``, ``u = 0.75`` along ``-X``,
``u = 0`` along ``-Z``, and the top row is near ``+Y``. Each pixel holds the linear RGB radiance arriving
from (i.e. travelling against) direction ``w``; ``w`` points from the scene towards the light.

Everything here is numpy on the CPU: the maps are fixed inputs (relighting, training-data synthesis), so
nothing needs gradients. The prefiltered lookups approximate (see :class:`PrefilteredEnvironment`).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from svfri.math.brdf import ggx_ndf
from svfri.math.sh import SH_C0, SH_C1, SH_C2_XX_YY, SH_C2_XY, SH_C2_ZZ

__all__ = [
    "DEFAULT_ROUGHNESS_LEVELS", "PREFILTER_BASE_WIDTH", "PREFILTER_MIN_WIDTH", "PREFILTER_SOURCE_RATIO",
    "equirect_directions", "equirect_solid_angles", "equirect_uv_to_direction", "direction_to_equirect_uv",
    "sample_environment", "resize_environment", "rotate_environment", "apply_exposure", "metering_exposure_ev", "equirect_sh_integrals",
    "environment_to_sh",
    "ggx_prefilter_reference", "PrefilteredEnvironment",
]

#: Perceptual roughness of each prefiltered level (GGX ``alpha = roughness^2``); level 0 is the map itself.
DEFAULT_ROUGHNESS_LEVELS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
#: Width of prefiltered level 1; level ``k >= 1`` is ``PREFILTER_BASE_WIDTH / 2^(k-1)`` wide, but no wider
#: than the source map halved ``k`` times, no narrower than :data:`PREFILTER_MIN_WIDTH` and no wider than the
#: source map (see :meth:`PrefilteredEnvironment.from_environment`). At 256 pixels a
#: texel spans 1.4 degrees, several times finer than the roughness-0.2 lobe (alpha = 0.04, reflected-lobe
#: half-width ~ 2 alpha rad ~ 4.6 degrees); each further level has a lobe about twice as wide.
PREFILTER_BASE_WIDTH = 256
#: Narrowest prefiltered level (128 x 64, 2.8 degree texels). Wide lobes vary slowly, but the radiance
#: they gather has a kink where a sun crosses their horizon, which bilinear lookup on coarse levels blurs:
#: measured worst relative errors of :meth:`PrefilteredEnvironment.lookup` against
#: :func:`ggx_prefilter_reference` at roughness 1 on the CC0 "studio" map, 60 random directions:
#: 25 % at width 64, 2.8 % at width 128 (medians 0.2 % and 0.03 %).
PREFILTER_MIN_WIDTH = 128
#: A prefiltered level is convolved from the map shrunk to (at most) this many times the level's width, so
#: the source texels are finer than the output texels (measured on the CC0 "sky" map with 64-wide rough
#: levels: ratio 4 instead of 2 halves the worst error against the full-resolution reference).
PREFILTER_SOURCE_RATIO = 4

_TWO_PI = 2.0 * math.pi
_DEGREES_PER_TURN = 360.0
# Relative tolerance for treating a column shift as an integer (exact roll, no resampling).
_INTEGER_SHIFT_TOLERANCE = 1e-6


def equirect_uv_to_direction(uv: np.ndarray) -> np.ndarray:
    """Unit directions of equirect coordinates: ``w = (sin t sin p, cos t, -sin t cos p)``, ``p = 2 pi u``,
    ``t = pi v`` (module docstring).

    Args:
      uv: ``[..., 2]`` ``(u, v)``, ``u`` in ``[0, 1)`` (wraps), ``v`` in ``[0, 1]`` top to bottom.

    Returns:
      ``[..., 3]`` unit vectors, the dtype of ``uv`` (float64 if it is not floating).
    """
    uv = np.asarray(uv)
    if not np.issubdtype(uv.dtype, np.floating):
        uv = uv.astype(np.float64)
    phi = _TWO_PI * uv[..., 0]
    theta = math.pi * uv[..., 1]
    sin_theta = np.sin(theta)
    return np.stack([sin_theta * np.sin(phi), np.cos(theta), -sin_theta * np.cos(phi)], axis=-1).astype(uv.dtype)


def direction_to_equirect_uv(direction: np.ndarray) -> np.ndarray:
    """Inverse of :func:`equirect_uv_to_direction`: ``u = atan2(x, -z) / 2 pi mod 1``, ``v = acos(y) / pi``.

    Args:
      direction: ``[..., 3]`` directions; normalised here (a zero vector gives ``(0.5, 0.5)``).

    Returns:
      ``[..., 2]`` ``(u, v)``, ``u`` in ``[0, 1)``, ``v`` in ``[0, 1]``, the dtype of ``direction``
      (float64 if it is not floating).
    """
    direction = np.asarray(direction)
    if not np.issubdtype(direction.dtype, np.floating):
        direction = direction.astype(np.float64)
    norm = np.linalg.norm(direction, axis=-1)
    safe = np.where(norm > 0.0, norm, 1.0)
    x, y, z = (direction[..., k] / safe for k in range(3))
    y = np.where(norm > 0.0, y, 0.0)
    u = np.mod(np.arctan2(x, -z) / _TWO_PI, 1.0)
    u = np.where(norm > 0.0, u, 0.5)
    u = np.where(u >= 1.0, 0.0, u)  # mod can round up to exactly 1.0 for tiny negative angles.
    v = np.arccos(np.clip(y, -1.0, 1.0)) / math.pi
    return np.stack([u, v], axis=-1).astype(direction.dtype)


def equirect_directions(height: int, width: int, *, dtype=np.float32) -> np.ndarray:
    """Unit direction of every pixel centre of an ``height x width`` equirect map.

    Returns:
      ``[height, width, 3]`` unit vectors (module docstring); ``[H // 2, W // 2]`` is near ``+Z``.
    """
    u = (np.arange(width, dtype=np.float64) + 0.5) / width
    v = (np.arange(height, dtype=np.float64) + 0.5) / height
    uv = np.stack(np.broadcast_arrays(u[None, :], v[:, None]), axis=-1)
    return equirect_uv_to_direction(uv).astype(dtype)


def equirect_solid_angles(height: int, width: int, *, dtype=np.float32) -> np.ndarray:
    """Exact solid angle of each pixel of an equirect map, in steradians.

    Pixel row ``i`` spans polar angles ``[pi i / H, pi (i + 1) / H]`` and ``2 pi / W`` of azimuth, so
    ``dOmega_i = (2 pi / W) (cos(pi i / H) - cos(pi (i + 1) / H))`` (integral of ``sin(theta) dtheta dphi``
    over the pixel); the total is exactly ``4 pi``.

    Returns:
      ``[height, width]`` solid angles.
    """
    edges = np.cos(math.pi * np.arange(height + 1, dtype=np.float64) / height)
    row = (_TWO_PI / width) * (edges[:-1] - edges[1:])
    return np.broadcast_to(row[:, None], (height, width)).astype(dtype)


def sample_environment(env: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Bilinear lookup of an equirect map in given directions.

    Texel centres sit at ``u = (j + 0.5) / W``, ``v = (i + 0.5) / H``; ``u`` wraps around, ``v`` is clamped
    to the first/last row centre (approximation near the poles: it does not interpolate across the pole).

    Args:
      env: ``[H, W, C]`` map.
      direction: ``[..., 3]`` directions (normalised here).

    Returns:
      ``[..., C]`` interpolated values, float32.
    """
    env = np.asarray(env)
    uv = direction_to_equirect_uv(np.asarray(direction, dtype=np.float64))
    return _bilinear(env, uv[..., 0], uv[..., 1])


def _bilinear(env: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Bilinear equirect lookup at ``(u, v)`` arrays of any (equal) shape; ``u`` wraps, ``v`` clamps."""
    height, width = env.shape[:2]
    x = u * width - 0.5
    y = np.clip(v * height - 0.5, 0.0, height - 1.0)
    x0 = np.floor(x)
    y0 = np.floor(y)
    fx = (x - x0)[..., None].astype(np.float32)
    fy = (y - y0)[..., None].astype(np.float32)
    x0 = x0.astype(np.int64) % width
    x1 = (x0 + 1) % width
    y0 = y0.astype(np.int64)
    y1 = np.minimum(y0 + 1, height - 1)
    top = env[y0, x0] * (1.0 - fx) + env[y0, x1] * fx
    bottom = env[y1, x0] * (1.0 - fx) + env[y1, x1] * fx
    return (top * (1.0 - fy) + bottom * fy).astype(np.float32)


def resize_environment(env: np.ndarray, height: int, width: int) -> np.ndarray:
    """Shrinks an equirect map by solid-angle-weighted area averaging (energy preserving).

    ``out_k = sum_p a_kp dOmega_p L_p / sum_p a_kp dOmega_p`` with ``a_kp`` the area overlap of source pixel
    ``p`` with target pixel ``k`` (OpenCV ``INTER_AREA``) and ``dOmega_p`` the source pixel solid angle
    (:func:`equirect_solid_angles`), so ``sum_k out_k dOmega_k`` equals ``sum_p L_p dOmega_p`` up to the
    (small) difference between a target pixel's exact solid angle and the sum of its sources'.

    Args:
      env: ``[H, W, C]`` map, ``C <= 4``.
      height, width: target size, no larger than the source.

    Returns:
      ``[height, width, C]`` float32.
    """
    import cv2

    env = np.asarray(env, dtype=np.float32)
    source_height, source_width = env.shape[:2]
    if height > source_height or width > source_width or height < 1 or width < 1:
        raise ValueError(f"resize_environment only shrinks: {source_width}x{source_height} -> {width}x{height}")
    if (height, width) == (source_height, source_width):
        return env.copy()
    weight = equirect_solid_angles(source_height, source_width, dtype=np.float64).astype(np.float32)
    weighted = cv2.resize(env * weight[..., None], (width, height), interpolation=cv2.INTER_AREA)
    total = cv2.resize(weight, (width, height), interpolation=cv2.INTER_AREA)
    if weighted.ndim == 2:
        weighted = weighted[..., None]
    return (weighted / total[..., None]).astype(np.float32)


def rotate_environment(env: np.ndarray, yaw_degrees: float) -> np.ndarray:
    """Rotates the lighting about ``+Y`` by ``yaw_degrees`` (right-hand rule, counter-clockwise seen from
    above): light arriving from ``w`` afterwards arrives from ``R_y(yaw) w``, with
    ``R_y(a) (x, y, z) = (x cos a + z sin a, y, -x sin a + z cos a)``.

    In the map this is ``phi -> phi - yaw``: ``out(u) = env(u + yaw / 360)``, a horizontal shift by
    ``s = yaw / 360 * W`` columns (content moves left for positive yaw; +90 degrees takes the ``+Z`` column to
    ``+X``). An integer ``s`` is an exact column roll; otherwise neighbouring columns are linearly
    interpolated (a slight horizontal blur).

    Args:
      env: ``[H, W, C]`` map.
      yaw_degrees: rotation angle in degrees.

    Returns:
      ``[H, W, C]`` rotated map, the dtype of ``env``.
    """
    env = np.asarray(env)
    width = env.shape[1]
    shift = (float(yaw_degrees) / _DEGREES_PER_TURN) * width
    nearest = round(shift)
    if abs(shift - nearest) <= _INTEGER_SHIFT_TOLERANCE * max(1.0, abs(shift)):
        return np.roll(env, -int(nearest), axis=1)
    whole = math.floor(shift)
    fraction = shift - whole
    columns = (np.arange(width) + whole) % width
    left = env[:, columns]
    right = env[:, (columns + 1) % width]
    return (left * (1.0 - fraction) + right * fraction).astype(env.dtype)


def apply_exposure(env: np.ndarray, ev: float) -> np.ndarray:
    """Scales radiance by ``2^ev`` (``ev`` in photographic stops; +1 doubles the light).

    Returns:
      ``env * 2**ev``, the dtype of ``env`` (float32 if it is not floating).
    """
    env = np.asarray(env)
    if not np.issubdtype(env.dtype, np.floating):
        env = env.astype(np.float32)
    return (env * (2.0 ** float(ev))).astype(env.dtype)

def metering_exposure_ev(env: np.ndarray) -> float:
    """Exposure (stops) that brings the map's mean radiance luminance over the sphere to 1, as a camera metering the
    whole scene would: ``ev = -log2(sum_i Y(L_i) dOmega_i / 4 pi)``, ``Y`` the Rec. 709 / sRGB luminance weights.
    Under the exposed map an unoccluded white Lambertian surface averages an outgoing radiance of about 1.

    Raises:
      ValueError: the map has no positive light.
    """
    from svfri.math.colorimetry import SRGB_TO_XYZ

    env = np.asarray(env, np.float64)
    solid_angles = equirect_solid_angles(env.shape[0], env.shape[1], dtype=np.float64)
    mean = float(np.einsum("hwc,c,hw->", env, SRGB_TO_XYZ[1], solid_angles) / (4.0 * np.pi))
    if not mean > 0.0:
        raise ValueError("the environment map has no positive light to meter")
    return -float(np.log2(mean))


def _sh_integral_factors(height: int, width: int) -> list:
    """Separable factors of :func:`equirect_sh_integrals`: for each basis function a list of
    ``(coefficient, (theta_part [H], phi_part [W]))`` whose outer products sum to ``I_pk``."""
    theta = math.pi * np.arange(height + 1, dtype=np.float64) / height
    phi = _TWO_PI * np.arange(width + 1, dtype=np.float64) / width
    cos_t, sin_t = np.cos(theta), np.sin(theta)
    definite = np.diff  # F(upper) - F(lower) for consecutive pixel edges

    # theta integrals (of the factor times sin(theta)), one per row: [H]
    t_1 = definite(-cos_t)                                    # int sin
    t_s = definite(0.5 * theta - 0.25 * np.sin(2.0 * theta))  # int sin^2
    t_c = definite(0.5 * sin_t ** 2)                          # int cos sin
    t_ss = definite(cos_t ** 3 / 3.0 - cos_t)                 # int sin^3
    t_cs = definite(sin_t ** 3 / 3.0)                         # int cos sin^2
    t_cc = definite(-cos_t ** 3 / 3.0)                        # int cos^2 sin
    # phi integrals, one per column: [W]
    p_1 = definite(phi)
    p_s = definite(-np.cos(phi))
    p_c = definite(np.sin(phi))
    p_ss = definite(0.5 * phi - 0.25 * np.sin(2.0 * phi))
    p_cc = definite(0.5 * phi + 0.25 * np.sin(2.0 * phi))
    p_sc = definite(0.5 * np.sin(phi) ** 2)
    one, x, y, z = (t_1, p_1), (t_s, p_s), (t_c, p_1), (-t_s, p_c)
    xy, yz, xz = (t_cs, p_s), (-t_cs, p_c), (-t_ss, p_sc)
    xx, yy, zz = (t_ss, p_ss), (t_cc, p_1), (t_ss, p_cc)
    # Basis function k = sum of coefficient * outer(theta_part, phi_part) terms.
    return [
        [(SH_C0, one)], [(SH_C1, y)], [(SH_C1, z)], [(SH_C1, x)],
        [(SH_C2_XY, xy)], [(SH_C2_XY, yz)], [(3.0 * SH_C2_ZZ, zz), (-SH_C2_ZZ, one)], [(SH_C2_XY, xz)],
        [(SH_C2_XX_YY, xx), (-SH_C2_XX_YY, yy)],
    ]


def equirect_sh_integrals(height: int, width: int) -> np.ndarray:
    """Exact integral of each SH basis function over each pixel: ``I_pk = int_pixel p Y_k(w) dw``.

    Pixel ``p`` spans ``theta in [t0, t1] = [pi i / H, pi (i + 1) / H]`` and ``phi in [f0, f1] =
    [2 pi j / W, 2 pi (j + 1) / W]``, ``dw = sin(theta) dtheta dphi``. With ``x = sin(theta) sin(phi)``,
    ``y = cos(theta)``, ``z = -sin(theta) cos(phi)`` every monomial of degree <= 2 times ``sin(theta)``
    separates into a ``theta`` integral and a ``phi`` integral with closed forms, e.g.
    ``int x z dw = -int sin^3(theta) dtheta * int sin(phi) cos(phi) dphi``
    ``= -[cos^3(t)/3 - cos(t)]_{t0}^{t1} * [sin^2(f)/2]_{f0}^{f1}``.
    The basis constants are those of :mod:`svfri.math.sh`.

    Returns:
      ``[height, width, 9]`` float64. Summed over all pixels: ``4 pi Y_0 = sqrt(4 pi)`` for ``k = 0`` and 0
      (to rounding) for ``k >= 1``; per pixel, ``I_pk ~= Y_k(w_p) dOmega_p`` (midpoint rule, O(1/H^2)).
    """
    return np.stack([sum(coefficient * np.outer(theta_part, phi_part)
                         for coefficient, (theta_part, phi_part) in terms)
                     for terms in _sh_integral_factors(height, width)], axis=-1)


def environment_to_sh(env: np.ndarray) -> np.ndarray:
    """Projects an equirect radiance map onto the 9 real SH basis functions of :mod:`svfri.math.sh`.

    The map is taken as constant over each pixel, and ``c_k = int L(w) Y_k(w) dw = sum_p L_p I_pk`` is
    then exact, with ``I_pk`` the pixel integrals of :func:`equirect_sh_integrals` (accumulated in float64).
    So a constant map gives exactly ``c_0 = sqrt(4 pi) L`` and 0 elsewhere; for a smooth map the only error
    is the piecewise-constant model (O(1/H^2)). ``L ~= sum_k c_k Y_k`` is then the band-limited radiance,
    in the convention of :mod:`svfri.conventions` (``w`` towards the light).

    Args:
      env: ``[H, W, 3]`` linear RGB radiance (``[H, W, C]`` works for any ``C``).

    Returns:
      ``[9, C]`` float32 coefficients, row ``k`` for basis function ``k``.
    """
    env = np.asarray(env, dtype=np.float64)
    height, width = env.shape[:2]
    channels = env.shape[-1]
    rows = env.reshape(height, width * channels)
    # Separable form of sum_p L_p I_pk: theta_part^T L phi_part per term (two small matrix products).
    coefficients = [sum(coefficient * (phi_part @ (theta_part @ rows).reshape(width, channels))
                        for coefficient, (theta_part, phi_part) in terms)
                    for terms in _sh_integral_factors(height, width)]
    return np.stack(coefficients).astype(np.float32)


def ggx_prefilter_reference(env: np.ndarray, direction: np.ndarray, roughness: float) -> np.ndarray:
    """Slow, direct reference of the split-sum prefiltered radiance with ``n = v = r`` (for tests).

    Karis 2013 ("Real Shading in Unreal Engine 4", p. 4) estimates the first split-sum factor by importance
    sampling ``h`` from ``D(h) (n.h)``, reflecting ``v`` about ``h`` and averaging ``L(l)`` weighted by
    ``n.l``. With ``n = v = r`` the density of ``l`` is ``D(h) (n.h) / (4 (v.h)) = D(h) / 4``, so the
    estimate converges to

        ``LD(r) = int L(l) D(h) max(r.l, 0) dl / int D(h) max(r.l, 0) dl``,  ``h = (r + l) / |r + l|``,

    evaluated here by the pixel midpoint rule over the whole map (``O(H W)`` work per direction).

    Args:
      env: ``[H, W, C]`` radiance.
      direction: ``[N, 3]`` unit reflection directions ``r``.
      roughness: perceptual roughness in ``(0, 1]`` (``alpha = roughness^2``).

    Returns:
      ``[N, C]`` float64 prefiltered radiance.
    """
    env = np.asarray(env, dtype=np.float64)
    height, width = env.shape[:2]
    texel_direction = equirect_directions(height, width, dtype=np.float64).reshape(-1, 3)
    solid_angle = equirect_solid_angles(height, width, dtype=np.float64).reshape(-1)
    radiance = env.reshape(height * width, -1)
    direction = np.asarray(direction, dtype=np.float64)
    alpha = float(roughness) ** 2
    result = np.empty((direction.shape[0], radiance.shape[1]))
    for index, reflected in enumerate(direction):
        cos_l = texel_direction @ reflected
        halfway = texel_direction + reflected
        halfway /= np.maximum(np.linalg.norm(halfway, axis=-1, keepdims=True), 1e-12)
        weight = ggx_ndf(np.clip(halfway @ reflected, 0.0, 1.0), alpha) * np.maximum(cos_l, 0.0) * solid_angle
        result[index] = weight @ radiance / weight.sum()
    return result


def _ggx_reflection_kernel(cos_angle: np.ndarray, alpha: float) -> np.ndarray:
    """``D(h) max(r.l, 0)`` as a function of ``cos(angle(r, l))`` alone: with ``h = (r + l) / |r + l|``,
    ``r.h = cos(angle / 2) = sqrt((1 + r.l) / 2)``."""
    cos_half = np.sqrt(np.clip(0.5 * (1.0 + cos_angle), 0.0, 1.0))
    return ggx_ndf(cos_half, alpha) * np.maximum(cos_angle, 0.0)  # svfri.math.brdf, Walter et al. 2007 eq. 33


def _prefilter_level(source: np.ndarray, height: int, width: int, roughness: float) -> np.ndarray:
    """One ``[height, width, C]`` GGX-prefiltered level of ``source`` (``[Hs, Ws, C]``, ``Ws = m * width``).

    Direct convolution, evaluated exactly as :func:`ggx_prefilter_reference` does (midpoint rule over the
    source pixels), but fast: the kernel depends only on the angle between ``r`` and ``l``, and a rotation
    about ``+Y`` by one source column maps the source grid onto itself, so for one output row the sum over
    source pixels is a circular convolution along the columns, done with FFTs (one per output row).
    Source rows more than 90 degrees of latitude away from the output row have no ``l`` above the lobe's
    horizon and are skipped (their weights are exactly 0).
    """
    source = np.asarray(source, dtype=np.float64)
    source_height, source_width = source.shape[:2]
    ratio = source_width // width
    if ratio * width != source_width:
        raise ValueError(f"source width {source_width} is not a multiple of the level width {width}")
    alpha = roughness * roughness
    # Output column j minus source column j', in source columns: ratio * j + (ratio - 1) / 2 - j'.
    base, half_offset = divmod((ratio - 1) / 2.0, 1.0)
    offset = _TWO_PI * (np.arange(source_width) + half_offset) / source_width
    source_theta = math.pi * (np.arange(source_height) + 0.5) / source_height
    source_solid_angle = equirect_solid_angles(source_height, source_width, dtype=np.float64)[:, 0]
    source_spectrum = np.fft.rfft(source, axis=1)  # [Hs, Ws/2 + 1, C]
    output_columns = (ratio * np.arange(width) + int(base)) % source_width
    output = np.empty((height, width, source.shape[-1]), dtype=np.float32)
    for row in range(height):
        theta = math.pi * (row + 0.5) / height
        near = np.abs(source_theta - theta) < 0.5 * math.pi
        cos_angle = (math.cos(theta) * np.cos(source_theta[near])[:, None]
                     + math.sin(theta) * np.sin(source_theta[near])[:, None] * np.cos(offset)[None, :])
        weight = _ggx_reflection_kernel(cos_angle, alpha) * source_solid_angle[near, None]  # [R, Ws]
        spectrum = np.einsum("rk,rkc->kc", np.fft.rfft(weight, axis=1), source_spectrum[near])
        convolved = np.fft.irfft(spectrum, n=source_width, axis=0)  # [Ws, C]
        output[row] = convolved[output_columns] / weight.sum()
    return output


@dataclasses.dataclass(frozen=True)
class PrefilteredEnvironment:
    """A GGX-prefiltered mip chain of an equirect map: the split-sum "LD" term (Karis 2013).

    Level ``k`` holds ``LD(r; roughness_k)`` (see :func:`ggx_prefilter_reference`) on an equirect grid of
    decreasing size; level 0 (roughness 0, a mirror) is the map itself. Assumption (Karis 2013, p. 4): the
    view and normal equal the reflection direction (``n = v = r``), which removes the view dependence of the
    lobe shape: the stretched lobes at grazing angles are lost -- the standard split-sum approximation.

    Construction (:meth:`from_environment`): each level is the direct convolution of a solid-angle-weighted
    downsampled copy of the map (up to :data:`PREFILTER_SOURCE_RATIO` times the level's width) with the
    kernel ``D(h) max(r.l, 0) dOmega``, normalised per texel, computed exactly by FFTs along the rows
    (:func:`_prefilter_level`). Nothing is sampled at random: no noise, a constant map stays exactly
    constant, and the result equals :func:`ggx_prefilter_reference` on that downsampled copy. Approximations:
    the downsampling (a source texel of level ``k`` is about a quarter of the lobe width or less at the
    default sizes); lobes narrower than a source texel (roughness below ~0.1 at 512 x 256) degrade towards
    a point sample; and ``n = v = r`` as said above.

    :meth:`lookup` is trilinear: bilinear within the two levels that bracket the requested roughness, linear
    in roughness between them (an approximation of the lobe's non-linear dependence on roughness).

    Attributes:
      levels: ``L`` arrays ``[H_k, W_k, C]`` float32, ``levels[0]`` the source map.
      roughness: ``L`` increasing perceptual roughness values, ``roughness[0] == 0``.
    """

    levels: tuple[np.ndarray, ...]
    roughness: tuple[float, ...]

    def __post_init__(self):
        if len(self.levels) != len(self.roughness) or not self.levels:
            raise ValueError("PrefilteredEnvironment needs one roughness value per level")
        if self.roughness[0] != 0.0 or any(b <= a for a, b in zip(self.roughness, self.roughness[1:])):
            raise ValueError(f"roughness levels must start at 0 and increase, got {self.roughness}")

    @classmethod
    def from_environment(cls, env: np.ndarray, *, roughness_levels=DEFAULT_ROUGHNESS_LEVELS,
                         base_width: int = PREFILTER_BASE_WIDTH) -> "PrefilteredEnvironment":
        """Prefilters ``env`` (``[H, W, C]`` linear radiance, ``W = 2 H``) at ``roughness_levels``.

        Level ``k >= 1`` has width ``w_k = max(min(W / 2^k, base_width / 2^(k-1)), PREFILTER_MIN_WIDTH)``
        (never wider than ``W``) and height ``w_k / 2``, and is convolved from ``env`` shrunk to
        ``m w_k`` columns, ``m = min(PREFILTER_SOURCE_RATIO, W // w_k)``. Default sizes for a 512 x 256 map:
        widths 512, 256, 128, 128, 128, 128; about 0.7 s on 2 CPU cores.
        """
        env = np.asarray(env, dtype=np.float32)
        roughness_levels = tuple(float(r) for r in roughness_levels)
        height, width = env.shape[:2]
        levels = [env]
        for k, roughness in enumerate(roughness_levels[1:], start=1):
            level_width = max(min(width >> k, base_width >> (k - 1)), PREFILTER_MIN_WIDTH)
            level_width = min(level_width, width)
            level_height = max(level_width // 2, 1)
            ratio = max(1, min(PREFILTER_SOURCE_RATIO, width // level_width))
            source_width = ratio * level_width
            source_height = min(max(source_width // 2, 1), height)
            source = resize_environment(env, source_height, source_width)
            levels.append(_prefilter_level(source, level_height, level_width, roughness))
        return cls(levels=tuple(levels), roughness=roughness_levels)

    def lookup(self, direction: np.ndarray, roughness: np.ndarray) -> np.ndarray:
        """Prefiltered radiance ``LD(direction; roughness)``.

        Args:
          direction: ``[N, 3]`` reflection directions (normalised here), world space.
          roughness: ``[N]`` (or scalar) perceptual roughness; clamped to ``[0, roughness[-1]]``.

        Returns:
          ``[N, C]`` float32 radiance.
        """
        direction = np.asarray(direction, dtype=np.float64).reshape(-1, 3)
        roughness = np.broadcast_to(np.asarray(roughness, dtype=np.float64), direction.shape[:1])
        position = np.interp(roughness, self.roughness, np.arange(len(self.roughness), dtype=np.float64))
        lower = np.floor(position).astype(np.int64)
        fraction = (position - lower)[:, None].astype(np.float32)
        uv = direction_to_equirect_uv(direction)
        result = np.zeros((direction.shape[0], self.levels[0].shape[-1]), dtype=np.float32)
        for level, image in enumerate(self.levels):
            below = lower == level
            if np.any(below):
                result[below] += (1.0 - fraction[below]) * _bilinear(image, uv[below, 0], uv[below, 1])
            above = (lower == level - 1) & (fraction[:, 0] > 0.0)
            if level > 0 and np.any(above):
                result[above] += fraction[above] * _bilinear(image, uv[above, 0], uv[above, 1])
        return result
