"""Environment-map I/O (svfri.io.hdr) and the CC0 map set (svfri.data.hdri)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

import cv2
import imageio.v3 as iio
import numpy as np
import OpenEXR
import pytest

from svfri.data import hdri
from svfri.errors import HdrError, OutputError
from svfri.io.hdr import read_environment, sanitize_environment, write_exr

REPO = Path(__file__).resolve().parents[1]
#: sha256 of the shipped sample maps (models/hdri/README.md).
SAMPLE_SHA256 = {
    "sky": "c1de5d4867676f03e44c30185c5703d405c333d8c613e917d402c8a2f5ae58a1",
    "studio": "a35febb3daec53ee040d0d872942ff4dcc26fa09a0b4e194b0ad3cbe3fac7475",
}


def _panorama(height=8, width=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0.0, 50.0, size=(height, width, 3)).astype(np.float32)


def _write_channels(path, channels):
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    with OpenEXR.File(header, channels) as exr:
        exr.write(str(path))


# --- EXR round trip and atomic writing -------------------------------------------------------------------

def test_write_read_round_trip_float_is_exact(tmp_path):
    image = _panorama()
    write_exr(tmp_path / "a.exr", image, half=False)
    np.testing.assert_array_equal(read_environment(tmp_path / "a.exr"), image)


def test_write_read_round_trip_half_keeps_three_digits_and_drops_alpha(tmp_path):
    image = _panorama()
    rgba = np.concatenate([image, np.full(image.shape[:2] + (1,), 0.5, np.float32)], axis=-1)
    write_exr(tmp_path / "a.exr", rgba)
    result = read_environment(tmp_path / "a.exr")
    assert result.shape == image.shape and result.dtype == np.float32
    np.testing.assert_allclose(result, image, rtol=1e-3)  # half: 11-bit mantissa
    np.testing.assert_array_equal(result, image.astype(np.float16).astype(np.float32))


def test_write_exr_clamps_to_half_range(tmp_path):
    image = np.full((4, 8, 3), 1e6, np.float32)
    write_exr(tmp_path / "big.exr", image)
    assert np.all(read_environment(tmp_path / "big.exr") == np.float32(65504.0))


def test_write_exr_replaces_atomically_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "env.exr"
    write_exr(target, np.ones((4, 8, 3)))
    write_exr(target, np.full((4, 8, 3), 2.0))
    assert np.all(read_environment(target) == 2.0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["env.exr"]
    assert (target.stat().st_mode & 0o777) == (0o666 & ~_umask())


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_write_exr_errors(tmp_path):
    with pytest.raises(OutputError, match="does not exist"):
        write_exr(tmp_path / "missing" / "a.exr", np.ones((4, 8, 3)))
    with pytest.raises(ValueError, match=r"\[H, W, 3\|4\]"):
        write_exr(tmp_path / "a.exr", np.ones((4, 8)))
    with pytest.raises(ValueError):
        write_exr(tmp_path / "a.exr", np.ones((4, 8, 2)))


# --- sanitising ----------------------------------------------------------------------------------------

def test_sanitize_counts_pixels_not_values():
    image = np.ones((2, 4, 3), np.float32)
    image[0, 0] = [np.nan, -1.0, np.inf]   # one pixel, three bad values
    image[1, 3, 2] = -np.inf
    image[1, 2, 1] = -0.25
    clean, fixed = sanitize_environment(image)
    assert fixed == 3
    np.testing.assert_array_equal(clean[0, 0], [0.0, 0.0, 0.0])
    assert clean[1, 3, 2] == 0.0 and clean[1, 2, 1] == 0.0
    assert np.count_nonzero(clean == 1.0) == image.size - 5


def test_read_sanitises_unless_told_not_to(tmp_path):
    image = _panorama()
    image[1, 2] = [-3.0, np.nan, 4.0]
    write_exr(tmp_path / "a.exr", image, half=False)
    np.testing.assert_array_equal(read_environment(tmp_path / "a.exr")[1, 2], [0.0, 0.0, 4.0])
    raw = read_environment(tmp_path / "a.exr", sanitize=False)[1, 2]
    assert raw[0] == -3.0 and np.isnan(raw[1])


# --- bad inputs ------------------------------------------------------------------------------------------

def test_truncated_exr_is_refused_at_any_cut(tmp_path):
    write_exr(tmp_path / "good.exr", _panorama(32, 64), half=False)
    data = (tmp_path / "good.exr").read_bytes()
    for cut in (3, 20, 300, len(data) // 2, len(data) - 10):
        (tmp_path / "cut.exr").write_bytes(data[:cut])
        with pytest.raises(HdrError, match=r"cut\.exr (is a truncated or corrupt EXR|is not an OpenEXR)"):
            read_environment(tmp_path / "cut.exr")


def test_not_an_exr_is_refused(tmp_path):
    (tmp_path / "fake.exr").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(HdrError, match="not an OpenEXR file"):
        read_environment(tmp_path / "fake.exr")


def test_missing_file_and_unsupported_extension(tmp_path):
    with pytest.raises(HdrError, match="does not exist"):
        read_environment(tmp_path / "nothing.exr")
    (tmp_path / "env.tiff").write_bytes(b"whatever")
    with pytest.raises(HdrError, match=r"unsupported extension '\.tiff'.*\.exr, \.hdr"):
        read_environment(tmp_path / "env.tiff")


@pytest.mark.parametrize("height,width,accepted", [
    (32, 64, True), (201, 400, True),      # exact; 0.5 % off (an odd pixel)
    (32, 32, False), (36, 64, False),      # square; 16:9
    (1, 2, False),                         # too small
])
def test_panorama_aspect(tmp_path, height, width, accepted):
    write_exr(tmp_path / "a.exr", np.ones((height, width, 3)))
    if accepted:
        assert read_environment(tmp_path / "a.exr").shape == (height, width, 3)
    else:
        with pytest.raises(HdrError, match="not an equirectangular panorama|too small"):
            read_environment(tmp_path / "a.exr")


def test_exr_channel_layouts(tmp_path):
    grey = np.linspace(0.0, 5.0, 8 * 16, dtype=np.float32).reshape(8, 16)
    _write_channels(tmp_path / "y.exr", {"Y": grey})  # luminance-only: read as grey
    np.testing.assert_array_equal(read_environment(tmp_path / "y.exr"), np.repeat(grey[..., None], 3, -1))
    _write_channels(tmp_path / "layer.exr", {"beauty.R": grey, "beauty.G": 2 * grey, "beauty.B": 3 * grey,
                                             "beauty.A": grey})
    np.testing.assert_array_equal(read_environment(tmp_path / "layer.exr")[..., 2], 3 * grey)
    _write_channels(tmp_path / "z.exr", {"Z": grey})
    with pytest.raises(HdrError, match="has channels Z, not R, G, B"):
        read_environment(tmp_path / "z.exr")
    _write_channels(tmp_path / "two.exr", {"a.R": grey, "a.G": grey, "a.B": grey,
                                           "b.R": grey, "b.G": grey, "b.B": grey})
    with pytest.raises(HdrError, match="several RGB layers"):
        read_environment(tmp_path / "two.exr")


def test_radiance_hdr_is_read_as_rgb(tmp_path):
    image = np.zeros((8, 16, 3), np.float32)
    image[..., 0], image[..., 1], image[..., 2] = 4.0, 1.0, 0.25  # distinct R, G, B
    assert cv2.imwrite(str(tmp_path / "a.hdr"), image[..., ::-1])  # OpenCV writes BGR
    np.testing.assert_allclose(read_environment(tmp_path / "a.hdr"), image, rtol=1e-2)
    (tmp_path / "cut.hdr").write_bytes((tmp_path / "a.hdr").read_bytes()[:60])
    with pytest.raises(HdrError, match="truncated or corrupt Radiance"):
        read_environment(tmp_path / "cut.hdr")


def test_ldr_panorama_is_decoded_from_srgb(tmp_path):
    rgb8 = np.zeros((8, 16, 3), np.uint8)
    rgb8[..., 0], rgb8[..., 1], rgb8[..., 2] = 128, 255, 10
    iio.imwrite(tmp_path / "a.png", rgb8)
    # IEC 61966-2-1: 128/255 -> ((0.50196 + 0.055) / 1.055)^2.4 = 0.21586; 10/255 -> 0.039216 / 12.92.
    np.testing.assert_allclose(read_environment(tmp_path / "a.png")[0, 0], [0.215861, 1.0, 0.0030353], rtol=1e-4)
    grey16 = np.full((8, 16), 65535, np.uint16)
    iio.imwrite(tmp_path / "g.png", grey16)
    np.testing.assert_allclose(read_environment(tmp_path / "g.png"), 1.0)
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8\xff garbage")
    with pytest.raises(HdrError, match="not a readable image"):
        read_environment(tmp_path / "bad.jpg")


# --- shipped samples --------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", hdri.SAMPLE_HDRIS)
def test_shipped_samples_are_intact_clean_panoramas(name):
    path = hdri.sample_hdri_path(name)
    assert path == REPO / "models" / "hdri" / f"{name}.exr"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == SAMPLE_SHA256[name]
    assert path.stat().st_size < 100_000
    env = read_environment(path)
    assert env.shape == (64, 128, 3)
    assert np.all(np.isfinite(env)) and env.min() >= 0.0
    assert env.max() > 100.0 * np.median(env)  # a real HDR: a light far above the median


def test_sample_hdri_path_rejects_unknown_names():
    with pytest.raises(HdrError, match="not a shipped sample"):
        hdri.sample_hdri_path("beach")


# --- the CC0 set: split, decoding, repair, cache, fetch errors -----------------------------------------------

def test_split_is_fixed_disjoint_and_complete():
    assert len(hdri.ALL_HDRIS) == 18
    assert hdri.HELD_OUT_HDRIS == ("city", "lobby", "sunrise", "workshop")
    assert set(hdri.TRAIN_HDRIS) | set(hdri.HELD_OUT_HDRIS) == set(hdri.ALL_HDRIS)
    assert not set(hdri.TRAIN_HDRIS) & set(hdri.HELD_OUT_HDRIS)
    assert set(hdri.SAMPLE_HDRIS) <= set(hdri.ALL_HDRIS)


def _module_text(exr_bytes, quote="'"):
    return f"export default {quote}data:application/exr;base64,{base64.b64encode(exr_bytes).decode()}{quote}\n"


def test_decode_exr_module(tmp_path):
    write_exr(tmp_path / "a.exr", np.ones((4, 8, 3)))
    data = (tmp_path / "a.exr").read_bytes()
    assert hdri.decode_exr_module(_module_text(data)) == data
    assert hdri.decode_exr_module(_module_text(data, quote='"').rstrip() + ";") == data
    with pytest.raises(HdrError, match="not an `export default"):
        hdri.decode_exr_module("module.exports = 'data:image/png;base64,AAAA'")
    with pytest.raises(HdrError, match="does not decode to an OpenEXR"):
        hdri.decode_exr_module(_module_text(b"PNG not exr"))
    with pytest.raises(HdrError, match="invalid base64"):
        hdri.decode_exr_module("export default 'data:application/exr;base64,AAA'")


def test_read_modules_takes_only_hdri_exr_modules(tmp_path):
    write_exr(tmp_path / "a.exr", np.ones((4, 8, 3)))
    data = (tmp_path / "a.exr").read_bytes()
    tarball = tmp_path / "p.tgz"
    with tarfile.open(tarball, "w:gz") as archive:
        for name, text in [("package/hdri/park.exr.js", _module_text(data)),
                           ("package/hdri/park.exr.d.ts", "declare const _default: string;"),
                           ("package/textures/x.exr.js", _module_text(data))]:
            payload = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))
    assert hdri._read_modules(tarball) == {"park": data}


def test_repair_channel_dropout():
    image = np.zeros((1, 5, 3), np.float32)
    image[0, 0] = [1e-6, 0.0, 11800.0]     # park's sun: red and green gone -> grey
    image[0, 1] = [801.0, 104.0, 0.07]     # sunset's deep-red sun: one small channel -> kept
    image[0, 2] = [0.0, 0.0, 15.0]         # dim saturated blue -> kept
    image[0, 3] = [30.0, 0.2, 0.25]        # bright, second channel just below 1 % -> grey
    image[0, 4] = [1.0, 2.0, 3.0]
    repaired, count = hdri.repair_channel_dropout(image)
    assert count == 2
    np.testing.assert_array_equal(repaired[0, 0], [11800.0] * 3)
    np.testing.assert_array_equal(repaired[0, 3], [30.0] * 3)
    np.testing.assert_array_equal(repaired[0, [1, 2, 4]], image[0, [1, 2, 4]])


def test_cache_dir_listing_and_missing_map(tmp_path, monkeypatch):
    monkeypatch.setenv(hdri.HDRI_DIR_ENV, str(tmp_path / "cache"))
    assert hdri.hdri_cache_dir() == tmp_path / "cache"
    assert hdri.list_hdris() == []
    (tmp_path / "cache").mkdir()
    write_exr(tmp_path / "cache" / "sky.exr", np.ones((4, 8, 3)))
    write_exr(tmp_path / "cache" / "city.exr", np.ones((4, 8, 3)))
    (tmp_path / "cache" / ".partial.exr").write_bytes(b"")
    assert hdri.list_hdris() == ["city", "sky"]
    assert hdri.load_hdri("sky").shape == (4, 8, 3)
    with pytest.raises(HdrError, match=r"'park' is not in .*precompute\.fetch_hdris"):
        hdri.hdri_path("park")
    monkeypatch.delenv(hdri.HDRI_DIR_ENV)
    assert hdri.hdri_cache_dir() == Path("~/.cache/svfri/hdri").expanduser()


def test_fetch_without_npm_says_so(tmp_path):
    with pytest.raises(HdrError, match="npm .* is not installed or not on PATH"):
        hdri.fetch_hdris(tmp_path / "cache", npm="npm-that-does-not-exist-svfri")


def _fetched_cache():
    folder = hdri.hdri_cache_dir()
    return folder if (folder / hdri.MANIFEST_NAME).is_file() else None


@pytest.mark.skipif(_fetched_cache() is None, reason="CC0 maps not fetched (python -m precompute.fetch_hdris)")
def test_fetched_cache_matches_its_manifest():
    folder = _fetched_cache()
    manifest = json.loads((folder / hdri.MANIFEST_NAME).read_text())
    assert manifest["licence"] == "CC0-1.0" and manifest["version"] == hdri.HDRI_NPM_VERSION
    assert [entry["name"] for entry in manifest["maps"]] == list(hdri.ALL_HDRIS)
    for entry in manifest["maps"]:
        path = folder / entry["file"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
        assert entry["source_sha256"] == hdri.HDRI_SOURCE_SHA256[entry["name"]]
        assert entry["split"] == ("held_out" if entry["name"] in hdri.HELD_OUT_HDRIS else "train")
    env = hdri.load_hdri("park", folder)
    assert env.shape == (256, 512, 3) and env.min() >= 0.0
    brightest = np.unravel_index(np.argmax(env.max(-1)), env.shape[:2])
    assert np.ptp(env[brightest]) == 0.0  # the repaired sun is grey, not blue
