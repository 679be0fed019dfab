"""Tests of svfri.nets: shapes, the skip/latent contract, output validity, storage, and the fit mechanism."""

from __future__ import annotations

import dataclasses
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from svfri.errors import ModelError, UsageError  # noqa: E402
from svfri.math.sh import SH_C0  # noqa: E402
from svfri.nets import (  # noqa: E402
    COMPONENTS, MANIFEST_FILE, WEIGHTS_FILE, FaceNetworks, NetworkConfig, get_config, perceptual_loss,
)
from svfri.nets.config import SKIP_LEVELS, ComponentConfig  # noqa: E402
from svfri.nets.layers import MIN_NORMAL_Z, MapOutput, ResidualMapOutput  # noqa: E402

CHANNELS = {"albedo": 3, "specular": 1, "normal": 3}
BATCH = 2
#: Texture side handed to the networks (each resizes it to its own input size).
TEXTURE_SIZE = 24


@pytest.fixture(scope="module")
def tiny():
    keras.utils.set_random_seed(0)
    return FaceNetworks("tiny")


@pytest.fixture(scope="module")
def texture():
    return tf.random.stateless_uniform([BATCH, TEXTURE_SIZE, TEXTURE_SIZE, 4], seed=(1, 2))


def test_every_output_shape(tiny, texture):
    config = tiny.config
    skips, latents = tiny.encode(texture)
    coarse = tiny.decode(latents, skips, texture, enhance=False)
    maps = tiny.decode(latents, skips, texture)
    for c in COMPONENTS:
        part = config.component(c)
        size = part.texture_size
        assert latents[c].shape == (BATCH, part.latent_size)
        assert [tuple(f.shape) for f in skips[c]] == [
            (BATCH, size >> k, size >> k, part.encoder_widths[k - 1]) for k in (1, 2, 3)]
        assert coarse[c].shape == (BATCH, size, size, CHANNELS[c])
        assert maps[c].shape == (BATCH, part.output_size, part.output_size, CHANNELS[c])
    light = tiny.predict_light(texture)
    assert light.shape == (BATCH, 9, 3)
    assert tiny.predict_light(texture[0]).shape == (9, 3)
    logits = tiny.discriminator(maps["albedo"])
    n = len(config.discriminator_widths)
    assert logits.shape == (BATCH, config.albedo.output_size >> n, config.albedo.output_size >> n, 1)
    features = tiny.perceptual(maps["albedo"])
    assert [f.shape[-1] for f in features] == list(config.perceptual_widths)


def test_untrained_light_is_white_ambient(tiny, texture):
    light = tiny.predict_light(texture).numpy()
    # The dense bias starts at constant radiance 1: c_0 = 1 / Y_0; a random net adds a small offset only.
    np.testing.assert_allclose(light[:, 0, :], 1.0 / SH_C0, rtol=0.1)
    assert np.all(np.abs(light[:, 1:, :]) < 0.2 / SH_C0)


def test_maps_are_valid(tiny, texture):
    skips, latents = tiny.encode(texture)
    latents = {c: 10.0 * z for c, z in latents.items()}  # far from the encoder's codes, still valid maps
    for enhance in (False, True):
        maps = tiny.decode(latents, skips, texture, enhance=enhance)
        for c in COMPONENTS:
            values = maps[c].numpy()
            assert values.min() >= 0.0 and values.max() <= 1.0
        normal = 2.0 * maps["normal"].numpy() - 1.0
        np.testing.assert_allclose(np.linalg.norm(normal, axis=-1), 1.0, atol=1e-5)
        assert normal[..., 2].min() > 0.0


def test_untrained_enhancer_is_bilinear_upsampler(tiny, texture):
    skips, latents = tiny.encode(texture)
    coarse = tiny.decode(latents, skips, texture, enhance=False)
    maps = tiny.enhance(coarse, texture)
    for c in ("albedo", "specular"):
        size = maps[c].shape[1]
        expected = tf.image.resize(coarse[c], (size, size), method="bilinear")
        np.testing.assert_allclose(maps[c].numpy(), expected.numpy(), atol=1e-5)


def test_skips_come_from_first_three_levels_only(tiny):
    for c in COMPONENTS:
        encoder, decoder = tiny.encoders[c], tiny.decoders[c]
        levels = len(tiny.config.component(c).encoder_widths)
        assert levels > SKIP_LEVELS  # the tiny config has deeper levels that must stay internal
        producers = [tensor._keras_history.operation.name for tensor in encoder.outputs]
        assert producers == [f"{c}_enc1_act", f"{c}_enc2_act", f"{c}_enc3_act", f"{c}_latent"]
        assert len(decoder.inputs) == 1 + SKIP_LEVELS
        concatenations = [layer for layer in decoder.layers if isinstance(layer, keras.layers.Concatenate)]
        assert sorted(layer.name for layer in concatenations) == [f"{c}_dec{k}_skip" for k in (1, 2, 3)]
        for k, layer in zip((1, 2, 3), sorted(concatenations, key=lambda layer: layer.name)):
            skip_input = decoder.inputs[k]
            assert any(node_input is skip_input for node_input in layer._inbound_nodes[0].input_tensors)


def test_decoder_uses_every_latent_coordinate_and_skip(tiny, texture):
    skips, latents = tiny.encode(texture)
    textures = tiny.component_textures(texture)
    for c in COMPONENTS:
        z = tf.Variable(latents[c])
        features = [tf.Variable(f) for f in skips[c]]
        weights = tf.random.stateless_normal(
            [BATCH] + [tiny.config.component(c).output_size] * 2 + [CHANNELS[c]], seed=(7, 8))
        with tf.GradientTape() as tape:
            maps = tiny.decode({**latents, c: z}, {**skips, c: tuple(features)}, textures)
            objective = tf.reduce_sum(maps[c] * weights)
        grad_z, *grad_skips = tape.gradient(objective, [z, *features])
        assert np.all(np.abs(grad_z.numpy()) > 0.0), f"{c}: some latent coordinates do not reach the map"
        for k, grad in enumerate(grad_skips, start=1):
            assert np.abs(grad.numpy()).max() > 0.0, f"{c}: skip F^{k} is ignored"


def test_adam_on_z_reduces_l2_to_target(tiny, texture):
    skips, latents = tiny.encode(texture)
    textures = tiny.component_textures(texture)
    forward = tiny.fit_function()
    target_latents = {c: latents[c] + tf.random.stateless_normal(latents[c].shape, seed=(9, i))
                      for i, c in enumerate(COMPONENTS)}
    targets = forward(target_latents, skips, textures)
    z = {c: tf.Variable(latents[c]) for c in COMPONENTS}
    optimizer = keras.optimizers.Adam(learning_rate=0.1, beta_1=0.9, beta_2=0.999)

    def loss_value():
        maps = forward(z, skips, textures)
        return tf.add_n([tf.reduce_mean(tf.square(maps[c] - targets[c])) for c in COMPONENTS])

    initial = float(loss_value())
    for _ in range(25):
        with tf.GradientTape() as tape:
            loss = loss_value()
        optimizer.apply_gradients(zip(tape.gradient(loss, list(z.values())), list(z.values())))
    assert initial > 0.0
    assert float(loss_value()) < 0.3 * initial


def test_xla_fit_function_matches_eager(tiny, texture):
    skips, latents = tiny.encode(texture)
    textures = tiny.component_textures(texture)
    eager = tiny.decode(latents, skips, textures)
    compiled = tiny.fit_function(jit_compile=True)(latents, skips, textures)
    for c in COMPONENTS:
        np.testing.assert_allclose(compiled[c].numpy(), eager[c].numpy(), atol=1e-5)


def _perturb_batch_norm_statistics(networks):
    rng = np.random.default_rng(3)
    for model in networks.models(include_training=True).values():
        for weight in model.non_trainable_weights:
            if "moving" in weight.path:
                weight.assign(rng.uniform(0.5, 1.5, weight.shape).astype(np.float32))


def test_save_load_round_trip(tmp_path, texture):
    keras.utils.set_random_seed(1)
    source = FaceNetworks("tiny")
    _perturb_batch_norm_statistics(source)
    source.save_weights(tmp_path, include_training=True)
    with np.load(tmp_path / WEIGHTS_FILE) as archive:
        assert any(archive[key].dtype == np.float16 for key in archive.files)
    keras.utils.set_random_seed(2)
    copy = FaceNetworks.from_directory(tmp_path)
    skips, latents = source.encode(texture)
    skips_copy, latents_copy = copy.encode(texture)
    for c in COMPONENTS:
        np.testing.assert_allclose(latents_copy[c].numpy(), latents[c].numpy(), rtol=1e-2, atol=1e-2)
    maps = source.decode(latents, skips, texture)
    maps_copy = copy.decode(latents, skips, texture)
    for c in COMPONENTS:
        np.testing.assert_allclose(maps_copy[c].numpy(), maps[c].numpy(), atol=5e-3)
    np.testing.assert_allclose(copy.predict_light(texture).numpy(), source.predict_light(texture).numpy(),
                               rtol=1e-2, atol=1e-2)
    albedo = maps["albedo"]
    np.testing.assert_allclose(copy.discriminator(albedo).numpy(), source.discriminator(albedo).numpy(), atol=1e-2)


def test_load_errors(tmp_path, tiny):
    with pytest.raises(ModelError, match="not found"):
        tiny.load_weights(tmp_path / "missing")
    tiny.save_weights(tmp_path)
    with pytest.raises(ModelError, match="different network config"):
        FaceNetworks(dataclasses.replace(tiny.config, leaky_slope=0.1)).load_weights(tmp_path)
    (tmp_path / WEIGHTS_FILE).write_bytes(b"not a zip archive")
    with pytest.raises(ModelError, match="unreadable"):
        tiny.load_weights(tmp_path)
    (tmp_path / MANIFEST_FILE).write_text(json.dumps({"format": "something else"}))
    with pytest.raises(ModelError, match="not an svfri network manifest"):
        tiny.load_weights(tmp_path)


def test_default_config_fits_the_size_budget():
    networks = FaceNetworks("fast")
    assert 2 * networks.parameter_count() <= 30e6  # float16 bytes of the inference models
    assert networks.config == get_config()


def test_config_round_trip_and_validation():
    for name in ("paper", "fast", "tiny"):
        config = get_config(name)
        assert NetworkConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    with pytest.raises(UsageError):
        get_config("huge")
    with pytest.raises(UsageError):
        ComponentConfig(texture_size=40, latent_size=8, encoder_widths=(4, 4, 4, 4), enhancer_scale=2,
                        enhancer_width=4, enhancer_blocks=1, enhancer_upsample_stages=1)
    with pytest.raises(UsageError):
        ComponentConfig(texture_size=32, latent_size=8, encoder_widths=(4, 4), enhancer_scale=2,
                        enhancer_width=4, enhancer_blocks=1, enhancer_upsample_stages=1)
    with pytest.raises(UsageError):
        ComponentConfig(texture_size=32, latent_size=8, encoder_widths=(4, 4, 4), enhancer_scale=2,
                        enhancer_width=4, enhancer_blocks=1, enhancer_upsample_stages=2)


def test_output_heads_gradients_float64():
    """Finite-difference Jacobians of the two map heads (float64)."""
    raw = tf.constant(np.random.default_rng(4).normal(size=(1, 2, 2, 3)), tf.float64)
    for kind in ("unit_interval", "normal"):
        head = MapOutput(kind, dtype="float64")
        theoretical, numerical = tf.test.compute_gradient(lambda x: head(x), [raw], delta=1e-6)
        np.testing.assert_allclose(theoretical[0], numerical[0], atol=1e-6)
    coarse = tf.constant(np.random.default_rng(5).uniform(0.2, 0.8, size=(1, 2, 2, 3)), tf.float64)
    residual = tf.constant(np.random.default_rng(6).normal(scale=0.3, size=(1, 4, 4, 3)), tf.float64)
    for kind in ("unit_interval", "normal"):
        head = ResidualMapOutput(kind, dtype="float64")
        theoretical, numerical = tf.test.compute_gradient(lambda r: head([coarse, r]), [residual], delta=1e-6)
        np.testing.assert_allclose(theoretical[0], numerical[0], atol=1e-6)
        # tf.image.resize works in float32 whatever its input: the coarse path is checked at float32 accuracy.
        theoretical, numerical = tf.test.compute_gradient(lambda c: head([c, residual]), [coarse], delta=1e-3)
        np.testing.assert_allclose(theoretical[0], numerical[0], atol=2e-3)


def test_normal_head_closed_form():
    head = MapOutput("normal")
    raw = tf.constant([[[[3.0, 0.0, 50.0], [0.0, -4.0, -50.0]]]])
    n = 2.0 * head(raw).numpy()[0, 0] - 1.0
    # softplus(50) = 50 (to float32), so the first is normalise(3, 0, 50 + MIN_NORMAL_Z); the second has
    # n_z = softplus(-50) + MIN_NORMAL_Z ~ MIN_NORMAL_Z.
    expected = np.array([3.0, 0.0, 50.0 + MIN_NORMAL_Z])
    np.testing.assert_allclose(n[0], expected / np.linalg.norm(expected), atol=1e-6)
    np.testing.assert_allclose(n[1], [0.0, -1.0, 0.0], atol=1e-3)


def test_perceptual_features_are_fixed_and_discriminative(tiny):
    again = FaceNetworks("tiny").perceptual
    for a, b in zip(tiny.perceptual.weights, again.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not tiny.perceptual.trainable_weights
    image = tf.random.stateless_uniform([1, 32, 32, 3], seed=(10, 11))
    assert float(perceptual_loss(tiny.perceptual, image, image)) == 0.0
    blurred = tf.nn.avg_pool2d(image, 3, 1, "SAME")
    assert float(perceptual_loss(tiny.perceptual, blurred, image)) > 0.0
