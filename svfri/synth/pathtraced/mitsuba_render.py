"""Path-traced portraits with Mitsuba 3: an independent renderer for the benchmark's ground truth and the
path-traced training scenes (``precompute/render_training_scenes.py``).

svfri's own shader (order-2 SH light, split-sum specular, baked visibility) never touches these images: Mitsuba
path-traces the full HDR environment (visible behind the head), an optional small area light with hard cast
shadows, and inter-reflections, with its own BSDFs (Mitsuba's ``principled``: Disney/Burley diffuse + GGX
specular; ``normalmap`` for tangent-space detail). Approximation: skin has no subsurface scattering (Mitsuba 3
ships none); real skin would look softer.

Variant: ``llvm_ad_rgb`` (vectorised, all cores) when a libLLVM >= 16 is installed (Debian: ``apt-get install
libllvm19``), else ``scalar_rgb``; :func:`select_variant` records which. Scene units are centimetres.

Conventions at the boundary with svfri: Mitsuba's ``envmap`` maps a direction ``w`` to ``u = atan2(w_x, -w_z) /
2 pi``, ``v = acos(w_y) / pi`` -- the same equirectangular convention as :mod:`svfri.render.environment`, so a map
goes in unchanged. Mitsuba's bitmap textures have row 0 at ``v = 0`` while svfri's UV has ``t`` up with row 0 at
``t = 1``, so meshes are handed over with ``v = 1 - t``; :class:`RenderResult` converts back.
"""

from __future__ import annotations

import dataclasses
import functools
import glob
import math
import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["Material", "Part", "KeyLight", "PinholeCamera", "RenderResult", "select_variant", "render",
           "write_ply", "SKIN_F0_TO_PRINCIPLED_SPECULAR", "PASS_SAMPLES"]

#: Mitsuba's ``principled`` ``specular`` s gives F0 = 0.08 s (s = 0.5 is F0 = 0.04, IOR 1.5); svfri's specular
#: map m scales skin's F0 0.028, so s = 0.028 m / 0.08.
SKIN_F0_TO_PRINCIPLED_SPECULAR = 0.028 / 0.08
#: Samples per pixel per render call: JIT variants trace one wavefront per call, so large sample counts are split.
PASS_SAMPLES = 16
#: Path depth (enough for eye sockets and the mouth; deeper paths change these scenes by < 0.1 %).
MAX_DEPTH = 8
_AOVS = "uv:uv,nn:sh_normal,dpu:dp_du,dpv:dp_dv"
#: Part codes of the identification pass (reflectance (i + 1) / scale) and how close to a code a pure pixel is.
_CODE_SCALE = 256.0
_CODE_TOLERANCE = 0.02
_LLVM_GLOBS = ("/usr/lib/x86_64-linux-gnu/libLLVM-1[6-9]*.so*", "/usr/lib/x86_64-linux-gnu/libLLVM-2[0-9]*.so*",
               "/usr/lib/x86_64-linux-gnu/libLLVM.so.1[6-9]*", "/usr/lib/aarch64-linux-gnu/libLLVM-1[6-9]*.so*",
               "/usr/lib/llvm-1[6-9]/lib/libLLVM*.so*")


@dataclasses.dataclass(frozen=True)
class Material:
    """A surface. Maps are ``[S, S', C]`` images in the part's UV (row 0 at ``t = 1``); scalars where constant.

    ``albedo``: linear RGB base colour; ``roughness``: perceptual (GGX ``alpha = r^2``); ``specular``: scale on
    skin's F0 = 0.028; ``normal_map``: encoded tangent space ``0.5 n + 0.5`` (OpenGL ``+Y`` = ``+t``) or None;
    ``two_sided``: shade back faces too (hair shells, clothing, eyelashes)."""

    albedo: np.ndarray | tuple
    roughness: np.ndarray | float = 0.5
    specular: float = 1.0
    normal_map: np.ndarray | None = None
    two_sided: bool = False


@dataclasses.dataclass(frozen=True)
class Part:
    """A triangle mesh with per-vertex UVs (``t`` up) and normals, in world cm, and its material."""

    name: str
    vertices: np.ndarray
    faces: np.ndarray
    uv: np.ndarray
    normals: np.ndarray
    material: Material


@dataclasses.dataclass(frozen=True)
class KeyLight:
    """A small spherical area light (a softbox or lamp seen from afar): hard-edged cast shadows."""

    position: tuple
    radius: float
    radiance: tuple


@dataclasses.dataclass(frozen=True)
class PinholeCamera:
    """Perspective camera: ``origin`` looking at ``target`` with ``up``, vertical/horizontal field of view of the
    square frame ``fov_degrees``, ``size`` pixels square."""

    origin: tuple
    target: tuple
    up: tuple
    fov_degrees: float
    size: int

    def frame(self) -> np.ndarray:
        """``[3, 3]`` rows: world directions of the image's right, up and towards-the-camera axes."""
        back = np.asarray(self.origin, np.float64) - np.asarray(self.target, np.float64)
        back /= np.linalg.norm(back)
        right = np.cross(np.asarray(self.up, np.float64), back)
        right /= np.linalg.norm(right)
        return np.stack([right, np.cross(back, right), back])

    def project(self, points: np.ndarray) -> np.ndarray:
        """World points ``[N, 3]`` -> pixel coordinates ``[N, 2]`` (x right, y down, origin top-left corner)."""
        frame = self.frame()
        local = (np.asarray(points, np.float64) - np.asarray(self.origin, np.float64)) @ frame.T
        focal = 0.5 * self.size / math.tan(math.radians(self.fov_degrees) / 2)
        depth = -local[:, 2]
        return np.stack([self.size / 2 + focal * local[:, 0] / depth, self.size / 2 - focal * local[:, 1] / depth], 1)


@dataclasses.dataclass(frozen=True)
class RenderResult:
    """Per pixel, averaged over the pixel's samples: ``radiance [H, W, 3]`` linear RGB; ``part [H, W]`` int index
    into the parts given (-1 = background, -2 = a pixel mixing several parts); ``uv [H, W, 2]`` (``t`` up);
    ``normal``, ``dp_du``, ``dp_dt`` ``[H, W, 3]`` world (shading normal, surface derivatives along ``s`` and
    ``t``). ``variant`` names the Mitsuba variant used."""

    radiance: np.ndarray
    part: np.ndarray
    uv: np.ndarray
    normal: np.ndarray
    dp_du: np.ndarray
    dp_dt: np.ndarray
    variant: str


@functools.lru_cache(maxsize=1)
def select_variant() -> str:
    """Sets and returns the Mitsuba variant (module docstring). Raises ImportError without Mitsuba."""
    import mitsuba as mi  # noqa: F401 -- fails here with a clear message when the extra is missing

    if "DRJIT_LIBLLVM_PATH" not in os.environ:
        found = sorted(path for pattern in _LLVM_GLOBS for path in glob.glob(pattern))
        if found:
            os.environ["DRJIT_LIBLLVM_PATH"] = found[-1]
    for variant in ("llvm_ad_rgb", "scalar_rgb"):
        if variant == "llvm_ad_rgb" and "DRJIT_LIBLLVM_PATH" not in os.environ:
            continue
        try:
            mi.set_variant(variant)
            mi.load_dict({"type": "scene"})
            return variant
        except Exception:  # no usable LLVM: fall through to the scalar CPU variant, recorded in the report
            continue
    raise RuntimeError("no Mitsuba CPU variant could be started")


def write_ply(path: str | Path, vertices: np.ndarray, faces: np.ndarray, normals: np.ndarray, uv: np.ndarray) -> None:
    """Binary little-endian PLY with ``x y z nx ny nz u v`` per vertex (``v = 1 - t``, Mitsuba's row order)."""
    vertices = np.asarray(vertices, np.float64)
    mitsuba_uv = np.stack([uv[:, 0], 1.0 - uv[:, 1]], axis=1)
    data = np.concatenate([vertices, normals, mitsuba_uv], axis=1).astype("<f4")
    header = ("ply\nformat binary_little_endian 1.0\nelement vertex %d\n" % len(vertices)
              + "".join(f"property float {p}\n" for p in ("x", "y", "z", "nx", "ny", "nz", "u", "v"))
              + "element face %d\nproperty list uchar int vertex_indices\nend_header\n" % len(faces))
    face_records = np.zeros(len(faces), dtype=[("n", "u1"), ("i", "<i4", (3,))])
    face_records["n"] = 3
    face_records["i"] = faces
    Path(path).write_bytes(header.encode() + data.tobytes() + face_records.tobytes())


def _texture(mi, value, *, channels: int):
    if np.ndim(value) == 0 or (np.ndim(value) == 1 and len(value) == channels):
        value = np.asarray(value, np.float64)
        return float(value) if value.ndim == 0 else {"type": "rgb", "value": value.tolist()}
    image = np.ascontiguousarray(np.asarray(value, np.float32))
    return {"type": "bitmap", "bitmap": mi.Bitmap(image), "raw": True, "filter_type": "bilinear",
            "wrap_mode": "clamp"}


def _bsdf(mi, material: Material) -> dict:
    bsdf = {"type": "principled", "base_color": _texture(mi, material.albedo, channels=3),
            "roughness": _texture(mi, material.roughness, channels=1),
            "specular": float(material.specular) * SKIN_F0_TO_PRINCIPLED_SPECULAR}
    if material.normal_map is not None:
        bsdf = {"type": "normalmap", "normalmap": _texture(mi, material.normal_map, channels=3), "bsdf": bsdf}
    if material.two_sided:
        bsdf = {"type": "twosided", "bsdf": bsdf}
    return bsdf


def render(parts: list[Part], environment: np.ndarray, camera: PinholeCamera, *, key_light: KeyLight | None = None,
           samples: int = 64, seed: int = 0) -> RenderResult:
    """Path-traces ``parts`` under the equirectangular ``environment [He, We, 3]`` (linear radiance, visible behind
    them) and the optional ``key_light``, seen by ``camera``, with ``samples`` per pixel."""
    variant = select_variant()
    import mitsuba as mi

    transform = mi.ScalarTransform4f
    with tempfile.TemporaryDirectory(prefix="svfri_mitsuba_") as folder:
        scene = {"type": "scene",
                 "integrator": {"type": "aov", "aovs": _AOVS,
                                "image": {"type": "path", "max_depth": MAX_DEPTH}},
                 "sensor": {"type": "perspective", "fov": float(camera.fov_degrees), "fov_axis": "x",
                            "to_world": transform().look_at(origin=list(map(float, camera.origin)),
                                                            target=list(map(float, camera.target)),
                                                            up=list(map(float, camera.up))),
                            "film": {"type": "hdrfilm", "width": camera.size, "height": camera.size,
                                     "rfilter": {"type": "box"}, "pixel_format": "rgb"},
                            "sampler": {"type": "independent", "sample_count": min(samples, PASS_SAMPLES)}},
                 "environment": {"type": "envmap",
                                 "bitmap": mi.Bitmap(np.ascontiguousarray(environment, dtype=np.float32))}}
        for index, part in enumerate(parts):
            path = Path(folder) / f"part_{index:02d}.ply"
            write_ply(path, part.vertices, part.faces, part.normals, part.uv)
            scene[f"part_{index:02d}"] = {"type": "ply", "filename": str(path), "bsdf": _bsdf(mi, part.material),
                                          "face_normals": False}
        if key_light is not None:
            scene["zz_key_light"] = {"type": "sphere", "center": list(map(float, key_light.position)),
                                  "radius": float(key_light.radius),
                                  "emitter": {"type": "area",
                                              "radiance": {"type": "rgb", "value": list(map(float, key_light.radiance))}}}
        loaded = mi.load_dict(scene)
        passes = max(1, math.ceil(samples / PASS_SAMPLES))
        total = None
        for index in range(passes):
            image = np.asarray(mi.render(loaded, seed=seed * 1009 + index), np.float64)
            total = image if total is None else total + image
        image = total / passes
        names = [name for name in loaded.integrator().aov_names() if not name.endswith(".A")]
        # Which part each pixel sees: Mitsuba's shape_index AOV counts shapes over the whole process, so the parts
        # are identified by a second pass in which each is a diffuse surface of a code reflectance (i+1)/256.
        id_scene = {key: value for key, value in scene.items() if key not in ("integrator", "zz_key_light")}
        id_scene["integrator"] = {"type": "aov", "aovs": "code:albedo"}
        for index in range(len(parts)):
            id_scene[f"part_{index:02d}"] = {**scene[f"part_{index:02d}"],
                                             "bsdf": {"type": "diffuse", "reflectance": (index + 1) / _CODE_SCALE}}
        codes = np.asarray(mi.render(mi.load_dict(id_scene), seed=seed), np.float64)[..., 0] * _CODE_SCALE
    if image.shape[-1] != len(names):
        raise RuntimeError(f"Mitsuba returned {image.shape[-1]} channels for AOVs {names}")
    channel = {name: i for i, name in enumerate(names)}

    def take(*keys):
        return np.stack([image[..., channel[k]] for k in keys], axis=-1)

    rounded = np.round(codes)
    part = np.where(np.abs(codes - rounded) < _CODE_TOLERANCE, rounded.astype(np.int64) - 1, -2)
    uv_mitsuba = take("uv.U", "uv.V")
    return RenderResult(radiance=take("image.R", "image.G", "image.B"), part=part,
                        uv=np.stack([uv_mitsuba[..., 0], 1.0 - uv_mitsuba[..., 1]], axis=-1),
                        normal=take("nn.X", "nn.Y", "nn.Z"), dp_du=take("dpu.X", "dpu.Y", "dpu.Z"),
                        dp_dt=-take("dpv.X", "dpv.Y", "dpv.Z"), variant=variant)
