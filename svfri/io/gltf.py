"""glTF 2.0 binary (``.glb``) export of a face asset: one mesh, tangent frames, a PBR material, embedded PNG maps.

Written by hand (``json`` + ``struct`` + numpy; no glTF library) after the glTF 2.0 specification (Khronos,
https://registry.khronos.org/glTF/specs/2.0/glTF-2.0.html): a 12-byte header, a JSON chunk padded with spaces and a
``BIN`` chunk padded with zeros, every chunk and buffer view starting on a 4-byte boundary.

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
import struct
from pathlib import Path

import numpy as np

import svfri
from svfri.errors import InputError
from svfri.io.images import atomic_write_bytes
from svfri.io.output_set import FaceAsset, load_face_asset

__all__ = [
    "write_glb", "write_glb_from_folder", "glb_bytes", "read_glb", "accessor_array", "GLB_FILE_NAME",
    "DEFAULT_TEXTURE_SIZE", "CENTIMETRES_PER_METRE", "SKIN_SPECULAR_F0", "SKIN_IOR", "ior_to_f0",
    "ROUGHNESS_MAP_FILE", "srgb_encode", "srgb_decode", "folder_material", "downscale_albedo", "downscale_normal",
    "downscale_grey",
]

#: The file ``write_glb_from_folder`` writes into an output folder.
GLB_FILE_NAME = "face.glb"
#: Optional per-texel roughness map an output folder may hold (linear grey, perceptual roughness).
ROUGHNESS_MAP_FILE = "roughness.png"
#: Default cap on the side of embedded maps, texels (larger maps are downscaled; smaller ones are kept).
DEFAULT_TEXTURE_SIZE = 1024
#: svfri's world unit is the centimetre, glTF's the metre.
CENTIMETRES_PER_METRE = 100.0
#: Skin F0 that svfri's specular map scales (the value of :data:`svfri.math.brdf.SKIN_F0`; ``fit.json``'s
#: ``material.specular_f0_scale`` overrides it). Kept here as a number so that export does not import TensorFlow;
#: tests assert the two agree.
SKIN_SPECULAR_F0 = 0.028
#: Skin's index of refraction written as ``KHR_materials_ior`` (:data:`svfri.math.brdf.SKIN_INDEX_OF_REFRACTION`).
SKIN_IOR = 1.4

# glTF enumerations (glTF 2.0 specification, sections 3.6.2 and 5.26).
_GLB_MAGIC = 0x46546C67          # "glTF"
_GLB_VERSION = 2
_CHUNK_JSON = 0x4E4F534A         # "JSON"
_CHUNK_BIN = 0x004E4942          # "BIN\0"
_GLB_HEADER_BYTES = 12
_CHUNK_HEADER_BYTES = 8
_ALIGNMENT = 4
_FLOAT = 5126
_UNSIGNED_SHORT = 5123
_UNSIGNED_INT = 5125
_ARRAY_BUFFER = 34962
_ELEMENT_ARRAY_BUFFER = 34963
_LINEAR = 9729
_LINEAR_MIPMAP_LINEAR = 9987
_CLAMP_TO_EDGE = 33071
_TRIANGLES = 4
_UINT16_LIMIT = 65535            # 65535 itself is the primitive-restart value: keep indices below it
_COMPONENT_DTYPES = {_FLOAT: np.float32, _UNSIGNED_SHORT: np.uint16, _UNSIGNED_INT: np.uint32, 5121: np.uint8}
_TYPE_WIDTHS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}
_EIGHT_BIT = 255.0

# IEC 61966-2-1 sRGB transfer function (the same constants as svfri.math.color, which imports TensorFlow).
_SRGB_DECODE_THRESHOLD = 0.04045
_SRGB_ENCODE_THRESHOLD = 0.0031308
_SRGB_LINEAR_SLOPE = 12.92
_SRGB_OFFSET = 0.055
_SRGB_SCALE = 1.055
_SRGB_GAMMA = 2.4
_NORMALIZE_EPSILON = 1e-12


def srgb_decode(encoded: np.ndarray) -> np.ndarray:
    """IEC 61966-2-1 sRGB decoding, ``[0, 1] -> [0, 1]`` linear (numpy twin of :func:`svfri.math.color.srgb_to_linear_np`)."""
    encoded = np.asarray(encoded, dtype=np.float64)
    power = ((np.maximum(encoded, _SRGB_DECODE_THRESHOLD) + _SRGB_OFFSET) / _SRGB_SCALE) ** _SRGB_GAMMA
    return np.where(encoded <= _SRGB_DECODE_THRESHOLD, encoded / _SRGB_LINEAR_SLOPE, power)


def srgb_encode(linear: np.ndarray) -> np.ndarray:
    """IEC 61966-2-1 sRGB encoding, linear ``[0, 1] -> [0, 1]`` (twin of :func:`svfri.math.color.linear_to_srgb_np`)."""
    linear = np.clip(np.asarray(linear, dtype=np.float64), 0.0, 1.0)
    power = _SRGB_SCALE * np.maximum(linear, _SRGB_ENCODE_THRESHOLD) ** (1.0 / _SRGB_GAMMA) - _SRGB_OFFSET
    return np.where(linear <= _SRGB_ENCODE_THRESHOLD, linear * _SRGB_LINEAR_SLOPE, power)


def ior_to_f0(index_of_refraction: float) -> float:
    """Normal-incidence Fresnel reflectance against air, ``F0 = ((n - 1) / (n + 1))^2`` (n = 1.4 -> 0.02778)."""
    return ((index_of_refraction - 1.0) / (index_of_refraction + 1.0)) ** 2


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


def _png(image: np.ndarray) -> bytes:
    """``[H, W, 1|3]`` float in [0, 1] -> 8-bit PNG bytes (grey or RGB)."""
    import cv2

    codes = np.clip(np.rint(np.asarray(image) * _EIGHT_BIT), 0, _EIGHT_BIT).astype(np.uint8)
    if codes.ndim == 3 and codes.shape[2] == 1:
        codes = codes[..., 0]
    elif codes.ndim == 3:
        codes = codes[..., ::-1]  # RGB -> OpenCV's BGR
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(codes))
    if not ok:
        raise ValueError("PNG encoding failed")
    return encoded.tobytes()


# ------------------------------------------------------------------------------------------------------- writer

class _BinaryBuffer:
    """Accumulates buffer views in one binary chunk, each starting on a 4-byte boundary."""

    def __init__(self):
        self.parts: list[bytes] = []
        self.length = 0
        self.views: list[dict] = []

    def add(self, data: bytes, *, target: int | None = None) -> int:
        padding = (-self.length) % _ALIGNMENT
        if padding:
            self.parts.append(b"\0" * padding)
            self.length += padding
        view = {"buffer": 0, "byteOffset": self.length, "byteLength": len(data)}
        if target is not None:
            view["target"] = target
        self.parts.append(data)
        self.length += len(data)
        self.views.append(view)
        return len(self.views) - 1

    def bytes(self) -> bytes:
        data = b"".join(self.parts)
        return data + b"\0" * ((-len(data)) % _ALIGNMENT)


def _add_accessor(gltf: dict, buffer: _BinaryBuffer, array: np.ndarray, *, accessor_type: str, component: int,
                  target: int, with_bounds: bool = False) -> int:
    array = np.ascontiguousarray(array, dtype=_COMPONENT_DTYPES[component])
    accessor = {"bufferView": buffer.add(array.tobytes(), target=target), "componentType": component,
                "count": int(array.shape[0]), "type": accessor_type}
    if with_bounds:  # required for POSITION; glTF compares them to the float32 data, so take them from it
        accessor["min"] = array.min(axis=0).astype(float).tolist()
        accessor["max"] = array.max(axis=0).astype(float).tolist()
    gltf["accessors"].append(accessor)
    return len(gltf["accessors"]) - 1


def _add_texture(gltf: dict, buffer: _BinaryBuffer, png: bytes, name: str) -> int:
    gltf["images"].append({"bufferView": buffer.add(png), "mimeType": "image/png", "name": name})
    gltf["textures"].append({"sampler": 0, "source": len(gltf["images"]) - 1, "name": name})
    return len(gltf["textures"]) - 1


def _mesh_frames(vertices_cm: np.ndarray, faces: np.ndarray, uv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from svfri.geometry.mesh_ops import vertex_normals, vertex_tangents

    normals = vertex_normals(vertices_cm, faces)
    tangents = vertex_tangents(vertices_cm, faces, uv, normals)
    return normals, tangents


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

    gltf: dict = {
        "asset": {"version": "2.0", "generator": f"svfri {svfri.__version__}"},
        "extensionsUsed": ["KHR_materials_specular", "KHR_materials_ior"],
        "scene": 0, "scenes": [{"name": name, "nodes": [0]}],
        "nodes": [{"name": name, "mesh": 0}],
        "accessors": [], "bufferViews": [], "buffers": [],
        "images": [], "textures": [], "materials": [], "meshes": [],
        "samplers": [{"magFilter": _LINEAR, "minFilter": _LINEAR_MIPMAP_LINEAR, "wrapS": _CLAMP_TO_EDGE,
                      "wrapT": _CLAMP_TO_EDGE}],
    }
    buffer = _BinaryBuffer()
    attributes = {
        "POSITION": _add_accessor(gltf, buffer, vertices_cm / CENTIMETRES_PER_METRE, accessor_type="VEC3",
                                  component=_FLOAT, target=_ARRAY_BUFFER, with_bounds=True),
        "NORMAL": _add_accessor(gltf, buffer, normals, accessor_type="VEC3", component=_FLOAT, target=_ARRAY_BUFFER),
        "TANGENT": _add_accessor(gltf, buffer, tangents, accessor_type="VEC4", component=_FLOAT,
                                 target=_ARRAY_BUFFER),
        "TEXCOORD_0": _add_accessor(gltf, buffer, np.stack([uv[:, 0], 1.0 - uv[:, 1]], axis=-1),
                                    accessor_type="VEC2", component=_FLOAT, target=_ARRAY_BUFFER),
    }
    index_type = _UNSIGNED_SHORT if len(vertices_cm) < _UINT16_LIMIT else _UNSIGNED_INT
    indices = _add_accessor(gltf, buffer, faces.reshape(-1), accessor_type="SCALAR", component=index_type,
                            target=_ELEMENT_ARRAY_BUFFER)

    albedo = _add_texture(gltf, buffer, _png(downscale_albedo(asset.albedo_srgb, texture_size)), "albedo (sRGB)")
    normal = _add_texture(gltf, buffer, _png(downscale_normal(asset.normal_map, texture_size)),
                          "normal (tangent space, OpenGL +Y)")
    specular_srgb = srgb_encode(downscale_grey(asset.specular[..., :1], texture_size))
    specular = _add_texture(gltf, buffer, _png(specular_srgb), "specular F0 scale (sRGB-encoded grey)")
    metallic_roughness = {"baseColorTexture": {"index": albedo}, "metallicFactor": 0.0}
    if roughness_map is not None:
        grey = downscale_grey(np.asarray(roughness_map, dtype=np.float64)[..., :1], texture_size)
        packed = np.concatenate([np.zeros_like(grey), grey, np.zeros_like(grey)], axis=-1)  # G roughness, B metal
        metallic_roughness["metallicRoughnessTexture"] = {"index": _add_texture(gltf, buffer, _png(packed),
                                                                                "roughness (G), metallic (B)")}
        metallic_roughness["roughnessFactor"] = 1.0
    else:
        metallic_roughness["roughnessFactor"] = float(np.clip(asset.roughness, 0.0, 1.0))
    color_factor = float(specular_f0 / ior_to_f0(SKIN_IOR))
    material = {
        "name": f"{name}_skin",
        "pbrMetallicRoughness": metallic_roughness,
        "normalTexture": {"index": normal, "scale": 1.0},
        "extensions": {
            "KHR_materials_specular": {"specularFactor": 1.0, "specularColorFactor": [color_factor] * 3,
                                       "specularColorTexture": {"index": specular}},
            "KHR_materials_ior": {"ior": SKIN_IOR},
        },
        "extras": {"svfri": {"specular_f0": specular_f0, "specular_map": "specularColorTexture (sRGB-encoded grey); "
                             "F0 = specular_f0 * linear value, F90 = 1", "notes": list(asset.notes),
                             **(extras or {})}},
    }
    gltf["materials"].append(material)
    gltf["meshes"].append({"name": name, "primitives": [{"attributes": attributes, "indices": indices,
                                                         "material": 0, "mode": _TRIANGLES}]})
    binary = buffer.bytes()
    gltf["bufferViews"] = buffer.views
    gltf["buffers"] = [{"byteLength": len(binary)}]
    return _pack_glb(gltf, binary)


def _pack_glb(gltf: dict, binary: bytes) -> bytes:
    text = json.dumps(gltf, separators=(",", ":")).encode("utf-8")
    text += b" " * ((-len(text)) % _ALIGNMENT)
    total = _GLB_HEADER_BYTES + _CHUNK_HEADER_BYTES + len(text) + _CHUNK_HEADER_BYTES + len(binary)
    return b"".join([struct.pack("<III", _GLB_MAGIC, _GLB_VERSION, total),
                     struct.pack("<II", len(text), _CHUNK_JSON), text,
                     struct.pack("<II", len(binary), _CHUNK_BIN), binary])


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


# ------------------------------------------------------------------------------------------------------- reader

def read_glb(source: str | Path | bytes) -> tuple[dict, bytes]:
    """Parses a ``.glb`` (path or bytes) into its JSON document and binary chunk (for checks and round trips).

    Raises:
      InputError: not a glTF 2.0 binary.
    """
    data = Path(source).read_bytes() if not isinstance(source, (bytes, bytearray)) else bytes(source)
    if len(data) < _GLB_HEADER_BYTES + _CHUNK_HEADER_BYTES:
        raise InputError("not a glTF binary: the file is too short")
    magic, version, total = struct.unpack_from("<III", data, 0)
    if magic != _GLB_MAGIC or version != _GLB_VERSION or total != len(data):
        raise InputError("not a glTF 2.0 binary (bad header)")
    offset, document, binary = _GLB_HEADER_BYTES, None, b""
    while offset < total:
        length, kind = struct.unpack_from("<II", data, offset)
        chunk = data[offset + _CHUNK_HEADER_BYTES: offset + _CHUNK_HEADER_BYTES + length]
        if kind == _CHUNK_JSON:
            document = json.loads(chunk.decode("utf-8"))
        elif kind == _CHUNK_BIN:
            binary = chunk
        offset += _CHUNK_HEADER_BYTES + length
    if document is None:
        raise InputError("not a glTF binary: no JSON chunk")
    return document, binary


def accessor_array(document: dict, binary: bytes, index: int) -> np.ndarray:
    """Accessor ``index`` of a tightly packed ``.glb`` as an array ``[count, width]`` (``[count]`` for scalars)."""
    accessor = document["accessors"][index]
    view = document["bufferViews"][accessor["bufferView"]]
    dtype = np.dtype(_COMPONENT_DTYPES[accessor["componentType"]])
    width = _TYPE_WIDTHS[accessor["type"]]
    start = view.get("byteOffset", 0) + accessor.get("byteOffset", 0)
    values = np.frombuffer(binary, dtype=dtype, count=accessor["count"] * width, offset=start)
    return values if width == 1 else values.reshape(accessor["count"], width)
