"""``svfri export``: an output folder -> engine-ready files (glTF 2.0 ``.glb`` and/or OBJ + MTL + maps).

* ``glb``: ``face.glb`` (:mod:`svfri.io.gltf`): mesh in metres with normals, tangents and UVs, PBR material with
  embedded maps, svfri's specular F0 carried exactly by ``KHR_materials_specular`` + ``KHR_materials_ior``.
* ``obj``: ``face.obj`` + ``face.mtl`` (centimetres, as ``mesh.obj``) with its maps written beside it as
  ``face_albedo.png``, ``face_specular.png``, ``face_normal.png`` (and ``face_roughness.png`` when the folder has a
  roughness map), downscaled to ``texture_size`` when larger. The ``face_`` prefix keeps them from overwriting the
  folder's own maps when exporting into the folder itself.

The OBJ set is written all-or-nothing (:class:`svfri.io.staging.StagedOutput`); each file atomically.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np

from svfri.errors import UsageError
from svfri.io.gltf import (DEFAULT_TEXTURE_SIZE, GLB_FILE_NAME, folder_material, downscale_albedo, downscale_grey,
                           downscale_normal, write_glb)
from svfri.io.images import write_png
from svfri.io.mesh_io import write_obj
from svfri.io.staging import StagedOutput, check_writable_folder
from svfri.pipeline.folder_input import load_output_folder

__all__ = ["ExportSettings", "run_export", "EXPORT_FORMATS", "OBJ_STEM"]

#: ``--format`` choices.
EXPORT_FORMATS = ("glb", "obj", "both")
#: Stem of the exported OBJ, MTL and map files.
OBJ_STEM = "face"


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


def run_export(folder: str | Path, *, out: str | Path | None = None,
               settings: ExportSettings = ExportSettings()) -> dict:
    """Exports an output folder; returns ``{"files": [...], "notes": [...], "seconds": s}``.

    Args:
      folder: an output folder of ``svfri fit`` / ``svfri mesh`` (or any folder following the output contract).
      out: destination folder (default ``folder``); with ``format="glb"`` it may also be a ``.glb`` file name.

    Raises:
      InputError: ``folder`` is not an output set, or a file in it (a map, ``visibility.npz``) is unreadable.
      OutputError: the destination cannot be written.
      UsageError: a ``.glb`` name with ``format`` obj/both.
    """
    clock = time.perf_counter()
    folder = Path(folder)
    destination, glb_path = _destinations(folder, Path(out) if out is not None else None, settings.format)
    asset = load_output_folder(folder)
    roughness_map, specular_f0 = folder_material(folder)
    check_writable_folder(destination)
    files: list[Path] = []
    if settings.format in ("glb", "both"):
        files.append(write_glb(glb_path or destination / GLB_FILE_NAME, asset, texture_size=settings.texture_size,
                               roughness_map=roughness_map, specular_f0=specular_f0))
    if settings.format in ("obj", "both"):
        files += _write_obj_set(destination, asset, roughness_map, settings.texture_size)
    return {"files": [str(path) for path in files], "notes": list(asset.notes),
            "seconds": round(time.perf_counter() - clock, 3)}
