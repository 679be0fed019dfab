"""Training losses of the svfri networks (Geng et al. 2021, sec. 3.2; docs/architecture.md, "Networks").

Every loss is a pure function returning a scalar ``tf.Tensor`` (mean over the batch and all elements):

* :func:`map_l1`, :func:`map_mse` -- reconstruction of a map (``[B, H, W, C]``, values in [0, 1]: albedo sRGB,
  specular linear, normal encoded ``0.5 n + 0.5``). Both the encoder/decoder stage and the enhancers use MSE
  (see :mod:`svfri.training.trainer` for why not L1); L1 is logged as a diagnostic.
* :func:`light_relative_mse` -- the light regressor's loss, the squared error of the 27 SH coefficients
  divided by the ground truth's mean-radiance luminance (see its docstring for why).
* :func:`gan_generator_loss`, :func:`gan_discriminator_loss` -- the non-saturating GAN losses (Goodfellow et
  al. 2014, sec. 3) on PatchGAN logits, for the albedo enhancer.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from svfri.math.colorimetry import SRGB_TO_XYZ
from svfri.math.sh import SH_C0

__all__ = [
    "map_l1", "map_mse", "light_relative_mse", "light_normaliser", "gan_generator_loss", "gan_discriminator_loss",
    "PERCEPTUAL_WEIGHT", "GAN_WEIGHT", "LIGHT_NORMALISER_FLOOR",
]

#: Weight of the perceptual (fixed random-feature) term in the albedo enhancer loss, relative to MSE = 1.
#: The random features (He-scaled, :mod:`svfri.nets.perceptual`) have squared differences of the same order as
#: the pixel MSE; 0.1 keeps the MSE (which the PSNR metric measures) dominant.
PERCEPTUAL_WEIGHT = 0.1
#: Weight of the adversarial term in the albedo enhancer loss (SRGAN, Ledig et al. 2017, eq. 3: 1e-3).
GAN_WEIGHT = 1e-3
#: Smallest mean-radiance luminance used as the light loss's normaliser (guards against black lights).
LIGHT_NORMALISER_FLOOR = 1e-2
#: Rec. 709 / sRGB luminance weights (``Y`` row of the linear-sRGB-to-XYZ matrix).
_LUMINANCE = tuple(float(w) for w in np.asarray(SRGB_TO_XYZ)[1])


def map_l1(prediction: tf.Tensor, target: tf.Tensor) -> tf.Tensor:
    """Mean absolute error ``mean |p - t|`` over every element of ``[B, H, W, C]`` maps."""
    return tf.reduce_mean(tf.abs(prediction - target))


def map_mse(prediction: tf.Tensor, target: tf.Tensor) -> tf.Tensor:
    """Mean squared error ``mean (p - t)^2`` over every element of ``[B, H, W, C]`` maps."""
    return tf.reduce_mean(tf.square(prediction - target))


def light_normaliser(light_sh: tf.Tensor) -> tf.Tensor:
    """Luminance of the mean radiance of SH light, ``Y . (c_0 Y_00)``, floored at :data:`LIGHT_NORMALISER_FLOOR`.

    ``light_sh``: ``[B, 9, 3]`` linear RGB radiance coefficients (svfri ordering). ``c_0 Y_00`` is the average of
    ``L(w)`` over the sphere, so the result is the average scene radiance's luminance. Returns ``[B]``.
    """
    mean_radiance = light_sh[:, 0, :] * SH_C0                                       # [B, 3]
    luminance = tf.reduce_sum(mean_radiance * tf.constant(_LUMINANCE, light_sh.dtype), axis=-1)
    return tf.maximum(luminance, LIGHT_NORMALISER_FLOOR)


def light_relative_mse(prediction: tf.Tensor, target: tf.Tensor) -> tf.Tensor:
    """Relative SH light loss ``mean_b mean_ic ((p_bic - t_bic) / m_b)^2``, ``m_b`` = :func:`light_normaliser`.

    Why relative: the training lights span a factor 4 in exposure (``2^[-1, 1]``, :mod:`svfri.synth.dataset`)
    and T's brightness is the product of albedo and light, so the absolute level is partly ambiguous; a plain L2
    on the coefficients would be dominated by the brightest samples and would weigh the *shape* of dim lights
    (their direction and colour, what relighting depends on) least. Dividing by the ground truth's mean
    luminance weighs every sample's error in units of its own brightness (a 10 % error costs the same at any
    exposure) and keeps the loss O(1). ``prediction``, ``target``: ``[B, 9, 3]``.
    """
    scale = light_normaliser(target)[:, tf.newaxis, tf.newaxis]
    return tf.reduce_mean(tf.square((prediction - target) / scale))


def gan_generator_loss(fake_logits: tf.Tensor) -> tf.Tensor:
    """Non-saturating generator loss ``mean softplus(-D(G(x)))`` = ``-mean log sigmoid(D(G(x)))``."""
    return tf.reduce_mean(tf.nn.softplus(-fake_logits))


def gan_discriminator_loss(real_logits: tf.Tensor, fake_logits: tf.Tensor) -> tf.Tensor:
    """Discriminator loss ``mean softplus(-D(y)) + mean softplus(D(G(x)))`` (binary cross-entropy on logits)."""
    return tf.reduce_mean(tf.nn.softplus(-real_logits)) + tf.reduce_mean(tf.nn.softplus(fake_logits))
