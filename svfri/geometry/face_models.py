"""MediaPipe's face detector and face-mesh regressor: obtaining the model files and running them.

The two ``.tflite`` files (Apache-2.0) are the ones the ``mediapipe==0.10.21`` wheel on PyPI carries. svfri
obtains that exact wheel with pip (pinned file name and sha256), extracts the two files, checks their sha256
and caches them; nothing is downloaded from anywhere else, and nothing after the first time.

Offline: put the two files in a folder and point ``SVFRI_FACE_MODELS_DIR`` at it, or point
``SVFRI_MEDIAPIPE_WHEEL`` at a copy of the wheel. The cache folder is ``$SVFRI_CACHE_DIR/face_models`` (default
``~/.cache/svfri/face_models``).

They run on TensorFlow's own TFLite interpreter (``tf.lite.Interpreter``), so mediapipe itself is never imported.
"""

from __future__ import annotations

import functools
import hashlib
import os
import subprocess
import sys
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np

from svfri.errors import ModelError
from svfri.native_logs import import_tensorflow, silenced_native_stderr

__all__ = [
    "MEDIAPIPE_VERSION", "MEDIAPIPE_WHEEL", "MEDIAPIPE_WHEEL_SHA256", "FACE_MODEL_FILES",
    "cache_dir", "face_model_path", "ensure_face_models", "TfliteModel", "load_tflite",
]

MEDIAPIPE_VERSION = "0.10.21"
#: The exact wheel fetched (any platform's wheel carries the same .tflite files; this one is pinned).
MEDIAPIPE_WHEEL = "mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl"
MEDIAPIPE_WHEEL_SHA256 = "05dc4a9e593655a79558d05d6227d31018c2537a4bd3362b51e230cf22aecfe3"
_WHEEL_PLATFORM = "manylinux_2_28_x86_64"
_WHEEL_PYTHON = "3.11"

#: name -> (path inside the wheel, sha256 of the file)
FACE_MODEL_FILES = {
    "face_detection_short_range.tflite": (
        "mediapipe/modules/face_detection/face_detection_short_range.tflite",
        "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8"),
    "face_landmark.tflite": (
        "mediapipe/modules/face_landmark/face_landmark.tflite",
        "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814"),
}

_OFFLINE_HINT = ("to work offline, set SVFRI_FACE_MODELS_DIR to a folder holding face_detection_short_range.tflite "
                 f"and face_landmark.tflite from the mediapipe=={MEDIAPIPE_VERSION} wheel, or SVFRI_MEDIAPIPE_WHEEL to "
                 "that wheel file")


def cache_dir() -> Path:
    """svfri's cache folder: ``$SVFRI_CACHE_DIR`` or ``~/.cache/svfri``."""
    root = os.environ.get("SVFRI_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "svfri")
    return Path(root)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verified(path: Path, expected: str) -> bool:
    return path.is_file() and _sha256(path) == expected


def _extract_from_wheel(wheel: Path, destination: Path) -> None:
    if _sha256(wheel) != MEDIAPIPE_WHEEL_SHA256:
        raise ModelError(f"{wheel}: sha256 does not match the pinned {MEDIAPIPE_WHEEL}; {_OFFLINE_HINT}")
    destination.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        for name, (inner, expected) in FACE_MODEL_FILES.items():
            data = archive.read(inner)
            if hashlib.sha256(data).hexdigest() != expected:
                raise ModelError(f"{wheel}: {inner} has an unexpected sha256; {_OFFLINE_HINT}")
            temporary = destination / f".{name}.tmp"
            temporary.write_bytes(data)
            os.replace(temporary, destination / name)


def _download_wheel(directory: Path) -> Path:
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet",
               "--platform", _WHEEL_PLATFORM, "--python-version", _WHEEL_PYTHON, "--implementation", "cp",
               "--dest", str(directory), f"mediapipe=={MEDIAPIPE_VERSION}"]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ModelError(f"could not run pip to fetch the face models ({error}); {_OFFLINE_HINT}") from None
    wheel = directory / MEDIAPIPE_WHEEL
    if result.returncode != 0 or not wheel.is_file():
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise ModelError(f"could not fetch mediapipe=={MEDIAPIPE_VERSION} from PyPI ({last}); {_OFFLINE_HINT}")
    return wheel


def ensure_face_models(*, quiet: bool = True) -> Path:
    """Returns a folder holding both verified ``.tflite`` files, fetching them once if needed.

    Raises:
      ModelError: the files cannot be found, fetched or verified (the message says how to provide them offline).
    """
    override = os.environ.get("SVFRI_FACE_MODELS_DIR")
    if override:
        folder = Path(override)
        for name, (_, expected) in FACE_MODEL_FILES.items():
            if not (folder / name).is_file():
                raise ModelError(f"SVFRI_FACE_MODELS_DIR={folder}: {name} is missing; {_OFFLINE_HINT}")
            if not _verified(folder / name, expected):
                raise ModelError(f"SVFRI_FACE_MODELS_DIR={folder}: {name} is corrupt (sha256 mismatch); {_OFFLINE_HINT}")
        return folder
    folder = cache_dir() / "face_models"
    if all(_verified(folder / name, expected) for name, (_, expected) in FACE_MODEL_FILES.items()):
        return folder
    wheel_override = os.environ.get("SVFRI_MEDIAPIPE_WHEEL")
    if wheel_override:
        if not Path(wheel_override).is_file():
            raise ModelError(f"SVFRI_MEDIAPIPE_WHEEL={wheel_override}: no such file; {_OFFLINE_HINT}")
        _extract_from_wheel(Path(wheel_override), folder)
        return folder
    if not quiet:
        print(f"svfri: fetching the face models from mediapipe=={MEDIAPIPE_VERSION} on PyPI (once)", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="svfri-wheel-") as temporary:
        _extract_from_wheel(_download_wheel(Path(temporary)), folder)
    return folder


def face_model_path(name: str) -> Path:
    """Path of a verified face-model file (see :data:`FACE_MODEL_FILES`)."""
    return ensure_face_models() / name


class TfliteModel:
    """A TFLite model with one image input, run with ``tf.lite.Interpreter`` (XNNPACK on the CPU)."""

    def __init__(self, path: Path, *, threads: int | None = None):
        with warnings.catch_warnings(), silenced_native_stderr():
            warnings.simplefilter("ignore")
            tf = import_tensorflow()
            try:
                self._interpreter = tf.lite.Interpreter(model_path=str(path), num_threads=threads or os.cpu_count())
                self._interpreter.allocate_tensors()
            except (ValueError, RuntimeError) as error:
                raise ModelError(f"{path}: not a loadable TFLite model ({error}); delete it to re-fetch") from None
        detail = self._interpreter.get_input_details()[0]
        self.input_index = detail["index"]
        self.input_shape = tuple(int(x) for x in detail["shape"])
        self._outputs = [d["index"] for d in self._interpreter.get_output_details()]

    def __call__(self, image: np.ndarray) -> list[np.ndarray]:
        """Runs on one ``[H, W, 3]`` float32 image of the model's input size; returns every output, batch dim dropped."""
        self._interpreter.set_tensor(self.input_index, np.ascontiguousarray(image[None], dtype=np.float32))
        self._interpreter.invoke()
        return [self._interpreter.get_tensor(index)[0].copy() for index in self._outputs]


@functools.lru_cache(maxsize=None)
def load_tflite(name: str) -> TfliteModel:
    """Loads (once per process) one of :data:`FACE_MODEL_FILES` by name."""
    return TfliteModel(face_model_path(name))
