"""The scaled-orthographic camera that maps the fitted mesh to photo pixels.

Face Mesh gives points ``(u, v, depth)`` in photo pixels (``depth`` in pixel units, larger = nearer). svfri's world
space (see :mod:`svfri.conventions`) is::

    X = s (u - c_u),   Y = -s (v - c_v),   Z = s (depth - c_d)

with ``c`` the centroid of the points and ``s`` (cm per pixel) chosen so the outer eye corners are
:data:`~svfri.conventions.OUTER_EYE_CORNER_DISTANCE_CM` apart. The inverse, restricted to ``(u, v)``, is the 3x4
``world_to_pixel`` matrix ``P``::

    [u, v, 1]^T = P [X, Y, Z, 1]^T,   P = [[1/s, 0, 0, c_u], [0, -1/s, 0, c_v], [0, 0, 0, 1]]

Weak perspective is an approximation (exact for a distant camera); Face Mesh itself regresses weak-perspective points.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from svfri.conventions import OUTER_EYE_CORNER_DISTANCE_CM

__all__ = ["Camera", "camera_from_mesh_points", "framing_camera", "project", "compose_affine"]

#: Face Mesh vertex indices of the outer eye corners (subject's right, subject's left).
OUTER_EYE_CORNERS = (33, 263)


@dataclasses.dataclass(frozen=True)
class Camera:
    """``world_to_pixel [3, 4]`` for an image of ``width x height`` pixels; ``cm_per_pixel`` = ``s`` above."""

    world_to_pixel: np.ndarray
    width: int
    height: int
    cm_per_pixel: float

    def to_json(self) -> dict:
        return {"world_to_pixel": self.world_to_pixel.tolist(), "image_width": self.width,
                "image_height": self.height, "cm_per_pixel": self.cm_per_pixel, "model": "scaled_orthographic",
                "view_direction_world": [0.0, 0.0, 1.0]}


def camera_from_mesh_points(points: np.ndarray, *, width: int, height: int) -> tuple[np.ndarray, Camera]:
    """World-space vertices ``[468, 3]`` (cm) and the camera, from Face Mesh points ``[468, 3]`` in pixels."""
    points = np.asarray(points, dtype=np.float64)
    centre = points.mean(axis=0)
    eye_distance = np.linalg.norm(points[OUTER_EYE_CORNERS[0]] - points[OUTER_EYE_CORNERS[1]])
    scale = OUTER_EYE_CORNER_DISTANCE_CM / max(eye_distance, 1e-9)
    relative = points - centre
    vertices = scale * np.stack([relative[:, 0], -relative[:, 1], relative[:, 2]], axis=1)
    world_to_pixel = np.array([[1 / scale, 0, 0, centre[0]], [0, -1 / scale, 0, centre[1]], [0, 0, 0, 1]])
    return vertices, Camera(world_to_pixel, int(width), int(height), float(scale))


def project(world_to_pixel: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Pixel coordinates ``[..., 2]`` of world points ``[..., 3]`` under a 3x4 ``world_to_pixel``."""
    points = np.asarray(points, dtype=np.float64)
    homogeneous = points @ world_to_pixel[:, :3].T + world_to_pixel[:, 3]
    return homogeneous[..., :2] / homogeneous[..., 2:3]


def compose_affine(pixel_to_pixel: np.ndarray, world_to_pixel: np.ndarray) -> np.ndarray:
    """``A @ P``: a 2x3 (or 3x3) pixel-space affine ``A`` applied after ``world_to_pixel`` ``P`` (3x4)."""
    affine = np.asarray(pixel_to_pixel, dtype=np.float64)
    if affine.shape == (2, 3):
        affine = np.vstack([affine, [0, 0, 1]])
    return affine @ world_to_pixel


def framing_camera(vertices: np.ndarray, *, size: int, fill: float, offset: tuple[float, float] = (0.0, 0.0)
                   ) -> Camera:
    """Scaled-orthographic camera framing a posed mesh in a ``size x size`` image.

    The larger side of the mesh's ``(X, Y)`` bounding box spans ``fill * size`` pixels; the box centre lands at
    the image centre moved by ``offset`` times the free margin on that axis (``offset`` components in
    ``[-1, 1]``: 1 puts the box against the image border; ``+dx`` right, ``+dy`` down).

    Args:
      vertices: ``[V, 3]`` posed mesh, cm.
      size: image side, pixels.
      fill: fraction in ``(0, 1]``.
      offset: ``(dx, dy)`` in ``[-1, 1]``.

    Returns:
      :class:`Camera` (``world_to_pixel`` as for :func:`camera_from_mesh_points`).
    """
    if not 0.0 < fill <= 1.0:
        raise ValueError(f"fill must be in (0, 1], got {fill}")
    vertices = np.asarray(vertices, dtype=np.float64)
    low, high = vertices[:, :2].min(axis=0), vertices[:, :2].max(axis=0)
    extent = float((high - low).max())
    cm_per_pixel = extent / (fill * size)
    centre = (low + high) / 2.0
    margin = (size - (high - low) / cm_per_pixel) / 2.0                       # free pixels per side, per axis
    target_u = size / 2.0 + offset[0] * margin[0]
    target_v = size / 2.0 + offset[1] * margin[1]
    world_to_pixel = np.array([
        [1.0 / cm_per_pixel, 0.0, 0.0, target_u - centre[0] / cm_per_pixel],
        [0.0, -1.0 / cm_per_pixel, 0.0, target_v + centre[1] / cm_per_pixel],
        [0.0, 0.0, 0.0, 1.0]])
    return Camera(world_to_pixel, int(size), int(size), float(cm_per_pixel))
