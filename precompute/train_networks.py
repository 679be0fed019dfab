"""Trains the svfri networks on the synthetic training set, and exports them with a model card.

Usage (repository root; the data set comes from ``python -m precompute.make_training_set``)::

    python -m precompute.train_networks --data /work/data/svfri_train --run /work/data/svfri_runs/fast \
        --preset fast --stage all --max-minutes 60
    python -m precompute.train_networks --data /work/data/svfri_train --run /work/data/svfri_runs/fast \
        --stage none --export models/networks

Training is resumable: run the same command again and it continues from the last checkpoint in ``--run``
(:mod:`svfri.training.trainer`). ``--export DIR`` writes ``networks.npz`` + ``networks.json``
(:meth:`svfri.nets.FaceNetworks.save_weights`), evaluates them on the held-out ``test`` split
(:mod:`svfri.training.evaluate`) and writes ``MODEL_CARD.md`` (data recipe, seeds, steps and wall time per
stage, held-out metrics, the commands) and the loss-curve plot (``--curves``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from svfri.errors import SvfriError  # noqa: E402

#: Default held-out samples evaluated at export.
DEFAULT_EVAL_COUNT = 128
MODEL_CARD = "MODEL_CARD.md"
#: Written into the run folder when a run starts from exported weights (``--init-weights``).
INIT_FILE = "init.json"


PATHTRACED_DATA_TEXT = (
    "Path-traced scenes (`svfri.synth.pathtraced.training`, rendered by Mitsuba 3 with "
    "`python -m precompute.render_training_scenes`, converted by `python -m precompute.make_pathtraced_training_set`):"
    " ICT-FaceKit heads with procedural skin of types I-VI (balanced), eyes, teeth, a hair cap and clothes, under the "
    "14 training HDR maps seen in the background, a hard key light in a third of the scenes, perspective camera, "
    "centre-weighted metering, white-balance error, noise and JPEG. T is unwrapped from each photo by svfri's own "
    "geometry stage; the true maps are resampled into the template layout through the fitted ICT mesh. The `test` "
    "split is whole blocks of the six skin types never trained on. Same generator as the path-traced benchmark "
    "(other seeds, other maps): the benchmark then measures generalisation within that generator, not to real skin.")


def plot_curves(log: list[dict], path: Path) -> None:
    """Loss curves from ``log.jsonl`` records: one panel per stage, every logged loss term (log scale)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from svfri.training.trainer import STAGES
    stages = [s for s in STAGES if any(r["stage"] == s for r in log)]
    figure, axes = plt.subplots(1, max(1, len(stages)), figsize=(5.2 * max(1, len(stages)), 3.8), squeeze=False)
    for axis, stage in zip(axes[0], stages):
        records = [r for r in log if r["stage"] == stage]
        keys = [k for k in records[-1] if k not in ("stage", "step", "stage_seconds", "time")]
        if stage != "light":            # per-term curves; the total changed definition once (L1 -> MSE sum)
            keys = [k for k in keys if k != "loss"]
        steps = [r["step"] for r in records]
        for key in keys:
            values = [r.get(key, float("nan")) for r in records]
            if all(v > 0 for v in values):
                axis.plot(steps, values, label=key, linewidth=1.0)
        axis.set_yscale("log")
        axis.set_title(f"{stage} ({records[-1]['step']} steps, {records[-1]['stage_seconds'] / 60:.0f} min)")
        axis.set_xlabel("step")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=7)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _dataset_summary(data_dir: Path) -> dict:
    from svfri.synth.dataset import read_manifest
    manifest = read_manifest(data_dir)
    summary = {"settings": manifest.get("settings"), "splits": {}}
    for split, entry in manifest.get("splits", {}).items():
        files = sorted((data_dir / split).glob("shard_*.npz"))
        present = sum(s["count"] for s in entry["shards"] if (data_dir / split / s["file"]).exists())
        summary["splits"][split] = {"start_seed": entry["start_seed"], "planned": entry["count"],
                                    "present": present, "shards": len(files), "hdris": entry["hdris"]}
    return summary


def _reading(metrics: dict) -> list[str]:
    """Plain-language differences: networks vs the mean-map baseline, and what the enhancers add."""
    from svfri.training.evaluate import METRIC_COLUMNS
    rows = metrics["rows"]
    net, base, coarse = rows["networks"], rows["baseline (training mean)"], rows["decoder only"]
    gains = ", ".join(f"{c} {net[f'{c}_psnr'] - base[f'{c}_psnr']:+.2f} dB" for c in METRIC_COLUMNS)
    enhance = ", ".join(f"{c} {net[f'{c}_psnr'] - coarse[f'{c}_psnr']:+.2f} dB" for c in ("albedo", "specular", "normal"))
    return [f"Networks minus the training-mean baseline: {gains}. Enhancers minus decoder only: {enhance}.",
            "A difference near or below zero means the networks do not beat predicting the average map for that "
            "component: the synthetic normal and specular maps hold mostly per-seed random detail (pores, "
            "stubble, mottling) that T cannot reveal, so their best MSE estimate is close to the mean; the "
            "GAN/perceptual-trained albedo enhancer trades some PSNR for detail (the perception-distortion "
            "trade-off), and the ground truth has no detail above 256² to reward it."]


def write_model_card(directory: Path, *, trainer, data_dir: Path, metrics: dict | None, commands: list[str],
                     curves: Path | None) -> Path:
    """Writes ``MODEL_CARD.md`` into ``directory`` (see the module docstring)."""
    from svfri.training.evaluate import markdown_table
    from svfri.training.trainer import STAGES
    settings = trainer.settings
    data = _dataset_summary(data_dir)
    lines = [
        "# svfri networks — model card", "",
        f"Preset `{settings.preset}` (`svfri.nets.config`), "
        f"{trainer.networks.parameter_count() / 1e6:.1f} M inference parameters, weights in `networks.npz` "
        "(float16 where lossless to 1e-3, else float32) + `networks.json`. Load with "
        "`FaceNetworks.from_directory(\"models/networks\")`.", "",
        "## What they are", "",
        "Per component (albedo / specular / normal, no weight sharing): U-Net encoder → latent z → decoder "
        "(skips F¹..F³ only) → SRGAN-style enhancer; a VGG-like light regressor T → 9×3 SH radiance. Geng et al. "
        "2021 structure at reduced size (docs/architecture.md, \"Networks\").", "",
        "## Training data", "",
        PATHTRACED_DATA_TEXT if "path-traced" in str((data.get("settings") or {}).get("source", "")) else
        "Synthetic only (`svfri.synth.dataset`): procedural skin reflectance maps (all skin types), random face "
        "shapes/poses, real CC0 HDR environments (train maps; held-out maps for the test split) or synthetic "
        "studio lights, rendered by svfri's own shader, camera degradations, run-time-style unwrap to T.", "",
        f"- synthesis settings: `{json.dumps(data['settings'])}`",
    ]
    init = trainer.run_dir / INIT_FILE
    if init.is_file():
        record = json.loads(init.read_text())
        lines += ["", f"Fine-tuned: the run started from the weights in `{record['init_weights']}` (their own model "
                  "card is in git history), every learning rate scaled by "
                  f"{record['learning_rate_scale']}."]
    if trainer.settings.face_exposure_fraction:
        lines += ["", f"Augmented: {trainer.settings.face_exposure_fraction:.0%} of each batch's textures re-exposed "
                  "as a face-metered camera would (face mean luminance 18 % grey within +-1 EV, the light label "
                  "scaled alike; `svfri.training.augment`), so that T's brightness alone cannot give the skin type."]
    if trainer.settings.masked_input_regions:
        lines += ["", f"Input mask: the networks are not shown T's {', '.join(trainer.settings.masked_input_regions)} "
                  f"(template regions grown by {trainer.settings.masked_input_dilation_uv:g} UV, filled with the "
                  "visible skin's mean colour and marked unseen; `svfri.nets.input_mask`, stored in `networks.json` "
                  "so the fit masks T alike). The generator's eyes are unlike real ones, and the earlier networks "
                  "read the skin tone from the skin/eye contrast (`benchmarks/networks_skin_probe.py`)."]
    for split, entry in data["splits"].items():
        lines.append(f"- `{split}`: {entry['present']} samples present ({entry['shards']} shards) of "
                     f"{entry['planned']} planned, seeds from {entry['start_seed']}, HDR maps "
                     f"{', '.join(entry['hdris'])}")
    lines += ["", "No real faces were used; the networks have only seen this synthetic distribution "
              "(see Limitations).", "", "## Training", "",
              f"Seed {settings.seed}; Adam; batch sizes {json.dumps(dict(settings.batch_sizes))}; learning rates "
              f"{json.dumps(dict(settings.learning_rates))}.", "",
              "| stage | loss | steps | wall time (train loop) | samples seen |", "|---|---|---|---|---|"]
    fine_tuned = (trainer.run_dir / INIT_FILE).is_file()
    loss_text = {
        "autoencoders": "MSE on the maps at decoder size (albedo sRGB, specular linear, normal encoded)"
                        + ("" if fine_tuned else "; the first ~1000 steps used L1"),
        "enhancers": "MSE on decoder outputs → enhanced maps; albedo + 0.1 × perceptual (fixed random features) "
                     "+ 1e-3 × GAN (PatchGAN), perceptual/GAN on 128² crops",
        "light": "MSE of the 27 SH coefficients divided by the GT mean-radiance luminance",
    }
    total_seconds = 0.0
    for stage in STAGES:
        steps = trainer.step(stage)
        seconds = float(trainer.seconds[stage].numpy())
        total_seconds += seconds
        kept = " (not trained in this run: the initial weights kept)" if fine_tuned and steps == 0 else ""
        lines.append(f"| {stage} | {loss_text[stage]}{kept} | {steps} | {seconds / 60:.1f} min | "
                     f"{steps * settings.batch_sizes[stage]} |")
    lines += ["", f"Total training-loop wall time {total_seconds / 60:.1f} min on a shared 2-core CPU (no GPU).", ""]
    if curves is not None:
        lines += [f"Loss curves: `{curves.as_posix()}`.", ""]
    lines += ["## Held-out evaluation", ""]
    if metrics:
        held_out = [h for h in metrics.get("hdris", []) if h != "synthetic"]
        where = (f"{metrics['count']} samples of the `test` split (whole blocks of the six skin types never "
                 "trained on, lit by the training maps at other rotations: the held-out maps are kept for the "
                 "path-traced benchmark, README), " if "path-traced" in str((data.get("settings") or {}).get(
                     "source", "")) else
                 f"{metrics['count']} samples of the `test` split (lit by HDR maps never seen in training -- "
                 f"{', '.join(held_out)} -- or by random synthetic studio lights; seeds disjoint from "
                 "training), ")
        lines += [where + "encoder + decoder + "
                  "enhancer / light regressor alone, no optimisation. Maps compared at the GT resolution "
                  f"({metrics['map_size']}²) over the UV face region; see `svfri.training.evaluate` for the "
                  "light metric.", "", markdown_table(metrics), "", *_reading(metrics), ""]
    else:
        lines += ["Not evaluated (no `test` split was available at export).", ""]
    lines += ["## Commands", "", "```", *commands, "```", "", "## Limitations", "",
              "- Trained on synthetic faces only; real photos are out of distribution (skin micro-detail, hair, "
              "glasses, make-up, real camera pipelines).",
              "- Short CPU training (minutes, not the paper's days on GPUs): the maps are smooth, the enhancers "
              "add little detail, and ground truth above 256² is itself upsampled (maps are generated at 256²).",
              "- The perceptual loss uses fixed random features, not VGG (see `svfri.nets.perceptual`).", ""]
    path = directory / MODEL_CARD
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="training set folder")
    parser.add_argument("--run", type=Path, required=True, help="run folder (checkpoints, log); resumed if present")
    parser.add_argument("--preset", default="fast", help="network preset (default: fast)")
    parser.add_argument("--stage", default="all", choices=["all", "autoencoders", "enhancers", "light", "none"])
    parser.add_argument("--max-minutes", type=float, default=60.0, help="wall-clock budget for the stages run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="TensorFlow intra-op threads (default: all)")
    parser.add_argument("--export", type=Path, default=None, help="write weights + MODEL_CARD.md here")
    parser.add_argument("--eval-count", type=int, default=DEFAULT_EVAL_COUNT, help="held-out samples at export")
    parser.add_argument("--curves", type=Path, default=Path("docs/images/training_curves.png"))
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--init-weights", type=Path, default=None,
                        help="start a new run from these exported weights (fine-tuning) instead of random ones")
    parser.add_argument("--learning-rate-scale", type=float, default=1.0,
                        help="multiply every stage's learning rate (a new run only; e.g. 0.4 to fine-tune)")
    parser.add_argument("--face-exposure-fraction", type=float, default=0.0,
                        help="share of training textures re-exposed as a face-metered camera would "
                             "(svfri.training.augment; a new run only)")
    parser.add_argument("--mask-input-regions", default="",
                        help="comma-separated template regions of T the networks are not shown, e.g. "
                             "eyes,mouth_interior (svfri.nets.input_mask; a new run only)")
    parser.add_argument("--mask-input-dilation", type=float, default=0.0,
                        help="grow the masked regions by this radius, UV units (a new run only)")
    args = parser.parse_args(argv)

    from svfri.training.trainer import STAGES, Trainer, TrainingSettings, configure_threads
    configure_threads(args.threads)
    try:
        settings_path = args.run / "settings.json"
        settings = None
        if not settings_path.exists():
            defaults = TrainingSettings()
            settings = TrainingSettings(preset=args.preset, seed=args.seed, learning_rates={
                stage: rate * args.learning_rate_scale for stage, rate in defaults.learning_rates.items()},
                face_exposure_fraction=args.face_exposure_fraction,
                masked_input_regions=tuple(name for name in args.mask_input_regions.split(",") if name),
                masked_input_dilation_uv=args.mask_input_dilation)
        trainer = Trainer(args.data, args.run, settings=settings, progress=not args.no_progress)
        init_path = args.run / INIT_FILE
        if args.init_weights is not None and not trainer.manager.latest_checkpoint:
            trainer.networks.load_weights(args.init_weights)
            init_path.write_text(json.dumps({"init_weights": str(args.init_weights),
                                             "learning_rate_scale": args.learning_rate_scale}))
        stages = STAGES if args.stage == "all" else (() if args.stage == "none" else (args.stage,))
        if stages:
            clock = time.monotonic()
            for summary in trainer.train(stages, max_minutes=args.max_minutes):
                print(json.dumps(summary), flush=True)
            print(f"trained for {(time.monotonic() - clock) / 60:.1f} min", flush=True)
        if args.export is not None:
            from svfri.training.evaluate import evaluate_networks, write_metrics
            trainer.export(args.export)
            log = trainer.read_log()
            curves = None
            if log and args.curves:
                plot_curves(log, args.curves)
                curves = args.curves
            metrics = None
            if (args.data / "test").is_dir() and any((args.data / "test").glob("shard_*.npz")):
                from svfri.nets import FaceNetworks
                shipped = FaceNetworks.from_directory(args.export)        # what users get (float16 storage)
                metrics = evaluate_networks(shipped, args.data, count=args.eval_count,
                                            progress=not args.no_progress)
                write_metrics(metrics, args.export / "metrics.json")
                from svfri.training.evaluate import markdown_table
                print(markdown_table(metrics))
            commands = [
                f"python -m precompute.train_networks --data {args.data} --run {args.run} --preset "
                f"{trainer.settings.preset} --stage all --max-minutes <M>   # repeated until the budget was spent",
                f"python -m precompute.train_networks --data {args.data} --run {args.run} --stage none "
                f"--export {args.export}",
                f"python -m precompute.evaluate_networks --data {args.data} --weights {args.export} "
                f"--count {args.eval_count}",
            ]
            card = write_model_card(args.export, trainer=trainer, data_dir=args.data, metrics=metrics,
                                    commands=commands, curves=curves)
            print(f"exported to {args.export} ({card.name} written)")
    except SvfriError as error:
        print(f"error: {error}", file=sys.stderr)
        return getattr(error, "exit_code", 1)
    except KeyboardInterrupt:
        print("interrupted; the last checkpoint is in the run folder", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
