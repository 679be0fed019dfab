"""The svfri benchmark suite: quality against ground truth, lighting consistency, skin-tone fairness, real-photo
reconstruction, speed and ablations, in one command; writes ``results.md``, ``results.json`` and PNG plots.

Run from the repository root::

    python benchmarks/suite.py [--quick] [--out docs/benchmarks] [--networks DIR]

``--quick`` is a smoke-sized run (few faces, few steps; <= 3 min on a 2-core CPU); the full run keeps the paper's
150 steps for the ground-truth table (<= 20 min on an idle 2-core CPU). What each section measures is described
in its module: :mod:`benchmarks.quality` (Table 1), :mod:`benchmarks.lighting_consistency`,
:mod:`benchmarks.skin_tone`, :mod:`benchmarks.speed` (speed, real photos), :mod:`benchmarks.ablations`; the
synthetic scenes in :mod:`benchmarks.scenes`.

Weights: ``--networks DIR``, else ``$SVFRI_NETWORKS_DIR``, else the shipped ``models/networks``. Weights whose
batch-norm statistics were never updated (:func:`weights_look_untrained`) are untrained, and ``results.md`` then
says in its first line that the numbers are a dry run of the machinery, not results.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):                      # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

__all__ = ["Plan", "PLANS", "weights_look_untrained", "FitterPool", "main"]

REPO = Path(__file__).resolve().parents[1]


@dataclasses.dataclass(frozen=True)
class Plan:
    """How much each section runs.

    Attributes:
      table1_faces, table1_steps: held-out faces and fit steps of the ground-truth table (and the loss plot).
      controlled_steps: fit steps of the ablations (the ``full`` row included), lighting consistency and skin tone.
      ablation_faces: held-out faces (the first of table 1's) fitted by each ablation.
      lighting_environments: environments of the lighting-consistency face.
      skin_heads: heads per skin type.
      speed_default_steps, speed_fast_steps: steps of the "default" and "fast" speed runs (``None`` in quick:
        measured at ``speed_quick_steps`` and extrapolated).
      variants: fit the robustness variants of the real photo.
      texture_sizes: geometry-stage scaling.
      batch_photos: photos of the batch-throughput test (0 = skip).
    """

    name: str
    table1_faces: int
    table1_steps: int
    controlled_steps: int
    ablation_faces: int
    lighting_environments: int
    skin_heads: int
    speed_default_steps: int | None
    speed_fast_steps: int | None
    speed_quick_steps: int
    variants: bool
    texture_sizes: tuple[int, ...]
    batch_photos: int


#: The fit's default number of steps (``svfri fit --steps``) and the "fast" setting used for the controlled runs.
DEFAULT_STEPS = 150
FAST_STEPS = 50
PLANS = {
    "full": Plan(name="full", table1_faces=10, table1_steps=DEFAULT_STEPS, controlled_steps=FAST_STEPS,
                 ablation_faces=3, lighting_environments=6, skin_heads=1, speed_default_steps=DEFAULT_STEPS,
                 speed_fast_steps=FAST_STEPS, speed_quick_steps=0, variants=True, texture_sizes=(256, 512, 1024),
                 batch_photos=3),
    "quick": Plan(name="quick", table1_faces=2, table1_steps=20, controlled_steps=10, ablation_faces=1,
                  lighting_environments=4, skin_heads=1, speed_default_steps=None, speed_fast_steps=None,
                  speed_quick_steps=10, variants=False, texture_sizes=(256, 512), batch_photos=0),
}
SKIN_TYPES = (1, 2, 3, 4, 5, 6)
STEP_COUNTS = (0, 10, 25, 50, 100, 150)


class Progress:
    """Prints ``[mm:ss] message`` lines (flushed) from the suite's start."""

    def __init__(self):
        self.start = time.perf_counter()

    def __call__(self, message: str) -> None:
        tenths = int(round((time.perf_counter() - self.start) * 10))     # round once, then split: never "04:60.0"
        minutes, tenths_in_minute = divmod(tenths, 600)
        print(f"[{minutes:02d}:{tenths_in_minute / 10:04.1f}] {message}", flush=True)

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.start


def weights_look_untrained(networks) -> bool:
    """True when every batch-norm layer of the inference networks still has its initial statistics (moving mean
    0, moving variance 1): no training step ever ran through them."""
    import keras

    found = False
    for model in networks.models().values():
        for layer in model.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                found = True
                if not (np.all(np.asarray(layer.moving_mean) == 0.0) and np.all(np.asarray(layer.moving_variance) == 1.0)):
                    return False
    return found


class FitterPool:
    """One compiled fitter per (class, settings): every scene of a variant reuses one trace."""

    def __init__(self, networks):
        self.networks = networks
        self._fitters = {}

    def get(self, fitter_class, settings):
        key = (fitter_class, settings)
        if key not in self._fitters:
            self._fitters[key] = fitter_class(self.networks, settings)
        return self._fitters[key]

    def refiner(self, settings, loss_space: str):
        """The detail refinement ``svfri fit`` runs after the latent fit, for these networks' albedo size."""
        from svfri.fitting.refine import AlbedoRefiner

        key = ("refiner", settings, loss_space)
        if key not in self._fitters:
            self._fitters[key] = AlbedoRefiner(self.networks.config.albedo.output_size, settings, loss_space)
        return self._fitters[key]


def _machine() -> dict:
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import tensorflow as tf
    return {"cpu": model, "cores": os.cpu_count(), "load_average_at_start": [round(v, 2) for v in os.getloadavg()],
            "python": platform.python_version(), "tensorflow": tf.__version__, "numpy": np.__version__,
            "platform": platform.platform()}


def _git() -> dict:
    def git(*arguments: str) -> str:
        try:
            return subprocess.run(["git", *arguments], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""
    return {"commit": git("rev-parse", "HEAD") or "unknown",
            "dirty": bool(git("status", "--porcelain", "--", "svfri", "benchmarks", "cli", "models"))}


def _networks_info(folder: Path, networks) -> dict:
    digest = hashlib.sha256((folder / "networks.npz").read_bytes()).hexdigest()[:16]
    from svfri.nets.config import PRESETS
    preset = next((name for name, config in PRESETS.items() if config == networks.config), "custom")
    return {"folder": str(folder), "sha256_16": digest, "preset": preset,
            "untrained": weights_look_untrained(networks)}


def _plot_loss_curves(records, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    histories = np.array([r.loss_history for r in records])
    steps = np.arange(1, histories.shape[1] + 1)
    figure, axis = plt.subplots(figsize=(6.4, 4.2))
    for history in histories:
        axis.plot(steps, history, color="0.6", linewidth=0.8)
    axis.plot(steps, np.median(histories, axis=0), color="C0", linewidth=2.2, label=f"median of {len(records)}")
    axis.set_yscale("log")
    axis.set_xlabel("Adam step")
    axis.set_ylabel("masked L2 (sRGB)")
    axis.set_title(f"Fit loss per step, {len(records)} held-out synthetic faces")
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


def _plot_examples(scenes, records, path: Path, count: int = 3) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    count = min(count, len(records))
    titles = ["photo", "albedo GT", "albedo networks", "albedo fitted", "normal GT", "normal fitted",
              "specular GT", "specular fitted"]
    figure, axes = plt.subplots(count, len(titles), figsize=(1.9 * len(titles), 2.0 * count), squeeze=False)
    for k in range(count):
        s, r = scenes[k], records[k]
        tiles = [s.photo, s.albedo / 255.0, r.initial_maps["albedo"], r.maps["albedo"], s.normal / 255.0,
                 r.maps["normal"], s.specular / 255.0, r.maps["specular"][..., 0]]
        for axis, tile, title in zip(axes[k], tiles, titles):
            axis.imshow(np.clip(tile, 0, 1), cmap="gray", vmin=0, vmax=1)
            axis.set_xticks([])
            axis.set_yticks([])
            if k == 0:
                axis.set_title(title, fontsize=8)
        axes[k][0].set_ylabel(s.name, fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)


def _json_ready(value):
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return None if not math.isfinite(float(value)) else round(float(value), 6)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.ndarray):
        return _json_ready(value.tolist())
    if isinstance(value, Path):
        return str(value)
    return value


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke-sized run (<= 3 min on a 2-core CPU)")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks", help="folder for results.md and plots")
    parser.add_argument("--networks", type=Path, default=None,
                        help="network weights folder (default: $SVFRI_NETWORKS_DIR, else models/networks)")
    args = parser.parse_args(argv)
    plan = PLANS["quick" if args.quick else "full"]
    progress = Progress()
    progress(f"svfri benchmark suite, {plan.name} plan")

    from svfri.native_logs import import_tensorflow
    import_tensorflow()
    from svfri.assets import NETWORKS_SUBDIR, models_dir
    from svfri.data.hdri import HELD_OUT_HDRIS
    from svfri.errors import SvfriError
    from svfri.fitting.optimise import FitSettings, LatentFitter
    from svfri.fitting.settings import RefineSettings
    from svfri.geometry.template import load_face_template
    from svfri.pipeline.fit_job import NETWORKS_DIR_ENV, load_networks

    from benchmarks import ablations, lighting_consistency, quality, scenes, skin_tone, speed
    from benchmarks.common import markdown_table, time_reference

    folder = (args.networks or Path(os.environ.get(NETWORKS_DIR_ENV) or models_dir() / NETWORKS_SUBDIR)).resolve()
    try:
        networks = load_networks(folder)
    except SvfriError as error:
        print(f"error: {error}; pass --networks DIR with trained (or, for a dry run, untrained) weights",
              file=sys.stderr)
        return 2
    os.environ[NETWORKS_DIR_ENV] = str(folder)        # run_fit and the CLI subprocesses load the same weights
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="svfri_bench_"))
    template = load_face_template()
    info = {"command": "python benchmarks/suite.py " + " ".join(argv if argv is not None else sys.argv[1:]),
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"), "plan": dataclasses.asdict(plan),
            "machine": _machine(), "git": _git(), "networks": _networks_info(folder, networks)}
    reference = [time_reference()]
    progress(f"reference workload {reference[0]:.3f} s; networks {info['networks']['preset']} "
             f"({'UNTRAINED: dry run' if info['networks']['untrained'] else 'trained'}) from {folder}")
    pool = FitterPool(networks)
    results: dict = {"info": info}
    md: list[str] = []

    # 1. Ground truth (Table 1) on held-out synthetic faces, and the loss curves.
    base = FitSettings(steps=plan.table1_steps)
    controlled = FitSettings(steps=plan.controlled_steps)
    table1_scenes, table1_records = [], []
    for k in range(plan.table1_faces):
        scene = scenes.held_out_scene(scenes.HELD_OUT_START_SEED + k, template)
        record = quality.fit_scene(pool.get(LatentFitter, base), scene, template,
                                   refiner=pool.refiner(RefineSettings(), base.loss_space))
        progress(f"table 1: {scene.name} ({scene.hdri}): albedo {record.init['albedo_psnr']:.2f} -> "
                 f"{record.fit['albedo_psnr']:.2f} dB, photo {record.init['photo_psnr']:.2f} -> "
                 f"{record.fit['photo_psnr']:.2f} dB ({record.seconds:.1f} s)")
        table1_scenes.append(scene)
        table1_records.append(record)
    _plot_loss_curves(table1_records, out / "loss_curves.png")
    _plot_examples(table1_scenes, table1_records, out / "table1_examples.png")
    results["table1"] = {"faces": [s.name for s in table1_scenes], "hdris": [s.hdri for s in table1_scenes],
                         "init": quality.mean_metrics(r.init for r in table1_records),
                         "fit": quality.mean_metrics(r.fit for r in table1_records),
                         "latent": quality.mean_metrics(r.latent for r in table1_records if r.latent is not None)
                         if table1_records[0].latent is not None else None,
                         "per_face": [{"scene": r.scene, "init": r.init, "fit": r.fit, "seconds": r.seconds}
                                      for r in table1_records]}
    md += ["## 1. Ground truth on held-out synthetic faces (paper Table 1 form)", "",
           f"{len(table1_records)} faces of the held-out split (seeds {scenes.HELD_OUT_START_SEED}..; HDR maps never "
           f"seen in training or synthetic light; random pose, camera degradations), synthesised on the fly by "
           f"`svfri.synth.dataset.synthesize_sample(seed, split='test')`; the fit renders through the G-buffer of the "
           f"simulated run-time mesh. Environments: {', '.join(s.hdri for s in table1_scenes)}. Metrics as "
           "`svfri/training/evaluate.py` defines them (maps over the UV face region at the GT's 256²; light = PSNR "
           "of a rendered diffuse sphere, GT-peak-normalised); photo = render vs photo, sRGB, over the fit's face mask "
           "before its outlier rejection (the same pixels for every row). The fit is `svfri fit`'s default: the "
           "latent fit, then the detail refinement of the albedo (`svfri.fitting.refine`); both rows are shown. "
           "Mean over faces.", "",
           quality.table1_markdown(quality.table1_rows(table1_records, label="svfri")), "",
           "![loss curves](loss_curves.png)", "", "![examples](table1_examples.png)", ""]

    # 6. Ablations (same faces, controlled steps). The full fit is run again at that step count rather than read
    # off table 1's longer runs: the fit's schedule (outlier rejection after a fraction of the steps) depends on it.
    ablation_records = {}
    for ablation in (ablations.Ablation("full", LatentFitter, {}),) + ablations.ABLATIONS:
        fitter = pool.get(ablation.make_fitter, ablation.settings(controlled))
        ablation_records[ablation.name] = []
        for scene in table1_scenes[:plan.ablation_faces]:
            gbuffer = ablation.gbuffer_change(scene.gbuffer) if ablation.gbuffer_change else None
            record = quality.fit_scene(fitter, scene, template, variant=ablation.name, gbuffer=gbuffer,
                                       transform_maps=ablation.maps_change)
            ablation_records[ablation.name].append(record)
            progress(f"ablation {ablation.name}: {scene.name}: albedo {record.fit['albedo_psnr']:.2f} dB, photo "
                     f"{record.fit['photo_psnr']:.2f} dB ({record.seconds:.1f} s)")
    step = plan.controlled_steps
    rows = {"no optimisation (networks only)": quality.mean_metrics(r.init for r in ablation_records["full"]),
            f"full ({step} steps)": quality.mean_metrics(r.fit for r in ablation_records["full"])}
    for ablation in ablations.ABLATIONS:
        rows[f"{ablation.name} ({step} steps)"] = quality.mean_metrics(r.fit for r in ablation_records[ablation.name])
    results["ablations"] = {"faces": plan.ablation_faces, "steps": step, "rows": rows}
    ablation_md = quality.table1_markdown([[name] + [quality.format_psnr_rmse(m, q) for q in quality.TABLE_COLUMNS]
                                           for name, m in rows.items()], paper_row=False)

    # 2. Lighting consistency.
    environments = scenes.held_out_environments(plan.lighting_environments)
    fit_controlled = lambda scene: quality.fit_scene(  # noqa: E731
        pool.get(LatentFitter, controlled), scene, template,
        refiner=pool.refiner(RefineSettings(), controlled.loss_space))
    consistency = lighting_consistency.run_lighting_consistency(scenes.HELD_OUT_START_SEED, environments, template,
                                                                fit=fit_controlled, progress=progress)
    lighting_consistency.plot_consistency(consistency, out / "lighting_consistency.png")
    results["lighting_consistency"] = {key: {k: v for k, v in consistency[key].items() if k != "maps"}
                                       for key in ("init", "fit")}
    results["lighting_consistency"]["environments"] = [f"{n} {y:.0f}" for n, y in environments]
    md += ["## 2. Lighting consistency (paper Fig. 7)", "",
           f"Held-out head seed {scenes.HELD_OUT_START_SEED} with its own skin, rendered by the dataset's forward model "
           f"under {len(environments)} held-out environments ({', '.join(f'{n} {y:.0f}°' for n, y in environments)}; "
           "partial auto white balance k = "
           f"{scenes.WHITE_BALANCE_STRENGTH:.2f}, exposure-normalised, no camera noise), each fitted for "
           f"{plan.controlled_steps} steps. Lower is better.", "",
           lighting_consistency.consistency_markdown(consistency), "",
           "![lighting consistency](lighting_consistency.png)", ""]

    # 3. Skin tone (FAIR form).
    heads = [scenes.HELD_OUT_START_SEED + 100 + j for j in range(plan.skin_heads)]
    tone = skin_tone.run_skin_tone(heads, scenes.held_out_environments(len(HELD_OUT_HDRIS)),
                                   list(SKIN_TYPES), template, fit=fit_controlled, progress=progress)
    skin_tone.plot_skin_tone(tone, out / "skin_tone_ita.png")
    results["skin_tone"] = {"init": tone["init"], "fit": tone["fit"], "heads": heads,
                            "rows": [{k: v for k, v in r.items() if k != "record"} for r in tone["rows"]]}
    md += ["## 3. Skin tone across types I-VI (FAIR-style ITA)", "",
           f"{len(heads)} held-out head(s) x 6 skin types (the same head, pose and light for every type; skin drawn "
           "for the forced Chardon ITA category, no facial hair), fitted for "
           f"{plan.controlled_steps} steps. ITA of the mean linear albedo over cheeks + forehead; error = recovered "
           "- GT (positive: lighter). FAIR aggregates (Feng et al. ECCV 2022): average = mean of per-group mean "
           "|error|, bias = their std over groups, total = sum.", "",
           skin_tone.skin_tone_markdown(tone), "", "![ITA per group](skin_tone_ita.png)", ""]

    # 4 + 5. Real photos and speed.
    speed_md, real_md = [], []
    try:
        runs = []
        if plan.speed_default_steps:
            for label, steps in (("default (150 steps), cold", plan.speed_default_steps),
                                 ("default, warm", plan.speed_default_steps),
                                 (f"fast ({plan.speed_fast_steps} steps), cold", plan.speed_fast_steps),
                                 ("fast, warm", plan.speed_fast_steps)):
                runs.append(speed.run_photo(speed.SAMPLE_PHOTO, work / f"speed_{len(runs)}",
                                            speed.cli_settings(steps=steps), label=label))
                progress(f"speed: {label}: {runs[-1].wall:.1f} s, face PSNR {runs[-1].metrics['psnr_db']:.2f} dB")
        else:
            for label in (f"{plan.speed_quick_steps} steps, cold", f"{plan.speed_quick_steps} steps, warm"):
                runs.append(speed.run_photo(speed.SAMPLE_PHOTO, work / f"speed_{len(runs)}",
                                            speed.cli_settings(steps=plan.speed_quick_steps), label=label))
                progress(f"speed: {label}: {runs[-1].wall:.1f} s")
        warm = runs[1]                                       # the second run of the same settings
        other = warm.wall - warm.timings["optimise"]
        scaling = speed.steps_scaling(runs[0] if plan.speed_default_steps else warm, STEP_COUNTS)
        geometry_rows = speed.geometry_scaling(speed.SAMPLE_PHOTO, plan.texture_sizes)
        progress("speed: geometry scaling done")
        reference.append(time_reference())
        ref = min(reference)
        speed_md += [speed.stage_table(runs, ref), ""]
        if not plan.speed_default_steps:
            estimates = [[f"{n} steps (extrapolated: warm run without its optimisation + {n} x median step)",
                          f"{other + n * warm.step_median:.1f}", f"{(other + n * warm.step_median) / ref:.1f}"]
                         for n in (DEFAULT_STEPS, FAST_STEPS)]
            speed_md += ["Quick plan: no 150-step run; extrapolated from the warm run:", "",
                         markdown_table(["setting", "end to end s", "/ reference"], estimates), ""]
        speed_md += [f"Scaling with the number of steps (from the step times of the "
                     f"'{(runs[0] if plan.speed_default_steps else warm).label}' run):", "",
                     markdown_table(["steps", "optimise s", "end to end s", "/ reference"],
                                    [[r["steps"], f"{r['optimise']:.2f}", f"{r['total']:.2f}",
                                      f"{r['total'] / ref:.1f}"] for r in scaling]), "",
                     "Scaling with the texture resolution (`--texture-size`; geometry stage only: the networks "
                     "resample T to their own sizes):", "",
                     markdown_table(["texture", "detect + mesh", "bake", "unwrap + bake textures", "geometry total s",
                                     "/ reference"],
                                    [[f"{r['texture_size']}²", f"{r['detect_mesh']:.3f}", f"{r['bake']:.3f}",
                                      f"{r['unwrap_bake_textures']:.3f}", f"{r['total']:.3f}",
                                      f"{r['total'] / ref:.2f}"] for r in geometry_rows]), ""]
        results["speed"] = {"runs": [dataclasses.asdict(r) | {"step_median": r.step_median} for r in runs],
                            "steps_scaling": scaling, "geometry_scaling": geometry_rows}
        real_rows = [[f"astronaut.png, {r.label}", r.steps, f"{r.metrics['psnr_db']:.2f}", f"{r.metrics['ssim']:.4f}",
                      f"{r.metrics['l1']:.4f}"] for r in runs if "warm" in r.label]
        if plan.variants:
            for path in speed.OTHER_PORTRAITS:
                run = speed.run_photo(path, work / f"portrait_{path.stem}", speed.cli_settings(), label=path.name)
                real_rows.append([f"{path.name}, default", run.steps, f"{run.metrics['psnr_db']:.2f}",
                                  f"{run.metrics['ssim']:.4f}", f"{run.metrics['l1']:.4f}"])
                progress(f"real photo {path.name}: PSNR {run.metrics['psnr_db']:.2f} dB ({run.wall:.1f} s)")
        variant_runs = []
        if plan.variants:
            for label, path in speed.photo_variants(speed.SAMPLE_PHOTO, work / "variants")[1:]:
                try:
                    run = speed.run_photo(path, work / f"variant_{len(real_rows)}",
                                          speed.cli_settings(steps=plan.speed_fast_steps), label=label)
                except SvfriError as error:               # a variant svfri rejects is a robustness result too
                    real_rows.append([f"robustness variant: {label}", plan.speed_fast_steps, f"failed: {error}", "—",
                                      "—"])
                    progress(f"real photo variant {label}: failed: {error}")
                    continue
                variant_runs.append(run)
                real_rows.append([f"robustness variant: {label}", run.steps, f"{run.metrics['psnr_db']:.2f}",
                                  f"{run.metrics['ssim']:.4f}", f"{run.metrics['l1']:.4f}"])
                progress(f"real photo variant {label}: PSNR {run.metrics['psnr_db']:.2f} dB ({run.wall:.1f} s)")
        results["real_photos"] = {"rows": real_rows}
        real_md += ["Five public-domain portraits of four people ship in `samples/` (`samples/PROVENANCE.md`); "
                    "the rows marked 'robustness variant' are **variants of the astronaut photo, not new people**. "
                    "Face-mask metrics of `fit.json` (reconstruction vs photo, sRGB, pixels with loss weight >= 0.5).",
                    "",
                    markdown_table(["photo", "steps", "PSNR dB ↑", "SSIM ↑", "L1 ↓"], real_rows), ""]
        if plan.batch_photos:
            paths = [speed.SAMPLE_PHOTO] + [p for _, p in speed.photo_variants(speed.SAMPLE_PHOTO, work / "batch_in")[1:]]
            batch = speed.batch_throughput(paths[:plan.batch_photos], work / "batch", steps=plan.speed_fast_steps,
                                           networks_dir=folder)
            results["speed"]["batch"] = batch
            progress(f"speed: batch of {batch['photos']}: {batch['batch_seconds']:.1f} s in one process, "
                     f"{batch['separate_total']:.1f} s in separate processes")
            speed_md += [f"Batch throughput (`svfri fit` subprocesses, {batch['steps']} steps, wall clock including "
                         "Python, TensorFlow and model start-up):", "",
                         markdown_table(["run", "total s", "per photo s", "/ reference per photo"],
                                        [[f"one process, {batch['photos']} photos", f"{batch['batch_seconds']:.1f}",
                                          f"{batch['batch_seconds'] / batch['photos']:.1f}",
                                          f"{batch['batch_seconds'] / batch['photos'] / ref:.1f}"],
                                         [f"{batch['photos']} processes, 1 photo each", f"{batch['separate_total']:.1f}",
                                          f"{batch['separate_total'] / batch['photos']:.1f}",
                                          f"{batch['separate_total'] / batch['photos'] / ref:.1f}"]]), ""]
        else:
            speed_md += ["Batch throughput: not measured in the quick plan (it starts several processes).", ""]
    except SvfriError as error:
        progress(f"real-photo sections not run: {error}")
        speed_md = [f"Not run: {error}", ""]
        real_md = [f"Not run: {error}", ""]
    results["reference_seconds"] = reference

    md += ["## 4. Reconstruction on real photos", ""] + real_md
    md += ["## 5. Speed", "",
           f"Reference workload (`benchmarks/common.time_reference`, min over the start and end of this run): "
           f"{min(reference):.3f} s (start {reference[0]:.3f} s, end {reference[-1]:.3f} s). `svfri fit` with "
           "its CLI defaults on `samples/astronaut.png`; seconds per stage from `fit.json`; 'cold' = the first fit "
           "of those settings in the process (traces the compiled step), 'warm' = the next photo of a batch.", ""] + speed_md
    md += ["## 6. Ablations (paper §8.4)", "",
           f"First {plan.ablation_faces} faces of section 1, every variant (the full fit too) fitted for {step} "
           "steps. no enhancers = `FitSettings(enhance=False)`; no self-occlusion = baked "
           "visibility replaced by the unoccluded hemisphere of the normal; no specular = specular map forced "
           "to 0 (the split-sum DFG2 grazing term remains); no latent prior (paper) = "
           "`FitSettings(latent_prior_weight=0)`. Ablations compare latent fits: none runs the detail refinement.",
           "", ablation_md, ""]

    header = ["# svfri benchmark results", ""]
    if info["networks"]["untrained"]:
        header += ["> **DRY RUN WITH UNTRAINED NETWORK WEIGHTS.** These numbers exercise the benchmark machinery; "
                   "they are not results of svfri and must not be quoted.", ""]
    if plan.name == "quick":
        header += ["> Quick plan: smoke-sized counts and step numbers; see the full run for numbers.", ""]
    machine = info["machine"]
    header += [f"- command: `{info['command']}`", f"- date: {info['date']}",
               f"- machine: {machine['cpu']}, {machine['cores']} cores, load average at start "
               f"{machine['load_average_at_start']}; Python {machine['python']}, TensorFlow {machine['tensorflow']}",
               f"- git commit: {info['git']['commit']}{' (with uncommitted changes)' if info['git']['dirty'] else ''}",
               f"- networks: preset `{info['networks']['preset']}`, `{info['networks']['folder']}` (networks.npz "
               f"sha256 {info['networks']['sha256_16']}…), {'untrained' if info['networks']['untrained'] else 'trained'}",
               f"- suite wall time: {progress.elapsed / 60:.1f} min ({plan.name} plan)", ""]
    (out / "results.md").write_text("\n".join(header + md) + "\n", encoding="utf-8")
    (out / "results.json").write_text(json.dumps(_json_ready(results), indent=1) + "\n", encoding="utf-8")
    progress(f"wrote {out / 'results.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
