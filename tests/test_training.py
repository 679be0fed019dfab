"""Training and evaluation: losses and metrics against closed forms, every stage on a tiny config, resume, export."""

import itertools
import json
import math

import numpy as np
import pytest
import tensorflow as tf

from svfri.errors import UsageError
from svfri.math.sh import SH_C0
from svfri.nets import FaceNetworks
from svfri.synth import dataset
from svfri.training import evaluate, losses
from svfri.training.trainer import LOG_FILE, STAGES, Trainer, TrainingSettings, stage_sizes

TINY_SETTINGS = TrainingSettings(
    preset="tiny", seed=3, batch_sizes={s: 2 for s in STAGES},
    learning_rates={"autoencoders": 3e-3, "enhancers": 3e-3, "light": 3e-3, "discriminator": 1e-3},
    max_steps={"autoencoders": 2, "enhancers": 2, "light": 5}, log_every=1)
MAP_SIZE = 64
TEXTURE_SIZE = 32


def _smooth(rng, count, size, channels):
    """Smooth random images in [0, 1]: upsampled coarse noise."""
    coarse = rng.uniform(0.0, 1.0, (count, 4, 4, channels)).astype(np.float32)
    return tf.image.resize(coarse, (size, size), method="bilinear").numpy()


def _fabricate_split(root, split, seeds, rng):
    count = len(seeds)
    albedo = _smooth(rng, count, MAP_SIZE, 3)
    specular = _smooth(rng, count, MAP_SIZE, 1)[..., 0]
    tangent = np.concatenate([0.3 * (_smooth(rng, count, MAP_SIZE, 2) - 0.5), np.ones((count, MAP_SIZE, MAP_SIZE, 1))],
                             axis=-1)
    tangent /= np.linalg.norm(tangent, axis=-1, keepdims=True)
    light = np.zeros((count, 9, 3), np.float32)
    light[:, 0] = rng.uniform(2.0, 6.0, (count, 1))
    light[:, 1:4] = rng.uniform(-1.0, 1.0, (count, 3, 3))
    shading = (light[:, 0, :] * SH_C0 / 3.0)[:, None, None, :]
    colour = np.clip(tf.image.resize(albedo, (TEXTURE_SIZE, TEXTURE_SIZE)).numpy() * shading, 0, 1)
    texture = np.concatenate([colour, np.ones((count, TEXTURE_SIZE, TEXTURE_SIZE, 1), np.float32)], axis=-1)
    to_uint8 = lambda x: np.clip(np.round(x * 255.0), 0, 255).astype(np.uint8)  # noqa: E731
    arrays = {"seed": np.asarray(seeds, np.int64), "texture": to_uint8(texture), "albedo": to_uint8(albedo),
              "specular": to_uint8(specular), "normal": to_uint8(0.5 * tangent + 0.5),
              "light": light.astype(np.float16)}
    dataset.write_shard(dataset.shard_path(root, split, 0), arrays)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("svfri_train")
    rng = np.random.default_rng(0)
    _fabricate_split(root, "train", list(range(8)), rng)
    _fabricate_split(root, "test", list(range(1000, 1006)), rng)
    (root / dataset.MANIFEST_NAME).write_text(json.dumps({
        "settings": {"map_size": MAP_SIZE, "texture_size": TEXTURE_SIZE},
        "splits": {"test": {"hdris": ["held_out_a", "synthetic"]}}}))
    return root


@pytest.fixture(scope="module")
def trainer(data_dir, tmp_path_factory):
    return Trainer(data_dir, tmp_path_factory.mktemp("run"), settings=TINY_SETTINGS, progress=False)


def _fixed_batch(trainer, data_dir, stage):
    return next(dataset.iterate_training_batches(data_dir, "train", 2, component_sizes=stage_sizes(trainer.config, stage),
                                                 shuffle=False))


# ------------------------------------------------------------------------------------------- metrics and losses
def test_psnr_and_rmse_closed_forms():
    target = np.random.default_rng(1).uniform(0.2, 0.8, (8, 8, 3))
    assert evaluate.psnr(target, target) == math.inf
    assert evaluate.rmse(target, target) == 0.0
    # a uniform error of 0.1: MSE 0.01, PSNR 20 dB, RMSE 0.1
    assert evaluate.psnr(target + 0.1, target) == pytest.approx(20.0, abs=1e-9)
    assert evaluate.rmse(target - 0.1, target) == pytest.approx(0.1, abs=1e-12)
    # error only outside the mask is not counted; error of 0.5 on half the pixels: MSE 0.125
    mask = np.zeros((8, 8), bool)
    mask[:, :4] = True
    shifted = target.copy()
    shifted[:, 4:] += 0.5
    assert evaluate.psnr(shifted, target, mask) == math.inf
    assert evaluate.psnr(shifted, target) == pytest.approx(10.0 * math.log10(1.0 / 0.125), abs=1e-9)
    assert evaluate.psnr(target + 0.1, target, peak=2.0) == pytest.approx(20.0 + 20.0 * math.log10(2.0), abs=1e-9)
    with pytest.raises(ValueError):
        evaluate.psnr(target, target, np.zeros((8, 8), bool))


def test_sphere_of_constant_light_has_its_radiance_and_scaled_light_scores_zero_db():
    radiance = np.array([0.5, 1.0, 2.0])
    light = np.zeros((9, 3))
    light[0] = radiance / SH_C0
    image, disc = evaluate.sh_sphere_image(light, size=16)
    np.testing.assert_allclose(image[disc], np.broadcast_to(radiance, (int(disc.sum()), 3)), rtol=1e-12)
    assert np.all(image[~disc] == 0.0)
    assert disc.sum() == pytest.approx(math.pi * 8 * 8, rel=0.08)
    # a light twice as bright: normalised spheres 2t vs t with t/peak = radiance / 2 per channel
    errors = evaluate.light_errors(2.0 * light[None], light[None], size=16)
    expected_rmse = math.sqrt(np.mean(np.square(radiance / radiance.max())))
    assert errors["rmse"][0] == pytest.approx(expected_rmse, rel=1e-9)
    assert errors["psnr"][0] == pytest.approx(-20.0 * math.log10(expected_rmse), rel=1e-9)
    # coefficients: error c0 on the 3 DC entries, normalised by the luminance of c0 Y00
    luminance = float(np.dot(losses._LUMINANCE, radiance))
    expected = math.sqrt(np.sum(np.square(light[0] / luminance)) / 27.0)
    assert errors["coefficient_relative_rmse"][0] == pytest.approx(expected, rel=1e-6)
    assert evaluate.light_errors(light[None], light[None])["psnr"][0] == math.inf


def test_sphere_shading_follows_the_light_direction():
    """A light from +X (viewer's right) brightens the right half of the sphere image (+Y up, row 0 top)."""
    light = np.zeros((9, 3))
    light[0] = 1.0
    light[3] = 1.0          # Y_3 ~ x
    image, disc = evaluate.sh_sphere_image(light, size=32)
    assert image[16, 28, 0] > image[16, 3, 0]
    light = np.zeros((9, 3))
    light[0] = 1.0
    light[1] = 1.0          # Y_1 ~ y: from above
    image, _ = evaluate.sh_sphere_image(light, size=32)
    assert image[3, 16, 0] > image[28, 16, 0]


def test_light_loss_is_relative_and_gan_losses_at_zero_logits():
    rng = np.random.default_rng(2)
    target = tf.constant(rng.uniform(0.5, 3.0, (4, 9, 3)), tf.float32)
    prediction = target + tf.constant(rng.normal(0, 0.1, (4, 9, 3)), tf.float32)
    base = float(losses.light_relative_mse(prediction, target))
    assert float(losses.light_relative_mse(5.0 * prediction, 5.0 * target)) == pytest.approx(base, rel=1e-5)
    assert float(losses.light_relative_mse(target, target)) == 0.0
    zero = tf.zeros((2, 4, 4, 1))
    assert float(losses.gan_generator_loss(zero)) == pytest.approx(math.log(2.0), rel=1e-6)
    assert float(losses.gan_discriminator_loss(zero, zero)) == pytest.approx(2.0 * math.log(2.0), rel=1e-6)
    assert float(losses.gan_discriminator_loss(tf.fill((1, 2, 2, 1), 30.0), tf.fill((1, 2, 2, 1), -30.0))) < 1e-10


# ------------------------------------------------------------------------------------------- trainer
@pytest.mark.parametrize("stage, steps, ratio", [("autoencoders", 40, 0.7), ("enhancers", 40, 0.9), ("light", 40, 0.5)])
def test_each_stage_overfits_a_fixed_batch(trainer, data_dir, stage, steps, ratio):
    batch = trainer._stage_batch(_fixed_batch(trainer, data_dir, stage), stage)
    step = trainer.step_function(stage)
    before = trainer.step(stage)
    first = float(step(batch)["loss"])
    for _ in range(steps - 1):
        last = step(batch)
    final = float(last["loss"])
    assert trainer.step(stage) == before + steps
    assert math.isfinite(final) and final < ratio * first, (stage, first, final)


def test_enhancer_stage_leaves_encoders_and_decoders_alone(trainer, data_dir):
    frozen = [v.numpy().copy() for v in trainer.variables["autoencoders"]]
    batch = trainer._stage_batch(_fixed_batch(trainer, data_dir, "enhancers"), "enhancers")
    trainer.step_function("enhancers")(batch)
    for value, variable in zip(frozen, trainer.variables["autoencoders"]):
        np.testing.assert_array_equal(value, variable.numpy())


def test_train_stage_reads_the_data_folder_logs_and_resumes(data_dir, tmp_path):
    run = tmp_path / "run"
    first = Trainer(data_dir, run, settings=TINY_SETTINGS, progress=False)
    summary = first.train_stage("light", max_steps=3)
    assert summary["step"] == 3 and summary["stopped_by"] == "complete"
    records = [json.loads(line) for line in (run / LOG_FILE).read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3] and all(r["stage"] == "light" for r in records)
    # resume: same step, same weights, same optimiser state
    second = Trainer(data_dir, run, progress=False)
    assert second.settings == TINY_SETTINGS
    assert second.step("light") == 3 and second.step("autoencoders") == 0
    for a, b in zip(first.networks.light.weights, second.networks.light.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert int(second.optimizers["light"].iterations.numpy()) == int(first.optimizers["light"].iterations.numpy()) == 3
    for a, b in zip(first.optimizers["light"].variables, second.optimizers["light"].variables):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert second.train_stage("light")["step"] == 5                     # settings' max_steps
    # a stop request (SIGTERM handler) checkpoints and returns before the next step
    second.request_stop()
    stopped = second.train_stage("light", max_steps=9)
    assert stopped["stopped_by"] == "signal" and stopped["steps_done"] == 0
    # all stages in order within a budget; completed stages are skipped
    third = Trainer(data_dir, run, progress=False)
    assert third.step("light") == 5
    summaries = third.train(STAGES, max_minutes=5.0)
    assert [s["stage"] for s in summaries] == list(STAGES)
    assert [s["stopped_by"] for s in summaries] == ["complete"] * 3 and summaries[2]["steps_done"] == 0
    assert [third.step(s) for s in STAGES] == [2, 2, 5]
    with pytest.raises(UsageError):
        Trainer(data_dir, run, settings=TrainingSettings(preset="fast"), progress=False)


def test_export_writes_loadable_weights_and_evaluation_runs(trainer, data_dir, tmp_path):
    trainer.export(tmp_path / "weights")
    loaded = FaceNetworks.from_directory(tmp_path / "weights")
    texture = np.random.default_rng(4).uniform(0, 1, (1, TEXTURE_SIZE, TEXTURE_SIZE, 4)).astype(np.float32)
    np.testing.assert_allclose(loaded.predict_light(texture), trainer.networks.predict_light(texture),
                               rtol=2e-2, atol=2e-2)
    metrics = evaluate.evaluate_networks(loaded, data_dir, count=5, batch_size=4, baseline_samples=8)
    assert metrics["count"] == 5 and metrics["map_size"] == MAP_SIZE and metrics["seeds"] == [1000, 1004]
    assert set(metrics["rows"]) == {"networks", "decoder only", "baseline (training mean)"}
    for row in metrics["rows"].values():
        for c in evaluate.METRIC_COLUMNS:
            assert math.isfinite(row[f"{c}_psnr"]) and 0.0 < row[f"{c}_rmse"] < 1.0
    table = evaluate.markdown_table(metrics)
    assert "| networks |" in table and "25.10" in table


def test_face_exposure_augmentation_re_exposes_textures_and_scales_their_light(data_dir, tmp_path):
    import dataclasses
    settings = dataclasses.replace(TINY_SETTINGS, face_exposure_fraction=1.0)
    augmenting = Trainer(data_dir, tmp_path / "run", settings=settings, progress=False)
    raw = _fixed_batch(augmenting, data_dir, "light")
    batch = augmenting._stage_batch(raw, "light")
    key = augmenting._texture_key
    from svfri.math.color import srgb_to_linear_np
    before = srgb_to_linear_np(raw[key][..., :3].astype(np.float64)).mean(axis=(1, 2, 3))
    after = srgb_to_linear_np(batch[key].numpy()[..., :3].astype(np.float64)).mean(axis=(1, 2, 3))
    ratio = batch["light"].numpy()[:, 0, 0] / raw["light"][:, 0, 0]
    assert not np.allclose(ratio, 1.0)
    np.testing.assert_allclose(after / before, ratio, rtol=0.05)       # unclipped texels: the same gain
    np.testing.assert_array_equal(batch[key].numpy()[..., 3], raw[key][..., 3])
    # the draw repeats for the same (seed, stage, step): a resumed run sees the same batch
    np.testing.assert_array_equal(augmenting._stage_batch(raw, "light")[key].numpy(), batch[key].numpy())
