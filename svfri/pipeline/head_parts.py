"""The ICT head's materials: skin maps resampled into the face tile, and the other parts' materials from the photo.

Skin (docs/architecture.md, "UV layouts"): the fitted maps come out of the networks in the template layout; they are
resampled into ICT's face tile (:mod:`svfri.bake.uv_resample`: per face-tile texel its ICT surface point, its
template UV through the correspondence, bilinear lookup; normal maps re-expressed in the face tile's tangent
frames; texels outside the template disc filled from the inside by push-pull).

Other parts (one material per opaque part, :data:`PART_SPECS`):

* ``back_head`` (scalp and neck): the face's median albedo (over the resampled texels), mean specular and the skin
  roughness, flat normal: a constant, not a texture (hair, ears' backs and neck are not seen well enough in one
  frontal photo to unwrap);
* sclera and iris: a texture in their own UV square (shared by both eyes: ICT's eye UVs overlap), **de-lit from the
  photo**: at each G-buffer pixel whose visible surface is that part, ``albedo = (photo - L_s) / Y(L_d1)``, with
  ``L_d1`` and ``L_s`` the fitted light's diffuse (albedo 1) and specular radiance from svfri's own shader at the
  part's specular and roughness (the same model the skin was fitted with), ``Y`` the Rec. 709 luminance: the
  shading's intensity is removed, the photo's colour balance kept (the fitted light's colour is confounded with the
  skin's albedo; divided by a warm fitted light, white sclera came out blue); splatted into the texture (mean per
  texel), texels within :data:`TEXTURE_FILL_RADIUS_TEXELS` of a seen one filled by push-pull, the rest the part's
  median;
* teeth, gums and tongue, mouth and eye sockets: a **constant** colour per part, the median de-lit albedo of the part's
  visible pixels (at least :data:`MIN_VISIBLE_PIXELS`), else the part's stated default (:data:`PART_SPECS`; typical
  values, not measured).

Specular of a part is a scale on skin's F0 from its index of refraction, ``ior_to_f0(n) / SKIN_F0``; roughness is
a stated constant (wet sclera and iris, enamel): ICT ships no materials. The eye's clear cornea is not drawn
(:data:`svfri.geometry.ict_head.OPAQUE_PARTS`), so the glossy highlight a real eye has is missing.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import ndimage

from svfri.bake.rasterize import uv_to_texel
from svfri.bake.uv_resample import TileCorrespondence, push_pull_fill, resample, tile_correspondence
from svfri.geometry.ict_head import OPAQUE_PARTS, PART_NAMES
from svfri.geometry.ict_mesh import part_family
from svfri.io.mesh_io import ObjMaterial
from svfri.io.output_set import PLACEHOLDER_ALBEDO_SRGB, SKIN_MATERIAL, PartMaterial
from svfri.math.colorimetry import SRGB_TO_XYZ
from svfri.math.color import SKIN_F0, SKIN_INDEX_OF_REFRACTION, ior_to_f0, linear_to_srgb_np, srgb_to_linear_np

__all__ = ["PartSpec", "PartRecord", "PART_SPECS", "resample_skin_maps", "skin_correspondence",
           "default_part_records", "face_materials", "swatch_uv", "SWATCH_EDGE_TEXELS",
           "photo_part_records", "obj_materials", "asset_parts", "parts_json", "MIN_VISIBLE_PIXELS",
           "PART_TEXTURE_SIZE", "TEXTURE_FILL_RADIUS_TEXELS", "CORNEA_IOR", "ENAMEL_IOR"]

#: Index of refraction of the cornea / tear film over sclera and iris (Gullstrand's eye, 1.376).
CORNEA_IOR = 1.376
#: Index of refraction of tooth enamel (about 1.62).
ENAMEL_IOR = 1.62
#: Side of the sclera and iris textures, texels (an eye is ~10-40 work-image pixels across).
PART_TEXTURE_SIZE = 128
#: Unseen texels within this distance of a seen one are filled by push-pull; farther ones get the median.
TEXTURE_FILL_RADIUS_TEXELS = 12
#: A part's colour is measured from the photo only when at least this many of its pixels are visible.
MIN_VISIBLE_PIXELS = 12
#: Pixels whose albedo-1 diffuse radiance is below this fraction of the part's median are too dark to de-light.
MIN_DIFFUSE_FRACTION = 0.25
#: Pixels seen more grazing than this (``n . v``) are not used for the parts' colours.
MIN_VIEW_COSINE = 0.3
#: Rec. 709 / sRGB luminance weights (the Y row of :data:`svfri.math.colorimetry.SRGB_TO_XYZ`).
LUMINANCE_WEIGHTS = SRGB_TO_XYZ[1]


@dataclasses.dataclass(frozen=True)
class PartSpec:
    """How one part's material is made (module docstring): ``texture`` file name (``None``: a constant),
    ``ior`` (its specular), ``roughness`` (``None``: the skin's), ``default_srgb`` when the photo does not show it."""

    texture: str | None
    ior: float
    roughness: float | None
    default_srgb: tuple


#: Per opaque non-skin part. Roughness: wet sclera / iris 0.15, enamel 0.3, gums and tongue 0.35, sockets 0.5.
PART_SPECS = {
    "back_head": PartSpec(None, SKIN_INDEX_OF_REFRACTION, None, PLACEHOLDER_ALBEDO_SRGB),
    "mouth_socket": PartSpec(None, SKIN_INDEX_OF_REFRACTION, 0.5, (0.30, 0.10, 0.10)),
    "eye_socket_left": PartSpec(None, SKIN_INDEX_OF_REFRACTION, 0.5, (0.30, 0.15, 0.15)),
    "eye_socket_right": PartSpec(None, SKIN_INDEX_OF_REFRACTION, 0.5, (0.30, 0.15, 0.15)),
    "gums_tongue": PartSpec(None, SKIN_INDEX_OF_REFRACTION, 0.35, (0.65, 0.30, 0.30)),
    "teeth": PartSpec(None, ENAMEL_IOR, 0.3, (0.85, 0.80, 0.70)),
    "sclera_left": PartSpec("sclera.png", CORNEA_IOR, 0.15, (0.85, 0.80, 0.75)),
    "sclera_right": PartSpec("sclera.png", CORNEA_IOR, 0.15, (0.85, 0.80, 0.75)),
    "iris_left": PartSpec("iris.png", CORNEA_IOR, 0.15, (0.35, 0.25, 0.18)),
    "iris_right": PartSpec("iris.png", CORNEA_IOR, 0.15, (0.35, 0.25, 0.18)),
}


@dataclasses.dataclass
class PartRecord:
    """One part's material as written: ``texture`` file (or ``None``) and its image ``[S, S, 3]`` sRGB,
    ``albedo_srgb`` (the constant, or the texture's median), ``roughness``, ``specular`` (scale on skin F0),
    ``source`` (how it was made, for ``fit.json``)."""

    name: str
    texture: str | None
    image: np.ndarray | None
    albedo_srgb: tuple
    roughness: float
    specular: float
    source: str


def _specular_scale(ior: float) -> float:
    return ior_to_f0(ior) / SKIN_F0


# -------------------------------------------------------------------------------------------------------- skin
def skin_correspondence(geometry, size: int) -> TileCorrespondence:
    """Face-tile texels -> template UV and both tangent frames, at ``size`` (module docstring)."""
    ict = geometry.ict_mesh
    return tile_correspondence(ict.template_faces, ict.uv, ict.template_uv, ict.normals, geometry.tangents,
                               ict.template_tangents(), size=size)


def resample_skin_maps(geometry, maps: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], dict, np.ndarray]:
    """The fitted template-layout maps in ICT's face tile at the same sizes, a record for ``fit.json``, and per map
    the ``[S, S]`` bool texels the correspondence reached (the rest is push-pull fill)."""
    out, covered = {}, {}
    kinds = {"albedo": "colour", "specular": "scalar", "normal": "normal"}
    correspondences = {}
    for name, kind in kinds.items():
        size = int(maps[name].shape[0])
        if size not in correspondences:
            correspondences[size] = skin_correspondence(geometry, size)
        correspondence = correspondences[size]
        out[name] = resample(maps[name], correspondence, kind)
        if out[name].ndim == 2:
            out[name] = out[name][..., None]
        covered[name] = round(float(correspondence.covered.mean()), 4)
    record = {
        "network_layout": "svfri template disc (models/face_template.npz), where the networks were trained",
        "output_layout": "ICT face tile (u in [0, 1] of ICT's UVs, part 'face')",
        "correspondence": "each ICT face render vertex's closest point on the template surface placed on the ICT "
                          "neutral by the 468-point registration (svfri.geometry.ict_fit.ict_template_uv); "
                          "triangles with a corner off the template disc dropped",
        "network_input": "T = the photo unwrapped in the template layout through the ICT face vertices' template "
                         "UVs (mirror then inpainting, as in training)",
        "fit_pixels": "G-buffer pixels of face triangles with template UVs (every other pixel weight 0)",
        "maps": "per face-tile texel: template UV by barycentric interpolation, bilinear lookup (albedo in linear "
                "light), normal map re-expressed in the face tile's tangent frames",
        "covered_fraction": covered,
        "fill": "texels the correspondence does not reach (outside the template disc, empty tile corners) filled "
                "from the inside by push-pull; normals renormalised",
    }
    masks = {name: correspondences[int(maps[name].shape[0])].covered for name in kinds}
    return out, record, masks


# -------------------------------------------------------------------------------------------------------- parts
def default_part_records(skin_roughness: float) -> dict[str, PartRecord]:
    """Every non-skin part at its stated default (``svfri mesh``: no light was fitted to de-light the photo)."""
    records = {}
    for name, spec in PART_SPECS.items():
        records[name] = PartRecord(name, None, None, tuple(spec.default_srgb), float(spec.roughness or skin_roughness),
                                   _specular_scale(spec.ior), "default (no fit: svfri mesh)")
    return records


def _median_srgb(linear: np.ndarray) -> tuple:
    return tuple(float(x) for x in np.round(linear_to_srgb_np(np.clip(np.median(linear, axis=0), 0, 1)), 4))


def _part_texture(uv: np.ndarray, albedo_linear: np.ndarray, median_linear: np.ndarray, size: int) -> np.ndarray:
    """Splat per-pixel albedo at part UVs into a ``size^2`` texture, fill near holes by push-pull, far ones with
    the median (module docstring); sRGB ``[size, size, 3]``."""
    texel = np.floor(uv_to_texel(uv, size)).astype(np.int64)
    texel = np.clip(texel, 0, size - 1)
    flat = texel[:, 1] * size + texel[:, 0]
    total = np.zeros((size * size, 3))
    count = np.zeros(size * size)
    np.add.at(total, flat, albedo_linear)
    np.add.at(count, flat, 1.0)
    known = (count > 0).reshape(size, size)
    mean = (total / np.maximum(count, 1.0)[:, None]).reshape(size, size, 3)
    filled = push_pull_fill(mean, known)
    distance = ndimage.distance_transform_edt(~known)
    far = distance > TEXTURE_FILL_RADIUS_TEXELS
    filled[far] = median_linear
    return linear_to_srgb_np(np.clip(filled, 0.0, 1.0)).astype(np.float32)


def photo_part_records(geometry, light_sh: np.ndarray, skin_maps: dict[str, np.ndarray], skin_covered: dict,
                       skin_roughness: float) -> dict[str, PartRecord]:
    """The non-skin parts' materials de-lit from the photo under the fitted light (module docstring).

    ``skin_covered``: per map ``[S, S]`` bool, the texels the correspondence reached (the face median and mean run
    over those, not over the push-pull fill)."""
    records = default_part_records(skin_roughness)
    skin_linear = srgb_to_linear_np(skin_maps["albedo"][skin_covered["albedo"]].astype(np.float64))
    records["back_head"] = PartRecord("back_head", None, None, _median_srgb(skin_linear), float(skin_roughness),
                                      round(float(np.mean(skin_maps["specular"][skin_covered["specular"]])), 4),
                                      "face median albedo and mean specular of the resampled skin maps")
    g = geometry
    diffuse, specular = _white_shading(g, records, light_sh, skin_roughness)
    photo = srgb_to_linear_np(g.work_image.reshape(-1, 3)[g.gbuffer.pixel_index].astype(np.float64))
    pixel_part = g.face_part[g.gbuffer.triangle_id]
    facing = g.gbuffer.normal[:, 2] >= MIN_VIEW_COSINE
    for name, spec in PART_SPECS.items():
        if name == "back_head":
            continue
        # Parts sharing a texture (both eyes) pool their pixels.
        sharing = [n for n, s in PART_SPECS.items() if s.texture is not None and s.texture == spec.texture] or [name]
        pixels = np.isin(pixel_part, [PART_NAMES.index(n) for n in sharing]) & facing
        luminance = diffuse[pixels].mean(axis=1)
        usable = (luminance >= MIN_DIFFUSE_FRACTION * np.median(luminance)) if luminance.size else luminance > 0
        index = np.flatnonzero(pixels)[usable]
        if index.size < MIN_VISIBLE_PIXELS:
            records[name].source = f"default ({index.size} usable visible pixels < {MIN_VISIBLE_PIXELS})"
            continue
        # De-lit by the shading's luminance only: the fitted light's colour is confounded with the skin albedo's
        # (a warm light and a pale pink skin explain a photo alike), and dividing white sclera by a warm light
        # turned it blue (measured on obama_2012.jpg); the photo's own colour balance is kept instead.
        shading = np.maximum(diffuse[index] @ LUMINANCE_WEIGHTS, 1e-6)[:, None]
        albedo = np.clip((photo[index] - specular[index]) / shading, 0.0, 1.0)
        records[name].albedo_srgb = _median_srgb(albedo)
        if spec.texture is None:
            records[name].source = f"median de-lit photo colour of {index.size} visible pixels"
            continue
        records[name].texture = spec.texture
        records[name].image = _part_texture(g.gbuffer.uv[index].astype(np.float64), albedo, np.median(albedo, axis=0),
                                            PART_TEXTURE_SIZE)
        records[name].source = (f"de-lit photo unwrapped into the part's UV square from {index.size} visible "
                                "pixels (both eyes pooled), holes filled by push-pull near seen texels, the median "
                                "beyond")
    return records


def _white_shading(geometry, records: dict[str, PartRecord], light_sh: np.ndarray, skin_roughness: float
                   ) -> tuple[np.ndarray, np.ndarray]:
    """``(L_d1 (1 - E_s), L_s)`` per G-buffer pixel ``[N, 3]`` each: svfri's shader with albedo 1, each part's
    specular and roughness (skin: specular 1, flat normal), under the fitted SH light."""
    from svfri.render.materials import FLAT_NORMAL, atlas_gbuffer, build_atlas
    from svfri.render.shading import gbuffer_to_tensors, shade

    white = np.ones((1, 1, 3), np.float32)
    parts, face_material = asset_parts({name: dataclasses.replace(record, image=None, albedo_srgb=(1.0, 1.0, 1.0))
                                        for name, record in records.items()}, geometry.face_part)
    atlas = build_atlas(white, np.ones((1, 1, 1), np.float32), np.asarray(FLAT_NORMAL, np.float32).reshape(1, 1, 3),
                        skin_roughness, parts)
    shaded = shade(gbuffer_to_tensors(atlas_gbuffer(geometry.gbuffer, face_material, atlas)),
                   albedo_srgb_map=atlas.albedo_srgb, specular_map=atlas.specular, normal_map=atlas.normal,
                   light_sh=np.asarray(light_sh, np.float32), roughness=atlas.roughness)
    return shaded["diffuse"].numpy().astype(np.float64), shaded["specular"].numpy().astype(np.float64)


def swatch_uv(geometry, skin_maps: dict[str, np.ndarray], skin_covered: dict) -> np.ndarray:
    """The mesh's UVs with every ``back_head`` vertex moved onto one face-tile texel (the *swatch*): the covered
    texel, away from the disc's edge, whose albedo is nearest the face median (``back_head``'s constant) and whose
    normal is nearest flat. svfri renders ``back_head`` with its constant material whatever its UVs; a reader that
    knows only ``albedo.png`` / ``specular.png`` / ``normal.png`` (one texture set for the whole OBJ or glTF) then
    shows the back of the head in that colour instead of face texels at ICT's tile-1 coordinates. ``[n, 2]``."""
    albedo = srgb_to_linear_np(skin_maps["albedo"].astype(np.float64))
    size = albedo.shape[0]
    inside = ndimage.binary_erosion(skin_covered["albedo"], iterations=SWATCH_EDGE_TEXELS)
    if not inside.any():
        inside = skin_covered["albedo"]
    median = np.median(albedo[inside], axis=0)
    import cv2

    normal_z = 2.0 * np.asarray(skin_maps["normal"], np.float32)[..., 2] - 1.0
    tilt = 1.0 - cv2.resize(normal_z, (size, size), interpolation=cv2.INTER_NEAREST).astype(np.float64)
    cost = np.linalg.norm(albedo - median, axis=-1) + tilt
    cost[~inside] = np.inf
    row, column = np.unravel_index(int(np.argmin(cost)), cost.shape)
    uv = geometry.uv.copy()
    vertices = np.unique(geometry.faces[geometry.ict_mesh.part_triangles("back_head")])
    uv[vertices] = [(column + 0.5) / size, 1.0 - (row + 0.5) / size]
    return uv


#: The swatch texel keeps this many texels from the edge of the resampled area (bilinear taps stay inside).
SWATCH_EDGE_TEXELS = 4


# ----------------------------------------------------------------------------------------------- outputs
def _material_order() -> list[str]:
    return list(OPAQUE_PARTS)


def face_materials(face_part: np.ndarray) -> np.ndarray:
    """``[F]`` index into :func:`_material_order` (one material per opaque part) of each triangle."""
    order = _material_order()
    lookup = np.full(len(PART_NAMES), -1, np.int64)
    for k, name in enumerate(order):
        lookup[PART_NAMES.index(name)] = k
    return lookup[np.asarray(face_part, np.int64)]


def obj_materials(records: dict[str, PartRecord], skin_roughness: float, skin_textures: dict[str, str]
                  ) -> list[ObjMaterial]:
    """One :class:`ObjMaterial` per opaque part, in vertex-block order, grouped by part family."""
    materials = []
    for name in _material_order():
        if name == "face":
            materials.append(ObjMaterial(SKIN_MATERIAL, "skin", dict(skin_textures), roughness=skin_roughness))
            continue
        record, spec = records[name], PART_SPECS[name]
        textures = {"albedo": record.texture} if record.texture else {}
        linear = tuple(float(x) for x in srgb_to_linear_np(np.asarray(record.albedo_srgb, np.float64)))
        materials.append(ObjMaterial(name, part_family(name), textures, diffuse_linear=linear,
                                     roughness=record.roughness, ior=spec.ior))
    return materials


def asset_parts(records: dict[str, PartRecord], face_part: np.ndarray) -> tuple[tuple[PartMaterial, ...], np.ndarray]:
    """The parts as :class:`PartMaterial` and ``face_material [F]`` (0 = skin) for an in-memory asset."""
    parts, lookup = [], np.zeros(len(PART_NAMES), np.int64)
    for name in _material_order():
        if name == "face":
            continue
        record = records[name]
        image = record.image if record.image is not None else np.asarray(record.albedo_srgb, np.float32
                                                                         ).reshape(1, 1, 3)
        parts.append(PartMaterial(name, image, record.specular, record.roughness))
        lookup[PART_NAMES.index(name)] = len(parts)
    return tuple(parts), lookup[np.asarray(face_part, np.int64)]


def parts_json(records: dict[str, PartRecord], skin: dict) -> dict:
    """``fit.json``'s ``"parts"``: ``{part: {"material", "texture", "albedo_srgb", "roughness", "specular",
    "source"}}`` (``specular``: scale on skin F0; ``skin``: the face part's entry)."""
    out = {"face": {"material": SKIN_MATERIAL, **skin}}
    for name in _material_order():
        if name == "face":
            continue
        r = records[name]
        out[name] = {"material": name, "texture": r.texture, "albedo_srgb": [round(float(c), 4) for c in r.albedo_srgb],
                     "roughness": round(float(r.roughness), 4), "specular": round(float(r.specular), 4),
                     "source": r.source}
    return out
