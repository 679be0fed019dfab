"""Running one per-photo job over many photos: isolation of failures, resume, summary, progress.

Models are loaded by the job on first use and stay loaded (``functools.lru_cache`` in their loaders), so a batch of N
photos pays one start-up, not N.
"""

from __future__ import annotations

import csv
import io
import json
import time
import traceback
from pathlib import Path
from typing import Callable

from svfri.errors import EXIT_OK, EXIT_SOME_FAILED, SvfriError
from svfri.io.images import atomic_write_bytes
from svfri.pipeline.inputs import output_folders

__all__ = ["BatchResult", "run_batch", "EXIT_ALL_FAILED", "COMPLETE_MARKER"]

#: Several photos given and every one failed.
EXIT_ALL_FAILED = 4
#: File whose presence marks an output folder as complete (written last, atomically).
COMPLETE_MARKER = "fit.json"


class BatchResult:
    def __init__(self, rows: list[dict], exit_code: int):
        self.rows = rows
        self.exit_code = exit_code

    @property
    def failed(self) -> list[dict]:
        return [row for row in self.rows if row["status"] == "failed"]


def _write_summary(out: Path, rows: list[dict]) -> None:
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


def run_batch(photos: list[Path], out: Path, job: Callable[[Path, Path], dict], *, skip_existing: bool = False,
              quiet: bool = False, echo: Callable[[str], None] = print, debug: bool = False) -> BatchResult:
    """Runs ``job(photo, folder) -> metrics`` for every photo; a failure is recorded and the batch goes on.

    Exit code: 0 when all succeeded (or were skipped); for one photo, its error's own code; for several, 3 when some
    failed and 4 when all failed. Several photos also get ``out/summary.json`` and ``out/summary.csv``.
    """
    from tqdm import tqdm

    folders = output_folders(photos, out)
    rows: list[dict] = []
    progress = tqdm(list(zip(photos, folders)), desc="photos", unit="photo", disable=quiet or len(photos) < 2,
                    leave=False)
    for photo, folder in progress:
        row = {"input": str(photo), "output": str(folder)}
        if skip_existing and (folder / COMPLETE_MARKER).is_file():
            row.update(status="skipped", seconds=0.0)
            rows.append(row)
            continue
        start = time.perf_counter()
        try:
            metrics = job(photo, folder)
            row.update(status="ok", metrics=metrics or {})
        except SvfriError as error:
            row.update(status="failed", error=str(error), exit_code=error.exit_code)
            if not quiet and len(photos) > 1:
                progress.write(f"error: {photo}: {error}")
        except KeyboardInterrupt:
            raise
        except Exception as error:  # an internal bug: report it, keep the batch going
            detail = traceback.format_exc() if debug else f"{type(error).__name__}: {error}"
            row.update(status="failed", error=f"internal error ({detail}); please report it", exit_code=1)
            if not quiet and len(photos) > 1:
                progress.write(f"error: {photo}: internal error: {type(error).__name__}: {error}")
        row["seconds"] = round(time.perf_counter() - start, 3)
        rows.append(row)
    progress.close()
    failed = [row for row in rows if row["status"] == "failed"]
    if len(photos) > 1:
        _write_summary(out, rows)
    if not failed:
        code = EXIT_OK
    elif len(photos) == 1:
        code = failed[0]["exit_code"]
    else:
        code = EXIT_ALL_FAILED if len(failed) == len(rows) else EXIT_SOME_FAILED
    return BatchResult(rows, code)
