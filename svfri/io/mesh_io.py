"""Wavefront OBJ + MTL for the fitted mesh (positions in cm, UVs with t up, vertex normals), and reading svfri's
own OBJ files back.

One material (the template mesh) or one per part (the ICT head, :class:`ObjMaterial`): faces are written in groups
(``g``, the part family: skin / eyes / mouth) with a ``usemtl`` per part. Vertex, UV and normal indices are the same
number in every face corner (``f i/i/i``). With several materials, the vertices must come in contiguous blocks,
one per material, in material order, and faces are written **last material first**: trimesh 5 (``force="mesh"``)
concatenates per-material meshes in the reverse order of their first ``usemtl``, so written this way it reads the
vertices back in the file's order (tests/test_mesh_io.py checks it). :func:`read_obj` reads svfri's files exactly
(per-vertex UVs, per-face material names) without trimesh.

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

import dataclasses
import io
from pathlib import Path

import numpy as np

from svfri.io.images import atomic_write_bytes
from svfri.math.color import SKIN_F0, SKIN_INDEX_OF_REFRACTION

__all__ = ["write_obj", "read_obj", "ObjMaterial", "ObjMesh", "MTL_SKIN_IOR", "MTL_DEFAULT_ROUGHNESS", "BLENDER_NEUTRAL_SPECULAR", "NS_SCALE", "blender_ns"]

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


@dataclasses.dataclass(frozen=True)
class ObjMaterial:
    """One MTL material of a multi-material OBJ.

    Attributes:
      name: ``newmtl`` / ``usemtl`` name. group: the OBJ group (``g``) its faces are written under.
      textures: map file names relative to the OBJ (keys ``albedo``, ``specular``, ``normal``, ``roughness``).
      diffuse_linear: ``Kd``, linear RGB (Blender takes ``Kd`` as the linear Base Color; 1 1 1 under a ``map_Kd``).
      roughness: perceptual roughness (``Pr``, ``Ns``). ior: ``Ni`` (``Ks`` stays Blender's neutral 0.5: the F0 of
        that IOR).
    """

    name: str
    group: str = "face"
    textures: dict = dataclasses.field(default_factory=dict)
    diffuse_linear: tuple = (1.0, 1.0, 1.0)
    roughness: float = MTL_DEFAULT_ROUGHNESS
    ior: float = MTL_SKIN_IOR


@dataclasses.dataclass(frozen=True)
class ObjMesh:
    """An OBJ read by :func:`read_obj`: ``vertices [V, 3]``, ``faces [F, 3]`` (0-based), ``uv [V, 2]``,
    ``normals [V, 3]`` (float64), ``face_material [F]`` int index into ``material_names``."""

    vertices: np.ndarray
    faces: np.ndarray
    uv: np.ndarray
    normals: np.ndarray
    face_material: np.ndarray
    material_names: tuple


def _mtl_block(material: ObjMaterial) -> list[str]:
    kd = " ".join(f"{float(c):.6f}" for c in (material.diffuse_linear if "albedo" not in material.textures
                                               else (1.0, 1.0, 1.0)))
    ks = BLENDER_NEUTRAL_SPECULAR
    lines = [f"newmtl {material.name}", "Ka 0 0 0", f"Kd {kd}", f"Ks {ks:g} {ks:g} {ks:g}",
             f"Ns {blender_ns(material.roughness):.1f}", f"Ni {float(material.ior):g}",
             f"Pr {float(material.roughness):.4f}", "Pm 0", "d 1", "illum 2"]
    textures = material.textures
    lines.extend(_texture_lines(textures))
    return lines


def _texture_lines(textures: dict[str, str]) -> list[str]:
    """MTL lines for the maps in ``textures`` (keys ``albedo``, ``specular``, ``normal``, ``roughness``)."""
    lines = []
    if "albedo" in textures:
        lines.append(f"map_Kd {textures['albedo']}")
    if "specular" in textures:
        lines.append(f"map_Ks {textures['specular']}")
    if "normal" in textures:
        lines.append(f"norm {textures['normal']}")
        lines.append(f"map_Bump -bm 1.0 {textures['normal']}")
    if "roughness" in textures:
        lines.append(f"map_Pr {textures['roughness']}")
    return lines


def write_obj(path: str | Path, vertices: np.ndarray, faces: np.ndarray, uv: np.ndarray, normals: np.ndarray, *,
              material_name: str = "face", textures: dict[str, str] | None = None,
              roughness: float = MTL_DEFAULT_ROUGHNESS, materials: list[ObjMaterial] | None = None,
              face_material: np.ndarray | None = None) -> None:
    """Writes ``path`` (``.obj``) and its ``.mtl`` beside it, atomically.

    Args:
      vertices: ``[V, 3]`` world-space positions (cm). faces: ``[F, 3]`` int, counter-clockwise seen from outside.
      uv: ``[V, 2]`` per-vertex texture coordinates. normals: ``[V, 3]`` unit vertex normals.
      textures: optional map file names relative to the OBJ: keys ``albedo``, ``specular``, ``normal``,
        ``roughness``.
      roughness: perceptual roughness in [0, 1] written as ``Pr`` (and ``Ns``).
      materials, face_material: several materials (module docstring): ``face_material [F]`` indexes
        ``materials``; then ``material_name``, ``textures`` and ``roughness`` are not used.

    Raises:
      ValueError: with several materials, a vertex used by two materials or blocks out of material order.
    """
    if materials is not None:
        _write_multi_material(Path(path), vertices, faces, uv, normals, materials, face_material)
        return
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
    mtl.extend(_texture_lines(textures))
    atomic_write_bytes(path.with_suffix(".mtl"), ("\n".join(mtl) + "\n").encode())


def _write_multi_material(path: Path, vertices, faces, uv, normals, materials: list[ObjMaterial],
                          face_material) -> None:
    faces = np.asarray(faces, dtype=np.int64)
    face_material = np.asarray(face_material, dtype=np.int64)
    if face_material.shape != (len(faces),) or face_material.min() < 0 or face_material.max() >= len(materials):
        raise ValueError(f"face_material must be [{len(faces)}] indices into {len(materials)} materials")
    vertex_material = np.full(len(vertices), -1, dtype=np.int64)
    vertex_material[faces.reshape(-1)] = np.repeat(face_material, 3)
    corner_material = vertex_material[faces]
    if np.any(corner_material != face_material[:, None]):
        raise ValueError("a vertex is used by faces of two materials; duplicate it per material")
    used = vertex_material[vertex_material >= 0]
    if np.any(np.diff(used) < 0):
        raise ValueError("vertices must come in contiguous blocks in material order")
    mtl_name = path.with_suffix(".mtl").name
    out = io.StringIO()
    out.write(f"# svfri fitted head mesh: {len(vertices)} vertices, {len(faces)} triangles, units cm, +Y up, "
              f"{len(materials)} materials (faces written last material first, see svfri.io.mesh_io)\n")
    out.write(f"mtllib {mtl_name}\n")
    np.savetxt(out, vertices, fmt="v %.6f %.6f %.6f")
    np.savetxt(out, uv, fmt="vt %.6f %.6f")
    np.savetxt(out, normals, fmt="vn %.6f %.6f %.6f")
    group = None
    for index in range(len(materials) - 1, -1, -1):
        selected = faces[face_material == index]
        if not len(selected):
            continue
        material = materials[index]
        if material.group != group:
            out.write(f"g {material.group}\n")
            group = material.group
        out.write(f"usemtl {material.name}\n")
        np.savetxt(out, np.repeat(selected + 1, 3, axis=1), fmt="f %d/%d/%d %d/%d/%d %d/%d/%d")
    atomic_write_bytes(path, out.getvalue().encode())
    mtl = [f"# svfri head materials: albedo sRGB (Kd linear where there is no map_Kd); specular map = linear scale "
           f"on F0 {SKIN_F0:g}; normal map tangent space, OpenGL +Y"]
    for material in materials:
        mtl += _mtl_block(material)
    atomic_write_bytes(path.with_suffix(".mtl"), ("\n".join(mtl) + "\n").encode())


def read_obj(path: str | Path) -> ObjMesh | None:
    """Reads an OBJ whose face corners use one index for position, UV and normal (``f i/i/i``, as
    :func:`write_obj` writes), with per-face ``usemtl`` names; ``None`` for any other OBJ (a caller then uses a
    general reader). Faces with more than three corners are not read (``None``)."""
    vertices, uvs, normals, faces, materials, names = [], [], [], [], [], []
    current = -1
    with open(path, "r", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            tag, _, rest = line.partition(" ")
            if tag == "v":
                vertices.append(rest)
            elif tag == "vt":
                uvs.append(rest)
            elif tag == "vn":
                normals.append(rest)
            elif tag == "f":
                corners = rest.split()
                if len(corners) != 3:
                    return None
                indices = []
                for corner in corners:
                    fields = corner.split("/")
                    if len(fields) != 3 or not (fields[0] == fields[1] == fields[2]):
                        return None
                    indices.append(int(fields[0]) - 1)
                faces.append(indices)
                materials.append(current)
            elif tag == "usemtl":
                name = rest.strip()
                if name not in names:
                    names.append(name)
                current = names.index(name)
    if not vertices or not faces or not (len(vertices) == len(uvs) == len(normals)):
        return None

    def parse(rows, width):
        array = np.loadtxt(io.StringIO("".join(rows)), dtype=np.float64, ndmin=2)
        return array[:, :width]

    face_array = np.asarray(faces, dtype=np.int64)
    if face_array.min() < 0 or face_array.max() >= len(vertices):
        return None
    material_array = np.asarray(materials, dtype=np.int64)
    if (material_array < 0).any():
        names.append("default")
        material_array[material_array < 0] = len(names) - 1
    return ObjMesh(vertices=parse(vertices, 3), faces=face_array, uv=parse(uvs, 2), normals=parse(normals, 3),
                   face_material=material_array, material_names=tuple(names))
