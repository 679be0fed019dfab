"""All-or-nothing output folders, and a lock per destination.

A run writes its whole output set into a hidden staging folder, then commits it:

* the destination does not exist yet: the staging folder (a sibling of the destination, same file system) is
  renamed into place with one ``os.rename`` — the set appears at once or not at all;
* the destination exists (an earlier result, or a folder the user made): the completion marker (``last``, e.g.
  ``fit.json``) is removed first, every new file is moved in with ``os.replace``, files of the earlier output set
  that the new set does not have (``replaces``) are removed, and the marker is moved in last. A crash part-way
  therefore leaves a folder *without* a marker (incomplete, redone on resume), never new maps beside an old
  ``fit.json``. Files svfri did not write are never touched.

A failure or Ctrl-C before the commit removes the staging folder and leaves the destination as it was. Staging
folders are named per run (``.svfri-partial-<name>-<pid>-<random>``): two runs never share one, and a leftover
is removed only when the process that made it is gone.

Two runs writing into one destination at once would interleave their commits; :class:`FolderLock` makes the
second one fail at once with :class:`OutputError` (``another svfri run (pid N) is writing into ...``).
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import shutil
import tempfile
from pathlib import Path

from svfri.errors import OutputError

__all__ = ["StagedOutput", "FolderLock", "STAGING_PREFIX", "LOCK_PREFIX", "check_writable_folder"]

STAGING_PREFIX = ".svfri-partial-"
#: Lock files are ``.svfri-lock-<destination name>`` beside the destination (removed when released).
LOCK_PREFIX = ".svfri-lock-"
def _default_folder_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o777 & ~umask


_FOLDER_MODE = _default_folder_mode()
_STAGING_PID = re.compile(r"-(\d+)-[^-]+$")


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


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_dead_leftovers(parent: Path, name: str) -> None:
    """Removes staging folders for ``name`` in ``parent`` whose process is gone (a killed earlier run)."""
    for leftover in parent.glob(f"{STAGING_PREFIX}{glob_escape(name)}-*"):
        match = _STAGING_PID.search(leftover.name)
        if match and not _process_alive(int(match.group(1))):
            shutil.rmtree(leftover, ignore_errors=True)


def glob_escape(text: str) -> str:
    """``text`` with glob metacharacters escaped (file names may contain ``[`` or ``*``)."""
    return re.sub(r"([\[\]*?])", r"[\1]", text)


class FolderLock:
    """Exclusive, non-blocking lock on one destination folder, held by one process at a time.

    ``with FolderLock(folder):`` takes ``flock`` on ``<parent>/.svfri-lock-<name>``; when another process holds it,
    raises :class:`OutputError` at once (naming that process) rather than waiting. The lock file is removed on
    release. The lock is advisory: it keeps svfri runs apart, not other programs.
    """

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        target = Path(os.path.abspath(self.folder))
        self.path = target.parent / f"{LOCK_PREFIX}{target.name or 'root'}"
        self._descriptor: int | None = None

    def __enter__(self) -> "FolderLock":
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise OutputError(f"{self.path.parent}: cannot write here ({error.strerror}); choose another --out") from None
        for _ in range(20):
            try:
                descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as error:
                raise OutputError(f"{self.path.parent}: cannot write here ({error.strerror}); "
                                  "choose another --out") from None
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as error:
                holder = _read_pid(descriptor)
                os.close(descriptor)
                if error.errno in (errno.EAGAIN, errno.EACCES):
                    who = f"pid {holder}" if holder else "another process"
                    raise OutputError(f"{self.folder}: another svfri run ({who}) is writing into this folder; "
                                      "wait for it to finish or choose another --out") from None
                raise OutputError(f"{self.path}: cannot lock ({error.strerror})") from None
            # The holder before us may have unlinked the file after we opened it: lock the file that is there now.
            try:
                same = os.fstat(descriptor).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                os.ftruncate(descriptor, 0)
                os.write(descriptor, f"{os.getpid()}\n".encode())
                self._descriptor = descriptor
                return self
            os.close(descriptor)
        raise OutputError(f"{self.path}: cannot take the folder lock (it keeps changing); try again")

    def __exit__(self, *exc) -> None:
        if self._descriptor is not None:
            try:
                os.unlink(self.path)
            except OSError:
                pass
            os.close(self._descriptor)
            self._descriptor = None


def _read_pid(descriptor: int) -> int | None:
    try:
        text = os.pread(descriptor, 32, 0).decode().strip()
        return int(text) if text else None
    except (OSError, ValueError):
        return None


class StagedOutput:
    """Context manager: ``with StagedOutput(folder, last="fit.json") as stage:`` write into ``stage.path``; the
    set is committed into ``folder`` when the block succeeds and discarded when it raises.

    Args:
      folder: the destination folder.
      last: a file name committed after all others and removed first (the completion marker).
      replaces: file or folder names (relative to ``folder``) of an earlier output set; those the new set does
        not contain are removed at commit, so an old result's files never survive beside a new marker.
      lock: hold a :class:`FolderLock` on ``folder`` for the whole block (default). Pass ``False`` only when the
        caller already holds it.
    """

    def __init__(self, folder: str | os.PathLike, *, last: str | None = None, replaces: tuple[str, ...] = (),
                 lock: bool = True):
        self.folder = Path(folder)
        self._target = Path(os.path.abspath(self.folder))
        self.last = last
        self.replaces = tuple(replaces)
        self.path: Path | None = None
        self._lock = FolderLock(self.folder) if lock else None

    def __enter__(self) -> "StagedOutput":
        if self.folder.exists() and not self.folder.is_dir():
            raise OutputError(f"{self.folder}: exists and is not a folder; choose another --out")
        parent = self._target.parent
        blocker = next((p for p in [parent, *parent.parents] if p.exists() and not p.is_dir()), None)
        if blocker is not None:
            raise OutputError(f"{self.folder}: cannot write here ({blocker} is a file); choose another --out")
        check_writable_folder(parent)
        if self._lock is not None:
            self._lock.__enter__()
        try:
            name = self._target.name or "root"
            _remove_dead_leftovers(parent, name)
            self.path = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{name}-{os.getpid()}-", dir=parent))
            os.chmod(self.path, _FOLDER_MODE)  # mkdtemp gives 0700; the committed folder gets what mkdir would
        except BaseException as error:
            if self._lock is not None:
                self._lock.__exit__(None, None, None)
            if isinstance(error, OSError):
                raise OutputError(f"{parent}: cannot write here ({error.strerror}); choose another --out") from None
            raise
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        assert self.path is not None
        try:
            if exc_type is None:
                try:
                    self._commit()
                except OSError as error:
                    raise OutputError(f"{self.folder}: cannot write the results here ({error.strerror}); "
                                      "choose another --out") from None
        finally:
            shutil.rmtree(self.path, ignore_errors=True)
            if self._lock is not None:
                self._lock.__exit__(None, None, None)

    def _commit(self) -> None:
        stage, folder = self.path, self._target
        if not folder.exists():
            os.rename(stage, folder)  # the whole set appears at once
            return
        if self.last:
            try:
                os.unlink(folder / self.last)  # from here on the folder reads as incomplete
            except FileNotFoundError:
                pass
        new_top = {item.name for item in stage.iterdir()}
        for name in self.replaces:
            if name == self.last or name in new_top:
                continue
            old = folder / name
            if old.is_dir() and not old.is_symlink():
                shutil.rmtree(old)
            elif old.exists() or old.is_symlink():
                old.unlink()
        for item in sorted(stage.iterdir(), key=lambda p: p.name == self.last):
            target = folder / item.name
            if item.is_dir():
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)  # a folder of the set (steps/) is replaced as a whole
                elif target.exists() or target.is_symlink():
                    target.unlink()
            os.replace(item, target)
