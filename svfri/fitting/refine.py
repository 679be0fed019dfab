"""Detail refinement: a per-texel correction of the fitted albedo, through the same renderer, after the latent fit.

Why: the latent fit can only move the albedo within what the decoder can express from ``z_a`` (plus the fixed
skip features), and svfri's networks are small and trained on synthetic faces, so lips, brows, stubble and
freckles come out weaker than the photo shows them. NextFace (Dib et al. 2021) and FitMe (Lattas et al. 2023)
end their fits the same way: once the lighting and the statistical maps are fixed, a last stage optimises the
texture itself, under priors that keep it close to the statistical model.

What is optimised: a log-ratio ``delta [S, S, 3]`` on the **linear** albedo map,
``a(u) = a_fit(u) * exp(delta(u))``, with the lighting, the specular and normal maps and the geometry held at the
latent fit's result. The render is then affine in the albedo (paper eq. 5)::

    I_p = a(uv_p) * D_p + S_p,        D_p = (1 - E_s) L_d  (diffuse of a white albedo),  S_p = L_s

so ``D`` and ``S`` are computed once by :func:`svfri.render.shading.shade` and each step only samples
``a`` (bilinear, precomputed taps). Loss, minimised by Adam (:func:`adam_update`)::

    L(delta) = sum_p w_p |f(I_p) - f(photo_p)|^2 / (3 sum_p w_p)                       data, as in the fit
             + lambda_prior    * mean_face(delta^2)                                    stay near the fit
             + lambda_smooth   * mean(|grad delta|^2)                                  no texel noise
             + lambda_lowpass  * mean_face((G_sigma * delta)^2)                        detail, not shading

``f`` and ``w_p`` are the fit's own (its comparison space and its pixel weights after outlier rejection), so the
eyes, the mouth interior, grazing pixels and rejected occluders leave ``delta`` at 0 there. ``mean_face`` averages
over the template's UV ``face`` region; outside it ``delta`` is held at 0.

**Approximation: what keeps shading out of the albedo.** Anything the renderer cannot explain -- a hard key
light's cast shadow (order-2 SH light cannot make one), a sharp highlight, a wrinkle missing from the mesh -- shows
up in the residual exactly like an albedo change, and a per-texel albedo would absorb it. The priors decide how
much: the weights of :class:`~svfri.fitting.settings.RefineSettings` were chosen on synthetic faces with known
albedo, lit by SH light and by a hard sun with ray-traced cast shadows (``benchmarks/refine_tuning.py``, results in
``docs/benchmarks/refine_tuning.md`` and ``refine_tuning_round2.md``), maximising albedo PSNR under both. With
``lambda_prior = 3e-2, lambda_smooth = 0.3`` the stage raised albedo PSNR under both lights (+0.35 / +0.31 dB over
the latent fit) and photo PSNR by ~3.3 dB; with ``lambda_prior = 1e-3`` it baked part of the sun's cast shadows
into the albedo (-0.16 dB under the sun). The low-pass term
(penalising the Gaussian low-pass of ``delta``, ``sigma`` a fraction of the map, so that the stage adds local
detail but does not re-shade the face) lowered albedo PSNR under both lights in that measurement (a likely reason,
not verified: its optimum puts opposite-signed halos round each local change), so it is off by default (``lowpass_weight = 0``) and left as a setting.
It is a prior, not a separation: sharp cast-shadow edges and small highlights can still leak into the albedo.
"""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np
import tensorflow as tf

from svfri.fitting.adam import adam_update
from svfri.fitting.optimise import PIXEL_BUCKET, FitResult
from svfri.fitting.scene import PhotoScene, in_loss_space, loss_target, pad_rows
from svfri.fitting.settings import RefineSettings
from svfri.geometry.template import FaceTemplate
from svfri.math.color import linear_to_srgb_np, srgb_to_linear_np
from svfri.render.gbuffer import GBuffer
from svfri.render.shading import gbuffer_to_tensors, shade
from svfri.render.texture import BilinearTaps, bilinear_taps, sample_bilinear_taps

__all__ = ["RefineSettings", "RefineResult", "AlbedoRefiner", "gaussian_kernel_1d", "lowpass", "face_texel_mask",
           "MAX_LOG_RATIO", "LOWPASS_POOL"]

#: ``|delta|`` is clamped to ``log(4)``: the refinement may scale the fitted albedo by 1/4 .. 4, no further.
MAX_LOG_RATIO = math.log(4.0)
#: The low-pass is taken on ``delta`` average-pooled by this factor (a cheap pre-filter; the Gaussian that follows
#: is ``sigma / LOWPASS_POOL`` texels wide on the pooled grid).
LOWPASS_POOL = 4
#: Gaussian kernels reach this many standard deviations each side.
_KERNEL_RADIUS_SIGMAS = 3.0


@dataclasses.dataclass
class RefineResult:
    """``albedo``: ``[S, S, 3]`` refined albedo, sRGB in ``[0, 1]``; ``radiance``: ``[N, 3]`` linear render with it;
    ``log_ratio``: ``[S, S, 3]`` the final ``delta``; ``loss_history``: total loss per step (data + priors);
    ``data_loss_history``: the data term alone; ``seconds``: wall time of the stage."""

    albedo: np.ndarray
    radiance: np.ndarray
    log_ratio: np.ndarray
    loss_history: list[float]
    data_loss_history: list[float]
    seconds: float


def gaussian_kernel_1d(sigma: float) -> np.ndarray:
    """Normalised sampled Gaussian ``exp(-x^2 / (2 sigma^2))``, ``x`` in whole texels out to 3 sigma; ``[K]``."""
    radius = max(1, int(math.ceil(_KERNEL_RADIUS_SIGMAS * sigma)))
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (x / max(sigma, 1e-6)) ** 2)
    return (kernel / kernel.sum()).astype(np.float32)


def lowpass(image: tf.Tensor, sigma: float, pool: int = LOWPASS_POOL) -> tf.Tensor:
    """Low-pass ``[H, W, C] -> [H / pool, W / pool, C]``: ``pool x pool`` average pooling, then a separable Gaussian
    of ``sigma / pool`` texels on the pooled grid (zero padding: the image is taken as 0 outside).

    ``sigma`` is in texels of the input; ``H`` and ``W`` must be multiples of ``pool``.
    """
    channels = int(image.shape[-1])
    pooled = tf.nn.avg_pool2d(image[None], ksize=pool, strides=pool, padding="VALID")
    kernel = tf.constant(gaussian_kernel_1d(sigma / pool))
    size = int(kernel.shape[0])
    vertical = tf.tile(tf.reshape(kernel, [size, 1, 1, 1]), [1, 1, channels, 1])
    horizontal = tf.tile(tf.reshape(kernel, [1, size, 1, 1]), [1, 1, channels, 1])
    blurred = tf.nn.depthwise_conv2d(pooled, vertical, strides=[1, 1, 1, 1], padding="SAME")
    blurred = tf.nn.depthwise_conv2d(blurred, horizontal, strides=[1, 1, 1, 1], padding="SAME")
    return blurred[0]


def face_texel_mask(face_region: np.ndarray, size: int) -> np.ndarray:
    """The template's UV ``face`` region (``[512, 512]`` soft mask) resampled to ``[size, size, 1]`` in ``[0, 1]``."""
    import cv2

    region = np.asarray(face_region, np.float32)
    if region.shape[0] != size:
        interpolation = cv2.INTER_AREA if size < region.shape[0] else cv2.INTER_LINEAR
        region = cv2.resize(region, (size, size), interpolation=interpolation)
    return np.clip(region, 0.0, 1.0)[..., None].astype(np.float32)


class AlbedoRefiner:
    """The refinement for one map size; its step is traced once and reused for every photo of a batch."""

    def __init__(self, size: int, settings: RefineSettings = RefineSettings(), loss_space: str = "srgb"):
        if size % LOWPASS_POOL:
            raise ValueError(f"albedo map side must be a multiple of {LOWPASS_POOL}, got {size}")
        self.size = size
        self.settings = settings
        self.loss_space = loss_space
        self.log_ratio = tf.Variable(tf.zeros([size, size, 3]), name="albedo_log_ratio")
        self._first_moment = tf.Variable(tf.zeros([size, size, 3]))
        self._second_moment = tf.Variable(tf.zeros([size, size, 3]))
        self._iteration = tf.Variable(0.0)
        self._step = tf.function(self._step_eager, jit_compile=settings.jit, reduce_retracing=True)

    def _albedo_linear(self, base_linear: tf.Tensor, face: tf.Tensor) -> tf.Tensor:
        return base_linear * tf.exp(face * self.log_ratio)

    def _losses(self, base_linear, face, face_low, taps_indices, taps_weights, diffuse, specular, target, weights,
                weight_sum):
        """(total, data) losses (module docstring); ``face_low`` is ``face`` pooled as :func:`lowpass` pools."""
        settings = self.settings
        albedo = self._albedo_linear(base_linear, face)
        sampled = sample_bilinear_taps(albedo, BilinearTaps(taps_indices, taps_weights))
        predicted = in_loss_space(sampled * diffuse + specular, self.loss_space)
        data = tf.reduce_sum(weights * tf.square(predicted - target)) / weight_sum
        delta = face * self.log_ratio
        prior = tf.reduce_sum(tf.square(delta)) / (tf.reduce_sum(face) * 3.0 + 1e-6)
        smooth = (tf.reduce_mean(tf.square(delta[1:] - delta[:-1]))
                  + tf.reduce_mean(tf.square(delta[:, 1:] - delta[:, :-1])))
        total = data + settings.prior_weight * prior + settings.smooth_weight * smooth
        if settings.lowpass_weight:         # off by default: no pooling or convolution in the step then
            low = lowpass(delta, settings.lowpass_sigma * self.size)
            lowpass_term = tf.reduce_sum(face_low * tf.square(low)) / (tf.reduce_sum(face_low) * 3.0 + 1e-6)
            total += settings.lowpass_weight * lowpass_term
        return total, data

    def _step_eager(self, base_linear, face, face_low, taps_indices, taps_weights, diffuse, specular, target,
                    weights, weight_sum):
        settings = self.settings
        with tf.GradientTape() as tape:
            total, data = self._losses(base_linear, face, face_low, taps_indices, taps_weights, diffuse, specular,
                                       target, weights, weight_sum)
        gradient = tape.gradient(total, self.log_ratio)
        self._iteration.assign_add(1.0)
        adam_update(self.log_ratio, gradient, self._first_moment, self._second_moment, self._iteration,
                    settings.learning_rate)
        self.log_ratio.assign(tf.clip_by_value(self.log_ratio, -MAX_LOG_RATIO, MAX_LOG_RATIO))
        return total, data

    def refine(self, gbuffer: GBuffer, photo_srgb: np.ndarray, *, albedo_srgb: np.ndarray, specular: np.ndarray,
               normal: np.ndarray, light_sh: np.ndarray, roughness: float, weights: np.ndarray,
               face_region: np.ndarray, on_step=None, scene: PhotoScene | None = None) -> RefineResult:
        """Refines ``albedo_srgb [S, S, 3]`` against the photo (module docstring).

        Args:
          gbuffer: the fit's G-buffer; photo_srgb: ``[H, W, 3]`` the work image, sRGB in ``[0, 1]``.
          albedo_srgb, specular, normal: the latent fit's maps (sRGB / linear ``[.., 1]`` / encoded), ``[0, 1]``.
          light_sh: ``[9, 3]`` the fitted light; roughness: the fit's perceptual roughness.
          weights: ``[N]`` the fit's pixel weights (after its outlier rejection).
          face_region: the template's ``face`` UV mask (any square size; resampled to ``S``).
          on_step: called as ``on_step(step, total_loss)``.
          scene: the latent fit's render object for this G-buffer (:class:`~svfri.fitting.scene.PhotoScene`):
            its G-buffer tensors, bilinear taps and loss target are reused instead of rebuilt (full resolution).
        """
        clock = time.perf_counter()
        albedo_srgb = np.asarray(albedo_srgb, np.float32)
        if albedo_srgb.shape != (self.size, self.size, 3):
            raise ValueError(f"albedo map must be [{self.size}, {self.size}, 3], got {albedo_srgb.shape}")
        reuse = scene is not None and scene.gbuffer is gbuffer and scene.loss_space == self.loss_space
        gb = scene.tensors if reuse else gbuffer_to_tensors(gbuffer)
        white = np.ones_like(albedo_srgb)
        shaded = shade(gb, albedo_srgb_map=white, specular_map=np.asarray(specular, np.float32),
                       normal_map=np.asarray(normal, np.float32), light_sh=np.asarray(light_sh, np.float32),
                       roughness=np.float32(roughness))
        diffuse, specular_radiance = shaded["diffuse"], shaded["specular"]
        taps = scene.taps(self.size) if reuse else None
        if taps is None:
            taps = bilinear_taps(gb["uv"], self.size, self.size)
        target = scene.target if reuse else tf.constant(loss_target(photo_srgb, gbuffer, self.loss_space))
        base_linear = tf.constant(srgb_to_linear_np(albedo_srgb).astype(np.float32))
        face = tf.constant(face_texel_mask(face_region, self.size))
        face_low = tf.nn.avg_pool2d(face[None], ksize=LOWPASS_POOL, strides=LOWPASS_POOL, padding="VALID")[0]
        weights = np.asarray(weights, np.float32)
        per_pixel = (taps.indices, taps.weights, diffuse, specular_radiance, target, tf.constant(weights[:, None]))
        if self.settings.jit:  # zero-weight padding: photos of similar size share one XLA compilation
            count = int(weights.shape[0])
            padded = max(PIXEL_BUCKET, -(-count // PIXEL_BUCKET) * PIXEL_BUCKET)
            per_pixel = tuple(pad_rows(value, padded) for value in per_pixel[:-1]) + (
                tf.constant(np.pad(weights, (0, padded - count))[:, None]),)
        arguments = (base_linear, face, face_low, *per_pixel, tf.constant(max(float(weights.sum()) * 3.0, 1e-6)))

        for variable in (self.log_ratio, self._first_moment, self._second_moment):
            variable.assign(tf.zeros_like(variable))
        self._iteration.assign(0.0)
        history, data_history = [], []
        for index in range(self.settings.steps):
            total, data = self._step(*arguments)
            history.append(float(total))
            data_history.append(float(data))
            if on_step is not None:
                on_step(index, history[-1])

        albedo_linear = self._albedo_linear(base_linear, face)
        radiance = sample_bilinear_taps(albedo_linear, taps) * diffuse + specular_radiance
        albedo = linear_to_srgb_np(np.clip(albedo_linear.numpy(), 0.0, 1.0)).astype(np.float32)
        return RefineResult(albedo=albedo, radiance=radiance.numpy(), log_ratio=(face * self.log_ratio).numpy(),
                            loss_history=history, data_loss_history=data_history,
                            seconds=time.perf_counter() - clock)

    def refine_fit(self, gbuffer: GBuffer, photo_srgb: np.ndarray, fit: FitResult, template: FaceTemplate, *,
                   roughness: float, on_step=None) -> RefineResult:
        """:meth:`refine` from a latent fit's result: its maps, light and pixel weights, the template's face region."""
        return self.refine(gbuffer, photo_srgb, albedo_srgb=fit.maps["albedo"], specular=fit.maps["specular"],
                           normal=fit.maps["normal"], light_sh=fit.light_sh, roughness=roughness,
                           weights=fit.weights, face_region=template.region_masks["face"], on_step=on_step,
                           scene=fit.scene)
