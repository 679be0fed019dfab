"""The 68 iBUG / Multi-PIE landmarks (300-W convention) on the 468-vertex face mesh.

Convention (Sagonas et al., "300 Faces in-the-Wild Challenge", ICCV-W 2013; the Multi-PIE 68-point markup):
0-16 jaw from the subject's right ear to the left ear (8 = chin), 17-21 right brow (outer to inner), 22-26
left brow (inner to outer), 27-30 nose bridge (top to tip), 31-35 lower nose from the subject's right to
left, 36-41 right eye (36 outer corner, 39 inner corner, clockwise in the photo: upper lid first), 42-47
left eye (42 inner corner, 45 outer corner), 48-59 outer lips (48 right corner, 51 top centre, 54 left
corner, 57 bottom centre), 60-67 inner lips (60 right corner, 62 top, 64 left corner, 66 bottom).
"Right"/"left" are the subject's: the subject's right is the viewer's LEFT in the photo and ``-X`` in world.

Each landmark is a weighted pair of mesh vertices, ``p = w0 * v[i0] + w1 * v[i1]`` (most have ``i0 == i1``).
The pairs below follow the widely used MediaPipe-to-dlib correspondence (e.g. P. Yan,
github.com/PeizhiYan/Mediapipe_2_Dlib_Landmarks, 2024), adjusted to be exactly left-right symmetric
(each left point is the mirror of its right point through the template's vertex mirror map) and checked by
drawing them on the sample photo (``docs/images/uv_layout.png``, ``models/face_template.md``). The 17 jaw
points are not a fixed vertex list: :func:`jaw_landmarks` places them at equal arc length along the face
oval from vertex 127 (beside the subject's right eye, in front of the ear) through the chin (152) to 356,
each as a pair of consecutive oval vertices. Approximation: MediaPipe's oval is the mesh rim, which on a
frontal face is close to, but not exactly, the silhouette that 300-W annotators clicked.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "IBUG68_COUNT", "IBUG68_MIRROR", "IBUG68_FIXED", "JAW_START_VERTEX", "JAW_END_VERTEX", "CHIN_VERTEX",
    "jaw_landmarks", "ibug68_definition",
]

IBUG68_COUNT = 68
#: Where the jaw polyline starts / passes / ends on the face oval (subject's right ear, chin, left ear).
JAW_START_VERTEX, CHIN_VERTEX, JAW_END_VERTEX = 127, 152, 356
_JAW_COUNT = 17

#: Landmark index -> (vertex a, vertex b): the point is the midpoint of a and b (a == b: the vertex itself).
#: Jaw points 0-16 are computed by :func:`jaw_landmarks`.
IBUG68_FIXED = {
    # right brow (outer -> inner), left brow (inner -> outer): MediaPipe's upper brow contour
    17: (70, 70), 18: (63, 63), 19: (105, 105), 20: (66, 66), 21: (107, 107),
    22: (336, 336), 23: (296, 296), 24: (334, 334), 25: (293, 293), 26: (300, 300),
    # nose bridge: between the eyes -> tip
    27: (168, 6), 28: (197, 195), 29: (5, 5), 30: (4, 4),
    # lower nose, subject's right -> left
    31: (75, 75), 32: (97, 97), 33: (2, 2), 34: (326, 326), 35: (305, 305),
    # right eye: outer corner, upper lid x2, inner corner, lower lid x2
    36: (33, 33), 37: (160, 160), 38: (158, 158), 39: (133, 133), 40: (153, 153), 41: (144, 144),
    # left eye: inner corner, upper lid x2, outer corner, lower lid x2
    42: (362, 362), 43: (385, 385), 44: (387, 387), 45: (263, 263), 46: (373, 373), 47: (380, 380),
    # outer lips: right corner, upper lip to the left corner, lower lip back
    48: (61, 61), 49: (40, 39), 50: (37, 37), 51: (0, 0), 52: (267, 267), 53: (270, 269), 54: (291, 291),
    55: (321, 321), 56: (314, 314), 57: (17, 17), 58: (84, 84), 59: (91, 91),
    # inner lips: right corner, upper, left corner, lower
    60: (78, 78), 61: (81, 81), 62: (13, 13), 63: (311, 311), 64: (308, 308), 65: (402, 402), 66: (14, 14),
    67: (178, 178),
}

#: The 300-W left-right flip permutation: landmark i of a mirrored face is landmark IBUG68_MIRROR[i].
IBUG68_MIRROR = np.array(
    list(range(16, -1, -1))                              # jaw
    + list(range(26, 16, -1))                            # brows
    + [27, 28, 29, 30] + [35, 34, 33, 32, 31]            # nose
    + [45, 44, 43, 42, 47, 46] + [39, 38, 37, 36, 41, 40]  # eyes
    + [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55]   # outer lips
    + [64, 63, 62, 61, 60, 67, 66, 65],                  # inner lips
    dtype=np.int64)


def jaw_landmarks(vertices: np.ndarray, face_oval: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The 17 jaw landmarks at equal arc length along the oval ``JAW_START -> CHIN -> JAW_END``.

    Each half (start -> chin, chin -> end) is sampled separately at 8 equal steps, so point 8 is the chin
    vertex exactly and a symmetric mesh gives symmetric points.

    Args:
      vertices: ``[V, 3]`` canonical mesh positions (arc length is measured in 3-D).
      face_oval: the closed oval loop of vertex indices (it must contain the three anchor vertices).

    Returns:
      ``indices [17, 2]`` int (consecutive oval vertices) and ``weights [17, 2]`` float (sum 1).
    """
    oval = list(face_oval)
    half = _JAW_COUNT // 2

    def path(start: int, end: int) -> list[int]:
        i, j = oval.index(start), oval.index(end)
        forward = [oval[(i + k) % len(oval)] for k in range((j - i) % len(oval) + 1)]
        backward = [oval[(i - k) % len(oval)] for k in range((i - j) % len(oval) + 1)]
        # the jaw runs through the lower half: the path that does not pass the forehead top (oval[0])
        return backward if oval[0] in forward[1:-1] else forward

    indices, weights = [], []
    for start, end in ((JAW_START_VERTEX, CHIN_VERTEX), (CHIN_VERTEX, JAW_END_VERTEX)):
        chain = path(start, end)
        points = np.asarray(vertices, dtype=np.float64)[chain]
        cumulative = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])
        targets = np.linspace(0.0, cumulative[-1], half + 1)
        if start == CHIN_VERTEX:
            targets = targets[1:]                        # the chin is already the last of the first half
        for target in targets:
            k = int(np.clip(np.searchsorted(cumulative, target, side="right") - 1, 0, len(chain) - 2))
            w1 = (target - cumulative[k]) / (cumulative[k + 1] - cumulative[k])
            indices.append((chain[k], chain[k + 1]))
            weights.append((1.0 - w1, w1))
    return np.asarray(indices, dtype=np.int64), np.asarray(weights, dtype=np.float64)


def ibug68_definition(vertices: np.ndarray, face_oval: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """All 68 landmarks as ``indices [68, 2]`` int and ``weights [68, 2]`` float (rows sum to 1)."""
    indices = np.zeros((IBUG68_COUNT, 2), dtype=np.int64)
    weights = np.zeros((IBUG68_COUNT, 2), dtype=np.float64)
    indices[:_JAW_COUNT], weights[:_JAW_COUNT] = jaw_landmarks(vertices, face_oval)
    for landmark, pair in IBUG68_FIXED.items():
        indices[landmark] = pair
        weights[landmark] = (0.5, 0.5)
    return indices, weights
