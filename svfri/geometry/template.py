"""The canonical face template: mean shape, triangle list, UV layout, Loop subdivision, region masks, 68 points.

The template is generated offline by ``python -m precompute.make_face_template`` (provenance in
``models/face_template.md``) and loaded here, once per process, from ``models/face_template.npz``.

Everything is indexed by the 468 vertices of MediaPipe Face Mesh (Kartynnik et al. 2019), in world space
(:mod:`svfri.conventions`: ``+X`` subject's left, ``+Y`` up, ``+Z`` towards the camera, centimetres):

* ``vertices [468, 3]``: the canonical shape. **Approximation**: it is one face (the bundled sample photo's
  mesh), frontalised and made left-right symmetric, not a population mean.
* ``faces [898, 3]``: svfri's own triangulation (not MediaPipe's), counter-clockwise seen from the front
  (``+Z``), a manifold disc bounded by the face oval. The eye openings and the mouth's inner opening are
  *covered* by triangles (renders have no holes); :attr:`FaceTemplate.eye_opening_faces` /
  :attr:`FaceTemplate.mouth_opening_faces` and the ``"eyes"`` / ``"mouth_interior"`` UV masks mark them so
  that fitting can leave them out.
* ``uv [468, 2]``: a seam-free disc in ``[0, 1]^2`` (``t`` up, subject's left eye at ``s > 0.5``),
  mirror-symmetric: ``uv[mirror_vertex] = (1 - s, t)``.
* ``subdivision [V_sub, 468]``: two levels of Loop subdivision composed into one sparse matrix
  (:mod:`svfri.geometry.subdivision`): ``vertices_sub = subdivision @ vertices``.
* ``region_masks``: soft masks ``[512, 512]`` in UV (row 0 = ``t`` near 1, see :mod:`svfri.conventions`).
* ``ibug68_vertices [68, 2]`` / ``ibug68_weights [68, 2]``: the 300-W 68-point landmarks as weighted pairs of
  mesh vertices (see :mod:`svfri.geometry.ibug68`).
"""

from __future__ import annotations

import dataclasses
import functools
import zipfile
from pathlib import Path

import cv2
import numpy as np
import scipy.sparse

from svfri.assets import models_dir
from svfri.errors import ModelError

__all__ = [
    "FaceTemplate", "load_face_template", "template_path", "TEMPLATE_FILENAME", "MASK_RESOLUTION",
    "REGION_NAMES", "region_weight", "FACE_OVAL", "LIPS_OUTER", "LIPS_INNER", "RIGHT_EYE", "LEFT_EYE", "RIGHT_BROW_LOWER",
    "RIGHT_BROW_UPPER", "LEFT_BROW_LOWER", "LEFT_BROW_UPPER", "NOSE_BRIDGE", "NOSE_ALAR", "MIRRORED_CONTOURS",
]

TEMPLATE_FILENAME = "face_template.npz"
#: Side of the square UV region masks, in texels.
MASK_RESOLUTION = 512
#: Names of the region masks stored in the template, in storage order.
REGION_NAMES = ("face", "lips", "mouth_interior", "eyes", "brows", "nose", "t_zone", "forehead", "cheeks",
                "under_eye", "beard", "face_boundary")

# --- MediaPipe Face Mesh contours ----------------------------------------------------------------------
# The index lists below are ordered versions of the edge lists in MediaPipe's
# mediapipe/python/solutions/face_mesh_connections.py (FACEMESH_FACE_OVAL, FACEMESH_LIPS, FACEMESH_LEFT_EYE,
# FACEMESH_RIGHT_EYE, FACEMESH_LEFT_EYEBROW, FACEMESH_RIGHT_EYEBROW, FACEMESH_NOSE).
#   Copyright 2021 The MediaPipe Authors.
#   Licensed under the Apache License, Version 2.0 (the "License"); you may not use this file except in
#   compliance with the License. You may obtain a copy of the License at
#   http://www.apache.org/licenses/LICENSE-2.0
#   Unless required by applicable law or agreed to in writing, software distributed under the License is
#   distributed on an "AS IS" BASIS, WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# "Left"/"right" are the subject's. Closed loops repeat no vertex; paths run outer end to inner end.

#: Face oval, a closed loop from the forehead top (10) over the subject's left side: the mesh boundary.
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152,
             148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
#: Outer lip contour, closed loop from the subject's right mouth corner (61) along the lower lip.
LIPS_OUTER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185)
#: Inner lip contour (the mouth opening), closed loop from the subject's right inner corner (78).
LIPS_INNER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191)
#: Subject's right eye (viewer's left), closed loop from the outer corner (33) along the lower lid.
RIGHT_EYE = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
#: Subject's left eye, closed loop from the outer corner (263) along the lower lid.
LEFT_EYE = (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466)
#: Eyebrows: lower and upper edges, each a path from the outer end to the inner end.
RIGHT_BROW_LOWER = (46, 53, 52, 65, 55)
RIGHT_BROW_UPPER = (70, 63, 105, 66, 107)
LEFT_BROW_LOWER = (276, 283, 282, 295, 285)
LEFT_BROW_UPPER = (300, 293, 334, 296, 336)
#: Nose bridge (midline path from between the eyes to the subnasale) and the closed alar loop around the tip.
NOSE_BRIDGE = (168, 6, 197, 195, 5, 4, 1, 19, 94, 2)
NOSE_ALAR = (4, 45, 220, 115, 48, 64, 98, 97, 2, 326, 327, 294, 278, 344, 440, 275)

#: Contour pairs that the left-right mirror maps onto each other (a contour paired with itself is symmetric).
MIRRORED_CONTOURS = (
    (RIGHT_EYE, LEFT_EYE), (RIGHT_BROW_LOWER, LEFT_BROW_LOWER), (RIGHT_BROW_UPPER, LEFT_BROW_UPPER),
    (FACE_OVAL, FACE_OVAL), (LIPS_OUTER, LIPS_OUTER), (LIPS_INNER, LIPS_INNER), (NOSE_BRIDGE, NOSE_BRIDGE),
    (NOSE_ALAR, NOSE_ALAR),
)


@dataclasses.dataclass(frozen=True, eq=False)
class FaceTemplate:
    """The canonical face layout (see the module docstring). Arrays are read-only; world space in cm.

    Attributes:
      vertices: ``[468, 3]`` float64 canonical shape (one symmetrised face; not a population mean).
      faces: ``[F, 3]`` int32 triangles, counter-clockwise seen from ``+Z``; a manifold disc.
      uv: ``[468, 2]`` float64 ``(s, t)`` in ``[0, 1]``, ``t`` up.
      mirror_vertex: ``[468]`` int32, the left-right mirror partner of each vertex (midline vertices: itself).
      eye_opening_faces, mouth_opening_faces: ``[F]`` bool, triangles covering the eye / mouth openings.
      subdivision: ``[V_sub, 468]`` float64 CSR, two levels of Loop subdivision (rows sum to 1).
      faces_sub: ``[16 F, 3]`` int32 triangles of the subdivided mesh (same winding).
      uv_sub: ``[V_sub, 2]`` float64 UVs of the subdivided vertices (linear subdivision of ``uv``).
      mirror_vertex_sub: ``[V_sub]`` int32 mirror partners at the subdivided level.
      region_masks: name -> ``[512, 512]`` float32 soft mask in ``[0, 1]`` (names in :data:`REGION_NAMES`).
      ibug68_vertices, ibug68_weights: ``[68, 2]`` int32 / float64: landmark ``l`` is
        ``sum_k weights[l, k] * v[vertices[l, k]]`` (300-W order, see :mod:`svfri.geometry.ibug68`).
    """

    vertices: np.ndarray
    faces: np.ndarray
    uv: np.ndarray
    mirror_vertex: np.ndarray
    eye_opening_faces: np.ndarray
    mouth_opening_faces: np.ndarray
    subdivision: scipy.sparse.csr_matrix
    faces_sub: np.ndarray
    uv_sub: np.ndarray
    mirror_vertex_sub: np.ndarray
    region_masks: dict[str, np.ndarray]
    ibug68_vertices: np.ndarray
    ibug68_weights: np.ndarray

    @property
    def vertex_count(self) -> int:
        return int(self.vertices.shape[0])

    @property
    def subdivided_vertex_count(self) -> int:
        return int(self.subdivision.shape[0])

    def subdivide(self, vertices: np.ndarray) -> np.ndarray:
        """Two levels of Loop subdivision of a fitted mesh: ``[468, k]`` -> ``[V_sub, k]`` (``S @ vertices``).

        The result indexes :attr:`faces_sub` / :attr:`uv_sub`; its first 468 rows are the (smoothed)
        positions of the original vertices.
        """
        values = np.asarray(vertices)
        if values.ndim != 2 or values.shape[0] != self.vertex_count:
            raise ValueError(f"vertices must be [{self.vertex_count}, k], got {values.shape}")
        return np.asarray(self.subdivision @ values.astype(np.float64, copy=False))

    def landmarks68(self, vertices: np.ndarray) -> np.ndarray:
        """The 68 iBUG landmarks of a mesh: ``[468, k]`` per-vertex values -> ``[68, k]``."""
        values = np.asarray(vertices)
        if values.ndim != 2 or values.shape[0] != self.vertex_count:
            raise ValueError(f"vertices must be [{self.vertex_count}, k], got {values.shape}")
        return np.einsum("lj,ljk->lk", self.ibug68_weights, values[self.ibug68_vertices].astype(np.float64))


def template_path() -> Path:
    """Where ``face_template.npz`` is (:func:`svfri.assets.models_dir`)."""
    return models_dir() / TEMPLATE_FILENAME


def _read_only(array: np.ndarray) -> np.ndarray:
    array = np.array(array)
    array.flags.writeable = False
    return array


_REMEDY = "run `python -m precompute.make_face_template` (or reinstall svfri)"


def region_weight(template: "FaceTemplate", size: int, *, exclude: tuple[str, ...] = (),
                  include: str = "face") -> np.ndarray:
    """``[size, size]`` float64 soft weight in ``[0, 1]``: region ``include`` times ``prod (1 - m_r)`` over the
    regions ``exclude`` (template :attr:`~FaceTemplate.region_masks`), area-resized from the
    :data:`MASK_RESOLUTION` masks (a box average: a texel's weight is its mean over the masks' texels).

    The one definition of "the template's skin minus some regions": the held albedo level, the level regressor's
    skin mean and the networks' input mask call it, each with its own regions.
    """
    masks = template.region_masks
    unknown = [name for name in (include, *exclude) if name not in masks]
    if unknown:
        raise ValueError(f"unknown template regions {unknown}; known: {sorted(masks)}")
    weight = np.asarray(masks[include], np.float64).copy()
    for name in exclude:
        weight *= 1.0 - np.asarray(masks[name], np.float64)
    if weight.shape[0] != size:
        weight = cv2.resize(weight, (size, size), interpolation=cv2.INTER_AREA)
    return np.clip(weight, 0.0, 1.0)


@functools.lru_cache(maxsize=1)
def load_face_template() -> FaceTemplate:
    """Load (once per process) the canonical face template from ``face_template.npz``.

    Raises:
      ModelError: the file is missing, unreadable or inconsistent.
    """
    path = template_path()
    if not path.is_file():
        raise ModelError(f"face template {path} is missing; {_REMEDY}")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
        shape = tuple(int(n) for n in arrays["subdivision_shape"])
        subdivision = scipy.sparse.csr_matrix(
            (arrays["subdivision_data"], arrays["subdivision_indices"], arrays["subdivision_indptr"]), shape=shape)
        names = [str(name) for name in arrays["region_names"]]
        stack = arrays["region_masks"]
        masks = {name: _read_only(stack[i].astype(np.float32)) for i, name in enumerate(names)}
        result = FaceTemplate(
            vertices=_read_only(arrays["vertices"]), faces=_read_only(arrays["faces"]), uv=_read_only(arrays["uv"]),
            mirror_vertex=_read_only(arrays["mirror_vertex"]),
            eye_opening_faces=_read_only(arrays["eye_opening_faces"]),
            mouth_opening_faces=_read_only(arrays["mouth_opening_faces"]),
            subdivision=subdivision, faces_sub=_read_only(arrays["faces_sub"]), uv_sub=_read_only(arrays["uv_sub"]),
            mirror_vertex_sub=_read_only(arrays["mirror_vertex_sub"]), region_masks=masks,
            ibug68_vertices=_read_only(arrays["ibug68_vertices"]), ibug68_weights=_read_only(arrays["ibug68_weights"]))
    except (OSError, KeyError, ValueError, IndexError, TypeError, zipfile.BadZipFile) as error:
        raise ModelError(f"face template {path} is corrupt ({type(error).__name__}); {_REMEDY}") from error
    vertex_count = result.vertices.shape[0]
    consistent = (result.vertices.shape == (vertex_count, 3) and result.uv.shape == (vertex_count, 2)
                  and shape[1] == vertex_count and result.uv_sub.shape == (shape[0], 2)
                  and result.mirror_vertex_sub.shape == (shape[0],) and set(names) == set(REGION_NAMES)
                  and result.ibug68_vertices.shape == (68, 2) and int(result.faces_sub.max()) < shape[0]
                  and all(mask.shape == (MASK_RESOLUTION, MASK_RESOLUTION) for mask in masks.values()))
    if not consistent:
        raise ModelError(f"face template {path} has inconsistent array shapes; {_REMEDY}")
    return result
