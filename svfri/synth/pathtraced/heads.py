"""Ground-truth heads for the path-traced benchmark: ICT-FaceKit shape, procedural skin, eyes, teeth, hair, clothes.

A :class:`HeadSpec` (drawn from a seed by :func:`draw_head_spec`) fixes everything about one person;
:func:`build_head` turns it into Mitsuba :class:`~svfri.synth.pathtraced.mitsuba_render.Part` s with exactly known
reflectance:

* **shape**: the ICT-FaceKit model (:mod:`svfri.geometry.ict_head`), identity weights ``~ N(0, 0.8^2)`` on the
  first :data:`IDENTITY_MODES` modes, a mild random expression (smile, jaw, brows, blink), posed by yaw / pitch /
  roll about the neck;
* **skin**: :func:`svfri.synth.skin_maps.generate_skin_maps` in ICT's face UV tile from ICT's own region masks,
  for a requested skin type I..VI (Chardon ITA categories), with stubble / beards, freckles, moles, wrinkles --
  the same generator the networks were trained on, so its albedos are *in distribution* for them (a limit of
  this benchmark: no scanned faces are available). To step outside it a little, every head's albedo is then
  multiplied by a smooth colour field the generator never makes (:data:`COLOUR_FIELD_SIGMA`, a per-channel tilt
  and low-frequency blotches) and a third of the heads wear make-up (lipstick, blush) (:func:`_outside_generator`);
  the back of the head and the neck get the face's median skin colour;
* **eyes, teeth, mouth**: their own ICT parts and materials (wet sclera, a coloured iris, teeth, gums);
* **hair**: a cap -- the scalp part of the skin offset outwards by 0.6-1.6 cm above a hairline, tapering to the
  skin at the hairline -- in a melanin hair colour (:func:`svfri.synth.skin_color.hair_albedo_linear`); some heads
  are bald (no cap);
* **shoulders**: a rounded torso in a clothing colour.

Approximations (stated in the report): the hair is a smooth shell, not strands; no eyelashes (ICT's cards need
an alpha texture) and no cornea (a clear shell over the iris); no subsurface scattering in skin; the back of the
head has a uniform skin colour.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from svfri.geometry.ict_head import IctHead
from svfri.synth import skin_color
from svfri.synth.skin_maps import SkinSample, generate_skin_maps, sample_params

from svfri.synth.pathtraced.mitsuba_render import Material, Part

__all__ = ["IDENTITY_MODES", "HeadSpec", "TrueHead", "draw_head_spec", "build_head", "SKIN_PART", "MAP_SIZE",
           "pose_matrix"]

#: Identity modes varied (of the model's kept ones) and their weights' standard deviation.
IDENTITY_MODES = 30
IDENTITY_SIGMA = 0.8
#: Side of the true skin maps (face tile), texels.
MAP_SIZE = 512
#: Index of the face-skin part in :attr:`TrueHead.parts` (the part the scores are computed on).
SKIN_PART = 0
#: Pivot of the head's pose rotation (the neck), ICT cm.
NECK_PIVOT = (0.0, -9.0, -1.0)
#: Hairline: height above the brows' mean at the front, and at the nape (below the brows), cm.
HAIRLINE_ABOVE_BROWS_CM = 5.2
NAPE_BELOW_BROWS_CM = 9.0
HAIR_TAPER_CM = 1.2
HAIR_MIN_OFFSET_CM = 0.08
#: Material constants (linear RGB albedo, perceptual roughness, specular = scale on F0 0.028).
SCLERA_RGB = (0.62, 0.58, 0.55)
TEETH_RGB = (0.62, 0.57, 0.47)
GUMS_RGB = (0.42, 0.10, 0.10)
MOUTH_RGB = (0.16, 0.035, 0.035)
WET_SPECULAR = 1.0 / 0.028 * 0.02          # water's F0 0.02 as a scale on skin's 0.028
#: ICT's iris mesh has UVs radial about (0.5, 0.5), the gaze direction: its front disc holds the pupil (UV radius
#: < PUPIL_UV_RADIUS) and the iris (< IRIS_UV_RADIUS). The cornea (clear, in front of the iris) is not drawn.
PUPIL_UV_RADIUS = 0.1
IRIS_UV_RADIUS = 0.29
PUPIL_RGB = (0.01, 0.01, 0.01)
#: Log-amplitudes of the colour field of :func:`_outside_generator`: per-channel global tilt, blotches.
COLOUR_TILT_SIGMA = 0.05
COLOUR_FIELD_SIGMA = 0.06
MAKEUP_PROBABILITY = 0.33
_LIPSTICKS = ((0.35, 0.03, 0.05), (0.45, 0.12, 0.15), (0.18, 0.05, 0.04), (0.5, 0.2, 0.2))
_EXPRESSIONS = (("mouthSmile_L", "mouthSmile_R", 0.6), ("jawOpen", None, 0.25), ("browInnerUp_L", "browInnerUp_R", 0.4),
                ("eyeBlink_L", "eyeBlink_R", 0.2), ("mouthFrown_L", "mouthFrown_R", 0.3))


@dataclasses.dataclass(frozen=True)
class HeadSpec:
    """One person and pose. Angles in degrees (yaw about +Y, subject turning to their left for > 0)."""

    seed: int
    skin_type: int
    identity: tuple
    expression: dict
    yaw: float
    pitch: float
    roll: float
    hair_thickness_cm: float
    clothing_rgb: tuple

    def to_json(self) -> dict:
        record = dataclasses.asdict(self)
        record["identity"] = [round(float(v), 4) for v in self.identity]
        return record


@dataclasses.dataclass(frozen=True)
class TrueHead:
    """The built head: ``parts`` (``parts[SKIN_PART]`` is the face skin), its true ``skin`` maps (face tile),
    ``region_masks`` (face tile), ``landmarks`` ``[68, 3]`` world cm (posed), ``hair_rgb``, ``makeup``."""

    spec: HeadSpec
    parts: list
    skin: SkinSample
    region_masks: dict
    landmarks: np.ndarray
    hair_rgb: np.ndarray
    makeup: bool = False


def draw_head_spec(seed: int, skin_type: int, *, max_yaw: float = 30.0) -> HeadSpec:
    """A random person of the given skin type (1..6) and pose, a pure function of ``seed``."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 7211]))
    identity = tuple(float(v) for v in rng.normal(0.0, IDENTITY_SIGMA, IDENTITY_MODES))
    expression = {}
    for left, right, amount in _EXPRESSIONS:
        if rng.random() < 0.35:
            weight = float(rng.uniform(0.0, amount))
            expression[left] = weight
            if right:
                expression[right] = weight * float(rng.uniform(0.8, 1.2))
    clothing = skin_color.hair_albedo_linear(float(rng.uniform(0.2, 8.0)), float(rng.uniform(0, 1.5))) \
        if rng.random() < 0.5 else rng.uniform(0.03, 0.6, 3)
    return HeadSpec(seed=int(seed), skin_type=int(skin_type), identity=identity, expression=expression,
                    yaw=float(rng.uniform(-max_yaw, max_yaw)), pitch=float(rng.uniform(-12, 12)),
                    roll=float(rng.uniform(-6, 6)),
                    hair_thickness_cm=0.0 if rng.random() < 0.12 else float(rng.uniform(0.6, 1.6)),
                    clothing_rgb=tuple(float(v) for v in np.clip(clothing, 0.02, 0.9)))


def pose_matrix(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """``R = R_y(yaw) R_x(-pitch) R_z(roll)`` (degrees; pitch > 0 looks up), ``[3, 3]``."""
    y, p, r = (math.radians(a) for a in (yaw, -pitch, roll))
    ry = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    rx = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    rz = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    return ry @ rx @ rz


def _compact(vertices: np.ndarray, faces: np.ndarray, *extra: np.ndarray):
    """Keeps only the vertices ``faces`` use; returns the re-indexed arrays."""
    used, inverse = np.unique(faces, return_inverse=True)
    return (vertices[used], inverse.reshape(faces.shape).astype(np.int32), *(e[used] for e in extra))


def _hair_cap(head: IctHead, model_vertices: np.ndarray, normals: np.ndarray, thickness: float,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """The hair shell: the skin above the hairline offset outwards (module docstring), cut exactly along the
    hairline (triangles straddling it are clipped at the linear zero of the height above it), so the hairline is
    a smooth curve, not the mesh's triangle edges. Returns ``(vertices, faces, normals, uv)`` or None (bald)."""
    if thickness <= 0:
        return None
    landmarks = head.landmarks68(model_vertices)
    brow_y = float(landmarks[17:27, 1].mean())
    front_z = float(landmarks[17:27, 2].mean())
    back_z = float(model_vertices[:, 2].min())
    depth = np.clip((front_z - model_vertices[:, 2]) / max(front_z - back_z, 1e-6), 0.0, 1.0)
    hairline = brow_y + HAIRLINE_ABOVE_BROWS_CM - (HAIRLINE_ABOVE_BROWS_CM + NAPE_BELOW_BROWS_CM) * depth ** 1.6
    above = model_vertices[:, 1] - hairline
    skin_faces = head.part_faces(("face", "back_head"), render=False)
    inside = above[skin_faces] > 0
    if not inside.any():
        return None
    ramp = np.clip(above / HAIR_TAPER_CM, 0.0, 1.0)
    wobble = 1.0 + 0.25 * np.sin(model_vertices[:, 0] * rng.uniform(0.3, 0.6) + rng.uniform(0, 6)) \
        * np.cos(model_vertices[:, 2] * rng.uniform(0.3, 0.6))
    offset = HAIR_MIN_OFFSET_CM + thickness * wobble * ramp * ramp * (3 - 2 * ramp)
    points = list(model_vertices + normals * offset[:, None])
    point_normals = list(normals)
    faces = [tuple(face) for face in skin_faces[inside.all(axis=1)]]
    for face in skin_faces[inside.any(axis=1) & ~inside.all(axis=1)]:
        polygon = []
        for k in range(3):
            i, j = face[k], face[(k + 1) % 3]
            if above[i] > 0:
                polygon.append(i)
            if (above[i] > 0) != (above[j] > 0):
                t = above[i] / (above[i] - above[j])
                normal = normals[i] + t * (normals[j] - normals[i])
                normal /= np.linalg.norm(normal)
                position = model_vertices[i] + t * (model_vertices[j] - model_vertices[i])
                points.append(position + normal * HAIR_MIN_OFFSET_CM)
                point_normals.append(normal)
                polygon.append(len(points) - 1)
        faces += [(polygon[0], polygon[m], polygon[m + 1]) for m in range(1, len(polygon) - 1)]
    vertices, faces, shell_normals = _compact(np.asarray(points), np.asarray(faces, np.int64), np.asarray(point_normals))
    return vertices, faces, shell_normals, np.zeros((len(vertices), 2))


def _iris_texture(iris_rgb, size: int = 64) -> np.ndarray:
    """``[size, size, 3]`` linear RGB: pupil, iris (darker towards the limbus), sclera outside (module constants)."""
    t, s = np.meshgrid((np.arange(size) + 0.5) / size, (np.arange(size) + 0.5) / size, indexing="ij")
    radius = np.hypot(s - 0.5, t - 0.5)
    texture = np.empty((size, size, 3))
    texture[:] = SCLERA_RGB
    iris = radius < IRIS_UV_RADIUS
    shade = 1.0 - 0.5 * (radius / IRIS_UV_RADIUS) ** 4
    texture[iris] = np.asarray(iris_rgb)[None, :] * shade[iris][:, None]
    texture[radius < PUPIL_UV_RADIUS] = PUPIL_RGB
    return texture.astype(np.float32)


def _outside_generator(skin: SkinSample, masks: dict, rng: np.random.Generator) -> tuple[SkinSample, bool]:
    """The generator's albedo times a smooth colour field, plus make-up on some heads (module docstring)."""
    from svfri.synth.noise import fractal_noise

    size = skin.albedo.shape[0]
    tilt = rng.normal(0.0, COLOUR_TILT_SIGMA, 3)
    field = np.stack([fractal_noise(rng, (size, size), base_cells=4.0, octaves=3) for _ in range(3)], axis=-1)
    albedo = skin.albedo * np.exp(tilt + COLOUR_FIELD_SIGMA * field)
    makeup = bool(rng.random() < MAKEUP_PROBABILITY)
    if makeup:
        lips = masks["lips"][..., None] * float(rng.uniform(0.4, 0.8))
        colour = np.asarray(_LIPSTICKS[int(rng.integers(len(_LIPSTICKS)))])
        albedo = albedo * (1 - lips) + colour * lips
        blush = masks["cheeks"][..., None] * float(rng.uniform(0.0, 0.12))
        albedo = albedo * (1 + blush * np.array([0.6, -0.4, -0.3]))
    hairy = skin.hair_coverage[..., None]      # hair keeps its own colour
    albedo = albedo * (1 - hairy) + skin.albedo * hairy
    return dataclasses.replace(skin, albedo=np.clip(albedo, 0.0, 1.0).astype(np.float32)), makeup


def _torso(neck_bottom_y: float, clothing_rgb) -> Part:
    """Shoulders and chest: a capsule scaled to 40 x 30 x 22 cm, its top 4 cm above the neck's lower end."""
    import trimesh

    capsule = trimesh.creation.capsule(height=1.0, radius=1.0, count=[48, 24])
    vertices = np.asarray(capsule.vertices) * np.array([20.0, 15.0, 11.0])
    vertices[:, 1] += neck_bottom_y + 4.0 - vertices[:, 1].max()
    vertices[:, 2] += -2.0
    faces = np.asarray(capsule.faces, np.int32)
    normals = trimesh.Trimesh(vertices, faces, process=False).vertex_normals
    return Part("torso", vertices, faces, np.zeros((len(vertices), 2)), np.asarray(normals),
                Material(albedo=tuple(clothing_rgb), roughness=0.85, specular=0.5, two_sided=True))


def build_head(spec: HeadSpec, head: IctHead) -> TrueHead:
    """The Mitsuba parts and the exact reflectance of one head (module docstring)."""
    rng = np.random.default_rng(np.random.SeedSequence([spec.seed, 9151]))
    expression = np.zeros(head.expression_count)
    for name, weight in spec.expression.items():
        expression[head.expression_names.index(name)] = weight
    model = head.shape(np.asarray(spec.identity[:head.identity_count]), expression)
    normals = head.vertex_normals(model)
    rotation = pose_matrix(spec.yaw, spec.pitch, spec.roll)
    pivot = np.asarray(NECK_PIVOT)

    def pose(points: np.ndarray) -> np.ndarray:
        return (points - pivot) @ rotation.T + pivot

    params = sample_params(np.random.default_rng(np.random.SeedSequence([spec.seed, 3307])), skin_type=spec.skin_type)
    masks = {name: np.asarray(mask) for name, mask in head.region_masks.items()}
    skin, makeup = _outside_generator(generate_skin_maps(head.region_masks, seed=spec.seed, size=MAP_SIZE,
                                                         params=params), masks, rng)
    cheeks = (masks["cheeks"] + masks["forehead"]) > 0.5
    body_rgb = tuple(float(v) for v in np.median(skin.albedo[cheeks], axis=0))
    hair_rgb = skin_color.hair_albedo_linear(params.hair_eumelanin, params.hair_pheomelanin, grey=params.hair_grey)

    render_positions = pose(head.render_vertices(model))
    render_normals = head.render_vertices(normals) @ rotation.T

    def part(name: str, material: Material, part_names=None) -> Part:
        faces = head.part_faces(part_names or (name,))
        uv = head.part_uv((part_names or (name,))[0])
        vertices, faces, part_normals, part_uv = _compact(render_positions, faces, render_normals, uv)
        return Part(name, vertices, faces, part_uv, part_normals, material)

    roughness = skin.roughness
    parts = [
        part("face", Material(albedo=skin.albedo, roughness=roughness, specular=float(np.mean(skin.specular)),
                              normal_map=skin.normal_map)),
        part("back_head", Material(albedo=body_rgb, roughness=float(np.median(roughness)),
                                   specular=float(np.median(skin.specular)))),
        part("mouth", Material(albedo=MOUTH_RGB, roughness=0.6, specular=0.5),
             ("mouth_socket", "eye_socket_left", "eye_socket_right")),
        part("gums_tongue", Material(albedo=GUMS_RGB, roughness=0.35, specular=WET_SPECULAR)),
        part("teeth", Material(albedo=TEETH_RGB, roughness=0.3, specular=1.5)),
        part("sclera", Material(albedo=SCLERA_RGB, roughness=0.12, specular=WET_SPECULAR), ("sclera_left", "sclera_right")),
        part("iris", Material(albedo=_iris_texture(params.iris_rgb), roughness=0.12, specular=WET_SPECULAR),
             ("iris_left", "iris_right")),
    ]
    cap = _hair_cap(head, model, normals, spec.hair_thickness_cm, rng)
    if cap is not None:
        vertices, faces, cap_normals, uv = cap
        parts.append(Part("hair", pose(vertices), faces, uv, cap_normals @ rotation.T,
                          Material(albedo=tuple(float(v) for v in hair_rgb), roughness=0.55, specular=1.2,
                                   two_sided=True)))
    neck_bottom = float(model[:, 1].min())
    parts.append(_torso(neck_bottom, spec.clothing_rgb))
    return TrueHead(spec=spec, parts=parts, skin=skin, region_masks=masks,
                    landmarks=pose(head.landmarks68(model)), hair_rgb=np.asarray(hair_rgb), makeup=makeup)
