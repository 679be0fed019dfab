"""Reading and writing equirectangular environment maps (linear RGB radiance).

Supported inputs, chosen by file extension (case-insensitive):

* ``.exr`` -- OpenEXR, read with the ``OpenEXR`` 3.x Python bindings (half, float or uint channels; the first
  part of a multi-part file). Channels ``R, G, B`` are used (``A`` and any others are ignored); a file with
  exactly one layer prefix (``"rgba.R"``, ...) is accepted too. A luminance-only file (a single ``Y``
  channel) is read as grey: ``R = G = B = Y``, which is a valid (colourless) radiance map. Any other layout
  (a lone ``Z`` or depth channel, luminance/chroma ``RY/BY`` files, sub-sampled channels) is refused.
* ``.hdr`` / ``.pic`` -- Radiance RGBE, read with OpenCV (which returns BGR; converted to RGB here).
* ``.png``, ``.jpg``, ``.jpeg`` -- LDR panoramas: 8- or 16-bit, decoded from sRGB to linear with the
  IEC 61966-2-1 transfer function, so values lie in ``[0, 1]`` (no real HDR range: the sun is clipped).

Every map must be a full equirectangular panorama: ``width == 2 * height`` within a relative tolerance of
:data:`PANORAMA_ASPECT_TOLERANCE` (the ``u``/``v`` mapping of :mod:`svfri.conventions` assumes the map covers
360 x 180 degrees), and at least :data:`MIN_PANORAMA_HEIGHT` pixels tall.

Values are sanitised (:func:`sanitize_environment`): NaN and +-Inf become 0, and negative values (the ringing
lobes that lossy DWA compression leaves around bright lights in the CC0 maps) are clamped to 0. The number of
pixels changed is logged at ``DEBUG`` level on the ``svfri.io.hdr`` logger.

Writing (:func:`write_exr`) is atomic: the image goes to a temporary file in the destination folder, which is
then renamed over the destination with :func:`os.replace`, so an interrupted run never leaves a half-written
file.
"""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path

import numpy as np

from svfri.errors import HdrError, OutputError

__all__ = [
    "EXR_EXTENSIONS", "RADIANCE_EXTENSIONS", "LDR_EXTENSIONS", "SUPPORTED_EXTENSIONS",
    "PANORAMA_ASPECT", "PANORAMA_ASPECT_TOLERANCE", "MIN_PANORAMA_HEIGHT", "HALF_MAX",
    "read_environment", "sanitize_environment", "check_panorama_shape", "write_exr",
]

_LOG = logging.getLogger(__name__)

#: OpenEXR file extensions.
EXR_EXTENSIONS = (".exr",)
#: Radiance RGBE file extensions.
RADIANCE_EXTENSIONS = (".hdr", ".pic")
#: 8/16-bit sRGB panorama extensions.
LDR_EXTENSIONS = (".png", ".jpg", ".jpeg")
#: Every extension :func:`read_environment` accepts.
SUPPORTED_EXTENSIONS = EXR_EXTENSIONS + RADIANCE_EXTENSIONS + LDR_EXTENSIONS

#: Width / height of an equirectangular panorama (360 degrees by 180 degrees).
PANORAMA_ASPECT = 2.0
#: Accepted relative deviation of ``width / height`` from :data:`PANORAMA_ASPECT` (1 %: tolerates an odd
#: pixel, e.g. 4096 x 2047, but refuses crops and 16:9 photos).
PANORAMA_ASPECT_TOLERANCE = 0.01
#: Smallest accepted panorama height in pixels.
MIN_PANORAMA_HEIGHT = 2
#: Largest finite IEEE 754 half-precision value; larger values are clamped to it when writing half EXR.
HALF_MAX = 65504.0

# OpenEXR's 4-byte magic number (little-endian 20000630).
_EXR_MAGIC = b"\x76\x2f\x31\x01"
_UINT8_MAX = 255.0
_UINT16_MAX = 65535.0
_RGB_NAMES = ("R", "G", "B")
_LUMINANCE_NAME = "Y"
_ALPHA_NAME = "A"
_FIX_HINT = "re-export it as an RGB (or Y) EXR or Radiance .hdr equirectangular panorama"


def sanitize_environment(image: np.ndarray) -> tuple[np.ndarray, int]:
    """Replaces NaN, +-Inf and negative values by 0.

    Args:
      image: ``[H, W, C]`` radiance, any float dtype.

    Returns:
      ``(clean, fixed_pixel_count)``: ``clean`` is a float32 copy with every value finite and ``>= 0``;
      ``fixed_pixel_count`` is the number of pixels (not values) in which at least one channel changed.
    """
    image = np.asarray(image, dtype=np.float32)
    bad = ~np.isfinite(image) | (image < 0.0)
    fixed = int(np.count_nonzero(bad.any(axis=-1)))
    clean = np.where(bad, np.float32(0.0), image)
    return clean, fixed


def check_panorama_shape(height: int, width: int, *, source: str = "environment map") -> None:
    """Raises :class:`HdrError` unless ``height x width`` is an equirectangular panorama (module docstring).

    Args:
      height, width: the map size in pixels.
      source: how to name the map in the message (usually its path).
    """
    if height < MIN_PANORAMA_HEIGHT or width < PANORAMA_ASPECT * MIN_PANORAMA_HEIGHT:
        raise HdrError(f"{source} is {width}x{height} pixels, too small for an environment map; "
                       f"use an equirectangular panorama at least {int(PANORAMA_ASPECT) * MIN_PANORAMA_HEIGHT}x"
                       f"{MIN_PANORAMA_HEIGHT}")
    aspect = width / height
    if abs(aspect / PANORAMA_ASPECT - 1.0) > PANORAMA_ASPECT_TOLERANCE:
        raise HdrError(f"{source} is {width}x{height} pixels (aspect {aspect:.3f}), not an equirectangular "
                       f"panorama; use a full 360x180 degree map whose width is twice its height")


def read_environment(path: str | os.PathLike, *, sanitize: bool = True) -> np.ndarray:
    """Reads an equirectangular environment map as linear RGB radiance.

    Args:
      path: ``.exr``, ``.hdr``/``.pic`` or ``.png``/``.jpg``/``.jpeg`` file (module docstring).
      sanitize: replace NaN/Inf/negative values by 0 (:func:`sanitize_environment`); ``False`` returns the
        stored values as they are (for inspection).

    Returns:
      ``[H, W, 3]`` float32 linear RGB, ``W == 2 H`` (within :data:`PANORAMA_ASPECT_TOLERANCE`), row 0 at the
      top (``+Y``), laid out as :mod:`svfri.conventions` states.

    Raises:
      HdrError: the file is missing, has an unsupported extension, is truncated or corrupt, has no usable
        colour channels, or is not a panorama.
    """
    path = Path(path)
    extension = path.suffix.lower()
    if extension not in SUPPORTED_EXTENSIONS:
        raise HdrError(f"{path} has an unsupported extension {path.suffix!r} for an environment map; "
                       f"use one of {', '.join(SUPPORTED_EXTENSIONS)}")
    if not path.is_file():
        raise HdrError(f"environment map {path} does not exist; check the path")
    if extension in EXR_EXTENSIONS:
        image = _read_exr(path)
    elif extension in RADIANCE_EXTENSIONS:
        image = _read_radiance(path)
    else:
        image = _read_ldr(path)
    check_panorama_shape(image.shape[0], image.shape[1], source=str(path))
    if sanitize:
        image, fixed = sanitize_environment(image)
        _LOG.debug("%s: set %d pixels with NaN, Inf or negative values to 0", path, fixed)
    return np.ascontiguousarray(image, dtype=np.float32)


def _read_exr(path: Path) -> np.ndarray:
    import OpenEXR  # Imported lazily: only EXR input needs the C extension.

    with open(path, "rb") as stream:
        magic = stream.read(len(_EXR_MAGIC))
    if magic != _EXR_MAGIC:
        raise HdrError(f"{path} is not an OpenEXR file (wrong magic number); {_FIX_HINT}")
    try:
        with OpenEXR.File(str(path), separate_channels=True) as exr:
            channels = {name: channel for name, channel in exr.channels().items()}
            planes = {name: np.array(channel.pixels) for name, channel in channels.items()}
            sampling = {name: (channel.xSampling, channel.ySampling) for name, channel in channels.items()}
    except (RuntimeError, ValueError, OSError, KeyError, IndexError) as error:
        raise HdrError(f"{path} is a truncated or corrupt EXR file ({_one_line(error)}); "
                       f"re-download or re-export it") from error
    names = _select_exr_channels(planes, path)
    for name in names:
        if sampling[name] != (1, 1):
            raise HdrError(f"{path} has sub-sampled channel {name!r}; {_FIX_HINT}")
    stacked = np.stack([planes[name].astype(np.float32) for name in names], axis=-1)
    if stacked.ndim != 3:
        raise HdrError(f"{path} holds no 2-D image in its first part; {_FIX_HINT}")
    if stacked.shape[-1] == 1:
        stacked = np.repeat(stacked, len(_RGB_NAMES), axis=-1)
    return stacked


def _select_exr_channels(planes: dict[str, np.ndarray], path: Path) -> list[str]:
    """Names of the R, G, B (or the single Y) channels to use, bare or under exactly one layer prefix."""
    layers: dict[str, set[str]] = {}
    for name in planes:
        layer, _, leaf = name.rpartition(".")
        layers.setdefault(layer, set()).add(leaf)
    candidates = [layer for layer, leaves in layers.items() if set(_RGB_NAMES) <= leaves]
    if "" in candidates:
        return list(_RGB_NAMES)
    if len(candidates) == 1:
        return [f"{candidates[0]}.{leaf}" for leaf in _RGB_NAMES]
    if len(candidates) > 1:
        raise HdrError(f"{path} has several RGB layers ({', '.join(sorted(candidates))}); "
                       f"export the one to use as plain R, G, B channels")
    grey = [name for name in planes if name.rpartition(".")[2] == _LUMINANCE_NAME]
    non_alpha = [name for name in planes if name.rpartition(".")[2] != _ALPHA_NAME]
    if len(grey) == 1 and len(non_alpha) == 1:
        return grey
    found = ", ".join(sorted(planes)) or "none"
    raise HdrError(f"{path} has channels {found}, not R, G, B (or a single Y); {_FIX_HINT}")


def _read_radiance(path: Path) -> np.ndarray:
    import cv2

    data = np.fromfile(path, dtype=np.uint8)  # imdecode: no trouble with non-ASCII paths.
    image = cv2.imdecode(data, cv2.IMREAD_ANYDEPTH | cv2.IMREAD_COLOR) if data.size else None
    if image is None or image.ndim != 3 or image.shape[-1] != len(_RGB_NAMES):
        raise HdrError(f"{path} is a truncated or corrupt Radiance .hdr file; re-download or re-export it")
    return image[..., ::-1].astype(np.float32)  # OpenCV gives BGR.


def _read_ldr(path: Path) -> np.ndarray:
    import imageio.v3 as iio

    try:
        image = np.asarray(iio.imread(path))
    except Exception as error:  # imageio raises many types (OSError, ValueError, SyntaxError, ...).
        raise HdrError(f"{path} is not a readable image ({_one_line(error)}); "
                       f"re-export it as PNG or JPEG") from error
    if image.dtype == np.uint8:
        scaled = image.astype(np.float32) / _UINT8_MAX
    elif image.dtype == np.uint16:
        scaled = image.astype(np.float32) / _UINT16_MAX
    else:
        raise HdrError(f"{path} has pixel type {image.dtype}, not 8- or 16-bit; re-export it as PNG or JPEG")
    if scaled.ndim == 2:
        scaled = np.repeat(scaled[..., None], len(_RGB_NAMES), axis=-1)
    elif scaled.ndim == 3 and scaled.shape[-1] in (1, 2):  # grey, grey + alpha
        scaled = np.repeat(scaled[..., :1], len(_RGB_NAMES), axis=-1)
    elif scaled.ndim == 3 and scaled.shape[-1] in (3, 4):  # RGB, RGBA
        scaled = scaled[..., :3]
    else:
        raise HdrError(f"{path} has shape {image.shape}, not a single still image; re-export it as PNG or JPEG")
    from svfri.math.color import srgb_to_linear_np  # Lazy: it imports TensorFlow.

    return srgb_to_linear_np(scaled).astype(np.float32)


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__


def write_exr(path: str | os.PathLike, image: np.ndarray, *, half: bool = True) -> Path:
    """Writes ``image`` as a ZIP-compressed scanline OpenEXR file, atomically.

    Args:
      path: destination ``.exr`` path; its folder must exist. An existing file is replaced only once the new
        one is complete (temporary file in the same folder, then :func:`os.replace`).
      image: ``[H, W, 3]`` (R, G, B) or ``[H, W, 4]`` (R, G, B, A) linear values, any float dtype.
      half: store 16-bit half floats (values clamped to ``[-HALF_MAX, HALF_MAX]``, about 3 significant
        digits) instead of 32-bit floats.

    Returns:
      The destination path.

    Raises:
      ValueError: ``image`` is not ``[H, W, 3|4]``.
      OutputError: the folder is missing or not writable, or the disk is full.
    """
    import OpenEXR

    path = Path(path)
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] not in (3, 4) or image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(f"write_exr expects an [H, W, 3|4] image, got shape {image.shape}")
    if half:
        pixels = np.clip(image.astype(np.float32), -HALF_MAX, HALF_MAX).astype(np.float16)
    else:
        pixels = image.astype(np.float32)
    names = _RGB_NAMES + ((_ALPHA_NAME,) if image.shape[-1] == 4 else ())
    channels = {name: np.ascontiguousarray(pixels[..., index]) for index, name in enumerate(names)}
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    if not path.parent.is_dir():
        raise OutputError(f"cannot write {path}: folder {path.parent} does not exist; create it first")
    # A unique hidden name in the same folder (so os.replace is atomic); created by OpenEXR with the usual
    # permissions (umask), unlike mkstemp's owner-only files.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp.exr")
    try:
        with OpenEXR.File(header, channels) as exr:
            exr.write(str(temporary))
        os.replace(temporary, path)
    except (OSError, RuntimeError) as error:
        raise OutputError(f"cannot write {path} ({_one_line(error)}); check the folder is writable and "
                          f"the disk has space") from error
    finally:
        if temporary.exists():
            temporary.unlink()
    return path
