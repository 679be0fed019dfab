"""Procedural facial reflectance maps in UV: albedo, specular intensity, roughness and tangent-space normals.

One call, :func:`generate_skin_maps`, turns the canonical layout's semantic region masks and a seed into a full
map set for training (docs/architecture.md, "Training data"). Everything is in svfri's UV convention
(:mod:`svfri.conventions`): maps are ``[S, S, ...]`` images, row 0 at the top (``t ~ 1``), column 0 at ``s ~ 0``.

What the maps contain
---------------------
* **albedo** ``[S, S, 3]`` linear sRGB in ``[0, 1]``: skin coloured by the spectral melanin/haemoglobin model
  (:mod:`svfri.synth.skin_color`) from per-texel chromophore maps -- low-frequency blotches, redder cheeks and
  nose (more blood), a sun-tanned forehead and nose (more melanin), darker and purplish under-eyes (more
  melanin, venous blood), lips (less melanin, much more blood, thin and less scattering tissue), freckles,
  moles and age spots (melanin);
  then hair on top: eyebrows (stroke noise along the brow), stubble or beards (only when
  :attr:`SkinParams.beard_density` > 0, strokes growing downwards, with the grey-blue "shadow" of shaved
  dark stubble), coloured by a melanin hair model. The **eye openings** are filled with a sclera, iris and
  pupil (iris colour sampled), so renders look natural although the fit masks eyes out; the optional
  mouth interior is a dark red.
* **specular** ``[S, S]`` linear grey in ``[0, 1]``, the scale on skin ``F0 = 0.028``: oily T-zone higher,
  drier cheeks lower, lips high, hair low, eyes 1 (wet). 1 is the oiliest skin, typical skin ~0.5..0.7.
* **roughness** ``[S, S]`` in ``[0.05, 1]`` (perceptual; GGX ``alpha = roughness^2``): skin 0.35..0.5,
  T-zone and lips smoother, hair rough, eyes very smooth.
* **normal_map** ``[S, S, 3]`` tangent space, OpenGL ``+Y`` = ``+t``, encoded ``0.5 n + 0.5``: pores (sparse
  pits), fine micro-relief, forehead lines, crow's feet, nasolabial folds, vertical lip lines, raised moles
  and hair, as height fields ``h(s, t)`` (UV units) turned into normals ``n ~ (-dh/ds, -dh/dt, 1)`` by
  central differences. Eyes and the area outside the face stay flat.

Positions of wrinkles are derived from the masks (eye corners from "eyes", lip corners from "lips", nose
wings from "nose", lines inside "forehead"), so the generator follows whatever UV layout the masks come from.

Reproducibility: the seed is split (``SeedSequence(seed).spawn(2)``) into a parameter stream and a texture
stream, so ``generate_skin_maps(m, seed=k)`` equals ``generate_skin_maps(m, seed=k, params=<its params>)``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Mapping

import numpy as np

from svfri.math import color
from svfri.synth import noise, skin_color

__all__ = [
    "REGION_NAMES", "DEFAULT_MAP_SIZE", "SKIN_F0", "SkinParams", "SkinSample", "sample_params",
    "generate_skin_maps", "synthetic_region_masks", "encode_normal_map", "decode_normal_map",
]

#: Region masks the generator reads (float ``[S, S]`` in ``[0, 1]``); any may be missing (treated as zeros,
#: except ``face``, treated as ones).
REGION_NAMES = ("face", "lips", "brows", "eyes", "nose", "t_zone", "beard", "cheeks", "forehead", "under_eye",
                "mouth_interior")
#: Default map size (texels per side).
DEFAULT_MAP_SIZE = 256
#: Skin's normal-incidence Fresnel reflectance (n ~ 1.4); the specular map scales it (docs/architecture.md).
SKIN_F0 = 0.028

#: Reference resolution at which per-texel densities below are stated; they scale as (size / this)^-2.
_REFERENCE_SIZE = 256.0
#: Mask threshold used to find anchor points (eye corners, lip corners, nose wings).
_ANCHOR_THRESHOLD = 0.5
#: Oxygen saturation of the venous blood that tints the under-eyes.
_VENOUS_OXYGEN_SATURATION = 0.35
#: Low-frequency chromophore variation: lattice cells across the map.
_BLOTCH_CELLS = 5.0
#: Lip optics: thin epidermis (mm) and reduced scattering relative to skin. Approximate, chosen so that lips
#: land near measured lip colour (CIELAB L* ~ 45..55, a* ~ 20..27 for light skin).
_LIP_EPIDERMIS_THICKNESS_MM = 0.04
_LIP_SCATTERING_SCALE = 0.5
#: Lip-mask weight above which a texel is coloured with the lip optics.
_LIP_MIN_WEIGHT = 0.01
#: Gaussian softening (sigma, UV units) of region masks before they change chromophores.
_REGION_SOFTENING_UV = 0.025
#: Sclera, pupil and mouth-interior linear albedo.
_SCLERA_RGB = np.array([0.62, 0.56, 0.52])
_PUPIL_RGB = np.array([0.01, 0.01, 0.01])
_MOUTH_INTERIOR_RGB = np.array([0.10, 0.018, 0.02])
#: Iris radius as a fraction of the eye opening's width; pupil radius as a fraction of the iris radius.
_IRIS_RADIUS_PER_EYE_WIDTH = 0.2
_PUPIL_RADIUS_PER_IRIS = 0.38
#: Iris colours (linear sRGB): dark brown, brown, hazel, green, blue, grey.
_IRIS_PALETTE = np.array([[0.035, 0.018, 0.01], [0.09, 0.04, 0.017], [0.15, 0.09, 0.035],
                          [0.09, 0.12, 0.06], [0.10, 0.15, 0.22], [0.15, 0.16, 0.17]])
#: Specular intensity and roughness of hair, eyes (wet) and mouth interior.
_HAIR_SPECULAR, _HAIR_ROUGHNESS = 0.25, 0.65
_EYE_SPECULAR, _EYE_ROUGHNESS = 1.0, 0.08
_MOUTH_SPECULAR, _MOUTH_ROUGHNESS = 0.8, 0.25
_ROUGHNESS_RANGE = (0.05, 1.0)
#: Follicles per unit UV area at full density: beard (~0.5 per texel at 256^2) and brows (denser).
_BEARD_FOLLICLES_PER_UV_AREA = 0.5 * _REFERENCE_SIZE ** 2
_BROW_FOLLICLES_PER_UV_AREA = 0.7 * _REFERENCE_SIZE ** 2
#: Optical density of one hair stroke (coverage = 1 - exp(-density * strokes)).
_HAIR_STROKE_DENSITY = 1.4
#: Pores per unit UV area at pore_density = 1 (~0.8 per texel at 256^2).
_PORES_PER_UV_AREA = 0.8 * _REFERENCE_SIZE ** 2
#: Pore radius (Gaussian sigma) in UV units, floored at 0.5 texel.
_PORE_SIGMA_UV = 0.0012
#: Wrinkle depths and half-widths (UV units) at strength 1.
_FOREHEAD_LINE_DEPTH, _FOREHEAD_LINE_WIDTH = 0.0016, 0.0035
_CROWS_FOOT_DEPTH, _CROWS_FOOT_WIDTH = 0.0010, 0.0025
_NASOLABIAL_DEPTH, _NASOLABIAL_WIDTH = 0.0045, 0.008
_LIP_LINE_DEPTH = 0.0006
_MOLE_HEIGHT = 0.0012
_HAIR_HEIGHT = 0.0006
#: Minimum wrinkle half-width in texels (narrower lines alias).
_MIN_LINE_WIDTH_TEXELS = 0.8


@dataclasses.dataclass(frozen=True)
class SkinParams:
    """Every knob of one synthetic face's reflectance (see module docstring). Fractions are relative changes.

    Attributes:
      tone: base skin chromophores (:class:`svfri.synth.skin_color.SkinToneParams`).
      melanin_variation, haemoglobin_variation: amplitude of the low-frequency log-chromophore fBm.
      cheek_redness, nose_redness: blood fraction multiplied by ``1 + x`` in the region.
      forehead_tan: melanin multiplied by ``1 + x`` on forehead and nose.
      under_eye_darkening: melanin multiplied by ``1 + x`` under the eyes.
      under_eye_venous: blend weight in ``[0, 1]`` towards venous (low-oxygen) blood under the eyes.
      lip_melanin_scale: lip melanin relative to the face's; lip_haemoglobin: blood volume fraction of the lips.
      hair_eumelanin, hair_pheomelanin, hair_grey: hair colour (:func:`skin_color.hair_albedo_linear`).
      brow_density: 0..1 eyebrow hair density; brow_hair_length: UV units.
      beard_density: 0 (no facial hair) .. 1 (full); beard_length: UV units (~0.002 stubble .. 0.02 beard).
      freckle_density: 0..1; mole_count, age_spot_count: numbers of blobs.
      specular_base: skin specular intensity; specular_t_zone: added in the T-zone; specular_lips: on the lips;
        cheek_dryness: relative specular reduction on the cheeks.
      roughness_base, roughness_t_zone, roughness_lips: perceptual roughness.
      pore_strength: RMS slope of the pore layer; pore_density: 0..1.
      micro_relief_strength: RMS slope of the fine skin-texture layer.
      forehead_wrinkles, crows_feet, nasolabial_folds, lip_lines: wrinkle strengths, 0..1 typical.
      iris_rgb: linear sRGB iris colour.
      age: 0..1, informational (the sampler derives wrinkles, spots and grey hair from it).
    """

    tone: skin_color.SkinToneParams
    melanin_variation: float = 0.12
    haemoglobin_variation: float = 0.3
    cheek_redness: float = 0.8
    nose_redness: float = 0.6
    forehead_tan: float = 0.08
    under_eye_darkening: float = 0.25
    under_eye_venous: float = 0.5
    lip_melanin_scale: float = 0.7
    lip_haemoglobin: float = 0.12
    hair_eumelanin: float = 3.0
    hair_pheomelanin: float = 0.2
    hair_grey: float = 0.0
    brow_density: float = 0.8
    brow_hair_length: float = 0.018
    beard_density: float = 0.0
    beard_length: float = 0.004
    freckle_density: float = 0.0
    mole_count: int = 2
    age_spot_count: int = 0
    specular_base: float = 0.55
    specular_t_zone: float = 0.2
    specular_lips: float = 0.75
    cheek_dryness: float = 0.1
    roughness_base: float = 0.42
    roughness_t_zone: float = 0.36
    roughness_lips: float = 0.3
    pore_strength: float = 0.12
    pore_density: float = 0.5
    micro_relief_strength: float = 0.04
    forehead_wrinkles: float = 0.3
    crows_feet: float = 0.3
    nasolabial_folds: float = 0.4
    lip_lines: float = 0.3
    iris_rgb: tuple = (0.09, 0.04, 0.017)
    age: float = 0.3


@dataclasses.dataclass(frozen=True)
class SkinSample:
    """One synthetic map set (module docstring for the content of each map).

    Attributes:
      albedo: ``[S, S, 3]`` float32 linear sRGB in ``[0, 1]``.
      specular: ``[S, S]`` float32 in ``[0, 1]``, scale on :data:`SKIN_F0`.
      roughness: ``[S, S]`` float32 perceptual roughness (``alpha = roughness^2``).
      normal_map: ``[S, S, 3]`` float32 encoded tangent-space normals ``0.5 n + 0.5`` (OpenGL ``+Y``).
      hair_coverage: ``[S, S]`` float32 in ``[0, 1]``, fraction of the texel covered by brow/beard hair.
      params: the :class:`SkinParams` used.
      seed: the seed given.
    """

    albedo: np.ndarray
    specular: np.ndarray
    roughness: np.ndarray
    normal_map: np.ndarray
    hair_coverage: np.ndarray
    params: SkinParams
    seed: int

    def albedo_srgb(self) -> np.ndarray:
        """Albedo encoded with the sRGB transfer function, ``[S, S, 3]`` float32 in ``[0, 1]``."""
        return color.linear_to_srgb_np(np.clip(self.albedo, 0.0, 1.0)).astype(np.float32)

    def normals(self) -> np.ndarray:
        """Decoded unit tangent-space normals ``[S, S, 3]`` float32."""
        return decode_normal_map(self.normal_map)


def encode_normal_map(normal: np.ndarray) -> np.ndarray:
    """Unit normals ``[..., 3]`` -> stored map ``0.5 n + 0.5`` in ``[0, 1]`` (float32)."""
    return (0.5 * np.asarray(normal, dtype=np.float32) + 0.5).astype(np.float32)


def decode_normal_map(normal_map: np.ndarray) -> np.ndarray:
    """Stored map ``[..., 3]`` in ``[0, 1]`` -> unit normals ``2 m - 1``, renormalised (float32)."""
    n = 2.0 * np.asarray(normal_map, dtype=np.float32) - 1.0
    return (n / np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-8)).astype(np.float32)


# ---------------------------------------------------------------------------------------------------------------
# Parameter sampling

def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(np.exp(rng.uniform(math.log(low), math.log(high))))


def sample_params(rng: np.random.Generator, *, skin_type: int | None = None,
                  beard_probability: float = 0.35) -> SkinParams:
    """Draws a varied face: skin type (uniform I..VI unless given), age, hair, facial hair, spots, specular,
    wrinkles. Ranges are chosen by eye to cover plausible adult faces.

    Args:
      rng: numpy generator.
      skin_type: 1..6 (Chardon ITA category) or ``None``.
      beard_probability: chance of stubble or a beard.

    Returns:
      :class:`SkinParams`.
    """
    tone = skin_color.sample_skin_type_params(rng, skin_type)
    age = float(rng.uniform(0.0, 1.0))
    light = tone.skin_type <= 3

    # Hair colour: darker skin types mostly dark hair; light types also blond and red.
    if not light or rng.random() < 0.45:
        hair_eu, hair_pheo = _log_uniform(rng, 2.5, 10.0), float(rng.uniform(0.0, 0.5))
    elif rng.random() < 0.8:
        hair_eu, hair_pheo = _log_uniform(rng, 0.3, 3.0), float(rng.uniform(0.1, 0.8))
    else:  # red
        hair_eu, hair_pheo = float(rng.uniform(0.1, 0.5)), float(rng.uniform(1.5, 3.5))
    hair_grey = float(np.clip((age - 0.55) * 2.2 * rng.uniform(0.3, 1.2), 0.0, 0.95))

    has_beard = rng.random() < beard_probability
    beard_density = float(rng.uniform(0.2, 1.0)) if has_beard else 0.0
    beard_length = _log_uniform(rng, 0.0012, 0.02) if has_beard else 0.004

    freckle_chance = {1: 0.55, 2: 0.45, 3: 0.2}.get(tone.skin_type, 0.05)
    freckle_density = float(rng.uniform(0.15, 1.0)) if rng.random() < freckle_chance else 0.0

    if tone.skin_type >= 5:
        iris = _IRIS_PALETTE[int(rng.choice([0, 1], p=[0.6, 0.4]))]
    else:
        iris = _IRIS_PALETTE[int(rng.choice(6, p=[0.2, 0.3, 0.15, 0.1, 0.18, 0.07]))]
    iris = tuple(float(v) for v in iris * rng.uniform(0.8, 1.2))

    t_zone_specular = float(rng.uniform(0.05, 0.3))
    roughness_base = float(rng.uniform(0.36, 0.5))
    return SkinParams(
        tone=tone,
        melanin_variation=float(rng.uniform(0.05, 0.2)),
        haemoglobin_variation=float(rng.uniform(0.15, 0.45)),
        cheek_redness=float(rng.uniform(0.2, 1.5)),
        nose_redness=float(rng.uniform(0.1, 1.2)),
        forehead_tan=float(rng.uniform(0.0, 0.2)),
        under_eye_darkening=float(rng.uniform(0.05, 0.5)),
        under_eye_venous=float(rng.uniform(0.2, 0.8)),
        lip_melanin_scale=float(rng.uniform(0.5, 1.0)),
        lip_haemoglobin=_log_uniform(rng, 0.06, 0.2),
        hair_eumelanin=hair_eu, hair_pheomelanin=hair_pheo, hair_grey=hair_grey,
        brow_density=float(rng.uniform(0.35, 1.0)),
        brow_hair_length=float(rng.uniform(0.012, 0.025)),
        beard_density=beard_density, beard_length=beard_length,
        freckle_density=freckle_density,
        mole_count=int(rng.poisson(2.0)),
        age_spot_count=int(rng.poisson(6.0 * max(age - 0.3, 0.0))),
        specular_base=float(rng.uniform(0.4, 0.7)),
        specular_t_zone=t_zone_specular,
        specular_lips=float(rng.uniform(0.6, 0.9)),
        cheek_dryness=float(rng.uniform(0.0, 0.25)),
        roughness_base=roughness_base,
        roughness_t_zone=roughness_base - float(rng.uniform(0.02, 0.08)),
        roughness_lips=float(rng.uniform(0.25, 0.35)),
        pore_strength=float(rng.uniform(0.05, 0.18)),
        pore_density=float(rng.uniform(0.25, 0.8)),
        micro_relief_strength=float(rng.uniform(0.02, 0.06)),
        forehead_wrinkles=float(age * rng.uniform(0.2, 1.0)),
        crows_feet=float(age * rng.uniform(0.2, 1.0)),
        nasolabial_folds=float(0.15 + age * rng.uniform(0.2, 0.85)),
        lip_lines=float(rng.uniform(0.1, 0.3) + 0.5 * age),
        iris_rgb=iris,
        age=age,
    )


# ---------------------------------------------------------------------------------------------------------------
# Geometry helpers

def _uv_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Texel-centre UV coordinates ``(s, t)``, each ``[size, size]`` float32 (row 0 at ``t ~ 1``)."""
    centres = (np.arange(size, dtype=np.float32) + 0.5) / size
    s, t = np.meshgrid(centres, 1.0 - centres)
    return s, t


def _soft_ellipse(s: np.ndarray, t: np.ndarray, centre: tuple[float, float], radii: tuple[float, float], *,
                  angle: float = 0.0, softness: float = 0.15) -> np.ndarray:
    """1 inside the ellipse, 0 outside, smooth over ``+-softness`` of the normalised radius."""
    ds, dt = s - centre[0], t - centre[1]
    c, si = math.cos(angle), math.sin(angle)
    u, v = (c * ds + si * dt) / radii[0], (-si * ds + c * dt) / radii[1]
    return noise.smoothstep(1.0 + softness, 1.0 - softness, np.sqrt(u * u + v * v)).astype(np.float32)


def synthetic_region_masks(size: int = DEFAULT_MAP_SIZE) -> dict[str, np.ndarray]:
    """A STAND-IN frontal face layout drawn with ellipses, for tests and development only.

    Production code passes the canonical template's masks (precompute/ output) instead. Layout in UV
    (``t`` up): face disc centred at (0.5, 0.5), radius 0.45; eyes at ``t = 0.6``, ``s = 0.33 / 0.67``;
    brows above them; nose down the middle; lips at ``t = 0.25``; cheeks, under-eyes, forehead, T-zone and a
    beard area (chin, jaw, upper lip, lower cheeks).

    Args:
      size: texels per side.

    Returns:
      dict of every name in :data:`REGION_NAMES` -> ``[size, size]`` float32 in ``[0, 1]``.
    """
    s, t = _uv_grid(size)
    face = _soft_ellipse(s, t, (0.5, 0.5), (0.45, 0.45), softness=0.03)
    eyes = np.maximum(_soft_ellipse(s, t, (0.33, 0.6), (0.07, 0.028), softness=0.2),
                      _soft_ellipse(s, t, (0.67, 0.6), (0.07, 0.028), softness=0.2))
    brows = np.maximum(_soft_ellipse(s, t, (0.32, 0.685), (0.09, 0.02), angle=0.12, softness=0.3),
                       _soft_ellipse(s, t, (0.68, 0.685), (0.09, 0.02), angle=-0.12, softness=0.3))
    nose = _soft_ellipse(s, t, (0.5, 0.46), (0.065, 0.13), softness=0.3)
    lips = _soft_ellipse(s, t, (0.5, 0.25), (0.11, 0.045), softness=0.25)
    mouth = _soft_ellipse(s, t, (0.5, 0.25), (0.085, 0.007), softness=0.3)
    cheeks = np.maximum(_soft_ellipse(s, t, (0.26, 0.42), (0.12, 0.12), softness=0.4),
                        _soft_ellipse(s, t, (0.74, 0.42), (0.12, 0.12), softness=0.4))
    under_eye = np.maximum(_soft_ellipse(s, t, (0.33, 0.545), (0.075, 0.03), softness=0.4),
                           _soft_ellipse(s, t, (0.67, 0.545), (0.075, 0.03), softness=0.4)) * (1.0 - eyes)
    forehead = face * noise.smoothstep(0.70, 0.74, t)
    t_zone = np.maximum.reduce([_soft_ellipse(s, t, (0.5, 0.8), (0.22, 0.11), softness=0.4), nose,
                                _soft_ellipse(s, t, (0.5, 0.12), (0.09, 0.05), softness=0.4)]) * face
    lower_face = noise.smoothstep(0.40, 0.34, t) * face
    beard = np.clip(lower_face - lips - nose, 0.0, 1.0)
    masks = {"face": face, "lips": lips * (1.0 - mouth), "brows": brows, "eyes": eyes, "nose": nose,
             "t_zone": t_zone, "beard": beard, "cheeks": cheeks * face, "forehead": forehead,
             "under_eye": under_eye, "mouth_interior": mouth}
    return {name: np.clip(mask, 0.0, 1.0).astype(np.float32) for name, mask in masks.items()}


def _prepare_masks(region_masks: Mapping[str, np.ndarray], size: int) -> dict[str, np.ndarray]:
    """Resizes (bilinear) masks to ``size``, clips to [0, 1], fills missing ones (face: ones, others: zeros)."""
    import cv2  # local: only needed when the masks come at another resolution

    out = {}
    for name in REGION_NAMES:
        mask = region_masks.get(name)
        if mask is None:
            out[name] = np.full((size, size), 1.0 if name == "face" else 0.0, dtype=np.float32)
            continue
        mask = np.asarray(mask, dtype=np.float32)
        if mask.ndim != 2:
            raise ValueError(f"region mask {name!r} must be [S, S], got shape {mask.shape}")
        if mask.shape != (size, size):
            mask = cv2.resize(mask, (size, size), interpolation=cv2.INTER_LINEAR)
        out[name] = np.clip(mask, 0.0, 1.0)
    return out


@dataclasses.dataclass(frozen=True)
class _Eye:
    centre: tuple[float, float]
    outer_corner: tuple[float, float]
    width: float
    outward: float  # -1: outer corner at smaller s, +1: at larger s


def _mask_points(mask: np.ndarray, s: np.ndarray, t: np.ndarray, selector: np.ndarray | None = None):
    keep = mask > _ANCHOR_THRESHOLD
    if selector is not None:
        keep &= selector
    return s[keep], t[keep]


def _find_anchors(masks: dict[str, np.ndarray], s: np.ndarray, t: np.ndarray) -> dict:
    """Eye centres/corners, lip corners and nose wings (UV) from the masks; absent features are omitted."""
    face_s, _ = _mask_points(masks["face"], s, t)
    midline = float(face_s.mean()) if face_s.size else 0.5
    anchors: dict = {"midline": midline, "eyes": []}
    for side in (-1.0, 1.0):
        es, et = _mask_points(masks["eyes"], s, t, (s - midline) * side > 0)
        if es.size < 3:
            continue
        outer = es.max() if side > 0 else es.min()
        anchors["eyes"].append(_Eye(centre=(float(es.mean()), float(et.mean())),
                                    outer_corner=(float(outer), float(et.mean())),
                                    width=float(es.max() - es.min()), outward=side))
    ls, lt = _mask_points(masks["lips"] + masks["mouth_interior"], s, t)
    if ls.size >= 3:
        anchors["lip_corners"] = [(float(ls.min()), float(lt.mean())), (float(ls.max()), float(lt.mean()))]
    ns, nt = _mask_points(masks["nose"], s, t)
    if ns.size >= 3:
        low = nt <= nt.min() + 0.3 * (nt.max() - nt.min())
        anchors["nose_wings"] = [(float(ns[low].min()), float(nt[low].mean())),
                                 (float(ns[low].max()), float(nt[low].mean()))]
    fs, ft = _mask_points(masks["forehead"], s, t)
    if fs.size >= 3:
        anchors["forehead_box"] = (float(fs.min()), float(fs.max()), float(ft.min()), float(ft.max()))
    return anchors


def _polyline_field(points: np.ndarray, s: np.ndarray, t: np.ndarray, margin: float):
    """Distance (UV) from every texel to a polyline and the arc-length fraction of the nearest point.

    Only texels within ``margin`` of the polyline's bounding box are evaluated; others get ``inf``.

    Returns:
      ``(distance [S, S], along [S, S])``.
    """
    size = s.shape[0]
    distance = np.full(s.shape, np.inf, dtype=np.float32)
    along = np.zeros(s.shape, dtype=np.float32)
    lo, hi = points.min(axis=0) - margin, points.max(axis=0) + margin
    col0, col1 = max(int(lo[0] * size), 0), min(int(math.ceil(hi[0] * size)), size)
    row0, row1 = max(int((1.0 - hi[1]) * size), 0), min(int(math.ceil((1.0 - lo[1]) * size)), size)
    if col0 >= col1 or row0 >= row1:
        return distance, along
    ps = np.stack([s[row0:row1, col0:col1], t[row0:row1, col0:col1]], axis=-1)[..., None, :]   # [h, w, 1, 2]
    a, b = points[:-1], points[1:]                                                               # [M, 2]
    seg = b - a
    seg_len = np.linalg.norm(seg, axis=-1)
    proj = np.clip(np.sum((ps - a) * seg, axis=-1) / np.maximum(seg_len ** 2, 1e-12), 0.0, 1.0)  # [h, w, M]
    d = np.linalg.norm(ps - (a + proj[..., None] * seg), axis=-1)
    nearest = np.argmin(d, axis=-1)
    cumulative = np.concatenate([[0.0], np.cumsum(seg_len)])
    pick = np.take_along_axis
    distance[row0:row1, col0:col1] = pick(d, nearest[..., None], axis=-1)[..., 0]
    along[row0:row1, col0:col1] = ((cumulative[nearest] + pick(proj, nearest[..., None], axis=-1)[..., 0]
                                    * seg_len[nearest]) / max(cumulative[-1], 1e-12))
    return distance, along


def _quadratic_bezier(p0, p1, p2, count: int = 12) -> np.ndarray:
    u = np.linspace(0.0, 1.0, count)[:, None]
    p0, p1, p2 = (np.asarray(p, dtype=np.float32) for p in (p0, p1, p2))
    return ((1 - u) ** 2 * p0 + 2 * (1 - u) * u * p1 + u * u * p2).astype(np.float32)


def _groove(distance: np.ndarray, half_width: float) -> np.ndarray:
    """Gaussian groove profile ``exp(-d^2 / (2 w^2))`` (0 where the distance is inf)."""
    return np.exp(-0.5 * (distance / half_width) ** 2).astype(np.float32)


# ---------------------------------------------------------------------------------------------------------------
# Map layers

def _lut_lookup(lut: tuple, log_m: np.ndarray, log_h: np.ndarray) -> np.ndarray:
    """Bilinear lookup of a :func:`skin_color.skin_albedo_lut` table at log chromophores ``[S, S]``."""
    axis_m, axis_h, rgb = lut
    n_m, n_h = axis_m.size, axis_h.size
    fm = np.clip((log_m - axis_m[0]) / (axis_m[1] - axis_m[0]), 0.0, n_m - 1 - 1e-4)
    fh = np.clip((log_h - axis_h[0]) / (axis_h[1] - axis_h[0]), 0.0, n_h - 1 - 1e-4)
    im, ih = fm.astype(np.int64), fh.astype(np.int64)
    wm, wh = (fm - im)[..., None], (fh - ih)[..., None]
    rgb = rgb.astype(np.float32)
    return ((rgb[im, ih] * (1 - wm) + rgb[im + 1, ih] * wm) * (1 - wh)
            + (rgb[im, ih + 1] * (1 - wm) + rgb[im + 1, ih + 1] * wm) * wh)


def _blobs(rng: np.random.Generator, weight: np.ndarray, count: float, sigma_texels: float,
           amplitude_range: tuple[float, float]) -> np.ndarray:
    """Sum of Gaussian blobs with peak amplitudes in ``amplitude_range``, placed with density ``weight``."""
    total = float(weight.sum())
    if count <= 0 or total <= 0:
        return np.zeros_like(weight)
    probability = np.clip(weight * (count / total), 0.0, 1.0)
    impulses = noise.sparse_impulses(rng, probability, amplitude_range=amplitude_range)
    sigma = max(sigma_texels, 0.5)
    # A blurred unit impulse peaks at 1 / (2 pi sigma^2): rescale so blobs keep their amplitude.
    return noise.gaussian_blur(impulses, sigma) * np.float32(2.0 * math.pi * sigma * sigma)


def _chromophore_maps(rng, params: SkinParams, masks, size):
    """Per-texel log melanin, log blood fraction, venous-blend weight and the moles' log-melanin bumps."""
    tone = params.tone
    shape = (size, size)
    # Physiological gradations are gradual: soften the region masks used for chromophore changes.
    soft = {name: noise.gaussian_blur(masks[name], _REGION_SOFTENING_UV * size)
            for name in ("forehead", "nose", "under_eye", "cheeks")}
    log_m = (math.log(tone.melanin)
             + params.melanin_variation * 2.0 * noise.fractal_noise(rng, shape, base_cells=_BLOTCH_CELLS, octaves=5))
    log_h = (math.log(tone.haemoglobin)
             + params.haemoglobin_variation * 2.0 * noise.fractal_noise(rng, shape, base_cells=_BLOTCH_CELLS * 1.5,
                                                                        octaves=5))
    log_m += math.log1p(params.forehead_tan) * np.maximum(soft["forehead"], soft["nose"])
    log_m += math.log1p(params.under_eye_darkening) * soft["under_eye"]
    log_h += np.log1p(params.cheek_redness * soft["cheeks"] + params.nose_redness * soft["nose"])
    lips = masks["lips"]
    log_m += math.log(params.lip_melanin_scale) * lips
    log_h += math.log(params.lip_haemoglobin / tone.haemoglobin) * lips

    # Freckles (cheeks, nose, forehead), moles (anywhere on skin), age spots (larger, irregular).
    skin = masks["face"] * (1.0 - masks["eyes"]) * (1.0 - lips) * (1.0 - masks["mouth_interior"])
    texel = size / _REFERENCE_SIZE
    if params.freckle_density > 0:
        weight = skin * (masks["cheeks"] + masks["nose"] + 0.4 * masks["forehead"]) \
            * np.clip(1.0 + noise.fractal_noise(rng, shape, base_cells=6, octaves=2), 0.0, None)
        log_m += _blobs(rng, weight, 500.0 * params.freckle_density, 1.0 * texel, (0.25, 0.7))
    moles = np.zeros(shape, dtype=np.float32)
    if params.mole_count > 0:
        moles = _blobs(rng, skin, params.mole_count, 1.0 * texel, (1.2, 2.2))
        log_m += moles
    if params.age_spot_count > 0:
        spots = _blobs(rng, skin * (masks["cheeks"] + masks["forehead"] + 0.3), params.age_spot_count,
                       3.5 * texel, (0.3, 0.6))
        log_m += spots * np.clip(1.0 + 1.5 * noise.fractal_noise(rng, shape, base_cells=30, octaves=2), 0.0, None)
    venous = params.under_eye_venous * soft["under_eye"]
    return log_m, log_h, venous, moles


def _hair_layer(rng, params: SkinParams, masks, anchors, s, size):
    """Brow and beard hair coverage ``[S, S]`` and the stubble-shadow weight ``[S, S]``."""
    shape = (size, size)
    area_scale = 1.0 / (size * size)
    midline = anchors["midline"]
    left = (s < midline).astype(np.float32)
    coverage_strokes = np.zeros(shape, dtype=np.float32)

    # Eyebrows: the mask, thinned/broken by noise, filled with strokes pointing outwards and slightly up.
    if params.brow_density > 0 and masks["brows"].any():
        irregular = masks["brows"] * np.clip(0.75 + 0.8 * noise.fractal_noise(rng, shape, base_cells=24, octaves=2),
                                             0.0, 1.0)
        probability = np.clip(params.brow_density * irregular * _BROW_FOLLICLES_PER_UV_AREA * area_scale, 0, 1)
        impulses = noise.sparse_impulses(rng, probability, amplitude_range=(0.6, 1.0))
        length = params.brow_hair_length * size
        tilt = 0.35
        coverage_strokes += noise.splat_strokes(impulses * left, length, math.pi - tilt)
        coverage_strokes += noise.splat_strokes(impulses * (1.0 - left), length, tilt)

    shadow = np.zeros(shape, dtype=np.float32)
    if params.beard_density > 0 and masks["beard"].any():
        patchy = np.clip(0.8 + 0.9 * noise.fractal_noise(rng, shape, base_cells=8, octaves=3), 0.0, 1.0)
        region = masks["beard"] * patchy
        probability = np.clip(params.beard_density * region * _BEARD_FOLLICLES_PER_UV_AREA * area_scale, 0, 1)
        impulses = noise.sparse_impulses(rng, probability, amplitude_range=(0.5, 1.0))
        length = params.beard_length * size
        outward = 0.25
        coverage_strokes += noise.splat_strokes(impulses * left, length, -math.pi / 2 - outward)
        coverage_strokes += noise.splat_strokes(impulses * (1.0 - left), length, -math.pi / 2 + outward)
        shadow = (0.45 * params.beard_density * noise.gaussian_blur(region, 1.0)).astype(np.float32)
    coverage = 1.0 - np.exp(-_HAIR_STROKE_DENSITY * coverage_strokes)
    coverage *= masks["face"] * (1.0 - masks["eyes"])
    return coverage.astype(np.float32), shadow


def _eye_fill(anchors, s, t, iris_rgb) -> np.ndarray:
    """Sclera with an iris and pupil disc at each eye centre, ``[S, S, 3]`` linear sRGB."""
    rgb = np.broadcast_to(_SCLERA_RGB.astype(np.float32), s.shape + (3,)).copy()
    # Sclera slightly darker towards the corners (shadowed by the lids).
    for eye in anchors["eyes"]:
        r = np.hypot(s - eye.centre[0], t - eye.centre[1])
        iris_r = _IRIS_RADIUS_PER_EYE_WIDTH * eye.width
        rgb *= (1.0 - 0.35 * noise.smoothstep(0.3 * eye.width, 0.6 * eye.width, r))[..., None]
        iris = noise.smoothstep(iris_r * 1.05, iris_r * 0.9, r)[..., None]
        # Iris: radial darkening towards its rim (limbal ring).
        iris_colour = np.asarray(iris_rgb, dtype=np.float32) * (1.0 - 0.5 * noise.smoothstep(
            0.6 * iris_r, iris_r, r))[..., None]
        rgb = rgb * (1.0 - iris) + iris_colour * iris
        pupil = noise.smoothstep(iris_r * _PUPIL_RADIUS_PER_IRIS * 1.1, iris_r * _PUPIL_RADIUS_PER_IRIS * 0.9, r)
        rgb = rgb * (1.0 - pupil[..., None]) + _PUPIL_RGB.astype(np.float32) * pupil[..., None]
    return rgb


def _slope_from_height(height: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """``(dh/ds, dh/dt)`` of a height field in UV units, central differences (rows run towards ``-t``)."""
    d_row, d_col = np.gradient(height)
    return (d_col * size).astype(np.float32), (-d_row * size).astype(np.float32)


def _normalised_slopes(height: np.ndarray, size: int, weight: np.ndarray, rms: float):
    """Slopes of ``height`` rescaled so their RMS magnitude over ``weight`` equals ``rms``."""
    gs, gt = _slope_from_height(height, size)
    total = float((weight * (gs * gs + gt * gt)).sum()) / max(float(weight.sum()), 1e-12)
    scale = rms / math.sqrt(total) if total > 0 else 0.0
    return gs * scale, gt * scale


def _wrinkle_height(rng, params: SkinParams, masks, anchors, s, t, size) -> np.ndarray:
    """Height field (UV units, negative = groove) of forehead lines, crow's feet, nasolabial folds, lip lines."""
    height = np.zeros(s.shape, dtype=np.float32)
    min_width = _MIN_LINE_WIDTH_TEXELS / size
    # Forehead: 2-5 roughly horizontal wavy lines across the lower part of the forehead.
    if params.forehead_wrinkles > 0 and "forehead_box" in anchors:
        s0, s1, t0, t1 = anchors["forehead_box"]
        count = int(rng.integers(2, 6))
        wave = noise.fractal_noise(rng, s.shape, base_cells=3, octaves=2)
        centre_s = 0.5 * (s0 + s1)
        span = 0.5 * (s1 - s0)
        width = max(_FOREHEAD_LINE_WIDTH, min_width)
        for k in range(count):
            line_t = t0 + (t1 - t0) * (0.12 + 0.5 * (k + rng.uniform(-0.3, 0.3)) / count)
            bend = rng.uniform(-0.02, 0.02) * ((s - centre_s) / max(span, 1e-6)) ** 2
            d = t - (line_t + bend + 0.015 * wave)
            extent = noise.smoothstep(1.0, rng.uniform(0.4, 0.8), np.abs(s - centre_s - rng.uniform(-0.05, 0.05))
                                      / max(span, 1e-6))
            depth = _FOREHEAD_LINE_DEPTH * params.forehead_wrinkles * rng.uniform(0.5, 1.0)
            height -= depth * _groove(d, width) * extent
        height *= masks["forehead"]
    # Crow's feet: 3-5 lines fanning out from each outer eye corner.
    if params.crows_feet > 0:
        width = max(_CROWS_FOOT_WIDTH, min_width)
        for eye in anchors["eyes"]:
            for angle in np.linspace(-0.6, 0.6, int(rng.integers(3, 6))) + rng.uniform(-0.1, 0.1):
                direction = np.array([eye.outward * math.cos(angle), math.sin(angle)])
                start = np.array(eye.outer_corner) + 0.012 * direction
                length = rng.uniform(0.035, 0.06)
                bend = np.array([-direction[1], direction[0]]) * rng.uniform(-0.006, 0.006)
                points = _quadratic_bezier(start, start + 0.5 * length * direction + bend, start + length * direction)
                distance, along = _polyline_field(points, s, t, 4.0 * width)
                depth = _CROWS_FOOT_DEPTH * params.crows_feet * rng.uniform(0.6, 1.0)
                height -= depth * _groove(distance, width) * (1.0 - along) * noise.smoothstep(0.0, 0.15, along)
    # Nasolabial folds: from above each nose wing, bowing outwards, to beyond each lip corner.
    if params.nasolabial_folds > 0 and "nose_wings" in anchors and "lip_corners" in anchors:
        width = max(_NASOLABIAL_WIDTH, min_width)
        midline = anchors["midline"]
        for wing, corner in zip(anchors["nose_wings"], anchors["lip_corners"]):
            side = 1.0 if wing[0] > midline else -1.0
            p0 = np.array([wing[0] + side * 0.02, wing[1] + 0.01])
            p2 = np.array([corner[0] + side * 0.025, corner[1] - 0.035])
            p1 = 0.5 * (p0 + p2) + np.array([side * 0.03, 0.0])
            distance, along = _polyline_field(_quadratic_bezier(p0, p1, p2), s, t, 4.0 * width)
            fade = noise.smoothstep(0.0, 0.2, along) * noise.smoothstep(1.0, 0.7, along)
            # Asymmetric fold: a groove with a soft bulge on the cheek side.
            height -= _NASOLABIAL_DEPTH * params.nasolabial_folds * _groove(distance, width) * fade
    # Lips: fine vertical lines.
    if params.lip_lines > 0 and masks["lips"].any():
        frequency = min(90.0, size / 3.0)
        phase = 2.0 * math.pi * (frequency * s + 0.6 * noise.fractal_noise(rng, s.shape, base_cells=20, octaves=2))
        height -= _LIP_LINE_DEPTH * params.lip_lines * (0.5 + 0.5 * np.cos(phase)) ** 4 * masks["lips"]
    return height


def _normal_layer(rng, params: SkinParams, masks, anchors, s, t, size, hair_coverage, mole_height):
    """Unit tangent-space normals ``[S, S, 3]``: wrinkles + pores + micro-relief + hair + moles."""
    shape = (size, size)
    skin = masks["face"] * (1.0 - masks["eyes"]) * (1.0 - masks["mouth_interior"])
    height = _wrinkle_height(rng, params, masks, anchors, s, t, size)
    height += _HAIR_HEIGHT * hair_coverage + mole_height
    gs, gt = _slope_from_height(height, size)

    if params.pore_strength > 0 and params.pore_density > 0:
        weight = skin * (0.6 + 0.8 * masks["nose"] + 0.5 * masks["cheeks"]) * (1.0 - masks["lips"])
        probability = np.clip(params.pore_density * _PORES_PER_UV_AREA / (size * size) * weight, 0.0, 1.0)
        pits = noise.gaussian_blur(noise.sparse_impulses(rng, probability, amplitude_range=(0.5, 1.0)),
                                   max(_PORE_SIGMA_UV * size, 0.5))
        ps, pt = _normalised_slopes(-pits, size, skin, params.pore_strength)
        gs, gt = gs + ps, gt + pt
    if params.micro_relief_strength > 0:
        relief = noise.fractal_noise(rng, shape, base_cells=size / 6.0, octaves=3)
        rs, rt = _normalised_slopes(relief, size, skin, params.micro_relief_strength)
        gs, gt = gs + rs, gt + rt

    detail = skin
    normal = np.stack([-gs * detail, -gt * detail, np.ones(shape, dtype=np.float32)], axis=-1)
    return normal / np.linalg.norm(normal, axis=-1, keepdims=True)


def generate_skin_maps(region_masks: Mapping[str, np.ndarray], *, seed: int, size: int = DEFAULT_MAP_SIZE,
                       params: SkinParams | None = None) -> SkinSample:
    """Generates one synthetic facial reflectance map set in UV (module docstring).

    Args:
      region_masks: name -> ``[S', S']`` float mask in ``[0, 1]`` (names in :data:`REGION_NAMES`; missing
        masks count as zeros, a missing ``face`` as ones; other sizes are resized bilinearly to ``size``).
      seed: integer seed; the output is a pure function of ``(region_masks, seed, size, params)``.
      size: output texels per side.
      params: the face's knobs; ``None`` draws them with :func:`sample_params` from the seed.

    Returns:
      :class:`SkinSample`.
    """
    params_seed, texture_seed = np.random.SeedSequence(int(seed)).spawn(2)
    if params is None:
        params = sample_params(np.random.default_rng(params_seed))
    rng = np.random.default_rng(texture_seed)
    masks = _prepare_masks(region_masks, size)
    s, t = _uv_grid(size)
    anchors = _find_anchors(masks, s, t)
    tone = params.tone

    # Albedo: skin from chromophore maps through two tabulated spectral models (arterial / venous blend).
    log_m, log_h, venous, moles = _chromophore_maps(rng, params, masks, size)
    lut = skin_color.skin_albedo_lut(eumelanin_share=tone.eumelanin_share, oxygen_saturation=tone.oxygen_saturation)
    lut_venous = skin_color.skin_albedo_lut(eumelanin_share=tone.eumelanin_share,
                                            oxygen_saturation=_VENOUS_OXYGEN_SATURATION)
    w = venous[..., None]
    albedo = _lut_lookup(lut, log_m, log_h) * (1.0 - w) + _lut_lookup(lut_venous, log_m, log_h) * w
    # Lips: thin, translucent vermilion over dense capillaries -- evaluated spectrally on the lip texels only.
    lip_texels = masks["lips"] > _LIP_MIN_WEIGHT
    if lip_texels.any():
        lip_spectrum = skin_color.skin_reflectance_spectrum(
            np.exp(log_m[lip_texels]), np.exp(log_h[lip_texels]), eumelanin_share=tone.eumelanin_share,
            oxygen_saturation=tone.oxygen_saturation, epidermis_thickness_mm=_LIP_EPIDERMIS_THICKNESS_MM,
            scattering_scale=_LIP_SCATTERING_SCALE)
        lip_rgb = np.clip(skin_color.spectrum_to_linear_srgb(lip_spectrum), 0.0, 1.0).astype(np.float32)
        lip_weight = masks["lips"][lip_texels][:, None]
        albedo[lip_texels] = albedo[lip_texels] * (1.0 - lip_weight) + lip_rgb * lip_weight

    hair_coverage, shadow = _hair_layer(rng, params, masks, anchors, s, size)
    hair_rgb = skin_color.hair_albedo_linear(params.hair_eumelanin, params.hair_pheomelanin,
                                             grey=params.hair_grey).astype(np.float32)
    hair_variation = (1.0 + 0.35 * noise.value_noise(rng, (size, size), size / 2.0))[..., None]
    # Shaved dark stubble shows through the skin as a grey-blue shadow (only for hair darker than the skin).
    darker = float(np.clip(1.0 - hair_rgb.mean() / max(float(tone.albedo().mean()), 1e-6), 0.0, 1.0))
    shadow_rgb = 0.5 * (albedo + hair_rgb) * np.array([0.92, 0.96, 1.0], dtype=np.float32)
    albedo = albedo + (shadow_rgb - albedo) * (darker * shadow)[..., None]
    albedo = albedo + (hair_rgb * hair_variation - albedo) * hair_coverage[..., None]
    eyes = masks["eyes"][..., None]
    albedo = albedo * (1.0 - eyes) + _eye_fill(anchors, s, t, params.iris_rgb) * eyes
    mouth = masks["mouth_interior"][..., None]
    albedo = albedo * (1.0 - mouth) + _MOUTH_INTERIOR_RGB.astype(np.float32) * mouth
    albedo = np.clip(albedo, 0.0, 1.0).astype(np.float32)

    # Specular intensity and roughness.
    shape = (size, size)
    sheen = noise.fractal_noise(rng, shape, base_cells=_BLOTCH_CELLS * 2, octaves=4)
    specular = params.specular_base * (1.0 + 0.3 * sheen) + params.specular_t_zone * masks["t_zone"]
    specular *= 1.0 - params.cheek_dryness * masks["cheeks"] * (1.0 - masks["t_zone"])
    roughness = params.roughness_base + 0.04 * sheen
    roughness += (params.roughness_t_zone - params.roughness_base) * masks["t_zone"]
    for mask, spec_value, rough_value in (
            (masks["lips"], params.specular_lips, params.roughness_lips),
            (hair_coverage, _HAIR_SPECULAR, _HAIR_ROUGHNESS),
            (masks["eyes"], _EYE_SPECULAR, _EYE_ROUGHNESS),
            (masks["mouth_interior"], _MOUTH_SPECULAR, _MOUTH_ROUGHNESS)):
        specular = specular + (spec_value - specular) * mask
        roughness = roughness + (rough_value - roughness) * mask
    specular = np.clip(specular, 0.0, 1.0).astype(np.float32)
    roughness = np.clip(roughness, *_ROUGHNESS_RANGE).astype(np.float32)

    # Normals; moles are slightly raised.
    mole_height = _MOLE_HEIGHT * noise.smoothstep(0.3, 1.2, moles)
    normal = _normal_layer(rng, params, masks, anchors, s, t, size, hair_coverage, mole_height)
    return SkinSample(albedo=albedo, specular=specular, roughness=roughness,
                      normal_map=encode_normal_map(normal), hair_coverage=hair_coverage, params=params,
                      seed=int(seed))
