"""The 18 CC0 HDR environment maps of ``@pmndrs/assets@1.7.0`` (npm): fetching, caching, train/test split.

Source: the npm package ``@pmndrs/assets`` version 1.7.0 (licence CC0-1.0) ships Poly Haven HDRIs resized
to 512 x 256 and stored as half-float, DWAB-compressed EXR, each base64-encoded in a JavaScript module
``package/hdri/<name>.exr.js`` whose whole content is ``export default 'data:application/exr;base64,...'``.
:func:`fetch_hdris` runs ``npm pack`` (npm verifies the tarball's registry integrity), decodes each module,
checks the decoded EXR bytes against the sha256 pinned in :data:`HDRI_SOURCE_SHA256`, cleans the pixels and
writes ``<name>.exr`` (half float, ZIP, lossless from the decoded values) plus ``manifest.json`` into the
cache folder (:func:`hdri_cache_dir`).

Cleaning (what the cached files hold, recorded per map in the manifest):

* NaN/Inf and negative values -> 0 (:func:`svfri.io.hdr.sanitize_environment`; DWA compression leaves
  negative ringing lobes around bright lights: 11 to 3,684 pixels per map, down to -3,894).
* Channel drop-out (:func:`repair_channel_dropout`): in ``park`` and ``sunrise`` the sun's red and green
  channels are ~0 while blue holds ~1e4 (the red and green values most likely overflowed half float in
  conversion), so the sun is pure blue and carries over half of the map's blue energy. A pixel whose
  largest channel exceeds :data:`DROPOUT_MIN_RADIANCE` while its second-largest channel is below
  :data:`DROPOUT_RATIO` times it is set to grey at its largest value. Approximate: the sun's true colour and
  brightness are lost; grey at the surviving value is the neutral guess. A deep-red setting sun (``sunset``:
  R 801, G 104, B 0.07) keeps its colour because only one channel is small.

Split (fixed; constants below): 4 maps are held out for evaluation, one per kind of lighting, each with
similar maps left in training -- ``city`` (overcast urban exterior; like ``venice``, ``dawn``), ``lobby``
(warm indoor; like ``apartment``, ``hall``), ``sunrise`` (low sun over grass; like ``park``, ``sky``,
``sunset``) and ``workshop`` (industrial interior with many lamps; like ``warehouse``, ``lab``). The other
14 are for training. ``studio`` is kept for training since it is the only studio map.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import uuid
from pathlib import Path

import numpy as np

from svfri.assets import models_dir
from svfri.errors import HdrError, OutputError
from svfri.io.hdr import read_environment, sanitize_environment, write_exr

__all__ = [
    "HDRI_NPM_PACKAGE", "HDRI_NPM_VERSION", "HDRI_LICENCE", "HDRI_DIR_ENV", "MANIFEST_NAME",
    "HDRI_SOURCE_SHA256", "ALL_HDRIS", "HELD_OUT_HDRIS", "TRAIN_HDRIS", "SAMPLE_HDRIS",
    "DROPOUT_MIN_RADIANCE", "DROPOUT_RATIO",
    "hdri_cache_dir", "list_hdris", "hdri_path", "load_hdri", "sample_hdri_dir", "sample_hdri_path",
    "decode_exr_module", "repair_channel_dropout", "fetch_hdris",
]

#: npm package carrying the maps, and its pinned version.
HDRI_NPM_PACKAGE = "@pmndrs/assets"
HDRI_NPM_VERSION = "1.7.0"
#: SPDX licence of the maps (package.json of the package; the maps come from Poly Haven, also CC0).
HDRI_LICENCE = "CC0-1.0"
#: Environment variable naming the cache folder.
HDRI_DIR_ENV = "SVFRI_HDRI_DIR"
#: Manifest file written next to the maps.
MANIFEST_NAME = "manifest.json"

#: sha256 of each decoded EXR exactly as the package carries it (before cleaning), pinned at fetch time.
HDRI_SOURCE_SHA256 = {
    "apartment": "31c62c03b5686b3d899071070ec1bfc760a3ddc1e6a05915ebc28102fef2fb1c",
    "bridge": "921f8b95cd1ae8bda602d4d395d8ce5574975ae0df626504eb4387cc963212ea",
    "city": "82847b3f3e2073d16647be2eb5712dc0f7e37ddc9480a1d45f2270fe8cd048f6",
    "dawn": "02529d0a04dbc6e761adb9b4f6bcb07b0ef3931b218b394ee6be68b1fe39ce79",
    "esplanade": "2a3c5a870167dc1a1ad44115cd0c554cfde97fa6ca859f4f90f39771db90b54c",
    "forest": "6fff311b5f3dad0910d8f334a6d9d88218ffd873d72c679ee1b7e4bccfa140e3",
    "hall": "205a84e0108d40fb207e077db9bc68a15f329a8af8ee1f82c28524e967963b81",
    "lab": "4f993660d9c53e97cb23f2d901e06aed9bc0323f6cd9079ec0de02e73634796e",
    "lobby": "55b54fc7b4efc5e9fef27529208d4abe9614839307f40490b135ce75aa08b72c",
    "night": "9509f1b917dbb4c98d63b92e9fd12fb79e3376d17ec3186e2de39543e32ce5ff",
    "park": "00e78fd8fe0ac81f73eb3682b1a4e2e1b909148f1b06d1e52e771d4fec3d02a1",
    "sky": "a72412700b91a49080a582420476d2ab9a1e8fd181031f4ae7ec5e2596addc2a",
    "studio": "08038ed9159c24bb732d2218dafa09cef2abaa44f9ce11ec511d87c842d88fad",
    "sunrise": "d48b92f8fd8d1e8eb111d90284a007f811a4d57abe4fa6faf10165287a3fe9c2",
    "sunset": "d09a4d7581f5454f13c3da3c323a231d00a34e60200de7654a895d2d41a7ceb7",
    "venice": "8200c809a7032efaa7d9fa3a5c64939d7f07d26478bc2418af624150af90dac9",
    "warehouse": "bb11fe7e9c3037b8db21beab826a7ed7c452a48cb6d361f982ca7311aacba9c1",
    "workshop": "793ca687c647e032c79ea3a67bd016ad3158d17506540cfa8fdd901550cc0a5d",
}
#: All 18 map names, sorted.
ALL_HDRIS = tuple(sorted(HDRI_SOURCE_SHA256))
#: Maps held out of training, for evaluation (module docstring explains the choice).
HELD_OUT_HDRIS = ("city", "lobby", "sunrise", "workshop")
#: Maps used to synthesise training data.
TRAIN_HDRIS = tuple(name for name in ALL_HDRIS if name not in HELD_OUT_HDRIS)
#: The two maps whose 128 x 64 copies ship in ``models/hdri/`` (outdoor sun, indoor studio).
SAMPLE_HDRIS = ("sky", "studio")

#: Channel drop-out repair: only pixels whose largest channel exceeds this radiance are candidates (the
#: affected suns are 1e2 to 1e4; ordinary saturated colours in the maps stay far below).
DROPOUT_MIN_RADIANCE = 20.0
#: ... and whose second-largest channel is below this fraction of the largest.
DROPOUT_RATIO = 0.01

_DEFAULT_CACHE = Path("~/.cache/svfri/hdri")
_MODULE_PATTERN = re.compile(
    r"""\s*export\s+default\s+(['"])data:application/exr;base64,([A-Za-z0-9+/=\s]+)\1\s*;?\s*""")
_MEMBER_PATTERN = re.compile(r"package/hdri/([a-z0-9_-]+)\.exr\.js")
_EXR_SUFFIX = ".exr"
_NPM_TIMEOUT_S = 600
_FETCH_HINT = "run `python -m precompute.fetch_hdris` (needs npm and the npm registry) or set SVFRI_HDRI_DIR"


def hdri_cache_dir() -> Path:
    """The folder holding the fetched maps: ``$SVFRI_HDRI_DIR`` if set, else ``~/.cache/svfri/hdri``."""
    override = os.environ.get(HDRI_DIR_ENV)
    return Path(override).expanduser() if override else _DEFAULT_CACHE.expanduser()


def list_hdris(directory: str | os.PathLike | None = None) -> list[str]:
    """Sorted names (file stems) of the ``.exr`` maps in ``directory`` (default :func:`hdri_cache_dir`);
    empty if the folder does not exist."""
    folder = Path(directory) if directory is not None else hdri_cache_dir()
    if not folder.is_dir():
        return []
    return sorted(path.stem for path in folder.glob(f"*{_EXR_SUFFIX}")
                  if path.is_file() and not path.name.startswith("."))


def hdri_path(name: str, directory: str | os.PathLike | None = None) -> Path:
    """Path of map ``name`` in ``directory`` (default :func:`hdri_cache_dir`).

    Raises:
      HdrError: the file is not there.
    """
    folder = Path(directory) if directory is not None else hdri_cache_dir()
    path = folder / f"{name}{_EXR_SUFFIX}"
    if not path.is_file():
        raise HdrError(f"HDR map {name!r} is not in {folder}; {_FETCH_HINT}")
    return path


def load_hdri(name: str, directory: str | os.PathLike | None = None) -> np.ndarray:
    """Reads map ``name`` from the cache: ``[256, 512, 3]`` float32 linear RGB (see :func:`read_environment`)."""
    return read_environment(hdri_path(name, directory))


def sample_hdri_dir() -> Path:
    """``models/hdri``: the two small (128 x 64) CC0 maps that ship with svfri (:data:`SAMPLE_HDRIS`)."""
    return models_dir() / "hdri"


def sample_hdri_path(name: str) -> Path:
    """Path of a shipped sample map (``"sky"`` or ``"studio"``); :class:`HdrError` if it is missing."""
    if name not in SAMPLE_HDRIS:
        raise HdrError(f"{name!r} is not a shipped sample map; use one of {', '.join(SAMPLE_HDRIS)}")
    path = sample_hdri_dir() / f"{name}{_EXR_SUFFIX}"
    if not path.is_file():
        raise HdrError(f"sample HDR map {path} is missing; reinstall svfri or restore models/hdri from git")
    return path


def decode_exr_module(text: str, *, source: str = "module") -> bytes:
    """EXR bytes from the text of a ``@pmndrs/assets`` ``hdri/<name>.exr.js`` module.

    The module is exactly ``export default '<data URL>'`` with a ``data:application/exr;base64,`` URL.

    Raises:
      HdrError: the text has another form, the base64 is invalid, or the bytes are not an EXR file.
    """
    match = _MODULE_PATTERN.fullmatch(text)
    if match is None:
        raise HdrError(f"{source} is not an `export default 'data:application/exr;base64,...'` module; "
                       f"the npm package layout changed: pin {HDRI_NPM_PACKAGE}@{HDRI_NPM_VERSION}")
    try:
        data = base64.b64decode("".join(match.group(2).split()), validate=True)
    except binascii.Error as error:
        raise HdrError(f"{source} holds invalid base64 ({error}); re-fetch the package") from error
    if not data.startswith(b"\x76\x2f\x31\x01"):
        raise HdrError(f"{source} does not decode to an OpenEXR file; re-fetch the package")
    return data


def repair_channel_dropout(image: np.ndarray, *, min_radiance: float = DROPOUT_MIN_RADIANCE,
                           ratio: float = DROPOUT_RATIO) -> tuple[np.ndarray, int]:
    """Greys out bright pixels that lost two of their three channels (module docstring).

    A pixel with ``max(c) > min_radiance`` and second-largest channel ``< ratio * max(c)`` becomes
    ``(max(c), max(c), max(c))``. Approximate: the lost channels' true values are unknown.

    Args:
      image: ``[H, W, 3]`` non-negative linear radiance.

    Returns:
      ``(repaired float32 copy, number of pixels changed)``.
    """
    image = np.array(image, dtype=np.float32)
    ordered = np.sort(image, axis=-1)
    largest, second = ordered[..., -1], ordered[..., -2]
    dropped = (largest > min_radiance) & (second < ratio * largest)
    image[dropped] = largest[dropped, None]
    return image, int(np.count_nonzero(dropped))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _npm_pack(npm: str, workdir: Path) -> Path:
    """Runs ``npm pack <package>@<version>`` in ``workdir`` and returns the tarball path."""
    executable = shutil.which(npm)
    if executable is None:
        raise HdrError(f"npm ({npm!r}) is not installed or not on PATH; install Node.js with npm to fetch the "
                       f"CC0 HDR maps, or set SVFRI_HDRI_DIR to a folder of EXR maps")
    command = [executable, "pack", f"{HDRI_NPM_PACKAGE}@{HDRI_NPM_VERSION}", "--silent"]
    try:
        result = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=_NPM_TIMEOUT_S,
                                check=False)
    except subprocess.TimeoutExpired as error:
        raise HdrError(f"`npm pack {HDRI_NPM_PACKAGE}@{HDRI_NPM_VERSION}` took over {_NPM_TIMEOUT_S} s; "
                       f"check the network and the npm registry, then retry") from error
    tarballs = sorted(workdir.glob("*.tgz"))
    if result.returncode != 0 or len(tarballs) != 1:
        detail = " ".join((result.stderr or result.stdout or "no output").split())[-300:]
        raise HdrError(f"`npm pack {HDRI_NPM_PACKAGE}@{HDRI_NPM_VERSION}` failed ({detail}); check the "
                       f"network and the npm registry, then retry")
    return tarballs[0]


def _read_modules(tarball: Path) -> dict[str, bytes]:
    """Decoded EXR bytes of every ``package/hdri/<name>.exr.js`` in the tarball (nothing is extracted)."""
    decoded = {}
    with tarfile.open(tarball, "r:gz") as archive:
        for member in archive.getmembers():
            match = _MEMBER_PATTERN.fullmatch(member.name)
            if match is None or not member.isfile():
                continue
            text = archive.extractfile(member).read().decode("utf-8")
            decoded[match.group(1)] = decode_exr_module(text, source=member.name)
    return decoded


def _write_json_atomic(path: Path, content: dict) -> None:
    """Writes JSON to a unique hidden file in the same folder, then renames it over ``path``."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temporary, "x", encoding="utf-8") as stream:
            json.dump(content, stream, indent=2)
            stream.write("\n")
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()


def fetch_hdris(dest: str | os.PathLike | None = None, *, npm: str = "npm") -> dict:
    """Fetches, verifies, cleans and caches the 18 CC0 maps; writes ``manifest.json``.

    Args:
      dest: cache folder (created if needed); default :func:`hdri_cache_dir`.
      npm: the npm executable.

    Returns:
      The manifest (also written to ``dest/manifest.json``): package, version, licence, processing notes and
      one entry per map with its file name, sha256 and size of the cached file, the pinned source sha256,
      size in pixels, raw and cleaned value ranges, the pixels sanitised and repaired, and its split.

    Raises:
      HdrError: npm is missing or fails, the package content differs from the pinned hashes, or a map does
        not decode.
      OutputError: ``dest`` cannot be created or written.
    """
    folder = Path(dest) if dest is not None else hdri_cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot create the HDR cache folder {folder} ({error.strerror}); "
                          f"choose another with SVFRI_HDRI_DIR") from error
    entries = []
    with tempfile.TemporaryDirectory(prefix="svfri-hdri-") as workdir:
        workdir = Path(workdir)
        decoded = _read_modules(_npm_pack(npm, workdir))
        if set(decoded) != set(ALL_HDRIS):
            raise HdrError(f"{HDRI_NPM_PACKAGE}@{HDRI_NPM_VERSION} holds maps {sorted(decoded)}, expected "
                           f"{list(ALL_HDRIS)}; the package changed, report this")
        for name in ALL_HDRIS:
            data = decoded[name]
            digest = hashlib.sha256(data).hexdigest()
            if digest != HDRI_SOURCE_SHA256[name]:
                raise HdrError(f"{name}.exr from {HDRI_NPM_PACKAGE}@{HDRI_NPM_VERSION} has sha256 {digest}, "
                               f"expected {HDRI_SOURCE_SHA256[name]}; the package changed, report this")
            raw_path = workdir / f"{name}{_EXR_SUFFIX}"
            raw_path.write_bytes(data)
            raw = read_environment(raw_path, sanitize=False)
            clean, sanitised = sanitize_environment(raw)
            clean, repaired = repair_channel_dropout(clean)
            target = write_exr(folder / f"{name}{_EXR_SUFFIX}", clean, half=True)
            check = read_environment(target)
            if not np.array_equal(check, clean.astype(np.float16).astype(np.float32)):
                raise HdrError(f"{target} does not read back as written; check the disk and retry")
            entries.append({
                "name": name,
                "file": target.name,
                "sha256": _sha256(target),
                "size_bytes": target.stat().st_size,
                "source_sha256": digest,
                "width": int(clean.shape[1]),
                "height": int(clean.shape[0]),
                "raw_min": float(np.nanmin(raw)),
                "raw_max": float(np.nanmax(raw)),
                "clean_max": float(clean.max()),
                "clean_mean_rgb": [round(float(value), 6) for value in clean.mean(axis=(0, 1))],
                "sanitised_pixels": sanitised,
                "dropout_repaired_pixels": repaired,
                "split": "held_out" if name in HELD_OUT_HDRIS else "train",
            })
    manifest = {
        "source": f"npm:{HDRI_NPM_PACKAGE}@{HDRI_NPM_VERSION}",
        "package": HDRI_NPM_PACKAGE,
        "version": HDRI_NPM_VERSION,
        "licence": HDRI_LICENCE,
        "upstream": "Poly Haven HDRIs (CC0), resized to 512x256 half-float DWAB EXR by pmndrs",
        "processing": ("NaN/Inf/negative -> 0; pixels with max channel > "
                       f"{DROPOUT_MIN_RADIANCE} and second channel < {DROPOUT_RATIO} x max set to grey at max; "
                       "written as half-float ZIP EXR by svfri.data.hdri.fetch_hdris"),
        "held_out": list(HELD_OUT_HDRIS),
        "train": list(TRAIN_HDRIS),
        "maps": entries,
    }
    try:
        _write_json_atomic(folder / MANIFEST_NAME, manifest)
    except OSError as error:
        raise OutputError(f"cannot write {folder / MANIFEST_NAME} ({error.strerror}); check the folder is "
                          f"writable") from error
    return manifest
