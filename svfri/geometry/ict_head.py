"""The ICT-FaceKit head model: neutral mesh, identity and expression modes, parts, render mesh, UVs, masks.

Source: the ICT-FaceKit "light" morphable model (USC Institute for Creative Technologies, MIT licence, notice in
``models/LICENSE-ICT-FaceKit.txt``), converted by ``python -m precompute.make_ict_head`` (provenance and measured
numbers in ``models/ict_head.md``) and loaded here, once per process, from ``models/ict_head.npz``.

Spaces and units. Positions are ICT's own: centimetres, right-handed, ``+Y`` up, ``+Z`` out of the face, ``+X``
the subject's left -- the axes of :mod:`svfri.conventions`. The origin is ICT's (inside the head, about 13 cm
behind the nose tip), **not** centred like svfri's template; scale is ICT's generic head (outer eye corners
about 8.9 cm apart on the neutral), not normalised.

Two vertex indexings:

* **model vertices** ``[V = 26719]``: ICT's own indexing, unchanged (the modes, ``landmarks68``,
  ``fitting_vertices``, ICT's vertex ranges). :meth:`IctHead.shape` works here; :attr:`IctHead.faces`
  indexes them.
* **render vertices** ``[V_r = 28716]``: one per distinct (vertex, UV) pair, so that every render vertex has one UV
  (the OBJ's UVs are per face corner; vertices on UV seams are split). :attr:`IctHead.render_source` maps each
  back to its model vertex; :meth:`IctHead.render_vertices` expands any per-vertex array.
  :attr:`IctHead.render_faces` holds the same triangles, in the same order, as :attr:`IctHead.faces`.

Shape model (ICT's linear blendshape model, weights as ICT states them):
``v = neutral + sum_k identity[k] * identity_modes[k] + sum_j expression[j] * expression_modes[j]``, identity
weights ``~ N(0, 1)`` (modes largest first, the first :attr:`IctHead.identity_count` of ICT's 100 kept),
expression weights in ``[0, 1]`` (53 ARKit-named blendshapes, :attr:`IctHead.expression_names`). Modes are
stored float16 (max error per entry 0.005 / 0.01 mm, measured in ``models/ict_head.md``) and held float32.

Triangles are counter-clockwise seen from outside (:mod:`svfri.geometry.mesh_ops` convention); each carries a
part label (:data:`PART_NAMES`). UVs are ICT's multi-tile layout: ``u`` in ``[0, 7]``, ``t`` up; part ``p``
lies in tiles ``part_uv_tiles[p]`` (``u - tile`` in ``[0, 1]`` is that tile's texture coordinate). The face
tile is tile 0; the eyeball (sclera, cornea, iris), eye-blend and eye-occlusion parts also use ``u`` in
``[0, 1]`` but of their **own** textures (separate materials), not the face texture. ICT ships no textures.
"""

from __future__ import annotations

import dataclasses
import functools
import zipfile
from pathlib import Path

import numpy as np

from svfri.assets import models_dir
from svfri.errors import ModelError
from svfri.geometry import mesh_ops

__all__ = [
    "IctHead", "load_ict_head", "ict_head_path", "ICT_HEAD_FILENAME", "PART_NAMES", "OPAQUE_PARTS",
    "SKIN_PARTS", "FACE_TILE", "MASK_RESOLUTION", "REGION_NAMES", "VERTEX_COUNT", "EXPRESSION_COUNT",
]

ICT_HEAD_FILENAME = "ict_head.npz"
FORMAT_VERSION = 1
#: Model vertices (ICT's indexing) and expression blendshapes.
VERTEX_COUNT = 26719
EXPRESSION_COUNT = 53
#: Triangle part labels, in storage order (``face_part`` values index this tuple). ``back_head``, the mouth
#: socket and the eye sockets are ICT's ``M_BackHead`` material, split by ICT's vertex ranges.
#: ``cornea_*`` is the front cap of ICT's outer eye shell (``M_Sclera*``) inside the limbus: clear, with the
#: iris mesh 1.7 mm behind it, so an opaque renderer must leave it out (or draw it as a dielectric,
#: n ~ 1.376) or the iris is hidden.
PART_NAMES = ("face", "back_head", "mouth_socket", "eye_socket_left", "eye_socket_right", "gums_tongue", "teeth",
              "sclera_left", "iris_left", "sclera_right", "iris_right", "lacrimal", "eye_blend", "eye_occlusion",
              "eyelashes", "cornea_left", "cornea_right")
#: Parts an opaque renderer should draw. Left out: ``cornea_left`` / ``cornea_right`` (clear, see above),
#: ``lacrimal`` (a thin transparent film of tear fluid),
#: ``eye_blend`` and ``eye_occlusion`` (alpha-blended shading layers over the eyes), and ``eyelashes``
#: (cards that need their alpha texture): ICT ships none of these textures, and drawn opaque they cover the
#: eyes with shells or black ribbons. They are kept in the file for a renderer that can give them opacity.
OPAQUE_PARTS = ("face", "back_head", "mouth_socket", "eye_socket_left", "eye_socket_right", "gums_tongue", "teeth",
                "sclera_left", "iris_left", "sclera_right", "iris_right")
#: The skin surface (face with ears, back of the head and neck).
SKIN_PARTS = ("face", "back_head")
#: UV tile of the face (``u`` in ``[0, 1]``), where :attr:`IctHead.region_masks` live.
FACE_TILE = 0
#: Side of the square UV region masks of the face tile, in texels.
MASK_RESOLUTION = 512
#: Region masks in the face tile; same names and meaning as :data:`svfri.synth.skin_maps.REGION_NAMES`.
REGION_NAMES = ("face", "lips", "brows", "eyes", "nose", "t_zone", "beard", "cheeks", "forehead", "under_eye",
                "mouth_interior")


def _read_only(array: np.ndarray, dtype=None) -> np.ndarray:
    array = np.array(array, dtype=dtype)
    array.flags.writeable = False
    return array


@dataclasses.dataclass(frozen=True, eq=False)
class IctHead:
    """The ICT-FaceKit head (module docstring). Arrays are read-only; positions in cm, ICT's frame.

    Attributes:
      neutral: ``[V, 3]`` float32 neutral shape (model vertices, ``V = 26719``).
      identity_modes: ``[K, V, 3]`` float32 identity modes (cm per unit weight, weights ``~ N(0, 1)``).
      expression_modes: ``[53, V, 3]`` float32 expression blendshapes (cm at weight 1).
      expression_names: ``[53]`` str, ARKit names (``browDown_L`` ... ``noseSneer_R``).
      faces: ``[F, 3]`` int32 model-vertex triangles, counter-clockwise seen from outside.
      face_part: ``[F]`` int32 index into :attr:`part_names` of each triangle.
      part_names: the part names (:data:`PART_NAMES`).
      part_uv_tiles: ``[P, 2]`` int32 first and last UV tile of each part.
      render_faces: ``[F, 3]`` int32 the same triangles on render vertices.
      render_source: ``[V_r]`` int32 model vertex of each render vertex.
      render_uv: ``[V_r, 2]`` float32 ``(u, t)`` multi-tile UV, ``t`` up.
      landmark68_vertices: ``[68]`` int32 model vertices of the 68 iBUG / Multi-PIE landmarks (ICT's list).
      fitting_vertices: ``[7801]`` int32, the vertex subset ICT's toolkit fits with.
      rigid_vertices: ``[1487]`` int32, the vertex subset ICT's toolkit aligns rigidly with.
      region_masks: name -> ``[512, 512]`` float32 soft mask in ``[0, 1]`` in the face tile (row 0 = ``t`` near
        1, :mod:`svfri.conventions`); names :data:`REGION_NAMES`.
      points468_faces: ``[468]`` int32 triangle (index into :attr:`faces`) of each MediaPipe Face Mesh point.
      points468_barycentric: ``[468, 3]`` float32 barycentric coordinates in that triangle (rows sum to 1).
      points468_alignment: ``[3, 4]`` float64 ``[s R | t]``, the similarity that took svfri's canonical
        template (:func:`svfri.geometry.template.load_face_template`, cm) onto the ICT neutral before the
        non-rigid registration: ``aligned = template.vertices @ A[:, :3].T + A[:, 3]``.
    """

    neutral: np.ndarray
    identity_modes: np.ndarray
    expression_modes: np.ndarray
    expression_names: tuple[str, ...]
    faces: np.ndarray
    face_part: np.ndarray
    part_names: tuple[str, ...]
    part_uv_tiles: np.ndarray
    render_faces: np.ndarray
    render_source: np.ndarray
    render_uv: np.ndarray
    landmark68_vertices: np.ndarray
    fitting_vertices: np.ndarray
    rigid_vertices: np.ndarray
    region_masks: dict[str, np.ndarray]
    points468_faces: np.ndarray
    points468_barycentric: np.ndarray
    points468_alignment: np.ndarray

    @property
    def vertex_count(self) -> int:
        return int(self.neutral.shape[0])

    @property
    def render_vertex_count(self) -> int:
        return int(self.render_source.shape[0])

    @property
    def identity_count(self) -> int:
        """``K``, the identity modes kept."""
        return int(self.identity_modes.shape[0])

    @property
    def expression_count(self) -> int:
        return int(self.expression_modes.shape[0])

    # -- shape -----------------------------------------------------------------------------------------
    def shape(self, identity: np.ndarray | None = None, expression: np.ndarray | None = None) -> np.ndarray:
        """Vertices of one face: ``neutral + identity . identity_modes + expression . expression_modes``.

        Args:
          identity: ``[k]`` weights of the first ``k <= K`` identity modes (``~ N(0, 1)``); ``None``: zeros.
          expression: ``[53]`` blendshape weights (``[0, 1]``, :attr:`expression_names` order); ``None``: zeros.

        Returns:
          ``[V, 3]`` float64 model-vertex positions, cm.
        """
        vertices = self.neutral.astype(np.float64)
        if identity is not None:
            weights = np.asarray(identity, dtype=np.float64)
            if weights.ndim != 1 or weights.shape[0] > self.identity_count:
                raise ValueError(f"identity must be [k <= {self.identity_count}], got {weights.shape}")
            vertices = vertices + np.tensordot(weights, self.identity_modes[:weights.shape[0]], axes=1)
        if expression is not None:
            weights = np.asarray(expression, dtype=np.float64)
            if weights.shape != (self.expression_count,):
                raise ValueError(f"expression must be [{self.expression_count}], got {weights.shape}")
            vertices = vertices + np.tensordot(weights, self.expression_modes, axes=1)
        return vertices

    def _check_model(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values)
        if values.ndim < 1 or values.shape[0] != self.vertex_count:
            raise ValueError(f"values must be [{self.vertex_count}, ...] per model vertex, got {values.shape}")
        return values

    def render_vertices(self, values: np.ndarray) -> np.ndarray:
        """Per-model-vertex values ``[V, ...]`` (positions, normals, ...) -> per render vertex ``[V_r, ...]``."""
        return self._check_model(values)[self.render_source]

    # -- parts -----------------------------------------------------------------------------------------
    def part_mask(self, names: str | tuple[str, ...] | list[str]) -> np.ndarray:
        """``[F]`` bool: the triangles of one part or several (names from :attr:`part_names`)."""
        names = (names,) if isinstance(names, str) else tuple(names)
        unknown = [name for name in names if name not in self.part_names]
        if unknown:
            raise ValueError(f"unknown part(s) {unknown}; parts are {self.part_names}")
        return np.isin(self.face_part, [self.part_names.index(name) for name in names])

    def part_faces(self, names: str | tuple[str, ...] | list[str] = OPAQUE_PARTS, *, render: bool = True
                   ) -> np.ndarray:
        """Triangles of the given part(s): ``[F_p, 3]`` int32 on render vertices (``render=True``) or model
        vertices (``render=False``), in storage order."""
        return (self.render_faces if render else self.faces)[self.part_mask(names)]

    def part_mesh(self, names: str | tuple[str, ...] | list[str] = OPAQUE_PARTS) -> tuple[np.ndarray, np.ndarray]:
        """A compact render mesh of the given part(s), without the render vertices no triangle of them uses.

        Returns:
          ``render_ids [n]`` int32 (the render vertices used, ascending: index :meth:`render_vertices` output,
          :attr:`render_uv` with it) and ``faces [F_p, 3]`` int32 indexing ``render_ids``.
        """
        faces = self.part_faces(names)
        render_ids, inverse = np.unique(faces, return_inverse=True)
        return render_ids.astype(np.int32), inverse.reshape(faces.shape).astype(np.int32)

    def part_uv(self, name: str) -> np.ndarray:
        """Render-vertex UVs relative to the part's first tile, ``[V_r, 2]`` (``u - tile``, so the part's own
        texture is addressed in ``[0, 1]``; two tiles wide for ``lacrimal``); meaningful on the vertices of
        :meth:`part_faces` ``(name)`` only."""
        if name not in self.part_names:
            raise ValueError(f"unknown part {name!r}; parts are {self.part_names}")
        tile = float(self.part_uv_tiles[self.part_names.index(name), 0])
        return self.render_uv - np.array([tile, 0.0], dtype=np.float32)

    # -- differential quantities ---------------------------------------------------------------------------
    def vertex_normals(self, vertices: np.ndarray, parts: tuple[str, ...] = OPAQUE_PARTS) -> np.ndarray:
        """Unit normals ``[V, 3]`` of model vertices (area-weighted, :func:`svfri.geometry.mesh_ops.vertex_normals`)
        from the triangles of ``parts``; computed on model vertices so UV seams do not crease them.
        Expand with :meth:`render_vertices`."""
        return mesh_ops.vertex_normals(self._check_model(vertices), self.part_faces(parts, render=False))

    def render_tangents(self, render_vertices: np.ndarray, render_normals: np.ndarray,
                        parts: tuple[str, ...] = OPAQUE_PARTS) -> np.ndarray:
        """glTF tangents ``[V_r, 4]`` from the render UVs (:func:`svfri.geometry.mesh_ops.vertex_tangents`)."""
        return mesh_ops.vertex_tangents(render_vertices, self.part_faces(parts), self.render_uv, render_normals)

    # -- landmarks and correspondences ---------------------------------------------------------------------
    def landmarks68(self, values: np.ndarray) -> np.ndarray:
        """The 68 iBUG landmarks of per-model-vertex values: ``[V, ...]`` -> ``[68, ...]``."""
        return self._check_model(values)[self.landmark68_vertices]

    def points468(self, values: np.ndarray) -> np.ndarray:
        """MediaPipe's 468 Face Mesh points on the ICT surface: ``[V, ...]`` -> ``[468, ...]`` float64.

        Barycentric interpolation in the stored triangles (a linear map, so it applies to positions and to
        the modes alike: ``points468(shape(a, b)) == points468(neutral) + a . points468(identity modes) ...``).
        The correspondence is a registration of svfri's canonical template (``models/ict_head.md``), an
        approximation, not ICT's or MediaPipe's own definition.
        """
        values = self._check_model(values)
        corners = values[self.faces[self.points468_faces]].astype(np.float64)    # [468, 3, ...]
        weights = self.points468_barycentric.astype(np.float64).reshape((468, 3) + (1,) * (values.ndim - 1))
        return (weights * corners).sum(axis=1)


    def points468_basis(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The shape model restricted to the 468 points (for fitting to Face Mesh):
        ``points468(shape(a, b)) == mean + a . identity + b . expression``.

        Returns:
          ``mean [468, 3]``, ``identity [K, 468, 3]``, ``expression [53, 468, 3]`` float64, cm.
        """
        mean = self.points468(self.neutral)
        identity = np.moveaxis(self.points468(np.moveaxis(self.identity_modes, 0, 1)), 1, 0)
        expression = np.moveaxis(self.points468(np.moveaxis(self.expression_modes, 0, 1)), 1, 0)
        return mean, identity, expression


def ict_head_path() -> Path:
    """Where ``ict_head.npz`` is (:func:`svfri.assets.models_dir`)."""
    return models_dir() / ICT_HEAD_FILENAME


_REMEDY = ("run `python -m precompute.make_ict_head --source PATH/ict_facekit.npz` (the ICT-FaceKit FaceXModel "
           "converted to one npz; see models/ict_head.md) or reinstall svfri")


def _strings(array: np.ndarray) -> tuple[str, ...]:
    return tuple(str(value) for value in array)


@functools.lru_cache(maxsize=1)
def load_ict_head() -> IctHead:
    """Load (once per process) the ICT-FaceKit head from ``ict_head.npz``.

    Raises:
      ModelError: the file is missing, unreadable or inconsistent.
    """
    path = ict_head_path()
    if not path.is_file():
        raise ModelError(f"ICT head model {path} is missing; {_REMEDY}")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
        if int(arrays["format_version"]) != FORMAT_VERSION:
            raise ValueError("format version")
        stack = arrays["region_masks"]
        masks = {name: _read_only(stack[i], np.float32) for i, name in enumerate(_strings(arrays["region_names"]))}
        head = IctHead(
            neutral=_read_only(arrays["neutral"], np.float32),
            identity_modes=_read_only(arrays["identity_modes"], np.float32),
            expression_modes=_read_only(arrays["expression_modes"], np.float32),
            expression_names=_strings(arrays["expression_names"]),
            faces=_read_only(arrays["faces"], np.int32), face_part=_read_only(arrays["face_part"], np.int32),
            part_names=_strings(arrays["part_names"]), part_uv_tiles=_read_only(arrays["part_uv_tiles"], np.int32),
            render_faces=_read_only(arrays["render_faces"], np.int32),
            render_source=_read_only(arrays["render_source"], np.int32),
            render_uv=_read_only(arrays["render_uv"], np.float32),
            landmark68_vertices=_read_only(arrays["landmarks68"], np.int32),
            fitting_vertices=_read_only(arrays["fitting_vertices"], np.int32),
            rigid_vertices=_read_only(arrays["rigid_vertices"], np.int32),
            region_masks=masks,
            points468_faces=_read_only(arrays["points468_faces"], np.int32),
            points468_barycentric=_read_only(arrays["points468_barycentric"], np.float32),
            points468_alignment=_read_only(arrays["points468_alignment"], np.float64))
    except (OSError, KeyError, ValueError, IndexError, TypeError, zipfile.BadZipFile, EOFError) as error:
        raise ModelError(f"ICT head model {path} is corrupt ({type(error).__name__}); {_REMEDY}") from error
    vertex_count, face_count = head.neutral.shape[0], head.faces.shape[0]
    consistent = (
        head.neutral.shape == (VERTEX_COUNT, 3)
        and head.identity_modes.shape[1:] == (vertex_count, 3) and head.identity_modes.shape[0] >= 1
        and head.expression_modes.shape == (EXPRESSION_COUNT, vertex_count, 3)
        and len(head.expression_names) == EXPRESSION_COUNT
        and head.faces.shape == (face_count, 3) and head.render_faces.shape == (face_count, 3)
        and head.face_part.shape == (face_count,) and head.part_names == PART_NAMES
        and head.part_uv_tiles.shape == (len(PART_NAMES), 2)
        and int(head.faces.max()) < vertex_count and int(head.render_faces.max()) < head.render_source.shape[0]
        and head.render_uv.shape == (head.render_source.shape[0], 2)
        and int(head.render_source.max()) < vertex_count
        and head.landmark68_vertices.shape == (68,)
        and all(mask.shape == (MASK_RESOLUTION, MASK_RESOLUTION) for mask in masks.values())
        and set(masks) == set(REGION_NAMES)
        and head.points468_faces.shape == (468,) and head.points468_barycentric.shape == (468, 3)
        and head.points468_alignment.shape == (3, 4) and int(head.points468_faces.max()) < face_count)
    if not consistent:
        raise ModelError(f"ICT head model {path} has inconsistent array shapes; {_REMEDY}")
    return head
