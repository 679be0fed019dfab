"""``svfri export``: an output folder -> engine-ready files (glTF 2.0 ``.glb`` and/or OBJ + MTL + maps).

* ``glb``: ``face.glb`` (:mod:`svfri.io.gltf`): mesh in metres with normals, tangents and UVs, PBR material with
  embedded maps, svfri's specular F0 carried exactly by ``KHR_materials_specular`` + ``KHR_materials_ior``.
* ``obj``: ``face.obj`` + ``face.mtl`` (centimetres, as ``mesh.obj``) with its maps written beside it as
  ``face_albedo.png``, ``face_specular.png``, ``face_normal.png`` (and ``face_roughness.png`` when the folder has a
  roughness map), downscaled to ``texture_size`` when larger. The ``face_`` prefix keeps them from overwriting the
  folder's own maps when exporting into the folder itself.

A folder whose ``fit.json`` holds an ``"ict"`` block (fitted with the ICT-FaceKit head) exports the head instead
(:mod:`svfri.io.ict_export`): ``face.glb`` with a primitive and material per part and the 53 expression morphs
(:mod:`svfri.io.gltf_ict`); ``face.obj`` in the fitted pose (OBJ has no morphs), one object with a group per part
family (skin, eyes, mouth) and a material per part (:mod:`svfri.io.obj_parts`), the face's maps as above and
each textured part's map as ``face_<part>_albedo.png``.

The OBJ set is written all-or-nothing (:class:`svfri.io.staging.StagedOutput`); each file atomically.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from svfri.errors import UsageError
from svfri.geometry.ict_head import OPAQUE_PARTS
from svfri.io.gltf import (DEFAULT_TEXTURE_SIZE, GLB_FILE_NAME, SKIN_IOR, folder_material, downscale_albedo,
                           downscale_grey, downscale_normal, ior_to_f0, srgb_decode, write_glb)
from svfri.io.gltf_ict import write_ict_glb
from svfri.io.ict_export import IctExport, has_ict_fit, load_ict_export
from svfri.io.images import write_png
from svfri.io.mesh_io import BLENDER_NEUTRAL_SPECULAR, write_obj
from svfri.io.obj_parts import ObjMaterial, ObjPart, write_obj_parts
from svfri.io.staging import StagedOutput, check_writable_folder
from svfri.pipeline.folder_input import check_visibility_file, load_output_folder

__all__ = ["ExportSettings", "run_export", "is_ict_folder", "EXPORT_FORMATS", "OBJ_STEM", "EXPORT_FILE_NAMES"]

#: ``--format`` choices.
EXPORT_FORMATS = ("glb", "obj", "both")
#: Stem of the exported OBJ, MTL and map files.
OBJ_STEM = "face"
_MAP_KINDS = ("albedo", "specular", "normal", "roughness")
#: Every file name ``svfri export`` may write into a folder (for listings that must not take them as photos).
EXPORT_FILE_NAMES = frozenset({GLB_FILE_NAME, f"{OBJ_STEM}.obj", f"{OBJ_STEM}.mtl",
                               *(f"{OBJ_STEM}_{kind}.png" for kind in _MAP_KINDS),
                               *(f"{OBJ_STEM}_{part}_{kind}.png" for part in OPAQUE_PARTS for kind in _MAP_KINDS)})


@dataclasses.dataclass(frozen=True)
class ExportSettings:
    """``format``: one of :data:`EXPORT_FORMATS`; ``texture_size``: cap on map sides (0 keeps the maps' sizes)."""

    format: str = "glb"
    texture_size: int = DEFAULT_TEXTURE_SIZE

    def __post_init__(self):
        if self.format not in EXPORT_FORMATS:
            raise UsageError(f"--format must be one of {', '.join(EXPORT_FORMATS)}, got {self.format!r}")
        if self.texture_size < 0:
            raise UsageError(f"--texture-size must be positive, got {self.texture_size}")


def _destinations(folder: Path, out: Path | None, export_format: str) -> tuple[Path, Path | None]:
    """(output folder, explicit .glb path or None)."""
    if out is not None and out.suffix.lower() == ".glb":
        if export_format != "glb":
            raise UsageError(f"--out {out}: a .glb file name goes with --format glb; give a folder for obj/both")
        return out.parent, out
    return (out if out is not None else folder), None


def _write_obj_set(folder: Path, asset, roughness_map: np.ndarray | None, texture_size: int) -> list[Path]:
    from svfri.geometry.mesh_ops import vertex_normals

    names = {"albedo": f"{OBJ_STEM}_albedo.png", "specular": f"{OBJ_STEM}_specular.png",
             "normal": f"{OBJ_STEM}_normal.png"}
    if roughness_map is not None:
        names["roughness"] = f"{OBJ_STEM}_roughness.png"
    written = []
    with StagedOutput(folder) as stage:
        write_png(stage.path / names["albedo"], downscale_albedo(asset.albedo_srgb, texture_size))
        write_png(stage.path / names["specular"], downscale_grey(asset.specular[..., :1], texture_size)[..., 0])
        write_png(stage.path / names["normal"], downscale_normal(asset.normal_map, texture_size))
        if roughness_map is not None:
            write_png(stage.path / names["roughness"], downscale_grey(roughness_map, texture_size)[..., 0])
        write_obj(stage.path / f"{OBJ_STEM}.obj", asset.vertices, asset.faces, asset.uv,
                  vertex_normals(asset.vertices, asset.faces), material_name=f"{OBJ_STEM}_skin", textures=names,
                  roughness=asset.roughness)
        written = [folder / f"{OBJ_STEM}.obj", folder / f"{OBJ_STEM}.mtl"] + [folder / name for name in names.values()]
    return written


def _ict_obj_material(part, specular_f0: float, textures: dict[str, str]) -> ObjMaterial:
    """A part's material for the MTL: Blender's Specular IOR Level is linear in F0, 0.5 at the IOR's own F0."""
    material = part.material
    scale = 1.0 if material.specular_map is not None else material.specular_scale
    level = BLENDER_NEUTRAL_SPECULAR * scale * specular_f0 / ior_to_f0(SKIN_IOR)
    diffuse = (1.0, 1.0, 1.0) if "albedo" in textures else tuple(srgb_decode(np.asarray(
        material.albedo_factor_srgb, dtype=np.float64)).tolist())
    return ObjMaterial(name=f"{part.family}_{part.name}", diffuse_linear=diffuse, roughness=material.roughness,
                       specular_level=level, ior=SKIN_IOR, textures=textures)


def _write_ict_obj_set(folder: Path, export: IctExport, texture_size: int) -> list[Path]:
    """``face.obj`` / ``face.mtl`` of the fitted head (fitted pose, cm) and the maps its materials name."""
    parts, materials, maps = [], [], {}
    for part in export.parts:
        material = part.material
        prefix = OBJ_STEM if part.name == "face" else f"{OBJ_STEM}_{part.name}"
        textures = {}
        if material.albedo_srgb is not None:
            textures["albedo"] = f"{prefix}_albedo.png"
            maps[textures["albedo"]] = downscale_albedo(material.albedo_srgb, texture_size)
        if material.specular_map is not None:
            textures["specular"] = f"{prefix}_specular.png"
            maps[textures["specular"]] = downscale_grey(material.specular_map, texture_size)[..., 0]
        if material.normal_map is not None:
            textures["normal"] = f"{prefix}_normal.png"
            maps[textures["normal"]] = downscale_normal(material.normal_map, texture_size)
        if material.roughness_map is not None:
            textures["roughness"] = f"{prefix}_roughness.png"
            maps[textures["roughness"]] = downscale_grey(material.roughness_map, texture_size)[..., 0]
        materials.append(_ict_obj_material(part, export.specular_f0, textures))
        parts.append(ObjPart(group=part.family, material=materials[-1].name, vertices=part.fitted_positions,
                             uv=part.uv, normals=part.fitted_normals, faces=part.faces))
    order = {"skin": 0, "eyes": 1, "mouth": 2}
    parts.sort(key=lambda part: order[part.group])  # one g statement per family
    with StagedOutput(folder) as stage:
        for name, image in maps.items():
            write_png(stage.path / name, image)
        write_obj_parts(stage.path / f"{OBJ_STEM}.obj", parts, materials, object_name="ict_head",
                        header="svfri fitted ICT head in the photo's expression: units cm, +Y up, face along +Z; "
                               "morphs (blendshapes) are in face.glb")
    return [folder / f"{OBJ_STEM}.obj", folder / f"{OBJ_STEM}.mtl"] + [folder / name for name in maps]


def is_ict_folder(folder: Path) -> bool:
    """Whether ``folder``'s ``fit.json`` reads and describes an ICT-head fit (anything else takes the face-disc path,
    which reports a missing or broken ``fit.json``)."""
    try:
        return has_ict_fit(json.loads((Path(folder) / "fit.json").read_text()))
    except (OSError, ValueError, UnicodeDecodeError):
        return False


def run_export(folder: str | Path, *, out: str | Path | None = None,
               settings: ExportSettings = ExportSettings()) -> dict:
    """Exports an output folder; returns ``{"files": [...], "notes": [...], "seconds": s}``.

    Args:
      folder: an output folder of ``svfri fit`` / ``svfri mesh`` (or any folder following the output contract);
        one fitted with the ICT head (``"ict"`` in ``fit.json``) exports the animatable head.
      out: destination folder (default ``folder``); with ``format="glb"`` it may also be a ``.glb`` file name.

    Raises:
      InputError: ``folder`` is not an output set, or a file in it (a map, ``visibility.npz``) is unreadable, or
        its ``"ict"`` block does not fit the ICT model.
      OutputError: the destination cannot be written.
      UsageError: a ``.glb`` name with ``format`` obj/both.
    """
    clock = time.perf_counter()
    folder = Path(folder)
    destination, glb_path = _destinations(folder, Path(out) if out is not None else None, settings.format)
    files: list[Path] = []
    if is_ict_folder(folder):
        if (folder / "visibility.npz").is_file():  # not exported, but a damaged folder is refused as a whole
            check_visibility_file(folder / "visibility.npz")
        export = load_ict_export(folder)
        check_writable_folder(destination)
        if settings.format in ("glb", "both"):
            files.append(write_ict_glb(glb_path or destination / GLB_FILE_NAME, export,
                                       texture_size=settings.texture_size))
        if settings.format in ("obj", "both"):
            files += _write_ict_obj_set(destination, export, settings.texture_size)
        notes = list(export.notes)
    else:
        asset = load_output_folder(folder)
        roughness_map, specular_f0 = folder_material(folder)
        check_writable_folder(destination)
        if settings.format in ("glb", "both"):
            files.append(write_glb(glb_path or destination / GLB_FILE_NAME, asset,
                                   texture_size=settings.texture_size, roughness_map=roughness_map,
                                   specular_f0=specular_f0))
        if settings.format in ("obj", "both"):
            files += _write_obj_set(destination, asset, roughness_map, settings.texture_size)
        notes = list(asset.notes)
    return {"files": [str(path) for path in files], "notes": notes, "seconds": round(time.perf_counter() - clock, 3)}
