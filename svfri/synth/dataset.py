"""The synthetic training set: one sample per integer seed, sharded ``.npz`` storage, and a batch loader.

A sample (:func:`synthesize_sample`) is a pure function of ``(seed, split, settings)`` and of the cached HDR maps.
It follows docs/architecture.md, "Training data", and mirrors the run-time geometry stage
(:func:`svfri.pipeline.geometry_stage.compute_geometry`) so that the networks' input ``T`` is made exactly as
at run time:

1. **Reflectance** -- :func:`svfri.synth.skin_maps.generate_skin_maps` ``(template.region_masks, seed=seed,
   size=map_size)``: the ground-truth albedo (stored sRGB), specular and tangent-space normal maps
   (``map_size`` = 256 by default: 512 costs 0.4 s per sample against 0.1 s, over the time budget; the loader
   resizes), plus the roughness the render uses (not stored: the networks do not predict it).
2. **Geometry** -- a random face shape and head pose (:mod:`svfri.synth.faces`), framed by a scaled
   orthographic camera so the face spans ``fill`` of a ``render_size`` square (the run-time work image holds
   the face at 1 / 1.6 = 62.5 % of its side); two levels of Loop subdivision, vertex normals and tangents, SH
   visibility baked with ``ray_count`` rays, the photo G-buffer.
3. **Lighting** -- with probability ``1 - SYNTHETIC_LIGHT_PROBABILITY`` an HDR map of the split
   (``train``: :data:`svfri.data.hdri.TRAIN_HDRIS`, ``test``: :data:`~svfri.data.hdri.HELD_OUT_HDRIS`) turned
   by a random yaw; otherwise a synthetic environment (:func:`synthetic_environment`: coloured ambient with a
   vertical gradient plus one or two soft area lights from the front hemisphere), which widens the lighting
   distribution beyond 14 maps. The map gets a partial auto white balance (per-channel gains
   ``(c / Y.c)^-k`` on its mean colour ``c``, ``k`` in :data:`AUTO_WHITE_BALANCE_RANGE`: cameras neutralise
   strongly coloured light, e.g. the blue ``venice`` map, only in part), a small random tint, and an
   exposure that sets the luminance of its mean radiance (``Y . c_0 Y_00``, the SH DC term) to :data:`TARGET_MEAN_RADIANCE`, times
   ``2^ev``, ``ev`` uniform in :data:`LIGHT_EV_RANGE`. Its SH projection
   (:func:`svfri.render.environment.environment_to_sh`) is the light ``[9, 3]`` used for rendering.
4. **Render** -- the project's forward model, :func:`svfri.render.shading.shade` with that SH light (paper
   eq. 5), composited over a background: a blurred random crop of the (clipped, i.e. LDR) environment seen
   behind the head (directions around ``-Z``), or a random smooth colour gradient
   (:data:`GRADIENT_BACKGROUND_PROBABILITY`, always for synthetic lights).
5. **Camera** -- :mod:`svfri.synth.camera_effects` (white balance, exposure, blur, noise, sRGB, JPEG). White
   balance and exposure are per-channel gains on a render that is linear in the light, so the ground-truth
   light is ``light * gains`` -- the photo is exactly the forward model's image of the stored light, up to
   clipping, blur, noise and JPEG.
6. **Run-time geometry** -- the mesh the regressor would return has small, smooth errors: the 468 posed vertices
   move by :func:`svfri.synth.faces.regressor_error` (RMS 1-2 mm) and are then handed, as Face-Mesh-style pixel
   points ``(u, v, depth)``, to :func:`svfri.geometry.camera.camera_from_mesh_points` exactly as at run time
   (re-centred, rescaled to the 9 cm eye distance); subdivision, normals and
   :func:`svfri.bake.unwrap.unwrap_photo` (symmetry + Telea fill, the run-time defaults) give ``T``
   (``[texture_size, texture_size, 4]``: sRGB + visibility mask). ``texture_size`` is the largest T of the
   network preset (``NetworkConfig.input_texture_size``, 128 for ``"fast"``). Training and the fit both feed this
   one T to :class:`svfri.nets.FaceNetworks`, which resizes it for its smaller encoders itself, so both see the
   same resampling; the loader's own area-resized copies (:func:`resize_texture`) are for other consumers.

The ground-truth maps stay in the template's UV layout whatever the shape, pose and regressor error.

Storage (:func:`write_shard`, :func:`generate_split`): ``DIR/<split>/shard_XXXXX.npz`` of up to ``shard_size``
consecutive seeds (shard ``k`` holds seeds ``start_seed + k * shard_size ...``), written atomically, plus
``DIR/manifest.json``. Arrays per shard (``n`` samples; :data:`SHARD_KEYS`):

==========================  =====================  ==========================================================
key                         shape, dtype           content
==========================  =====================  ==========================================================
``seed``                    ``[n]`` int64          the sample seeds
``texture``                 ``[n, S, S, 4]`` uint8 T: sRGB colour and visibility mask, x255
``albedo``                  ``[n, M, M, 3]`` uint8 GT albedo, sRGB-encoded
``specular``                ``[n, M, M]`` uint8    GT specular intensity, linear x255
``normal``                  ``[n, M, M, 3]`` uint8 GT tangent normal map, encoded ``0.5 n + 0.5``, x255
``light``                   ``[n, 9, 3]`` float16  GT SH light (radiance, linear RGB, :mod:`svfri.math.sh`)
``hdri``                    ``[n]`` str            HDR map name, or ``"synthetic"``
``pose``                    ``[n, 3]`` float32     yaw, pitch, roll (degrees)
``world_to_pixel``          ``[n, 3, 4]`` float32  camera of the true mesh ``vertices``
``vertices``                ``[n, 468, 3]`` f32    true posed mesh (cm)
``fit_world_to_pixel``      ``[n, 3, 4]`` float32  camera of the simulated run-time mesh
``fit_vertices``            ``[n, 468, 3]`` f32    simulated run-time mesh (world of ``camera_from_mesh_points``)
``jpeg_quality``            ``[n]`` int16          JPEG quality of the photo
``photo_jpeg``              ``[bytes]`` uint8      the degraded photos' JPEG files, concatenated
``photo_jpeg_offsets``      ``[n + 1]`` int64      sample ``i`` is ``photo_jpeg[offsets[i]:offsets[i + 1]]``
==========================  =====================  ==========================================================

The loader (:func:`iterate_training_batches`, :func:`make_tf_dataset`) turns shards into shuffled float32
batches at the sizes the networks train at (:func:`component_sizes_for`).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
import tempfile
import time
from pathlib import Path
from typing import Iterator, Mapping

import cv2
import numpy as np

import svfri
from svfri.bake.rasterize import rasterize_gbuffer
from svfri.bake.unwrap import unwrap_photo
from svfri.bake.visibility import bake_visibility
from svfri.data.hdri import HELD_OUT_HDRIS, TRAIN_HDRIS, load_hdri
from svfri.errors import OutputError, UsageError
from svfri.geometry.camera import camera_from_mesh_points
from svfri.geometry.mesh_ops import vertex_normals, vertex_tangents
from svfri.geometry.template import FaceTemplate, load_face_template
from svfri.math.color import srgb_to_linear_np
from svfri.math.colorimetry import SRGB_TO_XYZ
from svfri.math.sh import SH_C0, SH_COEFFICIENT_COUNT
from svfri.render.environment import equirect_directions, environment_to_sh, rotate_environment
from svfri.synth import camera_effects, faces
from svfri.synth.noise import value_noise
from svfri.synth.skin_maps import decode_normal_map, encode_normal_map, generate_skin_maps

__all__ = [
    "SPLITS", "SPLIT_HDRIS", "SYNTHETIC_HDRI", "SYNTHETIC_LIGHT_PROBABILITY", "TARGET_MEAN_RADIANCE",
    "LIGHT_EV_RANGE", "LIGHT_TINT_LOG_SHIFT", "AUTO_WHITE_BALANCE_RANGE", "GRADIENT_BACKGROUND_PROBABILITY", "DEFAULT_SHARD_SIZE",
    "SHARD_KEYS", "MANIFEST_NAME", "FORMAT_NAME", "FORMAT_VERSION",
    "SynthesisSettings", "TrainingSample", "Lighting", "sample_streams", "draw_lighting", "synthesize_sample", "synthetic_environment", "light_exposure_scale", "render_face",
    "shard_arrays", "write_shard", "read_shard", "decode_photo", "shard_path", "generate_split", "read_manifest",
    "resize_texture", "resize_map", "component_sizes_for", "iterate_training_batches", "make_tf_dataset",
]

#: Dataset splits and the HDR maps each may use.
SPLITS = ("train", "test")
SPLIT_HDRIS = {"train": TRAIN_HDRIS, "test": HELD_OUT_HDRIS}
#: ``hdri`` name stored for samples lit by :func:`synthetic_environment`.
SYNTHETIC_HDRI = "synthetic"
#: Probability that a sample is lit by a synthetic environment instead of an HDR map.
SYNTHETIC_LIGHT_PROBABILITY = 0.2
#: Luminance of the mean radiance after exposure normalisation: a white Lambertian surface under this light,
#: unoccluded and uniformly lit, would reflect radiance 1.
TARGET_MEAN_RADIANCE = 1.0
#: Random exposure of the light around the normalised level, stops.
LIGHT_EV_RANGE = (-1.0, 1.0)
#: White-balance tint of the light: red and blue log gains relative to green, uniform in +-.
LIGHT_TINT_LOG_SHIFT = 0.06
#: Strength ``k`` of the partial auto white balance (0 = the map's own colour, 1 = its mean made grey).
AUTO_WHITE_BALANCE_RANGE = (0.3, 1.0)
#: Probability of a smooth colour-gradient background for HDR-lit samples (else the blurred environment).
GRADIENT_BACKGROUND_PROBABILITY = 0.3
#: Horizontal field of view of the background crop of the environment, degrees.
BACKGROUND_FOV_RANGE_DEGREES = (50.0, 110.0)
#: Largest vertical shift of the background crop's centre from the horizon, degrees.
BACKGROUND_PITCH_DEGREES = 20.0
#: Gaussian blur of the background, as a fraction of the image side (out-of-focus background).
BACKGROUND_BLUR_FRACTION = (0.01, 0.04)
#: Brightness factor of the background relative to the light's exposure.
BACKGROUND_GAIN_RANGE = (0.4, 1.0)
#: Synthetic environment: size (H x 2H), light count, key-to-ambient power ratio, angular radius (degrees).
SYNTHETIC_ENV_HEIGHT = 64
SYNTHETIC_LIGHT_COUNT = (1, 2)
SYNTHETIC_KEY_RATIO_RANGE = (0.5, 8.0)
SYNTHETIC_LIGHT_RADIUS_DEGREES = (8.0, 40.0)
SYNTHETIC_SKY_GRADIENT = (-0.5, 0.8)
#: A synthetic light's direction has world ``z`` (towards the camera side) at least this.
SYNTHETIC_LIGHT_MIN_Z = -0.3
#: Samples per shard.
DEFAULT_SHARD_SIZE = 64
MANIFEST_NAME = "manifest.json"
FORMAT_NAME = "svfri-training-set"
FORMAT_VERSION = 1
SHARD_KEYS = ("seed", "texture", "albedo", "specular", "normal", "light", "hdri", "pose", "world_to_pixel",
              "vertices", "fit_world_to_pixel", "fit_vertices", "jpeg_quality", "photo_jpeg", "photo_jpeg_offsets")

_UINT8_MAX = 255.0
_LUMINANCE = SRGB_TO_XYZ[1]
#: Independent random streams of one sample, in SeedSequence spawn order.
_STREAMS = ("shape", "pose", "light", "background", "effects", "regressor", "bake")
_SHARD_PREFIX = "shard_"
_SHARD_DIGITS = 5


@dataclasses.dataclass(frozen=True)
class SynthesisSettings:
    """How samples are made (recorded in the manifest; a folder holds one setting).

    Attributes:
      render_size: side of the square rendered photo, pixels.
      texture_size: side of the unwrapped ``T`` (the largest encoder input of the network preset).
      map_size: side of the ground-truth maps.
      ray_count: visibility rays per vertex for the render's bake.
    """

    render_size: int = 256
    texture_size: int = 128
    map_size: int = 256
    ray_count: int = 64

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class TrainingSample:
    """One synthesised sample (module docstring). Images are numpy arrays in the dtypes stored on disk.

    Attributes:
      seed, split: identity.
      photo: ``[R, R, 3]`` float32 sRGB in ``[0, 1]``, the degraded photo (decoded ``photo_jpeg``).
      photo_jpeg: the photo's JPEG file.
      photo_mask: ``[R, R]`` bool, pixels covered by the true mesh.
      texture: ``[S, S, 4]`` float32 T (sRGB + mask), exactly as :func:`unwrap_photo` returned it.
      albedo: ``[M, M, 3]`` uint8 sRGB; specular: ``[M, M]`` uint8; normal: ``[M, M, 3]`` uint8 encoded.
      light: ``[9, 3]`` float32 ground-truth SH light (white balance and exposure folded in).
      hdri: map name or :data:`SYNTHETIC_HDRI`.
      pose: :class:`svfri.synth.faces.Pose`; shape: :class:`svfri.synth.faces.FaceShape`.
      world_to_pixel, vertices: true camera ``[3, 4]`` and posed mesh ``[468, 3]``.
      fit_world_to_pixel, fit_vertices: the simulated run-time camera and mesh.
      effects: :class:`svfri.synth.camera_effects.CameraEffects`.
      timings: seconds per stage.
    """

    seed: int
    split: str
    photo: np.ndarray
    photo_jpeg: bytes
    photo_mask: np.ndarray
    texture: np.ndarray
    albedo: np.ndarray
    specular: np.ndarray
    normal: np.ndarray
    light: np.ndarray
    hdri: str
    pose: faces.Pose
    shape: faces.FaceShape
    world_to_pixel: np.ndarray
    vertices: np.ndarray
    fit_world_to_pixel: np.ndarray
    fit_vertices: np.ndarray
    effects: camera_effects.CameraEffects
    timings: dict


# ---------------------------------------------------------------------------------------------------------------
# Lighting and background


@functools.lru_cache(maxsize=32)
def _cached_hdri(name: str) -> np.ndarray:
    environment = load_hdri(name)
    environment.flags.writeable = False
    return environment


def light_exposure_scale(light_sh: np.ndarray) -> float:
    """The factor that sets the luminance of the mean radiance ``Y . (c_0 Y_00)`` to :data:`TARGET_MEAN_RADIANCE`.

    ``c_0 Y_00`` (``Y_00 = 1 / (2 sqrt(pi))``) is the average of ``L(w)`` over the sphere.
    """
    mean = float(_LUMINANCE @ np.asarray(light_sh, dtype=np.float64)[0]) * SH_C0
    return TARGET_MEAN_RADIANCE / max(mean, np.finfo(np.float32).tiny)


def _random_unit(rng: np.random.Generator, *, min_z: float) -> np.ndarray:
    while True:
        vector = rng.standard_normal(3)
        vector /= np.linalg.norm(vector)
        if vector[2] >= min_z:
            return vector


def _random_colour(rng: np.random.Generator, log_spread: float) -> np.ndarray:
    gains = np.exp(rng.uniform(-log_spread, log_spread, size=3))
    return gains / float(_LUMINANCE @ gains)


def synthetic_environment(rng: np.random.Generator, *, height: int = SYNTHETIC_ENV_HEIGHT) -> np.ndarray:
    """A random studio-like environment ``[H, 2H, 3]`` (linear radiance, non-negative, unnormalised).

    ``L(w) = a (1 + g w_y) + sum_k P_k c_k exp(kappa_k (d_k . w - 1))``: ambient colour ``a`` with a vertical
    gradient ``g`` (:data:`SYNTHETIC_SKY_GRADIENT`), plus 1-2 soft lights in directions ``d_k`` with
    ``d_k,z >= SYNTHETIC_LIGHT_MIN_Z`` (mostly in front of the face), colours ``c_k``, lobe sharpness
    ``kappa = 1 / (1 - cos r)`` for angular radius ``r`` (:data:`SYNTHETIC_LIGHT_RADIUS_DEGREES`), and powers
    set so each light's integral is a random multiple (:data:`SYNTHETIC_KEY_RATIO_RANGE`) of the ambient's.
    """
    directions = equirect_directions(height, 2 * height, dtype=np.float64)                 # [H, W, 3]
    ambient_colour = _random_colour(rng, 0.25)
    gradient = rng.uniform(*SYNTHETIC_SKY_GRADIENT)
    environment = ambient_colour * (1.0 + gradient * directions[..., 1:2])
    ambient_power = 4.0 * math.pi                                                        # integral of 1
    count = int(rng.integers(SYNTHETIC_LIGHT_COUNT[0], SYNTHETIC_LIGHT_COUNT[1] + 1))
    for _ in range(count):
        direction = _random_unit(rng, min_z=SYNTHETIC_LIGHT_MIN_Z)
        radius = math.radians(rng.uniform(*SYNTHETIC_LIGHT_RADIUS_DEGREES))
        kappa = 1.0 / (1.0 - math.cos(radius))
        lobe = np.exp(kappa * (directions @ direction - 1.0))
        lobe_integral = 2.0 * math.pi * (1.0 - math.exp(-2.0 * kappa)) / kappa           # int exp(k(d.w-1)) dw
        power = rng.uniform(*SYNTHETIC_KEY_RATIO_RANGE) * ambient_power
        environment = environment + (power / lobe_integral) * _random_colour(rng, 0.3) * lobe[..., None]
    return np.maximum(environment, 0.0).astype(np.float32)


def _gradient_background(rng: np.random.Generator, size: int) -> np.ndarray:
    """Linear ``[size, size, 3]``: a ramp between two random colours along a random direction, plus soft noise."""
    colours = srgb_to_linear_np(rng.uniform(0.05, 0.9, size=(2, 3)).astype(np.float32))
    angle = rng.uniform(0.0, 2.0 * math.pi)
    coordinate = (np.arange(size) + 0.5) / size - 0.5
    ramp = math.cos(angle) * coordinate[None, :] + math.sin(angle) * coordinate[:, None]
    weight = np.clip(ramp + 0.5, 0.0, 1.0)[..., None]
    image = colours[0] * (1.0 - weight) + colours[1] * weight
    image = image * (1.0 + 0.15 * value_noise(rng, (size, size), 3.0))[..., None]
    return np.clip(image, 0.0, 1.0).astype(np.float32)


def _environment_background(rng: np.random.Generator, environment: np.ndarray, size: int) -> np.ndarray:
    """Linear ``[size, size, 3]``: blurred crop of the clipped environment around ``-Z`` (behind the head).

    Looking along ``-Z`` with ``+Y`` up, image right is ``+X``, which is the direction of increasing ``u``
    around the map's ``u = 0`` column (:mod:`svfri.conventions`), so the crop is used without flipping.
    """
    height, width = environment.shape[:2]
    fov = math.radians(rng.uniform(*BACKGROUND_FOV_RANGE_DEGREES))
    half_columns = max(1, int(round(fov / (2.0 * math.pi) * width / 2.0)))
    half_rows = max(1, int(round(fov / math.pi * height / 2.0)))
    centre_row = height / 2.0 + rng.uniform(-1.0, 1.0) * math.radians(BACKGROUND_PITCH_DEGREES) / math.pi * height
    centre_column = int(round(rng.uniform(-0.1, 0.1) * width))
    columns = np.arange(centre_column - half_columns, centre_column + half_columns) % width
    top = int(np.clip(round(centre_row - half_rows), 0, height - 2 * half_rows))
    crop = environment[top:top + 2 * half_rows][:, columns]
    crop = np.clip(crop, 0.0, 1.0)                                                         # LDR (saturated)
    image = cv2.resize(crop.astype(np.float32), (size, size), interpolation=cv2.INTER_LINEAR)
    sigma = rng.uniform(*BACKGROUND_BLUR_FRACTION) * size
    return camera_effects.gaussian_blur(image, sigma)


@dataclasses.dataclass(frozen=True)
class Lighting:
    """One sample's light (module docstring, step 3).

    Attributes:
      hdri: map name or :data:`SYNTHETIC_HDRI`.
      environment: ``[H, W, 3]`` float32 linear map as drawn (rotated; before tint and exposure).
      gain: ``[3]`` float32 tint times exposure: the light is ``environment * gain``.
      light_sh: ``[9, 3]`` float64 SH projection of ``environment * gain``.
    """

    hdri: str
    environment: np.ndarray
    gain: np.ndarray
    light_sh: np.ndarray


def sample_streams(seed: int) -> dict[str, np.random.Generator]:
    """The independent random generators of sample ``seed`` (``SeedSequence(seed).spawn``), by purpose."""
    children = np.random.SeedSequence(int(seed)).spawn(len(_STREAMS))
    return {name: np.random.default_rng(child) for name, child in zip(_STREAMS, children)}


def draw_lighting(rng: np.random.Generator, split: str) -> Lighting:
    """Draws a sample's light (module docstring, step 3): an HDR map of ``split`` or a synthetic environment."""
    if split not in SPLITS:
        raise UsageError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    if rng.uniform() < SYNTHETIC_LIGHT_PROBABILITY:
        hdri = SYNTHETIC_HDRI
        environment = synthetic_environment(rng)
    else:
        names = SPLIT_HDRIS[split]
        hdri = names[int(rng.integers(0, len(names)))]
        environment = rotate_environment(_cached_hdri(hdri), float(rng.uniform(0.0, 360.0)))
    raw_sh = environment_to_sh(environment).astype(np.float64)
    # Partial auto white balance: gains (c / Y.c)^-k on the mean radiance colour c, k ~ U(AUTO_WHITE_BALANCE).
    mean_colour = np.maximum(raw_sh[0], np.finfo(np.float32).tiny)
    balance = (mean_colour / float(_LUMINANCE @ mean_colour)) ** -rng.uniform(*AUTO_WHITE_BALANCE_RANGE)
    tint = balance * camera_effects.white_balance_gains(*rng.uniform(-LIGHT_TINT_LOG_SHIFT, LIGHT_TINT_LOG_SHIFT, 2))
    light_sh = raw_sh * tint
    scale = light_exposure_scale(light_sh) * 2.0 ** rng.uniform(*LIGHT_EV_RANGE)
    return Lighting(hdri=hdri, environment=environment, gain=(tint * scale).astype(np.float32),
                    light_sh=light_sh * scale)


# ---------------------------------------------------------------------------------------------------------------
# Rendering


def render_face(gbuffer, *, albedo: np.ndarray, specular: np.ndarray, normal: np.ndarray, roughness: np.ndarray,
                light_sh: np.ndarray) -> np.ndarray:
    """Linear radiance ``[N, 3]`` float32 of the covered pixels by the project's forward model.

    :func:`svfri.render.shading.shade` (paper eq. 5: ``I = t_a (1 - F0) L_d + L_s``, SH diffuse with baked
    occlusion, split-sum GGX specular with SH radiance), clamped at 0 (order-2 SH light can ring negative).

    Args:
      gbuffer: :class:`svfri.render.gbuffer.GBuffer` of the true mesh.
      albedo: ``[M, M, 3]`` uint8 sRGB; specular: ``[M, M]`` uint8 linear; normal: ``[M, M, 3]`` uint8 encoded --
        the stored ground truth, so the photo is rendered from exactly what the networks are asked to predict.
      roughness: ``[M, M]`` float perceptual roughness.
      light_sh: ``[9, 3]`` SH radiance.
    """
    from svfri.render.shading import gbuffer_to_tensors, shade
    scale = np.float32(1.0 / _UINT8_MAX)
    result = shade(gbuffer_to_tensors(gbuffer), albedo_srgb_map=albedo.astype(np.float32) * scale,
                   specular_map=specular[..., None].astype(np.float32) * scale,
                   normal_map=normal.astype(np.float32) * scale, light_sh=np.asarray(light_sh, np.float32),
                   roughness=np.asarray(roughness, np.float32)[..., None])
    return np.maximum(result["radiance"].numpy(), 0.0).astype(np.float32)


# ---------------------------------------------------------------------------------------------------------------
# One sample


def _to_uint8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.round(np.asarray(values, dtype=np.float32) * _UINT8_MAX), 0, _UINT8_MAX).astype(np.uint8)


def synthesize_sample(seed: int, *, split: str = "train", settings: SynthesisSettings = SynthesisSettings(),
                      template: FaceTemplate | None = None, pose: faces.Pose | None = None) -> TrainingSample:
    """Makes training sample ``seed`` of ``split`` (module docstring, steps 1-6).

    Args:
      seed: non-negative integer; the sample is a pure function of ``(seed, split, settings)`` (and the maps).
      split: ``"train"`` or ``"test"``: which HDR maps may light it.
      settings: :class:`SynthesisSettings`.
      template: the face template (default :func:`load_face_template`).
      pose: overrides the random head pose (the other random draws do not change).

    Returns:
      :class:`TrainingSample`.

    Raises:
      UsageError: unknown split or negative seed. HdrError: the split's HDR maps are not in the cache.
    """
    if split not in SPLITS:
        raise UsageError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    if seed < 0:
        raise UsageError(f"seed must be >= 0, got {seed}")
    template = template or load_face_template()
    streams = sample_streams(seed)
    timings = {}
    clock = time.perf_counter()
    size = settings.render_size

    # 1. Reflectance.
    skin = generate_skin_maps(template.region_masks, seed=int(seed), size=settings.map_size)
    timings["skin_maps"] = time.perf_counter() - clock

    # 2. Geometry, camera, bake, G-buffer.
    clock = time.perf_counter()
    shape = faces.random_face_shape(streams["shape"], template.vertex_count)
    shaped = faces.deform_face(template.vertices, template.faces, template.mirror_vertex, shape)
    pose_rng = streams["pose"]
    drawn_pose = faces.random_pose(pose_rng)
    pose = pose or drawn_pose
    fill = float(pose_rng.uniform(*faces.FILL_RANGE))
    offset = tuple(float(x) for x in pose_rng.uniform(-faces.MAX_CENTRE_OFFSET, faces.MAX_CENTRE_OFFSET, size=2))
    posed = faces.apply_pose(shaped, pose)
    camera = faces.framing_camera(posed, size=size, fill=fill, offset=offset)
    vertices = template.subdivide(posed)
    normals = vertex_normals(vertices, template.faces_sub)
    tangents = vertex_tangents(vertices, template.faces_sub, template.uv_sub, normals)
    visibility_sh, bent_normal = bake_visibility(vertices, template.faces_sub, normals, ray_count=settings.ray_count,
                                                 seed=int(streams["bake"].integers(0, 2 ** 31 - 1)))
    gbuffer = rasterize_gbuffer(vertices, template.faces_sub, template.uv_sub, normals, tangents, visibility_sh,
                                bent_normal, world_to_pixel=camera.world_to_pixel, height=size, width=size)
    timings["geometry_bake"] = time.perf_counter() - clock

    # 3. Lighting and background.
    clock = time.perf_counter()
    lighting = draw_lighting(streams["light"], split)
    light_sh = lighting.light_sh
    background_rng = streams["background"]
    if lighting.hdri == SYNTHETIC_HDRI or background_rng.uniform() < GRADIENT_BACKGROUND_PROBABILITY:
        background = _gradient_background(background_rng, size)
    else:
        background = _environment_background(background_rng, lighting.environment * lighting.gain, size)
    background = background * np.float32(background_rng.uniform(*BACKGROUND_GAIN_RANGE))
    hdri = lighting.hdri
    timings["light"] = time.perf_counter() - clock

    # 4. Render (linear), 5. camera.
    clock = time.perf_counter()
    albedo, specular, normal = _to_uint8(skin.albedo_srgb()), _to_uint8(skin.specular), _to_uint8(skin.normal_map)
    radiance = render_face(gbuffer, albedo=albedo, specular=specular, normal=normal, roughness=skin.roughness,
                           light_sh=light_sh)
    linear = gbuffer.scatter(radiance, background)
    timings["render"] = time.perf_counter() - clock
    clock = time.perf_counter()
    effects = camera_effects.sample_camera_effects(streams["effects"])
    photo, jpeg = camera_effects.apply_camera_effects(linear, effects)
    ground_truth_light = (light_sh * effects.light_gain).astype(np.float32)
    timings["camera_effects"] = time.perf_counter() - clock

    # 6. The run-time mesh (with regressor error) and the unwrap, as in compute_geometry.
    clock = time.perf_counter()
    regressor_rng = streams["regressor"]
    rms = float(regressor_rng.uniform(*faces.REGRESSOR_RMS_RANGE_CM))
    noisy = posed + faces.regressor_error(posed, regressor_rng, rms_cm=rms)
    pixels_per_cm = 1.0 / camera.cm_per_pixel
    points = np.concatenate([noisy @ camera.world_to_pixel[:2, :3].T + camera.world_to_pixel[:2, 3],
                             noisy[:, 2:3] * pixels_per_cm], axis=1)       # Face Mesh style (u, v, depth px)
    coarse, fit_camera = camera_from_mesh_points(points, width=size, height=size)
    fit_vertices = template.subdivide(coarse)
    fit_normals = vertex_normals(fit_vertices, template.faces_sub)
    texture = unwrap_photo(photo, fit_vertices, template.faces_sub, template.uv_sub, fit_normals,
                           world_to_pixel=fit_camera.world_to_pixel, size=settings.texture_size,
                           mirror_vertex=template.mirror_vertex_sub)
    timings["unwrap"] = time.perf_counter() - clock

    return TrainingSample(
        seed=int(seed), split=split, photo=photo, photo_jpeg=jpeg, photo_mask=gbuffer.mask(), texture=texture,
        albedo=albedo, specular=specular, normal=normal,
        light=ground_truth_light, hdri=hdri, pose=pose, shape=shape, world_to_pixel=camera.world_to_pixel,
        vertices=posed, fit_world_to_pixel=fit_camera.world_to_pixel, fit_vertices=coarse, effects=effects,
        timings=timings)


# ---------------------------------------------------------------------------------------------------------------
# Shards and manifest


def shard_arrays(samples: list[TrainingSample]) -> dict[str, np.ndarray]:
    """Stacks samples into the arrays of one shard (:data:`SHARD_KEYS`, module docstring)."""
    if not samples:
        raise ValueError("a shard needs at least one sample")
    jpegs = [np.frombuffer(sample.photo_jpeg, dtype=np.uint8) for sample in samples]
    offsets = np.concatenate([[0], np.cumsum([len(j) for j in jpegs])]).astype(np.int64)
    return {
        "seed": np.array([s.seed for s in samples], dtype=np.int64),
        "texture": np.stack([_to_uint8(s.texture) for s in samples]),
        "albedo": np.stack([s.albedo for s in samples]),
        "specular": np.stack([s.specular for s in samples]),
        "normal": np.stack([s.normal for s in samples]),
        "light": np.stack([s.light for s in samples]).astype(np.float16),
        "hdri": np.array([s.hdri for s in samples], dtype=np.str_),
        "pose": np.array([[s.pose.yaw, s.pose.pitch, s.pose.roll] for s in samples], dtype=np.float32),
        "world_to_pixel": np.stack([s.world_to_pixel for s in samples]).astype(np.float32),
        "vertices": np.stack([s.vertices for s in samples]).astype(np.float32),
        "fit_world_to_pixel": np.stack([s.fit_world_to_pixel for s in samples]).astype(np.float32),
        "fit_vertices": np.stack([s.fit_vertices for s in samples]).astype(np.float32),
        "jpeg_quality": np.array([s.effects.jpeg_quality for s in samples], dtype=np.int16),
        "photo_jpeg": np.concatenate(jpegs),
        "photo_jpeg_offsets": offsets,
    }


def shard_path(directory: str | os.PathLike, split: str, index: int) -> Path:
    """``DIR/<split>/shard_XXXXX.npz``."""
    return Path(directory) / split / f"{_SHARD_PREFIX}{index:0{_SHARD_DIGITS}d}.npz"


def write_shard(path: str | os.PathLike, arrays: Mapping[str, np.ndarray]) -> None:
    """Writes a shard atomically (compressed ``.npz`` in a temporary file of the same folder, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".npz.tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            np.savez_compressed(stream, **arrays)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_shard(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Reads every array of a shard (no pickles)."""
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def decode_photo(arrays: Mapping[str, np.ndarray], index: int) -> np.ndarray:
    """The degraded photo of sample ``index`` of a shard: ``[R, R, 3]`` float32 sRGB in ``[0, 1]``."""
    offsets = arrays["photo_jpeg_offsets"]
    data = arrays["photo_jpeg"][offsets[index]:offsets[index + 1]]
    decoded = cv2.imdecode(np.ascontiguousarray(data), cv2.IMREAD_COLOR)[..., ::-1]
    return decoded.astype(np.float32) / np.float32(_UINT8_MAX)



def _write_json_atomic(path: Path, content: dict) -> None:
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w") as stream:
            json.dump(content, stream, indent=1)
            stream.write("\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_manifest(directory: str | os.PathLike) -> dict:
    """``DIR/manifest.json`` as a dict (empty if there is none yet)."""
    path = Path(directory) / MANIFEST_NAME
    if not path.is_file():
        return {}
    return json.loads(path.read_text())


def _shard_ranges(start_seed: int, count: int, shard_size: int) -> list[tuple[int, int, int]]:
    """``(index, first_seed, n)`` of each shard covering seeds ``start_seed .. start_seed + count - 1``."""
    return [(k, start_seed + k * shard_size, min(shard_size, count - k * shard_size))
            for k in range(math.ceil(count / shard_size))]


def _shard_is_complete(path: Path, first_seed: int, count: int) -> bool:
    try:
        with np.load(path, allow_pickle=False) as data:
            seeds = data["seed"]
    except Exception:                                      # unreadable or truncated: make it again
        return False
    return seeds.tolist() == list(range(first_seed, first_seed + count))


_WORKER_TEMPLATE: FaceTemplate | None = None
#: Environment variables that size native thread pools; set to 1 in worker processes.
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
                     "TF_NUM_INTEROP_THREADS")


def _worker_init() -> None:
    global _WORKER_TEMPLATE
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    cv2.setNumThreads(1)
    _WORKER_TEMPLATE = load_face_template()


def _make_shard(job: tuple) -> tuple[int, int, float, dict]:
    directory, split, settings_json, index, first_seed, count = job
    settings = SynthesisSettings(**settings_json)
    template = _WORKER_TEMPLATE or load_face_template()
    clock = time.perf_counter()
    samples = [synthesize_sample(seed, split=split, settings=settings, template=template)
               for seed in range(first_seed, first_seed + count)]
    write_shard(shard_path(directory, split, index), shard_arrays(samples))
    stage_seconds = {key: float(sum(s.timings[key] for s in samples)) for key in samples[0].timings}
    return index, count, time.perf_counter() - clock, stage_seconds


def generate_split(directory: str | os.PathLike, *, split: str, count: int, start_seed: int,
                   settings: SynthesisSettings = SynthesisSettings(), shard_size: int = DEFAULT_SHARD_SIZE,
                   workers: int = 1, progress=None) -> dict:
    """Synthesises seeds ``start_seed .. start_seed + count - 1`` of ``split`` into ``directory``; resumable.

    Shards already on disk with the expected seeds are kept; the manifest records the split's seeds, shard
    size, allowed HDR maps, the settings and the svfri version. A folder holds one set of settings and one
    ``(start_seed, shard_size)`` per split: a mismatch raises :class:`UsageError` instead of mixing samples.

    Args:
      directory: output folder (created).
      split: ``"train"`` or ``"test"``.
      count: number of samples (> 0).
      start_seed: first seed (>= 0).
      settings: :class:`SynthesisSettings`.
      shard_size: samples per shard.
      workers: processes (1 = in this process).
      progress: optional callable ``(done_shards, total_shards, message)``.

    Returns:
      The split's manifest entry.
    """
    if split not in SPLITS:
        raise UsageError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    if count <= 0 or start_seed < 0 or shard_size <= 0 or workers <= 0:
        raise UsageError("count, shard size and workers must be positive and the start seed >= 0")
    directory = Path(directory)
    try:
        (directory / split).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot create {directory / split} ({error.strerror}); choose a writable folder") from error
    manifest = read_manifest(directory)
    if manifest and manifest.get("settings") != settings.to_json():
        raise UsageError(f"{directory} holds samples made with settings {manifest.get('settings')}; "
                         "use another folder for different settings")
    entry = manifest.get("splits", {}).get(split)
    if entry and (entry["start_seed"] != start_seed or entry["shard_size"] != shard_size):
        raise UsageError(f"{directory}/{split} starts at seed {entry['start_seed']} with shards of "
                         f"{entry['shard_size']}; use the same --start-seed or another folder")
    ranges = _shard_ranges(start_seed, count, shard_size)
    if entry:                                       # a larger earlier run: keep its shards in the manifest
        ranges = _shard_ranges(start_seed, max(count, entry["count"]), shard_size)
        count = max(count, entry["count"])
    todo = [(k, first, n) for k, first, n in ranges
            if not _shard_is_complete(shard_path(directory, split, k), first, n)]
    manifest = {
        "format": FORMAT_NAME, "format_version": FORMAT_VERSION, "svfri_version": svfri.__version__,
        "settings": settings.to_json(), "shard_keys": list(SHARD_KEYS),
        "splits": {**manifest.get("splits", {})},
        "generation": {"synthetic_light_probability": SYNTHETIC_LIGHT_PROBABILITY,
                       "target_mean_radiance": TARGET_MEAN_RADIANCE, "light_ev_range": LIGHT_EV_RANGE,
                       "pose_max_degrees": [faces.MAX_YAW_DEGREES, faces.MAX_PITCH_DEGREES, faces.MAX_ROLL_DEGREES],
                       "fill_range": faces.FILL_RANGE, "regressor_rms_cm": faces.REGRESSOR_RMS_RANGE_CM,
                       "jpeg_quality_range": camera_effects.JPEG_QUALITY_RANGE},
    }

    def record(complete: bool, seconds: float | None = None, stage_seconds: dict | None = None) -> dict:
        done = [k for k, first, n in ranges if _shard_is_complete(shard_path(directory, split, k), first, n)] \
            if complete else None
        split_entry = {
            "start_seed": start_seed, "count": count, "shard_size": shard_size,
            "hdris": list(SPLIT_HDRIS[split]) + [SYNTHETIC_HDRI],
            "shards": [{"file": shard_path(directory, split, k).name, "first_seed": first, "count": n}
                       for k, first, n in ranges],
            "complete": bool(complete and len(done) == len(ranges)),
        }
        if seconds is not None:
            split_entry["last_run"] = {"shards_made": len(todo), "seconds": round(seconds, 1),
                                       "workers": workers, "stage_seconds": stage_seconds}
        manifest["splits"][split] = split_entry
        _write_json_atomic(directory / MANIFEST_NAME, manifest)
        return split_entry

    record(False)
    jobs = [(str(directory), split, settings.to_json(), k, first, n) for k, first, n in todo]
    clock = time.perf_counter()
    totals: dict[str, float] = {}
    if progress:
        progress(len(ranges) - len(todo), len(ranges), f"{len(todo)} shards to make")

    def account(result):
        index, made, seconds, stages = result
        for key, value in stages.items():
            totals[key] = totals.get(key, 0.0) + value
        if progress:
            progress(None, len(ranges), f"shard {index}: {made} samples in {seconds:.1f} s "
                                        f"({seconds / made:.2f} s/sample)")

    if workers == 1 or len(jobs) <= 1:
        for job in jobs:
            account(_make_shard(job))
    else:
        import multiprocessing
        context = multiprocessing.get_context("spawn")
        # One thread per worker for every native pool (numpy's BLAS, OpenMP, TensorFlow, OpenCV): several
        # spinning thread pools per process on a small machine made each worker 2-3x slower (measured).
        saved = {name: os.environ.get(name) for name in _THREAD_VARIABLES}
        os.environ.update({name: "1" for name in _THREAD_VARIABLES})
        try:
            with context.Pool(workers, initializer=_worker_init) as pool:
                for result in pool.imap_unordered(_make_shard, jobs):
                    account(result)
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
    return record(True, time.perf_counter() - clock, {k: round(v, 2) for k, v in totals.items()})


# ---------------------------------------------------------------------------------------------------------------
# Loader


def resize_texture(texture: np.ndarray, size: int) -> np.ndarray:
    """Resizes T ``[S, S, 4]`` (float, colour + mask) to ``[size, size, 4]`` by area averaging (downsampling) or
    bilinear interpolation (upsampling). The mask becomes the visible fraction of each texel."""
    texture = np.asarray(texture, dtype=np.float32)
    if texture.shape[0] == size:
        return texture
    interpolation = cv2.INTER_AREA if size < texture.shape[0] else cv2.INTER_LINEAR
    return cv2.resize(texture, (size, size), interpolation=interpolation)


def resize_map(image: np.ndarray, size: int, *, kind: str) -> np.ndarray:
    """Resizes a float ground-truth map ``[M, M, C]`` (values in ``[0, 1]``) to ``size``.

    ``kind``: ``"colour"`` (albedo in sRGB, specular) -- area averaging down, bicubic up (clipped to
    ``[0, 1]``); ``"normal"`` -- the encoded normals are decoded, averaged / interpolated, renormalised and
    encoded again. Upsampling adds no detail (the maps are generated at ``map_size``).
    """
    image = np.asarray(image, dtype=np.float32)
    squeeze = image.ndim == 2
    if squeeze:
        image = image[..., None]
    if image.shape[0] != size:
        down = size < image.shape[0]
        interpolation = cv2.INTER_AREA if down else cv2.INTER_CUBIC
        source = decode_normal_map(image) if kind == "normal" else image
        resized = cv2.resize(source, (size, size), interpolation=interpolation)
        resized = resized.reshape(size, size, image.shape[-1])
        image = encode_normal_map(decode_normal_map(0.5 * resized + 0.5)) if kind == "normal" else resized
        image = np.clip(image, 0.0, 1.0)
    return image[..., 0] if squeeze else image


def component_sizes_for(config=None) -> dict[str, tuple[int, ...]]:
    """The sizes a network preset trains at: ``{"texture": T sizes, "albedo"/"specular"/"normal": (decoder
    output size, enhanced size)}``; ``config`` is a :class:`svfri.nets.config.NetworkConfig` (default preset)."""
    if config is None:
        from svfri.nets.config import get_config
        config = get_config()
    sizes = {"texture": tuple(sorted({config.albedo.texture_size, config.specular.texture_size,
                                      config.normal.texture_size, config.light_size}, reverse=True))}
    for name in ("albedo", "specular", "normal"):
        part = getattr(config, name)
        sizes[name] = tuple(sorted({part.texture_size, part.output_size}))
    return sizes


def _shard_files(directory: Path, split: str) -> list[Path]:
    files = sorted((directory / split).glob(f"{_SHARD_PREFIX}*.npz"))
    if not files:
        raise UsageError(f"no shards in {directory / split}; run `python -m precompute.make_training_set` first")
    return files


def _sample_arrays(arrays: dict, index: int, component_sizes: Mapping[str, tuple[int, ...]]) -> dict:
    out = {}
    texture = arrays["texture"][index].astype(np.float32) / np.float32(_UINT8_MAX)
    for size in component_sizes.get("texture", ()):
        out[f"texture_{size}"] = resize_texture(texture, size)
    for name, kind in (("albedo", "colour"), ("specular", "colour"), ("normal", "normal")):
        image = arrays[name][index].astype(np.float32) / np.float32(_UINT8_MAX)
        for size in component_sizes.get(name, ()):
            resized = resize_map(image, size, kind=kind)
            out[f"{name}_{size}"] = resized[..., None] if resized.ndim == 2 else resized
    out["light"] = arrays["light"][index].astype(np.float32)
    return out


def iterate_training_batches(directory: str | os.PathLike, split: str, batch_size: int, *,
                             component_sizes: Mapping[str, tuple[int, ...]] | None = None, seed: int = 0,
                             repeat: bool = False, shuffle: bool = True, shards_in_memory: int = 4,
                             drop_remainder: bool | None = None) -> Iterator[dict[str, np.ndarray]]:
    """Yields batches of the training set as dicts of float32 numpy arrays.

    Keys: ``"texture_<S>"`` ``[B, S, S, 4]`` (sRGB + visibility fraction) for each ``S`` in
    ``component_sizes["texture"]``; ``"albedo_<M>"`` ``[B, M, M, 3]`` (sRGB), ``"specular_<M>"``
    ``[B, M, M, 1]`` (linear), ``"normal_<M>"`` ``[B, M, M, 3]`` (encoded ``0.5 n + 0.5``) for each size of
    ``component_sizes[name]``; ``"light"`` ``[B, 9, 3]``; ``"seed"`` ``[B]`` int64. All images in ``[0, 1]``.

    Args:
      directory: the dataset folder (holding ``manifest.json`` and ``<split>/``).
      split: ``"train"`` or ``"test"``.
      batch_size: samples per batch.
      component_sizes: as :func:`component_sizes_for` returns (default: the default network preset).
      seed: shuffling seed (shard order each epoch, and samples within a window of ``shards_in_memory`` shards).
      repeat: loop forever over epochs (reshuffled each time).
      shuffle: ``False`` yields samples in seed order.
      shards_in_memory: shards mixed together when shuffling.
      drop_remainder: drop a last incomplete batch (default: ``repeat``).

    Raises:
      UsageError: no shards for the split.
    """
    if split not in SPLITS:
        raise UsageError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    if batch_size <= 0:
        raise UsageError(f"batch size must be positive, got {batch_size}")
    component_sizes = component_sizes_for() if component_sizes is None else component_sizes
    drop_remainder = repeat if drop_remainder is None else drop_remainder
    files = _shard_files(Path(directory), split)
    rng = np.random.default_rng(seed)
    pending: list[dict] = []

    def flush(items: list[dict]) -> dict:
        batch = {key: np.stack([item[key] for item in items]) for key in items[0]}
        return batch

    while True:
        order = rng.permutation(len(files)) if shuffle else np.arange(len(files))
        for start in range(0, len(order), max(1, shards_in_memory if shuffle else 1)):
            window = [read_shard(files[i]) for i in order[start:start + (shards_in_memory if shuffle else 1)]]
            pairs = [(w, i) for w, arrays in enumerate(window) for i in range(len(arrays["seed"]))]
            if shuffle:
                pairs = [pairs[i] for i in rng.permutation(len(pairs))]
            for w, i in pairs:
                item = _sample_arrays(window[w], i, component_sizes)
                item["seed"] = np.int64(window[w]["seed"][i])
                pending.append(item)
                if len(pending) == batch_size:
                    yield flush(pending)
                    pending = []
        if not repeat:
            break
    if pending and not drop_remainder:
        yield flush(pending)


def make_tf_dataset(directory: str | os.PathLike, split: str, batch_size: int, *,
                    component_sizes: Mapping[str, tuple[int, ...]] | None = None, seed: int = 0,
                    repeat: bool = True, shuffle: bool = True, prefetch: int = 2):
    """:func:`iterate_training_batches` as a ``tf.data.Dataset`` of dicts of tensors (same keys and shapes,
    batch dimension ``None`` unless ``repeat``), prefetched."""
    import tensorflow as tf
    component_sizes = component_sizes_for() if component_sizes is None else component_sizes
    batch = batch_size if repeat else None
    signature = {f"texture_{s}": tf.TensorSpec([batch, s, s, 4], tf.float32)
                 for s in component_sizes.get("texture", ())}
    for name, channels in (("albedo", 3), ("specular", 1), ("normal", 3)):
        for s in component_sizes.get(name, ()):
            signature[f"{name}_{s}"] = tf.TensorSpec([batch, s, s, channels], tf.float32)
    signature["light"] = tf.TensorSpec([batch, SH_COEFFICIENT_COUNT, 3], tf.float32)
    signature["seed"] = tf.TensorSpec([batch], tf.int64)
    dataset = tf.data.Dataset.from_generator(
        lambda: iterate_training_batches(directory, split, batch_size, component_sizes=component_sizes, seed=seed,
                                         repeat=repeat, shuffle=shuffle),
        output_signature=signature)
    return dataset.prefetch(prefetch)
