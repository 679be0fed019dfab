"""Wavefront OBJ + MTL for the fitted mesh (positions in cm, UVs with t up, vertex normals).

The MTL follows the conventions Blender's OBJ importer reads: ``map_Kd`` (sRGB base colour), ``map_Ks``
(specular), ``norm`` / ``map_Bump`` (tangent-space normal map, OpenGL +Y).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from svfri.io.images import atomic_write_bytes

__all__ = ["write_obj"]


def write_obj(path: str | Path, vertices: np.ndarray, faces: np.ndarray, uv: np.ndarray, normals: np.ndarray, *,
              material_name: str = "face", textures: dict[str, str] | None = None) -> None:
    """Writes ``path`` (``.obj``) and its ``.mtl`` beside it, atomically.

    Args:
      vertices: ``[V, 3]`` world-space positions (cm). faces: ``[F, 3]`` int, counter-clockwise seen from outside.
      uv: ``[V, 2]`` per-vertex texture coordinates. normals: ``[V, 3]`` unit vertex normals.
      textures: optional map file names relative to the OBJ: keys ``albedo``, ``specular``, ``normal``.
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
    mtl = [f"newmtl {material_name}", "Ka 0 0 0", "Kd 0.8 0.8 0.8", "Ks 0.04 0.04 0.04", "Ns 60", "d 1", "illum 2"]
    if "albedo" in textures:
        mtl.append(f"map_Kd {textures['albedo']}")
    if "specular" in textures:
        mtl.append(f"map_Ks {textures['specular']}")
    if "normal" in textures:
        mtl.append(f"norm {textures['normal']}")
        mtl.append(f"map_Bump -bm 1.0 {textures['normal']}")
    atomic_write_bytes(path.with_suffix(".mtl"), ("\n".join(mtl) + "\n").encode())
