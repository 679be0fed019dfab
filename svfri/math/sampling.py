"""Quadrature rules and low-discrepancy / importance sampling on the sphere (numpy, float64).

* :func:`sphere_quadrature_np`: product Gauss-Legendre rule in ``cos(theta)`` times a uniform rule in ``phi``.
  With ``n`` Legendre nodes and ``2 n`` azimuth nodes it integrates every polynomial in ``(x, y, z)`` of total
  degree ``<= 2 n - 1`` over the unit sphere exactly (Legendre: exact for degree ``2n - 1`` in ``z``; the
  trapezoid rule in ``phi`` with ``2n`` points is exact for trigonometric polynomials of degree ``< 2n``).
* :func:`hammersley_2d_np`: the Hammersley point set (van der Corput radical inverse in base 2), the
  deterministic low-discrepancy set Karis 2013 ("Real Shading in Unreal Engine 4") uses for split-sum tables.
* :func:`sample_ggx_half_vector_np`: GGX importance sampling of the half vector around ``+Z`` with density
  ``D(h) (n.h)`` (Walter et al. 2007, eqs. 35-36; Karis 2013, ``ImportanceSampleGGX``).

Directions are unit vectors ``(x, y, z)`` with polar angle ``theta`` measured from ``+Z`` and azimuth ``phi``
from ``+X`` towards ``+Y``.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = [
    "sphere_quadrature_np", "hemisphere_quadrature_np", "hammersley_2d_np", "sample_ggx_half_vector_np",
    "directions_from_angles_np",
]

#: Number of bits of the radical inverse (the Hammersley set is exact in float64 up to 2**32 points).
_RADICAL_INVERSE_BITS = 32


def directions_from_angles_np(cos_theta: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """Unit directions ``(sin t cos p, sin t sin p, cos t)`` from ``cos(theta)`` and ``phi`` (radians).

    Args:
      cos_theta: ``[...]`` cosine of the polar angle from ``+Z``, in ``[-1, 1]``.
      phi: ``[...]`` azimuth from ``+X`` towards ``+Y``, radians (broadcast against ``cos_theta``).

    Returns:
      ``[..., 3]`` unit vectors.
    """
    cos_theta = np.asarray(cos_theta, dtype=np.float64)
    sin_theta = np.sqrt(np.clip(1.0 - cos_theta * cos_theta, 0.0, None))
    return np.stack(np.broadcast_arrays(sin_theta * np.cos(phi), sin_theta * np.sin(phi), cos_theta), axis=-1)


def _read_only(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    for array in arrays:
        array.setflags(write=False)
    return arrays


@functools.lru_cache(maxsize=16)
def _gauss_legendre(order: int) -> tuple[np.ndarray, np.ndarray]:
    """Cached ``numpy.polynomial.legendre.leggauss`` (its eigen-solve costs seconds for thousands of nodes)."""
    return _read_only(*np.polynomial.legendre.leggauss(order))


@functools.lru_cache(maxsize=16)
def sphere_quadrature_np(order: int) -> tuple[np.ndarray, np.ndarray]:
    """Product quadrature on the unit sphere, exact for polynomials of total degree ``<= 2 * order - 1``.

    ``int_S2 f(w) dw ~= sum_q weights[q] f(directions[q])``: ``order`` Gauss-Legendre nodes in
    ``z = cos(theta)`` times ``2 * order`` equally spaced azimuths.

    Args:
      order: number of Gauss-Legendre nodes, ``>= 1``.

    Returns:
      ``(directions [M, 3], weights [M])`` float64 with ``M = 2 * order**2``; the weights sum to ``4 pi``.
      Cached and read-only.
    """
    if order < 1:
        raise ValueError(f"quadrature order must be >= 1, got {order}")
    z, z_weights = _gauss_legendre(order)
    azimuth_count = 2 * order
    phi = (np.arange(azimuth_count) + 0.5) * (2.0 * np.pi / azimuth_count)
    directions = directions_from_angles_np(z[:, None], phi[None, :]).reshape(-1, 3)
    weights = (z_weights[:, None] * np.full(azimuth_count, 2.0 * np.pi / azimuth_count)[None, :]).reshape(-1)
    return _read_only(directions, weights)


@functools.lru_cache(maxsize=16)
def hemisphere_quadrature_np(polar_order: int, azimuth_count: int) -> tuple[np.ndarray, np.ndarray]:
    """Product quadrature on the upper hemisphere ``z > 0``: Gauss-Legendre in ``z`` on ``(0, 1)`` x uniform ``phi``.

    Args:
      polar_order: Gauss-Legendre nodes in ``z``.
      azimuth_count: equally spaced azimuths.

    Returns:
      ``(directions [M, 3], weights [M])`` float64, ``M = polar_order * azimuth_count``, weights sum to ``2 pi``.
      Cached and read-only.
    """
    x, x_weights = _gauss_legendre(polar_order)
    z = 0.5 * (x + 1.0)
    z_weights = 0.5 * x_weights
    phi = (np.arange(azimuth_count) + 0.5) * (2.0 * np.pi / azimuth_count)
    directions = directions_from_angles_np(z[:, None], phi[None, :]).reshape(-1, 3)
    weights = (z_weights[:, None] * np.full(azimuth_count, 2.0 * np.pi / azimuth_count)[None, :]).reshape(-1)
    return _read_only(directions, weights)


def hammersley_2d_np(count: int) -> np.ndarray:
    """The ``count``-point Hammersley set in ``[0, 1)^2``: ``(i / count, radical_inverse_2(i))``.

    Args:
      count: number of points, ``>= 1``.

    Returns:
      ``[count, 2]`` float64.
    """
    index = np.arange(count, dtype=np.uint64)
    bits = index.copy()
    reversed_bits = np.zeros_like(bits)
    for _ in range(_RADICAL_INVERSE_BITS):
        reversed_bits = (reversed_bits << np.uint64(1)) | (bits & np.uint64(1))
        bits >>= np.uint64(1)
    radical_inverse = reversed_bits.astype(np.float64) / float(2 ** _RADICAL_INVERSE_BITS)
    return np.stack([index.astype(np.float64) / count, radical_inverse], axis=-1)


def sample_ggx_half_vector_np(xi: np.ndarray, alpha: np.ndarray | float) -> np.ndarray:
    """Maps uniform ``xi`` to GGX half vectors about ``+Z`` with density ``D(h) (n.h)`` (solid angle).

    ``cos^2(theta_h) = (1 - xi_0) / (1 + (alpha^2 - 1) xi_0)``, ``phi_h = 2 pi xi_1`` (Walter et al. 2007,
    eqs. 35-36, written in Karis 2013's form).

    Args:
      xi: ``[..., 2]`` uniform samples in ``[0, 1)``.
      alpha: GGX width ``alpha = roughness^2``, ``>= 0``, broadcast against ``xi[..., 0]``.

    Returns:
      ``[..., 3]`` unit half vectors.
    """
    xi = np.asarray(xi, dtype=np.float64)
    alpha = np.asarray(alpha, dtype=np.float64)
    cos2_theta = (1.0 - xi[..., 0]) / (1.0 + (alpha * alpha - 1.0) * xi[..., 0])
    return directions_from_angles_np(np.sqrt(cos2_theta), 2.0 * np.pi * xi[..., 1])
