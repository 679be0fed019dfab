"""Perceptual feature net for the albedo enhancer's feature loss (the paper's "VGG loss").

Choice: **fixed random-weight multi-scale convolutional features** (a known weaker substitute for VGG19).

The paper (like SRGAN) compares VGG19 ImageNet features of the enhanced and true albedo. Those weights are
not obtainable here (no model hub; the project only reaches the PyPI, npm and Debian registries, and ships
nothing it cannot rebuild). The alternatives were (a) a feature net trained by this project on its own
synthetic skin maps, or (b) fixed random features. We take (b):

* It is legitimately obtainable and exactly reproducible: the filters come from ``numpy``'s PCG64 generator
  with a fixed seed (:data:`PERCEPTUAL_SEED`), and are also stored with the other weights.
* What the enhancer loss must reward is fine texture -- pores, wrinkles, freckles, stubble -- i.e. local
  image statistics, which random convolutional features capture well: Ustyuzhaninov, Brendel, Gatys & Bethge
  ("What does it take to generate natural textures?", ICLR 2017) obtain texture synthesis close to VGG's
  with random multi-scale filters, and He, Wang & Hopcroft ("A powerful generative model using random
  weights for the deep image representation", NeurIPS 2016) reconstruct images from random-weight VGG
  features.
* A net trained on the same synthetic maps the enhancer learns from would mostly echo the MSE term and can
  drift with the training run; fixed features cannot collapse and need no extra training stage.

Known limitation: no semantic (ImageNet) knowledge, so the loss is weaker than VGG at judging, e.g., eye or
lip shapes; it is a texture/detail loss. A trained replacement can be loaded in place of the random weights
(same architecture) through :meth:`svfri.nets.FaceNetworks.load_weights`.

Architecture: ``x`` in [0, 1] sRGB is mapped to [-1, 1]; stage ``i``: conv3x3 (``perceptual_widths[i]``
filters, zero-mean, He-normal scale, no bias) -> ReLU, 2x2 average pooling between stages. The feature of
each stage is an output: ``[B, H / 2^i, W / 2^i, w_i]``.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

__all__ = ["build_perceptual_net", "perceptual_loss", "PERCEPTUAL_SEED", "random_filters"]

#: Seed of the numpy PCG64 generator that draws the fixed filters.
PERCEPTUAL_SEED = 20210101
#: Filter size of every perceptual convolution.
PERCEPTUAL_KERNEL = 3


def random_filters(in_channels: int, out_channels: int, *, rng: np.random.Generator) -> np.ndarray:
    """``[3, 3, in, out]`` float32 zero-mean He-normal filters (He et al. 2015: std ``sqrt(2 / fan_in)``).

    Each filter has its mean removed over ``(kh, kw, in)`` so that it responds to structure, not to the
    local mean colour (which the MSE term already compares), then is rescaled to the He standard deviation.
    """
    fan_in = PERCEPTUAL_KERNEL * PERCEPTUAL_KERNEL * in_channels
    weights = rng.standard_normal((PERCEPTUAL_KERNEL, PERCEPTUAL_KERNEL, in_channels, out_channels))
    weights -= weights.mean(axis=(0, 1, 2), keepdims=True)
    weights /= weights.std(axis=(0, 1, 2), keepdims=True)
    return (weights * np.sqrt(2.0 / fan_in)).astype(np.float32)


def build_perceptual_net(widths: tuple[int, ...], *, channels: int = 3, seed: int = PERCEPTUAL_SEED) -> keras.Model:
    """``[B, H, W, channels]`` in [0, 1] -> list of stage features (see module docstring); not trainable."""
    rng = np.random.Generator(np.random.PCG64(seed))
    image = keras.Input((None, None, channels), name="perceptual_image")
    x = keras.layers.Rescaling(2.0, offset=-1.0, name="perceptual_to_signed")(image)
    features = []
    in_channels = channels
    for stage, width in enumerate(widths):
        if stage:
            x = keras.layers.AveragePooling2D(2, name=f"perceptual{stage}_pool")(x)
        conv = keras.layers.Conv2D(width, PERCEPTUAL_KERNEL, padding="same", use_bias=False,
                                   activation="relu", name=f"perceptual{stage}_conv")
        x = conv(x)
        conv.set_weights([random_filters(in_channels, width, rng=rng)])
        features.append(x)
        in_channels = width
    model = keras.Model(image, features, name="perceptual")
    model.trainable = False
    return model


def perceptual_loss(net: keras.Model, prediction: tf.Tensor, target: tf.Tensor) -> tf.Tensor:
    """Mean over stages of the mean squared feature difference: ``(1/L) sum_l mean((phi_l(p) - phi_l(t))^2)``.

    ``prediction``, ``target``: ``[B, H, W, C]`` in [0, 1]. Returns a scalar.
    """
    pred_features = net(prediction, training=False)
    true_features = net(target, training=False)
    terms = [tf.reduce_mean(tf.square(p - t)) for p, t in zip(pred_features, true_features)]
    return tf.add_n(terms) / float(len(terms))
