"""Real spherical harmonics to band 2 (9 coefficients).

Basis (Sloan, "Stupid Spherical Harmonics (SH) Tricks", GDC 2008, Appendix A2, without the Condon-Shortley
phase), for a unit direction ``w = (x, y, z)``::

    Y_0  = Y(0, 0)  = 1 / (2 sqrt(pi))                       ~= 0.282095
    Y_1  = Y(1,-1)  = sqrt(3 / (4 pi)) * y                   ~= 0.488603 y
    Y_2  = Y(1, 0)  = sqrt(3 / (4 pi)) * z
    Y_3  = Y(1, 1)  = sqrt(3 / (4 pi)) * x
    Y_4  = Y(2,-2)  = sqrt(15 / (4 pi)) * x y                 ~= 1.092548 x y
    Y_5  = Y(2,-1)  = sqrt(15 / (4 pi)) * y z
    Y_6  = Y(2, 0)  = sqrt(5 / (16 pi)) * (3 z^2 - 1)         ~= 0.315392 (3 z^2 - 1)
    Y_7  = Y(2, 1)  = sqrt(15 / (4 pi)) * x z
    Y_8  = Y(2, 2)  = sqrt(15 / (16 pi)) * (x^2 - y^2)        ~= 0.546274 (x^2 - y^2)

orthonormal over the unit sphere: ``int Y_i Y_j dw = delta_ij``. ``z`` is the polar axis of the basis; in
svfri's world space that is the camera axis (see :mod:`svfri.conventions`).

Beyond the numpy basis, this module holds the TensorFlow side (batched over leading dimensions,
differentiable, float32 or float64 following the inputs): :func:`sh_basis`, the triple-product tensor and the
order-2-truncated product (Snyder 2006), clamped-cosine convolution (Ramamoorthi & Hanrahan 2001), the
self-occluded Lambertian term, SH rotation, and the GGX band attenuation used for split-sum specular.
Lighting coefficients are ``[..., 9, C]`` (``C = 3``: linear RGB radiance).
"""

from __future__ import annotations

import functools
import math
from typing import Callable

import numpy as np
import tensorflow as tf

from svfri.math.sampling import sphere_quadrature_np

__all__ = [
    "lanczos_sigma_factors", "window_sh",
    "SH_COEFFICIENT_COUNT", "SH_BAND_OF_COEFFICIENT", "SH_C0", "SH_C1", "SH_C2_XY", "SH_C2_ZZ", "SH_C2_XX_YY",
    "sh_basis_np",
    "SH_BAND_COUNT", "CLAMPED_COSINE_BAND_FACTORS", "CLAMPED_COSINE_COEFFICIENT_FACTORS", "TFG_TO_SVFRI_SIGN",
    "sh_basis", "project_function_np", "sh_triple_product_tensor", "sh_product", "sh_band_to_coefficient",
    "sh_radiance", "irradiance_sh", "occluded_diffuse_radiance", "sh_rotation_matrix", "rotation_y",
    "sh_rotation_y", "rotate_sh", "ggx_sh_band_attenuation", "ggx_prefiltered_sh_radiance",
]

#: Number of real SH coefficients for bands 0..2.
SH_COEFFICIENT_COUNT = 9
#: Band l of each coefficient index, in svfri's ordering.
SH_BAND_OF_COEFFICIENT = (0, 1, 1, 1, 2, 2, 2, 2, 2)

SH_C0 = 0.5 / math.sqrt(math.pi)                 # Y(0,0)
SH_C1 = math.sqrt(3.0 / (4.0 * math.pi))         # Y(1,m) / {y, z, x}
SH_C2_XY = math.sqrt(15.0 / (4.0 * math.pi))     # Y(2,-2), Y(2,-1), Y(2,1) / {xy, yz, xz}
SH_C2_ZZ = math.sqrt(5.0 / (16.0 * math.pi))     # Y(2,0) / (3z^2 - 1)
SH_C2_XX_YY = math.sqrt(15.0 / (16.0 * math.pi)) # Y(2,2) / (x^2 - y^2)


def sh_basis_np(direction: np.ndarray) -> np.ndarray:
    """Evaluates the 9 real SH basis functions at unit directions (numpy, any float dtype).

    Args:
      direction: ``[..., 3]`` unit vectors ``(x, y, z)``; not normalised here.

    Returns:
      ``[..., 9]`` basis values in svfri's ordering (module docstring).
    """
    direction = np.asarray(direction)
    x, y, z = direction[..., 0], direction[..., 1], direction[..., 2]
    return np.stack([
        np.full_like(x, SH_C0),
        SH_C1 * y, SH_C1 * z, SH_C1 * x,
        SH_C2_XY * x * y, SH_C2_XY * y * z, SH_C2_ZZ * (3.0 * z * z - 1.0), SH_C2_XY * x * z,
        SH_C2_XX_YY * (x * x - y * y),
    ], axis=-1)


# ----------------------------------------------------------------------------------------------------------
# TensorFlow basis, projection, products, convolution and rotation.
# ----------------------------------------------------------------------------------------------------------

#: Clamped-cosine kernel ``max(cos, 0)`` in SH, per band ``l = 0, 1, 2``: ``A_l = sqrt(4 pi / (2l + 1)) k_l``
#: (Ramamoorthi & Hanrahan 2001, "An efficient representation for irradiance environment maps", eq. 8):
#: ``A_0 = pi``, ``A_1 = 2 pi / 3``, ``A_2 = pi / 4``. Irradiance ``E(n) = sum_lm A_l L_lm Y_lm(n)``.
CLAMPED_COSINE_BAND_FACTORS = (math.pi, 2.0 * math.pi / 3.0, math.pi / 4.0)
#: :data:`CLAMPED_COSINE_BAND_FACTORS` repeated per coefficient (9 values, svfri's ordering).
CLAMPED_COSINE_COEFFICIENT_FACTORS = tuple(CLAMPED_COSINE_BAND_FACTORS[band] for band in SH_BAND_OF_COEFFICIENT)
#: Number of bands (``l = 0, 1, 2``).
SH_BAND_COUNT = 3
#: Sign that maps TensorFlow Graphics' real SH (``evaluate_spherical_harmonics``, which keeps the
#: Condon-Shortley phase ``(-1)^m``; same ``(l, m)`` ordering) to svfri's basis: ``Y_svfri = sign * Y_tfg``.
TFG_TO_SVFRI_SIGN = (1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0)

#: Gauss-Legendre order of the triple-product quadrature: exact to total degree 2 * 4 - 1 = 7 >= 6 (Y_i Y_j Y_k).
_TRIPLE_PRODUCT_QUADRATURE_ORDER = 4
#: Gauss-Legendre order of the rotation-matrix quadrature: exact to degree 5 >= 4 (Y_i(w) Y_j(R^T w)).
_ROTATION_QUADRATURE_ORDER = 3
#: Gauss-Legendre nodes of the GGX band-attenuation integral (in log(1 - xi); see ggx_sh_band_attenuation).
_GGX_ATTENUATION_NODES = 24
#: Smallest GGX alpha used by ggx_sh_band_attenuation (below it the lobe is a mirror: attenuation 1 - 1e-6).
_GGX_ATTENUATION_MIN_ALPHA = 1e-3


def sh_basis(direction: tf.Tensor) -> tf.Tensor:
    """Evaluates the 9 real SH basis functions at unit directions (TensorFlow, differentiable).

    Same functions and ordering as :func:`sh_basis_np` (module docstring).

    Args:
      direction: ``[..., 3]`` unit vectors ``(x, y, z)`` (float32 or float64); not normalised here.

    Returns:
      ``[..., 9]`` basis values, same dtype.
    """
    direction = tf.convert_to_tensor(direction)
    x, y, z = tf.unstack(direction, axis=-1)
    dtype = direction.dtype
    return tf.stack([
        tf.fill(tf.shape(x), tf.constant(SH_C0, dtype)),
        SH_C1 * y, SH_C1 * z, SH_C1 * x,
        SH_C2_XY * x * y, SH_C2_XY * y * z, SH_C2_ZZ * (3.0 * z * z - 1.0), SH_C2_XY * x * z,
        SH_C2_XX_YY * (x * x - y * y),
    ], axis=-1)


def project_function_np(fn: Callable[[np.ndarray], np.ndarray], *, order_quadrature: int) -> np.ndarray:
    """SH coefficients ``c_i = int_S2 f(w) Y_i(w) dw`` of a function on the sphere, by product quadrature.

    Gauss-Legendre in ``cos(theta)`` (``order_quadrature`` nodes) x ``2 * order_quadrature`` uniform azimuths
    (:func:`svfri.math.sampling.sphere_quadrature_np`): exact when ``f`` is a polynomial of degree
    ``<= 2 * order_quadrature - 3``; for discontinuous ``f`` (visibility) the error falls as the order grows.

    Args:
      fn: maps ``[M, 3]`` float64 unit directions to ``[M]`` or ``[M, C...]`` values.
      order_quadrature: Gauss-Legendre node count, ``>= 2``.

    Returns:
      ``[9]`` or ``[9, C...]`` float64 coefficients.
    """
    directions, weights = sphere_quadrature_np(order_quadrature)
    values = np.asarray(fn(directions), dtype=np.float64)
    basis = sh_basis_np(directions)
    return np.tensordot(basis * weights[:, None], values, axes=([0], [0]))


@functools.lru_cache(maxsize=1)
def sh_triple_product_tensor() -> np.ndarray:
    """Gaunt-type tensor ``G_ijk = int_S2 Y_i Y_j Y_k dw`` of svfri's 9-coefficient basis (float64, read-only).

    Computed once (cached) by a product quadrature exact for polynomials of degree 7 (the integrand has
    degree <= 6), so it is exact to rounding. ``G`` is symmetric in its three indices.

    Returns:
      ``[9, 9, 9]`` float64.
    """
    directions, weights = sphere_quadrature_np(_TRIPLE_PRODUCT_QUADRATURE_ORDER)
    basis = sh_basis_np(directions)
    tensor = np.einsum("q,qi,qj,qk->ijk", weights, basis, basis, basis)
    tensor[np.abs(tensor) < 1e-14] = 0.0
    tensor.setflags(write=False)
    return tensor


def sh_product(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """Order-2 projection of the product of two order-2 SH functions (Snyder 2006).

    ``c_k = sum_ij G_ijk a_i b_j`` with ``G`` from :func:`sh_triple_product_tensor` (J. Snyder, "Code
    generation and factoring for fast evaluation of low-order spherical harmonic products and squares",
    2006). **Truncated**: the exact product of two band-2 functions reaches band 4; bands 3 and 4 are
    dropped, so ``c`` is the best order-2 approximation of ``f_a * f_b``, not the product itself.

    Args:
      a, b: ``[..., 9]`` coefficients (broadcast against each other).

    Returns:
      ``[..., 9]`` coefficients of the truncated product.
    """
    a = tf.convert_to_tensor(a)
    b = tf.convert_to_tensor(b, dtype=a.dtype)
    tensor = tf.constant(sh_triple_product_tensor(), dtype=a.dtype)
    a_times_tensor = tf.tensordot(a, tensor, axes=[[-1], [0]])  # [..., j, k]
    return tf.reduce_sum(b[..., :, None] * a_times_tensor, axis=-2)


def _contract_coefficients(weights: tf.Tensor, coefficients: tf.Tensor) -> tf.Tensor:
    """``sum_i weights[..., i] * coefficients[..., i, c]`` with broadcasting; a matmul when unbatched."""
    if coefficients.shape.rank == 2:
        return tf.tensordot(weights, coefficients, axes=[[-1], [0]])
    return tf.reduce_sum(weights[..., :, None] * coefficients, axis=-2)


def sh_band_to_coefficient(band_values: tf.Tensor) -> tf.Tensor:
    """Repeats per-band values ``[..., 3]`` to per-coefficient values ``[..., 9]`` (band of each coefficient)."""
    return tf.gather(band_values, list(SH_BAND_OF_COEFFICIENT), axis=-1)


def sh_radiance(light_sh: tf.Tensor, direction: tf.Tensor) -> tf.Tensor:
    """Radiance of SH lighting towards a direction: ``L(w) = sum_i L_i,c Y_i(w)``.

    Args:
      light_sh: ``[..., 9, C]`` coefficients (linear RGB radiance for ``C = 3``).
      direction: ``[..., 3]`` unit directions towards the light (broadcast against ``light_sh``'s batch).

    Returns:
      ``[..., C]`` radiance.
    """
    light_sh = tf.convert_to_tensor(light_sh)
    direction = tf.convert_to_tensor(direction, dtype=light_sh.dtype)
    return _contract_coefficients(sh_basis(direction), light_sh)


def irradiance_sh(light_sh: tf.Tensor, normal: tf.Tensor) -> tf.Tensor:
    """Irradiance from SH radiance: ``E(n) = sum_lm A_l L_lm Y_lm(n)`` (Ramamoorthi & Hanrahan 2001, eq. 7).

    ``A_l`` = :data:`CLAMPED_COSINE_BAND_FACTORS`. Exact for order-2 lighting with no occlusion (the clamped
    cosine's bands above 2 do not meet the light's). Lambertian outgoing radiance is ``albedo / pi * E``, so
    constant radiance 1 gives ``E = pi`` and outgoing radiance 1 for albedo 1.

    Args:
      light_sh: ``[..., 9, C]`` radiance coefficients.
      normal: ``[..., 3]`` unit surface normals.

    Returns:
      ``[..., C]`` irradiance (radiance units x sr).
    """
    light_sh = tf.convert_to_tensor(light_sh)
    normal = tf.convert_to_tensor(normal, dtype=light_sh.dtype)
    factors = tf.constant(CLAMPED_COSINE_COEFFICIENT_FACTORS, dtype=light_sh.dtype)
    return _contract_coefficients(factors * sh_basis(normal), light_sh)


def occluded_diffuse_radiance(light_sh: tf.Tensor, visibility_sh: tf.Tensor, normal: tf.Tensor) -> tf.Tensor:
    """Lambertian (albedo 1) outgoing radiance with SH self-occlusion: ``(1/pi) sum_lm A_l w_lm Y_lm(n)``.

    ``w = sh_product(L, V)`` per colour channel is the order-2-truncated projection of ``L(w) V(w)`` (Snyder
    2006; Sloan et al. 2002 "Precomputed radiance transfer"), then convolved with the clamped cosine at the
    shading normal (Ramamoorthi & Hanrahan 2001). Computed factored, without forming ``w``: with
    ``P[j, k, c] = sum_i G_ijk L_ic``, the result is ``sum_jk V_j (A_k Y_k(n) / pi) P[j, k, c]``.

    Approximation: ``V`` is order-2 and the product is truncated to order 2. For constant light the product
    is exact, so an unoccluded hemisphere ``V`` gives exactly ``1`` for ``L = 1`` at its own normal; for
    directional light the truncation errs by a few percent (see tests/test_sh.py).

    Args:
      light_sh: ``[..., 9, C]`` radiance coefficients (linear RGB for ``C = 3``); unbatched ``[9, C]`` is the
        fast path (one matmul).
      visibility_sh: ``[..., 9]`` visibility coefficients.
      normal: ``[..., 3]`` unit shading normals.

    Returns:
      ``[..., C]`` outgoing radiance for albedo 1 (multiply by the linear albedo).
    """
    light_sh = tf.convert_to_tensor(light_sh)
    dtype = light_sh.dtype
    visibility_sh = tf.convert_to_tensor(visibility_sh, dtype=dtype)
    normal = tf.convert_to_tensor(normal, dtype=dtype)
    tensor = tf.constant(sh_triple_product_tensor(), dtype=dtype)
    # transfer[..., j, k, c] = sum_i G_ijk L_ic
    transfer = tf.einsum("ijk,...ic->...jkc", tensor, light_sh)
    cosine = tf.constant(CLAMPED_COSINE_COEFFICIENT_FACTORS, dtype=dtype) / math.pi * sh_basis(normal)  # [..., k]
    if transfer.shape.rank == 3:
        per_visibility = tf.tensordot(cosine, tf.transpose(transfer, [1, 0, 2]), axes=[[-1], [0]])  # [..., j, c]
    else:
        per_visibility = tf.einsum("...k,...jkc->...jc", cosine, transfer)
    return tf.reduce_sum(visibility_sh[..., :, None] * per_visibility, axis=-2)


def lanczos_sigma_factors(band_count: int = SH_BAND_COUNT) -> np.ndarray:
    """Lanczos sigma factors ``sigma_l = sinc(l / L) = sin(pi l / L) / (pi l / L)``, ``L = band_count``, per band
    ``l = 0 .. L - 1`` (``[L]``; ``sigma_0 = 1``; for order 2: 1, 0.827, 0.413).

    Windowing SH coefficients by ``sigma_l`` trades a little blur for much less ringing (Gibbs overshoot) of a
    truncated expansion: Sloan 2008, "Stupid Spherical Harmonics (SH) Tricks", section "Windowing"; the Lanczos
    sigma factors are Lanczos 1956, "Applied Analysis", ch. IV.
    """
    bands = np.arange(band_count, dtype=np.float64)
    return np.sinc(bands / band_count)


def window_sh(sh: np.ndarray, sigma: np.ndarray | None = None) -> np.ndarray:
    """``sh [..., 9, C]`` with band ``l``'s coefficients scaled by ``sigma[l]`` (default :func:`lanczos_sigma_factors`)."""
    sigma = lanczos_sigma_factors() if sigma is None else np.asarray(sigma, np.float64)
    per_coefficient = sigma[np.asarray(SH_BAND_OF_COEFFICIENT)]
    return np.asarray(sh) * per_coefficient[:, None]


def sh_rotation_matrix(rotation: tf.Tensor) -> tf.Tensor:
    """The 9x9 matrix ``M`` that rotates SH functions: ``M @ c`` represents ``f(R^T w)`` where ``c`` represents ``f``.

    i.e. the function (lighting) turned by the rotation ``R``: what was seen towards ``w`` is now seen towards
    ``R w``. ``M[j, i] = int Y_j(w) Y_i(R^T w) dw``, evaluated by a quadrature exact for the degree-4
    integrand (so exact to rounding); block diagonal per band, orthogonal for orthogonal ``R``.

    Args:
      rotation: ``[..., 3, 3]`` rotation matrices (acting on column vectors).

    Returns:
      ``[..., 9, 9]`` SH rotation matrices, same dtype.
    """
    rotation = tf.convert_to_tensor(rotation)
    directions, weights = sphere_quadrature_np(_ROTATION_QUADRATURE_ORDER)
    weighted_basis = tf.constant(sh_basis_np(directions) * weights[:, None], dtype=rotation.dtype)  # [Q, j]
    # Rows d^T R = (R^T d)^T.
    rotated = tf.einsum("qa,...ab->...qb", tf.constant(directions, dtype=rotation.dtype), rotation)
    return tf.einsum("qj,...qi->...ji", weighted_basis, sh_basis(rotated))


def rotation_y(angle: tf.Tensor) -> tf.Tensor:
    """Right-handed rotation about ``+Y`` by ``angle`` radians: ``[[c, 0, s], [0, 1, 0], [-s, 0, c]]``.

    Args:
      angle: ``[...]`` radians (positive turns ``+Z`` towards ``+X``).

    Returns:
      ``[..., 3, 3]``.
    """
    angle = tf.convert_to_tensor(angle)
    cosine, sine = tf.cos(angle), tf.sin(angle)
    zero, one = tf.zeros_like(angle), tf.ones_like(angle)
    return tf.stack([
        tf.stack([cosine, zero, sine], axis=-1),
        tf.stack([zero, one, zero], axis=-1),
        tf.stack([-sine, zero, cosine], axis=-1),
    ], axis=-2)


def sh_rotation_y(angle: tf.Tensor) -> tf.Tensor:
    """SH rotation matrix ``[..., 9, 9]`` for :func:`rotation_y` ``(angle)`` (see :func:`sh_rotation_matrix`)."""
    return sh_rotation_matrix(rotation_y(angle))


def rotate_sh(sh: tf.Tensor, rotation: tf.Tensor) -> tf.Tensor:
    """Rotates SH coefficients ``[..., 9, C]`` by ``[..., 3, 3]`` rotations: returns ``M(R) @ sh``."""
    sh = tf.convert_to_tensor(sh)
    return tf.linalg.matmul(sh_rotation_matrix(tf.convert_to_tensor(rotation, dtype=sh.dtype)), sh)


@functools.lru_cache(maxsize=1)
def _ggx_attenuation_rule() -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on ``[-1, 1]`` for :func:`ggx_sh_band_attenuation`."""
    return np.polynomial.legendre.leggauss(_GGX_ATTENUATION_NODES)


def ggx_sh_band_attenuation(roughness: tf.Tensor) -> tf.Tensor:
    """Per-band SH attenuation ``[..., 3]`` of the split-sum GGX prefiltering lobe, for ``L_pre(R, alpha)``.

    With SH lighting, the prefiltered radiance of the split-sum approximation (Karis 2013, "Real shading in
    Unreal Engine 4": lobe weight ``D(h)(n.h)/(4 v.h) * (n.l)`` over ``l``, with the usual assumption
    ``n = v = R``) is a convolution of ``L`` with a lobe symmetric about ``R``, so by the Funk-Hecke theorem
    (Ramamoorthi & Hanrahan 2001, "A signal-processing framework for inverse rendering", section 3)
    ``L_pre(R) = sum_lm g_l L_lm Y_lm(R)`` with ``g_l = E_lobe[P_l(R.l)]`` (``P_l`` Legendre). ``g_0 = 1``.

    Here ``g_l`` is not a fitted Gaussian (``exp(-l(l+1) alpha^2 / 2)``-type) approximation but the lobe's own
    expectation, integrated numerically: with GGX importance sampling (``xi`` uniform,
    ``cos^2 theta_h = (1 - xi) / (1 + (alpha^2 - 1) xi)``, ``mu = R.l = 2 cos^2 theta_h - 1``) it is
    ``g_l = int mu+ P_l(mu) dxi / int mu+ dxi``, evaluated by 24-point Gauss-Legendre in ``log(1 - xi)`` over
    ``mu >= 0`` (``xi <= 1 / (1 + alpha^2)``), accurate to ~1e-6. The approximations are the split sum's
    (``n = v = R``, no view-dependent lobe stretching) and the order-2 truncation of ``L``.
    ``alpha = roughness^2`` is clamped to ``>= 1e-3`` (a mirror at that width: ``g_l > 1 - 1e-5``).

    Args:
      roughness: ``[...]`` perceptual roughness in ``[0, 1]``.

    Returns:
      ``[..., 3]`` attenuation of bands 0, 1, 2; ``1 = g_0 >= g_1 >= g_2``. Differentiable in ``roughness``.
    """
    roughness = tf.convert_to_tensor(roughness)
    dtype = roughness.dtype
    alpha = tf.maximum(roughness * roughness, tf.constant(_GGX_ATTENUATION_MIN_ALPHA, dtype))
    alpha2 = (alpha * alpha)[..., None]
    nodes, node_weights = _ggx_attenuation_rule()
    unit_nodes = tf.constant(0.5 * (nodes + 1.0), dtype)            # [Q] in (0, 1)
    unit_weights = tf.constant(0.5 * node_weights, dtype)
    # s = log(1 - xi) from log(1 - xi_max) = log(alpha^2 / (1 + alpha^2)) to 0; d(xi) = exp(s) ds.
    log_lower = tf.math.log(alpha2 / (1.0 + alpha2))                # [..., 1]
    log_one_minus_xi = log_lower * (1.0 - unit_nodes)               # [..., Q]
    one_minus_xi = tf.exp(log_one_minus_xi)
    cos2_half = one_minus_xi / (one_minus_xi + alpha2 * (1.0 - one_minus_xi))
    mu = tf.maximum(2.0 * cos2_half - 1.0, 0.0)
    weight = unit_weights * one_minus_xi * mu                       # ds cancels in the ratio
    legendre = tf.stack([tf.ones_like(mu), mu, 0.5 * (3.0 * mu * mu - 1.0)], axis=-1)  # [..., Q, 3]
    return tf.reduce_sum(weight[..., None] * legendre, axis=-2) / tf.reduce_sum(weight, axis=-1, keepdims=True)


def ggx_prefiltered_sh_radiance(light_sh: tf.Tensor, reflection: tf.Tensor, roughness: tf.Tensor) -> tf.Tensor:
    """Split-sum prefiltered radiance ``L_pre(R, alpha) = sum_lm g_l(roughness) L_lm Y_lm(R)`` from SH light.

    ``g_l`` from :func:`ggx_sh_band_attenuation` (see there for the approximations).

    Args:
      light_sh: ``[9, C]`` or ``[..., 9, C]`` radiance coefficients.
      reflection: ``[..., 3]`` unit reflection vectors ``R``.
      roughness: ``[...]`` perceptual roughness (broadcast; a scalar is computed once).

    Returns:
      ``[..., C]`` prefiltered radiance.
    """
    light_sh = tf.convert_to_tensor(light_sh)
    dtype = light_sh.dtype
    attenuation = sh_band_to_coefficient(ggx_sh_band_attenuation(tf.convert_to_tensor(roughness, dtype)))
    basis = sh_basis(tf.convert_to_tensor(reflection, dtype))
    return _contract_coefficients(attenuation * basis, light_sh)
