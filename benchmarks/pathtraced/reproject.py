"""An output folder's maps carried into photo space, through the output contract alone.

Reads only what the contract promises (``mesh.obj`` with UVs and normals, ``albedo.png`` / ``specular.png`` /
``normal.png``, ``fit.json``'s ``camera.world_to_pixel``) through :func:`svfri.io.output_set.load_face_asset`,
rasterises the mesh into the photo (nearest surface along the camera's view axis), and samples each map at the
interpolated UV. Nothing here depends on the mesh's topology or the UV layout, so scoring keeps working when
either changes.

Conventions: ``world_to_pixel`` is the contract's scaled-orthographic ``3 x 4`` camera (image ``x`` right, ``y``
down, the view axis along world ``-Z``, :mod:`svfri.conventions`). Normals are returned in the **camera frame**
``(right, up, towards the camera)``, so they compare with the path tracer's normals in its own camera frame.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from svfri.bake.rasterize import interpolate, project_vertices, rasterize_triangles
from svfri.bake.unwrap import sample_uv
from svfri.geometry.mesh_ops import vertex_tangents
from svfri.io.output_set import load_face_asset
from svfri.math.color import srgb_to_linear_np

__all__ = ["Reprojection", "reproject_output", "camera_frame_from_world_to_pixel"]


@dataclasses.dataclass(frozen=True)
class Reprojection:
    """An output set seen from the photo's camera; pixels outside ``coverage`` hold zeros.

    Attributes:
      coverage: ``[H, W]`` bool, pixels the mesh covers.
      albedo_srgb: ``[H, W, 3]`` sRGB-encoded albedo in ``[0, 1]``; ``albedo_linear`` the same decoded.
      specular: ``[H, W]`` linear specular intensity (scale on skin's F0).
      normal_camera: ``[H, W, 3]`` unit normals (mesh normal perturbed by the normal map), camera frame.
      mesh_normal_camera: ``[H, W, 3]`` the mesh's own interpolated unit normals, camera frame.
    """

    coverage: np.ndarray
    albedo_srgb: np.ndarray
    albedo_linear: np.ndarray
    specular: np.ndarray
    normal_camera: np.ndarray
    mesh_normal_camera: np.ndarray


def camera_frame_from_world_to_pixel(world_to_pixel: np.ndarray) -> np.ndarray:
    """``[3, 3]`` rows = world directions of the image's right, up and towards-the-camera axes.

    Right is row 0 of the linear part normalised, up is minus row 1 (pixel ``y`` runs down), and the third is
    their cross product (right-handed).
    """
    linear = np.asarray(world_to_pixel, np.float64)[:2, :3]
    right = linear[0] / np.linalg.norm(linear[0])
    up = -linear[1] / np.linalg.norm(linear[1])
    up -= right * (right @ up)
    up /= np.linalg.norm(up)
    return np.stack([right, up, np.cross(right, up)])


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)


def reproject_output(folder: str | Path, *, height: int | None = None, width: int | None = None) -> Reprojection:
    """Rasterises the output set in ``folder`` into its photo (``fit.json``'s image size unless given)."""
    asset = load_face_asset(folder)
    height = int(height or asset.image_height)
    width = int(width or asset.image_width)
    vertices = np.asarray(asset.vertices, np.float64)
    faces = np.asarray(asset.faces, np.int64)
    screen = project_vertices(vertices, asset.world_to_pixel)
    frame = camera_frame_from_world_to_pixel(asset.world_to_pixel)
    depth = vertices @ frame[2]                                    # larger = nearer the camera
    pixel_index, triangle, barycentric = rasterize_triangles(screen, depth, faces, height=height, width=width)

    uv = interpolate(asset.uv, faces, triangle, barycentric)
    normals = _unit(np.asarray(load_mesh_normals(folder, vertices, faces), np.float64))
    tangents = vertex_tangents(vertices, faces, asset.uv, normals)
    n = _unit(interpolate(normals, faces, triangle, barycentric))
    t4 = interpolate(tangents, faces, triangle, barycentric)
    t = _unit(t4[:, :3] - n * (t4[:, :3] * n).sum(-1, keepdims=True))
    b = np.cross(n, t) * np.where(t4[:, 3:4] < 0, -1.0, 1.0)
    tangent_space = sample_uv(asset.normal_map, uv) * 2.0 - 1.0
    detailed = _unit(tangent_space[:, 0:1] * t + tangent_space[:, 1:2] * b + tangent_space[:, 2:3] * n)

    def scatter(values: np.ndarray) -> np.ndarray:
        image = np.zeros((height * width, values.shape[1]), np.float64)
        image[pixel_index] = values
        return image.reshape(height, width, values.shape[1])

    coverage = np.zeros(height * width, bool)
    coverage[pixel_index] = True
    albedo = np.clip(sample_uv(asset.albedo_srgb, uv), 0.0, 1.0)
    return Reprojection(coverage=coverage.reshape(height, width), albedo_srgb=scatter(albedo),
                        albedo_linear=scatter(srgb_to_linear_np(albedo)),
                        specular=scatter(sample_uv(asset.specular, uv)[:, :1])[..., 0],
                        normal_camera=scatter(detailed @ frame.T), mesh_normal_camera=scatter(n @ frame.T))


def load_mesh_normals(folder: str | Path, vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """``mesh.obj``'s own per-vertex normals (``vn``), or area-weighted face normals when it has none."""
    import trimesh

    mesh = trimesh.load(Path(folder) / "mesh.obj", process=False, force="mesh")
    normals = np.asarray(mesh.vertex_normals, np.float64)
    if normals.shape == vertices.shape:
        return normals
    return trimesh.Trimesh(vertices, faces, process=False).vertex_normals
