"""Photo colour handling in svfri.io.images: embedded ICC profiles converted to sRGB (checked against an
independent matrix/TRC computation), CMYK, palette, 16-bit, alpha and EXIF orientation."""

import io
import struct

import cv2
import numpy as np
import pytest
from PIL import Image

from svfri.errors import InputError
from svfri.io.images import read_photo

# Adobe RGB (1998) primaries adapted to D50 (the ICC connection space), gamma 563/256.
ADOBE_D50 = np.array([[0.6097, 0.2053, 0.1492], [0.3111, 0.6257, 0.0632], [0.0195, 0.0609, 0.7446]])
ADOBE_GAMMA = 563 / 256
# sRGB primaries, Bradford-adapted to D50.
SRGB_D50 = np.array([[0.4361, 0.3851, 0.1431], [0.2225, 0.7169, 0.0606], [0.0139, 0.0971, 0.7141]])


def _s15(value: float) -> bytes:
    return struct.pack(">i", int(round(value * 65536)))


def _rgb_profile(description: str, matrix: np.ndarray, gamma: float) -> bytes:
    """A minimal ICC v2 RGB display profile (matrix + gamma TRC), built byte by byte (ICC.1:2001-04)."""
    def xyz(values):
        return b"XYZ " + b"\0" * 4 + b"".join(_s15(v) for v in values)

    text = description.encode("ascii") + b"\0"
    desc = b"desc" + b"\0" * 4 + struct.pack(">I", len(text)) + text + b"\0" * (4 + 4 + 2 + 1 + 67)
    curve = b"curv" + b"\0" * 4 + struct.pack(">IH", 1, int(round(gamma * 256))) + b"\0\0"
    tags = [(b"desc", desc), (b"wtpt", xyz([0.9642, 1.0, 0.8249])), (b"rXYZ", xyz(matrix[:, 0])),
            (b"gXYZ", xyz(matrix[:, 1])), (b"bXYZ", xyz(matrix[:, 2])), (b"rTRC", curve), (b"gTRC", curve),
            (b"bTRC", curve)]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for signature, data in tags:
        data += b"\0" * (-len(data) % 4)
        table += signature + struct.pack(">II", offset + len(body), len(data))
        body += data
    size = offset + len(body)
    header = (struct.pack(">I", size) + b"\0" * 4 + bytes([2, 0x10, 0, 0]) + b"mntr" + b"RGB " + b"XYZ "
              + b"\0" * 12 + b"acsp" + b"\0" * 24 + struct.pack(">I", 0) + _s15(0.9642) + _s15(1.0) + _s15(0.8249)
              + b"\0" * 48)
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + body


def _srgb_encode(linear):
    linear = np.clip(linear, 0, 1)
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)


def test_embedded_adobe_rgb_profile_is_converted_to_srgb(tmp_path):
    colour = np.array([150, 110, 90], np.uint8)  # a skin tone, inside both gamuts
    image = Image.fromarray(np.broadcast_to(colour, (64, 64, 3)).copy())
    path = tmp_path / "adobe.jpg"
    image.save(path, quality=100, icc_profile=_rgb_profile("Test Adobe RGB", ADOBE_D50, ADOBE_GAMMA))
    photo = read_photo(path)
    assert photo.color_profile == "converted to sRGB from 'Test Adobe RGB'"
    expected = _srgb_encode(np.linalg.solve(SRGB_D50, ADOBE_D50 @ ((colour / 255.0) ** ADOBE_GAMMA))) * 255
    got = photo.pixels[32, 32].astype(float)
    assert np.abs(got - expected).max() < 3.0, (got, expected)
    assert np.abs(got - colour).max() > 5, "the conversion must change the values of a wide-gamut photo"

    srgb_tagged = tmp_path / "srgb.png"
    from PIL import ImageCms

    image.save(srgb_tagged, icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    photo = read_photo(srgb_tagged)
    assert photo.color_profile == "sRGB (embedded)" and (photo.pixels[0, 0] == colour).all()
    assert read_photo(tmp_path / "srgb.png").pixels.dtype == np.uint8


def test_corrupt_embedded_profile_is_refused(tmp_path):
    path = tmp_path / "bad-profile.jpg"
    Image.fromarray(np.full((32, 32, 3), 120, np.uint8)).save(path, icc_profile=b"\0" * 200)
    with pytest.raises(InputError, match="embedded ICC colour profile is corrupt"):
        read_photo(path)


def test_cmyk_palette_sixteen_bit_and_alpha(tmp_path):
    cmyk = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (32, 32), (0, 255, 255, 0)).save(cmyk, quality=100)  # pure red ink-wise
    photo = read_photo(cmyk)
    assert photo.source_mode == "CMYK" and photo.pixels.shape == (32, 32, 3)
    assert photo.pixels[16, 16, 0] > 240 and photo.pixels[16, 16, 1:].max() < 15

    palette = tmp_path / "palette.png"
    Image.new("RGB", (32, 32), (10, 200, 30)).convert("P", palette=Image.Palette.ADAPTIVE).save(palette)
    photo = read_photo(palette)
    assert photo.source_mode == "P" and np.abs(photo.pixels[0, 0].astype(int) - [10, 200, 30]).max() <= 2

    deep = tmp_path / "deep.png"
    cv2.imwrite(str(deep), np.full((32, 32, 3), [1000, 30000, 65535], np.uint16))  # BGR
    photo = read_photo(deep)
    assert photo.pixels.dtype == np.uint16 and tuple(photo.pixels[0, 0]) == (65535, 30000, 1000)

    grey_alpha = tmp_path / "la.png"
    Image.new("LA", (32, 32), (90, 128)).save(grey_alpha)
    photo = read_photo(grey_alpha)
    assert photo.was_grayscale and photo.had_alpha and tuple(photo.pixels[0, 0]) == (90, 90, 90)


def test_exif_orientation_on_a_tagged_png_and_jpeg(tmp_path):
    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:, :10] = 255  # a white band on the left
    for suffix in (".jpg", ".png"):
        image = Image.fromarray(pixels)
        exif = Image.Exif()
        exif[0x0112] = 8  # TIFF/EXIF orientation 8: shown turned 90 degrees counter-clockwise
        path = tmp_path / f"rotated{suffix}"
        image.save(path, exif=exif.tobytes(), **({"quality": 100} if suffix == ".jpg" else {}))
        photo = read_photo(path)
        assert photo.exif_orientation == 8 and photo.pixels.shape == (40, 20, 3)
        assert photo.pixels[-5, 10].min() > 200 and photo.pixels[5, 10].max() < 50  # the band is now at the bottom
