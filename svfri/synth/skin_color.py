"""Spectral skin colour: melanin and haemoglobin -> linear-sRGB diffuse albedo, and a sampler over skin types.

Model (a two-layer Kubelka-Munk skin in the spirit of Donner & Jensen 2006 and Jimenez et al. 2010)
------------------------------------------------------------------------------------------------------
Skin is an epidermis of thickness :data:`EPIDERMIS_THICKNESS_MM` over a semi-infinite dermis. Absorption
coefficients, ``lambda`` in nm, ``mu`` in mm^-1:

* eumelanin  ``mu_eu(l)   = 6.6e11 * l^-3.33`` and pheomelanin ``mu_pheo(l) = 2.9e15 * l^-4.75``, in
  **cm^-1** (Jacques, omlc.org "Skin optics summary" 1998, gives the eumelanin law in cm^-1; Donner & Jensen,
  "A spectral BSSRDF for shading human skin", EGSR 2006, eqs. 2-3, print both laws with mm^-1, but with
  mm^-1 Jacques's measured melanin fractions -- 1.3 % for light skin -- would make skin near black, so the
  cm^-1 reading is used: ``mu`` in mm^-1 is one tenth of the formula);
* baseline skin ``mu_base(l) = 0.0244 + 8.53 exp(-(l - 154) / 66.2)`` (same sources);
* whole blood ``mu_blood(l) = ln(10) * eps(l) * 150 g/L / 64500 g/mol`` (Prahl, "Tabulated molar extinction
  coefficient for hemoglobin in water", omlc.org 1999, compiled from Gratzer and Kollias; the table below
  is his, subsampled at 10 nm), oxygen saturation ``gamma`` mixing oxy- and deoxy-haemoglobin.

``epidermis: mu_a = C_m (beta mu_eu + (1 - beta) mu_pheo) + (1 - C_m) mu_base``
``dermis:    mu_a = C_h mu_blood(gamma) + (1 - C_h) mu_base``

with melanin volume fraction ``C_m`` (about 0.01 very light .. 0.45 very dark), eumelanin share ``beta`` and
blood volume fraction ``C_h`` (about 0.002 .. 0.07; Jacques 1998). Both layers share the reduced scattering
of skin ``mu_s'(l) = a' (f_Ray (l/500)^-4 + (1 - f_Ray) (l/500)^-b_Mie)`` with ``a' = 4.6 mm^-1``,
``f_Ray = 0.409``, ``b_Mie = 0.562`` (Jacques, "Optical properties of biological tissues: a review", Phys Med
Biol 58 R37, 2013, table 2, skin).

Kubelka-Munk (Kubelka 1954) with ``K = 2 mu_a`` and ``S = 3/4 mu_s'`` (the diffusion-matched conversion of
Star, Marijnissen & van Gemert 1988, dropping their small ``-mu_a/4`` term). Dermis, semi-infinite:
``R_d = 1 + K/S - sqrt((K/S)^2 + 2 K/S)``. Epidermis slab of thickness ``d``, ``a = 1 + K/S``,
``b = sqrt(a^2 - 1)``: ``R_e = sinh(bSd) / (a sinh(bSd) + b cosh(bSd))``,
``T_e = b / (a sinh(bSd) + b cosh(bSd))``. Layers combine as ``R = R_e + T_e^2 R_d / (1 - R_e R_d)``.
The surface (Fresnel) reflection is *not* included: it is the renderer's specular term.

Colour: ``XYZ = sum_l R(l) D65(l) cmf(l) / sum_l D65(l) ybar(l)``, CIE 1931 matching functions from the
multi-lobe Gaussian fit of Wyman, Sloan & Shirley, "Simple analytic approximations to the CIE XYZ color
matching functions", JCGT 2(2), 2013; CIE D65 at 10 nm; XYZ -> linear sRGB, then each channel is divided by
that of a perfect white reflector so that ``R(l) = c`` maps exactly to ``(c, c, c)`` (this absorbs the
small error of the analytic fit; without it white lands at about 1 +- 0.01).

Approximations (all deliberate, documented here): KM instead of diffusion/multipole profiles; one scattering
spectrum for both layers; no carotene or bilirubin; no epidermal blood; 10-nm spectral sampling (the
Soret band near 415 nm is coarsely resolved, where the eye is insensitive). The model is used to produce
*plausible, physically ordered* albedos for synthetic training data, not for measurement.

Skin types: the six ITA categories of Chardon et al. 1991 (see :func:`svfri.math.colorimetry.ita_from_lab`)
are used as types I..VI (very light .. dark), an approximate correspondence to Fitzpatrick types (Del Bino &
Bernerd, Br J Dermatol 169 s3, 2013).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from svfri.math import colorimetry

__all__ = [
    "WAVELENGTHS_NM", "EPIDERMIS_THICKNESS_MM", "DEFAULT_OXYGEN_SATURATION", "DEFAULT_EUMELANIN_SHARE",
    "MELANIN_FRACTION_RANGE", "HAEMOGLOBIN_FRACTION_RANGE", "SKIN_TYPE_ITA_RANGES", "SKIN_TYPE_NAMES",
    "SkinToneParams",
    "cie_xyz_cmf_wyman", "eumelanin_absorption", "pheomelanin_absorption", "baseline_skin_absorption",
    "blood_absorption", "skin_reduced_scattering", "skin_reflectance_spectrum", "spectrum_to_linear_srgb",
    "skin_albedo_linear", "skin_albedo_lut", "ita_category", "melanin_for_ita", "sample_skin_type_params",
    "hair_albedo_linear", "HAIR_EUMELANIN_SIGMA_A", "HAIR_PHEOMELANIN_SIGMA_A",
]

#: Spectral sampling of the model, nm (visible range at 10-nm steps).
WAVELENGTHS_NM = np.arange(380.0, 781.0, 10.0)
_WAVELENGTH_STEP_NM = 10.0

#: Epidermis thickness (mm); 0.1 mm is typical of facial skin (Sandby-Moller et al., Acta Derm Venereol 2003).
EPIDERMIS_THICKNESS_MM = 0.1
#: Blood oxygen saturation of the dermal plexus (Donner & Jensen 2006 use 0.75).
DEFAULT_OXYGEN_SATURATION = 0.75
#: Eumelanin share of epidermal melanin (Donner & Jensen 2006 fit 0.6..0.9 for most skin).
DEFAULT_EUMELANIN_SHARE = 0.7
#: Range of the melanin volume fraction the model accepts (Jacques 1998: 1.3 % .. 43 % across skin types).
MELANIN_FRACTION_RANGE = (0.002, 0.6)
#: Range of the dermal blood volume fraction the model accepts (Jacques 1998: 0.2 % .. 7 %; lips higher).
HAEMOGLOBIN_FRACTION_RANGE = (0.0005, 0.25)

# Absorption spectra (lambda in nm): melanins in cm^-1 (see module docstring), baseline in mm^-1.
_EUMELANIN_SCALE = 6.6e11
_EUMELANIN_EXPONENT = -3.33
_PHEOMELANIN_SCALE = 2.9e15
_PHEOMELANIN_EXPONENT = -4.75
_BASELINE_OFFSET = 0.0244
_BASELINE_SCALE = 8.53
_BASELINE_SHIFT_NM = 154.0
_BASELINE_DECAY_NM = 66.2

# Haemoglobin in whole blood: 150 g/L at 64500 g/mol; eps in cm^-1/M -> mu_a in mm^-1 (factor 1/10).
_BLOOD_HB_G_PER_L = 150.0
_HB_G_PER_MOL = 64500.0
#: mm^-1 per cm^-1.
_CM_TO_MM = 0.1

#: Prahl's molar extinction coefficients (cm^-1/M) at WAVELENGTHS_NM: oxy-haemoglobin, deoxy-haemoglobin.
_HB_EXTINCTION = np.array([
    [109564.0, 145232.0], [167748.0, 167780.0], [266232.0, 223296.0], [466840.0, 303956.0],
    [480360.0, 407560.0], [246072.0, 528600.0], [102580.0, 413280.0], [62816.0, 103292.0],
    [44480.0, 23388.8], [33209.2, 16156.4], [26629.2, 14550.0], [23684.4, 16684.0],
    [20932.8, 20862.0], [20035.2, 25773.6], [24202.4, 31589.6], [39956.8, 39036.4],
    [53236.0, 46592.0], [43016.0, 53412.0], [32613.2, 53788.0], [44496.0, 45072.0],
    [50104.0, 37020.0], [14400.8, 28324.4], [3200.0, 14677.2], [1506.0, 9443.6],
    [942.0, 6509.6], [610.0, 5148.8], [442.0, 4345.2], [368.0, 3750.12],
    [319.6, 3226.56], [294.0, 2795.12], [277.6, 2407.92], [276.0, 2051.96],
    [290.0, 1794.28], [314.0, 1540.48], [348.0, 1325.88], [390.0, 1102.2],
    [446.0, 1115.88], [518.0, 1405.24], [586.0, 1548.52], [650.0, 1311.88], [710.0, 1075.44],
])

#: CIE standard illuminant D65 relative spectral power at WAVELENGTHS_NM (CIE 15:2004 table T.1).
_D65_SPD = np.array([
    49.9755, 54.6482, 82.7549, 91.4860, 93.4318, 86.6823, 104.865, 117.008, 117.812, 114.861, 115.923,
    108.811, 109.354, 107.802, 104.790, 107.689, 104.405, 104.046, 100.000, 96.3342, 95.7880, 88.6856,
    90.0062, 89.5991, 87.6987, 83.2886, 83.6992, 80.0268, 80.2146, 82.2778, 78.2842, 69.7213, 71.6091,
    74.3490, 61.6040, 69.8856, 75.0870, 63.5927, 46.4182, 66.8054, 63.3828,
])

# Reduced scattering of skin (Jacques 2013, table 2): a' at 500 nm (mm^-1), Rayleigh fraction, Mie power.
_SCATTER_A_PRIME_PER_MM = 4.6
_SCATTER_RAYLEIGH_FRACTION = 0.409
_SCATTER_MIE_POWER = 0.562
_SCATTER_REFERENCE_NM = 500.0
#: KM scattering from reduced scattering, ``S = 3/4 mu_s'`` (Star et al. 1988).
_KM_S_PER_REDUCED_SCATTERING = 0.75
#: KM absorption from absorption, ``K = 2 mu_a``.
_KM_K_PER_ABSORPTION = 2.0

#: ITA range (degrees) of each skin type I..VI, Chardon et al. 1991 categories, with finite outer bounds
#: chosen for sampling (very light up to 70 degrees, dark down to -60 degrees).
SKIN_TYPE_ITA_RANGES = {1: (55.0, 70.0), 2: (41.0, 55.0), 3: (28.0, 41.0), 4: (10.0, 28.0),
                        5: (-30.0, 10.0), 6: (-60.0, -30.0)}
#: Chardon's category names for types I..VI.
SKIN_TYPE_NAMES = {1: "very light", 2: "light", 3: "intermediate", 4: "tan", 5: "brown", 6: "dark"}


def _wyman_lobe(wavelength: np.ndarray, mean: float, sigma_below: float, sigma_above: float) -> np.ndarray:
    sigma = np.where(wavelength < mean, sigma_below, sigma_above)
    return np.exp(-0.5 * ((wavelength - mean) / sigma) ** 2)


def cie_xyz_cmf_wyman(wavelength_nm: np.ndarray) -> np.ndarray:
    """CIE 1931 2-degree colour-matching functions, multi-lobe fit (Wyman, Sloan & Shirley 2013, eq. 2).

    ``xbar = 1.056 g(599.8, 37.9, 31.0) + 0.362 g(442.0, 16.0, 26.7) - 0.065 g(501.1, 20.4, 26.2)``,
    ``ybar = 0.821 g(568.8, 46.9, 40.5) + 0.286 g(530.9, 16.3, 31.1)``,
    ``zbar = 1.217 g(437.0, 11.8, 36.0) + 0.681 g(459.0, 26.0, 13.8)``, with the piecewise Gaussian
    ``g(mu, s1, s2) = exp(-((l - mu) / s)^2 / 2)``, ``s = s1`` below ``mu`` and ``s2`` above.
    Approximate: within a few percent of the tabulated CMFs.

    Args:
      wavelength_nm: ``[N]`` wavelengths in nm.

    Returns:
      ``[N, 3]`` ``(xbar, ybar, zbar)``.
    """
    l = np.asarray(wavelength_nm, dtype=np.float64)
    x = (1.056 * _wyman_lobe(l, 599.8, 37.9, 31.0) + 0.362 * _wyman_lobe(l, 442.0, 16.0, 26.7)
         - 0.065 * _wyman_lobe(l, 501.1, 20.4, 26.2))
    y = 0.821 * _wyman_lobe(l, 568.8, 46.9, 40.5) + 0.286 * _wyman_lobe(l, 530.9, 16.3, 31.1)
    z = 1.217 * _wyman_lobe(l, 437.0, 11.8, 36.0) + 0.681 * _wyman_lobe(l, 459.0, 26.0, 13.8)
    return np.stack([x, y, z], axis=-1)


def eumelanin_absorption(wavelength_nm: np.ndarray) -> np.ndarray:
    """Eumelanin absorption ``mu_a = 6.6e11 l^-3.33`` cm^-1, returned in mm^-1 (Jacques 1998). Shape as input."""
    l = np.asarray(wavelength_nm, dtype=np.float64)
    return _CM_TO_MM * _EUMELANIN_SCALE * np.power(l, _EUMELANIN_EXPONENT)


def pheomelanin_absorption(wavelength_nm: np.ndarray) -> np.ndarray:
    """Pheomelanin absorption ``mu_a = 2.9e15 l^-4.75`` cm^-1, returned in mm^-1 (Donner & Jensen 2006, eq. 3,
    read in cm^-1 like the eumelanin law; module docstring). Shape as input."""
    l = np.asarray(wavelength_nm, dtype=np.float64)
    return _CM_TO_MM * _PHEOMELANIN_SCALE * np.power(l, _PHEOMELANIN_EXPONENT)


def baseline_skin_absorption(wavelength_nm: np.ndarray) -> np.ndarray:
    """Pigment-free skin absorption ``0.0244 + 8.53 exp(-(l - 154)/66.2)`` mm^-1 (Jacques 1998). Shape as input."""
    l = np.asarray(wavelength_nm, dtype=np.float64)
    return _BASELINE_OFFSET + _BASELINE_SCALE * np.exp(-(l - _BASELINE_SHIFT_NM) / _BASELINE_DECAY_NM)


def blood_absorption(oxygen_saturation: float | np.ndarray = DEFAULT_OXYGEN_SATURATION) -> np.ndarray:
    """Whole-blood absorption at :data:`WAVELENGTHS_NM`, mm^-1.

    ``mu = ln(10) * (gamma eps_HbO2 + (1 - gamma) eps_Hb) * 150 / 64500 * 0.1`` (Prahl's table, 150 g/L).

    Args:
      oxygen_saturation: ``gamma`` in ``[0, 1]``, scalar or ``[...]``.

    Returns:
      ``[..., N]`` absorption at the model's ``N`` wavelengths.
    """
    gamma = np.asarray(oxygen_saturation, dtype=np.float64)[..., None]
    eps = gamma * _HB_EXTINCTION[:, 0] + (1.0 - gamma) * _HB_EXTINCTION[:, 1]
    return math.log(10.0) * eps * (_BLOOD_HB_G_PER_L / _HB_G_PER_MOL) * _CM_TO_MM


def skin_reduced_scattering(wavelength_nm: np.ndarray) -> np.ndarray:
    """Reduced scattering of skin ``a' (f_Ray (l/500)^-4 + (1 - f_Ray)(l/500)^-b_Mie)`` mm^-1 (Jacques 2013)."""
    r = np.asarray(wavelength_nm, dtype=np.float64) / _SCATTER_REFERENCE_NM
    return _SCATTER_A_PRIME_PER_MM * (_SCATTER_RAYLEIGH_FRACTION * r ** -4.0
                                      + (1.0 - _SCATTER_RAYLEIGH_FRACTION) * r ** -_SCATTER_MIE_POWER)


# Spectra that do not depend on the chromophores, at the model's wavelengths.
_MU_EU = eumelanin_absorption(WAVELENGTHS_NM)
_MU_PHEO = pheomelanin_absorption(WAVELENGTHS_NM)
_MU_BASE = baseline_skin_absorption(WAVELENGTHS_NM)
_KM_S = _KM_S_PER_REDUCED_SCATTERING * skin_reduced_scattering(WAVELENGTHS_NM)
_CMF = cie_xyz_cmf_wyman(WAVELENGTHS_NM)
_SPD_CMF = _D65_SPD[:, None] * _CMF                      # [N, 3]
_SPD_CMF_NORMALISED = _SPD_CMF / _SPD_CMF[:, 1].sum()    # XYZ of a perfect white has Y = 1
_WHITE_RGB = colorimetry.xyz_to_srgb_linear(_SPD_CMF_NORMALISED.sum(axis=0))


def skin_reflectance_spectrum(melanin: np.ndarray, haemoglobin: np.ndarray, *,
                              eumelanin_share: float | np.ndarray = DEFAULT_EUMELANIN_SHARE,
                              oxygen_saturation: float | np.ndarray = DEFAULT_OXYGEN_SATURATION,
                              epidermis_thickness_mm: float = EPIDERMIS_THICKNESS_MM,
                              scattering_scale: float = 1.0) -> np.ndarray:
    """Diffuse reflectance spectrum of two-layer KM skin (module docstring), no surface reflection.

    Args:
      melanin: ``[...]`` epidermal melanin volume fraction ``C_m`` in :data:`MELANIN_FRACTION_RANGE`
        (values are clipped to it).
      haemoglobin: ``[...]`` dermal blood volume fraction ``C_h`` in :data:`HAEMOGLOBIN_FRACTION_RANGE`
        (clipped), broadcastable with ``melanin``.
      eumelanin_share: ``beta`` in ``[0, 1]``, broadcastable.
      oxygen_saturation: ``gamma`` in ``[0, 1]``, broadcastable.
      epidermis_thickness_mm: epidermis thickness ``d`` (mm).
      scattering_scale: factor on the reduced scattering of both layers (1 for skin; lower for the thin,
        translucent vermilion of the lips).

    Returns:
      ``[..., N]`` reflectance in ``(0, 1)`` at :data:`WAVELENGTHS_NM`.
    """
    c_m = np.clip(np.asarray(melanin, dtype=np.float64), *MELANIN_FRACTION_RANGE)[..., None]
    c_h = np.clip(np.asarray(haemoglobin, dtype=np.float64), *HAEMOGLOBIN_FRACTION_RANGE)[..., None]
    beta = np.clip(np.asarray(eumelanin_share, dtype=np.float64), 0.0, 1.0)[..., None]
    mu_epidermis = c_m * (beta * _MU_EU + (1.0 - beta) * _MU_PHEO) + (1.0 - c_m) * _MU_BASE
    mu_dermis = c_h * blood_absorption(np.clip(oxygen_saturation, 0.0, 1.0)) + (1.0 - c_h) * _MU_BASE

    km_s = _KM_S * scattering_scale
    ratio_d = _KM_K_PER_ABSORPTION * mu_dermis / km_s
    reflect_dermis = 1.0 + ratio_d - np.sqrt(ratio_d * ratio_d + 2.0 * ratio_d)

    a = 1.0 + _KM_K_PER_ABSORPTION * mu_epidermis / km_s
    b = np.sqrt(a * a - 1.0)
    bsd = np.minimum(b * km_s * epidermis_thickness_mm, 50.0)  # sinh/cosh overflow guard; T ~ e^-50 there
    sinh, cosh = np.sinh(bsd), np.cosh(bsd)
    denominator = a * sinh + b * cosh
    reflect_epidermis = sinh / denominator
    transmit_epidermis = b / denominator
    return reflect_epidermis + transmit_epidermis ** 2 * reflect_dermis / (1.0 - reflect_epidermis * reflect_dermis)


def spectrum_to_linear_srgb(reflectance: np.ndarray) -> np.ndarray:
    """Reflectance spectrum under D65 -> linear sRGB albedo, white-normalised (module docstring).

    Args:
      reflectance: ``[..., N]`` reflectance at :data:`WAVELENGTHS_NM`.

    Returns:
      ``[..., 3]`` linear sRGB; a constant spectrum ``c`` gives exactly ``(c, c, c)``. Not clipped.
    """
    xyz = np.asarray(reflectance, dtype=np.float64) @ _SPD_CMF_NORMALISED
    return colorimetry.xyz_to_srgb_linear(xyz) / _WHITE_RGB


def skin_albedo_linear(melanin: np.ndarray, haemoglobin: np.ndarray, *,
                       eumelanin_share: float | np.ndarray = DEFAULT_EUMELANIN_SHARE,
                       oxygen_saturation: float | np.ndarray = DEFAULT_OXYGEN_SATURATION) -> np.ndarray:
    """Linear-sRGB diffuse albedo ``[..., 3]`` in ``[0, 1]`` of skin with the given chromophores.

    :func:`skin_reflectance_spectrum` followed by :func:`spectrum_to_linear_srgb`, clipped to ``[0, 1]``
    (skin colours are inside the sRGB gamut; the clip only guards rounding). Arguments as there.
    """
    spectrum = skin_reflectance_spectrum(melanin, haemoglobin, eumelanin_share=eumelanin_share,
                                         oxygen_saturation=oxygen_saturation)
    return np.clip(spectrum_to_linear_srgb(spectrum), 0.0, 1.0)


def skin_albedo_lut(*, eumelanin_share: float, oxygen_saturation: float, size: int = 48) -> tuple:
    """Tabulates :func:`skin_albedo_linear` on a log-spaced ``(melanin, haemoglobin)`` grid.

    Used to colour whole maps fast: look up with bilinear interpolation in ``(log C_m, log C_h)``.

    Args:
      eumelanin_share, oxygen_saturation: fixed for the table.
      size: grid points per axis.

    Returns:
      ``(log_melanin [size], log_haemoglobin [size], rgb [size, size, 3])`` with ``rgb[i, j]`` the albedo at
      ``(exp(log_melanin[i]), exp(log_haemoglobin[j]))``.
    """
    log_m = np.linspace(math.log(MELANIN_FRACTION_RANGE[0]), math.log(MELANIN_FRACTION_RANGE[1]), size)
    log_h = np.linspace(math.log(HAEMOGLOBIN_FRACTION_RANGE[0]), math.log(HAEMOGLOBIN_FRACTION_RANGE[1]), size)
    rgb = skin_albedo_linear(np.exp(log_m)[:, None], np.exp(log_h)[None, :], eumelanin_share=eumelanin_share,
                             oxygen_saturation=oxygen_saturation)
    return log_m, log_h, rgb


def ita_category(ita: float | np.ndarray) -> np.ndarray:
    """Skin type 1..6 (Chardon category) of ITA values in degrees; boundaries belong to the lighter type."""
    ita = np.asarray(ita, dtype=np.float64)
    bounds = np.array([SKIN_TYPE_ITA_RANGES[k][0] for k in range(1, 6)])  # 55, 41, 28, 10, -30
    return 1 + np.sum(ita[..., None] < bounds, axis=-1)


def melanin_for_ita(target_ita: float, haemoglobin: float, *,
                    eumelanin_share: float = DEFAULT_EUMELANIN_SHARE,
                    oxygen_saturation: float = DEFAULT_OXYGEN_SATURATION) -> float:
    """Melanin fraction whose skin albedo has the given ITA (other chromophores fixed).

    ITA falls monotonically with melanin in this model (tested), so the answer is found by interpolating a
    dense log-spaced table of ITA(melanin). Targets beyond what the model reaches give the range ends.

    Args:
      target_ita: degrees.
      haemoglobin, eumelanin_share, oxygen_saturation: as in :func:`skin_reflectance_spectrum`.

    Returns:
      Melanin volume fraction within :data:`MELANIN_FRACTION_RANGE`.
    """
    melanin = np.geomspace(*MELANIN_FRACTION_RANGE, 256)
    ita = colorimetry.ita_degrees(skin_albedo_linear(melanin, haemoglobin, eumelanin_share=eumelanin_share,
                                                     oxygen_saturation=oxygen_saturation))
    # ita decreases with melanin: interpolate on the reversed (increasing) arrays.
    log_m = np.interp(target_ita, ita[::-1], np.log(melanin)[::-1])
    return float(np.exp(log_m))


@dataclasses.dataclass(frozen=True)
class SkinToneParams:
    """Chromophores of one face's base skin (see module docstring for the model).

    Attributes:
      skin_type: 1..6, the Chardon ITA category the tone was drawn for (I very light .. VI dark).
      target_ita: ITA (degrees) the base albedo was solved for.
      melanin: epidermal melanin volume fraction ``C_m``.
      haemoglobin: dermal blood volume fraction ``C_h``.
      eumelanin_share: ``beta``, eumelanin fraction of melanin.
      oxygen_saturation: ``gamma``.
    """

    skin_type: int
    target_ita: float
    melanin: float
    haemoglobin: float
    eumelanin_share: float
    oxygen_saturation: float

    def albedo(self) -> np.ndarray:
        """Linear-sRGB base albedo ``[3]``."""
        return skin_albedo_linear(self.melanin, self.haemoglobin, eumelanin_share=self.eumelanin_share,
                                  oxygen_saturation=self.oxygen_saturation)


# Sampling ranges: blood volume (log-uniform), eumelanin share, oxygen saturation.
_SAMPLE_HAEMOGLOBIN_RANGE = (0.006, 0.05)
_SAMPLE_EUMELANIN_SHARE_RANGE = (0.55, 0.95)
_SAMPLE_OXYGEN_RANGE = (0.65, 0.85)


def sample_skin_type_params(rng: np.random.Generator, skin_type: int | None = None) -> SkinToneParams:
    """Draws base skin chromophores for one face.

    The skin type (uniform over I..VI unless given), then an ITA uniform in that type's
    :data:`SKIN_TYPE_ITA_RANGES`, a blood fraction (log-uniform in 0.6 % .. 5 %), a eumelanin share and an
    oxygen saturation; the melanin fraction is then solved with :func:`melanin_for_ita`, so the base albedo's
    ITA lands in the requested category (up to the model's reach, which covers about 70 .. -60 degrees).

    Args:
      rng: numpy generator (the only source of randomness).
      skin_type: 1..6 or ``None`` for uniform.

    Returns:
      :class:`SkinToneParams`.

    Raises:
      ValueError: ``skin_type`` not in 1..6 (a programming error, not a user-facing one).
    """
    if skin_type is None:
        skin_type = int(rng.integers(1, 7))
    if skin_type not in SKIN_TYPE_ITA_RANGES:
        raise ValueError(f"skin_type must be 1..6, got {skin_type!r}")
    low, high = SKIN_TYPE_ITA_RANGES[skin_type]
    target_ita = float(rng.uniform(low, high))
    haemoglobin = float(np.exp(rng.uniform(*np.log(_SAMPLE_HAEMOGLOBIN_RANGE))))
    eumelanin_share = float(rng.uniform(*_SAMPLE_EUMELANIN_SHARE_RANGE))
    oxygen = float(rng.uniform(*_SAMPLE_OXYGEN_RANGE))
    melanin = melanin_for_ita(target_ita, haemoglobin, eumelanin_share=eumelanin_share, oxygen_saturation=oxygen)
    return SkinToneParams(skin_type=skin_type, target_ita=target_ita, melanin=melanin, haemoglobin=haemoglobin,
                          eumelanin_share=eumelanin_share, oxygen_saturation=oxygen)


#: Per-unit-concentration absorption of eumelanin and pheomelanin in hair fibres, linear RGB (d'Eon, Francois,
#: Hill, Letteri & Aubry, "An energy-conserving hair reflectance model", EGSR 2011, sec. 6; as used by PBRT v3).
HAIR_EUMELANIN_SIGMA_A = np.array([0.419, 0.697, 1.37])
HAIR_PHEOMELANIN_SIGMA_A = np.array([0.187, 0.4, 1.05])
#: Fibre path length (in fibre diameters) of the light seen diffusely: about two crossings.
_HAIR_PATH_LENGTH = 2.0
#: Fraction of light a fibre tuft returns at zero absorption (packing, self-shadowing), approximate.
_HAIR_TUFT_REFLECTANCE = 0.6
#: Linear albedo of fully grey (unpigmented) hair seen as a tuft.
_GREY_HAIR_ALBEDO = 0.5


def hair_albedo_linear(eumelanin: float, pheomelanin: float, *, grey: float = 0.0) -> np.ndarray:
    """Approximate diffuse colour of a hair tuft from melanin concentrations (for brows, stubble, beards).

    ``rho = 0.6 exp(-2 (c_eu sigma_eu + c_pheo sigma_pheo))``, then mixed with unpigmented grey hair
    (albedo 0.5) by ``grey``. The absorption coefficients are d'Eon et al. 2011's; the tuft factor and the
    two-crossing path are rough approximations of a fibre assembly's multiple scattering, not a hair BSDF.
    Typical concentrations: black ~8, dark brown ~3, brown ~1.3, blond ~0.3; red hair ~2.5 pheomelanin.

    Args:
      eumelanin, pheomelanin: concentrations >= 0.
      grey: fraction of unpigmented hairs in ``[0, 1]``.

    Returns:
      ``[3]`` linear sRGB in ``[0, 0.6]``.
    """
    sigma = eumelanin * HAIR_EUMELANIN_SIGMA_A + pheomelanin * HAIR_PHEOMELANIN_SIGMA_A
    pigmented = _HAIR_TUFT_REFLECTANCE * np.exp(-_HAIR_PATH_LENGTH * sigma)
    return (1.0 - grey) * pigmented + grey * _GREY_HAIR_ALBEDO
