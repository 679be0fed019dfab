"""Reading an output folder (the contract of docs/architecture.md, "Output contract") back as a renderable face asset.

Any folder that follows the contract works, not only svfri's own: ``mesh.obj`` (positions, UVs) and ``fit.json``
(``camera.world_to_pixel``, ``camera.image_width/height``) are required; the maps, ``visibility.npz``,
``lighting.json`` and the photo are optional. What is missing is replaced by something stated in
:attr:`FaceAsset.notes` (never silently): neutral placeholder maps, a fresh visibility bake.

A head with several parts (the ICT mesh: ``mesh.obj`` with one ``usemtl`` per part, ``fit.json``'s ``"parts"``)
loads as the skin maps (the face tile, the asset's own maps) plus one :class:`PartMaterial` per other material,
each a texture (``"texture"``, e.g. ``sclera.png``) or a constant sRGB albedo, with its own specular scale and
roughness; :attr:`FaceAsset.face_material` says which triangle uses which. svfri's own OBJ files are read exactly
(:func:`svfri.io.mesh_io.read_obj`); any other OBJ through trimesh, as one material.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from svfri.errors import InputError
from svfri.io.images import read_photo
from svfri.io.mesh_io import read_obj

__all__ = ["FaceAsset", "PartMaterial", "load_face_asset", "SKIN_MATERIAL", "PLACEHOLDER_ALBEDO_SRGB", "PLACEHOLDER_SPECULAR", "DEFAULT_ROUGHNESS",
           "PLACEHOLDER_MAP_SIZE"]

#: Placeholder albedo (sRGB) when ``albedo.png`` is absent: a mid skin tone (ITA ~ 30 deg, "intermediate").
PLACEHOLDER_ALBEDO_SRGB = (0.78, 0.60, 0.52)
#: Placeholder specular intensity (scale on skin F0) when ``specular.png`` is absent.
PLACEHOLDER_SPECULAR = 0.6
#: Perceptual roughness when ``fit.json`` gives none (skin, Weyrich et al. 2006 measured ~0.3-0.5).
DEFAULT_ROUGHNESS = 0.45
PLACEHOLDER_MAP_SIZE = 4
#: ``usemtl`` name of the skin (the face tile maps) in a multi-material ``mesh.obj``.
SKIN_MATERIAL = "face"


@dataclasses.dataclass(frozen=True)
class PartMaterial:
    """A non-skin material of a multi-part head: ``albedo_srgb [H, W, 3]`` (a texture in the part's own UV square,
    or ``[1, 1, 3]`` for a constant), ``specular`` (scale on skin's F0, :data:`svfri.math.color.SKIN_F0`) and
    perceptual ``roughness`` (constants over the part; its normal map is flat)."""

    name: str
    albedo_srgb: np.ndarray
    specular: float
    roughness: float


@dataclasses.dataclass(frozen=True)
class FaceAsset:
    """A face ready to render: mesh (world cm), maps (float in [0, 1]) and the photo's camera."""

    vertices: np.ndarray        # [V, 3]
    faces: np.ndarray           # [F, 3]
    uv: np.ndarray              # [V, 2]
    visibility_sh: np.ndarray | None   # [V, 9] or None (bake needed)
    bent_normal: np.ndarray | None     # [V, 3] world space, or None
    albedo_srgb: np.ndarray     # [Ha, Wa, 3] sRGB-encoded
    specular: np.ndarray        # [Hs, Ws, 1] linear
    normal_map: np.ndarray      # [Hn, Wn, 3] encoded tangent-space, OpenGL +Y
    roughness: float
    world_to_pixel: np.ndarray  # [3, 4] to photo pixels
    image_width: int
    image_height: int
    photo: np.ndarray | None    # [H, W, 3] float sRGB, when the input photo is still where fit.json says
    notes: tuple[str, ...]
    parts: tuple[PartMaterial, ...] = ()     # the non-skin materials
    face_material: np.ndarray | None = None  # [F] 0 = skin maps, k >= 1 = parts[k - 1]; None: all skin


def read_map(path: Path, channels: int) -> np.ndarray:
    """A map PNG as float ``[H, W, channels]`` in [0, 1] (``channels`` 1 or 3; alpha dropped)."""
    values = read_photo(path).to_float()
    return values[..., :1] if channels == 1 else values[..., :3]


def read_skin_maps(folder: Path, notes: list) -> dict[str, np.ndarray]:
    """``albedo`` / ``specular`` / ``normal`` maps of an output folder; a missing one is a constant placeholder
    (:data:`PLACEHOLDER_ALBEDO_SRGB`, :data:`PLACEHOLDER_SPECULAR`, flat normal) and a line in ``notes``."""
    maps = {}
    for name, channels, placeholder in (("albedo", 3, PLACEHOLDER_ALBEDO_SRGB), ("specular", 1, (PLACEHOLDER_SPECULAR,)),
                                        ("normal", 3, (0.5, 0.5, 1.0))):
        path = folder / f"{name}.png"
        if path.is_file():
            maps[name] = read_map(path, channels)
        else:
            maps[name] = np.broadcast_to(np.asarray(placeholder, np.float32),
                                         (PLACEHOLDER_MAP_SIZE, PLACEHOLDER_MAP_SIZE, channels)).copy()
            notes.append(f"no {name}.png: using a constant placeholder {name} map")
    return maps


def load_face_asset(folder: str | Path) -> FaceAsset:
    """Loads a folder that follows the output contract.

    Raises:
      InputError: the folder, ``mesh.obj`` or ``fit.json`` is missing or unreadable.
    """
    import trimesh

    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder; give the --out folder of `svfri mesh` or `svfri fit`")
    notes = []
    fit_path, mesh_path = folder / "fit.json", folder / "mesh.obj"
    for required in (fit_path, mesh_path):
        if not required.is_file():
            raise InputError(f"{folder}: {required.name} is missing; this is not a complete svfri output folder")
    try:
        fit = json.loads(fit_path.read_text())
        camera = fit["camera"]
        world_to_pixel = np.asarray(camera["world_to_pixel"], dtype=np.float64)
        width, height = int(camera["image_width"]), int(camera["image_height"])
        if world_to_pixel.shape != (3, 4):
            raise ValueError("world_to_pixel is not 3x4")
    except (ValueError, KeyError, TypeError) as error:
        raise InputError(f"{fit_path}: not a valid fit.json ({error})") from None
    obj = None
    try:
        obj = read_obj(mesh_path)
        if obj is not None:
            vertices, faces, uv = obj.vertices, obj.faces, obj.uv
        else:
            mesh = trimesh.load(mesh_path, process=False, force="mesh")
            vertices = np.asarray(mesh.vertices, dtype=np.float64)
            faces = np.asarray(mesh.faces, dtype=np.int64)
            uv = np.asarray(getattr(mesh.visual, "uv", None), dtype=np.float64)
        if uv.shape != (len(vertices), 2):
            raise ValueError("the mesh has no per-vertex UVs")
    except Exception as error:  # trimesh raises many types on bad files
        raise InputError(f"{mesh_path}: cannot be read as a UV-mapped triangle mesh ({error})") from None
    parts, face_material = (), None
    if obj is not None and len(obj.material_names) > 1:
        parts, face_material = _part_materials(folder, fit, obj, notes)

    maps = read_skin_maps(folder, notes)

    visibility_sh = bent_normal = None
    visibility_path = folder / "visibility.npz"
    if visibility_path.is_file():
        with np.load(visibility_path) as data:
            if "vertex_visibility_sh" in data and data["vertex_visibility_sh"].shape == (len(vertices), 9):
                visibility_sh = data["vertex_visibility_sh"].astype(np.float64)
                if "vertex_bent_normal" in data and data["vertex_bent_normal"].shape == (len(vertices), 3):
                    bent_normal = data["vertex_bent_normal"].astype(np.float64)
    if visibility_sh is None:
        notes.append("no usable visibility.npz: visibility baked anew")

    roughness = float(fit.get("material", {}).get("roughness", DEFAULT_ROUGHNESS))
    photo = None
    photo_path = Path(fit.get("input", ""))
    if photo_path.is_file():
        try:
            candidate = read_photo(photo_path)
            if (candidate.width, candidate.height) == (width, height):
                photo = candidate.to_float()
        except Exception:  # the photo is optional: a folder moved to another machine still relights
            photo = None
    return FaceAsset(vertices=vertices, faces=faces, uv=uv, visibility_sh=visibility_sh, bent_normal=bent_normal,
                     albedo_srgb=maps["albedo"],
                     specular=maps["specular"], normal_map=maps["normal"], roughness=roughness,
                     world_to_pixel=world_to_pixel, image_width=width, image_height=height, photo=photo,
                     notes=tuple(notes), parts=parts, face_material=face_material)


def _part_materials(folder: Path, fit: dict, obj, notes: list) -> tuple[tuple[PartMaterial, ...], np.ndarray]:
    """The non-skin materials of a multi-material ``mesh.obj`` from ``fit.json``'s ``"parts"`` (module docstring).

    A material ``fit.json`` does not describe renders with :data:`PLACEHOLDER_ALBEDO_SRGB` (stated in the notes)."""
    described = fit.get("parts", {}) if isinstance(fit.get("parts"), dict) else {}
    by_material = {}
    for part, entry in described.items():
        if isinstance(entry, dict):
            by_material.setdefault(entry.get("material", part), entry)
    parts, index_of = [], {}
    for k, name in enumerate(obj.material_names):
        if name == SKIN_MATERIAL:
            index_of[k] = 0
            continue
        entry = by_material.get(name)
        if entry is None:
            notes.append(f"material {name!r} of mesh.obj is not described in fit.json: rendered with the placeholder "
                         "albedo")
            entry = {"albedo_srgb": list(PLACEHOLDER_ALBEDO_SRGB)}
        albedo = None
        texture = entry.get("texture")
        if texture:
            path = folder / str(texture)
            if path.is_file():
                albedo = read_map(path, 3)
            else:
                notes.append(f"{texture} of material {name!r} is missing: its constant albedo is used")
        if albedo is None:
            albedo = np.asarray(entry.get("albedo_srgb", PLACEHOLDER_ALBEDO_SRGB), np.float32).reshape(1, 1, 3)
        parts.append(PartMaterial(name=name, albedo_srgb=albedo,
                                  specular=float(entry.get("specular", PLACEHOLDER_SPECULAR)),
                                  roughness=float(entry.get("roughness", DEFAULT_ROUGHNESS))))
        index_of[k] = len(parts)
    face_material = np.array([index_of[int(m)] for m in range(len(obj.material_names))], np.int64)[obj.face_material]
    return tuple(parts), face_material
