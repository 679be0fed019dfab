"""Rendering a face asset under an HDR environment, from the photo's view or from novel views.

The same shading as the fit (:func:`svfri.render.shading.shade`: ``I = t_a (1 - E_s) L_d + L_s``), with the lighting
taken from an equirectangular HDR map instead of fitted SH:

* **Diffuse**: the map's order-2 SH projection (:func:`svfri.render.environment.environment_to_sh`), windowed by
  the Lanczos sigma factors (:func:`svfri.math.sh.window_sh`), multiplied with the baked visibility in SH
  (self-occlusion) and convolved with the clamped cosine. Order 2 captures irradiance to within a few percent for
  any map (Ramamoorthi & Hanrahan 2001), but self-shadowing from small bright lights is blurred to the same low
  frequency. The window is there because a map with a few strong lights (a studio) has large band-2 terms whose
  truncated product with the visibility rings **below zero**: unwindowed, the ``studio`` sample map gave negative
  diffuse radiance on 3 % of a face's pixels (black patches round the eyes and under the nose; minimum -0.53 against
  a median of 1.53), windowed none (minimum 0.35). The cost is a slightly softer light. The fit does not window:
  its SH light is fitted through the same unwindowed model it is rendered with.
* **Specular**: the split sum with ``L_pre`` from the GGX-prefiltered mip chain of the map
  (:class:`svfri.render.environment.PrefilteredEnvironment`), looked up at the reflection vector.

Views: the photo's own camera (``world_to_pixel`` of ``fit.json``), or a novel view: the head turned by
``yaw`` (about ``+Y``) then ``pitch`` (about ``+X``) **together with its environment**, i.e. the camera orbits the
head and the light stays attached to the head. Mesh, normals, tangents, visibility SH and the lighting are all
rotated by the same ``R``; the camera is orthographic along ``-Z`` framing the rotated mesh.

Tone mapping for PNG: the ACES filmic curve in Narkowicz's fit ("ACES Filmic Tone Mapping Curve", 2015),
``f(x) = x (2.51 x + 0.03) / (x (2.43 x + 0.59) + 0.14)``, then sRGB encoding. EXR output stays linear.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import tensorflow as tf

from svfri.bake.rasterize import rasterize_gbuffer
from svfri.bake.visibility import bake_visibility
from svfri.geometry.camera import framing_camera as camera_framing
from svfri.geometry.mesh_ops import vertex_normals, vertex_tangents
from svfri.io.output_set import FaceAsset
from svfri.math.color import linear_to_srgb_np
from svfri.math.colorimetry import SRGB_TO_XYZ
from svfri.math.sh import CLAMPED_COSINE_COEFFICIENT_FACTORS, rotate_sh, sh_basis_np, window_sh
from svfri.render.environment import PrefilteredEnvironment, apply_exposure, environment_to_sh, rotate_environment
from svfri.geometry.gbuffer import GBuffer
from svfri.render.materials import atlas_gbuffer, build_atlas
from svfri.render.shading import gbuffer_to_tensors, shade

__all__ = ["EnvironmentLighting", "environment_lighting", "frontal_irradiance", "frontal_irradiance_luminance", "matching_exposure_ev", "view_rotation", "framing_camera", "render_asset",
           "tonemap_aces", "with_visibility", "shade_asset", "NOVEL_VIEW_MARGIN"]

#: Fraction of a novel view's image left around the mesh's projected bounds, on each side.
NOVEL_VIEW_MARGIN = 0.08
# Narkowicz 2015 ACES fit coefficients.
_ACES_A, _ACES_B, _ACES_C, _ACES_D, _ACES_E = 2.51, 0.03, 2.43, 0.59, 0.14


@dataclasses.dataclass(frozen=True)
class EnvironmentLighting:
    """An HDR environment prepared for shading: its windowed SH projection ``[9, 3]`` (diffuse; module docstring) and
    the prefiltered chain (specular)."""

    light_sh: np.ndarray
    prefiltered: PrefilteredEnvironment


def environment_lighting(environment: np.ndarray, *, rotate_degrees: float = 0.0, exposure_ev: float = 0.0,
                         match_light_sh: np.ndarray | None = None) -> EnvironmentLighting:
    """Rotates (about ``+Y``), exposes (``x 2^EV``), projects and prefilters an ``[H, 2H, 3]`` linear map.

    ``match_light_sh`` (``[9, 3]``, e.g. the light fitted to a photo) adds :func:`matching_exposure_ev` stops on top
    of ``exposure_ev``, so the face is exposed as it was under that light. The match is computed on the **windowed**
    SH the renderer shades with (a map's unwindowed band-1/2 coefficients carry more frontal irradiance than the
    shader applies: matched on them, a studio map came out 0.6 EV over-exposed). The SH projection is linear, so it
    is taken once, before the exposure, and scaled. Raises ValueError when there is no frontal irradiance to match.
    """
    rotated = rotate_environment(environment, rotate_degrees)
    light_sh = environment_to_sh(rotated).astype(np.float64)
    if match_light_sh is not None:
        exposure_ev = exposure_ev + matching_exposure_ev(window_sh(light_sh), match_light_sh)
    return EnvironmentLighting(window_sh(light_sh * 2.0 ** float(exposure_ev)),
                               PrefilteredEnvironment.from_environment(apply_exposure(rotated, exposure_ev)))


def frontal_irradiance(light_sh: np.ndarray, direction=(0.0, 0.0, 1.0)) -> np.ndarray:
    """RGB irradiance ``[3]`` on an unoccluded surface facing ``direction`` (default the camera, ``+Z``) under SH
    radiance ``light_sh [9, 3]``: ``E(n) = sum_i A_l(i) c_i Y_i(n)`` (Ramamoorthi & Hanrahan 2001; radiance x sr)."""
    basis = sh_basis_np(np.asarray(direction, np.float64) / np.linalg.norm(direction))
    return (np.asarray(CLAMPED_COSINE_COEFFICIENT_FACTORS) * basis) @ np.asarray(light_sh, np.float64)


def frontal_irradiance_luminance(light_sh: np.ndarray, direction=(0.0, 0.0, 1.0)) -> float:
    """Rec. 709 luminance ``Y`` of :func:`frontal_irradiance`."""
    return float(SRGB_TO_XYZ[1] @ frontal_irradiance(light_sh, direction))


def matching_exposure_ev(environment_sh: np.ndarray, reference_sh: np.ndarray) -> float:
    """Exposure (stops) that gives the environment the reference light's frontal irradiance
    (:func:`frontal_irradiance_luminance`): relit under ``2^ev x`` the environment, the face is exposed as the photo
    was under the fitted light. Raises ValueError when either light gives no frontal irradiance."""
    environment, reference = frontal_irradiance_luminance(environment_sh), frontal_irradiance_luminance(reference_sh)
    if not (environment > 0 and reference > 0):
        raise ValueError("no frontal irradiance to match (a light from behind the face?)")
    return float(np.log2(reference / environment))


def view_rotation(yaw_degrees: float = 0.0, pitch_degrees: float = 0.0) -> np.ndarray:
    """``R = R_pitch R_yaw`` (``[3, 3]``, acting on column vectors) turning the head in front of the camera.

    Positive yaw turns the face to its own left (the viewer's right): ``+Z`` goes to ``(sin yaw, 0, cos yaw)``.
    Positive pitch tilts the face up: ``+Z`` goes to ``(0, sin pitch, cos pitch)``.
    """
    yaw, pitch = math.radians(yaw_degrees), math.radians(pitch_degrees)
    r_y = np.array([[math.cos(yaw), 0, math.sin(yaw)], [0, 1, 0], [-math.sin(yaw), 0, math.cos(yaw)]])
    r_x = np.array([[1, 0, 0], [0, math.cos(pitch), math.sin(pitch)], [0, -math.sin(pitch), math.cos(pitch)]])
    return r_x @ r_y


def framing_camera(vertices: np.ndarray, size: int, *, margin: float = NOVEL_VIEW_MARGIN) -> np.ndarray:
    """A ``world_to_pixel`` (orthographic along ``-Z``) that fits the vertices' ``x, y`` bounds, centred, into a
    square image, leaving ``margin`` of the side free on each side (:func:`svfri.geometry.camera.framing_camera`)."""
    return camera_framing(vertices, size=size, fill=1.0 - 2.0 * margin).world_to_pixel


def tonemap_aces(linear: np.ndarray) -> np.ndarray:
    """ACES filmic (Narkowicz 2015) then sRGB encoding: linear radiance ``>= 0`` -> display values in ``[0, 1]``."""
    x = np.maximum(linear, 0.0)
    mapped = np.clip(x * (_ACES_A * x + _ACES_B) / (x * (_ACES_C * x + _ACES_D) + _ACES_E), 0.0, 1.0)
    return linear_to_srgb_np(mapped)


def with_visibility(asset: FaceAsset) -> FaceAsset:
    """The asset with per-vertex visibility SH and bent normals, baked now if it has none."""
    if asset.visibility_sh is not None and asset.bent_normal is not None:
        return asset
    visibility_sh, bent_normal = bake_visibility(asset.vertices, asset.faces,
                                                 vertex_normals(asset.vertices, asset.faces))
    return dataclasses.replace(asset, visibility_sh=visibility_sh.astype(np.float64),
                               bent_normal=bent_normal.astype(np.float64))


def render_asset(asset: FaceAsset, lighting: EnvironmentLighting, *, rotation: np.ndarray | None = None,
                 world_to_pixel: np.ndarray, height: int, width: int) -> tuple[np.ndarray, GBuffer]:
    """Renders the asset under the lighting; returns linear radiance ``[H, W, 3]`` (0 off the face) and the G-buffer.

    Args:
      asset: from :func:`svfri.io.output_set.load_face_asset`.
      lighting: from :func:`environment_lighting`, in the head's world frame.
      rotation: ``[3, 3]`` view rotation (:func:`view_rotation`) applied to head and lighting; ``None`` = identity.
      world_to_pixel: camera of the (rotated) frame, e.g. the photo's or :func:`framing_camera`'s.

    An asset without visibility is baked here (:func:`with_visibility` bakes once for many views).
    """
    rotation = np.eye(3) if rotation is None else np.asarray(rotation, dtype=np.float64)
    asset = with_visibility(asset)
    vertices = asset.vertices @ rotation.T
    normals = vertex_normals(vertices, asset.faces)
    tangents = vertex_tangents(vertices, asset.faces, asset.uv, normals)
    rotation_tf = tf.constant(rotation, tf.float64)
    rotated_visibility = rotate_sh(tf.constant(asset.visibility_sh[..., None]), rotation_tf)[..., 0]
    light_sh = rotate_sh(tf.constant(lighting.light_sh), rotation_tf).numpy().astype(np.float32)
    bent_normal = asset.bent_normal @ rotation.T
    gbuffer = rasterize_gbuffer(vertices, asset.faces, asset.uv, normals, tangents, rotated_visibility.numpy(),
                                bent_normal, world_to_pixel=world_to_pixel, height=height, width=width)
    if gbuffer.pixel_count == 0:
        return np.zeros((height, width, 3), np.float32), gbuffer

    def environment_radiance(reflection: tf.Tensor, roughness: tf.Tensor) -> tf.Tensor:
        # Reflection vectors are in the rotated frame; the prefiltered map is in the head's frame: R^T r.
        directions = reflection.numpy() @ rotation
        values = lighting.prefiltered.lookup(directions, np.broadcast_to(roughness.numpy(), directions.shape[:1]))
        return tf.constant(values, reflection.dtype)

    radiance = shade_asset(asset, gbuffer, light_sh, prefiltered_radiance=environment_radiance)
    return gbuffer.scatter(radiance.astype(np.float32)), gbuffer


def shade_asset(asset: FaceAsset, gbuffer: GBuffer, light_sh: np.ndarray, *, prefiltered_radiance=None) -> np.ndarray:
    """Linear radiance ``[N, 3]`` of the G-buffer's pixels (rasterised from ``asset``'s mesh and UVs) with the
    asset's materials: its own maps, or with parts the skin maps and the parts' materials packed into one atlas
    (:mod:`svfri.render.materials`). ``light_sh [9, 3]`` and ``prefiltered_radiance`` as for
    :func:`svfri.render.shading.shade`."""
    albedo, specular, normal, roughness = asset.albedo_srgb, asset.specular, asset.normal_map, asset.roughness
    if asset.face_material is not None and asset.parts:
        atlas = build_atlas(albedo, specular, normal, asset.roughness, asset.parts)
        gbuffer = atlas_gbuffer(gbuffer, asset.face_material, atlas)
        albedo, specular, normal, roughness = atlas.albedo_srgb, atlas.specular, atlas.normal, atlas.roughness
    shaded = shade(gbuffer_to_tensors(gbuffer), albedo_srgb_map=albedo, specular_map=specular, normal_map=normal,
                   light_sh=np.asarray(light_sh, np.float32), roughness=roughness,
                   prefiltered_radiance=prefiltered_radiance)
    return shaded["radiance"].numpy()
