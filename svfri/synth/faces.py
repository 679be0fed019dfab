"""Random face shapes, head poses, cameras and mesh-regressor errors for the synthetic training set.

Everything here acts on the 468-vertex Face Mesh topology of the canonical template
(:func:`svfri.geometry.template.load_face_template`), in world space (:mod:`svfri.conventions`: ``+X`` the
subject's left, ``+Y`` up, ``+Z`` towards the camera, centimetres).

Face shape (:func:`random_face_shape`) -- **a plausible-shape approximation, not a statistical shape model**
(no population data is available to the project). Starting from the template's canonical shape ``v``:

1. global anisotropic scale ``v <- diag(s_x, s_y, s_z) v``, each ``s`` uniform in ``1 +- GLOBAL_SCALE_RANGE``;
2. jaw width: ``x <- x (1 + a_jaw w_jaw(y))`` with ``w_jaw`` a smoothstep from 0 at the upper lip to 1 at the
   chin (:data:`JAW_WIDTH_RANGE`);
3. nose: a Gaussian bump ``g(v) = exp(-|v - v_tip|^2 / (2 r^2))`` around the nose tip moves the nose down by
   ``a_len g`` (length) and out by ``a_out g`` (protrusion), :data:`NOSE_LENGTH_RANGE_CM`,
   :data:`NOSE_PROTRUSION_RANGE_CM`;
4. a few radial basis bumps along the template's vertex normals,
   ``v <- v + a exp(-|v - c|^2 / (2 rho^2)) n(v)``, each placed at a random vertex ``c`` **and** its mirror twin
   with the twin's amplitude perturbed by up to :data:`BUMP_ASYMMETRY` (left-right symmetric-ish faces).

All displacements are smooth and a few millimetres, so the mesh stays a manifold disc without fold-overs.

Pose (:class:`Pose`, :func:`pose_rotation`): ``R = R_z(roll) R_y(yaw) R_x(pitch)`` applied about the centroid,
with right-hand rotations about the world axes: positive **yaw** turns the face towards ``+X`` (the subject's
left, the viewer's right), positive **pitch** tilts the face down (``+Z`` goes to ``-Y``), positive **roll**
turns it counter-clockwise as the viewer sees it.

Camera (:func:`framing_camera`): scaled orthographic exactly as :mod:`svfri.geometry.camera` builds it,
``P = [[1/s, 0, 0, c_u], [0, -1/s, 0, c_v], [0, 0, 0, 1]]``, with the scale chosen so that the larger side of the
posed face's image-plane bounding box spans ``fill`` of the square image.

Regressor error (:func:`regressor_error`): the run-time mesh comes from Face Mesh, which errs by a few
millimetres in a spatially smooth way; modelled as a Gaussian-process-like field ``d = K w`` with
``K_ij = exp(-|v_i - v_j|^2 / (2 l^2))`` and ``w ~ N(0, I)``, rescaled to a given RMS length. Approximate: real
regressor errors also correlate with pose and expression.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from svfri.geometry.camera import framing_camera  # re-exported: the training set frames faces with it
from svfri.geometry.mesh_ops import vertex_normals
from svfri.synth.noise import smoothstep

__all__ = [
    "GLOBAL_SCALE_RANGE", "JAW_WIDTH_RANGE", "NOSE_LENGTH_RANGE_CM", "NOSE_PROTRUSION_RANGE_CM",
    "NOSE_RADIUS_CM", "BUMP_COUNT_RANGE", "BUMP_AMPLITUDE_CM", "BUMP_RADIUS_RANGE_CM", "BUMP_ASYMMETRY",
    "MAX_YAW_DEGREES", "MAX_PITCH_DEGREES", "MAX_ROLL_DEGREES", "FILL_RANGE", "MAX_CENTRE_OFFSET",
    "REGRESSOR_RMS_RANGE_CM", "REGRESSOR_LENGTH_SCALE_CM",
    "NOSE_TIP_VERTEX", "UPPER_LIP_VERTEX", "CHIN_VERTEX",
    "FaceShape", "Pose", "random_face_shape", "deform_face", "random_pose", "pose_rotation", "apply_pose",
    "framing_camera", "regressor_error",
]

#: Relative range of the global per-axis scale (``s`` in ``1 +- 0.08``).
GLOBAL_SCALE_RANGE = 0.08
#: Relative change of the jaw's width at the chin (``a_jaw`` in ``+- 0.08``).
JAW_WIDTH_RANGE = 0.08
#: Downward displacement of the nose tip (longer nose > 0), cm.
NOSE_LENGTH_RANGE_CM = 0.3
#: Forward displacement of the nose tip (more prominent nose > 0), cm.
NOSE_PROTRUSION_RANGE_CM = 0.35
#: Gaussian radius of the nose deformation, cm.
NOSE_RADIUS_CM = 1.4
#: Number of mirrored radial-basis bump pairs (inclusive range).
BUMP_COUNT_RANGE = (2, 4)
#: Largest bump amplitude along the normal, cm (uniform in ``+-``).
BUMP_AMPLITUDE_CM = 0.35
#: Gaussian radius of a bump, cm.
BUMP_RADIUS_RANGE_CM = (1.5, 3.5)
#: Relative amplitude difference between a bump and its mirror twin (uniform in ``+-``).
BUMP_ASYMMETRY = 0.25

#: Pose ranges, degrees (uniform in ``+-``).
MAX_YAW_DEGREES = 35.0
MAX_PITCH_DEGREES = 20.0
MAX_ROLL_DEGREES = 10.0
#: Fraction of the square image spanned by the larger side of the face's bounding box.
FILL_RANGE = (0.55, 0.75)
#: Largest shift of the face centre from the image centre, as a fraction of the free margin on each side.
MAX_CENTRE_OFFSET = 0.5

#: RMS length of the simulated Face Mesh error per vertex, cm (1-2 mm).
REGRESSOR_RMS_RANGE_CM = (0.1, 0.2)
#: Correlation length of the regressor error field, cm.
REGRESSOR_LENGTH_SCALE_CM = 3.0

#: Face Mesh vertex indices used as anchors: nose tip, upper-lip centre (top of the vermilion), chin.
NOSE_TIP_VERTEX = 1
UPPER_LIP_VERTEX = 0
CHIN_VERTEX = 152


@dataclasses.dataclass(frozen=True)
class FaceShape:
    """The parameters of one random face shape (module docstring, steps 1-4).

    Attributes:
      scale: ``(s_x, s_y, s_z)`` global scale factors.
      jaw_width: ``a_jaw``, relative widening of the jaw at the chin.
      nose_length_cm, nose_protrusion_cm: nose-tip displacements down and out, cm.
      bump_centres: ``[K]`` vertex indices of the bump centres (each also applied at its mirror twin).
      bump_amplitudes_cm: ``[K, 2]`` amplitudes at the centre and at its twin, cm.
      bump_radii_cm: ``[K]`` Gaussian radii, cm.
    """

    scale: tuple[float, float, float]
    jaw_width: float
    nose_length_cm: float
    nose_protrusion_cm: float
    bump_centres: tuple[int, ...]
    bump_amplitudes_cm: tuple[tuple[float, float], ...]
    bump_radii_cm: tuple[float, ...]

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Pose:
    """Head rotation in degrees (module docstring for the axes and signs)."""

    yaw: float
    pitch: float
    roll: float

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def random_face_shape(rng: np.random.Generator, vertex_count: int) -> FaceShape:
    """Draws :class:`FaceShape` parameters (ranges: the module constants) for a ``vertex_count``-vertex mesh."""
    scale = tuple(float(x) for x in 1.0 + rng.uniform(-GLOBAL_SCALE_RANGE, GLOBAL_SCALE_RANGE, size=3))
    jaw = float(rng.uniform(-JAW_WIDTH_RANGE, JAW_WIDTH_RANGE))
    nose_length = float(rng.uniform(-NOSE_LENGTH_RANGE_CM, NOSE_LENGTH_RANGE_CM))
    nose_out = float(rng.uniform(-NOSE_PROTRUSION_RANGE_CM, NOSE_PROTRUSION_RANGE_CM))
    count = int(rng.integers(BUMP_COUNT_RANGE[0], BUMP_COUNT_RANGE[1] + 1))
    centres = tuple(int(c) for c in rng.integers(0, vertex_count, size=count))
    amplitude = rng.uniform(-BUMP_AMPLITUDE_CM, BUMP_AMPLITUDE_CM, size=count)
    twin = amplitude * (1.0 + rng.uniform(-BUMP_ASYMMETRY, BUMP_ASYMMETRY, size=count))
    radii = tuple(float(r) for r in rng.uniform(*BUMP_RADIUS_RANGE_CM, size=count))
    return FaceShape(scale=scale, jaw_width=jaw, nose_length_cm=nose_length, nose_protrusion_cm=nose_out,
                     bump_centres=centres,
                     bump_amplitudes_cm=tuple((float(a), float(b)) for a, b in zip(amplitude, twin)),
                     bump_radii_cm=radii)


def deform_face(vertices: np.ndarray, faces: np.ndarray, mirror_vertex: np.ndarray, shape: FaceShape) -> np.ndarray:
    """Applies a :class:`FaceShape` to the canonical (frontal, symmetric) shape (module docstring).

    Args:
      vertices: ``[468, 3]`` canonical template vertices, cm.
      faces: ``[F, 3]`` template triangles (for the vertex normals the bumps move along).
      mirror_vertex: ``[468]`` left-right twin of each vertex.
      shape: the parameters.

    Returns:
      ``[468, 3]`` float64 deformed vertices, cm (same frame as the input).
    """
    base = np.asarray(vertices, dtype=np.float64)
    normals = vertex_normals(base, faces)
    out = base * np.asarray(shape.scale)

    # Jaw: widen/narrow the lower face, weight 0 at the upper lip rising to 1 at the chin.
    y = base[:, 1]
    jaw_weight = smoothstep(base[UPPER_LIP_VERTEX, 1], base[CHIN_VERTEX, 1], y)
    out[:, 0] *= 1.0 + shape.jaw_width * jaw_weight

    # Nose length (down) and protrusion (out).
    nose = np.exp(-np.sum((base - base[NOSE_TIP_VERTEX]) ** 2, axis=-1) / (2.0 * NOSE_RADIUS_CM ** 2))
    out[:, 1] -= shape.nose_length_cm * nose
    out[:, 2] += shape.nose_protrusion_cm * nose

    # Mirrored radial-basis bumps along the normals.
    for centre, (amplitude, twin_amplitude), radius in zip(shape.bump_centres, shape.bump_amplitudes_cm,
                                                           shape.bump_radii_cm):
        twin = int(mirror_vertex[centre])
        pairs = [(centre, amplitude)] if twin == centre else [(centre, amplitude), (twin, twin_amplitude)]
        for index, value in pairs:
            weight = np.exp(-np.sum((base - base[index]) ** 2, axis=-1) / (2.0 * radius ** 2))
            out += (value * weight)[:, None] * normals
    return out


def random_pose(rng: np.random.Generator, *, max_yaw: float = MAX_YAW_DEGREES, max_pitch: float = MAX_PITCH_DEGREES,
                max_roll: float = MAX_ROLL_DEGREES) -> Pose:
    """A head pose with yaw, pitch and roll uniform in ``+-max`` degrees."""
    yaw, pitch, roll = rng.uniform(-1.0, 1.0, size=3) * np.array([max_yaw, max_pitch, max_roll])
    return Pose(yaw=float(yaw), pitch=float(pitch), roll=float(roll))


def pose_rotation(pose: Pose) -> np.ndarray:
    """``R = R_z(roll) R_y(yaw) R_x(pitch)``, ``[3, 3]`` float64 (module docstring for the signs)."""
    a, b, c = (math.radians(pose.pitch), math.radians(pose.yaw), math.radians(pose.roll))
    rx = np.array([[1, 0, 0], [0, math.cos(a), -math.sin(a)], [0, math.sin(a), math.cos(a)]])
    ry = np.array([[math.cos(b), 0, math.sin(b)], [0, 1, 0], [-math.sin(b), 0, math.cos(b)]])
    rz = np.array([[math.cos(c), -math.sin(c), 0], [math.sin(c), math.cos(c), 0], [0, 0, 1]])
    return rz @ ry @ rx


def apply_pose(vertices: np.ndarray, pose: Pose) -> np.ndarray:
    """Rotates ``[V, 3]`` vertices by :func:`pose_rotation` about their centroid; returns them centred at 0."""
    vertices = np.asarray(vertices, dtype=np.float64)
    centred = vertices - vertices.mean(axis=0)
    return centred @ pose_rotation(pose).T


def regressor_error(vertices: np.ndarray, rng: np.random.Generator, *, rms_cm: float,
                    length_scale_cm: float = REGRESSOR_LENGTH_SCALE_CM) -> np.ndarray:
    """A smooth random displacement field ``[V, 3]`` with per-vertex RMS length ``rms_cm`` (module docstring).

    ``d = K w`` with ``K_ij = exp(-|v_i - v_j|^2 / (2 l^2))``, ``w ~ N(0, I_3)`` per vertex, rescaled so that
    ``sqrt(mean_i |d_i|^2) = rms_cm``. Add it to the vertices to simulate the run-time mesh fit.
    """
    vertices = np.asarray(vertices, dtype=np.float64)
    squared = np.sum((vertices[:, None, :] - vertices[None, :, :]) ** 2, axis=-1)
    kernel = np.exp(-squared / (2.0 * length_scale_cm ** 2))
    field = kernel @ rng.standard_normal(size=vertices.shape)
    rms = math.sqrt(float(np.mean(np.sum(field ** 2, axis=-1))))
    return field * (rms_cm / max(rms, np.finfo(np.float64).tiny))
