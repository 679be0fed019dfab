"""Building blocks shared by the svfri networks (Keras 3 functional API, TensorFlow backend).

* :func:`conv_bn_act` -- 3x3 convolution, batch normalisation (Ioffe & Szegedy 2015), LeakyReLU: the unit of
  the encoders (stride 2) and decoders (stride 1).
* :func:`residual_block` -- SRGAN's residual block (Ledig et al. 2017, fig. 4):
  ``x + BN(conv(PReLU(BN(conv(x)))))``.
* :class:`PixelShuffle` -- sub-pixel convolution rearrangement ``[H, W, C r^2] -> [r H, r W, C]``
  (Shi et al. 2016, "Real-time single image and video super-resolution using an efficient sub-pixel
  convolutional neural network", eq. 4; ``tf.nn.depth_to_space``).
* :class:`MapOutput` -- the decoder's output head: maps raw channels to a valid map (sigmoid for albedo and
  specular; unit tangent-space normal with ``n_z > 0``, encoded ``0.5 n + 0.5``, for normals).
* :class:`ResidualMapOutput` -- the enhancer's output head: the enhanced map is the bilinearly upsampled
  coarse map plus a learned residual, added in a space where any residual keeps the map valid (logit space
  for [0, 1] maps, raw vector space followed by renormalisation for normals). A zero residual reproduces
  the upsampled coarse map exactly, so an untrained enhancer is a plain bilinear upsampler.
"""

from __future__ import annotations

import keras
import tensorflow as tf

__all__ = [
    "conv_bn_act", "residual_block", "PixelShuffle", "MapOutput", "ResidualMapOutput", "MAP_KINDS",
    "MIN_NORMAL_Z", "LOGIT_EPSILON", "encode_normal", "decode_normal",
]

#: Output kinds of the map heads: values in [0, 1] through a sigmoid, or unit normals encoded 0.5 n + 0.5.
MAP_KINDS = ("unit_interval", "normal")
#: Smallest tangent-space ``n_z`` before renormalising: a tangent-space normal never points into the surface.
MIN_NORMAL_Z = 1e-3
#: Clamp of [0, 1] values before the logit so that 0 and 1 map to finite values.
LOGIT_EPSILON = 1e-4
#: Kernel size of every 3x3 convolution.
KERNEL_SIZE = 3


def encode_normal(normal: tf.Tensor) -> tf.Tensor:
    """Stores a tangent-space normal ``n`` in [-1, 1]^3 as ``0.5 n + 0.5`` in [0, 1]^3 (svfri.conventions)."""
    return 0.5 * normal + 0.5


def decode_normal(encoded: tf.Tensor) -> tf.Tensor:
    """Inverse of :func:`encode_normal`: ``n = 2 m - 1``."""
    return 2.0 * encoded - 1.0


def conv_bn_act(x, filters: int, *, strides: int = 1, slope: float, name: str):
    """``LeakyReLU(BN(conv3x3(x)))``; ``[B, H, W, C] -> [B, H / strides, W / strides, filters]``.

    The convolution has no bias (batch normalisation's offset replaces it); 'same' padding.
    """
    x = keras.layers.Conv2D(filters, KERNEL_SIZE, strides=strides, padding="same", use_bias=False,
                            name=f"{name}_conv")(x)
    x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
    return keras.layers.LeakyReLU(negative_slope=slope, name=f"{name}_act")(x)


def residual_block(x, filters: int, *, name: str):
    """SRGAN residual block: ``x + BN(conv(PReLU(BN(conv(x)))))``, shape-preserving ``[B, H, W, filters]``.

    PReLU slopes are shared over the spatial axes (one slope per channel), as in Ledig et al. 2017.
    """
    y = keras.layers.Conv2D(filters, KERNEL_SIZE, padding="same", use_bias=False, name=f"{name}_conv1")(x)
    y = keras.layers.BatchNormalization(name=f"{name}_bn1")(y)
    y = keras.layers.PReLU(shared_axes=[1, 2], name=f"{name}_prelu")(y)
    y = keras.layers.Conv2D(filters, KERNEL_SIZE, padding="same", use_bias=False, name=f"{name}_conv2")(y)
    y = keras.layers.BatchNormalization(name=f"{name}_bn2")(y)
    return keras.layers.Add(name=f"{name}_add")([x, y])


class PixelShuffle(keras.layers.Layer):
    """``[B, H, W, C r^2] -> [B, r H, r W, C]`` by ``tf.nn.depth_to_space`` (Shi et al. 2016)."""

    def __init__(self, factor: int, **kwargs):
        super().__init__(**kwargs)
        self.factor = int(factor)

    def call(self, inputs):
        return tf.nn.depth_to_space(inputs, self.factor)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class _MapKindLayer(keras.layers.Layer):
    """A layer parameterised by the kind of map it outputs (one of :data:`MAP_KINDS`)."""

    def __init__(self, kind: str, **kwargs):
        super().__init__(**kwargs)
        if kind not in MAP_KINDS:
            raise ValueError(f"kind must be one of {MAP_KINDS}, got {kind!r}")
        self.kind = kind

    def get_config(self):
        return {**super().get_config(), "kind": self.kind}


class MapOutput(_MapKindLayer):
    """Decoder head: raw ``[B, H, W, C]`` -> valid map.

    * ``kind="unit_interval"``: ``sigmoid(raw)`` in (0, 1) (sRGB albedo or linear specular intensity).
    * ``kind="normal"`` (C = 3): ``v = (raw_x, raw_y, softplus(raw_z) + MIN_NORMAL_Z)``, ``n = v / |v|``,
      output ``0.5 n + 0.5``. The normal is normalised *in the network* so that no latent code can decode to
      a non-unit or inward-facing normal, and the renderer may use it as is.
    """

    def call(self, inputs):
        if self.kind == "unit_interval":
            return tf.sigmoid(inputs)
        xy, z = inputs[..., :2], inputs[..., 2:3]
        vector = tf.concat([xy, tf.nn.softplus(z) + MIN_NORMAL_Z], axis=-1)
        return encode_normal(tf.math.l2_normalize(vector, axis=-1))


class ResidualMapOutput(_MapKindLayer):
    """Enhancer head: ``(coarse [B, h, w, C], residual [B, H, W, C]) -> enhanced [B, H, W, C]``.

    ``up = bilinear_resize(coarse, [H, W])``, then

    * ``kind="unit_interval"``: ``sigmoid(logit(clip(up, eps, 1 - eps)) + residual)``;
    * ``kind="normal"``: ``v = decode(up) + residual``, ``v_z = max(v_z, MIN_NORMAL_Z)``, output
      ``encode(v / |v|)``.

    With ``residual = 0`` the output equals ``up`` (up to the ``eps`` clip), and it is always a valid map.
    """

    def call(self, inputs):
        coarse, residual = inputs
        size = tf.shape(residual)[1:3]
        up = tf.cast(tf.image.resize(coarse, size, method="bilinear"), residual.dtype)
        if self.kind == "unit_interval":
            up = tf.clip_by_value(up, LOGIT_EPSILON, 1.0 - LOGIT_EPSILON)
            return tf.sigmoid(tf.math.log(up) - tf.math.log1p(-up) + residual)
        vector = decode_normal(up) + residual
        vector = tf.concat([vector[..., :2], tf.maximum(vector[..., 2:3], MIN_NORMAL_Z)], axis=-1)
        return encode_normal(tf.math.l2_normalize(vector, axis=-1))
