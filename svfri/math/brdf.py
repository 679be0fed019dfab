"""The specular microfacet BRDF: GGX distribution, height-correlated Smith visibility, Schlick Fresnel.

Cook-Torrance specular lobe, in Filament's factored form (Filament PBR document, section 4.4)::

    f_s(v, l) = D(h, alpha) * V(v, l, alpha) * F(v, h)

* **Roughness.** ``alpha = roughness^2`` (Burley 2012; Karis 2013), defined once here
  (:func:`roughness_to_alpha`); every other function takes ``alpha``. ``roughness`` is the perceptual
  roughness in ``[0, 1]`` that the maps and options use.
* **D**, GGX / Trowbridge-Reitz (Walter et al. 2007, "Microfacet models for refraction through rough
  surfaces", eq. 33): ``D(h) = alpha^2 / (pi ((n.h)^2 (alpha^2 - 1) + 1)^2)``, normalised so that
  ``int D(h) (n.h) dh = 1`` over the hemisphere.
* **V**, height-correlated Smith visibility ``V = G2 / (4 (n.l)(n.v))`` (Heitz 2014, "Understanding the
  masking-shadowing function in microfacet-based BRDFs", eq. 99; Filament form, section 4.4.2)::

      V = 0.5 / ( n.l * sqrt((n.v)^2 (1 - alpha^2) + alpha^2) + n.v * sqrt((n.l)^2 (1 - alpha^2) + alpha^2) )

* **F**, Schlick 1994: ``F = F0 + (F90 - F0) (1 - v.h)^5`` with ``F90 = 1``.
* **Skin F0.** :data:`SKIN_F0` ``= ((n - 1) / (n + 1))^2`` with ``n ~= 1.4`` (skin's outer layer; Weyrich et al.
  2006 measure an index of about 1.38) gives 0.0278, rounded to 0.028; the specular map scales it.

All functions work on numpy arrays **and** TensorFlow tensors (one implementation: plain arithmetic plus a
``sqrt`` picked by the argument type), broadcast over leading dimensions, and are differentiable in TF.
Cosines are taken as given: clamp them to ``(0, 1]`` before calling where the geometry may make them
non-positive.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from svfri.math.color import SKIN_F0, SKIN_INDEX_OF_REFRACTION, ior_to_f0

__all__ = [
    "SKIN_INDEX_OF_REFRACTION", "SKIN_F0", "fresnel_f0_from_ior", "roughness_to_alpha", "ggx_ndf",
    "smith_ggx_correlated_visibility", "fresnel_schlick", "ggx_specular_brdf",
]

# Skin's Fresnel constants are defined once in svfri.math.color (re-exported here for the shader's callers).

#: Exponent of Schlick's approximation.
_SCHLICK_EXPONENT = 5


def _sqrt(x):
    """``sqrt`` of the argument's own framework (TF for tensors, numpy otherwise)."""
    return tf.sqrt(x) if tf.is_tensor(x) else np.sqrt(x)


def fresnel_f0_from_ior(index_of_refraction: float) -> float:
    """Normal-incidence Fresnel reflectance from air into a dielectric: ``((n - 1) / (n + 1))^2``
    (:func:`svfri.math.color.ior_to_f0`)."""
    return ior_to_f0(index_of_refraction)


def roughness_to_alpha(roughness):
    """GGX width from perceptual roughness: ``alpha = roughness^2`` (Burley 2012). Shape preserved."""
    return roughness * roughness


def ggx_ndf(n_dot_h, alpha):
    """GGX normal distribution ``D = alpha^2 / (pi ((n.h)^2 (alpha^2 - 1) + 1)^2)`` (Walter et al. 2007, eq. 33).

    Args:
      n_dot_h: ``[...]`` cosine between normal and half vector, in ``[0, 1]``.
      alpha: ``[...]`` GGX width ``roughness^2``, in ``(0, 1]`` (broadcast).

    Returns:
      ``[...]`` microfacet density per steradian (1/sr).
    """
    alpha2 = alpha * alpha
    denominator = n_dot_h * n_dot_h * (alpha2 - 1.0) + 1.0
    return alpha2 / (math.pi * denominator * denominator)


def smith_ggx_correlated_visibility(n_dot_v, n_dot_l, alpha):
    """Height-correlated Smith-GGX visibility ``V = G2 / (4 (n.l)(n.v))`` (Heitz 2014, eq. 99; Filament 4.4.2).

    ``V = 0.5 / (n.l sqrt((n.v)^2 (1 - a^2) + a^2) + n.v sqrt((n.l)^2 (1 - a^2) + a^2))``; symmetric in
    ``v`` and ``l``.

    Args:
      n_dot_v, n_dot_l: ``[...]`` cosines in ``(0, 1]``.
      alpha: ``[...]`` GGX width, in ``[0, 1]``.

    Returns:
      ``[...]`` visibility term (1/sr factors excluded; unitless).
    """
    alpha2 = alpha * alpha
    lambda_v = n_dot_l * _sqrt(n_dot_v * n_dot_v * (1.0 - alpha2) + alpha2)
    lambda_l = n_dot_v * _sqrt(n_dot_l * n_dot_l * (1.0 - alpha2) + alpha2)
    return 0.5 / (lambda_v + lambda_l)


def fresnel_schlick(v_dot_h, f0, f90=1.0):
    """Schlick's Fresnel ``F = F0 + (F90 - F0) (1 - v.h)^5`` (Schlick 1994).

    Args:
      v_dot_h: ``[...]`` cosine between view (or light) and half vector, in ``[0, 1]``.
      f0: ``[...]`` reflectance at normal incidence (broadcast; e.g. ``SKIN_F0 * specular``).
      f90: reflectance at grazing incidence, 1 for dielectrics.

    Returns:
      ``[...]`` reflectance in ``[F0, F90]``.
    """
    return f0 + (f90 - f0) * (1.0 - v_dot_h) ** _SCHLICK_EXPONENT


def ggx_specular_brdf(n_dot_v, n_dot_l, n_dot_h, v_dot_h, alpha, f0):
    """Specular BRDF ``f_s = D(h) V(v, l) F(v, h)`` (1/sr) from the four cosines; zero-clamping is the caller's.

    Args:
      n_dot_v, n_dot_l, n_dot_h, v_dot_h: ``[...]`` cosines, in ``(0, 1]``.
      alpha: ``[...]`` GGX width ``roughness^2``.
      f0: ``[...]`` normal-incidence reflectance.

    Returns:
      ``[...]`` BRDF value (1/sr).
    """
    return (ggx_ndf(n_dot_h, alpha) * smith_ggx_correlated_visibility(n_dot_v, n_dot_l, alpha)
            * fresnel_schlick(v_dot_h, f0))
