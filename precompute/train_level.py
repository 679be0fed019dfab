"""Train the albedo-level regressor (:mod:`svfri.nets.level`) on the path-traced training set; write models/level.

Run (after ``python -m precompute.make_pathtraced_training_set``, and after the albedo networks it corrects are
final: the regressor learns a residual on *their* level)::

    python -m precompute.train_level --data ~/.cache/svfri/pathtraced_set --out models/level --steps 3000

1. **Inputs, as at run time.** The set's crops were made round svfri's own Face Mesh points
   (:mod:`precompute.make_pathtraced_training_set`); the networks' level ``a_net`` is measured here on the albedo
   the shipped networks (``--networks``) decode from each sample's ``T``
   (:func:`svfri.pipeline.albedo_level.network_level`, enhancers on, as the fit writes it).
2. **Targets.** ``log`` of the true albedo's mean linear colour over the same template texels and skin weights
   (the set's albedo is the truth resampled into the template layout).
3. **Split.** The set's ``test`` split (whole blocks of the six skin types, never trained on) is the validation
   set; its figures go into the manifest and the model card. The benchmark scenes (other seeds, other maps) are
   the real test.
4. **Training.** AdamW, batch :data:`BATCH`, MSE on the log albedo, cosine-decayed learning rate. Augmentation per
   batch: a random :data:`~svfri.nets.level.CONTEXT_SIZE` window of each wider crop (the same shift for both), a
   horizontal flip, a global exposure change of ``2^U(-EXPOSURE_JITTER_EV, +EXPOSURE_JITTER_EV)`` applied in
   linear light to the crops *and* to ``a_net`` (the target does not change: a camera's exposure says nothing of
   the skin, and the networks' level follows the exposure), and sensor noise.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

BATCH = 32
LEARNING_RATE = 1e-3
WEIGHT_DECAY = 1e-3
EXPOSURE_JITTER_EV = 0.5
NOISE_SIGMA = 0.01
SEED = 0


def load_split(data: Path, split: str, networks, template, echo=print) -> dict:
    """``context``, ``face`` (uint8 wider crops), ``network_level``, ``true_level`` ``[N, 3]``, ``skin_type``."""
    import tensorflow as tf

    from svfri.pipeline.albedo_level import network_level
    from svfri.synth.dataset import read_shard

    parts = {"context": [], "face": [], "network_level": [], "true_level": [], "skin_type": [], "index": []}
    files = sorted((data / split).glob("shard_*.npz"))
    if not files:
        raise SystemExit(f"no shards in {data / split}; run precompute.make_pathtraced_training_set first")
    for path in files:
        shard = read_shard(path)
        texture = shard["texture"].astype(np.float32) / 255.0
        for start in range(0, len(texture), 16):
            batch = tf.constant(texture[start:start + 16])
            skips, latents = networks.encode(batch)
            albedo = networks.decode(latents, skips, batch)["albedo"].numpy()
            parts["network_level"] += [network_level(a, template) for a in albedo]
        parts["true_level"] += [network_level(a.astype(np.float64) / 255.0, template) for a in shard["albedo"]]
        for key, stored in (("context", "level_context"), ("face", "level_face"), ("skin_type", "skin_type"),
                            ("index", "scene_index")):
            parts[key] += list(shard[stored])
        echo(f"{split}: {path.name} read ({len(parts['index'])} samples)")
    return {key: np.asarray(value) for key, value in parts.items()}


def _augment(rng: np.random.Generator, context: np.ndarray, face: np.ndarray, level: np.ndarray, size: int):
    """Random window (shared), flip, exposure (linear light, also on the networks' level) and noise."""
    from svfri.math.color import linear_to_srgb_np, srgb_to_linear_np

    margin = (context.shape[1] - size) // 2
    outs = [np.empty((len(context), size, size, 4), np.float32) for _ in range(2)]
    levels = np.empty_like(level)
    for i in range(len(context)):
        y, x = rng.integers(0, 2 * margin + 1, size=2)
        flip = rng.random() < 0.5
        gain = 2.0 ** rng.uniform(-EXPOSURE_JITTER_EV, EXPOSURE_JITTER_EV)
        levels[i] = np.minimum(level[i] * gain, 1.0)
        for out, crop in zip(outs, (context[i], face[i])):
            window = crop[y:y + size, x:x + size].astype(np.float32) / 255.0
            if flip:
                window = window[:, ::-1]
            rgb = linear_to_srgb_np(np.clip(srgb_to_linear_np(window[..., :3]) * gain, 0.0, 1.0))
            rgb = rgb + rng.normal(0.0, NOISE_SIGMA, rgb.shape)
            out[i, ..., :3] = np.clip(rgb, 0.0, 1.0) * window[..., 3:4]
            out[i, ..., 3] = window[..., 3]
    return outs[0], outs[1], levels


def _centre(crops: np.ndarray, size: int) -> np.ndarray:
    m = (crops.shape[1] - size) // 2
    return crops[:, m:m + size, m:m + size].astype(np.float32) / 255.0


def ita_figures(predicted_rgb: np.ndarray, true_rgb: np.ndarray, skin_type: np.ndarray) -> dict:
    """ITA error of mean colours (mean, per skin type, signed per type, bias = std of the per-type errors) and
    CIEDE2000."""
    from svfri.math.colorimetry import ita_degrees, srgb_linear_to_lab
    from svfri.math.metrics import delta_e_2000

    signed = ita_degrees(predicted_rgb) - ita_degrees(true_rgb)
    types = sorted(set(int(t) for t in skin_type))
    per_type = {t: round(float(np.abs(signed[skin_type == t]).mean()), 2) for t in types}
    delta_e = [float(delta_e_2000(srgb_linear_to_lab(a), srgb_linear_to_lab(b)))
               for a, b in zip(predicted_rgb, true_rgb)]
    return {"count": int(len(signed)), "ita_error_deg": round(float(np.abs(signed).mean()), 2),
            "ita_error_per_type": per_type,
            "ita_signed_per_type": {t: round(float(signed[skin_type == t].mean()), 2) for t in types},
            "ita_bias_deg": round(float(np.std(list(per_type.values()))), 2),
            "delta_e_2000": round(float(np.mean(delta_e)), 2)}


def evaluate(net, split: dict) -> dict:
    """Validation figures of the regressor (:func:`ita_figures` plus the log RMSE)."""
    predicted = net.predict_log(_centre(split["context"], net.size), _centre(split["face"], net.size),
                                split["network_level"])
    figures = ita_figures(np.minimum(np.exp(predicted), 1.0), split["true_level"], split["skin_type"])
    figures["log_rmse"] = round(float(np.sqrt(np.mean((predicted - np.log(split["true_level"])) ** 2))), 4)
    return figures


def train(data: dict, steps: int, echo=print) -> tuple:
    import tensorflow as tf

    from svfri.nets.level import CONTEXT_SIZE, AlbedoLevelNet

    tf.keras.utils.set_random_seed(SEED)
    rng = np.random.default_rng(SEED)
    targets = np.log(data["true_level"]).astype(np.float32)
    net = AlbedoLevelNet(CONTEXT_SIZE)
    model = net.model
    schedule = tf.keras.optimizers.schedules.CosineDecay(LEARNING_RATE, steps, alpha=0.05)
    optimizer = tf.keras.optimizers.AdamW(schedule, weight_decay=WEIGHT_DECAY)

    @tf.function(reduce_retracing=True)
    def step(context, face, level, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model([context, face, tf.math.log(level)], training=True) - y))
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        return loss

    clock, history = time.perf_counter(), []
    for i in range(steps):
        pick = rng.integers(0, len(targets), BATCH)
        context, face, level = _augment(rng, data["context"][pick], data["face"][pick], data["network_level"][pick],
                                        CONTEXT_SIZE)
        history.append(float(step(tf.constant(context), tf.constant(face), tf.constant(level, tf.float32),
                                  tf.constant(targets[pick]))))
        if (i + 1) % 200 == 0 or i + 1 == steps:
            echo(f"step {i + 1}/{steps}: loss {np.mean(history[-200:]):.4f}, "
                 f"{(time.perf_counter() - clock) / (i + 1):.3f} s per step")
    return net, {"steps": steps, "batch": BATCH, "seconds": round(time.perf_counter() - clock, 1),
                 "train_samples": int(len(targets)), "final_loss": round(float(np.mean(history[-200:])), 5),
                 "loss_every_200": [round(float(np.mean(history[i:i + 200])), 5) for i in range(0, steps, 200)]}


def _type_row(name: str, figures: dict) -> str:
    cells = [f"{figures['ita_error_per_type'].get(t, float('nan')):.1f} ({figures['ita_signed_per_type'].get(t, 0):+.0f})"
             for t in range(1, 7)]
    return (f"| {name} | " + " | ".join(cells) + f" | {figures['ita_error_deg']:.1f} | {figures['ita_bias_deg']:.1f} | "
            f"{figures['delta_e_2000']:.1f} |")


def write_model_card(path: Path, provenance: dict) -> None:
    """``MODEL_CARD.md`` of the level regressor from its provenance (data, command, seed, validation figures)."""
    run = provenance["run"]
    lines = [
        "# svfri albedo-level regressor — model card", "",
        "What it is: `svfri.nets.level` — the photo round the face (3x and 1.3x the face's extent, 128² each) and the "
        "albedo networks' own mean skin albedo -> the skin's mean linear albedo, as a residual on the networks' "
        "level (docs/architecture.md, \"Albedo level\"). Weights `level.npz` (float16 where lossless to 1e-3) + "
        "`level.json`.", "",
        "## Data", "", provenance["data"] + f"; {provenance['train_samples']} training samples; the residual is on the "
        f"level of the networks in `{provenance['networks']}`.", "",
        "## Training", "",
        f"Seed {provenance['seed']}; AdamW (weight decay {WEIGHT_DECAY}), batch {run['batch']}, "
        f"{run['steps']} steps, {run['seconds'] / 60:.1f} min on the shared 2-core CPU; final training loss "
        f"(MSE of log albedo) {run['final_loss']}. Augmentation: shared random window, flip, ±{EXPOSURE_JITTER_EV} "
        "EV exposure on crops and networks' level together, noise.", "",
        "## Validation (the set's `test` split: whole blocks of the six skin types, never trained on)", "",
        "ITA error of the mean skin colour in degrees, per skin type (signed mean in brackets: + = too light).", "",
        "| level from | I | II | III | IV | V | VI | average | bias (std) | ΔE2000 |", "|---|---|---|---|---|---|---|---|---|---|",
        _type_row("this regressor", provenance["validation_metrics"]),
        _type_row("the albedo networks alone", provenance["validation_networks_own_level"]),
        _type_row("a constant (training mean)", provenance["validation_constant_mean_level"]), "",
        f"Log RMSE of the regressor: {provenance['validation_metrics']['log_rmse']}. The held-out benchmark (other "
        "seeds, the 4 held-out maps, 448 px / 128 spp) is in README.", "",
        "## Command", "", "```", provenance["command"], "```", "",
        "## Limitations", "",
        "- Trained on path-traced synthetic heads only (the benchmark's generator): real rooms, make-up, lighting "
        "and cameras are out of distribution.",
        "- With the eyes hidden and a background that says nothing about the light on the face, it has no cue and "
        "stays near the networks' level.", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    from svfri.geometry.template import load_face_template
    from svfri.nets import FaceNetworks

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="path-traced training set (converted)")
    parser.add_argument("--networks", type=Path, default=Path("models/networks"),
                        help="the albedo networks whose level is corrected")
    parser.add_argument("--out", type=Path, required=True, help="where level.npz / level.json are written")
    parser.add_argument("--steps", type=int, default=3000)
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error("--steps must be >= 1")
    networks, template = FaceNetworks.from_directory(args.networks), load_face_template()
    data = {split: load_split(args.data, split, networks, template) for split in ("train", "test")}
    net, run = train(data["train"], args.steps)
    val = evaluate(net, data["test"])
    test = data["test"]
    own = ita_figures(test["network_level"], test["true_level"], test["skin_type"])
    constant = np.exp(np.log(data["train"]["true_level"]).mean(axis=0))
    mean = ita_figures(np.repeat(constant[None], len(test["true_level"]), 0), test["true_level"], test["skin_type"])
    net.provenance = {
        "data": "path-traced training scenes (svfri.synth.pathtraced.training: seeds from 4 000 000, the 14 training "
                "HDR maps), converted by precompute.make_pathtraced_training_set (crops round svfri's own Face Mesh "
                "points)",
        "networks": str(args.networks),
        "command": "python -m precompute.train_level " + " ".join(argv if argv is not None else sys.argv[1:]),
        "seed": SEED, "train_samples": int(len(data["train"]["index"])), "validation": "the set's test split",
        "run": run, "validation_metrics": val, "validation_networks_own_level": own,
        "validation_constant_mean_level": mean, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    net.save(args.out)
    write_model_card(args.out / "MODEL_CARD.md", net.provenance)
    print(json.dumps({"regressor": val, "networks_own_level": own, "constant_mean": mean}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
