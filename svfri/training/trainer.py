"""Resumable trainer of the svfri networks (Geng et al. 2021, sec. 3.2 training recipe; docs/architecture.md).

Three stages, run in this order by :meth:`Trainer.train` (or one at a time, in separate invocations):

``"autoencoders"``
    Every component's encoder ``E_c`` + decoder ``D_c`` (no weight sharing), trained jointly:
    ``sum_c MSE(D_c(E_c(T_c)), M_c)`` with ``M_c`` the ground-truth map at the decoder's size ``S_c`` (albedo in
    sRGB, specular linear, normal encoded ``0.5 n + 0.5``) -- :func:`svfri.training.losses.map_mse` (L1 is logged
    too). MSE, not L1: part of the maps' detail (stubble, pores, freckles) is drawn per seed and cannot be
    inferred from T; under MSE the decoder learns its conditional mean, under L1 its median, and a first run
    with L1 scored *below* the constant training-mean map in specular PSNR after 1000 steps (18.2 vs 19.1 dB).
``"enhancers"``
    Encoders and decoders frozen (inference-mode batch norm); each enhancer ``R_c`` is trained **on the
    decoders' outputs** (never on downsampled targets) against the map at ``k_c S_c``: MSE for every component,
    plus :data:`~svfri.training.losses.PERCEPTUAL_WEIGHT` x perceptual + :data:`~svfri.training.losses.GAN_WEIGHT`
    x non-saturating GAN for albedo, the PatchGAN discriminator being updated in the same step.
``"light"``
    The light regressor, :func:`svfri.training.losses.light_relative_mse` on the 27 SH coefficients.

The textures reach every network through :class:`svfri.nets.FaceNetworks`' own resizing
(:meth:`~svfri.nets.FaceNetworks.component_textures`), from the largest T the preset needs, exactly as at
inference time.

Run folder (``run_dir``): ``settings.json`` (the :class:`TrainingSettings` and preset; a resumed run must
match), ``checkpoints/`` (``tf.train.Checkpoint``: all networks incl. discriminator, one Adam per stage,
per-stage step counters and wall seconds; a :class:`tf.train.CheckpointManager` keeps the last 3),
``log.jsonl`` (one record per ``log_every`` steps: stage, step, wall seconds, mean losses over the interval).
A checkpoint is written every ``checkpoint_minutes``, at the end of each stage, on SIGTERM and on
KeyboardInterrupt. The data folder is re-listed every epoch, so shards written while training runs join in.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import pathlib
import queue
import signal
import threading
import time
from typing import Callable, Iterator, Mapping

import keras
import numpy as np
import tensorflow as tf

from svfri.errors import UsageError
from svfri.nets import COMPONENTS, FaceNetworks, NetworkConfig, get_config, perceptual_loss
from svfri.training.augment import apply_exposure_gains, face_exposure_gains
from svfri.synth.dataset import iterate_training_batches
from svfri.training.losses import (
    GAN_WEIGHT, PERCEPTUAL_WEIGHT, gan_discriminator_loss, gan_generator_loss, light_relative_mse, map_l1, map_mse,
)

__all__ = [
    "STAGES", "TrainingSettings", "Trainer", "configure_threads", "stage_sizes", "epoch_batches",
    "SETTINGS_FILE", "LOG_FILE", "CHECKPOINT_DIR",
]

#: Training stages, in dependency order (enhancers learn on the trained decoders' outputs).
STAGES = ("autoencoders", "enhancers", "light")
SETTINGS_FILE = "settings.json"
LOG_FILE = "log.jsonl"
CHECKPOINT_DIR = "checkpoints"
#: Checkpoints kept by the manager.
CHECKPOINTS_KEPT = 3
#: Batches prepared ahead of the train step by the loader thread.
PREFETCH_DEPTH = 4
#: Side (output pixels) of the random crop on which the albedo enhancer's perceptual and GAN terms are computed
#: (the MSE uses the whole map). Patch training as in SRGAN (96^2 crops); at 512^2 the feature net and the
#: discriminator cost 16x more than on 128^2 crops and dominated the step on a 2-core CPU (2.8 s -> measured
#: in the trainer's docstring).
FEATURE_CROP = 128
#: Adam beta_1 of the discriminator (DCGAN, Radford et al. 2016: 0.5 stabilises GAN training).
DISCRIMINATOR_BETA_1 = 0.5


@dataclasses.dataclass(frozen=True)
class TrainingSettings:
    """What a run trains and how (stored in ``settings.json``).

    Attributes:
      preset: network preset name (:data:`svfri.nets.PRESETS`).
      seed: seed of weight initialisation (``keras.utils.set_random_seed``) and data shuffling.
      batch_sizes: per stage, samples per step.
      learning_rates: per stage, Adam step size (``"discriminator"`` for the albedo discriminator).
      max_steps: per stage, the step count at which the stage is complete.
      time_fractions: per stage, its share of a wall-clock budget (unused time passes to the next stage).
      checkpoint_minutes: wall time between periodic checkpoints.
      log_every: steps per ``log.jsonl`` record.
      face_exposure_fraction: share of each batch's samples re-exposed as a face-metered camera would
        (:mod:`svfri.training.augment`; 0 = the textures as rendered).
      masked_input_regions, masked_input_dilation_uv: the networks' input mask
        (:attr:`svfri.nets.config.NetworkConfig.masked_input_regions`), stored in the exported config so that the
        fit masks ``T`` as training did.
    """

    preset: str = "fast"
    seed: int = 0
    batch_sizes: Mapping[str, int] = dataclasses.field(
        default_factory=lambda: {"autoencoders": 8, "enhancers": 4, "light": 16})
    learning_rates: Mapping[str, float] = dataclasses.field(
        default_factory=lambda: {"autoencoders": 5e-4, "enhancers": 2e-4, "light": 1e-3, "discriminator": 1e-4})
    max_steps: Mapping[str, int] = dataclasses.field(
        default_factory=lambda: {"autoencoders": 20000, "enhancers": 10000, "light": 10000})
    time_fractions: Mapping[str, float] = dataclasses.field(
        default_factory=lambda: {"autoencoders": 0.55, "enhancers": 0.3, "light": 0.15})
    checkpoint_minutes: float = 5.0
    log_every: int = 10
    face_exposure_fraction: float = 0.0
    masked_input_regions: tuple[str, ...] = ()
    masked_input_dilation_uv: float = 0.0

    def to_json(self) -> dict:
        return {key: (dict(value) if isinstance(value, Mapping) else value)
                for key, value in dataclasses.asdict(self).items()}

    @classmethod
    def from_json(cls, data: dict) -> "TrainingSettings":
        data = dict(data)
        if "masked_input_regions" in data:
            data["masked_input_regions"] = tuple(data["masked_input_regions"])
        return cls(**data)


def configure_threads(threads: int | None = None) -> int:
    """Sets TensorFlow's intra-op pool to ``threads`` (default: all cores) and the inter-op pool to 2.

    Must run before TensorFlow executes anything; later calls are ignored (TF raises, we keep the setting).
    Returns the intra-op thread count in effect.
    """
    threads = threads or os.cpu_count() or 1
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(2)
    except RuntimeError:
        pass
    return tf.config.threading.get_intra_op_parallelism_threads() or threads


def stage_sizes(config: NetworkConfig, stage: str) -> dict[str, tuple[int, ...]]:
    """``component_sizes`` for :func:`svfri.synth.dataset.iterate_training_batches` of one stage.

    T at the largest size any network of the preset reads (each network resizes it itself); the maps at the
    decoder size (autoencoders) or the enhanced size (enhancers); none for the light stage.
    """
    if stage not in STAGES:
        raise UsageError(f"unknown training stage {stage!r}; use one of {', '.join(STAGES)}")
    sizes: dict[str, tuple[int, ...]] = {"texture": (config.input_texture_size,)}
    for c in COMPONENTS:
        part = config.component(c)
        if stage == "autoencoders":
            sizes[c] = (part.texture_size,)
        elif stage == "enhancers":
            sizes[c] = (part.output_size,)
    return sizes


def epoch_batches(data_dir: str | os.PathLike, split: str, batch_size: int, *, sizes: Mapping[str, tuple[int, ...]],
                  seed: int) -> Iterator[dict[str, np.ndarray]]:
    """Endless batches, epoch after epoch; the shard list is re-read at each epoch (new shards join in).

    Epoch ``e`` is shuffled with seed ``seed + e``; incomplete last batches are dropped. Raises
    :class:`UsageError` when the split holds fewer samples than one batch.
    """
    epoch = 0
    while True:
        count = 0
        for batch in iterate_training_batches(data_dir, split, batch_size, component_sizes=sizes,
                                              seed=seed + epoch, repeat=False, drop_remainder=True):
            count += 1
            yield batch
        if count == 0:
            raise UsageError(f"{data_dir}/{split} holds fewer than {batch_size} samples; "
                             "generate more or lower the batch size")
        epoch += 1


def _random_crop_pair(a: tf.Tensor, b: tf.Tensor, size: int) -> tuple[tf.Tensor, tf.Tensor]:
    """The same random ``size x size`` window of ``a`` and ``b`` (``[B, H, W, C]``, static ``H, W``); whole maps
    when they are not larger than ``size``."""
    height, width = a.shape[1], a.shape[2]
    if height <= size and width <= size:
        return a, b
    size_y, size_x = min(size, height), min(size, width)
    y = tf.random.uniform((), 0, height - size_y + 1, dtype=tf.int32)
    x = tf.random.uniform((), 0, width - size_x + 1, dtype=tf.int32)
    return a[:, y:y + size_y, x:x + size_x], b[:, y:y + size_y, x:x + size_x]


class _Prefetcher:
    """Runs an iterator in a daemon thread, ``depth`` items ahead (numpy/cv2 work overlaps the train step)."""

    _DONE = object()

    def __init__(self, iterator: Iterator, depth: int = PREFETCH_DEPTH):
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(iterator,), daemon=True)
        self._thread.start()

    def _run(self, iterator: Iterator) -> None:
        try:
            for item in iterator:
                while not self._stop.is_set():
                    try:
                        self._queue.put(item, timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if self._stop.is_set():
                    return
            self._queue.put(self._DONE)
        except BaseException as error:  # noqa: BLE001 -- re-raised in the consumer
            self._queue.put(error)

    def __next__(self):
        item = self._queue.get()
        if item is self._DONE:
            raise StopIteration
        if isinstance(item, BaseException):
            raise item
        return item

    def __iter__(self):
        return self

    def close(self) -> None:
        self._stop.set()


class Trainer:
    """Trains :class:`svfri.nets.FaceNetworks` stage by stage in a resumable run folder (module docstring).

    Args:
      data_dir: training set folder (:mod:`svfri.synth.dataset` layout; the ``train`` split is used).
      run_dir: run folder (created; resumed when it holds a checkpoint).
      settings: :class:`TrainingSettings` (default: the stored ones when resuming, else the defaults).
      config: network config overriding ``settings.preset`` (tests).
      progress: show a tqdm bar.
    """

    def __init__(self, data_dir: str | os.PathLike, run_dir: str | os.PathLike, *,
                 settings: TrainingSettings | None = None, config: NetworkConfig | None = None,
                 progress: bool = True):
        self.data_dir = pathlib.Path(data_dir)
        self.run_dir = pathlib.Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.settings = self._reconcile_settings(settings)
        self.progress = progress
        keras.utils.set_random_seed(self.settings.seed)
        self.config = dataclasses.replace(
            config or get_config(self.settings.preset),
            masked_input_regions=tuple(self.settings.masked_input_regions),
            masked_input_dilation_uv=float(self.settings.masked_input_dilation_uv))
        self.networks = FaceNetworks(self.config)
        self._texture_key = f"texture_{self.config.input_texture_size}"
        rates = self.settings.learning_rates
        self.optimizers = {stage: keras.optimizers.Adam(rates[stage]) for stage in STAGES}
        self.optimizers["discriminator"] = keras.optimizers.Adam(rates["discriminator"], beta_1=DISCRIMINATOR_BETA_1)
        self.variables = {
            "autoencoders": [v for c in COMPONENTS for m in (self.networks.encoders[c], self.networks.decoders[c])
                             for v in m.trainable_variables],
            "enhancers": [v for c in COMPONENTS for v in self.networks.enhancers[c].trainable_variables],
            "light": list(self.networks.light.trainable_variables),
            "discriminator": list(self.networks.discriminator.trainable_variables),
        }
        for name, optimizer in self.optimizers.items():
            optimizer.build(self.variables[name])
        self.steps = {stage: tf.Variable(0, dtype=tf.int64, trainable=False, name=f"{stage}_step")
                      for stage in STAGES}
        self.seconds = {stage: tf.Variable(0.0, dtype=tf.float64, trainable=False, name=f"{stage}_seconds")
                        for stage in STAGES}
        trackables = {name: model for name, model in self.networks.models(include_training=True).items()
                      if name != "perceptual"}                    # fixed random features, rebuilt from the seed
        trackables.update({f"{name}_optimizer": opt for name, opt in self.optimizers.items()})
        trackables.update({f"{stage}_step": v for stage, v in self.steps.items()})
        trackables.update({f"{stage}_seconds": v for stage, v in self.seconds.items()})
        self.checkpoint = tf.train.Checkpoint(**trackables)
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(self.run_dir / CHECKPOINT_DIR),
                                                  max_to_keep=CHECKPOINTS_KEPT)
        if self.manager.latest_checkpoint:
            self.checkpoint.restore(self.manager.latest_checkpoint).assert_existing_objects_matched()
        self._stop_requested = False
        self._step_functions: dict[str, Callable] = {}

    # --------------------------------------------------------------------------------------- settings
    def _reconcile_settings(self, settings: TrainingSettings | None) -> TrainingSettings:
        path = self.run_dir / SETTINGS_FILE
        stored = None
        if path.exists():
            stored = TrainingSettings.from_json(json.loads(path.read_text(encoding="utf-8")))
        if settings is None:
            settings = stored or TrainingSettings()
        if stored is not None and stored.preset != settings.preset:
            raise UsageError(f"run folder {self.run_dir} trains preset {stored.preset!r}, not {settings.preset!r}; "
                             "use another --run folder")
        path.write_text(json.dumps(settings.to_json(), indent=1), encoding="utf-8")
        return settings

    # --------------------------------------------------------------------------------------- state
    def step(self, stage: str) -> int:
        """Steps done so far in ``stage``."""
        return int(self.steps[stage].numpy())

    def stage_complete(self, stage: str) -> bool:
        return self.step(stage) >= self.settings.max_steps[stage]

    def save(self) -> str:
        """Writes a checkpoint; returns its path prefix."""
        return self.manager.save()

    def export(self, directory: str | os.PathLike) -> pathlib.Path:
        """Writes the inference weights (:meth:`FaceNetworks.save_weights`) into ``directory``."""
        return self.networks.save_weights(directory)

    def request_stop(self, *_args) -> None:
        """Asks the running stage to checkpoint and return after the current step (SIGTERM handler)."""
        self._stop_requested = True

    # --------------------------------------------------------------------------------------- train steps
    def _targets(self, batch: dict, sizes: Callable[[str], int]) -> dict[str, tf.Tensor]:
        return {c: batch[f"{c}_{sizes(c)}"] for c in COMPONENTS}

    def _autoencoder_step(self, batch: dict) -> dict[str, tf.Tensor]:
        nets = self.networks
        textures = nets.component_textures(batch[self._texture_key])
        targets = self._targets(batch, lambda c: self.config.component(c).texture_size)
        with tf.GradientTape() as tape:
            l1, mse = {}, {}
            for c in COMPONENTS:
                *skips, latent = nets.encoders[c](textures[c], training=True)
                coarse = nets.decoders[c]([latent, *skips], training=True)
                l1[c] = map_l1(coarse, targets[c])
                mse[c] = map_mse(coarse, targets[c])
            loss = tf.add_n(list(mse.values()))
        variables = self.variables["autoencoders"]
        self.optimizers["autoencoders"].apply_gradients(zip(tape.gradient(loss, variables), variables))
        return {"loss": loss, **{f"l1_{c}": v for c, v in l1.items()}, **{f"mse_{c}": v for c, v in mse.items()}}

    def _enhancer_step(self, batch: dict) -> dict[str, tf.Tensor]:
        nets = self.networks
        texture = batch[self._texture_key]
        textures = nets.component_textures(texture)
        targets = self._targets(batch, lambda c: self.config.component(c).output_size)
        skips, latents = nets.encode(texture, training=False)
        coarse = {c: tf.stop_gradient(m) for c, m in nets.decode_coarse(latents, skips, training=False).items()}
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            maps = nets.enhance(coarse, textures, training=True)
            mse = {c: map_mse(maps[c], targets[c]) for c in COMPONENTS}
            fake, real = _random_crop_pair(maps["albedo"], targets["albedo"], FEATURE_CROP)
            perceptual = perceptual_loss(nets.perceptual, fake, real)
            fake_logits = nets.discriminator(fake, training=True)
            real_logits = nets.discriminator(real, training=True)
            adversarial = gan_generator_loss(fake_logits)
            loss = tf.add_n(list(mse.values())) + PERCEPTUAL_WEIGHT * perceptual + GAN_WEIGHT * adversarial
            d_loss = gan_discriminator_loss(real_logits, fake_logits)
        variables = self.variables["enhancers"]
        self.optimizers["enhancers"].apply_gradients(zip(g_tape.gradient(loss, variables), variables))
        d_variables = self.variables["discriminator"]
        self.optimizers["discriminator"].apply_gradients(zip(d_tape.gradient(d_loss, d_variables), d_variables))
        return {"loss": loss, **{f"mse_{c}": v for c, v in mse.items()}, "perceptual": perceptual,
                "gan_generator": adversarial, "gan_discriminator": d_loss}

    def _light_step(self, batch: dict) -> dict[str, tf.Tensor]:
        texture = self.networks.light_texture(batch[self._texture_key])    # as FaceNetworks.predict_light
        with tf.GradientTape() as tape:
            prediction = self.networks.light(texture, training=True)
            loss = light_relative_mse(prediction, batch["light"])
        variables = self.variables["light"]
        self.optimizers["light"].apply_gradients(zip(tape.gradient(loss, variables), variables))
        return {"loss": loss, "mse_sh": tf.reduce_mean(tf.square(prediction - batch["light"]))}

    def step_function(self, stage: str) -> Callable[[dict], dict]:
        """The compiled (``tf.function``) train step of ``stage``: ``batch -> dict of scalar losses``."""
        if stage not in self._step_functions:
            body = {"autoencoders": self._autoencoder_step, "enhancers": self._enhancer_step,
                    "light": self._light_step}[stage]

            def run(batch):
                result = body(batch)
                self.steps[stage].assign_add(1)
                return result
            self._step_functions[stage] = tf.function(run, reduce_retracing=True)
        return self._step_functions[stage]

    def _stage_batch(self, batch: dict, stage: str) -> dict[str, tf.Tensor]:
        keys = [self._texture_key, "light"] + [f"{c}_{s}" for c, sizes in stage_sizes(self.config, stage).items()
                                               if c != "texture" for s in sizes]
        batch = self._augmented(batch, stage)
        return {key: tf.convert_to_tensor(batch[key]) for key in keys}

    def _augmented(self, batch: dict, stage: str) -> dict:
        """The batch with :attr:`TrainingSettings.face_exposure_fraction` of its textures re-exposed (and their
        light scaled alike); the draw is seeded by (run seed, stage, step), so a resumed run repeats it."""
        fraction = self.settings.face_exposure_fraction
        if not fraction:
            return batch
        rng = np.random.default_rng([self.settings.seed, STAGES.index(stage), self.step(stage)])
        gains = face_exposure_gains(batch[self._texture_key], rng, fraction)
        batch = dict(batch)
        for key in [k for k in batch if k.startswith("texture_")]:
            batch[key] = apply_exposure_gains(batch[key], gains)
        batch["light"] = (np.asarray(batch["light"]) * gains[:, None, None]).astype(np.float32)
        return batch

    # --------------------------------------------------------------------------------------- loops
    def train_stage(self, stage: str, *, max_seconds: float = math.inf, max_steps: int | None = None,
                    batches: Iterator[dict] | None = None) -> dict:
        """Trains ``stage`` until ``max_steps`` (default: the settings'), ``max_seconds`` or a stop request.

        ``batches`` replaces the data folder (tests). Returns ``{"stage", "steps_done", "step", "seconds",
        "stopped_by", "last_losses"}``; the stage's state is checkpointed before returning.
        """
        if stage not in STAGES:
            raise UsageError(f"unknown training stage {stage!r}; use one of {', '.join(STAGES)}")
        target = self.settings.max_steps[stage] if max_steps is None else max_steps
        start_step = self.step(stage)
        if start_step >= target:
            return {"stage": stage, "steps_done": 0, "step": start_step, "seconds": 0.0,
                    "stopped_by": "complete", "last_losses": {}}
        owns_batches = batches is None
        if owns_batches:
            batches = _Prefetcher(epoch_batches(self.data_dir, "train", self.settings.batch_sizes[stage],
                                                sizes=stage_sizes(self.config, stage),
                                                seed=self.settings.seed * 1_000_003 + start_step))
        step_fn = self.step_function(stage)
        bar = None
        if self.progress:
            from tqdm import tqdm
            bar = tqdm(total=target, initial=start_step, desc=stage, unit="step", dynamic_ncols=True)
        clock = time.monotonic()
        last_save = clock
        sums: dict[str, float] = {}
        count = 0
        last: dict[str, float] = {}
        stopped_by = "complete"
        try:
            while self.step(stage) < target:
                if self._stop_requested:
                    stopped_by = "signal"
                    break
                if time.monotonic() - clock >= max_seconds:
                    stopped_by = "time"
                    break
                t0 = time.monotonic()
                try:
                    batch = next(batches)
                except StopIteration:
                    stopped_by = "data"
                    break
                losses = {k: float(v) for k, v in step_fn(self._stage_batch(batch, stage)).items()}
                self.seconds[stage].assign_add(time.monotonic() - t0)
                for key, value in losses.items():
                    sums[key] = sums.get(key, 0.0) + value
                count += 1
                step = self.step(stage)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{losses['loss']:.4g}")
                if count == self.settings.log_every or step >= target:
                    last = {k: v / count for k, v in sums.items()}
                    self._log({"stage": stage, "step": step, "stage_seconds": round(float(self.seconds[stage]), 2),
                               "time": round(time.time(), 1), **{k: round(v, 7) for k, v in last.items()}})
                    sums, count = {}, 0
                if time.monotonic() - last_save >= 60.0 * self.settings.checkpoint_minutes:
                    self.save()
                    last_save = time.monotonic()
        except KeyboardInterrupt:
            stopped_by = "interrupt"
            self.save()
            raise
        finally:
            if bar is not None:
                bar.close()
            if owns_batches:
                batches.close()
        self.save()
        return {"stage": stage, "steps_done": self.step(stage) - start_step, "step": self.step(stage),
                "seconds": round(time.monotonic() - clock, 1), "stopped_by": stopped_by, "last_losses": last}

    def train(self, stages: tuple[str, ...] = STAGES, *, max_minutes: float = math.inf) -> list[dict]:
        """Runs ``stages`` in order within ``max_minutes`` of wall time (shared by ``time_fractions``).

        A stage gets ``remaining * f_s / sum(f of the stages still to run)``, so time a stage leaves unused (it
        reached its ``max_steps``) goes to the next. SIGTERM checkpoints and returns. Returns the
        :meth:`train_stage` summaries.
        """
        deadline = time.monotonic() + 60.0 * max_minutes
        previous = None
        try:
            previous = signal.signal(signal.SIGTERM, self.request_stop)
        except ValueError:                      # not the main thread
            pass
        summaries = []
        try:
            for index, stage in enumerate(stages):
                if self._stop_requested:
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                fractions = self.settings.time_fractions
                share = fractions[stage] / sum(fractions[s] for s in stages[index:])
                summaries.append(self.train_stage(stage, max_seconds=remaining * share))
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
        return summaries

    def _log(self, record: dict) -> None:
        with open(self.run_dir / LOG_FILE, "a", encoding="utf-8") as file:
            file.write(json.dumps(record) + "\n")

    def read_log(self) -> list[dict]:
        """Records of ``log.jsonl`` (empty when none)."""
        path = self.run_dir / LOG_FILE
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
