"""Renders path-traced scenes (benchmark truths, training scenes) in a process of its own: ``python -m svfri.synth.pathtraced.worker JOBS.json``.

``JOBS.json`` is a list of ``{"spec": SceneSpec.to_json(), "path": "<file>.npz", "kind": "truth" | "training"}``
(``truth``, the default: :meth:`SceneTruth.save` of the benchmark; ``training``:
:func:`svfri.synth.pathtraced.training.training_sample`); each job whose ``path`` exists
is skipped (so an interrupted run resumes), the others are path-traced and saved atomically. One line per scene is
printed.

Why a process of its own: Mitsuba's LLVM back end (``llvm_ad_rgb``) and TensorFlow each bring an LLVM; started
after TensorFlow, Mitsuba crashes the process. Here Mitsuba is started first, before anything imports TensorFlow.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m svfri.synth.pathtraced.worker JOBS.json", file=sys.stderr)
        return 2
    from svfri.synth.pathtraced.mitsuba_render import select_variant

    variant = select_variant()
    from svfri.synth.pathtraced.scenes import SceneSpec, render_scene
    from svfri.synth.pathtraced.training import save_training_sample, training_sample

    jobs = json.loads(Path(argv[0]).read_text())
    for number, job in enumerate(jobs, 1):
        path = Path(job["path"])
        if path.is_file():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        clock = time.perf_counter()
        spec = SceneSpec.from_json(job["spec"])
        kind = job.get("kind", "truth")
        if kind == "truth":
            render_scene(spec).save(path)
        elif kind == "training":
            save_training_sample(path, training_sample(spec))
        else:
            print(f"unknown job kind {kind!r} (truth or training)", file=sys.stderr)
            return 2
        print(f"rendered {number}/{len(jobs)} {spec.name} ({spec.size} px, {spec.samples} spp, {variant}) "
              f"in {time.perf_counter() - clock:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
