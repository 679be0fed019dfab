"""A bad-input corpus, generated here (no shipped binaries): every case gives its exit code and one line on stderr,
writes nothing, and leaves an earlier result in the output folder untouched.

Most cases go through `svfri mesh` (no networks, fast); the HDR panorama also through `svfri fit`.
"""

import hashlib
import os
import shutil
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from svfri.errors import InputError, NoFaceError, UsageError
from svfri.io.hdr import write_exr
from svfri.io.images import MAX_PHOTO_PIXELS
from svfri.io.staging import LOCK_PREFIX, STAGING_PREFIX
from svfri.nets import FaceNetworks
from svfri.pipeline.fit_job import NETWORKS_DIR_ENV
from svfri_cli.main import main

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "astronaut.png"


def _png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header declares ``width x height`` RGB pixels, with almost no pixel data behind it."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def _jpeg() -> bytes:
    ok, encoded = cv2.imencode(".jpg", cv2.imread(str(SAMPLE)))
    assert ok
    return encoded.tobytes()


def _flip(data: bytes, start: int, stop: int) -> bytes:
    flipped = bytearray(data)
    flipped[start:stop] = bytes(b ^ 0xFF for b in flipped[start:stop])
    return bytes(flipped)


def _flip_jpeg_huffman_table() -> bytes:
    data = _jpeg()
    table = data.find(b"\xff\xc4")
    return _flip(data, table + 4, table + 20)


def _flip_jpeg_component_count() -> bytes:
    data = _jpeg()
    frame = data.find(b"\xff\xc0")
    return _flip(data, frame + 9, frame + 10)


def _flip_png_bits() -> bytes:
    data = bytearray(SAMPLE.read_bytes())
    for index in np.random.default_rng(0).integers(100, len(data), 64):
        data[index] ^= 0xFF
    return bytes(data)


def _exr(tmp_path: Path) -> bytes:
    path = write_exr(tmp_path / "source.exr", np.ones((32, 64, 3), np.float32))
    data = path.read_bytes()
    path.unlink()
    return data


def _image(array) -> bytes:
    ok, encoded = cv2.imencode(".png", array)
    assert ok
    return encoded.tobytes()


# name -> (file name, bytes maker(tmp_path) or None for special cases, exit code, message)
CORPUS = {
    "zero bytes": ("empty.jpg", lambda t: b"", InputError.exit_code, "the file is empty (0 bytes)"),
    "text with an image extension": ("notes.png", lambda t: b"shopping list: milk, eggs\n", InputError.exit_code,
                                     "not an image svfri can read"),
    "random bytes": ("noise.jpg", lambda t: np.random.default_rng(1).bytes(4096), InputError.exit_code,
                     "not an image svfri can read"),
    "truncated JPEG": ("half.jpg", lambda t: _jpeg()[: len(_jpeg()) // 2], InputError.exit_code,
                       "the image data is truncated or corrupt"),
    "truncated PNG": ("half.png", lambda t: SAMPLE.read_bytes()[: SAMPLE.stat().st_size // 2], InputError.exit_code,
                      "the image data is truncated or corrupt"),
    "bit-flipped JPEG Huffman table": ("flipped.jpg", lambda t: _flip_jpeg_huffman_table(), InputError.exit_code,
                                       "the image data is truncated or corrupt"),
    "bit-flipped JPEG frame header": ("frame.jpg", lambda t: _flip_jpeg_component_count(), InputError.exit_code,
                                      "the JPEG data is corrupt"),
    "bit-flipped PNG": ("flipped.png", lambda t: _flip_png_bits(), InputError.exit_code, "the PNG data is corrupt"),
    "header declaring gigapixels": ("giga.png", lambda t: _png_declaring(60_000, 60_000), InputError.exit_code,
                                    "60000x60000 is 3600 megapixels, more than the 120 MP svfri reads"),
    "header just over the limit": ("big.png", lambda t: _png_declaring(11_000, 11_000), InputError.exit_code,
                                   "11000x11000 is 121 megapixels, more than the 120 MP svfri reads"),
    "HDR panorama (OpenEXR)": ("studio.exr", _exr, InputError.exit_code,
                               "an HDR environment map (OpenEXR), not a photo; use it as `svfri relight FOLDER --hdr"),
    "truncated EXR": ("cut.exr", lambda t: _exr(t)[:200], InputError.exit_code, "an HDR environment map (OpenEXR)"),
    "bit-flipped EXR": ("bits.exr", lambda t: _flip(_exr(t), 100, 140), InputError.exit_code,
                        "an HDR environment map (OpenEXR)"),
    "Radiance HDR panorama": ("sky.hdr", lambda t: b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 2 +X 4\n" + b"\0" * 32,
                              InputError.exit_code, "an HDR environment map (Radiance HDR)"),
    "tiny image": ("tiny.png", lambda t: _image(np.full((4, 4, 3), 128, np.uint8)), NoFaceError.exit_code,
                   "no face found in the photo"),
    "noise": ("static.png", lambda t: _image(np.random.default_rng(2).integers(0, 256, (320, 320, 3), np.uint8)),
              NoFaceError.exit_code, "the face mesh regressor is not confident a face is there"),
    "black frame": ("black.png", lambda t: _image(np.zeros((240, 320, 3), np.uint8)), NoFaceError.exit_code,
                    "no face found in the photo"),
    "a directory given as a photo": ("folder.jpg", "directory", UsageError.exit_code, "the folder holds no photos"),
    "a dangling symlink": ("gone.jpg", "dangling", InputError.exit_code, "a broken symbolic link (it points to"),
}


def _make_input(tmp_path: Path, name: str, maker) -> Path:
    path = tmp_path / "inputs" / name
    path.parent.mkdir(exist_ok=True)
    if maker == "directory":
        path.mkdir()
    elif maker == "dangling":
        os.symlink(tmp_path / "inputs" / "deleted-photo.jpg", path)
    else:
        path.write_bytes(maker(tmp_path))
    return path


def _state(folder: Path) -> dict:
    """Every file under ``folder`` with its content hash and modification time."""
    return {str(p.relative_to(folder)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def earlier_result(tmp_path_factory):
    """A complete `svfri mesh` output folder of the sample photo (the earlier result a bad run must not touch)."""
    out = tmp_path_factory.mktemp("earlier") / "result"
    result = CliRunner().invoke(main, ["mesh", str(SAMPLE), "--out", str(out), "--texture-size", "64",
                                       "--ray-count", "16"])
    assert result.exit_code == 0, result.output
    return out


def _assert_one_error_line(result, code: int, message: str) -> None:
    assert result.exit_code == code, (result.exit_code, result.output)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and message in lines[0], lines[0]
    assert result.stdout == ""


def _no_leftovers(parent: Path) -> None:
    assert not [p.name for p in parent.iterdir() if p.name.startswith((STAGING_PREFIX, LOCK_PREFIX))]


@pytest.mark.parametrize("case", list(CORPUS), ids=list(CORPUS))
def test_bad_input_gives_its_code_and_one_line_and_writes_nothing(case, tmp_path, earlier_result):
    name, maker, code, message = CORPUS[case]
    photo = _make_input(tmp_path, name, maker)
    fresh = tmp_path / "fresh"
    result = CliRunner().invoke(main, ["mesh", str(photo), "--out", str(fresh)])
    _assert_one_error_line(result, code, message)
    assert not fresh.exists(), "a failed run must write nothing"
    _no_leftovers(tmp_path)

    existing = tmp_path / "existing"
    shutil.copytree(earlier_result, existing)
    before = _state(existing)
    result = CliRunner().invoke(main, ["mesh", str(photo), "--out", str(existing)])
    _assert_one_error_line(result, code, message)
    assert _state(existing) == before, "a failed run must not touch the earlier result"
    _no_leftovers(tmp_path)


def test_limit_is_the_documented_one():
    assert MAX_PHOTO_PIXELS == 120_000_000


def test_hdr_panorama_given_to_fit(tmp_path, earlier_result, monkeypatch):
    weights = tmp_path / "networks"
    FaceNetworks("tiny").save_weights(weights)
    monkeypatch.setenv(NETWORKS_DIR_ENV, str(weights))
    panorama = write_exr(tmp_path / "studio.exr", np.ones((32, 64, 3), np.float32))
    existing = tmp_path / "existing"
    shutil.copytree(earlier_result, existing)
    before = _state(existing)
    result = CliRunner().invoke(main, ["fit", str(panorama), "--out", str(existing), "--steps", "2",
                                       "--refine-steps", "0"])
    _assert_one_error_line(result, InputError.exit_code, "an HDR environment map (OpenEXR), not a photo")
    assert _state(existing) == before
    _no_leftovers(tmp_path)


def test_batch_of_bad_inputs_reports_each_once(tmp_path):
    """All corpus files in one folder: exit 4 (every photo failed), one error line per file, no output folders."""
    folder = tmp_path / "inputs"
    for case, (name, maker, _, _) in CORPUS.items():
        if maker not in ("directory", "dangling") and Path(name).suffix in (".jpg", ".png"):
            _make_input(tmp_path, name, maker)
    photos = sorted(folder.iterdir())
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["mesh", str(folder), "--out", str(out), "--quiet"])
    assert result.exit_code == 4, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == len(photos) and all(line.startswith("error: ") for line in lines)
    for photo in photos:
        assert sum(str(photo) in line for line in lines) == 1
    assert sorted(p.name for p in out.iterdir()) == ["summary.csv", "summary.json"]


def test_names_with_spaces_and_non_ascii_characters(tmp_path):
    folder = tmp_path / "фото и photos"
    folder.mkdir()
    for name in ("Zoë Ångström.png", "a photo (1).png"):
        shutil.copy(SAMPLE, folder / name)
    out = tmp_path / "résultats"
    result = CliRunner().invoke(main, ["mesh", str(folder), "--out", str(out), "--texture-size", "64",
                                       "--ray-count", "16"])
    assert result.exit_code == 0, result.output
    assert (out / "Zoë Ångström" / "fit.json").is_file() and (out / "a photo (1)" / "mesh.obj").is_file()
    assert "Zoë Ångström.png -> " in result.stdout
