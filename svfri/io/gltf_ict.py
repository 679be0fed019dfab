"""glTF 2.0 binary of the fitted ICT head: one mesh, a primitive and material per part, 53 named expression morphs.

The content is :class:`svfri.io.ict_export.IctExport`; the container :mod:`svfri.io.glb`; materials, texture
rules and the axes are those of the face-disc writer (:mod:`svfri.io.gltf`, ``docs/export.md``): metres, svfri's
world frame (= glTF's: ``+Y`` up, the face looking along ``+Z``), ``TEXCOORD_0 = (u - tile, 1 - t)``, tangents
with ``B = w cross(N, T)``, dielectric materials with ``KHR_materials_specular`` + ``KHR_materials_ior``.

Morphs (glTF 2.0 specification, section 3.7.2.2, "Morph Targets"):

* every primitive carries the same 53 targets, in :attr:`IctExport.expression_names` order (glTF requires the
  same number on each primitive of a mesh), each ``{"POSITION": delta (m), "NORMAL": delta}``;
* ``mesh.extras.targetNames`` holds the ARKit names (read by three.js's GLTFLoader into
  ``morphTargetDictionary`` and by Blender's importer into shape-key names);
* ``mesh.weights`` = the fitted expression, so the file's default pose is the photo's and all weights 0 the
  neutral face of the same person;
* **sparse** targets (default): a target stores only the vertices whose displacement exceeds
  :data:`POSITION_DELTA_FLOOR_M` (normal change :data:`NORMAL_DELTA_FLOOR`), as a sparse accessor over zeros; a
  target that moves nothing on a part (the eyeballs: ICT's eye-look shapes move the lids, not the eyes) is an
  accessor of zeros without data. ``sparse=False`` stores every vertex of every target (no floor).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from svfri.io.gltf import (CENTIMETRES_PER_METRE, DEFAULT_TEXTURE_SIZE, GLB_FILE_NAME, glb_texcoords, new_builder,
                           pbr_material)
from svfri.io.glb import ELEMENT_ARRAY_BUFFER, TRIANGLES, GlbBuilder, index_component
from svfri.io.ict_export import IctExport, IctPart, load_ict_export
from svfri.io.images import atomic_write_bytes

__all__ = ["ict_glb_bytes", "write_ict_glb", "write_ict_glb_from_folder", "POSITION_DELTA_FLOOR_M",
           "NORMAL_DELTA_FLOOR", "MESH_NAME"]

#: A sparse target leaves out vertices displaced by less than this at weight 1: 0.01 mm, the float16 storage
#: error of the model's largest expression-mode entries (``models/ict_head.md``), so nothing the model resolves
#: is dropped. The sum over all 53 targets at weight 1 therefore differs from the model by < 0.53 mm at most.
POSITION_DELTA_FLOOR_M = 1e-5
#: ... and normals that change by less than this (a unit-vector difference: 0.06 degrees).
NORMAL_DELTA_FLOOR = 1e-3
#: Name of the node and mesh.
MESH_NAME = "ict_head"


def _target_accessor(builder: GlbBuilder, deltas: np.ndarray, floor: float, *, sparse: bool, bounds: bool,
                     zero_cache: dict) -> int:
    """One morph-target attribute ``[n, 3]``: sparse above ``floor``, zeros without data, or dense."""
    if not sparse:
        return builder.add_accessor(deltas, with_bounds=bounds)
    moving = np.flatnonzero(np.linalg.norm(deltas, axis=-1) > floor)
    if len(moving) == 0:
        key = (len(deltas), bounds)
        if key not in zero_cache:
            zero_cache[key] = builder.add_zero_accessor(len(deltas), 3, with_bounds=bounds)
        return zero_cache[key]
    return builder.add_sparse_accessor(len(deltas), moving, deltas[moving], with_bounds=bounds)


def _material(builder: GlbBuilder, part: IctPart, specular_f0: float, texture_size: int | None) -> int:
    material = part.material
    return pbr_material(builder, f"{part.family}_{part.name}", specular_f0=specular_f0, roughness=material.roughness,
                        albedo_srgb=material.albedo_srgb, albedo_factor_srgb=material.albedo_factor_srgb,
                        normal_map=material.normal_map, specular_map=material.specular_map,
                        specular_scale=material.specular_scale, roughness_map=material.roughness_map,
                        texture_size=texture_size, extras={"part": part.name, "source": material.source})


def _primitive(builder: GlbBuilder, part: IctPart, material: int, *, sparse: bool) -> dict:
    textured = any(m is not None for m in (part.material.albedo_srgb, part.material.normal_map,
                                          part.material.specular_map, part.material.roughness_map))
    attributes = {"POSITION": builder.add_accessor(part.positions / CENTIMETRES_PER_METRE, with_bounds=True),
                  "NORMAL": builder.add_accessor(part.normals)}
    if part.material.normal_map is not None:
        attributes["TANGENT"] = builder.add_accessor(part.tangents)
    if textured:
        attributes["TEXCOORD_0"] = builder.add_accessor(glb_texcoords(part.uv))
    zero_cache: dict = {}
    targets = [{"POSITION": _target_accessor(builder, position / CENTIMETRES_PER_METRE,
                                             POSITION_DELTA_FLOOR_M, sparse=sparse, bounds=True,
                                             zero_cache=zero_cache),
                "NORMAL": _target_accessor(builder, normal, NORMAL_DELTA_FLOOR, sparse=sparse, bounds=False,
                                           zero_cache=zero_cache)}
               for position, normal in zip(part.position_deltas, part.normal_deltas)]
    indices = builder.add_accessor(part.faces.reshape(-1), component=index_component(len(part.positions)),
                                   target=ELEMENT_ARRAY_BUFFER)
    return {"attributes": attributes, "indices": indices, "material": material, "mode": TRIANGLES,
            "targets": targets, "extras": {"part": part.name, "family": part.family}}


def ict_glb_bytes(export: IctExport, *, texture_size: int | None = DEFAULT_TEXTURE_SIZE, sparse: bool = True) -> bytes:
    """The fitted ICT head as a glTF 2.0 binary (module docstring: what goes where).

    Args:
      export: the head (:func:`svfri.io.ict_export.load_ict_export` or :func:`~svfri.io.ict_export.build_ict_export`).
      texture_size: cap on the side of embedded maps (``None`` or 0: keep their size).
      sparse: sparse morph targets (default) or dense ones.

    Returns:
      The ``.glb`` file contents.
    """
    builder = new_builder()
    document = builder.document
    document.update({"scene": 0, "scenes": [{"name": MESH_NAME, "nodes": [0]}],
                     "nodes": [{"name": MESH_NAME, "mesh": 0}]})
    primitives = [_primitive(builder, part, _material(builder, part, export.specular_f0, texture_size), sparse=sparse)
                  for part in export.parts]
    document["meshes"].append({
        "name": MESH_NAME, "primitives": primitives,
        "weights": [float(weight) for weight in export.expression],
        "extras": {"targetNames": list(export.expression_names),
                   "svfri": {"model": "ICT-FaceKit light (MIT licence), svfri's ict_head.npz",
                             "weights": "the fitted expression (the photo); all 0 = neutral expression",
                             "identity": [round(float(v), 6) for v in export.identity],
                             "rotation_model_to_world": np.round(export.rotation, 9).tolist(),
                             "sparse_targets": bool(sparse), "notes": list(export.notes)}}})
    return builder.glb()


def write_ict_glb(path: str | Path, export: IctExport, *, texture_size: int | None = DEFAULT_TEXTURE_SIZE,
                  sparse: bool = True) -> Path:
    """Writes :func:`ict_glb_bytes` to ``path`` atomically; :class:`OutputError` if it cannot be written."""
    path = Path(path)
    atomic_write_bytes(path, ict_glb_bytes(export, texture_size=texture_size, sparse=sparse))
    return path


def write_ict_glb_from_folder(folder: str | Path, *, out: str | Path | None = None,
                              texture_size: int | None = DEFAULT_TEXTURE_SIZE) -> Path:
    """Writes ``folder/face.glb`` (or ``out``) from an ICT-head output folder (or a staging folder holding one).

    Raises:
      InputError: no ``fit.json`` with a valid ``"ict"`` block, or a map / part texture unreadable.
      OutputError: the file cannot be written.
    """
    folder = Path(folder)
    return write_ict_glb(Path(out) if out is not None else folder / GLB_FILE_NAME, load_ict_export(folder),
                         texture_size=texture_size)
