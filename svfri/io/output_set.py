"""Reading an output folder (the contract of docs/architecture.md, "Output contract") back as a renderable face asset.

Any folder that follows the contract works, not only svfri's own: ``mesh.obj`` (positions, UVs) and ``fit.json``
(``camera.world_to_pixel``, ``camera.image_width/height``) are required; the maps, ``visibility.npz``,
``lighting.json`` and the photo are optional. What is missing is replaced by something stated in
:attr:`FaceAsset.notes` (never silently): neutral placeholder maps, a fresh visibility bake.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from svfri.errors import InputError
from svfri.io.images import read_photo

__all__ = ["FaceAsset", "load_face_asset", "PLACEHOLDER_ALBEDO_SRGB", "PLACEHOLDER_SPECULAR", "DEFAULT_ROUGHNESS",
           "PLACEHOLDER_MAP_SIZE"]

#: Placeholder albedo (sRGB) when ``albedo.png`` is absent: a mid skin tone (ITA ~ 30 deg, "intermediate").
PLACEHOLDER_ALBEDO_SRGB = (0.78, 0.60, 0.52)
#: Placeholder specular intensity (scale on skin F0) when ``specular.png`` is absent.
PLACEHOLDER_SPECULAR = 0.6
#: Perceptual roughness when ``fit.json`` gives none (skin, Weyrich et al. 2006 measured ~0.3-0.5).
DEFAULT_ROUGHNESS = 0.45
PLACEHOLDER_MAP_SIZE = 4


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


def _read_map(path: Path, channels: int) -> np.ndarray:
    photo = read_photo(path)
    values = photo.to_float()
    return values[..., :1] if channels == 1 else values


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
    try:
        mesh = trimesh.load(mesh_path, process=False, force="mesh")
        vertices = np.asarray(mesh.vertices, dtype=np.float64)
        faces = np.asarray(mesh.faces, dtype=np.int64)
        uv = np.asarray(getattr(mesh.visual, "uv", None), dtype=np.float64)
        if uv.shape != (len(vertices), 2):
            raise ValueError("the mesh has no per-vertex UVs")
    except Exception as error:  # trimesh raises many types on bad files
        raise InputError(f"{mesh_path}: cannot be read as a UV-mapped triangle mesh ({error})") from None

    maps = {}
    for name, channels, placeholder in (("albedo", 3, PLACEHOLDER_ALBEDO_SRGB), ("specular", 1, (PLACEHOLDER_SPECULAR,)),
                                        ("normal", 3, (0.5, 0.5, 1.0))):
        path = folder / f"{name}.png"
        if path.is_file():
            maps[name] = _read_map(path, channels)
        else:
            maps[name] = np.broadcast_to(np.asarray(placeholder, np.float32),
                                         (PLACEHOLDER_MAP_SIZE, PLACEHOLDER_MAP_SIZE, channels)).copy()
            notes.append(f"no {name}.png: using a constant placeholder {name} map")

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
                     notes=tuple(notes))
