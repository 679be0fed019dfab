"""The fit's loss mask and its occluder rejection, on the sample photo with small untrained networks."""

import dataclasses

import numpy as np
import pytest

from svfri.fitting.optimise import FitSettings, LatentFitter, pixel_weights
from svfri.geometry.template import load_face_template
from svfri.io.images import read_photo
from svfri.math.color import linear_to_srgb_np
from svfri.nets import FaceNetworks
from svfri.pipeline.geometry_stage import GeometrySettings, compute_geometry
from svfri.render.texture import sample_bilinear


@pytest.fixture(scope="module")
def geometry(sample_photo):
    return compute_geometry(read_photo(sample_photo), GeometrySettings(mesh="template", texture_size=64))


def test_loss_mask_leaves_out_eyes_mouth_and_grazing_pixels(geometry):
    template = load_face_template()
    weights = pixel_weights(geometry.gbuffer, template)
    masks = sample_bilinear(np.stack([template.region_masks["eyes"], template.region_masks["mouth_interior"],
                                      template.region_masks["cheeks"]], axis=-1).astype(np.float32),
                            geometry.gbuffer.uv).numpy()
    assert weights[masks[:, 0] > 0.99].max() < 0.01          # eyes
    assert weights[masks[:, 1] > 0.99].max() < 0.01          # mouth interior
    assert weights[(masks[:, 2] > 0.99) & (geometry.gbuffer.normal[:, 2] > 0.5)].min() > 0.9   # frontal cheeks
    assert weights[geometry.gbuffer.normal[:, 2] < 0.2].max() == 0.0


def test_occluder_pixels_are_dropped(geometry):
    template = load_face_template()
    networks = FaceNetworks("tiny")
    gbuffer = geometry.gbuffer
    texture = np.zeros((networks.config.input_texture_size,) * 2 + (4,), np.float32)
    texture[..., :3], texture[..., 3] = 0.6, 1.0
    # A photo the model explains exactly: its own initial render (so only the occluder is unexplained).
    initial = LatentFitter(networks, FitSettings(steps=0)).fit(gbuffer, texture, geometry.work_image, template)
    photo = gbuffer.scatter(linear_to_srgb_np(np.clip(initial.radiance, 0, 1)).astype(np.float32),
                            background=geometry.work_image)
    rows, columns = np.divmod(gbuffer.pixel_index, gbuffer.width)
    weights = pixel_weights(gbuffer, template)
    # A dark bar across the forehead (hair or a hand), on pixels the loss would otherwise count.
    top = rows[weights > 0.5].min()
    occluded = (rows < top + 12) & (weights > 0.5)
    photo.reshape(-1, 3)[gbuffer.pixel_index[occluded]] = 0.02
    settings = FitSettings(steps=6, learning_rate=0.05)
    result = LatentFitter(networks, settings).fit(gbuffer, texture, photo, template)
    assert result.outlier_pixels >= 0.8 * occluded.sum()
    assert (result.weights[occluded] == 0).mean() > 0.8
    assert (result.weights[~occluded & (weights > 0.5)] > 0).mean() > 0.9
    no_rejection = LatentFitter(networks, dataclasses.replace(settings, reject_outliers=False)).fit(
        gbuffer, texture, photo, template)
    assert no_rejection.outlier_pixels == 0 and np.array_equal(no_rejection.weights, weights)


def test_enhance_modes_place_the_enhancers(geometry):
    """``enhance="after"``: the steps optimise the decoders' maps, the written maps are the enhancers' output of the
    final codes (so they have the enhancer's size and equal ``R_c(D_c(z_c))``); ``"off"`` writes ``D_c(z_c)``."""
    import tensorflow as tf

    template = load_face_template()
    networks = FaceNetworks("tiny")
    texture = np.full((networks.config.input_texture_size,) * 2 + (4,), 0.6, np.float32)
    texture[..., 3] = 1.0
    sizes = {c: (networks.config.component(c).texture_size, networks.config.component(c).output_size)
             for c in ("albedo", "specular", "normal")}
    results = {}
    for mode in ("loop", "after", "off"):
        # the level hold rescales the written albedo; off here, so the maps are the enhancers' output itself
        fitter = LatentFitter(networks, FitSettings(steps=3, learning_rate=0.05, enhance=mode,
                                                    hold_albedo_level=False))
        result = fitter.fit(geometry.gbuffer, texture, geometry.work_image, template)
        results[mode] = (fitter, result)
        for component, (coarse, enhanced) in sizes.items():
            assert result.maps[component].shape[0] == (coarse if mode == "off" else enhanced), (mode, component)
    fitter, after = results["after"]
    batch = tf.constant(texture[None])
    skips, _ = networks.encode(batch)
    coarse = networks.decode_coarse({c: fitter.latents[c] for c in ("albedo",)} | {
        c: networks.encode(batch)[1][c] for c in ("specular", "normal")}, skips)
    enhanced = networks.enhance(coarse, networks.component_textures(batch))
    np.testing.assert_allclose(after.maps["albedo"], enhanced["albedo"][0].numpy(), atol=2e-3)
    # The steps differ: "after" optimised against the decoders' render, "loop" against the enhanced one.
    assert not np.allclose(results["loop"][1].light_sh, after.light_sh)
    assert FitSettings(enhance=True).enhance == "loop" and FitSettings(enhance=False).enhance == "off"
    with pytest.raises(ValueError, match="enhance must be one of"):
        FitSettings(enhance="sometimes")


def test_fit_holds_the_albedo_gain_and_divides_the_initial_light(geometry):
    """With a gain ``g`` the zero-step fit's albedo is the networks' times ``g`` (linear light) and its initial light
    theirs over ``g``; the gain is clipped to the stated range."""
    from svfri.fitting.optimise import MAX_ALBEDO_GAIN
    from svfri.math.color import srgb_to_linear_np

    template = load_face_template()
    networks = FaceNetworks("tiny")
    texture = np.full((networks.config.input_texture_size,) * 2 + (4,), 0.6, np.float32)
    texture[..., 3] = 1.0
    fitter = LatentFitter(networks, FitSettings(steps=0))
    plain = fitter.fit(geometry.gbuffer, texture, geometry.work_image, template)
    gain = np.array([0.5, 0.8, 1.25])
    seen = []
    gained = fitter.fit(geometry.gbuffer, texture, geometry.work_image, template,
                        albedo_gain=lambda albedo: seen.append(albedo) or gain)
    np.testing.assert_allclose(seen[0], plain.maps["albedo"], atol=1e-6)      # called with the written albedo
    np.testing.assert_allclose(gained.albedo_gain, gain)
    expected = linear_to_srgb_np(np.clip(srgb_to_linear_np(plain.maps["albedo"]) * gain, 0, 1))
    np.testing.assert_allclose(gained.maps["albedo"], expected, atol=2e-3)
    np.testing.assert_allclose(gained.initial_light_sh, plain.initial_light_sh / gain[None, :], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(plain.albedo_gain, 1.0)
    huge = fitter.fit(geometry.gbuffer, texture, geometry.work_image, template, albedo_gain=lambda a: np.full(3, 1e3))
    np.testing.assert_allclose(huge.albedo_gain, MAX_ALBEDO_GAIN)
    # A few steps keep the gain on the moving albedo.
    moving = LatentFitter(networks, FitSettings(steps=2, learning_rate=0.05)).fit(
        geometry.gbuffer, texture, geometry.work_image, template, albedo_gain=lambda a: gain)
    np.testing.assert_allclose(moving.albedo_gain, gain)
    with pytest.raises(ValueError, match="albedo_level must be one of"):
        FitSettings(albedo_level="face")


def test_held_level_keeps_the_albedo_mean_while_the_light_takes_the_photo_brightness(geometry):
    """``hold_albedo_level``: after steps on a photo far brighter than the initial render, the albedo's weighted mean
    linear colour is the initial one (the held level), the light has grown, and without the hold the albedo moves."""
    import tensorflow as tf

    from svfri.fitting.optimise import albedo_level, hold_level, level_weights
    from svfri.math.color import srgb_to_linear_np

    template = load_face_template()
    # hold_level itself: any map comes out with the held mean.
    weights = tf.constant(level_weights(template, 32))
    rng = np.random.default_rng(0)
    maps = tf.constant(rng.uniform(0.2, 0.7, (1, 32, 32, 3)), tf.float32)
    target = tf.constant([0.2, 0.1, 0.05])
    np.testing.assert_allclose(albedo_level(hold_level(maps, weights, target), weights)[0].numpy(), target.numpy(),
                               rtol=1e-4)

    networks = FaceNetworks("tiny")
    texture = np.full((networks.config.input_texture_size,) * 2 + (4,), 0.4, np.float32)
    texture[..., 3] = 1.0
    photo = np.clip(geometry.work_image * 0 + 0.85, 0, 1).astype(np.float32)      # a bright, flat photo
    settings = FitSettings(steps=8, learning_rate=0.1, reject_outliers=False, hold_albedo_level=True)
    held = LatentFitter(networks, settings).fit(geometry.gbuffer, texture, photo, template)
    size = held.maps["albedo"].shape[0]
    w = level_weights(template, size)
    mean = lambda albedo: (srgb_to_linear_np(albedo) * w).sum((0, 1)) / w.sum()  # noqa: E731
    np.testing.assert_allclose(mean(held.maps["albedo"]), mean(held.initial_maps["albedo"]), rtol=2e-3)
    assert held.light_sh[0].mean() > held.initial_light_sh[0].mean()
    free = LatentFitter(networks, dataclasses.replace(settings, hold_albedo_level=False)).fit(
        geometry.gbuffer, texture, photo, template)
    assert np.abs(mean(free.maps["albedo"]) / mean(free.initial_maps["albedo"]) - 1).max() > 0.01
