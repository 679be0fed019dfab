"""The fitted ICT head as svfri's mesh: the opaque render mesh posed in svfri's world, its parts and UV sets.

From one photo's :class:`~svfri.geometry.ict_fit.IctFit` (:func:`build_ict_mesh`):

* **Vertices**: the fitted shape ``fit.shape(head)`` (ICT cm) posed into svfri's world, ``world = R x``
  (:meth:`~svfri.geometry.ict_fit.IctFit.to_world`); the camera is ``fit.world_to_pixel`` (scaled orthographic,
  work-image pixels). World origin and size are the fitted head's (see :mod:`svfri.geometry.ict_fit`).
* **Triangles**: the parts of :data:`~svfri.geometry.ict_head.OPAQUE_PARTS` (face with ears, back of the head and
  neck, mouth and eye sockets, gums and tongue, teeth, sclera and iris of both eyes), on ICT's render vertices
  (one per (vertex, UV) pair), compacted to the vertices those triangles use. ``face_part [F]`` indexes
  :data:`~svfri.geometry.ict_head.PART_NAMES`.
* **Normals** are area-weighted over the opaque triangles on *model* vertices (so UV seams do not crease them), then
  expanded to the render vertices.
* **UV sets** per vertex:

  - ``uv``: each part's own texture coordinate, ``u - tile`` in ``[0, 1]``
    (:meth:`~svfri.geometry.ict_head.IctHead.part_uv`): the **face tile** for the face part (the output layout of
    ``albedo.png`` / ``specular.png`` / ``normal.png``), ICT's eye texture square for sclera and iris (shared by
    both eyes: their UVs overlap), and so on;
  - ``template_uv``: svfri's template (network-layout) UV of each face vertex inside the template disc
    (:func:`~svfri.geometry.ict_fit.ict_template_uv`), NaN elsewhere; :attr:`IctMesh.template_faces` are the
    face triangles whose three corners have one (the fit's and the network input's triangles).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from svfri.geometry import mesh_ops
from svfri.geometry.ict_fit import IctFit, ict_template_uv
from svfri.geometry.ict_head import FACE_TILE, OPAQUE_PARTS, PART_NAMES, IctHead

__all__ = ["IctMesh", "build_ict_mesh", "PART_FAMILIES", "part_family", "face_texel_density"]

#: Part families: the OBJ groups and the materials' grouping (skin / eyes / mouth).
PART_FAMILIES = {
    "skin": ("face", "back_head", "eye_socket_left", "eye_socket_right"),
    "eyes": ("sclera_left", "iris_left", "sclera_right", "iris_right"),
    "mouth": ("mouth_socket", "gums_tongue", "teeth"),
}


def part_family(part: str) -> str:
    """The family (:data:`PART_FAMILIES`) of an opaque part name."""
    for family, parts in PART_FAMILIES.items():
        if part in parts:
            return family
    raise ValueError(f"{part!r} is not an opaque ICT part ({OPAQUE_PARTS})")


@dataclasses.dataclass(frozen=True, eq=False)
class IctMesh:
    """The posed opaque ICT render mesh of one photo (module docstring). Positions world cm.

    Attributes:
      render_ids: ``[n]`` int32 ICT render vertex of each vertex.
      model_vertex: ``[n]`` int32 ICT model vertex of each vertex.
      vertices: ``[n, 3]`` float64 world positions, cm.
      normals: ``[n, 3]`` float64 unit vertex normals.
      faces: ``[F, 3]`` int32 triangles (counter-clockwise seen from outside).
      face_part: ``[F]`` int32 index into :data:`PART_NAMES`.
      uv: ``[n, 2]`` float64 per-part texture coordinates (``u - tile``), ``t`` up.
      template_uv: ``[n, 2]`` float64 template UVs, NaN off the template disc.
      landmarks_world: ``[68, 3]`` float64 ICT's 68 landmark vertices, world cm.
    """

    render_ids: np.ndarray
    model_vertex: np.ndarray
    vertices: np.ndarray
    normals: np.ndarray
    faces: np.ndarray
    face_part: np.ndarray
    uv: np.ndarray
    template_uv: np.ndarray
    landmarks_world: np.ndarray

    def part_triangles(self, names: str | tuple[str, ...]) -> np.ndarray:
        """``[F]`` bool: triangles of the named part(s)."""
        names = (names,) if isinstance(names, str) else tuple(names)
        return np.isin(self.face_part, [PART_NAMES.index(name) for name in names])

    @property
    def template_triangles(self) -> np.ndarray:
        """``[F]`` bool: face-part triangles whose three corners have a template UV."""
        return self.part_triangles("face") & np.isfinite(self.template_uv[self.faces]).all(axis=(1, 2))

    @property
    def template_faces(self) -> np.ndarray:
        """``[F_t, 3]`` the triangles of :attr:`template_triangles`."""
        return self.faces[self.template_triangles]

    def tangents(self) -> np.ndarray:
        """``[n, 4]`` glTF tangents of :attr:`uv` (the output maps' frames; per part's own UVs)."""
        return mesh_ops.vertex_tangents(self.vertices, self.faces, self.uv, self.normals)

    def template_tangents(self) -> np.ndarray:
        """``[n, 4]`` glTF tangents of :attr:`template_uv` from the template triangles (the networks' normal-map
        frames); vertices off the disc get an arbitrary frame (they carry no template-layout map)."""
        uv = np.nan_to_num(self.template_uv, nan=0.0)
        return mesh_ops.vertex_tangents(self.vertices, self.template_faces, uv, self.normals)


def build_ict_mesh(head: IctHead, fit: IctFit) -> IctMesh:
    """Poses the fitted ICT shape into svfri's world and compacts the opaque render mesh (module docstring).

    Vertices are ordered by part (the order of :data:`~svfri.geometry.ict_head.OPAQUE_PARTS`), and a render vertex
    used by two parts (e.g. on the limbus, where sclera and iris meet with the same UV) is duplicated, one copy per
    part: every vertex belongs to exactly one part, so one part = one material = one contiguous block of vertices
    (what per-material OBJ readers need, :func:`svfri.io.mesh_io.write_obj`).
    """
    model_world = fit.to_world(fit.shape(head))                                       # [V, 3] world cm
    model_normals = head.vertex_normals(model_world, OPAQUE_PARTS)                   # [V, 3]
    opaque = head.part_mask(OPAQUE_PARTS)
    corners = head.render_faces[opaque].astype(np.int64)                               # [F, 3] render vertices
    face_part = head.face_part[opaque].astype(np.int64)
    part_count = len(PART_NAMES)
    keys = corners * part_count + face_part[:, None]                                  # (render vertex, part)
    order = np.argsort(face_part, kind="stable")                                      # triangles by part
    unique_keys, first, inverse = np.unique(keys[order].reshape(-1), return_index=True, return_inverse=True)
    by_first_use = np.argsort(first)          # triangles are sorted by part, so first use groups vertices by part
    rank = np.empty_like(by_first_use)
    rank[by_first_use] = np.arange(len(by_first_use))
    faces = np.empty((len(keys), 3), dtype=np.int64)
    faces[order] = rank[inverse.reshape(-1)].reshape(-1, 3)
    unique_keys = unique_keys[by_first_use]
    render_ids = (unique_keys // part_count).astype(np.int32)
    vertex_part = (unique_keys % part_count).astype(np.int64)
    model_vertex = head.render_source[render_ids].astype(np.int32)
    tiles = head.part_uv_tiles[vertex_part, 0].astype(np.float64)
    uv = head.render_uv[render_ids].astype(np.float64) - np.stack([tiles, np.zeros_like(tiles)], axis=1)
    if not np.all(tiles[vertex_part == PART_NAMES.index("face")] == FACE_TILE):
        raise ValueError("ICT face part vertices are not all in the face tile")
    template_uv = ict_template_uv(head).uv[render_ids].astype(np.float64)
    template_uv[vertex_part != PART_NAMES.index("face")] = np.nan
    return IctMesh(render_ids=render_ids, model_vertex=model_vertex, vertices=model_world[model_vertex],
                   normals=model_normals[model_vertex], faces=faces.astype(np.int32),
                   face_part=face_part.astype(np.int32), uv=uv, template_uv=template_uv,
                   landmarks_world=head.landmarks68(model_world))


def face_texel_density(head: IctHead, size: int) -> dict:
    """Texel density on the face of the two layouts at ``size^2`` (texels per cm^2 of ICT's neutral surface).

    Over the face triangles inside the template disc (the area both layouts map): ``template_disc`` =
    ``size^2 sum |A_uv(template)| / sum A_3d``, ``ict_face_tile`` the same with ICT's face-tile UVs; and
    ``ict_face_tile_whole_face`` over the whole face part (ears, forehead and neck front included).
    """
    uv_template = ict_template_uv(head)
    faces = head.part_faces("face")
    positions = head.render_vertices(head.neutral.astype(np.float64))

    def uv_area(uv: np.ndarray, tri: np.ndarray) -> np.ndarray:
        a, b, c = uv[tri[:, 0]], uv[tri[:, 1]], uv[tri[:, 2]]
        return 0.5 * np.abs((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))

    p = positions[faces]
    area = 0.5 * np.linalg.norm(np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]), axis=1)
    mapped = uv_template.mask[faces].all(axis=1)
    texels = float(size) ** 2
    ict_uv = head.render_uv.astype(np.float64)
    return {
        "template_disc": float(uv_area(uv_template.uv.astype(np.float64), faces[mapped]).sum() * texels
                               / area[mapped].sum()),
        "ict_face_tile": float(uv_area(ict_uv, faces[mapped]).sum() * texels / area[mapped].sum()),
        "ict_face_tile_whole_face": float(uv_area(ict_uv, faces).sum() * texels / area.sum()),
        "disc_area_cm2": float(area[mapped].sum()), "face_area_cm2": float(area.sum()), "size": int(size),
    }
