"""Turning command-line inputs (files, globs, folders) into a list of photos and their output folders.

What svfri wrote is never taken as an input photo when a folder is listed (with or without ``-r``): the ``--out``
folder and everything under it are left out, and so is every file svfri writes
(:data:`svfri.pipeline.completeness.OUTPUT_FILES`, what relight/export write by default, summaries, staging
folders) in a folder holding an svfri
``fit.json`` (an output folder of an earlier run, wherever it is). Hidden files and folders are left out too.
Files named explicitly (or matched by a glob) are always taken.
"""

from __future__ import annotations

import glob
import json
import os
from pathlib import Path
from typing import Iterable

from svfri.errors import UsageError
from svfri.pipeline.completeness import COMPLETE_MARKER, OUTPUT_FILES
from svfri.pipeline.export_job import EXPORT_FILE_NAMES

__all__ = ["PHOTO_SUFFIXES", "expand_inputs", "output_folders", "is_svfri_output_folder"]

#: File suffixes taken when a folder is given (files named explicitly are always tried).
PHOTO_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp"})
_SUMMARY_FILES = frozenset({"summary.json", "summary.csv"})
#: What ``svfri relight`` and ``svfri export`` write into an output folder by default.
_DERIVED_FILES = frozenset({"relit.png", "relit.exr", "relit_turntable.gif"}) | EXPORT_FILE_NAMES


def is_svfri_output_folder(folder: Path) -> bool:
    """Whether ``folder`` holds a ``fit.json`` that svfri wrote (it records ``svfri_version``)."""
    try:
        record = json.loads((folder / COMPLETE_MARKER).read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    return isinstance(record, dict) and "svfri_version" in record


def _inside(path: Path, folders: list[Path]) -> bool:
    return any(path == folder or folder in path.parents for folder in folders)


def _list_folder(root: Path, recursive: bool, excluded: list[Path]) -> list[Path]:
    """Photos in ``root`` (and below it with ``recursive``), sorted, without svfri's own files."""
    found: list[Path] = []
    for current, subfolders, files in os.walk(root, followlinks=False):
        here = Path(current)
        output_here = is_svfri_output_folder(here)
        skip_names = (set(OUTPUT_FILES) | _SUMMARY_FILES | _DERIVED_FILES) if output_here else _SUMMARY_FILES
        keep = []
        for name in sorted(subfolders):
            child = here / name
            if name.startswith(".") or (output_here and name in skip_names):
                continue
            if _inside(child.resolve(), excluded):
                continue
            keep.append(name)
        subfolders[:] = keep if recursive else []
        for name in sorted(files):
            path = here / name
            if (name.startswith(".") or name in skip_names or Path(name).suffix.lower() not in PHOTO_SUFFIXES
                    or not path.is_file()):
                continue
            found.append(path)
    return sorted(found)


def expand_inputs(inputs: list[str], *, recursive: bool = False, exclude: Iterable[str | os.PathLike] = ()) -> list[Path]:
    """Expands files, glob patterns and folders (photo suffixes only; ``recursive`` descends) in order, without repeats.

    ``exclude``: folders never descended into (the ``--out`` folder; it is still listed when it is itself the folder
    given, svfri's own files in it left out). A path that does not exist and matches no glob is
    kept, so that it is reported as a failed input.

    Raises:
      UsageError: a pattern matches no file, or a folder given holds no photos.
    """
    excluded = [Path(folder).resolve() for folder in exclude]
    photos: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            listed = _list_folder(path, recursive, excluded)
            if not listed:
                hint = "" if recursive else "; add -r to descend into its sub-folders"
                raise UsageError(f"{item}: the folder holds no photos ({', '.join(sorted(PHOTO_SUFFIXES))}){hint}")
            photos.extend(listed)
        elif not path.exists() and not path.is_symlink() and glob.has_magic(item):
            matches = sorted(Path(p) for p in glob.glob(item, recursive=recursive) if Path(p).is_file())
            if not matches:
                raise UsageError(f"{item}: the pattern matches no file")
            photos.extend(matches)
        else:
            photos.append(path)
    unique: list[Path] = []
    seen = set()
    for photo in photos:
        key = photo.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(photo)
    return unique


def output_folders(photos: list[Path], out: Path) -> list[Path]:
    """One photo -> ``out`` itself; several -> ``out/<stem>`` each (``<stem>-2``... when stems collide)."""
    if len(photos) == 1:
        return [out]
    folders, used = [], {}
    for photo in photos:
        stem = photo.stem or "photo"
        count = used.get(stem.lower(), 0) + 1
        used[stem.lower()] = count
        folders.append(out / (stem if count == 1 else f"{stem}-{count}"))
    return folders
