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

Occluders (hair over the forehead, glasses, hands) are not skin either and the face mesh does not know about them.
After :data:`OUTLIER_REJECTION_FRACTION` of the steps, when the render already explains the skin, pixels whose
residual is an outlier (above ``median + OUTLIER_MAD_FACTOR * 1.4826 * MAD`` of the weighted residuals, a robust
z-score test; Hampel 1974) get weight 0 for the remaining steps. This is one round of the classic robust
re-weighting, not a learned occlusion mask: it removes strong occluders, not faint ones, and it can also drop
specular highlights the model cannot yet reproduce.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable

import numpy as np
import tensorflow as tf

from svfri.fitting.adam import ADAM_EPSILON, adam_update
from svfri.fitting.settings import DEFAULT_ROUGHNESS, LOSS_SPACES, FitSettings
from svfri.geometry.template import FaceTemplate
from svfri.math.color import linear_to_srgb, srgb_to_linear_np
from svfri.nets import COMPONENTS, FaceNetworks
from svfri.render.gbuffer import GBuffer
from svfri.render.shading import gbuffer_to_tensors, shade
from svfri.render.texture import sample_bilinear

__all__ = ["FitSettings", "FitResult", "LatentFitter", "pixel_weights", "in_loss_space", "loss_target", "fit_latents", "ADAM_EPSILON", "OUTLIER_REJECTION_FRACTION",
           "OUTLIER_MAD_FACTOR", "MIN_VIEW_COSINE", "EXCLUDED_REGIONS",
           "DEFAULT_ROUGHNESS", "LOSS_SPACES"]

#: Pixels whose geometric normal is more grazing than this (``n . v``) are left out of the loss.
MIN_VIEW_COSINE = 0.25
#: Template regions left out of the loss (not skin).
EXCLUDED_REGIONS = ("eyes", "mouth_interior")
#: Fraction of the steps after which outlier pixels (occluders) are dropped from the loss; 0 disables it.
OUTLIER_REJECTION_FRACTION = 0.3
#: Robust z-score above which a pixel's residual counts as an outlier.
OUTLIER_MAD_FACTOR = 3.5
#: MAD to standard deviation for a normal distribution.
_MAD_TO_SIGMA = 1.4826


@dataclasses.dataclass
class FitResult:
    """Maps as numpy ``[S, S, C]`` in [0, 1] (albedo sRGB, specular linear, normal encoded), SH ``[9, 3]``."""

    maps: dict[str, np.ndarray]
    light_sh: np.ndarray
    initial_maps: dict[str, np.ndarray]
    initial_light_sh: np.ndarray
    loss_history: list[float]
    radiance: np.ndarray        # [N, 3] linear, final render at the G-buffer pixels
    weights: np.ndarray         # [N] loss weights (after outlier rejection)
    outlier_pixels: int
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


def in_loss_space(radiance: tf.Tensor, loss_space: str) -> tf.Tensor:
    """Linear radiance ``[N, 3]`` in the loss's comparison space ``f`` (module docstring): sRGB-encoded after
    clamping to ``[0, 1]`` (``"srgb"``), or as it is (``"linear"``)."""
    if loss_space == "srgb":
        return linear_to_srgb(tf.clip_by_value(radiance, 0.0, 1.0))
    return radiance


def loss_target(photo_srgb: np.ndarray, gbuffer: GBuffer, loss_space: str) -> np.ndarray:
    """``[N, 3]`` float32: the photo (sRGB ``[H, W, 3]`` on the G-buffer's pixels) in the loss's comparison space."""
    target = np.asarray(photo_srgb).reshape(-1, 3)[gbuffer.pixel_index].astype(np.float32)
    return srgb_to_linear_np(target).astype(np.float32) if loss_space == "linear" else target


def _to_numpy_maps(maps: dict) -> dict[str, np.ndarray]:
    return {c: np.asarray(maps[c][0].numpy(), dtype=np.float32) for c in COMPONENTS}


class LatentFitter:
    """The fit's compiled step, built once per (networks, settings) and reused for every photo of a batch.

    Adam is :func:`svfri.fitting.adam.adam_update`, whose state is reset between photos without retracing.
    """

    def __init__(self, networks: FaceNetworks, settings: FitSettings = FitSettings()):
        if settings.loss_space not in LOSS_SPACES:
            raise ValueError(f"loss_space must be one of {LOSS_SPACES}, got {settings.loss_space!r}")
        self.networks = networks
        self.settings = settings
        config = networks.config
        self.latents = {c: tf.Variable(tf.zeros([1, config.component(c).latent_size]), name=f"z_{c}")
                        for c in COMPONENTS}
        self.light = tf.Variable(tf.zeros([9, 3]), name="z_e")
        self.initial_latents = {c: tf.Variable(tf.zeros_like(self.latents[c]), trainable=False) for c in COMPONENTS}
        self.trainable = [self.latents[c] for c in COMPONENTS] + [self.light]
        self._first_moment = [tf.Variable(tf.zeros_like(v)) for v in self.trainable]
        self._second_moment = [tf.Variable(tf.zeros_like(v)) for v in self.trainable]
        self._iteration = tf.Variable(0.0)
        self._step = tf.function(self._step_eager, reduce_retracing=True)

    def _render(self, gb, skips, textures):
        maps = self.networks.decode(self.latents, skips, textures, enhance=self.settings.enhance, training=False)
        shaded = shade(gb, albedo_srgb_map=maps["albedo"][0], specular_map=maps["specular"][0],
                       normal_map=maps["normal"][0], light_sh=self.light, roughness=self.settings.roughness)
        return maps, shaded["radiance"]

    def _step_eager(self, gb, skips, textures, target, weights, weight_sum):
        settings = self.settings
        with tf.GradientTape() as tape:
            _, radiance = self._render(gb, skips, textures)
            predicted = in_loss_space(radiance, settings.loss_space)
            loss = tf.reduce_sum(weights * tf.square(predicted - target)) / weight_sum
            if settings.latent_prior_weight:
                loss += settings.latent_prior_weight * tf.add_n(
                    [tf.reduce_mean(tf.square(self.latents[c] - self.initial_latents[c])) for c in COMPONENTS])
        gradients = tape.gradient(loss, self.trainable)
        self._iteration.assign_add(1.0)
        for variable, gradient, m, v in zip(self.trainable, gradients, self._first_moment, self._second_moment):
            adam_update(variable, gradient, m, v, self._iteration, settings.learning_rate, settings.beta_1,
                        settings.beta_2)
        return loss

    def fit(self, gbuffer: GBuffer, texture: np.ndarray, photo_srgb: np.ndarray, template: FaceTemplate, *,
            on_step: Callable[[int, float], None] | None = None, snapshot_every: int = 0,
            on_snapshot: Callable[[int, dict[str, np.ndarray], np.ndarray], None] | None = None) -> FitResult:
        """Runs the fit on one photo.

        Args:
          gbuffer: the photo's G-buffer (work-image pixels).
          texture: ``[S, S, 4]`` unwrapped photo T (sRGB + visibility mask).
          photo_srgb: ``[H, W, 3]`` the work image, sRGB in [0, 1] (same pixels as the G-buffer).
          on_step: called as ``on_step(step, loss)`` after every step (progress bars).
          snapshot_every, on_snapshot: every ``snapshot_every`` steps, ``on_snapshot(step, maps, light_sh)`` gets
            the current maps (numpy, as in :class:`FitResult`) and lighting.
        """
        settings, networks = self.settings, self.networks
        clock = time.perf_counter()
        texture_batch = tf.constant(texture[None], tf.float32)
        skips, latents = networks.encode(texture_batch)
        textures = networks.component_textures(texture_batch)
        initial_light = networks.predict_light(texture_batch)[0]
        initial_maps = _to_numpy_maps(networks.decode(latents, skips, textures, enhance=settings.enhance))
        for component in COMPONENTS:
            self.latents[component].assign(latents[component])
            self.initial_latents[component].assign(latents[component])
        self.light.assign(initial_light)
        for moment in self._first_moment + self._second_moment:
            moment.assign(tf.zeros_like(moment))
        self._iteration.assign(0.0)
        seconds_encode = time.perf_counter() - clock

        gb = gbuffer_to_tensors(gbuffer)
        target = loss_target(photo_srgb, gbuffer, settings.loss_space)
        weights_np = pixel_weights(gbuffer, template)
        target = tf.constant(target)

        def step_arguments(weights: np.ndarray) -> tuple:
            return (gb, skips, textures, target, tf.constant(weights[:, None]),
                    tf.constant(max(float(weights.sum()) * 3.0, 1e-6)))

        arguments = step_arguments(weights_np)
        rejection_step = int(round(settings.steps * OUTLIER_REJECTION_FRACTION)) if settings.reject_outliers else 0
        outliers = 0
        history = []
        clock = time.perf_counter()
        for index in range(settings.steps):
            if rejection_step and index == rejection_step:
                keep = self._inliers(gb, skips, textures, target, weights_np)
                outliers = int(np.count_nonzero((weights_np > 0) & ~keep))
                weights_np = weights_np * keep
                arguments = step_arguments(weights_np)
            loss = float(self._step(*arguments))
            history.append(loss)
            if on_step is not None:
                on_step(index, loss)
            if on_snapshot is not None and snapshot_every and (index + 1) % snapshot_every == 0:
                maps, _ = self._render(gb, skips, textures)
                on_snapshot(index + 1, _to_numpy_maps(maps), self.light.numpy().astype(np.float64))
        seconds_per_step = (time.perf_counter() - clock) / max(settings.steps, 1)  # snapshots included
        maps, radiance = self._render(gb, skips, textures)
        return FitResult(maps=_to_numpy_maps(maps), light_sh=self.light.numpy().astype(np.float64),
                         initial_maps=initial_maps, initial_light_sh=initial_light.numpy().astype(np.float64),
                         loss_history=history, radiance=radiance.numpy(), weights=weights_np,
                         outlier_pixels=outliers, seconds_per_step=seconds_per_step, seconds_encode=seconds_encode)

    def _inliers(self, gb, skips, textures, target: tf.Tensor, weights: np.ndarray) -> np.ndarray:
        """``[N]`` bool: pixels whose current residual passes the robust z-score test (module docstring)."""
        _, radiance = self._render(gb, skips, textures)
        predicted = in_loss_space(radiance, self.settings.loss_space)
        residual = np.abs(predicted.numpy() - target.numpy()).mean(axis=1)
        counted = residual[weights > 0]
        if counted.size == 0:
            return np.ones_like(residual, dtype=bool)
        median = float(np.median(counted))
        spread = _MAD_TO_SIGMA * float(np.median(np.abs(counted - median)))
        return residual <= median + OUTLIER_MAD_FACTOR * max(spread, 1e-6)


def fit_latents(networks: FaceNetworks, gbuffer: GBuffer, texture: np.ndarray, photo_srgb: np.ndarray,
                template: FaceTemplate, settings: FitSettings = FitSettings(), **options) -> FitResult:
    """One-off fit (a fresh :class:`LatentFitter`; batches should keep one fitter and call its ``fit``)."""
    return LatentFitter(networks, settings).fit(gbuffer, texture, photo_srgb, template, **options)
