"""The glTF 2.0 binary container: a document under construction, its one binary buffer, accessors, images; pack, read.

Written by hand (``json`` + ``struct`` + numpy; no glTF library) after the glTF 2.0 specification (Khronos,
https://registry.khronos.org/glTF/specs/2.0/glTF-2.0.html): a 12-byte header, a JSON chunk padded with spaces and a
``BIN`` chunk padded with zeros, every chunk and buffer view starting on a 4-byte boundary (section 4.4).

Accessors come in three kinds (section 3.6.2): **dense** (a buffer view holding every element), **zero** (no
buffer view: every element is 0 -- a morph target that moves nothing) and **sparse** (no base buffer view, plus
strictly increasing element indices and their values: a morph target that moves a few vertices). What a scene is
made of (meshes, materials, the meaning of the numbers) is the writers' business: :mod:`svfri.io.gltf` (the
face-disc mesh) and :mod:`svfri.io.gltf_ict` (the animatable ICT head).
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

from svfri.errors import InputError

__all__ = [
    "GlbBuilder", "read_glb", "accessor_array", "png_bytes", "FLOAT", "UNSIGNED_SHORT", "UNSIGNED_INT",
    "ARRAY_BUFFER", "ELEMENT_ARRAY_BUFFER", "TRIANGLES", "LINEAR", "LINEAR_MIPMAP_LINEAR", "CLAMP_TO_EDGE",
    "index_component",
]

# glTF enumerations (glTF 2.0 specification, sections 3.6.2 and 5.26).
_GLB_MAGIC = 0x46546C67          # "glTF"
_GLB_VERSION = 2
_CHUNK_JSON = 0x4E4F534A         # "JSON"
_CHUNK_BIN = 0x004E4942          # "BIN\0"
_GLB_HEADER_BYTES = 12
_CHUNK_HEADER_BYTES = 8
_ALIGNMENT = 4
FLOAT = 5126
UNSIGNED_BYTE = 5121
UNSIGNED_SHORT = 5123
UNSIGNED_INT = 5125
ARRAY_BUFFER = 34962
ELEMENT_ARRAY_BUFFER = 34963
LINEAR = 9729
LINEAR_MIPMAP_LINEAR = 9987
CLAMP_TO_EDGE = 33071
TRIANGLES = 4
#: 65535 is the primitive-restart value of 16-bit indices: a primitive uses them only below it.
_UINT16_LIMIT = 65535
_COMPONENT_DTYPES = {FLOAT: np.float32, UNSIGNED_SHORT: np.uint16, UNSIGNED_INT: np.uint32, UNSIGNED_BYTE: np.uint8}
_TYPE_WIDTHS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}
_EIGHT_BIT = 255.0


def index_component(vertex_count: int) -> int:
    """The smallest index component type for a primitive of ``vertex_count`` vertices (uint16 below 65535)."""
    return UNSIGNED_SHORT if vertex_count < _UINT16_LIMIT else UNSIGNED_INT


def png_bytes(image: np.ndarray) -> bytes:
    """``[H, W, 1|3]`` float in [0, 1] -> 8-bit PNG bytes (grey or RGB; values rounded, clipped)."""
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


def _accessor_type(array: np.ndarray) -> str:
    width = 1 if array.ndim == 1 else int(array.shape[1])
    return {1: "SCALAR", 2: "VEC2", 3: "VEC3", 4: "VEC4"}[width]


class GlbBuilder:
    """A glTF document and its binary chunk under construction (one buffer; views 4-byte aligned).

    ``document`` is the glTF JSON as a dict: the writer fills ``scenes``, ``nodes``, ``meshes``, ``materials``;
    the builder fills ``accessors``, ``bufferViews``, ``buffers``, ``images``, ``textures`` and ``samplers``
    (one linear / trilinear, clamp-to-edge sampler, index 0, shared by every texture).
    """

    def __init__(self, generator: str):
        self.document: dict = {
            "asset": {"version": "2.0", "generator": generator},
            "accessors": [], "bufferViews": [], "buffers": [], "images": [], "textures": [], "materials": [],
            "meshes": [],
            "samplers": [{"magFilter": LINEAR, "minFilter": LINEAR_MIPMAP_LINEAR, "wrapS": CLAMP_TO_EDGE,
                          "wrapT": CLAMP_TO_EDGE}],
        }
        self._parts: list[bytes] = []
        self._length = 0
        self._images: dict[bytes, int] = {}

    # -- buffer views ------------------------------------------------------------------------------------
    def add_view(self, data: bytes, *, target: int | None = None) -> int:
        """Appends ``data`` as one buffer view (4-byte aligned); returns its index."""
        padding = (-self._length) % _ALIGNMENT
        if padding:
            self._parts.append(b"\0" * padding)
            self._length += padding
        view = {"buffer": 0, "byteOffset": self._length, "byteLength": len(data)}
        if target is not None:
            view["target"] = target
        self._parts.append(data)
        self._length += len(data)
        self.document["bufferViews"].append(view)
        return len(self.document["bufferViews"]) - 1

    def _append_accessor(self, accessor: dict) -> int:
        self.document["accessors"].append(accessor)
        return len(self.document["accessors"]) - 1

    # -- accessors ----------------------------------------------------------------------------------------
    def add_accessor(self, array: np.ndarray, *, component: int = FLOAT, target: int | None = ARRAY_BUFFER,
                     with_bounds: bool = False) -> int:
        """A dense accessor of ``array`` (``[n]`` scalars or ``[n, 2|3|4]`` vectors) stored as ``component``.

        ``with_bounds`` stores ``min``/``max`` (required for ``POSITION``), taken from the stored (cast) values,
        which is what the validator compares them with.
        """
        array = np.ascontiguousarray(array, dtype=_COMPONENT_DTYPES[component])
        accessor = {"bufferView": self.add_view(array.tobytes(), target=target), "componentType": component,
                    "count": int(array.shape[0]), "type": _accessor_type(array)}
        if with_bounds:
            accessor["min"] = np.atleast_1d(array.min(axis=0)).astype(float).tolist()
            accessor["max"] = np.atleast_1d(array.max(axis=0)).astype(float).tolist()
        return self._append_accessor(accessor)

    def add_zero_accessor(self, count: int, width: int, *, with_bounds: bool = False) -> int:
        """A float accessor of ``count`` zero vectors ``[count, width]`` and no buffer view (section 3.6.2.3)."""
        accessor = {"componentType": FLOAT, "count": int(count), "type": {2: "VEC2", 3: "VEC3", 4: "VEC4"}[width]}
        if with_bounds:
            accessor["min"] = [0.0] * width
            accessor["max"] = [0.0] * width
        return self._append_accessor(accessor)

    def add_sparse_accessor(self, count: int, indices: np.ndarray, values: np.ndarray, *,
                            with_bounds: bool = False) -> int:
        """A float accessor of ``count`` vectors, zero except ``values[i]`` at element ``indices[i]``.

        Args:
          count: elements of the accessor (the primitive's vertex count).
          indices: ``[m]`` strictly increasing element indices, ``1 <= m <= count`` (uint16 or uint32 stored).
          values: ``[m, width]`` float values at those elements.
          with_bounds: store ``min``/``max`` over **all** ``count`` elements (the zeros included), as the
            specification defines them for sparse accessors.
        """
        indices = np.asarray(indices, dtype=np.int64)
        values = np.ascontiguousarray(values, dtype=np.float32)
        if indices.ndim != 1 or len(indices) < 1 or values.shape[0] != len(indices):
            raise ValueError(f"sparse accessor needs [m >= 1] indices and [m, w] values, got {indices.shape} "
                             f"and {values.shape}")
        if np.any(np.diff(indices) <= 0) or indices[0] < 0 or indices[-1] >= count:
            raise ValueError("sparse indices must be strictly increasing element indices")
        index_type = UNSIGNED_SHORT if count <= _UINT16_LIMIT else UNSIGNED_INT
        index_view = self.add_view(indices.astype(_COMPONENT_DTYPES[index_type]).tobytes())
        value_view = self.add_view(values.tobytes())
        accessor = {"componentType": FLOAT, "count": int(count), "type": _accessor_type(values),
                    "sparse": {"count": int(len(indices)),
                               "indices": {"bufferView": index_view, "componentType": index_type},
                               "values": {"bufferView": value_view}}}
        if with_bounds:
            floor = values.min(axis=0).astype(np.float64)
            ceiling = values.max(axis=0).astype(np.float64)
            if len(indices) < count:  # elements left at zero take part in the bounds
                floor, ceiling = np.minimum(floor, 0.0), np.maximum(ceiling, 0.0)
            accessor["min"], accessor["max"] = floor.tolist(), ceiling.tolist()
        return self._append_accessor(accessor)

    # -- images ----------------------------------------------------------------------------------------
    def add_texture(self, png: bytes, name: str) -> int:
        """A texture of PNG bytes on the shared sampler; the same bytes twice share one image. Returns its index."""
        if png not in self._images:
            self.document["images"].append({"bufferView": self.add_view(png), "mimeType": "image/png", "name": name})
            self._images[png] = len(self.document["images"]) - 1
        self.document["textures"].append({"sampler": 0, "source": self._images[png], "name": name})
        return len(self.document["textures"]) - 1

    # -- output ----------------------------------------------------------------------------------------
    def glb(self) -> bytes:
        """The finished ``.glb``: empty top-level lists are dropped (the validator flags them), the buffer sized."""
        binary = b"".join(self._parts)
        binary += b"\0" * ((-len(binary)) % _ALIGNMENT)
        document = {key: value for key, value in self.document.items() if value != []}
        document["buffers"] = [{"byteLength": len(binary)}]
        text = json.dumps(document, separators=(",", ":")).encode("utf-8")
        text += b" " * ((-len(text)) % _ALIGNMENT)
        total = _GLB_HEADER_BYTES + _CHUNK_HEADER_BYTES + len(text) + _CHUNK_HEADER_BYTES + len(binary)
        return b"".join([struct.pack("<III", _GLB_MAGIC, _GLB_VERSION, total),
                         struct.pack("<II", len(text), _CHUNK_JSON), text,
                         struct.pack("<II", len(binary), _CHUNK_BIN), binary])


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


def _view_array(document: dict, binary: bytes, view_index: int, component: int, count: int, offset: int = 0
                ) -> np.ndarray:
    view = document["bufferViews"][view_index]
    return np.frombuffer(binary, dtype=np.dtype(_COMPONENT_DTYPES[component]), count=count,
                         offset=view.get("byteOffset", 0) + offset)


def accessor_array(document: dict, binary: bytes, index: int) -> np.ndarray:
    """Accessor ``index`` of a tightly packed ``.glb`` as an array ``[count, width]`` (``[count]`` for scalars);
    zero and sparse accessors are expanded."""
    accessor = document["accessors"][index]
    width = _TYPE_WIDTHS[accessor["type"]]
    count = accessor["count"]
    if "bufferView" in accessor:
        values = _view_array(document, binary, accessor["bufferView"], accessor["componentType"], count * width,
                             accessor.get("byteOffset", 0)).copy()
    else:
        values = np.zeros(count * width, dtype=_COMPONENT_DTYPES[accessor["componentType"]])
    sparse = accessor.get("sparse")
    if sparse:
        indices = _view_array(document, binary, sparse["indices"]["bufferView"], sparse["indices"]["componentType"],
                              sparse["count"]).astype(np.int64)
        replaced = _view_array(document, binary, sparse["values"]["bufferView"], accessor["componentType"],
                               sparse["count"] * width)
        values.reshape(count, width)[indices] = replaced.reshape(-1, width)
    return values if width == 1 else values.reshape(count, width)
