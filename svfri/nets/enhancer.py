"""SRGAN-style enhancers R_c and the albedo PatchGAN discriminator.

Enhancer ``R_c`` (Ledig et al. 2017, "Photo-realistic single image super-resolution using a generative
adversarial network", fig. 4, generator; Geng et al. 2021 sec. 3.2)::

    coarse map [B, S, S, C]  (+ texture T [B, S, S, 4] concatenated for specular and normal)
      -> conv3x3 -> PReLU                                             h   [B, S, S, W]
      -> enhancer_blocks x residual block (conv-BN-PReLU-conv-BN + skip)
      -> conv3x3 -> BN -> + h                                         (SRGAN's long skip)
      -> enhancer_upsample_stages x (conv3x3 to 4W -> pixel shuffle x2 -> PReLU)
      -> conv3x3 to C r^2 -> pixel shuffle x r                        residual [B, kS, kS, C]
         (r = scale / 2^stages; ESPCN's sub-pixel output layer, Shi et al. 2016, when r > 1)
      -> :class:`svfri.nets.layers.ResidualMapOutput`(coarse, residual)  map  [B, kS, kS, C]

Departures from SRGAN, all for the 2-core CPU budget or for the fit: a 3x3 (not 9x9) head convolution; the
last x2 (or more) of upsampling may be done by the output convolution (no convolution at full resolution);
the output is the bilinearly upsampled coarse map plus a learned residual in a range-preserving space, with
the output convolution initialised to zero, so an untrained enhancer is a bilinear upsampler and the
enhanced map is always valid (see :class:`~svfri.nets.layers.ResidualMapOutput`). Training (MSE + perceptual
+ GAN for albedo; MSE only for specular and normal) is on decoder outputs, never on downsampled targets.

Discriminator: PatchGAN (Isola et al. 2017, "Image-to-image translation with conditional adversarial
networks", sec. 3.2.2) -- 4x4 stride-2 convolutions with LeakyReLU (batch norm after the first), then a
3x3 convolution to one logit per patch: ``[B, H, W, 3] -> [B, H / 2^n, W / 2^n, 1]`` (logits, not
probabilities).
"""

from __future__ import annotations

import keras

from svfri.nets.autoencoder import map_kind
from svfri.nets.config import OUTPUT_CHANNELS, TEXTURE_CHANNELS, ComponentConfig
from svfri.nets.layers import KERNEL_SIZE, PixelShuffle, ResidualMapOutput, residual_block

__all__ = ["build_enhancer", "build_discriminator", "takes_texture", "UPSAMPLE_FACTOR_PER_STAGE"]

#: Upsampling factor of one SRGAN pixel-shuffle stage.
UPSAMPLE_FACTOR_PER_STAGE = 2
#: Kernel size of the discriminator's strided convolutions (PatchGAN).
DISCRIMINATOR_KERNEL = 4


def takes_texture(component: str) -> bool:
    """Whether ``R_c`` also receives the texture T: specular and normal do (docs/architecture.md), albedo does not."""
    return component != "albedo"


def build_enhancer(component: str, config: ComponentConfig, *, slope: float) -> keras.Model:
    """Enhancer ``R_c``: ``coarse [B, S, S, C]`` (and ``T [B, S, S, 4]``) ``-> map [B, kS, kS, C]``.

    ``slope`` is unused by the PReLU layers (their slopes are learned, initialised to 0 as in Keras) and is
    accepted for a uniform builder signature.
    """
    del slope
    size, width, channels = config.texture_size, config.enhancer_width, OUTPUT_CHANNELS[component]
    coarse = keras.Input((size, size, channels), name=f"{component}_coarse")
    inputs = [coarse]
    x = coarse
    if takes_texture(component):
        texture = keras.Input((size, size, TEXTURE_CHANNELS), name=f"{component}_enh_texture")
        inputs.append(texture)
        x = keras.layers.Concatenate(name=f"{component}_enh_concat")([coarse, texture])
    x = keras.layers.Conv2D(width, KERNEL_SIZE, padding="same", name=f"{component}_enh_head")(x)
    head = keras.layers.PReLU(shared_axes=[1, 2], name=f"{component}_enh_head_prelu")(x)
    x = head
    for block in range(config.enhancer_blocks):
        x = residual_block(x, width, name=f"{component}_enh_res{block}")
    x = keras.layers.Conv2D(width, KERNEL_SIZE, padding="same", use_bias=False, name=f"{component}_enh_body")(x)
    x = keras.layers.BatchNormalization(name=f"{component}_enh_body_bn")(x)
    x = keras.layers.Add(name=f"{component}_enh_long_skip")([head, x])
    for stage in range(config.enhancer_upsample_stages):
        x = keras.layers.Conv2D(width * UPSAMPLE_FACTOR_PER_STAGE ** 2, KERNEL_SIZE, padding="same",
                                name=f"{component}_enh_up{stage}_conv")(x)
        x = PixelShuffle(UPSAMPLE_FACTOR_PER_STAGE, name=f"{component}_enh_up{stage}_shuffle")(x)
        x = keras.layers.PReLU(shared_axes=[1, 2], name=f"{component}_enh_up{stage}_prelu")(x)
    factor = config.enhancer_scale // UPSAMPLE_FACTOR_PER_STAGE ** config.enhancer_upsample_stages
    residual = keras.layers.Conv2D(channels * factor * factor, KERNEL_SIZE, padding="same",
                                   kernel_initializer="zeros", bias_initializer="zeros",
                                   name=f"{component}_enh_out")(x)
    if factor > 1:
        residual = PixelShuffle(factor, name=f"{component}_enh_out_shuffle")(residual)
    enhanced = ResidualMapOutput(map_kind(component), name=f"{component}_enh_map")([coarse, residual])
    return keras.Model(inputs, enhanced, name=f"{component}_enhancer")


def build_discriminator(size: int, widths: tuple[int, ...], *, slope: float, channels: int = 3) -> keras.Model:
    """PatchGAN discriminator: ``[B, size, size, channels]`` in [0, 1] -> ``[B, size/2^n, size/2^n, 1]`` logits."""
    image = keras.Input((size, size, channels), name="disc_image")
    x = keras.layers.Rescaling(2.0, offset=-1.0, name="disc_to_signed")(image)
    for level, width in enumerate(widths):
        x = keras.layers.Conv2D(width, DISCRIMINATOR_KERNEL, strides=2, padding="same", use_bias=level == 0,
                                name=f"disc{level}_conv")(x)
        if level > 0:
            x = keras.layers.BatchNormalization(name=f"disc{level}_bn")(x)
        x = keras.layers.LeakyReLU(negative_slope=slope, name=f"disc{level}_act")(x)
    logits = keras.layers.Conv2D(1, KERNEL_SIZE, padding="same", name="disc_logits")(x)
    return keras.Model(image, logits, name="albedo_discriminator")
