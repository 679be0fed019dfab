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

Albedo level: the photo fixes only the product of albedo and light, so the fit cannot tell a dark face in bright
light from a light face in dim light, and neither can the albedo networks, which see only the face texture. The
caller may pass a gain ``g [3]`` from elsewhere (svfri's pipeline: the level regressor on the photo around the face,
:mod:`svfri.nets.level`); it multiplies the albedo decoder's output in linear light throughout the fit
(:func:`apply_albedo_gain`), the initial light is divided by it, and the steps then move the pattern and the light.
Without more, the codes can still move the decoder's own level, and the photo cannot say whether they should: Adam
moves the codes and the light at once, and which of them takes up the photo's brightness is decided by the step
sizes, not by evidence. ``FitSettings.hold_albedo_level`` removes that freedom (:func:`hold_level`): every step's
albedo is rescaled per channel in linear light so that its mean over the template's face region (eye openings and
mouth interior out, :data:`svfri.fitting.scene.EXCLUDED_REGIONS`) stays the initial albedo's::

    a'(x) = a(x) * m_0 / m(a),      m(a) = sum_x w(x) a(x) / sum_x w(x)     (linear RGB, per channel)

The steps then change the albedo's pattern only, and the SH light answers the level.

Speed: the loss of the steps is evaluated at the photo's *working resolution* (:mod:`svfri.fitting.scene`,
``FitSettings.working_face_px``); the occluder test, the final render and everything written are at the work
image's full resolution. The specular and normal maps are decoded once from the encoder's codes and held
(``FitSettings.held_maps``; optimised, they move by less than one 8-bit level, README "Speed"), so a step runs only
the albedo decoder and enhancer. Each step runs them on TensorFlow's graph runtime and the shading +
loss + its gradient w.r.t. the maps and light as one XLA-compiled function (``FitSettings.jit_shader``); the
codes' gradient is the decoders' vector-Jacobian product of the maps' gradient. The working resolution's pixel
count is padded with zero-weight pixels to a multiple of :data:`PIXEL_BUCKET` so that photos of similar size share
one compilation.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable

import numpy as np
import tensorflow as tf

from svfri.fitting.adam import ADAM_EPSILON, adam_update
from svfri.fitting.scene import (EXCLUDED_REGIONS, MIN_VIEW_COSINE, PhotoScene, in_loss_space, loss_target,
                                 pad_rows, pixel_weights, working_factor)
from svfri.fitting.settings import DEFAULT_ROUGHNESS, LOSS_SPACES, FitSettings
from svfri.geometry.template import FaceTemplate, region_weight
from svfri.math.color import linear_to_srgb, srgb_to_linear
from svfri.nets import COMPONENTS, FaceNetworks
from svfri.nets.enhancer import takes_texture
from svfri.render.gbuffer import GBuffer
from svfri.render.shading import shade

__all__ = ["FitSettings", "FitResult", "LatentFitter", "PhotoScene", "pixel_weights", "in_loss_space", "loss_target",
           "fit_latents", "ADAM_EPSILON", "OUTLIER_REJECTION_FRACTION", "OUTLIER_MAD_FACTOR", "MIN_VIEW_COSINE",
           "EXCLUDED_REGIONS", "DEFAULT_ROUGHNESS", "LOSS_SPACES", "PIXEL_BUCKET", "level_weights", "albedo_level",
           "hold_level"]

#: Fraction of the steps after which outlier pixels (occluders) are dropped from the loss; 0 disables it.
OUTLIER_REJECTION_FRACTION = 0.3
#: Robust z-score above which a pixel's residual counts as an outlier.
OUTLIER_MAD_FACTOR = 3.5
#: MAD to standard deviation for a normal distribution.
_MAD_TO_SIGMA = 1.4826
#: The albedo level's gain (per channel) is clipped to ``[1 / MAX_ALBEDO_GAIN, MAX_ALBEDO_GAIN]``.
MAX_ALBEDO_GAIN = 8.0
#: The working resolution's pixel count is padded (zero weight) to a multiple of this: one XLA compilation per
#: bucket, not per photo.
PIXEL_BUCKET = 2048


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
    scene: PhotoScene | None = None     # the per-photo render object (shared with the refinement)
    working_factor: int = 1             # the working resolution's shrink factor (1 = full resolution)
    working_pixels: int = 0             # G-buffer pixels at the working resolution (before padding)
    albedo_gain: np.ndarray = dataclasses.field(default_factory=lambda: np.ones(3))   # [3] the level's gain


def apply_albedo_gain(albedo_srgb: tf.Tensor, gain: tf.Tensor) -> tf.Tensor:
    """``srgb(clip(gain * linear(albedo), 0, 1))``: an sRGB-encoded albedo ``[..., 3]`` scaled per channel in linear
    light by ``gain [3]``."""
    return linear_to_srgb(tf.clip_by_value(srgb_to_linear(albedo_srgb) * gain, 0.0, 1.0))


def level_weights(template: FaceTemplate, size: int) -> np.ndarray:
    """``[size, size, 1]`` float32 weights of the albedo's level (:func:`hold_level`): the template's ``face`` region
    minus :data:`EXCLUDED_REGIONS`, resized to the map (area filter)."""
    return region_weight(template, size, exclude=EXCLUDED_REGIONS)[..., None].astype(np.float32)


def albedo_level(albedo_srgb: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
    """Mean linear colour ``[B, 3]`` of sRGB albedo maps ``[B, S, S, 3]`` under ``weights [S, S, 1]``."""
    linear = srgb_to_linear(albedo_srgb)
    return tf.reduce_sum(linear * weights, axis=[1, 2]) / tf.maximum(tf.reduce_sum(weights), 1e-6)


def hold_level(albedo_srgb: tf.Tensor, weights: tf.Tensor, level: tf.Tensor) -> tf.Tensor:
    """``srgb(clip(linear(a) * level / m(a), 0, 1))``: sRGB albedo maps ``[B, S, S, 3]`` rescaled per channel so that
    their weighted mean linear colour (:func:`albedo_level`) is ``level [3]`` (module docstring)."""
    ratio = level / tf.maximum(albedo_level(albedo_srgb, weights), 1e-6)               # [B, 3]
    return linear_to_srgb(tf.clip_by_value(srgb_to_linear(albedo_srgb) * ratio[:, None, None, :], 0.0, 1.0))


def _to_numpy_maps(maps: dict) -> dict[str, np.ndarray]:
    return {c: np.asarray(maps[c][0].numpy(), dtype=np.float32) for c in COMPONENTS}


def _padded_working_arguments(scene: PhotoScene, bucket: int) -> tuple[dict, tf.Tensor, int]:
    """The working resolution's G-buffer tensors and target with their pixel axis padded to a multiple of
    ``bucket`` (the padding gets weight 0 in :meth:`LatentFitter.fit`); returns them and the padded count."""
    count = scene.working_pixel_count
    padded = max(bucket, -(-count // bucket) * bucket)
    per_pixel = {key: pad_rows(value, padded) for key, value in scene.working_tensors.items() if key != "taps"}
    if "taps" in scene.working_tensors:
        per_pixel["taps"] = {key: type(taps)(*(pad_rows(part, padded) for part in taps))
                             for key, taps in scene.working_tensors["taps"].items()}
    return per_pixel, pad_rows(scene.working_target, padded), padded


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
        #: Per-channel linear gain on the albedo decoder's output (the albedo level, module docstring); 1 = none.
        self.albedo_gain = tf.Variable(tf.ones([3]), trainable=False, name="albedo_gain")
        self.initial_latents = {c: tf.Variable(tf.zeros_like(self.latents[c]), trainable=False) for c in COMPONENTS}
        #: Albedo map size -> (level weights [S, S, 1], held level [3]) for ``hold_albedo_level`` (set per photo).
        albedo = config.component("albedo")
        self._level = {size: (tf.Variable(tf.zeros([size, size, 1]), trainable=False),
                              tf.Variable(tf.ones([3]), trainable=False))
                       for size in sorted({albedo.texture_size, albedo.output_size})}
        #: Components whose codes are optimised; the others' maps are decoded once per photo and held.
        self.moving = tuple(c for c in COMPONENTS if c not in settings.held_maps)
        self.trainable = [self.latents[c] for c in self.moving] + [self.light]
        self._first_moment = [tf.Variable(tf.zeros_like(v)) for v in self.trainable]
        self._second_moment = [tf.Variable(tf.zeros_like(v)) for v in self.trainable]
        self._iteration = tf.Variable(0.0)
        #: Map sizes whose bilinear taps the per-photo scene precomputes (decoder and enhancer outputs).
        self.map_sizes = tuple(sorted({size for c in COMPONENTS for size in (
            config.component(c).texture_size, config.component(c).output_size)}))
        self._shade_loss = tf.function(self._shade_loss_eager, jit_compile=settings.jit_shader,
                                       reduce_retracing=True)
        self._step = tf.function(self._step_eager, reduce_retracing=True)

    def scene(self, gbuffer: GBuffer, photo_srgb: np.ndarray, template: FaceTemplate) -> PhotoScene:
        """The per-photo render object for this fitter's settings (working resolution, loss space, map sizes)."""
        return PhotoScene(gbuffer, photo_srgb, template, loss_space=self.settings.loss_space,
                          map_sizes=self.map_sizes, factor=working_factor(gbuffer, self.settings.working_face_px))

    def _decode(self, skips, textures, held: dict, gained: bool) -> dict:
        """Maps ``[1, S, S, C]`` of every component: the moving ones decoded (and enhanced) from the current codes,
        the held ones as given."""
        return self._decode_with(skips, textures, held, enhance=self.settings.enhance == "loop", gained=gained)

    def _decode_with(self, skips, textures, held: dict, *, enhance: bool, gained: bool) -> dict:
        """``gained``: apply :attr:`albedo_gain` to the moving albedo (a Python bool, so a photo fitted without a
        level gain traces a step without the sRGB round trip, ~2.5 ms of a 20-40 ms step)."""
        maps = dict(held)
        for c in self.moving:
            coarse = self.networks.decoders[c]([self.latents[c], *skips[c]], training=False)
            if enhance:
                inputs = [coarse, textures[c]] if takes_texture(c) else coarse
                coarse = self.networks.enhancers[c](inputs, training=False)
            maps[c] = coarse
        if gained and "albedo" in self.moving:
            maps["albedo"] = apply_albedo_gain(maps["albedo"], self.albedo_gain)
        if self.settings.hold_albedo_level and "albedo" in self.moving:
            weights, level = self._level[int(maps["albedo"].shape[1])]
            maps["albedo"] = hold_level(maps["albedo"], weights, level)
        return maps

    def _render_output(self, gb, skips, textures, held_output: dict, gained: bool):
        """Maps and radiance of what the fit writes: the steps' maps, except that with ``enhance="after"`` the
        enhancers run once here on the final codes (and the held maps are their enhanced versions)."""
        return self._shaded(gb, self._decode_with(skips, textures, held_output,
                                                  enhance=self.settings.enhance != "off", gained=gained))

    def _render(self, gb, skips, textures, held, gained: bool):
        return self._shaded(gb, self._decode(skips, textures, held, gained))

    def _shaded(self, gb, maps: dict):
        """``(maps, radiance)``: ``maps`` shaded under the current light."""
        shaded = shade(gb, albedo_srgb_map=maps["albedo"][0], specular_map=maps["specular"][0],
                       normal_map=maps["normal"][0], light_sh=self.light, roughness=self.settings.roughness)
        return maps, shaded["radiance"]

    def _shade_loss_eager(self, albedo, specular, normal, light, gb, target, weights, weight_sum):
        """Data loss of maps ``[S, S, C]`` and light ``[9, 3]`` and its gradients w.r.t. them (XLA-compiled)."""
        with tf.GradientTape() as tape:
            tape.watch([albedo, specular, normal, light])
            radiance = shade(gb, albedo_srgb_map=albedo, specular_map=specular, normal_map=normal,
                             light_sh=light, roughness=self.settings.roughness)["radiance"]
            predicted = in_loss_space(radiance, self.settings.loss_space)
            loss = tf.reduce_sum(weights * tf.square(predicted - target)) / weight_sum
        return loss, tape.gradient(loss, [albedo, specular, normal, light])

    def _step_eager(self, gb, skips, textures, held, target, weights, weight_sum, gained):
        settings = self.settings
        with tf.GradientTape() as tape:
            maps = self._decode(skips, textures, held, gained)
            prior = tf.constant(0.0)
            if settings.latent_prior_weight and self.moving:
                prior = settings.latent_prior_weight * tf.add_n(
                    [tf.reduce_mean(tf.square(self.latents[c] - self.initial_latents[c])) for c in self.moving])
        data, map_gradients = self._shade_loss(
            maps["albedo"][0], maps["specular"][0], maps["normal"][0], tf.convert_to_tensor(self.light), gb,
            target, weights, weight_sum)
        d_maps = dict(zip(COMPONENTS, map_gradients[:3]))
        code_gradients = []
        if self.moving:
            code_gradients = tape.gradient([maps[c] for c in self.moving] + [prior],
                                           [self.latents[c] for c in self.moving],
                                           output_gradients=[d_maps[c][None] for c in self.moving]
                                           + [tf.ones_like(prior)])
        gradients = list(code_gradients) + [map_gradients[3]]
        self._iteration.assign_add(1.0)
        for variable, gradient, m, v in zip(self.trainable, gradients, self._first_moment, self._second_moment):
            adam_update(variable, gradient, m, v, self._iteration, settings.learning_rate, settings.beta_1,
                        settings.beta_2)
        return data + prior

    def fit(self, gbuffer: GBuffer, texture: np.ndarray, photo_srgb: np.ndarray, template: FaceTemplate, *,
            on_step: Callable[[int, float], None] | None = None, snapshot_every: int = 0,
            on_snapshot: Callable[[int, dict[str, np.ndarray], np.ndarray], None] | None = None,
            scene: PhotoScene | None = None,
            albedo_gain: Callable[[np.ndarray], np.ndarray] | None = None) -> FitResult:
        """Runs the fit on one photo.

        Args:
          gbuffer: the photo's G-buffer (work-image pixels).
          texture: ``[S, S, 4]`` unwrapped photo T (sRGB + visibility mask).
          photo_srgb: ``[H, W, 3]`` the work image, sRGB in [0, 1] (same pixels as the G-buffer).
          on_step: called as ``on_step(step, loss)`` after every step (progress bars).
          snapshot_every, on_snapshot: every ``snapshot_every`` steps, ``on_snapshot(step, maps, light_sh)`` gets
            the current maps (numpy, as in :class:`FitResult`) and lighting.
          scene: the photo's render object (:meth:`scene`); built here when not given. Returned in the result for
            the refinement to reuse.
          albedo_gain: the albedo level (module docstring): called once with the decoded initial albedo (``[S, S,
            3]`` sRGB, as written) and returns the per-channel linear gain ``g [3]`` held on the albedo decoder's
            output for the whole fit; the initial light is divided by ``g`` so that the initial render is unchanged.
            ``None``: no gain (the networks' own level).
        """
        settings, networks = self.settings, self.networks
        clock = time.perf_counter()
        texture_batch = tf.constant(texture[None], tf.float32)
        skips, latents = networks.encode(texture_batch)
        textures = networks.component_textures(texture_batch)
        initial_light = networks.predict_light(texture_batch)[0]
        coarse = networks.decode_coarse(latents, skips)
        decoded = coarse if settings.enhance == "off" else networks.enhance(coarse, textures)
        gain, gained = np.ones(3), albedo_gain is not None
        if gained:
            gain = np.clip(np.asarray(albedo_gain(np.asarray(decoded["albedo"][0].numpy(), np.float32)), np.float64),
                           1.0 / MAX_ALBEDO_GAIN, MAX_ALBEDO_GAIN)
            initial_light = initial_light / tf.constant(gain[None, :], tf.float32)
        self.albedo_gain.assign(gain.astype(np.float32))
        if gained:
            coarse, decoded = ({**maps, "albedo": apply_albedo_gain(maps["albedo"], self.albedo_gain)}
                               for maps in (coarse, decoded))
        initial_maps = _to_numpy_maps(decoded)
        if settings.hold_albedo_level:
            for maps in (coarse, decoded):
                weights, level = self._level[int(maps["albedo"].shape[1])]
                weights.assign(level_weights(template, int(maps["albedo"].shape[1])))
                level.assign(albedo_level(maps["albedo"], weights)[0])
        held_output = {c: decoded[c] for c in COMPONENTS if c not in self.moving}
        in_loop = decoded if settings.enhance == "loop" else coarse
        held = {c: in_loop[c] for c in COMPONENTS if c not in self.moving}
        for component in COMPONENTS:
            self.latents[component].assign(latents[component])
            self.initial_latents[component].assign(latents[component])
        self.light.assign(initial_light)
        for moment in self._first_moment + self._second_moment:
            moment.assign(tf.zeros_like(moment))
        self._iteration.assign(0.0)
        seconds_encode = time.perf_counter() - clock

        scene = scene if scene is not None else self.scene(gbuffer, photo_srgb, template)
        gb_full, target_full = scene.tensors, scene.target
        gb, target, padded = _padded_working_arguments(scene, PIXEL_BUCKET)
        weights_np = scene.base_weights

        def step_arguments(weights: np.ndarray) -> tuple:
            working = np.zeros(padded, np.float32)
            working[:scene.working_pixel_count] = scene.working_weights(weights)
            return (gb, skips, textures, held, target, tf.constant(working[:, None]),
                    tf.constant(max(float(working.sum()) * 3.0, 1e-6)), gained)

        arguments = step_arguments(weights_np)
        rejection_step = int(round(settings.steps * OUTLIER_REJECTION_FRACTION)) if settings.reject_outliers else 0
        outliers = 0
        history = []
        clock = time.perf_counter()
        for index in range(settings.steps):
            if rejection_step and index == rejection_step:
                keep = self._inliers(gb_full, skips, textures, held, target_full, weights_np, gained)
                outliers = int(np.count_nonzero((weights_np > 0) & ~keep))
                weights_np = weights_np * keep
                arguments = step_arguments(weights_np)
            loss = float(self._step(*arguments))
            history.append(loss)
            if on_step is not None:
                on_step(index, loss)
            if on_snapshot is not None and snapshot_every and (index + 1) % snapshot_every == 0:
                # What would be written if the fit stopped here (with enhance="after": enhanced once for it).
                maps = self._decode_with(skips, textures, held_output, enhance=settings.enhance != "off",
                                         gained=gained)
                on_snapshot(index + 1, _to_numpy_maps(maps), self.light.numpy().astype(np.float64))
        seconds_per_step = (time.perf_counter() - clock) / max(settings.steps, 1)  # snapshots included
        maps, radiance = self._render_output(gb_full, skips, textures, held_output, gained)
        return FitResult(maps=_to_numpy_maps(maps), light_sh=self.light.numpy().astype(np.float64),
                         initial_maps=initial_maps, initial_light_sh=initial_light.numpy().astype(np.float64),
                         loss_history=history, radiance=radiance.numpy(), weights=weights_np,
                         outlier_pixels=outliers, seconds_per_step=seconds_per_step, seconds_encode=seconds_encode,
                         scene=scene, working_factor=scene.factor, working_pixels=scene.working_pixel_count,
                         albedo_gain=gain)

    def _inliers(self, gb, skips, textures, held, target: tf.Tensor, weights: np.ndarray,
                 gained: bool) -> np.ndarray:
        """``[N]`` bool: pixels whose current residual passes the robust z-score test (module docstring), at the
        work image's full resolution."""
        _, radiance = self._render(gb, skips, textures, held, gained)
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
