"""Wavefront OBJ + MTL of a mesh made of parts: one object, a group per part family, a material per part.

For the ICT head (:mod:`svfri.io.ict_export`), read by Blender's OBJ importer (``File > Import > Wavefront``) as
one object with one material slot per part. The MTL statements are those of the single-material writer
(:mod:`svfri.io.mesh_io`, whose docstring says what Blender makes of each): ``Kd`` (Base Color, **linear**, as
Blender's own OBJ exporter writes it; ``1 1 1`` under a ``map_Kd``), ``Ks`` (Specular / Specular IOR Level: 0.5
= the F0 of the IOR), ``Ns`` / ``Pr`` / ``Pm`` (roughness, metallic 0), ``Ni`` (IOR), ``map_Kd`` (sRGB),
``map_Ks``, ``norm`` + ``map_Bump -bm 1`` (tangent-space normal map), ``map_Pr``.

Positions in the caller's unit (svfri: centimetres), UVs with ``t`` up, unit vertex normals; each part's
vertices are its own (``v/vt/vn`` share indices), triangles counter-clockwise seen from outside.
"""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import numpy as np

from svfri.io.images import atomic_write_bytes
from svfri.io.mesh_io import blender_ns

__all__ = ["ObjMaterial", "ObjPart", "write_obj_parts"]


@dataclasses.dataclass(frozen=True)
class ObjMaterial:
    """One MTL material.

    Attributes:
      name: the ``newmtl`` name.
      diffuse_linear: ``Kd``, linear RGB in [0, 1] (``(1, 1, 1)`` when ``textures`` has an albedo map).
      roughness: perceptual roughness in [0, 1] (``Pr``, and ``Ns`` for readers without ``Pr``).
      specular_level: ``Ks``, Blender's Specular IOR Level (0.5 = the F0 of ``ior``, linear in F0), in [0, 1].
      ior: ``Ni``.
      textures: map file names relative to the OBJ, keys ``albedo``, ``specular``, ``normal``, ``roughness``.
    """

    name: str
    diffuse_linear: tuple[float, float, float]
    roughness: float
    specular_level: float
    ior: float
    textures: dict[str, str] = dataclasses.field(default_factory=dict)

    def mtl_lines(self) -> list[str]:
        kd = " ".join(f"{float(np.clip(v, 0.0, 1.0)):.6f}" for v in self.diffuse_linear)
        ks = float(np.clip(self.specular_level, 0.0, 1.0))
        lines = [f"newmtl {self.name}", "Ka 0 0 0", f"Kd {kd}", f"Ks {ks:.6f} {ks:.6f} {ks:.6f}",
                 f"Ns {blender_ns(self.roughness):.1f}", f"Ni {self.ior:g}", f"Pr {float(self.roughness):.4f}",
                 "Pm 0", "d 1", "illum 2"]
        statements = {"albedo": ("map_Kd",), "specular": ("map_Ks",), "normal": ("norm", "map_Bump -bm 1.0"),
                      "roughness": ("map_Pr",)}
        for key, keywords in statements.items():
            if key in self.textures:
                lines += [f"{keyword} {self.textures[key]}" for keyword in keywords]
        return lines


@dataclasses.dataclass(frozen=True)
class ObjPart:
    """One part: ``vertices [n, 3]``, ``uv [n, 2]`` (``t`` up), ``normals [n, 3]`` unit, ``faces [F, 3]`` into them;
    ``group`` its ``g`` name (the part family), ``material`` the ``usemtl`` name."""

    group: str
    material: str
    vertices: np.ndarray
    uv: np.ndarray
    normals: np.ndarray
    faces: np.ndarray


def write_obj_parts(path: str | Path, parts: list[ObjPart], materials: list[ObjMaterial], *, object_name: str,
                    header: str) -> None:
    """Writes ``path`` (``.obj``) and its ``.mtl`` beside it, each atomically.

    Args:
      parts: written in order; consecutive parts of one ``group`` share one ``g`` statement.
      materials: every material a part names (each written once).
      object_name: the ``o`` name (Blender's object name).
      header: one comment line for the top of both files (units, frame).

    Raises:
      ValueError: a part names a material that is not given, or its arrays disagree in length.
      OutputError: a file cannot be written.
    """
    path = Path(path)
    names = {material.name for material in materials}
    out = io.StringIO()
    out.write(f"# {header}\n")
    out.write(f"mtllib {path.with_suffix('.mtl').name}\no {object_name}\n")
    offset, group = 1, None
    for part in parts:
        vertices, uv, normals = (np.asarray(a, dtype=np.float64) for a in (part.vertices, part.uv, part.normals))
        if part.material not in names or not len(vertices) == len(uv) == len(normals):
            raise ValueError(f"part {part.group}/{part.material}: unknown material or arrays of unequal length")
        if part.group != group:
            out.write(f"g {part.group}\n")
            group = part.group
        np.savetxt(out, vertices, fmt="v %.6f %.6f %.6f")
        np.savetxt(out, uv, fmt="vt %.6f %.6f")
        np.savetxt(out, normals, fmt="vn %.6f %.6f %.6f")
        out.write(f"usemtl {part.material}\n")
        np.savetxt(out, np.repeat(np.asarray(part.faces, dtype=np.int64) + offset, 3, axis=1),
                   fmt="f %d/%d/%d %d/%d/%d %d/%d/%d")
        offset += len(vertices)
    atomic_write_bytes(path, out.getvalue().encode())
    mtl = [f"# {header}"]
    for material in materials:
        mtl += material.mtl_lines() + [""]
    atomic_write_bytes(path.with_suffix(".mtl"), "\n".join(mtl).encode())
