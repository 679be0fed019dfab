"""The fit: move the latent codes until the render of the decoded maps reproduces the photo.

Geng et al. 2021, section 6 (eq. 9): with the encoders' skip features ``F^1..F^3`` held fixed, optimise
``z = {z_a, z_s, z_n, z_e}`` (albedo, specular, normal codes and the 9x3 SH lighting) by Adam (lr 0.1,
``beta = (0.9, 0.999)``, 150 steps by default) on::

    loss(z) = sum_p w_p |f(render_p(z)) - f(photo_p)|^2 / (3 sum_p w_p)

over the G-buffer's pixels ``p``, where ``render`` is :func:`svfri.render.shading.shade` of the decoded and
enhanced maps (``D_c`` then ``R_c``) under ``z_e``, and ``f`` is the comparison space:

* ``"srgb"`` (default): both sides sRGB-encoded (the render is clamped to ``[0, 1]`` linear first). The photo *is*
  sRGB, its noise and JPEG error are roughly uniform in that space, and dark skin and shadows weigh as much as
  bright highlights, which a linear-space loss under-weights by the encoding's slope (~2-5x in the mid-tones).
* ``"linear"``: both sides linear.

Pixel weights ``w_p`` (:func:`pixel_weights`): the template's ``face`` region, minus the eye openings and the mouth
interior (not skin: the networks model skin), minus grazing pixels (``n . v`` below
:data:`MIN_VIEW_COSINE`, where the mesh silhouette and the photo's disagree and hair often covers the face).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable

import numpy as np
import tensorflow as tf

from svfri.geometry.template import FaceTemplate
from svfri.math.color import linear_to_srgb
from svfri.nets import COMPONENTS, FaceNetworks
from svfri.render.gbuffer import GBuffer
from svfri.render.shading import gbuffer_to_tensors, shade
from svfri.render.texture import sample_bilinear

__all__ = ["FitSettings", "FitResult", "pixel_weights", "fit_latents", "MIN_VIEW_COSINE", "EXCLUDED_REGIONS",
           "DEFAULT_ROUGHNESS", "LOSS_SPACES"]

#: Pixels whose geometric normal is more grazing than this (``n . v``) are left out of the loss.
MIN_VIEW_COSINE = 0.25
#: Template regions left out of the loss (not skin).
EXCLUDED_REGIONS = ("eyes", "mouth_interior")
#: Perceptual roughness of skin used by the fit (held fixed; Weyrich et al. 2006 measured ~0.3-0.5 for faces).
DEFAULT_ROUGHNESS = 0.45
LOSS_SPACES = ("srgb", "linear")


@dataclasses.dataclass(frozen=True)
class FitSettings:
    steps: int = 150
    learning_rate: float = 0.1
    beta_1: float = 0.9
    beta_2: float = 0.999
    loss_space: str = "srgb"
    roughness: float = DEFAULT_ROUGHNESS
    enhance: bool = True


@dataclasses.dataclass
class FitResult:
    """Maps as numpy ``[S, S, C]`` in [0, 1] (albedo sRGB, specular linear, normal encoded), SH ``[9, 3]``."""

    maps: dict[str, np.ndarray]
    light_sh: np.ndarray
    initial_maps: dict[str, np.ndarray]
    initial_light_sh: np.ndarray
    loss_history: list[float]
    radiance: np.ndarray        # [N, 3] linear, final render at the G-buffer pixels
    weights: np.ndarray         # [N] loss weights
    seconds_per_step: float
    seconds_encode: float


def pixel_weights(gbuffer: GBuffer, template: FaceTemplate) -> np.ndarray:
    """``[N]`` loss weights in ``[0, 1]`` (module docstring)."""
    masks = template.region_masks
    stacked = np.stack([masks["face"]] + [masks[name] for name in EXCLUDED_REGIONS], axis=-1)
    sampled = sample_bilinear(tf.constant(stacked, tf.float32), tf.constant(gbuffer.uv, tf.float32)).numpy()
    weights = sampled[:, 0] * np.prod(1.0 - sampled[:, 1:], axis=1)
    weights = weights * (gbuffer.normal[:, 2] >= MIN_VIEW_COSINE)
    return np.clip(weights, 0.0, 1.0).astype(np.float32)


def _to_numpy_maps(maps: dict) -> dict[str, np.ndarray]:
    return {c: np.asarray(maps[c][0].numpy(), dtype=np.float32) for c in COMPONENTS}


def fit_latents(networks: FaceNetworks, gbuffer: GBuffer, texture: np.ndarray, photo_srgb: np.ndarray,
                template: FaceTemplate, settings: FitSettings = FitSettings(), *,
                on_step: Callable[[int, float], None] | None = None) -> FitResult:
    """Runs the fit.

    Args:
      networks: trained :class:`~svfri.nets.FaceNetworks`.
      gbuffer: the photo's G-buffer (work-image pixels).
      texture: ``[S, S, 4]`` unwrapped photo T (sRGB + visibility mask).
      photo_srgb: ``[H, W, 3]`` the work image, sRGB in [0, 1] (same pixels as the G-buffer).
      on_step: called as ``on_step(step, loss)`` after every step (progress bars).
    """
    if settings.loss_space not in LOSS_SPACES:
        raise ValueError(f"loss_space must be one of {LOSS_SPACES}, got {settings.loss_space!r}")
    clock = time.perf_counter()
    texture_batch = tf.constant(texture[None], tf.float32)
    skips, latents = networks.encode(texture_batch)
    textures = networks.component_textures(texture_batch)
    initial_light = networks.predict_light(texture_batch)[0]
    initial_maps = _to_numpy_maps(networks.decode(latents, skips, textures, enhance=settings.enhance))
    seconds_encode = time.perf_counter() - clock

    variables = {c: tf.Variable(latents[c], name=f"z_{c}") for c in COMPONENTS}
    light = tf.Variable(initial_light, name="z_e")
    gb = gbuffer_to_tensors(gbuffer)
    target = photo_srgb.reshape(-1, 3)[gbuffer.pixel_index].astype(np.float32)
    weights_np = pixel_weights(gbuffer, template)
    weights = tf.constant(weights_np[:, None])
    weight_sum = tf.constant(max(float(weights_np.sum()) * 3.0, 1e-6))
    if settings.loss_space == "linear":
        from svfri.math.color import srgb_to_linear_np
        target = srgb_to_linear_np(target).astype(np.float32)
    target = tf.constant(target)
    optimiser = tf.keras.optimizers.Adam(settings.learning_rate, beta_1=settings.beta_1, beta_2=settings.beta_2)
    trainable = [variables[c] for c in COMPONENTS] + [light]
    roughness = tf.constant(settings.roughness, tf.float32)

    def render():
        maps = networks.decode(variables, skips, textures, enhance=settings.enhance, training=False)
        shaded = shade(gb, albedo_srgb_map=maps["albedo"][0], specular_map=maps["specular"][0],
                       normal_map=maps["normal"][0], light_sh=light, roughness=roughness)
        return maps, shaded["radiance"]

    @tf.function(reduce_retracing=True)
    def step():
        with tf.GradientTape() as tape:
            _, radiance = render()
            predicted = radiance
            if settings.loss_space == "srgb":
                predicted = linear_to_srgb(tf.clip_by_value(radiance, 0.0, 1.0))
            loss = tf.reduce_sum(weights * tf.square(predicted - target)) / weight_sum
        optimiser.apply_gradients(zip(tape.gradient(loss, trainable), trainable))
        return loss

    history = []
    clock = time.perf_counter()
    for index in range(settings.steps):
        loss = float(step())
        history.append(loss)
        if on_step is not None:
            on_step(index, loss)
    seconds_per_step = (time.perf_counter() - clock) / max(settings.steps, 1)
    maps, radiance = render()
    return FitResult(maps=_to_numpy_maps(maps), light_sh=light.numpy().astype(np.float64),
                     initial_maps=initial_maps, initial_light_sh=initial_light.numpy().astype(np.float64),
                     loss_history=history, radiance=radiance.numpy(), weights=weights_np,
                     seconds_per_step=seconds_per_step, seconds_encode=seconds_encode)
