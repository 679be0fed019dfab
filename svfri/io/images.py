"""Reading photos and writing images.

Photos are read with Pillow (EXIF orientation applied, any mode Pillow knows: RGB, RGBA, grey, grey + alpha, palette,
CMYK, 16-bit grey) with OpenCV as the decoder for what Pillow narrows or cannot open (48/64-bit RGB TIFF/PNG keep 16
bits). Pixel values stay integer (8 or 16 bit) so an 8000x6000 photo costs 144 MB, not 576 MB;
:meth:`Photo.to_float` converts a region to float32 sRGB in [0, 1].

Refused before decoding, each with one :class:`InputError` line: a file whose header declares more than
:data:`MAX_PHOTO_PIXELS` pixels, an HDR environment map (OpenEXR, Radiance, PFM: these belong to ``relight --hdr``),
a folder, a broken symbolic link, an empty file. (The same reader takes the output folders' maps, so it sets no
minimum size: a tiny photo fails later, as "no face found".)

Colour: an embedded ICC profile other than sRGB (Display P3, Adobe RGB, a CMYK press profile, a grey profile) is
converted to sRGB with LittleCMS (Pillow ``ImageCms``, relative colorimetric); :attr:`Photo.color_profile` says what
was done. A 16-bit photo with such a profile is converted at 8 bits. A corrupt embedded profile is refused, not
ignored. Alpha is dropped (svfri does not composite; :attr:`Photo.had_alpha` says so).

Writes are atomic: a temporary file in the destination folder, then ``os.replace``; any failure to write (folder
missing or read-only, disk full) is one :class:`OutputError`.
"""

from __future__ import annotations

import dataclasses
import io
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np

from svfri.errors import InputError, OutputError

__all__ = ["Photo", "read_photo", "write_png", "atomic_write_bytes", "MAX_PHOTO_PIXELS", "HDR_SIGNATURES"]

#: Photos whose header declares more pixels than this are refused before any pixel is decoded (120 MP: above the
#: largest camera sensors in use, ~100 MP; a face needs a small fraction of that). This check replaces Pillow's
#: decompression-bomb guard (which only warns between 1x and 2x its limit).
MAX_PHOTO_PIXELS = 120_000_000
#: Leading bytes of HDR environment-map formats (refused as photos with a pointer to ``relight --hdr``).
HDR_SIGNATURES = {b"\x76\x2f\x31\x01": "OpenEXR", b"#?RADIANCE": "Radiance HDR", b"#?RGBE": "Radiance HDR",
                  b"PF\n": "PFM", b"Pf\n": "PFM"}


@dataclasses.dataclass(frozen=True)
class Photo:
    """A decoded photo.

    Attributes:
      pixels: ``[H, W, 3]`` uint8 or uint16, sRGB-encoded, upright (EXIF orientation applied).
      path: where it came from.
      source_mode: Pillow mode or OpenCV layout it was decoded from (e.g. ``"RGB"``, ``"L"``, ``"I;16"``).
      was_grayscale: the file had a single colour channel (replicated to RGB).
      had_alpha: the file had an alpha channel (dropped: svfri does not composite).
      exif_orientation: the EXIF orientation tag that was applied (1 = none).
      color_profile: what was done about colour: ``"none (taken as sRGB)"``, ``"sRGB (embedded)"`` or
        ``"converted to sRGB from '<profile description>'"``.
    """

    pixels: np.ndarray
    path: Path
    source_mode: str
    was_grayscale: bool
    had_alpha: bool
    exif_orientation: int
    color_profile: str = "none (taken as sRGB)"

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def max_value(self) -> float:
        return float(np.iinfo(self.pixels.dtype).max)

    def to_float(self) -> np.ndarray:
        """``[H, W, 3]`` float32 sRGB-encoded values in [0, 1]."""
        return self.pixels.astype(np.float32) / np.float32(self.max_value)


def _pixels_from_pil(image) -> tuple[np.ndarray, bool, bool]:
    """Converts a Pillow image to (pixels [H,W,3] uint8|uint16, was_grayscale, had_alpha)."""
    mode = image.mode
    had_alpha = mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in image.info)
    if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        grey = np.asarray(image, dtype=np.uint16)
        return np.repeat(grey[..., None], 3, axis=2), True, False
    if mode in ("I", "F"):
        grey = np.asarray(image, dtype=np.float64)
        top = 65535.0 if grey.max() > 255 else 255.0
        grey = np.clip(grey, 0, top).astype(np.uint16 if top > 255 else np.uint8)
        return np.repeat(grey[..., None], 3, axis=2), True, False
    if mode in ("L", "LA", "1"):
        grey = np.asarray(image.convert("L"), dtype=np.uint8)
        return np.repeat(grey[..., None], 3, axis=2), True, had_alpha
    return np.asarray(image.convert("RGB"), dtype=np.uint8), False, had_alpha


def _pixels_from_cv2(data: bytes) -> tuple[np.ndarray, bool, bool] | None:
    import cv2

    from svfri.native_logs import silenced_native_stderr

    with silenced_native_stderr():  # libpng/libjpeg print their own complaints on fd 2; the InputError says it once
        decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if decoded is None:
        return None
    if decoded.dtype not in (np.uint8, np.uint16):
        top = 65535 if decoded.max() > 255 else 255
        decoded = np.clip(decoded, 0, top).astype(np.uint16 if top > 255 else np.uint8)
    if decoded.ndim == 2:
        return np.repeat(decoded[..., None], 3, axis=2), True, False
    had_alpha = decoded.shape[2] == 4
    rgb = decoded[..., 2::-1] if decoded.shape[2] >= 3 else np.repeat(decoded[..., :1], 3, axis=2)
    return np.ascontiguousarray(rgb), decoded.shape[2] < 3, had_alpha


#: Leading bytes of the photo formats svfri reads, to tell "corrupt JPEG" from "not an image".
_PHOTO_SIGNATURES = ((b"\xff\xd8\xff", "JPEG"), (b"\x89PNG\r\n\x1a\n", "PNG"), (b"II*\x00", "TIFF"),
                     (b"MM\x00*", "TIFF"), (b"BM", "BMP"), (b"GIF8", "GIF"))


def _sniff_format(data: bytes) -> str | None:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    return next((kind for signature, kind in _PHOTO_SIGNATURES if data.startswith(signature)), None)


def _check_file(path: Path) -> bytes:
    """The file's bytes, or an InputError saying why it is not a photo file."""
    if path.is_symlink() and not path.exists():
        raise InputError(f"{path}: a broken symbolic link (it points to {os.readlink(path)}, which does not exist)")
    if not path.exists():
        raise InputError(f"{path}: no such file; check the path")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not an image file")
    if not path.is_file():
        raise InputError(f"{path}: not a regular file (a device or pipe); give an image file")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputError(f"{path}: cannot be read ({error.strerror}); check its permissions") from None
    if not data:
        raise InputError(f"{path}: the file is empty (0 bytes); re-export or re-download the photo")
    for signature, kind in HDR_SIGNATURES.items():
        if data.startswith(signature):
            raise InputError(f"{path}: an HDR environment map ({kind}), not a photo; use it as `svfri relight "
                             f"FOLDER --hdr {path.name}`")
    return data


def _check_size(path: Path, width: int, height: int) -> None:
    if width * height > MAX_PHOTO_PIXELS:
        raise InputError(f"{path}: {width}x{height} is {width * height / 1e6:.0f} megapixels, more than the "
                         f"{MAX_PHOTO_PIXELS // 1_000_000} MP svfri reads; downscale it first")


def _to_srgb(image, path: Path):
    """(image converted to sRGB when it embeds another ICC profile, what was done)."""
    icc = image.info.get("icc_profile")
    if not icc:
        return image, "none (taken as sRGB)"
    from PIL import ImageCms

    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        description = (ImageCms.getProfileDescription(source) or "").strip() or "unnamed profile"
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        raise InputError(f"{path}: its embedded ICC colour profile is corrupt; re-export the photo with an sRGB "
                         "profile (or none)") from None
    if "srgb" in description.lower():
        return image, "sRGB (embedded)"
    if image.mode in ("P", "PA", "1", "LA", "RGBA", "I", "F") or image.mode.startswith("I;16"):
        image = image.convert("RGB" if image.mode not in ("LA", "I", "F") and not image.mode.startswith("I;16")
                              else "L")
    output_mode = "L" if image.mode == "L" else "RGB"
    try:
        converted = ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode=output_mode,
                                              renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC)
    except (ImageCms.PyCMSError, OSError, ValueError) as error:
        raise InputError(f"{path}: its embedded ICC profile '{description}' cannot be converted to sRGB ({error}); "
                         "re-export the photo as sRGB") from None
    return converted, f"converted to sRGB from '{description}'"


def read_photo(path: str | os.PathLike) -> Photo:
    """Reads a photo file into an upright sRGB :class:`Photo`.

    Raises:
      InputError: missing file, a folder, a broken link, an empty file, an HDR environment map, not an image,
        truncated/corrupt data, a corrupt colour profile, or more than :data:`MAX_PHOTO_PIXELS` pixels (refused
        from the header, before decoding).
    """
    from PIL import Image, ImageOps

    path = Path(path)
    data = _check_file(path)
    previous_limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None  # replaced by _check_size on the header, with svfri's limit and message
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            identified = False
            try:
                image = Image.open(io.BytesIO(data))
                identified = True
                _check_size(path, *image.size)  # from the header: nothing decoded yet
                image.load()
            except (OSError, SyntaxError, ValueError, EOFError) as error:
                message = str(error)
                if ("truncated" in message or "broken data stream" in message or "premature end" in message.lower()
                        or isinstance(error, EOFError)):
                    raise InputError(f"{path}: the image data is truncated or corrupt; re-export or re-download it") from None
                fallback = _pixels_from_cv2(data)
                known = (image.format if identified else None) or _sniff_format(data)
                if fallback is None and known:  # a known format whose data does not decode
                    raise InputError(f"{path}: the {known} data is corrupt; re-export or re-download it") from None
                if fallback is None:
                    raise InputError(f"{path}: not an image svfri can read (JPEG, PNG, WebP, TIFF, BMP...)") from None
                pixels, grey, alpha = fallback
                _check_size(path, pixels.shape[1], pixels.shape[0])
                return Photo(pixels, path, "cv2", grey, alpha, 1)
            orientation = int(image.getexif().get(0x0112, 1) or 1)
            mode = image.mode
            has_profile = bool(image.info.get("icc_profile"))
            if mode in ("RGB", "RGBA") and image.format in ("PNG", "TIFF"):
                # Pillow narrows 48/64-bit colour to 8 bits; OpenCV keeps 16.
                deep = _pixels_from_cv2(data)
                if deep is not None and deep[0].dtype == np.uint16:
                    _, profile = _to_srgb(image, path) if has_profile else (image, "none (taken as sRGB)")
                    if not profile.startswith("converted"):
                        pixels = _apply_orientation(deep[0], orientation)
                        return Photo(np.ascontiguousarray(pixels), path, mode + ";16", deep[1], deep[2], orientation,
                                     profile)
            had_alpha = mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in image.info)
            was_grey = mode in ("L", "LA", "1", "I", "F") or mode.startswith("I;16")
            image = ImageOps.exif_transpose(image)
            image, profile = _to_srgb(image, path)
            try:
                pixels, grey, alpha = _pixels_from_pil(image)
            except (ValueError, OSError) as error:
                raise InputError(f"{path}: colour mode {mode} cannot be converted to RGB ({error}); re-export the "
                                 "photo as RGB") from None
            return Photo(np.ascontiguousarray(pixels), path, mode, grey or was_grey, alpha or had_alpha, orientation,
                         profile)
    finally:
        Image.MAX_IMAGE_PIXELS = previous_limit


def _apply_orientation(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Turns ``[H, W, C]`` pixels upright for an EXIF orientation tag (1-8, TIFF 6.0 / EXIF 2.3 section 4.6.4)."""
    transposed = np.swapaxes(pixels, 0, 1)
    return {
        2: lambda: pixels[:, ::-1], 3: lambda: pixels[::-1, ::-1], 4: lambda: pixels[::-1],
        5: lambda: transposed, 6: lambda: transposed[:, ::-1], 7: lambda: transposed[::-1, ::-1],
        8: lambda: transposed[::-1],
    }.get(orientation, lambda: pixels)()


def _default_file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


#: Permissions of written files: what ``open()`` would give (mkstemp alone gives 0600).
_FILE_MODE = _default_file_mode()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Writes ``data`` to ``path`` atomically (temp file in the same folder + ``os.replace``)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise OutputError(f"{path.parent}: cannot write here ({error.strerror}); choose another --out") from None
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, _FILE_MODE)
        os.replace(temporary, path)
    except BaseException as error:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        if isinstance(error, OSError):
            raise OutputError(f"{path}: cannot be written ({error.strerror or error}); check the disk and the "
                              "folder") from None
        raise


def write_png(path: str | os.PathLike, image: np.ndarray) -> None:
    """Writes ``[H, W]``, ``[H, W, 3]`` or ``[H, W, 4]`` uint8/uint16 (or float in [0, 1] -> uint8) as PNG, atomically."""
    import cv2

    image = np.asarray(image)
    if image.dtype.kind == "f":
        image = np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)
    if image.ndim == 3 and image.shape[2] in (3, 4):
        image = image[..., [2, 1, 0, 3][: image.shape[2]]]
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(image))
    if not ok:
        raise OutputError(f"{path}: PNG encoding failed")
    atomic_write_bytes(path, encoded.tobytes())
