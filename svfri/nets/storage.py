"""Weight archives shared by the networks (:mod:`svfri.nets`) and the level regressor (:mod:`svfri.nets.level`):
arrays stored float16 where lossless enough, read back with one error message form."""

from __future__ import annotations

import io
import pathlib
import zipfile

import numpy as np

from svfri.errors import ModelError

__all__ = ["FLOAT16_RELATIVE_TOLERANCE", "FLOAT16_MAX", "to_storage", "archive_bytes", "read_archive"]

#: An array is stored as float16 when ``||w16 - w|| <= tol * ||w||`` (and it fits float16's range).
FLOAT16_RELATIVE_TOLERANCE = 1e-3
#: Largest finite float16.
FLOAT16_MAX = 65504.0


def to_storage(array: np.ndarray) -> np.ndarray:
    """float16 copy of ``array`` when lossless enough (see :data:`FLOAT16_RELATIVE_TOLERANCE`), else float32."""
    array = np.asarray(array, dtype=np.float32)
    if array.size and np.max(np.abs(array)) < FLOAT16_MAX:
        half = array.astype(np.float16)
        norm = float(np.linalg.norm(array))
        if float(np.linalg.norm(half.astype(np.float32) - array)) <= FLOAT16_RELATIVE_TOLERANCE * norm:
            return half
    return array


def archive_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """A compressed ``.npz`` of ``arrays`` (each through :func:`to_storage`), as bytes to write atomically."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **{key: to_storage(value) for key, value in arrays.items()})
    return buffer.getvalue()


def read_archive(path: pathlib.Path, what: str) -> dict[str, np.ndarray]:
    """Every array of the ``.npz`` at ``path``; :class:`ModelError` naming ``what`` when it is unreadable."""
    try:
        with np.load(path) as archive:
            return {key: archive[key] for key in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise ModelError(f"{what} {path} are unreadable ({error}); reinstall the models") from None
