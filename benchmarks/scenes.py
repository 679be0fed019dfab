"""Synthetic benchmark scenes with ground truth: a photo, its unwrapped texture ``T``, the run-time G-buffer, and
the true maps and light.

Two kinds (both built from :mod:`svfri.synth.dataset`, never re-implementing its random draws):

* :func:`held_out_scene` -- sample ``seed`` of the dataset's held-out ``test`` split exactly as
  :func:`svfri.synth.dataset.synthesize_sample` makes it (unseen HDR maps, unseen seeds, random pose, camera
  degradations), plus the G-buffer of its simulated *run-time* mesh (the Face-Mesh-like mesh with regressor
  error that the fit would get at run time; the sample record holds that mesh and its camera but not its
  G-buffer, so it is rasterised here the way :func:`svfri.pipeline.geometry_stage.compute_geometry` does, with
  the run-time bake settings of :class:`~svfri.pipeline.geometry_stage.GeometrySettings`).
* :func:`relit_scene` -- a *controlled* scene: the head, pose and run-time mesh of a held-out sample
  (:func:`scene_geometry`), re-rendered with the same forward model (:func:`svfri.synth.dataset.render_face`)
  under a light and skin maps chosen by the caller. Used where one factor must change alone: the light
  (lighting consistency, same face under several environments) or the skin type (skin-tone fairness, same
  heads and lights for every type). The photo is the linear render over a flat grey background, sRGB-encoded
  and quantised to 8 bits, **without** the dataset's camera degradations (white balance, exposure, blur, noise,
  JPEG), so the only thing that differs between the renders of a set is the factor under study.

Lights from the held-out maps (:func:`environment_light`) are normalised as the dataset normalises them
(:func:`svfri.synth.dataset.light_exposure_scale`: mean radiance luminance 1) after a partial auto white
balance of fixed strength (the middle of the dataset's :data:`~svfri.synth.dataset.AUTO_WHITE_BALANCE_RANGE`),
so each environment keeps part of its colour cast, as a camera's auto white balance would leave it.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from svfri.bake.rasterize import rasterize_gbuffer
from svfri.bake.unwrap import unwrap_photo
from svfri.bake.visibility import bake_visibility
from svfri.data.hdri import HELD_OUT_HDRIS, load_hdri
from svfri.geometry.mesh_ops import vertex_normals, vertex_tangents
from svfri.geometry.template import FaceTemplate
from svfri.math.color import linear_to_srgb_np
from svfri.math.colorimetry import SRGB_TO_XYZ
from svfri.pipeline.geometry_stage import GeometrySettings
from svfri.render.environment import environment_to_sh, rotate_environment
from svfri.render.gbuffer import GBuffer
from svfri.synth.dataset import (AUTO_WHITE_BALANCE_RANGE, SynthesisSettings, light_exposure_scale, render_face,
                                 sample_streams, synthesize_sample)
from svfri.synth.skin_maps import SkinSample, generate_skin_maps, sample_params

__all__ = [
    "HELD_OUT_START_SEED", "BACKGROUND_LINEAR", "WHITE_BALANCE_STRENGTH", "UINT8_MAX",
    "Scene", "SceneGeometry", "build_gbuffer", "held_out_scene", "scene_geometry", "skin_maps",
    "environment_light", "relit_scene", "held_out_environments", "gt_maps_float",
]

#: First seed of the held-out ``test`` split (``precompute/make_training_set.py``: ``--split test
#: --start-seed 1000000``); training seeds start at 0, so these never met the networks.
HELD_OUT_START_SEED = 1_000_000
#: Flat background of the controlled renders, linear radiance (an 18 % grey card).
BACKGROUND_LINEAR = 0.18
#: Strength ``k`` of the partial auto white balance of :func:`environment_light`: the middle of the dataset's range.
WHITE_BALANCE_STRENGTH = float(np.mean(AUTO_WHITE_BALANCE_RANGE))
UINT8_MAX = 255.0
_LUMINANCE = SRGB_TO_XYZ[1]


@dataclasses.dataclass
class Scene:
    """One fit input with its ground truth.

    Attributes:
      name: label for tables and plots.
      photo: ``[R, R, 3]`` float32 sRGB in ``[0, 1]`` (the work image: same pixels as ``gbuffer``).
      texture: ``[S, S, 4]`` float32 unwrapped photo ``T`` (sRGB + visibility mask).
      gbuffer: G-buffer of the run-time mesh (what the fit renders through).
      albedo: ``[M, M, 3]`` uint8 GT albedo, sRGB; specular: ``[M, M]`` uint8, linear; normal: ``[M, M, 3]`` uint8
        encoded ``0.5 n + 0.5``.
      light: ``[9, 3]`` float64 GT SH radiance as seen by the photo (camera gains folded in).
      hdri: environment label.
      seed: dataset seed of the head (and, for held-out scenes, of everything else).
      skin_type: 1..6 when the skin was drawn for a forced type, else ``None``.
    """

    name: str
    photo: np.ndarray
    texture: np.ndarray
    gbuffer: GBuffer
    albedo: np.ndarray
    specular: np.ndarray
    normal: np.ndarray
    light: np.ndarray
    hdri: str
    seed: int
    skin_type: int | None = None


@dataclasses.dataclass
class SceneGeometry:
    """The head of a held-out sample without its reflectance or light: true and run-time meshes and G-buffers.

    Attributes:
      seed: dataset seed.
      true_gbuffer: G-buffer of the true posed mesh (renders the photo).
      fit_gbuffer: G-buffer of the simulated run-time mesh (the fit's).
      fit_vertices, fit_normals: subdivided run-time mesh ``[V, 3]`` (world of the run-time camera) for the unwrap.
      fit_world_to_pixel: ``[3, 4]`` run-time camera.
      size: photo side, pixels.
    """

    seed: int
    true_gbuffer: GBuffer
    fit_gbuffer: GBuffer
    fit_vertices: np.ndarray
    fit_normals: np.ndarray
    fit_world_to_pixel: np.ndarray
    size: int


def build_gbuffer(template: FaceTemplate, coarse_vertices: np.ndarray, world_to_pixel: np.ndarray, size: int, *,
                  ray_count: int, seed: int) -> tuple[GBuffer, np.ndarray, np.ndarray]:
    """Subdivides a 468-vertex mesh, bakes its visibility and rasterises it as the geometry stage does.

    Returns ``(gbuffer, subdivided vertices [V, 3], vertex normals [V, 3])``.
    """
    vertices = template.subdivide(np.asarray(coarse_vertices, np.float64))
    normals = vertex_normals(vertices, template.faces_sub)
    tangents = vertex_tangents(vertices, template.faces_sub, template.uv_sub, normals)
    visibility_sh, bent_normal = bake_visibility(vertices, template.faces_sub, normals, ray_count=ray_count, seed=seed)
    gbuffer = rasterize_gbuffer(vertices, template.faces_sub, template.uv_sub, normals, tangents, visibility_sh,
                                bent_normal, world_to_pixel=np.asarray(world_to_pixel, np.float64), height=size,
                                width=size)
    return gbuffer, vertices, normals


def _run_time_gbuffer(template: FaceTemplate, sample, size: int) -> tuple[GBuffer, np.ndarray, np.ndarray]:
    runtime = GeometrySettings()
    return build_gbuffer(template, sample.fit_vertices, sample.fit_world_to_pixel, size,
                         ray_count=runtime.ray_count, seed=runtime.seed)


def held_out_scene(seed: int, template: FaceTemplate, *,
                   settings: SynthesisSettings = SynthesisSettings()) -> Scene:
    """Held-out sample ``seed`` (``split="test"``) with the G-buffer of its run-time mesh (module docstring)."""
    sample = synthesize_sample(seed, split="test", settings=settings, template=template)
    gbuffer, _, _ = _run_time_gbuffer(template, sample, settings.render_size)
    return Scene(name=f"seed {seed}", photo=sample.photo, texture=sample.texture, gbuffer=gbuffer,
                 albedo=sample.albedo, specular=sample.specular, normal=sample.normal,
                 light=np.asarray(sample.light, np.float64), hdri=sample.hdri, seed=int(seed))


def scene_geometry(seed: int, template: FaceTemplate, *,
                   settings: SynthesisSettings = SynthesisSettings()) -> SceneGeometry:
    """The head, pose, camera and run-time mesh of held-out sample ``seed`` (its light and skin are discarded).

    The true G-buffer is baked with the dataset's ray count and the sample's own bake seed, so it is the
    G-buffer that rendered the sample's photo.
    """
    sample = synthesize_sample(seed, split="test", settings=settings, template=template)
    bake_seed = int(sample_streams(seed)["bake"].integers(0, 2 ** 31 - 1))   # as synthesize_sample draws it
    size = settings.render_size
    true_gbuffer, _, _ = build_gbuffer(template, sample.vertices, sample.world_to_pixel, size,
                                       ray_count=settings.ray_count, seed=bake_seed)
    fit_gbuffer, fit_vertices, fit_normals = _run_time_gbuffer(template, sample, size)
    return SceneGeometry(seed=int(seed), true_gbuffer=true_gbuffer, fit_gbuffer=fit_gbuffer,
                         fit_vertices=fit_vertices, fit_normals=fit_normals,
                         fit_world_to_pixel=np.asarray(sample.fit_world_to_pixel, np.float64), size=size)


def skin_maps(seed: int, template: FaceTemplate, *, size: int, skin_type: int | None = None) -> SkinSample:
    """The GT skin maps of head ``seed``: the dataset's own (``skin_type=None``), or a face drawn for a forced skin
    type (Chardon category 1..6) without facial hair, so that cheeks and forehead show skin only. The forced draw
    uses the generator ``default_rng([seed, skin_type])``: heads of the same seed differ only in their skin."""
    if skin_type is None:
        return generate_skin_maps(template.region_masks, seed=int(seed), size=size)
    params = sample_params(np.random.default_rng([int(seed), int(skin_type)]), skin_type=int(skin_type),
                           beard_probability=0.0)
    return generate_skin_maps(template.region_masks, seed=int(seed), size=size, params=params)


def environment_light(name: str, *, yaw_degrees: float = 0.0,
                      white_balance_strength: float = WHITE_BALANCE_STRENGTH) -> np.ndarray:
    """``[9, 3]`` SH light of HDR map ``name`` turned by ``yaw_degrees``, partially white-balanced and exposed to
    a mean radiance luminance of 1 (module docstring; the dataset's ``draw_lighting`` without its random draws).

    White balance: per-channel gains ``(c / Y.c)^-k`` on the mean radiance colour ``c`` (the SH DC term).
    """
    sh = environment_to_sh(rotate_environment(load_hdri(name), float(yaw_degrees))).astype(np.float64)
    mean_colour = np.maximum(sh[0], np.finfo(np.float32).tiny)
    sh = sh * (mean_colour / float(_LUMINANCE @ mean_colour)) ** -white_balance_strength
    return sh * light_exposure_scale(sh)


def held_out_environments(count: int) -> list[tuple[str, float]]:
    """``count`` distinct ``(map name, yaw degrees)`` environments from the held-out maps: every map at yaw 0, then
    every map turned by 120 degrees, then by 240 (so up to ``3 x`` the number of held-out maps)."""
    yaws = (0.0, 120.0, 240.0)
    environments = [(name, yaw) for yaw in yaws for name in HELD_OUT_HDRIS]
    if count > len(environments):
        raise ValueError(f"at most {len(environments)} held-out environments, asked for {count}")
    return environments[:count]


def _to_uint8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.round(np.asarray(values, np.float32) * UINT8_MAX), 0, UINT8_MAX).astype(np.uint8)


def relit_scene(geometry: SceneGeometry, skin: SkinSample, light_sh: np.ndarray, template: FaceTemplate, *,
                name: str, hdri: str, texture_size: int = SynthesisSettings().texture_size,
                skin_type: int | None = None) -> Scene:
    """Renders ``skin`` on ``geometry``'s head under ``light_sh`` and unwraps it as at run time (module docstring).

    The photo: :func:`svfri.synth.dataset.render_face` of the GT maps (stored as 8-bit, as the dataset stores
    them) over a flat :data:`BACKGROUND_LINEAR` grey, clipped to ``[0, 1]``, sRGB-encoded and quantised to 8 bits.
    """
    albedo, specular, normal = _to_uint8(skin.albedo_srgb()), _to_uint8(skin.specular), _to_uint8(skin.normal_map)
    radiance = render_face(geometry.true_gbuffer, albedo=albedo, specular=specular, normal=normal,
                           roughness=skin.roughness, light_sh=light_sh)
    linear = geometry.true_gbuffer.scatter(radiance, np.float32(BACKGROUND_LINEAR))
    photo = _to_uint8(linear_to_srgb_np(np.clip(linear, 0.0, 1.0))).astype(np.float32) / np.float32(UINT8_MAX)
    texture = unwrap_photo(photo, geometry.fit_vertices, template.faces_sub, template.uv_sub, geometry.fit_normals,
                           world_to_pixel=geometry.fit_world_to_pixel, size=texture_size,
                           mirror_vertex=template.mirror_vertex_sub, gbuffer=geometry.fit_gbuffer)
    return Scene(name=name, photo=photo, texture=texture, gbuffer=geometry.fit_gbuffer, albedo=albedo,
                 specular=specular, normal=normal, light=np.asarray(light_sh, np.float64), hdri=hdri,
                 seed=geometry.seed, skin_type=skin_type)


def gt_maps_float(scene: Scene) -> dict[str, np.ndarray]:
    """The scene's GT maps as float32 ``[M, M, C]`` in ``[0, 1]`` (albedo sRGB, specular ``C = 1``, normal encoded)."""
    scale = np.float32(1.0 / UINT8_MAX)
    return {"albedo": scene.albedo.astype(np.float32) * scale,
            "specular": scene.specular[..., None].astype(np.float32) * scale,
            "normal": scene.normal.astype(np.float32) * scale}
