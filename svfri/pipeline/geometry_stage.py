"""The geometry stage: photo -> fitted mesh, camera, baked visibility, G-buffer, unwrapped texture.

Two meshes (:attr:`GeometrySettings.mesh`):

* ``"ict"`` (default): the ICT-FaceKit head fitted to the 468 Face Mesh points (:mod:`svfri.geometry.ict_fit`),
  posed in svfri's world (:mod:`svfri.geometry.ict_mesh`): a full head with ears, neck, eye sockets, eyeballs and
  teeth. Camera ``Camera(fit.world_to_pixel, w, h, 1 / fit.scale)`` in work-image pixels. Visibility and bent
  normals are baked over the whole opaque head. The G-buffer carries each part's own UVs (the face tile for the
  skin); the fit gets a second G-buffer (:attr:`GeometryResult.fit_gbuffer`): the pixels of face triangles that
  have template (network-layout) UVs, with those UVs and their tangent frames (the stated UV resampling of
  docs/architecture.md, "UV layouts"). ``texture.png`` is the photo unwrapped into the face tile (inpainted holes,
  no symmetry fill); the networks' input ``T`` is unwrapped in the template layout
  (:func:`unwrap_network_texture`).
* ``"template"``: MediaPipe's 468 points subdivided by svfri's template (7 257 vertices, the UV disc the networks
  were trained in): the mesh before the ICT head, kept as an option.

Steps 1-2 of docs/architecture.md. The result (:class:`GeometryResult`) is what the fit consumes; :func:`run_geometry_stage`
also writes the ``svfri mesh`` output set (``mesh.obj/.mtl``, ``texture.png``, ``visibility.npz``,
``landmarks.json``, ``fit.json``, ``overlay.png``) into a folder, all-or-nothing.

Large photos are processed on a face crop (the *work image*): a square around the face of
``WORK_CROP_FACE_FACTOR`` times the face's extent, shrunk so its side is at most ``WORK_IMAGE_MAX_SIDE``. The mesh,
the G-buffer and renders live in work-image pixels; ``fit.json`` records both the work-image camera and the
camera in the original photo's pixels (``world_to_pixel``, the contract).
"""

from __future__ import annotations

import dataclasses
import io
import json
import time
from pathlib import Path

import cv2
import numpy as np

import svfri
from svfri.bake.rasterize import gbuffer_with_uv, rasterize_gbuffer, rasterize_uv
from svfri.bake.unwrap import unwrap_photo
from svfri.bake.uv_bake import bake_textures
from svfri.bake.visibility import bake_visibility
from svfri.geometry.camera import Camera, camera_from_mesh_points, compose_affine, project
from svfri.geometry.face_detect import FaceMeshResult, fit_face_mesh
from svfri.geometry.gbuffer import GBuffer
from svfri.geometry.ict_fit import IctFit, fit_ict_head
from svfri.geometry.ict_head import PART_NAMES, load_ict_head
from svfri.geometry.ict_mesh import IctMesh, build_ict_mesh
from svfri.geometry.mesh_ops import vertex_normals, vertex_tangents
from svfri.geometry.template import FaceTemplate, load_face_template
from svfri.io.images import Photo, atomic_write_bytes, read_photo, write_png
from svfri.io.mesh_io import write_obj
from svfri.io.staging import StagedOutput
from svfri.pipeline.completeness import COMPLETE_MARKER, MESH_SET, OUTPUT_FILES, OUTPUT_SET_KEY
from svfri.geometry.gbuffer import GBuffer

__all__ = ["GeometrySettings", "GeometryResult", "compute_geometry", "run_geometry_stage", "write_geometry_outputs",
           "unwrap_network_texture", "WORK_IMAGE_MAX_SIDE", "WORK_CROP_FACE_FACTOR", "MESH_KINDS"]

#: Largest side of the work image (the face crop that meshing, rendering and fitting use), pixels.
WORK_IMAGE_MAX_SIDE = 512
#: Side of the square work crop as a multiple of the face mesh's larger extent.
WORK_CROP_FACE_FACTOR = 1.6


#: The meshes the geometry stage can build (module docstring).
MESH_KINDS = ("ict", "template")


@dataclasses.dataclass(frozen=True)
class GeometrySettings:
    """``mesh``: ``"ict"`` (the fitted ICT head) or ``"template"`` (the subdivided 468-point mesh)."""

    mesh: str = "ict"
    face_index: int = 0
    texture_size: int = 512
    ray_count: int = 128
    seed: int = 0
    backend: str = "auto"


@dataclasses.dataclass
class GeometryResult:
    """Everything the fit and the writers need from the geometry stage (arrays in world cm / work pixels)."""

    photo: Photo
    work_image: np.ndarray          # [h, w, 3] float32 sRGB in [0, 1]
    work_to_photo: np.ndarray       # [2, 3] affine, work pixels -> photo pixels
    camera: Camera                  # world -> work pixels
    photo_camera: Camera            # world -> original photo pixels (the contract's world_to_pixel)
    mesh: FaceMeshResult
    coarse_vertices: np.ndarray     # [468, 3] the Face Mesh points, world cm
    vertices: np.ndarray            # [V, 3] subdivided mesh, world cm
    faces: np.ndarray               # [F, 3]
    uv: np.ndarray                  # [V, 2]
    normals: np.ndarray             # [V, 3]
    tangents: np.ndarray            # [V, 4]
    visibility_sh: np.ndarray       # [V, 9]
    bent_normal: np.ndarray         # [V, 3]
    gbuffer: GBuffer
    texture: np.ndarray             # [S, S, 4] unwrapped sRGB + visibility mask
    bake: dict                      # UV bake textures
    landmarks_world: np.ndarray     # [68, 3] world cm
    timings: dict
    face_index: int = 0
    mesh_kind: str = "template"
    fit_gbuffer: GBuffer | None = None   # the fit's G-buffer in the template layout (None: ``gbuffer`` is)
    ict_fit: IctFit | None = None
    ict_mesh: IctMesh | None = None
    face_part: np.ndarray | None = None  # [F] index into PART_NAMES (ICT mesh), None for the template mesh

    @property
    def template_gbuffer(self) -> GBuffer:
        """The G-buffer in the networks' (template) layout that the fit optimises on."""
        return self.gbuffer if self.fit_gbuffer is None else self.fit_gbuffer

    @property
    def landmarks68(self) -> np.ndarray:
        """``[68, 2]`` iBUG landmarks in original photo pixels."""
        return project(self.photo_camera.world_to_pixel, self.landmarks_world)


def _work_crop(photo: Photo, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The square work image around the face and its affine ``photo -> work`` (2x3)."""
    low, high = points[:, :2].min(0), points[:, :2].max(0)
    centre = (low + high) / 2
    side = float((high - low).max() * WORK_CROP_FACE_FACTOR)
    size = int(min(round(side), WORK_IMAGE_MAX_SIDE))
    scale = size / side
    photo_to_work = np.array([[scale, 0, size / 2 - scale * centre[0]], [0, scale, size / 2 - scale * centre[1]]])
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    work = cv2.warpAffine(photo.pixels, photo_to_work, (size, size), flags=interpolation,
                          borderMode=cv2.BORDER_REPLICATE)
    return work.astype(np.float32) / np.float32(photo.max_value), photo_to_work


def compute_geometry(photo: Photo, settings: GeometrySettings = GeometrySettings(), *,
                     template: FaceTemplate | None = None) -> GeometryResult:
    """Runs detection, meshing (:attr:`GeometrySettings.mesh`), bake, G-buffer and unwrap on one photo."""
    if settings.mesh not in MESH_KINDS:
        raise ValueError(f"mesh must be one of {MESH_KINDS}, got {settings.mesh!r}")
    template = template or load_face_template()
    timings = {}
    clock = time.perf_counter()
    mesh = fit_face_mesh(photo.pixels, face_index=settings.face_index)
    timings["detect_mesh"] = time.perf_counter() - clock

    work_image, photo_to_work = _work_crop(photo, mesh.points)
    scale = photo_to_work[0, 0]
    work_points = np.concatenate([mesh.points[:, :2] @ photo_to_work[:, :2].T + photo_to_work[:, 2],
                                  mesh.points[:, 2:3] * scale], axis=1)
    work_to_photo = cv2.invertAffineTransform(photo_to_work)
    common = dict(photo=photo, work_image=work_image, work_to_photo=work_to_photo, mesh=mesh,
                  face_index=settings.face_index)
    if settings.mesh == "ict":
        return _ict_geometry(work_points, scale, settings, template, timings, common)
    return _template_geometry(work_points, scale, settings, template, timings, common)


def _photo_camera(camera: Camera, work_to_photo: np.ndarray, photo: Photo, scale: float) -> Camera:
    """The work-image camera composed with ``work_to_photo``: world -> original photo pixels."""
    return Camera(compose_affine(work_to_photo, camera.world_to_pixel), photo.width, photo.height,
                  camera.cm_per_pixel * scale)


def _template_geometry(work_points, scale, settings, template, timings, common) -> GeometryResult:
    """The template mesh: the 468 points subdivided (two Loop levels), baked and unwrapped in the template layout."""
    work_image, photo = common["work_image"], common["photo"]
    clock = time.perf_counter()
    coarse, camera = camera_from_mesh_points(work_points, width=work_image.shape[1], height=work_image.shape[0])
    photo_camera = _photo_camera(camera, common["work_to_photo"], photo, scale)
    vertices = template.subdivide(coarse)
    faces, uv = template.faces_sub, template.uv_sub
    normals = vertex_normals(vertices, faces)
    tangents = vertex_tangents(vertices, faces, uv, normals)
    timings["subdivide"] = time.perf_counter() - clock

    clock = time.perf_counter()
    visibility_sh, bent_normal = bake_visibility(vertices, faces, normals, ray_count=settings.ray_count,
                                                 seed=settings.seed, backend=settings.backend)
    timings["bake"] = time.perf_counter() - clock

    clock = time.perf_counter()
    gbuffer = rasterize_gbuffer(vertices, faces, uv, normals, tangents, visibility_sh, bent_normal,
                                world_to_pixel=camera.world_to_pixel, height=work_image.shape[0],
                                width=work_image.shape[1])
    timings["gbuffer"] = time.perf_counter() - clock

    clock = time.perf_counter()
    texture = unwrap_photo(work_image, vertices, faces, uv, normals, world_to_pixel=camera.world_to_pixel,
                           size=settings.texture_size, mirror_vertex=template.mirror_vertex_sub, gbuffer=gbuffer)
    bake = bake_textures(faces, uv, visibility_sh, bent_normal, size=settings.texture_size)
    timings["unwrap_bake_textures"] = time.perf_counter() - clock

    landmarks_world = template.landmarks68(coarse)
    return GeometryResult(camera=camera, photo_camera=photo_camera, coarse_vertices=coarse, vertices=vertices,
                          faces=faces, uv=uv, normals=normals, tangents=tangents, visibility_sh=visibility_sh,
                          bent_normal=bent_normal, gbuffer=gbuffer, texture=texture, bake=bake,
                          landmarks_world=landmarks_world, timings=timings, mesh_kind="template", **common)


#: ICT parts inside the head (mouth interior, eye sockets): baked with ``1 / INTERIOR_RAY_DIVISOR`` of the rays.
#: They are mostly hidden and nearly fully occluded (their visibility is small and smooth); a quarter of the rays
#: saves ~35-50 % of the bake (measured on a fitted head, 24 k model vertices: 1.04-1.49 -> 0.66-0.71 s on the loaded
#: 2-core CPU).
INTERIOR_PARTS = ("mouth_socket", "gums_tongue", "teeth", "eye_socket_left", "eye_socket_right")
INTERIOR_RAY_DIVISOR = 4


def _bake_on_model_vertices(ict: IctMesh, settings: GeometrySettings) -> tuple[np.ndarray, np.ndarray]:
    """Visibility SH and bent normals baked once per ICT *model* vertex of the opaque head (render vertices that
    are copies of one model vertex, on UV seams and part boundaries, share position and normal), against the whole
    opaque head, expanded; :data:`INTERIOR_PARTS` with fewer rays."""
    _, first, inverse = np.unique(ict.model_vertex, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    faces = inverse[ict.faces]
    interior = np.zeros(len(first), dtype=bool)
    interior[inverse[np.unique(ict.faces[ict.part_triangles(INTERIOR_PARTS)])]] = True
    interior[inverse[np.unique(ict.faces[~ict.part_triangles(INTERIOR_PARTS)])]] = False
    visibility_sh = np.zeros((len(first), 9), np.float32)
    bent_normal = np.zeros((len(first), 3), np.float32)
    for subset, rays in ((np.flatnonzero(~interior), settings.ray_count),
                         (np.flatnonzero(interior), max(1, settings.ray_count // INTERIOR_RAY_DIVISOR))):
        if subset.size:
            visibility_sh[subset], bent_normal[subset] = bake_visibility(
                ict.vertices[first], faces, ict.normals[first], ray_count=rays, seed=settings.seed,
                backend=settings.backend, query=subset)
    return visibility_sh[inverse], bent_normal[inverse]


def _ict_geometry(work_points, scale, settings, template, timings, common) -> GeometryResult:
    """The fitted ICT head (module docstring)."""
    work_image, photo = common["work_image"], common["photo"]
    height, width = work_image.shape[:2]
    clock = time.perf_counter()
    head = load_ict_head()
    fit = fit_ict_head(work_points, head)
    timings["ict_fit"] = time.perf_counter() - clock

    clock = time.perf_counter()
    camera = Camera(fit.world_to_pixel, width, height, fit.cm_per_pixel)
    photo_camera = _photo_camera(camera, common["work_to_photo"], photo, scale)
    ict = build_ict_mesh(head, fit)
    tangents = ict.tangents()
    template_tangents = ict.template_tangents()
    timings["ict_mesh"] = time.perf_counter() - clock

    clock = time.perf_counter()
    visibility_sh, bent_normal = _bake_on_model_vertices(ict, settings)
    timings["bake"] = time.perf_counter() - clock

    clock = time.perf_counter()
    gbuffer = rasterize_gbuffer(ict.vertices, ict.faces, ict.uv, ict.normals, tangents, visibility_sh, bent_normal,
                                world_to_pixel=camera.world_to_pixel, height=height, width=width)
    fit_gbuffer = gbuffer_with_uv(gbuffer, ict.faces, np.nan_to_num(ict.template_uv, nan=0.0), template_tangents,
                                  ict.template_triangles)
    timings["gbuffer"] = time.perf_counter() - clock

    clock = time.perf_counter()
    face = ict.part_triangles("face")
    texture = unwrap_photo(work_image, ict.vertices, ict.faces[face], ict.uv, ict.normals,
                           world_to_pixel=camera.world_to_pixel, size=settings.texture_size, fill="inpaint",
                           gbuffer=gbuffer)
    bake = bake_textures(ict.faces[face], ict.uv, visibility_sh, bent_normal, size=settings.texture_size)
    timings["unwrap_bake_textures"] = time.perf_counter() - clock

    coarse = fit.to_world(head.points468(fit.shape(head)))
    return GeometryResult(camera=camera, photo_camera=photo_camera, coarse_vertices=coarse, vertices=ict.vertices,
                          faces=ict.faces, uv=ict.uv, normals=ict.normals, tangents=tangents,
                          visibility_sh=visibility_sh, bent_normal=bent_normal, gbuffer=gbuffer, texture=texture,
                          bake=bake, landmarks_world=ict.landmarks_world, timings=timings, mesh_kind="ict",
                          fit_gbuffer=fit_gbuffer, ict_fit=fit, ict_mesh=ict, face_part=ict.face_part, **common)


#: Where the ICT face has no template-UV triangle inside the template disc (its eye and mouth openings: the eyeballs
#: and teeth are other parts) the networks' input ``T`` is taken from the template mesh's own unwrap
#: (``"template"``), as in training, where ``T`` always shows the eyes and mouth; ``"inpaint"`` fills those holes
#: from the surrounding skin instead. Measured (``python -m benchmarks.pathtraced --quick``, 2 held-out scenes):
#: with ``"inpaint"`` the albedo came out lighter and worse (default fit 23.4 dB, ITA error 18.6 deg; type V scene
#: 18.7 dB / +36 deg), with ``"template"`` 25.9 dB / 13.5 deg (type V 22.5 dB / +25 deg), as the template mesh gives
#: (26.1 dB / 13.9 deg, over fewer pixels).
NETWORK_INPUT_HOLES = "template"


def unwrap_network_texture(result: GeometryResult, size: int, template: FaceTemplate) -> np.ndarray:
    """The networks' input ``T`` (``[size, size, 4]``, sRGB + visibility mask) in the template layout.

    Template mesh: unwrapped as the training set made it (symmetry, then inpainting). ICT mesh: the stated UV
    resampling's step (a): the photo unwrapped in the template layout through the ICT face vertices' template UVs
    (triangles with a corner off the template disc dropped), holes filled by the template layout's mirror
    ``(s, t) -> (1 - s, t)`` (:mod:`svfri.geometry.template`) then inpainting, as in training; the texels no ICT face
    triangle reaches (the eye and mouth openings) from the template mesh's unwrap (:data:`NETWORK_INPUT_HOLES`).
    """
    if result.mesh_kind == "template":
        return unwrap_photo(result.work_image, result.vertices, result.faces, result.uv, result.normals,
                            world_to_pixel=result.camera.world_to_pixel, size=size,
                            mirror_vertex=template.mirror_vertex_sub, gbuffer=result.gbuffer)
    ict = result.ict_mesh
    faces = ict.template_faces
    used, compact = np.unique(faces, return_inverse=True)
    compact = compact.reshape(faces.shape)
    # The whole head's G-buffer is the z-buffer: ears, brows, nose and eyelids hide what is behind them.
    texture = unwrap_photo(result.work_image, ict.vertices[used], compact, ict.template_uv[used], ict.normals[used],
                           world_to_pixel=result.camera.world_to_pixel, size=size, mirror_uv=_mirror_template_uv,
                           gbuffer=result.gbuffer)
    if NETWORK_INPUT_HOLES == "inpaint":
        return texture
    _, reached = rasterize_uv(compact, ict.template_uv[used], np.ones(len(used), np.float32), size=size)
    holes = ~reached & (_template_mesh_texture(result, size, template, coverage_only=True) > 0)
    if not holes.any():
        return texture
    from_template = _template_mesh_texture(result, size, template)
    texture[holes] = from_template[holes]
    return texture


def _template_mesh_texture(result: GeometryResult, size: int, template: FaceTemplate, *,
                           coverage_only: bool = False) -> np.ndarray:
    """The photo unwrapped by the template mesh of the same Face Mesh points, as the training set made ``T``
    (``[size, size, 4]``); ``coverage_only``: just the ``[size, size]`` template disc (1 inside)."""
    if coverage_only:
        _, disc = rasterize_uv(template.faces_sub, template.uv_sub, np.ones(len(template.uv_sub), np.float32),
                               size=size)
        return disc.astype(np.float32)
    photo_to_work = cv2.invertAffineTransform(result.work_to_photo)
    scale = photo_to_work[0, 0]
    points = result.mesh.points
    work_points = np.concatenate([points[:, :2] @ photo_to_work[:, :2].T + photo_to_work[:, 2],
                                  points[:, 2:3] * scale], axis=1)
    height, width = result.work_image.shape[:2]
    coarse, camera = camera_from_mesh_points(work_points, width=width, height=height)
    vertices = template.subdivide(coarse)
    normals = vertex_normals(vertices, template.faces_sub)
    return unwrap_photo(result.work_image, vertices, template.faces_sub, template.uv_sub, normals,
                        world_to_pixel=camera.world_to_pixel, size=size, mirror_vertex=template.mirror_vertex_sub)


def _mirror_template_uv(uv: np.ndarray) -> np.ndarray:
    """The template layout's left-right mirror, ``(s, t) -> (1 - s, t)`` (:mod:`svfri.geometry.template`)."""
    return np.stack([1.0 - uv[:, 0], uv[:, 1]], axis=-1)


#: Side of the overlay preview (the work image is upscaled so the wireframe stays readable).
OVERLAY_SIDE_PX = 768
#: ICT mesh: the head's coverage is tinted with this colour (RGB) at this opacity in the overlay.
OVERLAY_HEAD_TINT = (60, 140, 255)
OVERLAY_HEAD_TINT_ALPHA = 0.25


def _overlay(result: GeometryResult, template: FaceTemplate) -> np.ndarray:
    """The coarse mesh's wireframe (ICT: the 468 Face Mesh points' triangulation on the fitted head, the head's
    coverage tinted) and the 68 landmarks over the work image (uint8 RGB, about 768 px)."""
    zoom = max(1.0, OVERLAY_SIDE_PX / max(result.work_image.shape[:2]))
    size = (int(round(result.work_image.shape[1] * zoom)), int(round(result.work_image.shape[0] * zoom)))
    canvas = cv2.resize(np.clip(result.work_image * 255 + 0.5, 0, 255).astype(np.uint8), size,
                        interpolation=cv2.INTER_CUBIC)
    if result.mesh_kind == "ict":  # the whole head's coverage, tinted (the wireframe is the 468-point part)
        covered = cv2.resize(result.gbuffer.mask().astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
        tint = np.array(OVERLAY_HEAD_TINT, np.float32)
        canvas[covered] = (canvas[covered] * (1 - OVERLAY_HEAD_TINT_ALPHA) + tint * OVERLAY_HEAD_TINT_ALPHA
                           ).astype(np.uint8)
    subpixel = 4  # cv2 drawing with 2 fractional bits
    coarse = project(result.camera.world_to_pixel, result.coarse_vertices) * zoom
    lines = [np.round(coarse[face][[0, 1, 2]] * subpixel).astype(np.int32) for face in template.faces]
    cv2.polylines(canvas, lines, True, (90, 230, 130), 1, cv2.LINE_AA, shift=2)
    for x, y in project(result.camera.world_to_pixel, result.landmarks_world) * zoom:
        cv2.circle(canvas, (int(round(x * subpixel)), int(round(y * subpixel))), 3 * subpixel, (255, 70, 70), -1,
                   cv2.LINE_AA, shift=2)
    return canvas


#: The skin maps ``mesh.obj``'s skin material points at.
SKIN_TEXTURES = {"albedo": "albedo.png", "specular": "specular.png", "normal": "normal.png"}


def ict_json(result: GeometryResult) -> dict:
    """``fit.json``'s ``"ict"``: the model, its format, the fitted coefficients and pose, residual and time (the keys
    a glTF exporter with morph targets reads together with ``models/ict_head.npz``)."""
    from svfri.geometry.ict_head import FORMAT_VERSION, ICT_HEAD_FILENAME

    fit, head = result.ict_fit, load_ict_head()
    return {"model": ICT_HEAD_FILENAME, "format_version": FORMAT_VERSION,
            "identity": [round(float(x), 6) for x in fit.identity],
            "expression": {name: round(float(w), 6) for name, w in zip(head.expression_names, fit.expression)},
            "rotation_model_to_world": np.round(fit.rotation, 8).tolist(),
            "scale_px_per_cm_work": round(float(fit.scale), 6),
            "translation_work_px": np.round(fit.translation, 4).tolist(),
            "residual_rms_px": round(fit.residual_rms(), 4),
            "seconds": round(float(result.timings.get("ict_fit", fit.timings["fit"])), 4),
            "vertices": "mesh.obj vertex i is ICT render vertex render_ids[i] of the opaque parts (duplicated per part "
                        "on part boundaries), posed: world = R (neutral + identity . modes + expression . modes)"}


def write_geometry_outputs(result: GeometryResult, folder: Path, settings: GeometrySettings, *,
                           extra_fit_json: dict | None = None, write_started: float | None = None,
                           parts: dict | None = None, skin_part: dict | None = None,
                           skin_roughness: float | None = None, uv: np.ndarray | None = None) -> None:
    """Writes the geometry output set into ``folder`` (which should be a staging folder), ``fit.json`` last.

    ``write_started``: ``time.perf_counter()`` when the caller began writing; the time until ``fit.json`` is
    serialised is recorded as its ``write`` timing. ICT mesh: ``parts`` (``{part: PartRecord}``,
    :mod:`svfri.pipeline.head_parts`; ``None``: the stated defaults) and ``skin_part`` (the face part's ``fit.json``
    entry) give ``mesh.obj``'s materials, the parts' textures and ``fit.json``'s ``"parts"``; ``uv`` replaces the
    mesh's UVs in ``mesh.obj`` (:func:`svfri.pipeline.head_parts.swatch_uv`).
    """
    from svfri.io.output_set import DEFAULT_ROUGHNESS
    from svfri.pipeline import head_parts

    folder.mkdir(parents=True, exist_ok=True)
    ict_extra = {}
    if result.mesh_kind == "ict":
        roughness = DEFAULT_ROUGHNESS if skin_roughness is None else skin_roughness
        parts = parts or head_parts.default_part_records(roughness)
        write_obj(folder / "mesh.obj", result.vertices, result.faces, result.uv if uv is None else uv, result.normals,
                  materials=head_parts.obj_materials(parts, roughness, SKIN_TEXTURES),
                  face_material=head_parts.face_materials(result.face_part))
        for record in parts.values():
            if record.texture and record.image is not None and not (folder / record.texture).exists():
                write_png(folder / record.texture, record.image)
        skin_entry = skin_part or {"texture": SKIN_TEXTURES["albedo"], "albedo_srgb": None, "roughness": roughness,
                                   "specular": None, "source": "the skin maps (face tile); none before a fit"}
        ict_extra = {"ict": ict_json(result), "parts": head_parts.parts_json(parts, skin_entry)}
    else:
        write_obj(folder / "mesh.obj", result.vertices, result.faces, result.uv, result.normals,
                  textures=SKIN_TEXTURES)
    write_png(folder / "texture.png", result.texture[..., :3])
    write_png(folder / "texture_mask.png", result.texture[..., 3])
    buffer = io.BytesIO()
    np.savez_compressed(buffer, vertex_visibility_sh=result.visibility_sh.astype(np.float32),
                        vertex_bent_normal=result.bent_normal.astype(np.float32),
                        **{key: np.asarray(value).astype(np.float16) if np.asarray(value).dtype.kind == "f" else value
                           for key, value in result.bake.items()})
    atomic_write_bytes(folder / "visibility.npz", buffer.getvalue())
    landmarks = {"convention": "iBUG 300-W 68 points (0-16 jaw from the subject's right, ...), photo pixels, "
                               "origin at the top-left corner of the top-left pixel",
                 "source": ("ICT-FaceKit's 68 landmark vertices of the fitted head" if result.mesh_kind == "ict"
                            else "the template's 68 landmark positions on the fitted mesh"),
                 "image_width": result.photo.width, "image_height": result.photo.height,
                 "points": np.round(result.landmarks68, 3).tolist()}
    atomic_write_bytes(folder / "landmarks.json", (json.dumps(landmarks, indent=1) + "\n").encode())
    write_png(folder / "overlay.png", _overlay(result, load_face_template()))
    fit = {
        "svfri_version": svfri.__version__,
        "input": str(result.photo.path),
        "camera": result.photo_camera.to_json(),
        "work_image": {"camera": result.camera.to_json(), "work_to_photo": result.work_to_photo.tolist()},
        "face": {"index": settings.face_index, "faces_found": result.mesh.face_count,
                 "detection_score": result.mesh.detection.score, "mesh_presence": result.mesh.presence},
        "photo": {"width": result.photo.width, "height": result.photo.height, "mode": result.photo.source_mode,
                  "grayscale": result.photo.was_grayscale, "alpha_dropped": result.photo.had_alpha,
                  "exif_orientation": result.photo.exif_orientation},
        "mesh": {"kind": result.mesh_kind, "vertices": int(len(result.vertices)), "triangles": int(len(result.faces)),
                 "units": "cm"},
        "settings": dataclasses.asdict(settings),
        "timings_seconds": {key: round(value, 4) for key, value in result.timings.items()},
    }
    fit.update(ict_extra)
    fit.update(extra_fit_json or {})
    if write_started is not None:
        result.timings["write"] = time.perf_counter() - write_started
        fit["timings_seconds"]["write"] = round(result.timings["write"], 4)
    atomic_write_bytes(folder / "fit.json", (json.dumps(fit, indent=2) + "\n").encode())


def run_geometry_stage(photo_path: Path, folder: Path, settings: GeometrySettings = GeometrySettings(), *,
                       quiet: bool = True) -> dict:
    """``svfri mesh`` for one photo: compute and write the geometry output set into ``folder``; returns metrics."""
    clock = time.perf_counter()
    photo = read_photo(photo_path)
    load_seconds = time.perf_counter() - clock
    result = compute_geometry(photo, settings)
    result.timings = {"load": load_seconds, **result.timings}
    clock = time.perf_counter()
    with StagedOutput(folder, last=COMPLETE_MARKER, replaces=OUTPUT_FILES) as stage:
        write_geometry_outputs(result, stage.path, settings, extra_fit_json={OUTPUT_SET_KEY: MESH_SET})
    total = load_seconds + sum(v for k, v in result.timings.items() if k != "load") + time.perf_counter() - clock
    return {"seconds_geometry": round(total, 3), "vertices": int(len(result.vertices)),
            "notes": photo_notes(result)}


def photo_notes(result: GeometryResult) -> list[str]:
    """What the user should know about how their photo was taken in (one line each)."""
    photo, notes = result.photo, []
    if photo.was_grayscale:
        notes.append("grayscale photo: colours (albedo, lighting) come out grey")
    if photo.had_alpha:
        notes.append("the photo's alpha channel was ignored")
    if result.mesh.face_count > 1:
        notes.append(f"{result.mesh.face_count} faces found; used face {result.face_index} (0 = largest, see --face)")
    return notes
