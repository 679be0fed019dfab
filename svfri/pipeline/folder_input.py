"""Reading an output folder for ``svfri relight`` / ``svfri export``, every failure as one :class:`InputError`.

:func:`svfri.io.output_set.load_face_asset` validates ``fit.json`` and ``mesh.obj``; this adds what a damaged
folder can still hold: a truncated or corrupt ``visibility.npz`` (a zip archive that does not open, or arrays that
do not decode) is refused with its name and what to do, and any other decoding failure of the folder's files
becomes one line naming the folder instead of a traceback.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from svfri.errors import InputError, SvfriError
from svfri.io.output_set import FaceAsset, load_face_asset

__all__ = ["load_output_folder", "check_visibility_file"]


def check_visibility_file(path: Path) -> None:
    """Opens ``path`` (a ``visibility.npz``) and decodes every array in it; :class:`InputError` when it fails."""
    try:
        with np.load(path, allow_pickle=False) as data:
            for name in data.files:
                data[name]
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError, RuntimeError) as error:
        raise InputError(f"{path}: corrupt or truncated ({type(error).__name__}: {error}); delete it (the "
                         "visibility is then baked anew) or run `svfri mesh`/`svfri fit` for this photo again") from None


def load_output_folder(folder: str | Path) -> FaceAsset:
    """The face asset of an output folder (:func:`load_face_asset`), with every read failure as an InputError."""
    folder = Path(folder)
    visibility = folder / "visibility.npz"
    if visibility.is_file():
        check_visibility_file(visibility)
    try:
        return load_face_asset(folder)
    except SvfriError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError, TypeError, UnicodeDecodeError) as error:
        raise InputError(f"{folder}: a file of this output folder cannot be read ({type(error).__name__}: {error}); "
                         "run `svfri mesh`/`svfri fit` for this photo again") from None
