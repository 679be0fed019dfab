"""Per-component U-Net encoder E_c and decoder D_c (Geng et al. 2021, sec. 3.2; docs/architecture.md, "Networks").

Encoder ``E_c`` (one per component, no weight sharing)::

    T [B, S, S, 4]  (sRGB colour in [0, 1] + visibility mask in {0, 1})
      -> level k = 1..L: conv3x3 stride 2 -> batch norm -> LeakyReLU      F^k: [B, S/2^k, S/2^k, w_k]
      -> flatten F^L -> dense (linear)                                    z_c: [B, latent_size]

Only ``F^1, F^2, F^3`` leave the encoder as skips; ``F^4..F^L`` feed the bottleneck alone.

Bottleneck: **dense**. ``F^L`` (``S / 2^L`` pixels on a side, 4 x 4 for the default config) is flattened and
mapped to ``z_c`` by a fully connected layer, so every coordinate of ``z_c`` can change the whole map -- the
property the fit relies on when it moves ``z_c`` to explain the photo. ``z_c`` is linear (no activation, no
normalisation): Adam works on it directly.

Decoder ``D_c`` mirrors the encoder::

    z_c -> dense -> BN -> LeakyReLU -> reshape [S/2^L, S/2^L, w_L]
      -> for k = L-1 .. 0: bilinear x2 upsampling (resize-convolution, Odena et al. 2016, instead of a
         transposed convolution: no checkerboard artefacts) -> concat F^k if 1 <= k <= 3
         -> conv3x3 -> BN -> LeakyReLU (width w_k, w_0 = w_1)
      -> conv3x3 to C channels -> :class:`svfri.nets.layers.MapOutput`       [B, S, S, C]

Outputs: albedo 3 channels sRGB in (0, 1) by a sigmoid; specular 1 channel linear intensity in (0, 1);
normal 3 channels ``0.5 n + 0.5`` with ``n`` a unit tangent-space normal with ``n_z > 0`` (normalised in the
output layer, so every latent code decodes to a valid normal map).
"""

from __future__ import annotations

import keras

from svfri.nets.config import OUTPUT_CHANNELS, SKIP_LEVELS, TEXTURE_CHANNELS, ComponentConfig
from svfri.nets.layers import KERNEL_SIZE, MapOutput, conv_bn_act

__all__ = ["build_encoder", "build_decoder", "map_kind"]


def map_kind(component: str) -> str:
    """Output head kind of a component: ``"normal"`` for normals, ``"unit_interval"`` otherwise."""
    return "normal" if component == "normal" else "unit_interval"


def build_encoder(component: str, config: ComponentConfig, *, slope: float) -> keras.Model:
    """Encoder ``E_c``: ``T [B, S, S, 4] -> [F^1, F^2, F^3, z]`` (see module docstring for shapes)."""
    size = config.texture_size
    texture = keras.Input((size, size, TEXTURE_CHANNELS), name=f"{component}_texture")
    x = texture
    features = []
    for level, width in enumerate(config.encoder_widths, start=1):
        x = conv_bn_act(x, width, strides=2, slope=slope, name=f"{component}_enc{level}")
        features.append(x)
    flat = keras.layers.Flatten(name=f"{component}_enc_flatten")(x)
    latent = keras.layers.Dense(config.latent_size, name=f"{component}_latent")(flat)
    return keras.Model(texture, [*features[:SKIP_LEVELS], latent], name=f"{component}_encoder")


def build_decoder(component: str, config: ComponentConfig, *, slope: float) -> keras.Model:
    """Decoder ``D_c``: ``[z, F^1, F^2, F^3] -> coarse map [B, S, S, C]`` (see module docstring)."""
    size = config.texture_size
    widths = config.encoder_widths
    levels = len(widths)
    latent = keras.Input((config.latent_size,), name=f"{component}_z")
    skips = [
        keras.Input((size >> level, size >> level, widths[level - 1]), name=f"{component}_skip{level}")
        for level in range(1, SKIP_LEVELS + 1)
    ]
    bottleneck = config.bottleneck_size
    x = keras.layers.Dense(bottleneck * bottleneck * widths[-1], use_bias=False, name=f"{component}_dec_dense")(latent)
    x = keras.layers.BatchNormalization(name=f"{component}_dec_dense_bn")(x)
    x = keras.layers.LeakyReLU(negative_slope=slope, name=f"{component}_dec_dense_act")(x)
    x = keras.layers.Reshape((bottleneck, bottleneck, widths[-1]), name=f"{component}_dec_reshape")(x)
    for level in range(levels - 1, -1, -1):
        x = keras.layers.UpSampling2D(interpolation="bilinear", name=f"{component}_dec{level}_up")(x)
        if 1 <= level <= SKIP_LEVELS:
            x = keras.layers.Concatenate(name=f"{component}_dec{level}_skip")([x, skips[level - 1]])
        x = conv_bn_act(x, widths[max(level - 1, 0)], slope=slope, name=f"{component}_dec{level}")
    raw = keras.layers.Conv2D(OUTPUT_CHANNELS[component], KERNEL_SIZE, padding="same", name=f"{component}_dec_out")(x)
    coarse = MapOutput(map_kind(component), name=f"{component}_dec_map")(raw)
    return keras.Model([latent, *skips], coarse, name=f"{component}_decoder")
