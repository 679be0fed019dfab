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
* :func:`hard_light_scene` -- the same controlled scene, lit by a dim order-2 SH fill **plus** a directional "sun"
  (key light) with ray-traced hard shadows and a sharp GGX highlight: light the fit's order-2 SH model cannot
  represent, as real photos under a hard key light have. Shows whether a fitting stage bakes cast shadows or
  highlights into the albedo. :func:`hard_light_setups` lists deterministic key/fill combinations.

Lights from the held-out maps (:func:`environment_light`) are normalised as the dataset normalises them
(:func:`svfri.synth.dataset.light_exposure_scale`: mean radiance luminance 1) after a partial auto white
balance of fixed strength (the middle of the dataset's :data:`~svfri.synth.dataset.AUTO_WHITE_BALANCE_RANGE`),
so each environment keeps part of its colour cast, as a camera's auto white balance would leave it.
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from svfri.bake.rasterize import rasterize_gbuffer
from svfri.bake.rays import any_hit
from svfri.bake.unwrap import unwrap_photo
from svfri.bake.visibility import bake_visibility
from svfri.data.hdri import HELD_OUT_HDRIS, load_hdri
from svfri.geometry.mesh_ops import vertex_normals, vertex_tangents
from svfri.geometry.template import FaceTemplate
from svfri.math.brdf import SKIN_F0, ggx_specular_brdf, roughness_to_alpha
from svfri.math.color import linear_to_srgb_np, srgb_to_linear
from svfri.math.colorimetry import SRGB_TO_XYZ
from svfri.math.sh import sh_basis_np
from svfri.pipeline.geometry_stage import GeometrySettings
from svfri.render.dfg import dfg_lookup
from svfri.render.environment import environment_to_sh, rotate_environment
from svfri.render.gbuffer import VIEW_DIRECTION, GBuffer
from svfri.render.relight import frontal_irradiance, frontal_irradiance_luminance
from svfri.render.shading import MIN_N_DOT_V, shading_normal
from svfri.render.texture import sample_bilinear
from svfri.synth.dataset import (AUTO_WHITE_BALANCE_RANGE, SynthesisSettings, light_exposure_scale, render_face,
                                 sample_streams, synthesize_sample)
from svfri.synth.skin_maps import SkinSample, generate_skin_maps, sample_params

__all__ = [
    "HELD_OUT_START_SEED", "BACKGROUND_LINEAR", "WHITE_BALANCE_STRENGTH", "UINT8_MAX",
    "Scene", "SceneGeometry", "build_gbuffer", "held_out_scene", "scene_geometry", "skin_maps",
    "environment_light", "relit_scene", "held_out_environments", "gt_maps_float",
    "SHADOW_RAY_OFFSET_CM", "HARD_LIGHT_FILL_IRRADIANCE", "SUN_COLOUR", "HardLightSetup", "directional_light_sh",
    "frontal_irradiance", "sun_lit_mask", "render_sun", "hard_light_scene", "hard_light_ambient",
    "hard_light_setups",
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

#: Shadow rays of :func:`sun_lit_mask` start this far above the surface, along the interpolated normal (cm): far
#: above float32 precision at face coordinates (~1e-6 cm) and above the gap between the flat triangles (edges
#: ~2 mm) and the interpolated normal's smooth surface, so a ray does not hit its own or a neighbouring triangle;
#: far below any real occluder's distance (nose, brow, lip: millimetres to centimetres). Measured on held-out
#: heads: offsets from 0.002 to 0.02 cm change the shadowed pixels by < 10 %, no pixel is shadowed for a sun on
#: the view axis, and larger offsets start to move origins past occluding edges that lie within a pixel.
SHADOW_RAY_OFFSET_CM = 0.005
#: Fill of :func:`hard_light_ambient`: the held-out environment is scaled so that an unoccluded surface facing
#: the camera receives this luminance irradiance from it (radiance units x sr): 30 % of the ``pi`` that a
#: uniform environment of radiance luminance 1 (the dataset's exposure normalisation) gives. Normalising the
#: frontal irradiance rather than the mean radiance keeps maps with a bright frontal sun (``sunrise``) from
#: over-exposing the face once the key light is added.
HARD_LIGHT_FILL_IRRADIANCE = 0.3 * math.pi
#: Linear-RGB colour of the sun of :func:`hard_light_setups`: neutral white of luminance 1 (``Y.c = 1``), as a
#: white-balanced key light; the fill keeps its environment's partial colour cast.
SUN_COLOUR = np.array([1.0, 1.0, 1.0])
#: Key lights of :func:`hard_light_setups`: ``(angle from the view axis +Z, degrees; azimuth in the image plane,
#: degrees counter-clockwise from the viewer's right (+X, the subject's left) towards up (+Y); the sun's share
#: of the frontal irradiance, see hard_light_setups; label of the side as seen in the photo)``.
_KEY_LIGHTS = (
    (50.0, 135.0, 0.70, "upper left"),
    (45.0, 45.0, 0.65, "upper right"),
    (40.0, 90.0, 0.75, "above"),
    (60.0, 165.0, 0.70, "left"),
    (55.0, 20.0, 0.60, "right"),
    (50.0, 110.0, 0.75, "upper left"),
    (35.0, 60.0, 0.65, "upper right"),
    (60.0, 80.0, 0.70, "above"),
    (55.0, 150.0, 0.60, "upper left"),
    (50.0, 30.0, 0.70, "upper right"),
    (45.0, 100.0, 0.65, "above"),
    (40.0, 180.0, 0.75, "left"),
)
#: Guards a zero-length half vector (sun exactly opposite the view) and a zero ``n.l`` in the GGX visibility term.
_DIRECTION_EPSILON = 1e-12


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
      true_vertices, true_normals: subdivided true posed mesh ``[V, 3]`` (world, cm) and its unit vertex normals,
        the mesh ``true_gbuffer`` rasterises (its ``triangle_id`` indexes ``template.faces_sub``); shadow rays of
        :func:`hard_light_scene` are cast against it. ``None`` only for records built by hand without it.
    """

    seed: int
    true_gbuffer: GBuffer
    fit_gbuffer: GBuffer
    fit_vertices: np.ndarray
    fit_normals: np.ndarray
    fit_world_to_pixel: np.ndarray
    size: int
    true_vertices: np.ndarray | None = None
    true_normals: np.ndarray | None = None


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
    true_gbuffer, true_vertices, true_normals = build_gbuffer(template, sample.vertices, sample.world_to_pixel, size,
                                                             ray_count=settings.ray_count, seed=bake_seed)
    fit_gbuffer, fit_vertices, fit_normals = _run_time_gbuffer(template, sample, size)
    return SceneGeometry(seed=int(seed), true_gbuffer=true_gbuffer, fit_gbuffer=fit_gbuffer,
                         fit_vertices=fit_vertices, fit_normals=fit_normals,
                         fit_world_to_pixel=np.asarray(sample.fit_world_to_pixel, np.float64), size=size,
                         true_vertices=true_vertices, true_normals=true_normals)


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


def _gt_maps_uint8(skin: SkinSample) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The skin's maps as the dataset stores them: ``(albedo sRGB [M, M, 3], specular [M, M], normal [M, M, 3])``
    uint8."""
    return _to_uint8(skin.albedo_srgb()), _to_uint8(skin.specular), _to_uint8(skin.normal_map)


def _scene_from_radiance(geometry: SceneGeometry, template: FaceTemplate, radiance: np.ndarray, *,
                         maps: tuple[np.ndarray, np.ndarray, np.ndarray], light: np.ndarray, name: str, hdri: str,
                         texture_size: int, skin_type: int | None) -> Scene:
    """The shared tail of the controlled scenes: photo encoding, run-time unwrap, :class:`Scene`.

    The photo: ``radiance`` (``[N, 3]`` linear, the true G-buffer's pixels) over a flat :data:`BACKGROUND_LINEAR`
    grey, clipped to ``[0, 1]``, sRGB-encoded and quantised to 8 bits; ``T`` is that photo unwrapped through the
    run-time mesh and G-buffer, as the pipeline unwraps a real photo.
    """
    albedo, specular, normal = maps
    linear = geometry.true_gbuffer.scatter(np.asarray(radiance, np.float32), np.float32(BACKGROUND_LINEAR))
    photo = _to_uint8(linear_to_srgb_np(np.clip(linear, 0.0, 1.0))).astype(np.float32) / np.float32(UINT8_MAX)
    texture = unwrap_photo(photo, geometry.fit_vertices, template.faces_sub, template.uv_sub, geometry.fit_normals,
                           world_to_pixel=geometry.fit_world_to_pixel, size=texture_size,
                           mirror_vertex=template.mirror_vertex_sub, gbuffer=geometry.fit_gbuffer)
    return Scene(name=name, photo=photo, texture=texture, gbuffer=geometry.fit_gbuffer, albedo=albedo,
                 specular=specular, normal=normal, light=np.asarray(light, np.float64), hdri=hdri,
                 seed=geometry.seed, skin_type=skin_type)


def relit_scene(geometry: SceneGeometry, skin: SkinSample, light_sh: np.ndarray, template: FaceTemplate, *,
                name: str, hdri: str, texture_size: int = SynthesisSettings().texture_size,
                skin_type: int | None = None) -> Scene:
    """Renders ``skin`` on ``geometry``'s head under ``light_sh`` and unwraps it as at run time (module docstring).

    The photo: :func:`svfri.synth.dataset.render_face` of the GT maps (stored as 8-bit, as the dataset stores
    them) over a flat :data:`BACKGROUND_LINEAR` grey, clipped to ``[0, 1]``, sRGB-encoded and quantised to 8 bits.
    """
    maps = _gt_maps_uint8(skin)
    radiance = render_face(geometry.true_gbuffer, albedo=maps[0], specular=maps[1], normal=maps[2],
                           roughness=skin.roughness, light_sh=light_sh)
    return _scene_from_radiance(geometry, template, radiance, maps=maps, light=light_sh, name=name, hdri=hdri,
                                texture_size=texture_size, skin_type=skin_type)


# ------------------------------------------------------------------------------------------------ hard key light
def _unit_direction(direction) -> np.ndarray:
    direction = np.asarray(direction, np.float64).reshape(3)
    length = float(np.linalg.norm(direction))
    if not length > 0.0:
        raise ValueError(f"sun_direction must be a non-zero 3-vector, got {direction}")
    return direction / length


def directional_light_sh(direction, irradiance) -> np.ndarray:
    """``[9, 3]`` order-2 SH projection of a directional light: ``c_i = E * Y_i(l)``.

    A distant light of irradiance ``E`` (RGB, at normal incidence) from unit direction ``l`` is the radiance
    ``L(w) = E delta(w - l)``; projecting, ``c_i = int L(w) Y_i(w) dw = E Y_i(l)``. Its SH irradiance
    ``sum A_l c_lm Y_lm(n)`` is then the order-2 SH truncation of the sun's true irradiance ``E max(n.l, 0)``
    (Ramamoorthi & Hanrahan 2001), i.e. its least-squares best order-2 approximation over all normals; facing the
    sun it gives ``E (1/4 + 1/2 + 5/16) = 1.0625 E``.

    Args:
      direction: 3-vector towards the light, world space (normalised here).
      irradiance: RGB irradiance at normal incidence (radiance units x sr), scalar or ``[3]``.
    """
    basis = sh_basis_np(_unit_direction(direction))                                         # [9]
    return basis[:, None] * np.broadcast_to(np.asarray(irradiance, np.float64), (3,))[None, :]


def _surface_points(gbuffer: GBuffer, vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """``[N, 3]`` float64 surface point of each covered pixel, ``sum_k b_k v_k`` on its visible triangle."""
    corners = np.asarray(vertices, np.float64)[np.asarray(faces)[gbuffer.triangle_id]]       # [N, 3, 3]
    return np.einsum("nk,nkc->nc", gbuffer.barycentric.astype(np.float64), corners)


def sun_lit_mask(gbuffer: GBuffer, vertices: np.ndarray, faces: np.ndarray, sun_direction, *,
                 backend: str = "auto") -> np.ndarray:
    """``[N]`` bool: True where the sun reaches the pixel's surface point.

    Lit means (1) the interpolated geometric normal faces the sun, ``N.l > 0`` (else the point is in its own,
    attached shadow), and (2) the shadow ray ``p + SHADOW_RAY_OFFSET_CM N + t l``, ``t > 0``, from the pixel's
    surface point ``p`` (barycentrics on ``vertices``) hits no triangle of the mesh (:func:`svfri.bake.rays.any_hit`,
    two-sided): no cast shadow. The mesh is the face disc only, so nothing outside it (hair, ears, shoulders)
    casts shadows.

    Args:
      gbuffer: G-buffer rasterised from ``vertices`` / ``faces``.
      vertices: ``[V, 3]`` world positions (cm); faces: ``[F, 3]`` the triangles ``gbuffer.triangle_id`` indexes.
      sun_direction: 3-vector towards the sun, world space (normalised here).
      backend: ray-casting backend of :func:`svfri.bake.rays.any_hit`.
    """
    sun = _unit_direction(sun_direction)
    normal = gbuffer.normal.astype(np.float64)
    facing = normal @ sun > 0.0
    origins = _surface_points(gbuffer, vertices, faces)[facing] + SHADOW_RAY_OFFSET_CM * normal[facing]
    blocked = any_hit(origins, np.broadcast_to(sun, origins.shape), vertices, faces, backend=backend)
    lit = np.zeros(gbuffer.pixel_count, dtype=bool)
    lit[np.flatnonzero(facing)[~blocked]] = True
    return lit


def render_sun(gbuffer: GBuffer, *, albedo: np.ndarray, specular: np.ndarray, normal: np.ndarray,
               roughness: np.ndarray, sun_direction, sun_radiance, lit: np.ndarray) -> np.ndarray:
    """Linear radiance ``[N, 3]`` float32 a directional sun adds to the covered pixels (point-light shading).

    With ``E`` the sun's RGB irradiance at normal incidence, ``l`` the unit direction towards it, ``v = +Z``, the
    shading normal ``n`` (the normal map on the G-buffer's frame, :func:`svfri.render.shading.shading_normal`),
    ``h = normalize(v + l)`` and ``lit`` from :func:`sun_lit_mask`::

        L_sun = lit * E * max(n.l, 0) * ( t_a (1 - E_s) / pi  +  D(n.h) V(n.v, n.l) F(v.h) )

    * ``t_a`` the albedo decoded to linear before bilinear filtering, ``F0 = SKIN_F0 t_s``, ``alpha =
      roughness^2``: sampled exactly as :func:`svfri.render.shading.shade` samples them.
    * ``E_s = F0 DFG1(n.v, r) + DFG2(n.v, r)``: the diffuse weight is the shader's own (eq. 5 with its
      energy split), so the sun's diffuse and the SH diffuse share one albedo model; a Lambertian ``1/pi``.
    * ``D V F``: GGX, height-correlated Smith, Schlick (:func:`svfri.math.brdf.ggx_specular_brdf`), 1/sr; no
      specular occlusion factor (the ray-traced ``lit`` replaces it for this light).

    Units: ``E`` in radiance units x sr, so the result is in the same radiance units as the SH render.

    Args:
      gbuffer: the true G-buffer.
      albedo: ``[M, M, 3]`` uint8 sRGB; specular: ``[M, M]`` uint8 linear; normal: ``[M, M, 3]`` uint8 encoded.
      roughness: ``[M, M]`` float perceptual roughness.
      sun_direction: 3-vector towards the sun (normalised here); sun_radiance: RGB ``E``, scalar or ``[3]``.
      lit: ``[N]`` bool from :func:`sun_lit_mask`.
    """
    sun = _unit_direction(sun_direction)
    irradiance = np.broadcast_to(np.asarray(sun_radiance, np.float64), (3,))
    scale = np.float32(1.0 / UINT8_MAX)
    uv = tf.constant(gbuffer.uv, tf.float32)
    albedo_linear = sample_bilinear(srgb_to_linear(tf.constant(albedo.astype(np.float32) * scale)), uv)
    intensity = sample_bilinear(tf.constant(specular[..., None].astype(np.float32) * scale), uv)
    texel = sample_bilinear(tf.constant(normal.astype(np.float32) * scale), uv)
    pixel_roughness = sample_bilinear(tf.constant(np.asarray(roughness, np.float32)[..., None]), uv)[..., 0]
    shading = shading_normal(texel, tf.constant(gbuffer.normal), tf.constant(gbuffer.tangent))
    n_dot_v = tf.maximum(tf.reduce_sum(shading * tf.constant(VIEW_DIRECTION), axis=-1), MIN_N_DOT_V)
    dfg = dfg_lookup(n_dot_v, pixel_roughness).numpy().astype(np.float64)                   # [N, 2]

    n = shading.numpy().astype(np.float64)
    n_dot_v, pixel_roughness = n_dot_v.numpy().astype(np.float64), pixel_roughness.numpy().astype(np.float64)
    f0 = SKIN_F0 * intensity.numpy()[:, 0].astype(np.float64)                               # [N]
    view = VIEW_DIRECTION.astype(np.float64)
    half = view + sun
    half = half / max(float(np.linalg.norm(half)), _DIRECTION_EPSILON)
    n_dot_l = n @ sun
    cosine = np.maximum(n_dot_l, 0.0) * np.asarray(lit, np.float64)                         # [N]
    specular_albedo = f0 * dfg[:, 0] + dfg[:, 1]                                            # E_s
    brdf_specular = ggx_specular_brdf(n_dot_v, np.maximum(n_dot_l, _DIRECTION_EPSILON), np.clip(n @ half, 0.0, 1.0),
                                      float(np.clip(view @ half, 0.0, 1.0)), roughness_to_alpha(pixel_roughness),
                                      f0)                                                   # [N], 1/sr
    diffuse = albedo_linear.numpy().astype(np.float64) * ((1.0 - specular_albedo) / math.pi)[:, None]
    radiance = (diffuse + brdf_specular[:, None]) * (cosine[:, None] * irradiance[None, :])
    return radiance.astype(np.float32)


def hard_light_scene(geometry: SceneGeometry, skin: SkinSample, template: FaceTemplate, *, ambient_sh: np.ndarray,
                     sun_direction, sun_radiance, name: str, hdri: str = "hard sun",
                     texture_size: int = SynthesisSettings().texture_size, skin_type: int | None = None,
                     backend: str = "auto") -> Scene:
    """Renders ``skin`` on ``geometry``'s head under an SH fill plus a hard directional sun; unwraps as at run time.

    Photo radiance per covered pixel of the true G-buffer::

        I = render_face(ambient_sh)  +  render_sun(sun_direction, sun_radiance, sun_lit_mask(...))

    the project's forward model under the order-2 fill (:func:`svfri.synth.dataset.render_face`, clamped at 0)
    plus the sun with ray-traced cast and attached shadows against the true mesh (:func:`sun_lit_mask`,
    :func:`render_sun`). Then the same encoding and unwrap as :func:`relit_scene` (grey background, clip, sRGB,
    8 bits; no camera degradations). With ``sun_radiance = 0`` the scene equals ``relit_scene(ambient_sh)``.

    ``Scene.light`` is ``ambient_sh + directional_light_sh(sun_direction, sun_radiance)``: the order-2 SH
    projection of the whole light (the fill is order-2 already; the sun's delta projects to ``E Y(l)``), i.e. the
    least-squares best light the fit's model can hold, so light metrics stay meaningful. The photo holds what
    that model cannot: the sun's cast shadows and its sharp highlight.

    Args:
      geometry: from :func:`scene_geometry` (needs ``true_vertices``).
      skin: GT maps (:func:`skin_maps`).
      template: the face template (its ``faces_sub`` are the true mesh's triangles).
      ambient_sh: ``[9, 3]`` SH radiance of the fill, e.g. :func:`hard_light_ambient`.
      sun_direction: 3-vector towards the sun, world space (``+X`` subject's left, ``+Y`` up, ``+Z`` to the camera).
      sun_radiance: RGB irradiance of the sun at normal incidence (radiance units x sr), scalar or ``[3]``.
      name, hdri, texture_size, skin_type: as :func:`relit_scene`.
      backend: ray-casting backend of :func:`svfri.bake.rays.any_hit`.
    """
    if geometry.true_vertices is None:
        raise ValueError("geometry has no true_vertices; build it with scene_geometry()")
    maps = _gt_maps_uint8(skin)
    ambient = render_face(geometry.true_gbuffer, albedo=maps[0], specular=maps[1], normal=maps[2],
                          roughness=skin.roughness, light_sh=ambient_sh)
    lit = sun_lit_mask(geometry.true_gbuffer, geometry.true_vertices, template.faces_sub, sun_direction,
                       backend=backend)
    sun = render_sun(geometry.true_gbuffer, albedo=maps[0], specular=maps[1], normal=maps[2],
                     roughness=skin.roughness, sun_direction=sun_direction, sun_radiance=sun_radiance, lit=lit)
    light = np.asarray(ambient_sh, np.float64) + directional_light_sh(sun_direction, sun_radiance)
    return _scene_from_radiance(geometry, template, ambient + sun, maps=maps, light=light, name=name, hdri=hdri,
                                texture_size=texture_size, skin_type=skin_type)


class HardLightSetup(NamedTuple):
    """One key/fill combination of :func:`hard_light_setups`.

    Attributes:
      hdri: held-out map of the fill; the fill itself is :func:`hard_light_ambient` ``(hdri)``.
      sun_direction: ``[3]`` unit vector towards the sun, world space.
      sun_radiance: ``[3]`` RGB irradiance of the sun at normal incidence (radiance units x sr).
      label: e.g. ``"city + sun 50° upper left (70 %)"``: angle from the view axis, side as seen in the photo,
        the sun's share of the frontal irradiance.
    """

    hdri: str
    sun_direction: np.ndarray
    sun_radiance: np.ndarray
    label: str


def hard_light_ambient(hdri: str) -> np.ndarray:
    """``[9, 3]`` fill of the hard-light scenes: :func:`environment_light` ``(hdri)`` (yaw 0, partial white
    balance kept) scaled so that ``Y.frontal_irradiance(fill) = HARD_LIGHT_FILL_IRRADIANCE``.

    Raises:
      ValueError: the map's order-2 frontal irradiance is not positive (the map lights the face from behind).
      HdrError: the map is not in the cache.
    """
    light = environment_light(hdri)
    frontal = frontal_irradiance_luminance(light)
    if not frontal > 0.0:
        raise ValueError(f"HDR map {hdri!r} gives no frontal irradiance ({frontal}); it cannot be a fill light")
    return light * (HARD_LIGHT_FILL_IRRADIANCE / frontal)


def hard_light_setups(count: int) -> list[HardLightSetup]:
    """``count`` deterministic hard-light setups: a key light from :data:`_KEY_LIGHTS` over a dimmed held-out fill.

    Setup ``k`` takes key light ``k`` and held-out map ``k mod 4`` (:data:`svfri.data.hdri.HELD_OUT_HDRIS`). The
    key's direction is ``(sin(a) cos(b), sin(a) sin(b), cos(a))`` for angle ``a`` (35-60 degrees) from the view
    axis and image-plane azimuth ``b``. Its irradiance ``E = E_lum * SUN_COLOUR`` is set so that the sun carries
    the fraction ``f`` (60-75 %) of the luminance irradiance of an unoccluded surface facing the camera::

        E_lum cos(a) = f / (1 - f) * Y.E_fill(+Z)

    with ``Y.E_fill(+Z) = HARD_LIGHT_FILL_IRRADIANCE`` (:func:`hard_light_ambient`). So a camera-facing surface
    receives ``HARD_LIGHT_FILL_IRRADIANCE / (1 - f)`` in all, 0.75 to 1.2 times the ``pi`` of the dataset's
    normalised environments. Loads the held-out maps.

    Raises:
      ValueError: ``count`` negative or above the number of key lights (12). HdrError: the held-out maps are not cached.
    """
    if not 0 <= count <= len(_KEY_LIGHTS):
        raise ValueError(f"0 to {len(_KEY_LIGHTS)} hard-light setups, asked for {count}")
    setups = []
    for index, (angle, azimuth, fraction, side) in enumerate(_KEY_LIGHTS[:count]):
        hdri = HELD_OUT_HDRIS[index % len(HELD_OUT_HDRIS)]
        a, b = math.radians(angle), math.radians(azimuth)
        direction = np.array([math.sin(a) * math.cos(b), math.sin(a) * math.sin(b), math.cos(a)])
        fill = frontal_irradiance_luminance(hard_light_ambient(hdri))    # = HARD_LIGHT_FILL_IRRADIANCE
        luminance = fraction / (1.0 - fraction) * fill / direction[2]
        label = f"{hdri} + sun {angle:.0f}\N{DEGREE SIGN} {side} ({100 * fraction:.0f} %)"
        setups.append(HardLightSetup(hdri, direction, luminance * SUN_COLOUR / float(_LUMINANCE @ SUN_COLOUR),
                                     label))
    return setups


def gt_maps_float(scene: Scene) -> dict[str, np.ndarray]:
    """The scene's GT maps as float32 ``[M, M, C]`` in ``[0, 1]`` (albedo sRGB, specular ``C = 1``, normal encoded)."""
    scale = np.float32(1.0 / UINT8_MAX)
    return {"albedo": scene.albedo.astype(np.float32) * scale,
            "specular": scene.specular[..., None].astype(np.float32) * scale,
            "normal": scene.normal.astype(np.float32) * scale}
