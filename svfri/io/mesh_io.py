"""Wavefront OBJ + MTL for the fitted mesh (positions in cm, UVs with t up, vertex normals).

The MTL is written for Blender's OBJ importer (the C++ importer of Blender 3.1+, ``obj_import_mtl.cc``), which
builds a Principled BSDF from:

* ``Kd`` -> Base Color (``1 1 1``, so that ``map_Kd`` is taken as is), ``map_Kd`` -> Base Color texture (sRGB);
* ``Ni`` -> IOR (skin, 1.4); ``Ks`` (mean) -> Specular (3.x) / Specular IOR Level (4.x), where 0.5 means "the F0 of
  the IOR" (0.0278 at 1.4, svfri's skin F0 within 1 %); ``map_Ks`` -> the same socket, fed with svfri's specular map
  (a scale on F0 = 0.028: in Blender that socket's 0.5 is already skin F0, so the raw map doubles F0 there; the glTF
  export carries the exact F0, see :mod:`svfri.io.gltf`);
* ``Pr`` -> Roughness (PBR extension, overrides ``Ns``; perceptual roughness, as svfri's), ``Pm`` -> Metallic (0),
  ``map_Pr`` -> Roughness texture; ``Ns = 1000 (1 - roughness)^2`` is Blender's own exporter's mapping, for readers
  without ``Pr``;
* ``map_Bump -bm 1`` -> a tangent-space Normal Map node (Blender reads ``map_Bump``/``bump`` as a normal map; it
  ignores ``norm``, which other readers such as three.js's MTLLoader and tinyobjloader use for normal maps).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from svfri.io.images import atomic_write_bytes
from svfri.math.color import SKIN_F0, SKIN_INDEX_OF_REFRACTION

__all__ = ["write_obj", "MTL_SKIN_IOR", "MTL_DEFAULT_ROUGHNESS", "BLENDER_NEUTRAL_SPECULAR", "NS_SCALE", "blender_ns"]

#: ``Ni`` written to the MTL: skin's index of refraction (:data:`svfri.math.color.SKIN_INDEX_OF_REFRACTION`).
MTL_SKIN_IOR = SKIN_INDEX_OF_REFRACTION
#: ``Pr`` when the caller gives no roughness (:data:`svfri.io.output_set.DEFAULT_ROUGHNESS`).
MTL_DEFAULT_ROUGHNESS = 0.45
#: ``Ks``: Blender's Specular / Specular IOR Level that leaves F0 at the IOR's own value.
BLENDER_NEUTRAL_SPECULAR = 0.5
#: Blender's exporter maps roughness r to ``Ns = NS_SCALE (1 - r)^2`` (and its importer inverts it).
NS_SCALE = 1000.0


def blender_ns(roughness: float) -> float:
    """Phong exponent ``Ns = 1000 (1 - r)^2`` for perceptual roughness ``r`` (Blender's OBJ exporter mapping)."""
    return NS_SCALE * (1.0 - float(roughness)) ** 2


def write_obj(path: str | Path, vertices: np.ndarray, faces: np.ndarray, uv: np.ndarray, normals: np.ndarray, *,
              material_name: str = "face", textures: dict[str, str] | None = None,
              roughness: float = MTL_DEFAULT_ROUGHNESS) -> None:
    """Writes ``path`` (``.obj``) and its ``.mtl`` beside it, atomically.

    Args:
      vertices: ``[V, 3]`` world-space positions (cm). faces: ``[F, 3]`` int, counter-clockwise seen from outside.
      uv: ``[V, 2]`` per-vertex texture coordinates. normals: ``[V, 3]`` unit vertex normals.
      textures: optional map file names relative to the OBJ: keys ``albedo``, ``specular``, ``normal``,
        ``roughness``.
      roughness: perceptual roughness in [0, 1] written as ``Pr`` (and ``Ns``).
    """
    path = Path(path)
    mtl_name = path.with_suffix(".mtl").name
    out = io.StringIO()
    out.write(f"# svfri fitted face mesh: {len(vertices)} vertices, {len(faces)} triangles, units cm, +Y up\n")
    out.write(f"mtllib {mtl_name}\n")
    np.savetxt(out, vertices, fmt="v %.6f %.6f %.6f")
    np.savetxt(out, uv, fmt="vt %.6f %.6f")
    np.savetxt(out, normals, fmt="vn %.6f %.6f %.6f")
    out.write(f"usemtl {material_name}\n")
    one_based = np.asarray(faces, dtype=np.int64) + 1
    triplets = np.repeat(one_based, 3, axis=1)  # v/vt/vn share indices
    np.savetxt(out, triplets, fmt="f %d/%d/%d %d/%d/%d %d/%d/%d")
    atomic_write_bytes(path, out.getvalue().encode())

    textures = textures or {}
    ks = BLENDER_NEUTRAL_SPECULAR
    mtl = [f"# svfri skin material: albedo sRGB; specular map = linear scale on F0 {SKIN_F0:g}; normal map tangent "
           "space, OpenGL +Y", f"newmtl {material_name}", "Ka 0 0 0", "Kd 1 1 1", f"Ks {ks:g} {ks:g} {ks:g}",
           f"Ns {blender_ns(roughness):.1f}", f"Ni {MTL_SKIN_IOR:g}", f"Pr {float(roughness):.4f}", "Pm 0", "d 1",
           "illum 2"]
    if "albedo" in textures:
        mtl.append(f"map_Kd {textures['albedo']}")
    if "specular" in textures:
        mtl.append(f"map_Ks {textures['specular']}")
    if "normal" in textures:
        mtl.append(f"norm {textures['normal']}")
        mtl.append(f"map_Bump -bm 1.0 {textures['normal']}")
    if "roughness" in textures:
        mtl.append(f"map_Pr {textures['roughness']}")
    atomic_write_bytes(path.with_suffix(".mtl"), ("\n".join(mtl) + "\n").encode())
