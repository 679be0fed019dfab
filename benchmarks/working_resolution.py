"""What the latent fit's working resolution costs in quality and gains in speed, on real portraits.

For each photo and each setting of :data:`CONFIGS` (the pre-speed-up step, and the held maps at several
``FitSettings.working_face_px``; 0 = full resolution), one
:func:`svfri.pipeline.fit_job.run_fit` at otherwise default settings, all in one process (models loaded once; the
first fit of each setting also pays the trace / XLA compilation, so a warm-up fit runs first). Reports the
face-mask PSNR / SSIM of the final reconstruction (always at full resolution, over the fit's loss pixels:
``fit.json``'s ``metrics_fit_inliers``), the working resolution's factor and
pixel count, seconds per latent step and of the refinement, and the ratios to
:func:`benchmarks.common.time_reference` timed in the same run.

Photos: the public-domain portraits of ``samples/`` whose face is larger than the working size, and
``samples/obama_2012.jpg`` rescaled to faces of 300 and 500 px (:func:`benchmarks.speed_faces.face_variants`).

``python benchmarks/working_resolution.py --json docs/benchmarks/working_resolution.json``
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.common import markdown_table, time_reference  # noqa: E402

#: The shipped portraits measured (the astronaut's face is below every working size: unchanged).
PORTRAITS = ("grace_hopper.jpg", "obama_2012.jpg", "obama_2009_stage_light.jpg", "biden_2010_full_length.jpg")


#: Compared settings: label -> FitSettings overrides. "paper" is the pre-speed-up step (every code optimised, full
#: resolution, no XLA); the others hold the specular and normal maps and vary the working face size.
CONFIGS = {
    "paper": {"working_face_px": 0, "held_maps": (), "jit_shader": False},
    "full": {"working_face_px": 0},
    "192": {"working_face_px": 192},
    "128": {"working_face_px": 128},
    "96": {"working_face_px": 96},
}


def run(photos: list[tuple[str, Path]], configs: list[str], refine_steps: int | None = None) -> dict:
    from benchmarks.speed import cli_settings
    from benchmarks.speed_faces import inlier_metrics
    from svfri.pipeline.fit_job import run_fit

    base = cli_settings()
    if refine_steps is not None:
        base = dataclasses.replace(base, refine=dataclasses.replace(base.refine, steps=refine_steps))
    work = Path(tempfile.mkdtemp(prefix="svfri_workres_"))
    references = [time_reference()]
    rows = []
    for name in configs:
        settings = dataclasses.replace(base, fit=dataclasses.replace(base.fit, **CONFIGS[name]), report=False)
        run_fit(photos[0][1], work / "warmup", settings)            # trace + compile outside the timings
        for label, path in photos:
            folder = work / f"{label}_{name}"
            clock = time.perf_counter()
            run_fit(path, folder, settings)
            wall = time.perf_counter() - clock
            record = json.loads((folder / "fit.json").read_text())
            timings = record["timings_seconds"]
            quality = inlier_metrics(record)
            rows.append({"photo": label, "config": name, "psnr_db": quality["psnr_db"], "ssim": quality["ssim"],
                         "psnr_whole_face_db": record.get("metrics_whole_face", {}).get("psnr_db"),
                         "per_step": timings.get("optimise_per_step"),
                         "optimise": timings.get("optimise"), "refine": timings.get("refine"), "wall": wall,
                         "working": record.get("fit", {}).get("working_resolution")})
            print(json.dumps(rows[-1]), flush=True)
        references.append(time_reference())
    return {"rows": rows, "references": references, "configs": {k: CONFIGS[k] for k in configs}}


def table(result: dict) -> str:
    reference = statistics.median(result["references"])
    rows = []
    paper = {r["photo"]: r for r in result["rows"] if r["config"] == "paper"}
    for r in result["rows"]:
        base = paper.get(r["photo"])
        delta = f"{r['psnr_db'] - base['psnr_db']:+.2f}" if base else ""
        working = r.get("working") or {}
        rows.append([r["photo"], r["config"], working.get("factor", ""), working.get("pixels", ""),
                     f"{r['psnr_db']:.2f}", delta, f"{r['ssim']:.3f}", f"{r['per_step']:.3f}",
                     f"{r['per_step'] / reference:.2f}", f"{r['refine'] or 0:.2f}", f"{r['wall']:.1f}"])
    header = ["photo", "setting", "factor", "working pixels", "face-mask PSNR dB", "Δ vs paper step", "SSIM",
              "s / latent step", "step ÷ reference", "refine s", "run_fit s"]
    return markdown_table(header, rows) + f"\n\nreference workload {reference:.3f} s (median of the run)"


def main(argv=None) -> int:
    from benchmarks.speed_faces import face_variants

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--refine-steps", type=int, default=None, help="override the refinement steps (0 = the "
                        "latent fit alone)")
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--photos", nargs="+", default=None, help="subset of labels")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--table", type=Path, default=None, help="print the table of a --json file and exit")
    args = parser.parse_args(argv)
    if args.table:
        print(table(json.loads(args.table.read_text())))
        return 0
    variants = face_variants(REPO / "out" / "face_variants")
    photos = [(f"obama_2012 face {size} px", variants[size]) for size in (300, 500)]
    photos += [(name, REPO / "samples" / name) for name in PORTRAITS]
    if args.photos:
        photos = [p for p in photos if p[0] in args.photos]
    result = run(photos, args.configs, args.refine_steps)
    result["refine_steps"] = args.refine_steps
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
