"""All-or-nothing output folders.

A run writes every file into a hidden staging folder inside the destination, then moves each file into place with
``os.replace`` only when everything succeeded. An interrupted or failed run leaves the destination's earlier contents
untouched and no half-written files (the staging folder is removed; a leftover from a killed process is removed by
the next run).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from svfri.errors import OutputError

__all__ = ["StagedOutput", "STAGING_PREFIX", "check_writable_folder"]

STAGING_PREFIX = ".svfri-partial-"


def check_writable_folder(folder: Path) -> None:
    """Creates ``folder`` if needed and checks a file can be created in it; raises :class:`OutputError` otherwise."""
    try:
        if folder.exists() and not folder.is_dir():
            raise OutputError(f"{folder}: exists and is not a folder; choose another --out")
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OutputError:
        raise
    except OSError as error:
        raise OutputError(f"{folder}: cannot write here ({error.strerror}); choose another --out") from None


class StagedOutput:
    """Context manager: ``with StagedOutput(folder) as stage: write into stage.path``; committed on success."""

    def __init__(self, folder: str | os.PathLike, *, last: str | None = None):
        """``last``: a file name moved after all others (a completion marker such as ``fit.json``)."""
        self.folder = Path(folder)
        self.last = last
        self.path: Path | None = None

    def __enter__(self) -> "StagedOutput":
        self._created = not self.folder.exists()
        check_writable_folder(self.folder)
        for leftover in self.folder.glob(STAGING_PREFIX + "*"):
            shutil.rmtree(leftover, ignore_errors=True)
        self.path = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.folder))
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        assert self.path is not None
        try:
            if exc_type is None:
                items = sorted(self.path.rglob("*"), key=lambda p: (p.name == self.last, str(p)))
                for item in items:
                    if item.is_file():
                        target = self.folder / item.relative_to(self.path)
                        target.parent.mkdir(parents=True, exist_ok=True)
                        os.replace(item, target)
        finally:
            shutil.rmtree(self.path, ignore_errors=True)
            if exc_type is not None and self._created:
                try:
                    self.folder.rmdir()  # only if still empty
                except OSError:
                    pass
