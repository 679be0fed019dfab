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
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "SH_COEFFICIENT_COUNT", "SH_BAND_OF_COEFFICIENT", "SH_C0", "SH_C1", "SH_C2_XY", "SH_C2_ZZ", "SH_C2_XX_YY",
    "sh_basis_np",
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
