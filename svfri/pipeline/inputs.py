"""Turning command-line inputs (files, globs, folders) into a list of photos and their output folders."""

from __future__ import annotations

import glob
from pathlib import Path

from svfri.errors import UsageError

__all__ = ["PHOTO_SUFFIXES", "expand_inputs", "output_folders"]

#: File suffixes taken when a folder is given (files named explicitly are always tried).
PHOTO_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp"})


def expand_inputs(inputs: list[str], *, recursive: bool = False) -> list[Path]:
    """Expands files, glob patterns and folders (photo suffixes only; ``recursive`` descends) in order, without repeats.

    A path that does not exist and matches no glob is kept, so that it is reported as a failed input.
    """
    photos: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            pattern = "**/*" if recursive else "*"
            photos.extend(sorted(p for p in path.glob(pattern) if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES
                                 and not any(part.startswith(".") for part in p.relative_to(path).parts)))
        elif not path.exists() and glob.has_magic(item):
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
