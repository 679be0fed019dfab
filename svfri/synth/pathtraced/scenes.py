"""One path-traced portrait and its ground truth in photo space.

A :class:`SceneSpec` is a head (:mod:`svfri.synth.pathtraced.heads`), an environment (an HDR map at a rotation and
intensity, visible behind the head), an optional hard key light, a perspective portrait camera and a camera
pipeline (:mod:`svfri.synth.pathtraced.camera`). :func:`render_scene` path-traces it and returns a
:class:`SceneTruth`: the photo svfri is given, and per pixel the true albedo, specular, detailed normal (camera
frame) and the masks the scores use.

Which scenes exist, and which seeds and maps are for tuning versus reporting, is fixed in
:mod:`benchmarks.pathtraced.plan`.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
from pathlib import Path

import cv2
import numpy as np

from svfri.geometry.ict_head import load_ict_head
from svfri.render.environment import environment_to_sh, rotate_environment
from svfri.render.relight import frontal_irradiance_luminance

from svfri.synth.pathtraced.camera import CameraEffects, apply_camera
from svfri.synth.pathtraced.heads import SKIN_PART, TrueHead, build_head, draw_head_spec
from svfri.synth.pathtraced.mitsuba_render import KeyLight, PinholeCamera, RenderResult, render
from svfri.bake.unwrap import sample_uv
from svfri.math.colorimetry import relative_luminance as luminance

__all__ = ["LightSpec", "SceneSpec", "SceneTruth", "draw_scene", "render_scene", "render_scene_with_head", "save_npz_atomic", "PORTRAIT_FOV_DEGREES",
           "true_environment", "SKIN_HAIR_COVERAGE_MAX"]

#: Horizontal field of view of the square frame: an 85 mm lens on a 24 mm-high crop (a classic portrait lens).
PORTRAIT_FOV_DEGREES = 24.0
#: Camera distance range from the face's centre, cm (the face fills 40-55 % of the frame's width).
CAMERA_DISTANCE_CM = (70.0, 95.0)
#: Key light: distance from the face (cm), radius (cm) and its irradiance relative to the environment's.
KEY_DISTANCE_CM = 150.0
KEY_RADIUS_CM = (3.0, 8.0)
KEY_TO_ENVIRONMENT = (1.5, 5.0)
#: Skin texels with more brow / beard hair than this are not skin for the scores.
SKIN_HAIR_COVERAGE_MAX = 0.3
#: Region-mask level above which a texel belongs to a region (eyes, mouth interior, cheeks, forehead).
REGION_LEVEL = 0.5


@dataclasses.dataclass(frozen=True)
class LightSpec:
    """An HDR map by name, turned by ``rotation_degrees`` about +Y and scaled by ``2^ev``; optional key light
    from ``key_azimuth`` / ``key_elevation`` degrees (camera-relative; 0, 0 = from the camera)."""

    hdri: str
    rotation_degrees: float
    ev: float
    key: bool = False
    key_azimuth: float = 0.0
    key_elevation: float = 0.0
    key_radius_cm: float = 5.0
    key_ratio: float = 3.0

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class SceneSpec:
    """Everything that defines one benchmark photo; ``name`` is unique within a plan."""

    name: str
    seed: int
    skin_type: int
    light: LightSpec
    camera_distance_cm: float
    camera_offset: tuple
    effects: CameraEffects
    size: int
    samples: int

    def to_json(self) -> dict:
        return {**dataclasses.asdict(self), "light": self.light.to_json(), "effects": self.effects.to_json()}

    @staticmethod
    def from_json(record: dict) -> "SceneSpec":
        effects = dict(record["effects"])
        effects["white_balance"] = tuple(effects["white_balance"])
        return SceneSpec(**{**record, "light": LightSpec(**record["light"]), "effects": CameraEffects(**effects),
                            "camera_offset": tuple(record["camera_offset"])})


def save_npz_atomic(path: str | Path, **arrays: np.ndarray) -> None:
    """Writes ``arrays`` as one compressed npz at ``path``, atomically (a temporary file beside it, renamed into
    place), so an interrupted render never leaves a truncated file that a resumed run would take as done."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temporary, "wb") as handle:
        np.savez_compressed(handle, **arrays)
    temporary.replace(path)


@dataclasses.dataclass
class SceneTruth:
    """A rendered scene. Images ``[H, W, ...]``; linear = linear sRGB.

    Attributes:
      photo: ``[H, W, 3]`` uint8 sRGB, what svfri is given.
      radiance: ``[H, W, 3]`` linear radiance before the camera; ``exposure`` the camera's linear scale.
      albedo_linear: ``[H, W, 3]`` the true diffuse albedo at each skin pixel (0 elsewhere).
      specular: ``[H, W]`` true specular intensity (scale on F0 0.028); normal_camera ``[H, W, 3]`` true
        detailed normal (mesh normal with the true normal map) in the camera frame (right, up, towards camera).
      skin: ``[H, W]`` bool face skin the scores use (eroded by one pixel; eyes, mouth, hair, brows, beard out).
      ita_region: ``[H, W]`` bool cheeks and forehead within ``skin`` (FAIR's ITA region).
    """

    spec: SceneSpec
    photo: np.ndarray
    radiance: np.ndarray
    exposure: float
    albedo_linear: np.ndarray
    specular: np.ndarray
    normal_camera: np.ndarray
    skin: np.ndarray
    ita_region: np.ndarray
    camera: PinholeCamera
    variant: str
    head: dict

    def save(self, path: str | Path) -> None:
        """Writes the truth as one compressed npz (atomically: a temporary file renamed into place)."""
        path = Path(path)
        record = {"spec": self.spec.to_json(), "exposure": self.exposure, "camera": dataclasses.asdict(self.camera),
                  "variant": self.variant, "head": self.head}
        save_npz_atomic(path, photo=self.photo, radiance=self.radiance.astype(np.float32),
                        albedo_linear=self.albedo_linear.astype(np.float32), specular=self.specular.astype(np.float32),
                        normal_camera=self.normal_camera.astype(np.float32), skin=self.skin,
                        ita_region=self.ita_region, record=np.array(json.dumps(record)))

    @staticmethod
    def load(path: str | Path) -> "SceneTruth":
        with np.load(path, allow_pickle=False) as data:
            record = json.loads(str(data["record"]))
            arrays = {key: data[key] for key in data.files if key != "record"}
        spec = SceneSpec.from_json(record["spec"])
        camera = PinholeCamera(**{k: tuple(v) if isinstance(v, list) else v for k, v in record["camera"].items()})
        return SceneTruth(spec=spec, exposure=float(record["exposure"]), camera=camera, variant=record["variant"],
                          head=record["head"], **{k: arrays[k].astype(np.float64) if arrays[k].dtype == np.float32
                                                  else arrays[k] for k in arrays})


def draw_scene(name: str, seed: int, skin_type: int, hdri: str, *, key: bool, size: int, samples: int,
               rotation_degrees: float | None = None) -> SceneSpec:
    """A scene from a seed (pure function): light rotation / intensity, key direction, camera, camera effects."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 5501]))
    light = LightSpec(hdri=hdri, rotation_degrees=float(rng.uniform(0, 360)) if rotation_degrees is None
                      else float(rotation_degrees), ev=float(rng.uniform(-1, 1)), key=key,
                      key_azimuth=float(rng.uniform(-70, 70)), key_elevation=float(rng.uniform(5, 45)),
                      key_radius_cm=float(rng.uniform(*KEY_RADIUS_CM)), key_ratio=float(rng.uniform(*KEY_TO_ENVIRONMENT)))
    return SceneSpec(name=name, seed=int(seed), skin_type=int(skin_type), light=light,
                     camera_distance_cm=float(rng.uniform(*CAMERA_DISTANCE_CM)),
                     camera_offset=tuple(float(v) for v in rng.uniform(-2.0, 2.0, 2)),
                     effects=CameraEffects.draw(rng), size=int(size), samples=int(samples))


@functools.lru_cache(maxsize=8)
def _hdri(name: str) -> np.ndarray:
    from svfri.data.hdri import load_hdri

    return np.asarray(load_hdri(name), np.float32)


def true_environment(light: LightSpec) -> np.ndarray:
    """The map the scene is lit by: rotated and exposed (linear radiance, svfri's equirect convention)."""
    return rotate_environment(_hdri(light.hdri), light.rotation_degrees) * np.float32(2.0 ** light.ev)


def _key_light(light: LightSpec, environment: np.ndarray, face_centre: np.ndarray, camera_frame: np.ndarray
               ) -> KeyLight | None:
    """The key light: irradiance at the face ``key_ratio`` times the environment's frontal irradiance."""
    if not light.key:
        return None
    azimuth, elevation = math.radians(light.key_azimuth), math.radians(light.key_elevation)
    local = np.array([math.sin(azimuth) * math.cos(elevation), math.sin(elevation),
                      math.cos(azimuth) * math.cos(elevation)])
    direction = local @ camera_frame                       # camera frame rows: right, up, back
    environment_irradiance = frontal_irradiance_luminance(environment_to_sh(environment), direction)
    solid_angle = math.pi * light.key_radius_cm ** 2 / KEY_DISTANCE_CM ** 2
    radiance = light.key_ratio * max(environment_irradiance, 1e-3) / solid_angle
    warm = np.array([1.0, 0.96, 0.9])
    return KeyLight(position=tuple(face_centre + direction * KEY_DISTANCE_CM), radius=light.key_radius_cm,
                    radiance=tuple(radiance * warm / float(luminance(warm))))


def _truth_in_photo_space(result: RenderResult, head: TrueHead, camera: PinholeCamera):
    """Per-pixel truth from the path tracer's AOVs (uv, shading normal, surface derivatives) and the true maps."""
    on_skin = result.part == SKIN_PART
    uv = result.uv[on_skin]
    skin = head.skin
    albedo = np.zeros(result.radiance.shape)
    albedo[on_skin] = sample_uv(skin.albedo, uv)
    specular = np.zeros(on_skin.shape)
    specular[on_skin] = sample_uv(skin.specular, uv)[:, 0]

    n = result.normal[on_skin]
    n /= np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-12)
    t = result.dp_du[on_skin]
    t -= n * (t * n).sum(-1, keepdims=True)
    t /= np.maximum(np.linalg.norm(t, axis=-1, keepdims=True), 1e-12)
    b = np.cross(n, t) * np.sign((np.cross(n, t) * result.dp_dt[on_skin]).sum(-1, keepdims=True) + 1e-12)
    local = sample_uv(skin.normal_map, uv) * 2.0 - 1.0
    detailed = local[:, :1] * t + local[:, 1:2] * b + local[:, 2:3] * n
    detailed /= np.maximum(np.linalg.norm(detailed, axis=-1, keepdims=True), 1e-12)
    normal_camera = np.zeros(result.radiance.shape)
    normal_camera[on_skin] = detailed @ camera.frame().T

    region = {name: np.zeros(on_skin.shape, bool) for name in ("eyes", "mouth_interior", "cheeks", "forehead")}
    for name in region:
        region[name][on_skin] = sample_uv(head.region_masks[name], uv)[:, 0] > REGION_LEVEL
    hair = np.zeros(on_skin.shape, bool)
    hair[on_skin] = sample_uv(skin.hair_coverage, uv)[:, 0] > SKIN_HAIR_COVERAGE_MAX
    eroded = cv2.erode(on_skin.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    scored = eroded & ~region["eyes"] & ~region["mouth_interior"] & ~hair
    ita = scored & (region["cheeks"] | region["forehead"])
    return albedo, specular, normal_camera, scored, ita


def render_scene(spec: SceneSpec) -> SceneTruth:
    """Path-traces ``spec``. Call :func:`svfri.synth.pathtraced.mitsuba_render.select_variant` before TensorFlow is
    imported (see :mod:`svfri.synth.pathtraced.worker`)."""
    return render_scene_with_head(spec)[0]


def render_scene_with_head(spec: SceneSpec) -> tuple[SceneTruth, TrueHead]:
    """:func:`render_scene` and the head it drew (its true maps in ICT's face UV tile, its parts)."""
    head_model = load_ict_head()
    head = build_head(draw_head_spec(spec.seed, spec.skin_type), head_model)
    face_centre = head.landmarks[[36, 45, 48, 54]].mean(axis=0)
    offset = np.array([spec.camera_offset[0], spec.camera_offset[1], 0.0])
    camera = PinholeCamera(origin=tuple(face_centre + offset + np.array([0.0, 0.0, spec.camera_distance_cm])),
                           target=tuple(face_centre + 0.3 * offset), up=(0.0, 1.0, 0.0),
                           fov_degrees=PORTRAIT_FOV_DEGREES, size=spec.size)
    environment = true_environment(spec.light)
    key = _key_light(spec.light, environment, face_centre, camera.frame())
    result = render(head.parts, environment, camera, key_light=key, samples=spec.samples, seed=spec.seed)
    photo, exposure = apply_camera(result.radiance, spec.effects,
                                   np.random.default_rng(np.random.SeedSequence([spec.seed, 4409])))
    albedo, specular, normal_camera, skin, ita = _truth_in_photo_space(result, head, camera)
    truth = SceneTruth(spec=spec, photo=photo, radiance=result.radiance, exposure=exposure,
                       albedo_linear=albedo, specular=specular, normal_camera=normal_camera, skin=skin, ita_region=ita,
                       camera=camera, variant=result.variant,
                       head={**head.spec.to_json(), "hair_rgb": head.hair_rgb.tolist(),
                             "skin_params": {"skin_type": head.skin.params.tone.skin_type,
                                             "beard_density": head.skin.params.beard_density,
                                             "makeup": head.makeup,
                                             "age": head.skin.params.age}})
    return truth, head
