"""glTF 2.0 binary (``.glb``) export of a face asset: one mesh, tangent frames, a PBR material, embedded PNG maps.

The container (header, chunks, accessors, images) is :mod:`svfri.io.glb`; this module decides what goes in it for
an output folder's ``mesh.obj`` + maps, and holds the material and texture rules that the animatable ICT-head
writer (:mod:`svfri.io.gltf_ict`) shares.

What maps where (svfri conventions: :mod:`svfri.conventions`):

* **Geometry**: ``POSITION`` in metres (svfri's world is in centimetres: ``x / 100``); svfri's world frame is already
  glTF's (right-handed, ``+Y`` up, the face looking along ``+Z``). ``NORMAL`` = area-weighted vertex normals
  (:func:`svfri.geometry.mesh_ops.vertex_normals`, the normals ``mesh.obj`` carries), ``TANGENT`` = the frames
  svfri's renderer shades the normal map on (:func:`svfri.geometry.mesh_ops.vertex_tangents`, Lengyel's method):
  ``xyz`` along ``+s``, ``w`` the handedness with ``B = w cross(N, T)`` pointing along ``+t`` -- exactly glTF's
  bitangent rule. ``TEXCOORD_0`` = ``(s, 1 - t)``: glTF's texture origin is the top-left corner with ``v`` down,
  svfri's ``t`` is up. Triangles keep their counter-clockwise winding (glTF front faces).
* **Material** (``pbrMetallicRoughness``): ``baseColorTexture`` = ``albedo.png`` (sRGB, as glTF requires);
  ``metallicFactor`` 0; ``roughnessFactor`` = the perceptual roughness of ``fit.json`` (glTF's roughness is
  perceptual too, ``alpha = roughness^2``), or a ``metallicRoughnessTexture`` (roughness in ``G``, metallic 0 in
  ``B``) when the folder has a ``roughness.png``; ``normalTexture`` = ``normal.png`` (tangent space, ``+Y`` up
  = OpenGL convention, which is glTF's).
* **Specular** (``KHR_materials_specular`` + ``KHR_materials_ior``): svfri's Fresnel is Schlick with
  ``F0 = 0.028 * t_s`` (``t_s`` the linear ``specular.png``) and ``F90 = 1``. The extension's dielectric Fresnel is
  (KHR_materials_specular, "Implementation" and "Interaction with other extensions")::

      F0  = min(((ior - 1) / (ior + 1))^2 * specularColorFactor * specularColorTexture.rgb, 1)
            * specularFactor * specularTexture.a
      F90 = specularFactor * specularTexture.a

  ``specularFactor``/``specularTexture`` scale **both** ``F0`` and ``F90``, so the specular map cannot go there
  without darkening grazing reflections that svfri keeps at 1. It goes into ``specularColorTexture`` instead (grey,
  sRGB-encoded as that slot requires), with ``specularFactor = 1``, ``ior = 1.4`` (skin; ``F0_ior = 0.02778``) and
  ``specularColorFactor = 0.028 / F0_ior = 1.008``: then the engine's ``F0 = 0.028 t_s`` and ``F90 = 1``, svfri's
  exactly. An engine without ``KHR_materials_specular`` but with ``KHR_materials_ior`` uses ``F0 = 0.0278``
  everywhere (svfri's ``t_s = 1``); one with neither uses glTF's default ``F0 = 0.04``.
* **Samplers**: linear magnification, trilinear minification, clamp-to-edge (the UV layout lies inside [0, 1]).

Approximations: maps larger than ``texture_size`` are downscaled with area averaging (albedo averaged in linear
light, normals renormalised); all maps are re-encoded as 8-bit PNG; svfri's baked visibility (ambient and specular
occlusion) is not exported -- engines compute their own occlusion.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

import svfri
from svfri.errors import InputError
from svfri.io.glb import (ELEMENT_ARRAY_BUFFER, TRIANGLES, GlbBuilder, accessor_array, index_component, png_bytes,
                          read_glb)
from svfri.io.images import atomic_write_bytes
from svfri.io.output_set import DEFAULT_ROUGHNESS, FaceAsset, load_face_asset
from svfri.math.color import SKIN_F0, SKIN_INDEX_OF_REFRACTION, ior_to_f0, srgb_encode_unit, srgb_to_linear_np

__all__ = [
    "write_glb", "write_glb_from_folder", "glb_bytes", "read_glb", "accessor_array", "GLB_FILE_NAME",
    "DEFAULT_TEXTURE_SIZE", "CENTIMETRES_PER_METRE", "SKIN_SPECULAR_F0", "SKIN_IOR", "ior_to_f0",
    "ROUGHNESS_MAP_FILE", "srgb_encode", "srgb_decode", "folder_material", "downscale_albedo", "downscale_normal",
    "downscale_grey", "pbr_material", "new_builder", "glb_texcoords", "MATERIAL_EXTENSIONS",
]

#: The file ``write_glb_from_folder`` writes into an output folder.
GLB_FILE_NAME = "face.glb"
#: Optional per-texel roughness map an output folder may hold (linear grey, perceptual roughness).
ROUGHNESS_MAP_FILE = "roughness.png"
#: Default cap on the side of embedded maps, texels (larger maps are downscaled; smaller ones are kept).
DEFAULT_TEXTURE_SIZE = 1024
#: svfri's world unit is the centimetre, glTF's the metre.
CENTIMETRES_PER_METRE = 100.0
#: Skin F0 that svfri's specular map scales (:data:`svfri.math.color.SKIN_F0`; ``fit.json``'s
#: ``material.specular_f0_scale`` overrides it).
SKIN_SPECULAR_F0 = SKIN_F0
#: Skin's index of refraction written as ``KHR_materials_ior`` (:data:`svfri.math.color.SKIN_INDEX_OF_REFRACTION`).
SKIN_IOR = SKIN_INDEX_OF_REFRACTION
#: The material extensions every svfri ``.glb`` uses (``extensionsUsed``).
MATERIAL_EXTENSIONS = ("KHR_materials_specular", "KHR_materials_ior")

#: sRGB decoding (IEC 61966-2-1), ``[0, 1]`` -> linear, and encoding of linear values clipped to ``[0, 1]``
#: (:mod:`svfri.math.color`, which imports without TensorFlow).
srgb_decode = srgb_to_linear_np
srgb_encode = srgb_encode_unit
_NORMALIZE_EPSILON = 1e-12


# ----------------------------------------------------------------------------------------------------- textures

def _area_resize(image: np.ndarray, size: int) -> np.ndarray:
    import cv2

    channels = image.shape[-1]
    resized = cv2.resize(np.ascontiguousarray(image, dtype=np.float32), (size, size), interpolation=cv2.INTER_AREA)
    return resized.reshape(size, size, channels).astype(np.float64)


def _target_side(image: np.ndarray, texture_size: int | None) -> int | None:
    """The side to resample to (``side x side``: UV space is the unit square), or ``None`` to keep the map."""
    height, width = image.shape[:2]
    if not texture_size or max(height, width) <= texture_size:
        return None
    return int(texture_size)


def downscale_albedo(albedo_srgb: np.ndarray, texture_size: int | None) -> np.ndarray:
    """``[H, W, 3]`` sRGB albedo capped at ``texture_size`` texels a side: area average in linear light, re-encoded."""
    side = _target_side(albedo_srgb, texture_size)
    if side is None:
        return np.clip(albedo_srgb, 0.0, 1.0)
    return srgb_encode(_area_resize(srgb_decode(np.clip(albedo_srgb, 0.0, 1.0)), side))  # average light, not codes


def downscale_normal(normal_map: np.ndarray, texture_size: int | None) -> np.ndarray:
    """``[H, W, 3]`` encoded normal map capped at ``texture_size``: area average of ``2c - 1``, renormalised."""
    side = _target_side(normal_map, texture_size)
    if side is None:
        return np.clip(normal_map, 0.0, 1.0)
    decoded = _area_resize(normal_map, side) * 2.0 - 1.0
    unit = decoded / np.maximum(np.linalg.norm(decoded, axis=-1, keepdims=True), _NORMALIZE_EPSILON)
    return 0.5 * unit + 0.5


def downscale_grey(grey: np.ndarray, texture_size: int | None) -> np.ndarray:
    """``[H, W, 1]`` linear map (specular, roughness) clipped to [0, 1] and capped at ``texture_size`` (area average)."""
    side = _target_side(grey, texture_size)
    grey = np.clip(grey, 0.0, 1.0)
    return grey if side is None else _area_resize(grey, side)


def _mesh_frames(vertices_cm: np.ndarray, faces: np.ndarray, uv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from svfri.geometry.mesh_ops import vertex_normals, vertex_tangents

    normals = vertex_normals(vertices_cm, faces)
    tangents = vertex_tangents(vertices_cm, faces, uv, normals)
    return normals, tangents


def glb_texcoords(uv: np.ndarray) -> np.ndarray:
    """svfri UVs ``[V, 2]`` (``t`` up) -> glTF ``TEXCOORD_0`` ``(s, 1 - t)`` (origin at the image's top-left)."""
    uv = np.asarray(uv, dtype=np.float64)
    return np.stack([uv[:, 0], 1.0 - uv[:, 1]], axis=-1)


def pbr_material(builder: GlbBuilder, name: str, *, specular_f0: float, roughness: float = DEFAULT_ROUGHNESS,
                 albedo_srgb: np.ndarray | None = None, albedo_factor_srgb: tuple[float, float, float] | None = None,
                 normal_map: np.ndarray | None = None, specular_map: np.ndarray | None = None,
                 specular_scale: float = 1.0, roughness_map: np.ndarray | None = None,
                 texture_size: int | None = DEFAULT_TEXTURE_SIZE, extras: dict | None = None) -> int:
    """Appends one dielectric PBR material (module docstring: the specular mapping) and returns its index.

    Args:
      builder: the document under construction (textures are added to it, identical maps shared).
      specular_f0: the F0 that ``specular_map`` / ``specular_scale`` scale (skin: 0.028).
      roughness: perceptual roughness in [0, 1] (``alpha = r^2``), unless ``roughness_map`` is given.
      albedo_srgb: ``[H, W, 3]`` sRGB base colour map in [0, 1], or ``None`` for a constant colour.
      albedo_factor_srgb: the constant base colour, sRGB-encoded (stored linear: ``baseColorFactor`` is linear).
      normal_map: ``[H, W, 3]`` encoded tangent-space normal map (OpenGL +Y), or ``None``.
      specular_map: ``[H, W, 1]`` linear scale on ``specular_f0``, or ``None`` for ``specular_scale``.
      specular_scale: constant scale on ``specular_f0`` where there is no map.
      roughness_map: ``[H, W, 1]`` linear perceptual roughness, or ``None``.
      texture_size: cap on the side of embedded maps (``None`` / 0: keep).
      extras: JSON provenance merged into the material's ``extras.svfri``.
    """
    pbr: dict = {"metallicFactor": 0.0}
    if albedo_srgb is not None:
        pbr["baseColorTexture"] = {"index": builder.add_texture(png_bytes(downscale_albedo(albedo_srgb, texture_size)),
                                                                f"{name} albedo (sRGB)")}
    elif albedo_factor_srgb is not None:
        linear = srgb_decode(np.clip(np.asarray(albedo_factor_srgb, dtype=np.float64), 0.0, 1.0))
        pbr["baseColorFactor"] = [*linear.astype(float).tolist(), 1.0]
    if roughness_map is not None:
        grey = downscale_grey(np.asarray(roughness_map, dtype=np.float64)[..., :1], texture_size)
        packed = np.concatenate([np.zeros_like(grey), grey, np.zeros_like(grey)], axis=-1)  # G roughness, B metal
        pbr["metallicRoughnessTexture"] = {"index": builder.add_texture(png_bytes(packed),
                                                                        f"{name} roughness (G), metallic (B)")}
        pbr["roughnessFactor"] = 1.0
    else:
        pbr["roughnessFactor"] = float(np.clip(roughness, 0.0, 1.0))
    material: dict = {"name": name, "pbrMetallicRoughness": pbr}
    if normal_map is not None:
        material["normalTexture"] = {"index": builder.add_texture(
            png_bytes(downscale_normal(normal_map, texture_size)), f"{name} normal (tangent space, OpenGL +Y)"),
            "scale": 1.0}
    color_factor = float(specular_f0 / ior_to_f0(SKIN_IOR))
    specular = {"specularFactor": 1.0}
    if specular_map is not None:
        specular_srgb = srgb_encode(downscale_grey(np.asarray(specular_map)[..., :1], texture_size))
        specular["specularColorTexture"] = {"index": builder.add_texture(
            png_bytes(specular_srgb), f"{name} specular F0 scale (sRGB-encoded grey)")}
        specular["specularColorFactor"] = [color_factor] * 3
        f0_rule = "F0 = specular_f0 * linear specularColorTexture value, F90 = 1"
    else:
        specular["specularColorFactor"] = [color_factor * float(specular_scale)] * 3
        f0_rule = f"F0 = specular_f0 * {float(specular_scale):g}, F90 = 1"
    material["extensions"] = {"KHR_materials_specular": specular, "KHR_materials_ior": {"ior": SKIN_IOR}}
    material["extras"] = {"svfri": {"specular_f0": specular_f0, "specular": f0_rule, **(extras or {})}}
    builder.document["materials"].append(material)
    return len(builder.document["materials"]) - 1


def new_builder() -> GlbBuilder:
    """A glTF document stamped with svfri's version, declaring the two material extensions svfri writes."""
    builder = GlbBuilder(f"svfri {svfri.__version__}")
    builder.document["extensionsUsed"] = list(MATERIAL_EXTENSIONS)
    return builder


def glb_bytes(asset: FaceAsset, *, texture_size: int | None = DEFAULT_TEXTURE_SIZE,
              roughness_map: np.ndarray | None = None, specular_f0: float = SKIN_SPECULAR_F0,
              name: str = "face", extras: dict | None = None) -> bytes:
    """The asset as a glTF 2.0 binary (module docstring: what goes where).

    Args:
      asset: a :class:`~svfri.io.output_set.FaceAsset` (``vertices`` ``[V, 3]`` in cm, ``faces`` ``[F, 3]``,
        ``uv`` ``[V, 2]`` with ``t`` up, maps as floats in [0, 1]).
      texture_size: cap on the side of embedded maps (``None`` or 0: keep their size).
      roughness_map: optional ``[H, W, 1]`` linear perceptual roughness in [0, 1] (else ``asset.roughness``).
      specular_f0: the F0 that ``asset.specular`` scales (svfri: 0.028).
      extras: JSON-serialisable provenance stored in the material's ``extras.svfri``.

    Returns:
      The ``.glb`` file contents.
    """
    vertices_cm = np.asarray(asset.vertices, dtype=np.float64)
    faces = np.asarray(asset.faces, dtype=np.int64)
    uv = np.asarray(asset.uv, dtype=np.float64)
    if vertices_cm.ndim != 2 or vertices_cm.shape[1] != 3 or uv.shape != (len(vertices_cm), 2):
        raise ValueError(f"vertices must be [V, 3] and uv [V, 2], got {vertices_cm.shape} and {uv.shape}")
    if faces.ndim != 2 or faces.shape[1] != 3 or faces.min() < 0 or faces.max() >= len(vertices_cm):
        raise ValueError("faces must be [F, 3] indices into the vertices")
    normals, tangents = _mesh_frames(vertices_cm, faces, uv)
    normals = normals / np.linalg.norm(normals, axis=-1, keepdims=True)

    builder = new_builder()
    document = builder.document
    document.update({"scene": 0, "scenes": [{"name": name, "nodes": [0]}], "nodes": [{"name": name, "mesh": 0}]})
    attributes = {
        "POSITION": builder.add_accessor(vertices_cm / CENTIMETRES_PER_METRE, with_bounds=True),
        "NORMAL": builder.add_accessor(normals),
        "TANGENT": builder.add_accessor(tangents),
        "TEXCOORD_0": builder.add_accessor(glb_texcoords(uv)),
    }
    indices = builder.add_accessor(faces.reshape(-1), component=index_component(len(vertices_cm)),
                                   target=ELEMENT_ARRAY_BUFFER)
    material = pbr_material(builder, f"{name}_skin", specular_f0=specular_f0, roughness=asset.roughness,
                            albedo_srgb=asset.albedo_srgb, normal_map=asset.normal_map,
                            specular_map=asset.specular[..., :1], roughness_map=roughness_map,
                            texture_size=texture_size, extras={"notes": list(asset.notes), **(extras or {})})
    document["meshes"].append({"name": name, "primitives": [{"attributes": attributes, "indices": indices,
                                                             "material": material, "mode": TRIANGLES}]})
    return builder.glb()


def write_glb(path: str | Path, asset: FaceAsset, *, texture_size: int | None = DEFAULT_TEXTURE_SIZE,
              roughness_map: np.ndarray | None = None, specular_f0: float = SKIN_SPECULAR_F0,
              extras: dict | None = None) -> Path:
    """Writes :func:`glb_bytes` of ``asset`` to ``path`` atomically; :class:`OutputError` if it cannot be written."""
    path = Path(path)
    atomic_write_bytes(path, glb_bytes(asset, texture_size=texture_size, roughness_map=roughness_map,
                                       specular_f0=specular_f0, extras=extras))
    return path


def folder_material(folder: Path) -> tuple[np.ndarray | None, float]:
    """The optional roughness map and the F0 scale of a folder (``fit.json``'s ``material.specular_f0_scale``)."""
    from svfri.io.images import read_photo

    roughness_map = None
    if (folder / ROUGHNESS_MAP_FILE).is_file():
        roughness_map = read_photo(folder / ROUGHNESS_MAP_FILE).to_float()[..., :1]
    specular_f0 = SKIN_SPECULAR_F0
    try:
        material = json.loads((folder / "fit.json").read_text()).get("material", {})
        specular_f0 = float(material.get("specular_f0_scale", SKIN_SPECULAR_F0))
    except (OSError, ValueError, AttributeError, TypeError):
        pass  # load_face_asset has already validated fit.json; a missing material block keeps the default
    if not (math.isfinite(specular_f0) and 0.0 < specular_f0 <= 1.0):
        raise InputError(f"{folder / 'fit.json'}: material.specular_f0_scale must be in (0, 1], got {specular_f0}")
    return roughness_map, specular_f0


def write_glb_from_folder(folder: str | Path, *, out: str | Path | None = None,
                          texture_size: int | None = DEFAULT_TEXTURE_SIZE) -> Path:
    """Writes ``folder/face.glb`` (or ``out``) from an output folder (or a staging folder holding the output set).

    Raises:
      InputError: ``folder`` is not an output set (no ``mesh.obj`` / ``fit.json``) or a map is unreadable.
      OutputError: the file cannot be written.
    """
    folder = Path(folder)
    asset = load_face_asset(folder)
    roughness_map, specular_f0 = folder_material(folder)
    return write_glb(Path(out) if out is not None else folder / GLB_FILE_NAME, asset, texture_size=texture_size,
                     roughness_map=roughness_map, specular_f0=specular_f0)
