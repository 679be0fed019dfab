"""Colorimetry in numpy: linear sRGB <-> CIE XYZ <-> CIELAB, and the ITA skin-tone angle.

(The sRGB transfer function lives in :mod:`svfri.math.color`.)

Colour spaces (see :mod:`svfri.conventions`):

* **linear sRGB**: IEC 61966-2-1 primaries and D65 white, no transfer function; ``(1, 1, 1)`` is the D65
  white of luminance ``Y = 1``.
* **CIE XYZ**: 1931 2-degree observer, ``Y = 1`` for the reference white.
* **CIELAB**: CIE 1976 ``L* a* b*`` relative to the D65 white of linear sRGB (``L*`` in ``[0, 100]``).

Pure functions of arrays shaped ``[..., 3]``; any float dtype (computed in float64, returned as float64 unless
stated).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "relative_luminance",
    "SRGB_TO_XYZ", "XYZ_TO_SRGB", "D65_WHITE_XYZ", "LAB_EPSILON", "LAB_KAPPA",
    "srgb_linear_to_xyz", "xyz_to_srgb_linear", "xyz_to_lab",
    "srgb_linear_to_lab", "ita_degrees", "ita_from_lab",
]

#: Linear sRGB -> XYZ (IEC 61966-2-1 primaries, D65 white ``x, y = 0.3127, 0.3290``), rows X, Y, Z.
#: Derived from the chromaticities; matches the standard's 4-digit matrix to 4 decimals.
SRGB_TO_XYZ = np.array([
    [0.4123907992659595, 0.3575843393838780, 0.1804807884018343],
    [0.2126390058715104, 0.7151686787677559, 0.0721923153607337],
    [0.0193308187155918, 0.1191947797946259, 0.9505321522496606],
])
#: XYZ -> linear sRGB, the exact inverse of :data:`SRGB_TO_XYZ`.
XYZ_TO_SRGB = np.linalg.inv(SRGB_TO_XYZ)
#: XYZ of linear sRGB ``(1, 1, 1)``: the D65 reference white with ``Y = 1`` (the row sums of the matrix).
D65_WHITE_XYZ = SRGB_TO_XYZ.sum(axis=1)

#: CIELAB constants in their exact rational form (CIE 15:2004 note): ``epsilon = (6/29)^3``, ``kappa = (29/3)^3``.
LAB_EPSILON = (6.0 / 29.0) ** 3
LAB_KAPPA = (29.0 / 3.0) ** 3

def relative_luminance(rgb: np.ndarray) -> np.ndarray:
    """Relative luminance ``Y`` of linear sRGB ``[..., 3]`` -> ``[...]`` float64 (row 2 of :data:`SRGB_TO_XYZ`;
    IEC 61966-2-1; white ``(1, 1, 1)`` -> 1)."""
    return np.asarray(rgb, dtype=np.float64) @ SRGB_TO_XYZ[1]


def srgb_linear_to_xyz(rgb: np.ndarray) -> np.ndarray:
    """Linear sRGB ``[..., 3]`` -> CIE XYZ ``[..., 3]`` (``Y = 1`` for white), ``XYZ = M rgb``."""
    return np.asarray(rgb, dtype=np.float64) @ SRGB_TO_XYZ.T


def xyz_to_srgb_linear(xyz: np.ndarray) -> np.ndarray:
    """CIE XYZ ``[..., 3]`` -> linear sRGB ``[..., 3]`` (not clipped: out-of-gamut colours go below 0 or above 1)."""
    return np.asarray(xyz, dtype=np.float64) @ XYZ_TO_SRGB.T


def xyz_to_lab(xyz: np.ndarray, *, white_xyz: np.ndarray = D65_WHITE_XYZ) -> np.ndarray:
    """CIE XYZ -> CIELAB (CIE 15:2004, section 8.2.1).

    ``L* = 116 f(Y/Yn) - 16``, ``a* = 500 (f(X/Xn) - f(Y/Yn))``, ``b* = 200 (f(Y/Yn) - f(Z/Zn))`` with
    ``f(q) = q^(1/3)`` for ``q > (6/29)^3`` and ``f(q) = (kappa q + 16) / 116`` otherwise.

    Args:
      xyz: ``[..., 3]`` tristimulus values, same scale as ``white_xyz``.
      white_xyz: ``[3]`` reference white (default: D65 with ``Y = 1``).

    Returns:
      ``[..., 3]`` ``(L*, a*, b*)``; ``L*`` in ``[0, 100]`` for ``0 <= Y <= Yn``.
    """
    q = np.asarray(xyz, dtype=np.float64) / np.asarray(white_xyz, dtype=np.float64)
    f = np.where(q > LAB_EPSILON, np.cbrt(q), (LAB_KAPPA * q + 16.0) / 116.0)
    lightness = 116.0 * f[..., 1] - 16.0
    a_star = 500.0 * (f[..., 0] - f[..., 1])
    b_star = 200.0 * (f[..., 1] - f[..., 2])
    return np.stack([lightness, a_star, b_star], axis=-1)


def srgb_linear_to_lab(rgb: np.ndarray) -> np.ndarray:
    """Linear sRGB ``[..., 3]`` -> CIELAB ``[..., 3]`` relative to D65 (sRGB's white).

    Golden values: ``(1, 1, 1) -> (100, 0, 0)``; ``(1, 0, 0) -> (53.24, 80.09, 67.20)``.
    """
    return xyz_to_lab(srgb_linear_to_xyz(rgb))


def ita_from_lab(lab: np.ndarray) -> np.ndarray:
    """Individual Typology Angle from CIELAB: ``ITA = atan2(L* - 50, b*) * 180 / pi`` degrees.

    Chardon, Cretois & Hourseau, "Skin colour typology and suntanning pathways", Int J Cosmet Sci 13:191-208,
    1991; categories: very light > 55, light 41..55, intermediate 28..41, tan 10..28, brown -30..10, dark < -30.
    ``atan2`` equals the published ``atan((L* - 50) / b*)`` for skin (``b* > 0``) and stays finite at ``b* = 0``.

    Args:
      lab: ``[..., 3]`` CIELAB (D65).

    Returns:
      ``[...]`` angle in degrees, in ``(-180, 180]``.
    """
    lab = np.asarray(lab, dtype=np.float64)
    return np.degrees(np.arctan2(lab[..., 0] - 50.0, lab[..., 2]))


def ita_degrees(rgb: np.ndarray) -> np.ndarray:
    """ITA (degrees) of linear-sRGB colours ``[..., 3]`` under D65; see :func:`ita_from_lab`. Returns ``[...]``."""
    return ita_from_lab(srgb_linear_to_lab(rgb))
