"""Render the path-traced training scenes (:mod:`svfri.synth.pathtraced.training`) into a folder, resumably.

Run ``python -m precompute.render_training_scenes --out DIR --count N [--start K] [--max-minutes M] [--nice]``.

Each sample ``i`` in ``[start, start + count)`` is one npz at
:func:`svfri.synth.pathtraced.training.sample_path` (``DIR/000/train_000000.npz``, ...); samples already there are
skipped, so a run that was stopped (a session's end, Ctrl-C, ``--max-minutes``) resumes where it left off. Scenes
are a pure function of ``i`` (seed ``TRAINING_SEED_BASE + i``), so a folder filled over several sessions is the
same as one filled at once. The path tracer runs in its own process (:mod:`svfri.synth.pathtraced.worker`:
Mitsuba must start before TensorFlow), a batch of :data:`BATCH` scenes at a time, so ``--max-minutes`` is honoured
to within one batch. ``--nice`` lowers the worker's CPU priority, for rendering in the background of other work.

``DIR/manifest.json`` records the settings, the seed base, the training maps, the count present and the render
seconds measured (appended per run). Needs Mitsuba 3 (``pip install 'svfri[bench]'``) and, for the vectorised
``llvm_ad_rgb`` variant, libLLVM (Debian: ``apt-get install libllvm19``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from svfri.data.hdri import TRAIN_HDRIS
from svfri.synth.pathtraced.training import (TRAINING_MAP_SIZE, TRAINING_SAMPLES, TRAINING_SEED_BASE, TRAINING_SIZE,
                                             draw_training_scene, sample_path)

#: Scenes handed to one worker process (one Mitsuba start-up, ~3 s, per batch).
BATCH = 8
#: ``nice`` increment of the worker with ``--nice``.
NICE_INCREMENT = 19
REPO_ROOT = Path(__file__).resolve().parents[1]


def _write_manifest(out: Path, record: dict) -> None:
    path = out / "manifest.json"
    manifest = json.loads(path.read_text()) if path.is_file() else {"runs": []}
    manifest.update({key: value for key, value in record.items() if key != "run"})
    manifest["runs"].append(record["run"])
    temporary = path.with_name(".manifest.json.tmp")
    temporary.write_text(json.dumps(manifest, indent=1))
    temporary.replace(path)


def count_present(out: Path, start: int, count: int) -> int:
    return sum(sample_path(out, index).is_file() for index in range(start, start + count))


def render(out: Path, *, start: int, count: int, size: int, samples: int, max_minutes: float | None,
           nice: bool, echo=print) -> dict:
    """Renders the missing samples of ``[start, start + count)``; returns this run's record."""
    out.mkdir(parents=True, exist_ok=True)
    missing = [index for index in range(start, start + count) if not sample_path(out, index).is_file()]
    clock = time.perf_counter()
    rendered = 0
    for first in range(0, len(missing), BATCH):
        if max_minutes is not None and time.perf_counter() - clock > 60.0 * max_minutes:
            echo(f"stopping: --max-minutes {max_minutes} reached")
            break
        batch = missing[first:first + BATCH]
        jobs = [{"spec": draw_training_scene(index, size=size, samples=samples).to_json(),
                 "path": str(sample_path(out, index)), "kind": "training"} for index in batch]
        jobs_path = out / f".jobs.{os.getpid()}.json"
        jobs_path.write_text(json.dumps(jobs))
        command = [sys.executable, "-m", "svfri.synth.pathtraced.worker", str(jobs_path)]
        if nice:
            command = ["nice", "-n", str(NICE_INCREMENT), *command]
        subprocess.run(command, cwd=REPO_ROOT, check=True)
        jobs_path.unlink()
        rendered += len(batch)
        elapsed = time.perf_counter() - clock
        echo(f"{rendered}/{len(missing)} rendered, {elapsed / rendered:.1f} s per scene")
    seconds = time.perf_counter() - clock
    return {"seconds": round(seconds, 1), "rendered": rendered,
            "seconds_per_scene": round(seconds / rendered, 2) if rendered else None,
            "range": [start, start + count], "nice": nice, "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--size", type=int, default=TRAINING_SIZE)
    parser.add_argument("--samples", type=int, default=TRAINING_SAMPLES)
    parser.add_argument("--max-minutes", type=float, default=None)
    parser.add_argument("--nice", action="store_true")
    args = parser.parse_args(argv)
    if args.start < 0 or args.count < 1:
        parser.error("--start must be >= 0 and --count >= 1")
    run = render(args.out, start=args.start, count=args.count, size=args.size, samples=args.samples,
                 max_minutes=args.max_minutes, nice=args.nice)
    present = count_present(args.out, args.start, args.count)
    _write_manifest(args.out, {
        "generator": "svfri.synth.pathtraced.training", "command": " ".join(["python -m precompute.render_training_scenes",
                                                                            *(argv if argv is not None else sys.argv[1:])]),
        "seed_base": TRAINING_SEED_BASE, "size": args.size, "samples_per_pixel": args.samples,
        "map_size": TRAINING_MAP_SIZE, "maps": list(TRAIN_HDRIS), "present_in_range": present, "run": run})
    print(f"{present} of {args.count} samples present in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
