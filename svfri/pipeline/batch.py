"""Running one per-photo job over many photos: isolation of failures, resume, summary, interruption.

Models are loaded by the job on first use and stay loaded (``functools.lru_cache`` in their loaders), so a batch of N
photos pays one start-up, not N. :func:`run_batch` prints nothing: it reports through ``on_start`` / ``on_row``
callbacks, so the command line (progress bar on a terminal, one line per photo otherwise, JSON lines) and other
schedulers can present it as they need.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import time
import traceback
from pathlib import Path
from typing import Callable

from svfri.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_SOME_FAILED, SvfriError
from svfri.io.images import atomic_write_bytes
from svfri.io.staging import FolderLock, check_writable_folder
from svfri.pipeline.completeness import COMPLETE_MARKER, is_complete, recorded_metrics
from svfri.pipeline.inputs import output_folders

__all__ = ["BatchResult", "run_batch", "batch_exit_code", "batch_lock", "write_summary", "EXIT_ALL_FAILED", "COMPLETE_MARKER", "SUMMARY_FILES"]

#: Several photos given and every one failed.
EXIT_ALL_FAILED = 4
#: Written into ``out`` when several photos are given (also after Ctrl-C, with the photos so far).
SUMMARY_FILES = ("summary.json", "summary.csv")


class BatchResult:
    """Rows (one per photo reached, in input order), the exit code, and whether Ctrl-C stopped the batch."""

    def __init__(self, rows: list[dict], exit_code: int, *, interrupted: bool = False, total: int | None = None):
        self.rows = rows
        self.exit_code = exit_code
        self.interrupted = interrupted
        self.total = len(rows) if total is None else total

    @property
    def failed(self) -> list[dict]:
        return [row for row in self.rows if row["status"] == "failed"]


def write_summary(out: Path, rows: list[dict]) -> None:
    """``out/summary.json`` (the rows) and ``out/summary.csv`` (one line per row, scalar metrics as columns)."""
    atomic_write_bytes(out / "summary.json", (json.dumps(rows, indent=2) + "\n").encode())
    columns = ["input", "output", "status", "seconds", "error", "exit_code"]
    metric_keys = sorted({key for row in rows for key, value in row.get("metrics", {}).items()
                          if not isinstance(value, (list, dict))})
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns + metric_keys)
    for row in rows:
        writer.writerow([row.get(c, "") for c in columns] + [row.get("metrics", {}).get(k, "") for k in metric_keys])
    atomic_write_bytes(out / "summary.csv", buffer.getvalue().encode())


def _run_one(job, photo: Path, folder: Path, debug: bool) -> dict:
    """Runs the job for one photo; returns the row fields it adds (status, metrics or error, exit code)."""
    try:
        metrics = job(photo, folder)
        return {"status": "ok", "metrics": metrics or {}}
    except SvfriError as error:
        message = str(error)
        if not message.startswith(str(photo)):
            message = f"{photo}: {message}"
        return {"status": "failed", "error": message, "exit_code": error.exit_code}
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as error:  # an internal bug: reported on one line, the batch goes on
        detail = traceback.format_exc().strip() if debug else f"{type(error).__name__}: {error}"
        return {"status": "failed", "exit_code": EXIT_INTERNAL,
                "error": f"{photo}: internal error ({detail}); please report it (--debug shows the traceback)"}


def batch_lock(out: Path, *, several: bool):
    """The batch's hold on ``out``: for several photos, ``out`` is checked writable and a
    :class:`~svfri.io.staging.FolderLock` taken for the ``with`` block; one photo's folder has its own lock."""
    if not several:
        return contextlib.nullcontext()
    check_writable_folder(out)
    return FolderLock(out)


def run_batch(photos: list[Path], out: Path, job: Callable[[Path, Path], dict], *, output_set: str,
              skip_existing: bool = False, debug: bool = False,
              on_start: Callable[[int, int, Path], None] | None = None,
              on_row: Callable[[dict], None] | None = None) -> BatchResult:
    """Runs ``job(photo, folder) -> metrics`` for every photo; a failure is recorded and the batch goes on.

    Args:
      output_set: the set the job commits (``"mesh"`` or ``"fit"``, :mod:`svfri.pipeline.completeness`): with
        ``skip_existing`` a folder already holding it is skipped, and its recorded metrics are reported.
      on_start: ``(index, total, photo)`` before each photo; ``on_row``: each finished row (also skipped ones).

    Rows: ``input``, ``output``, ``status`` (``ok`` | ``skipped`` | ``failed`` | ``interrupted``), ``seconds``, and
    ``metrics`` or ``error`` + ``exit_code``. Exit code: 0 when all succeeded (or were skipped); for one photo, its
    error's own code; for several, 3 when some failed and 4 when all failed; 130 after Ctrl-C (the interrupted
    photo's folder is left as it was). Several photos also get ``out/summary.json`` and ``out/summary.csv`` — after
    Ctrl-C too, with the rows so far — and a :class:`~svfri.io.staging.FolderLock` on ``out`` for the batch.
    """
    folders = output_folders(photos, out)
    several = len(photos) > 1
    rows: list[dict] = []
    interrupted = False
    with batch_lock(out, several=several):
        current = None
        try:
            for index, (photo, folder) in enumerate(zip(photos, folders)):
                if on_start is not None:
                    on_start(index, len(photos), photo)
                current = {"input": str(photo), "output": str(folder)}
                start = time.perf_counter()
                if skip_existing and is_complete(folder, output_set):
                    current.update(status="skipped", seconds=0.0, metrics=recorded_metrics(folder, output_set))
                else:
                    current.update(_run_one(job, photo, folder, debug))
                    current["seconds"] = round(time.perf_counter() - start, 3)
                row, current = current, None
                rows.append(row)
                if on_row is not None:
                    on_row(row)
        except KeyboardInterrupt:
            interrupted = True
            if current is not None:  # the photo being processed: its folder was left as it was
                current.update(status="interrupted", seconds=round(time.perf_counter() - start, 3),
                               error=f"{current['input']}: interrupted (Ctrl-C); its folder was left as it was",
                               exit_code=EXIT_INTERRUPTED)
                rows.append(current)
        if several:
            write_summary(out, rows)
    return BatchResult(rows, batch_exit_code(rows, several=several, interrupted=interrupted), interrupted=interrupted,
                       total=len(photos))


def batch_exit_code(rows: list[dict], *, several: bool, interrupted: bool) -> int:
    """The batch's exit code: 130 when interrupted, 0 when nothing failed, the photo's own code for a single photo,
    else 3 (some failed) or 4 (all failed)."""
    failed = [row for row in rows if row["status"] == "failed"]
    if interrupted:
        return EXIT_INTERRUPTED
    if not failed:
        return EXIT_OK
    if not several:
        return failed[0]["exit_code"]
    return EXIT_ALL_FAILED if len(failed) == len(rows) else EXIT_SOME_FAILED
