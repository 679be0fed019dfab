"""Speed of ``svfri fit`` on portraits with faces of 150, 300 and 500 px: per stage, per step, whole process, batch.

Every number is measured as a separate ``svfri fit`` process under ``/usr/bin/time -v`` (so *whole process* includes
Python, TensorFlow and model start-up and the trace of the compiled steps) and is also given as a ratio to
:func:`benchmarks.common.time_reference` (a fixed numpy workload) timed in the same run, before and after each
group of runs: on a shared or slower machine the ratios move much less than the seconds.

* **Photos** (:func:`face_variants`): ``samples/obama_2012.jpg`` (public domain, ``samples/PROVENANCE.md``)
  rescaled so that its face -- the larger side of the Face Mesh's 468 points' bounding box, in photo pixels -- is
  150, 300 and 500 px. Same person, same light: only the face size changes.
* **Single photo** (:func:`whole_process`): ``svfri fit PHOTO --out DIR -q`` at default settings, ``repeats``
  times per size; the median wall clock, and the median of each stage of ``fit.json``'s ``timings_seconds``
  (per step = ``optimise_per_step``). The face-mask PSNR is ``fit.json``'s over the fit's loss pixels (:func:`inlier_metrics`).
* **Batch** (:func:`batch`): ``svfri fit`` on all three sizes in one process; seconds per photo = wall / 3.
* **Dask** (``--dask``): the same batch through ``--workers 1`` and ``--workers 2`` (a local Dask cluster).

``--root DIR`` times another checkout of svfri (e.g. a ``git worktree`` of an older commit) with the same photos;
``--compare BEFORE AFTER`` times two checkouts interleaved (each repeat runs one, then the other), which is what
the before/after tables use: on a shared machine the load drifts between runs taken minutes apart. Results go to ``--json`` (one file per label); ``--table A.json B.json`` prints the
before/after markdown table of README's "Speed".

Command used for README (``BEFORE`` a ``git worktree`` of the commit before the speed work)::

    python benchmarks/speed_faces.py --compare BEFORE . --batch-repeats 2 --dask --json docs/benchmarks/speed
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.common import markdown_table, time_reference  # noqa: E402

__all__ = ["FACE_SIZES", "SOURCE_PHOTO", "face_extent", "face_variants", "whole_process", "batch", "STAGE_KEYS"]

#: Face sizes of the test portraits, px (larger side of the Face Mesh points' bounding box).
FACE_SIZES = (150, 300, 500)
#: The portrait rescaled to each face size.
SOURCE_PHOTO = REPO / "samples" / "obama_2012.jpg"
#: JPEG quality of the rescaled variants.
VARIANT_JPEG_QUALITY = 95
#: ``fit.json`` timing keys reported per stage.
STAGE_KEYS = ("load", "detect_mesh", "subdivide", "bake", "gbuffer", "unwrap_bake_textures", "encode", "optimise",
              "optimise_per_step", "refine", "write")
_WALL = re.compile(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)")
_RSS = re.compile(r"Maximum resident set size \(kbytes\): (\d+)")


def face_extent(pixels) -> float:
    """Larger side of the Face Mesh points' bounding box, photo pixels."""
    from svfri.geometry.face_detect import fit_face_mesh

    points = fit_face_mesh(pixels).points[:, :2]
    return float((points.max(0) - points.min(0)).max())


def face_variants(folder: Path, sizes=FACE_SIZES, source: Path = SOURCE_PHOTO) -> dict[int, Path]:
    """``source`` rescaled so its face is each of ``sizes`` px (JPEG files in ``folder``); ``{size: path}``."""
    import cv2
    import numpy as np

    from svfri.io.images import read_photo

    folder.mkdir(parents=True, exist_ok=True)
    pixels = read_photo(source).pixels
    extent = face_extent(pixels)
    out = {}
    for size in sizes:
        path = folder / f"face_{size}px.jpg"
        if not path.is_file():
            scale = size / extent
            shape = (max(1, round(pixels.shape[1] * scale)), max(1, round(pixels.shape[0] * scale)))
            method = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
            resized = np.clip(cv2.resize(pixels, shape, interpolation=method), 0, 255).astype(np.uint8)
            cv2.imwrite(str(path), resized[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, VARIANT_JPEG_QUALITY])
        out[size] = path
    return out


def _timed(command: list[str], root: Path) -> tuple[float, float, subprocess.CompletedProcess]:
    """Runs ``command`` under ``/usr/bin/time -v`` in ``root``: (wall seconds, max RSS MiB, completed process)."""
    env = {**os.environ, "PYTHONPATH": str(root), "TF_CPP_MIN_LOG_LEVEL": "2"}
    completed = subprocess.run(["/usr/bin/time", "-v", sys.executable, "-m", "cli.main", *command], cwd=root,
                               env=env, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"svfri {' '.join(command)} failed ({completed.returncode}): "
                           f"{completed.stderr.strip()[-800:]}")
    wall = _WALL.search(completed.stderr)
    rss = _RSS.search(completed.stderr)
    hours, minutes, seconds = wall.groups()
    return (int(hours or 0) * 60 + int(minutes)) * 60 + float(seconds), int(rss.group(1)) / 1024, completed


def whole_process(root: Path, photo: Path, out: Path, extra: list[str]) -> dict:
    """One ``svfri fit PHOTO`` process: wall clock, max RSS, ``fit.json``'s stage timings and face-mask metrics."""
    wall, rss, _ = _timed(["fit", str(photo), "--out", str(out), "-q", *extra], root)
    record = json.loads((out / "fit.json").read_text())
    return {"wall": wall, "rss_mib": rss, "timings": record["timings_seconds"], "metrics": inlier_metrics(record),
            "whole_face": record.get("metrics_whole_face", {})}


def inlier_metrics(record: dict) -> dict:
    """``fit.json``'s face-mask metrics over the fit's own loss pixels (weight >= 0.5): ``metrics_fit_inliers``, called
    ``metrics_face_mask`` before the whole-face figures were added (same pixels, same numbers), so that runs of
    either version compare."""
    return record.get("metrics_fit_inliers") or record.get("metrics_face_mask") or {}


def batch(root: Path, photos: list[Path], out: Path, extra: list[str]) -> dict:
    """``svfri fit`` on all ``photos`` in one process (``extra`` may add ``--workers N``): wall and rows."""
    wall, rss, _ = _timed(["fit", *map(str, photos), "--out", str(out), "-q", *extra], root)
    rows = json.loads((out / "summary.json").read_text())
    return {"wall": wall, "rss_mib": rss, "per_photo": wall / len(photos),
            "rows": [{"input": r["input"], "status": r["status"], "seconds": r.get("seconds")} for r in rows]}


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def measure(root: Path, label: str, repeats: int, extra: list[str], *, dask: bool, skip_single: bool) -> dict:
    work = Path(tempfile.mkdtemp(prefix="svfri_speed_"))
    photos = face_variants(REPO / "out" / "face_variants")
    result = {"label": label, "root": str(root), "repeats": repeats, "extra_args": extra, "references": [],
              "single": {}, "batch": [], "dask": {}}
    result["references"].append(time_reference())
    if not skip_single:
        for size, photo in photos.items():
            runs = [whole_process(root, photo, work / f"s{size}_{i}", extra) for i in range(repeats)]
            result["single"][str(size)] = {
                "wall": [r["wall"] for r in runs], "rss_mib": [r["rss_mib"] for r in runs],
                "timings": {key: _median([r["timings"].get(key) for r in runs]) for key in STAGE_KEYS},
                "psnr_db": [r["metrics"].get("psnr_db") for r in runs],
                "psnr_whole_face_db": [r["whole_face"].get("psnr_db") for r in runs],
                "mask_pixels": runs[0]["metrics"].get("mask_pixels")}
            print(f"{label}: face {size} px: wall {[round(r['wall'], 1) for r in runs]} s, "
                  f"PSNR {result['single'][str(size)]['psnr_db']}", flush=True)
        result["references"].append(time_reference())
    for i in range(repeats):
        result["batch"].append(batch(root, list(photos.values()), work / f"batch_{i}", extra))
        print(f"{label}: batch of 3: {result['batch'][-1]['wall']:.1f} s", flush=True)
    result["references"].append(time_reference())
    if dask:
        for workers in (1, 2):
            runs = [batch(root, list(photos.values()), work / f"dask{workers}_{i}", extra + ["--workers", str(workers)])
                    for i in range(repeats)]
            result["dask"][str(workers)] = runs
            print(f"{label}: dask {workers} worker(s): {[round(r['wall'], 1) for r in runs]} s", flush=True)
        result["references"].append(time_reference())
    return result


def compare(before_root: Path, after_root: Path, repeats: int, batch_repeats: int, extra: list[str], *,
            dask: bool) -> tuple[dict, dict]:
    """Before and after interleaved: each repeat of each measurement runs the ``before`` checkout, then the
    ``after`` one, with the reference workload timed between, so both see the same machine load. Returns two
    results of :func:`measure`'s form (each with the references taken during its own runs' repeats)."""
    work = Path(tempfile.mkdtemp(prefix="svfri_compare_"))
    photos = face_variants(REPO / "out" / "face_variants")
    results = {label: {"label": label, "root": str(root), "repeats": repeats, "extra_args": extra, "references": [],
                       "single": {}, "batch": [], "dask": {}, "interleaved": True}
               for label, root in (("before", before_root), ("after", after_root))}
    roots = {"before": before_root, "after": after_root}
    for size, photo in photos.items():
        runs = {"before": [], "after": []}
        for i in range(repeats):
            for label in ("before", "after"):
                reference = time_reference()
                results[label]["references"].append(reference)
                runs[label].append(whole_process(roots[label], photo, work / f"{label}_s{size}_{i}", extra))
                print(f"face {size} px, {label}: {runs[label][-1]['wall']:.1f} s (reference {reference:.3f} s), "
                      f"PSNR {runs[label][-1]['metrics'].get('psnr_db')}", flush=True)
        for label in ("before", "after"):
            results[label]["single"][str(size)] = {
                "wall": [r["wall"] for r in runs[label]], "rss_mib": [r["rss_mib"] for r in runs[label]],
                "timings": {key: _median([r["timings"].get(key) for r in runs[label]]) for key in STAGE_KEYS},
                "psnr_db": [r["metrics"].get("psnr_db") for r in runs[label]],
                "psnr_whole_face_db": [r["whole_face"].get("psnr_db") for r in runs[label]],
                "mask_pixels": runs[label][0]["metrics"].get("mask_pixels")}
    for i in range(batch_repeats):
        for label in ("before", "after"):
            results[label]["references"].append(time_reference())
            results[label]["batch"].append(batch(roots[label], list(photos.values()), work / f"{label}_b{i}", extra))
            print(f"batch of 3, {label}: {results[label]['batch'][-1]['wall']:.1f} s", flush=True)
    if dask:
        for i in range(batch_repeats):
            for workers in (1, 2):
                results["after"]["references"].append(time_reference())
                run = batch(after_root, list(photos.values()), work / f"dask{workers}_{i}",
                            extra + ["--workers", str(workers)])
                results["after"]["dask"].setdefault(str(workers), []).append(run)
                print(f"Dask --workers {workers}: {run['wall']:.1f} s", flush=True)
    return results["before"], results["after"]


def table(before: dict, after: dict) -> str:
    """Before/after markdown table: seconds (median) and ratios to each run's median reference workload."""
    ref_b, ref_a = statistics.median(before["references"]), statistics.median(after["references"])
    rows = []

    def cell(b, a, ratio=True):
        if b is None or a is None:
            return ["", "", ""]
        cells = [f"{b:.2f} → {a:.2f}"]
        cells.append(f"{b / ref_b:.1f} → {a / ref_a:.1f}" if ratio else "")
        cells.append(f"{(b / ref_b) / (a / ref_a):.1f}×")
        return cells

    for size in map(str, FACE_SIZES):
        sb, sa = before["single"].get(size), after["single"].get(size)
        if not (sb and sa):
            continue
        rows.append([f"face {size} px: whole process (`/usr/bin/time`)"] + cell(_median(sb["wall"]), _median(sa["wall"])))
        for key in ("optimise_per_step", "optimise", "refine", "encode", "write"):
            rows.append([f"face {size} px: {key}"] + cell(sb["timings"].get(key), sa["timings"].get(key)))
        rows.append([f"face {size} px: face-mask PSNR dB (median)",
                     f"{_median(sb['psnr_db']):.2f} → {_median(sa['psnr_db']):.2f}", "", ""])
    rows.append(["batch of 3 (150/300/500), per photo"] + cell(
        _median([r["per_photo"] for r in before["batch"]]), _median([r["per_photo"] for r in after["batch"]])))
    for workers in ("1", "2"):
        runs = after["dask"].get(workers)
        if runs:
            per = _median([r["per_photo"] for r in runs])
            rows.append([f"Dask `--workers {workers}`, batch of 3, per photo", f"— → {per:.2f}",
                         f"— → {per / ref_a:.1f}", ""])
    header = ["measurement", "seconds before → after", "÷ reference before → after", "speed-up (ratios)"]
    return (markdown_table(header, rows) + f"\n\nreference workload: {ref_b:.3f} s (before run), {ref_a:.3f} s "
            f"(after run)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=REPO, help="svfri checkout to time (default: this one)")
    parser.add_argument("--label", default="current")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--dask", action="store_true", help="also time --workers 1 and --workers 2")
    parser.add_argument("--skip-single", action="store_true", help="batch (and Dask) rows only")
    parser.add_argument("--table", type=Path, nargs=2, metavar=("BEFORE", "AFTER"), default=None,
                        help="print the before/after table of two --json files and exit")
    parser.add_argument("--compare", type=Path, nargs=2, metavar=("BEFORE_ROOT", "AFTER_ROOT"), default=None,
                        help="time two checkouts interleaved; --json names the folder for before.json/after.json")
    parser.add_argument("--batch-repeats", type=int, default=None, help="repeats of the batch rows (default --repeats)")
    parser.add_argument("extra", nargs="*", help="extra `svfri fit` options (after --)")
    args = parser.parse_args(argv)
    if args.table:
        print(table(*(json.loads(p.read_text()) for p in args.table)))
        return 0
    started = time.perf_counter()
    if args.compare:
        before, after = compare(args.compare[0].resolve(), args.compare[1].resolve(), args.repeats,
                                args.batch_repeats or args.repeats, args.extra, dask=args.dask)
        folder = args.json or REPO / "out" / "bench"
        folder.mkdir(parents=True, exist_ok=True)
        for result in (before, after):
            result["seconds"] = time.perf_counter() - started
            (folder / f"{result['label']}.json").write_text(json.dumps(result, indent=1) + "\n")
        print(table(before, after))
        return 0
    result = measure(args.root.resolve(), args.label, args.repeats, args.extra, dask=args.dask,
                     skip_single=args.skip_single)
    result["seconds"] = time.perf_counter() - started
    text = json.dumps(result, indent=1)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
