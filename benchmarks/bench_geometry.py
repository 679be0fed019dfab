"""Speed of the geometry stage (detect + mesh + subdivide + bake + G-buffer + unwrap) on the sample photo.

Run: ``python benchmarks/bench_geometry.py [--repeats 5]``. Prints a markdown table of per-stage seconds (median
over repeats, after one warm-up that loads the models) for the sample at 512² and upscaled to 1024² and 2048², with
the end-to-end time as a ratio to the reference workload of :mod:`benchmarks.common` timed in the same run.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import markdown_table, time_reference  # noqa: E402

from svfri.io.images import read_photo  # noqa: E402
from svfri.native_logs import import_tensorflow  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "astronaut.png"
STAGES = ("detect_mesh", "subdivide", "bake", "gbuffer", "unwrap_bake_textures")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--texture-size", type=int, default=512)
    args = parser.parse_args()
    import_tensorflow()
    from svfri.pipeline.geometry_stage import GeometrySettings, compute_geometry

    settings = GeometrySettings(texture_size=args.texture_size)
    sample = read_photo(SAMPLE)
    reference = time_reference()
    rows = []
    for side in (512, 1024, 2048):
        pixels = cv2.resize(sample.pixels, (side, side), interpolation=cv2.INTER_CUBIC)
        photo = dataclasses.replace(sample, pixels=pixels)
        compute_geometry(photo, settings)  # warm-up: loads the models and the template
        per_stage = {stage: [] for stage in STAGES}
        totals = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            result = compute_geometry(photo, settings)
            totals.append(time.perf_counter() - start)
            for stage in STAGES:
                per_stage[stage].append(result.timings[stage])
        total = statistics.median(totals)
        rows.append([f"{side}²"] + [f"{statistics.median(per_stage[s]):.3f}" for s in STAGES]
                    + [f"**{total:.2f}**", f"{total / reference:.1f}"])
    print(f"reference workload: {reference:.3f} s; texture {args.texture_size}², median of {args.repeats} runs\n")
    print(markdown_table(["photo", *STAGES, "total s", "total / reference"], rows))


if __name__ == "__main__":
    main()
