"""Tests of the networks' input mask (svfri.nets.input_mask) and the shared template region weight."""

from __future__ import annotations

import dataclasses
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from svfri.geometry.template import load_face_template, region_weight  # noqa: E402
from svfri.nets import FaceNetworks, NetworkConfig, get_config  # noqa: E402
from svfri.nets.input_mask import input_mask, mask_texture, skin_weight  # noqa: E402

SIZE = 64
REGIONS = ("eyes", "mouth_interior")


def test_region_weight_is_face_times_one_minus_excluded():
    template = load_face_template()
    face = region_weight(template, 512)
    np.testing.assert_allclose(face, np.clip(template.region_masks["face"], 0, 1))
    skin = region_weight(template, 512, exclude=("eyes",))
    np.testing.assert_allclose(skin, np.clip(template.region_masks["face"] * (1 - template.region_masks["eyes"]), 0, 1))
    # area resize: a 512 -> 64 weight is the 8x8 box mean
    small = region_weight(template, 64, exclude=("eyes",))
    np.testing.assert_allclose(small, skin.reshape(64, 8, 64, 8).mean(axis=(1, 3)), atol=1e-6)
    with pytest.raises(ValueError, match="unknown template regions"):
        region_weight(template, 64, exclude=("ears",))


def test_mask_fills_with_visible_skin_mean_and_marks_unseen():
    mask = input_mask(REGIONS, 0.0, SIZE)
    skin = skin_weight(SIZE)
    assert mask.max() > 0.99 and 0.0 < mask.mean() < 0.2
    assert float(skin[mask > 0.999].max()) < 0.05     # skin weights leave the masked regions out
    rng = np.random.default_rng(0)
    texture = rng.uniform(0, 1, (2, SIZE, SIZE, 4)).astype(np.float32)
    texture[..., 3] = (rng.uniform(size=(2, SIZE, SIZE)) > 0.3)
    out = mask_texture(tf.constant(texture), mask, skin).numpy()
    keep = 1.0 - mask
    for b in range(2):
        weight = texture[b, ..., 3] * skin * keep
        mean = (texture[b, ..., :3] * weight[..., None]).sum((0, 1)) / weight.sum()
        expected = texture[b, ..., :3] * keep[..., None] + mean * mask[..., None]
        np.testing.assert_allclose(out[b, ..., :3], expected, atol=1e-5)
        np.testing.assert_allclose(out[b, ..., 3], texture[b, ..., 3] * keep, atol=1e-6)
    untouched = mask == 0
    np.testing.assert_array_equal(out[:, untouched], texture[:, untouched])


def test_dilation_grows_the_mask():
    plain, grown = input_mask(REGIONS, 0.0, SIZE), input_mask(REGIONS, 2.0 / SIZE, SIZE)
    assert np.all(grown >= plain) and (grown > 0.5).sum() > (plain > 0.5).sum()


def test_image_with_no_visible_skin_fills_grey():
    texture = np.zeros((1, SIZE, SIZE, 4), np.float32)
    out = mask_texture(tf.constant(texture), input_mask(REGIONS, 0.0, SIZE), skin_weight(SIZE)).numpy()
    assert np.isfinite(out).all()
    inside = input_mask(REGIONS, 0.0, SIZE) > 0.999
    np.testing.assert_allclose(out[0, inside, :3], 0.5, atol=1e-3)


def test_networks_mask_their_input_once_and_only_where_configured():
    keras.utils.set_random_seed(0)
    config = dataclasses.replace(get_config("tiny"), masked_input_regions=REGIONS, masked_input_dilation_uv=0.0)
    masked, plain = FaceNetworks(config), FaceNetworks("tiny")
    texture = tf.random.stateless_uniform([1, SIZE, SIZE, 4], seed=(3, 4))
    np.testing.assert_array_equal(plain.network_input(texture).numpy(), texture.numpy())
    seen = masked.network_input(texture).numpy()
    mask = input_mask(REGIONS, 0.0, SIZE)
    assert not np.allclose(seen[0, mask > 0.5], texture.numpy()[0, mask > 0.5])
    np.testing.assert_array_equal(seen[0, mask == 0], texture.numpy()[0, mask == 0])
    # the networks' answer does not depend on what the masked texels held
    changed = texture.numpy().copy()
    changed[0, mask > 0.999, :3] = 1.0 - changed[0, mask > 0.999, :3]
    a = masked.encode(texture)[1]["albedo"].numpy()
    b = masked.encode(tf.constant(changed))[1]["albedo"].numpy()
    np.testing.assert_allclose(a, b, atol=2e-3)
    np.testing.assert_allclose(masked.predict_light(texture).numpy(), masked.predict_light(tf.constant(changed)).numpy(),
                               atol=2e-3)


def test_masked_config_round_trips_and_loads_unmasked_weights(tmp_path):
    config = dataclasses.replace(get_config("tiny"), masked_input_regions=REGIONS, masked_input_dilation_uv=0.02)
    assert NetworkConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    old = get_config("tiny").to_dict()
    old.pop("masked_input_regions"), old.pop("masked_input_dilation_uv")   # a manifest from before the mask
    assert NetworkConfig.from_dict(old) == get_config("tiny")
    keras.utils.set_random_seed(1)
    FaceNetworks("tiny").save_weights(tmp_path)
    FaceNetworks(config).load_weights(tmp_path)                            # same architecture: fine-tuning works
    assert FaceNetworks.from_directory(tmp_path).config.masked_input_regions == ()
