"""Light regressor: texture T -> spherical-harmonics lighting z_e (Geng et al. 2021, sec. 3.2).

VGG-like (Simonyan & Zisserman 2015): 5 stages of two 3x3 convolutions (conv -> BN -> LeakyReLU), each
stage followed by 2x2 max pooling -- 10 convolutions in all -- then a spatial mean pool and one dense layer
to 27 = 9 SH coefficients x RGB::

    T [B, S, S, 4] -> ... -> [B, S/32, S/32, w_5] -> mean -> dense -> [B, 9, 3]

Output row ``i`` is SH coefficient ``i`` in svfri's ordering (:mod:`svfri.math.sh`), columns linear R, G, B,
describing incoming radiance ``L(w) = sum_i c_i Y_i(w)`` in world space (:mod:`svfri.conventions`).
The dense bias starts at constant white radiance :data:`INITIAL_RADIANCE` (``c_0 = L / Y_0``, other
coefficients 0), so an untrained regressor predicts a plausible ambient light rather than darkness.
"""

from __future__ import annotations

import keras
import numpy as np

from svfri.math.sh import SH_C0, SH_COEFFICIENT_COUNT
from svfri.nets.config import TEXTURE_CHANNELS, NetworkConfig
from svfri.nets.layers import conv_bn_act

__all__ = ["build_light_regressor", "LIGHT_OUTPUT_SHAPE", "INITIAL_RADIANCE"]

#: Per-photo output shape: 9 SH coefficients x linear RGB.
LIGHT_OUTPUT_SHAPE = (SH_COEFFICIENT_COUNT, 3)
#: Constant radiance (linear, per channel) the untrained regressor predicts.
INITIAL_RADIANCE = 1.0
#: Convolutions per VGG stage.
CONVS_PER_STAGE = 2


def build_light_regressor(config: NetworkConfig) -> keras.Model:
    """``T [B, S, S, 4] -> [B, 9, 3]`` SH radiance coefficients, ``S = config.light_size``."""
    size = config.light_size
    texture = keras.Input((size, size, TEXTURE_CHANNELS), name="light_texture")
    x = texture
    for stage, width in enumerate(config.light_widths):
        for conv in range(CONVS_PER_STAGE):
            x = conv_bn_act(x, width, slope=config.leaky_slope, name=f"light{stage}_{conv}")
        x = keras.layers.MaxPooling2D(2, name=f"light{stage}_pool")(x)
    x = keras.layers.GlobalAveragePooling2D(name="light_mean")(x)
    bias = np.zeros(LIGHT_OUTPUT_SHAPE, dtype=np.float32)
    bias[0, :] = INITIAL_RADIANCE / SH_C0
    x = keras.layers.Dense(int(np.prod(LIGHT_OUTPUT_SHAPE)), name="light_sh",
                           bias_initializer=keras.initializers.Constant(bias.reshape(-1)))(x)
    sh = keras.layers.Reshape(LIGHT_OUTPUT_SHAPE, name="light_sh_9x3")(x)
    return keras.Model(texture, sh, name="light_regressor")
