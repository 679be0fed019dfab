"""Network sizes: one frozen record per build, with named presets.

Every network of :mod:`svfri.nets` is built from a :class:`NetworkConfig`. Resolutions follow one rule per
component ``c`` (albedo / specular / normal)::

    texture T  [S_c, S_c, 4]  --E_c-->  skips F^1..F^3 at S_c/2, S_c/4, S_c/8, latent z_c
    z_c, F^1..F^3  --D_c-->  coarse map  [S_c, S_c, C_c]          (the decoder mirrors the encoder)
    coarse map (+ T for specular/normal)  --R_c-->  map  [k_c S_c, k_c S_c, C_c]

with ``S_c = texture_size``, ``k_c = enhancer_scale`` and ``C_c`` = 3 (albedo, normal) or 1 (specular).
The encoder has ``len(encoder_widths)`` stride-2 levels, so its deepest feature map is
``S_c / 2**len(encoder_widths)`` pixels on a side; that map is flattened into the dense bottleneck.

Presets (:data:`PRESETS`, :func:`get_config`):

* ``"paper"`` -- Geng et al. 2021 sizes: T 512^2 (albedo) / 256^2 (specular, normal), every map enhanced
  to 1024^2. For reference only: one fit step costs seconds on a 2-core CPU
  (``benchmarks/bench_networks.py``).
* ``"fast"`` -- the project default (:data:`DEFAULT_PRESET`), chosen from the measured fit-step cost on a
  2-core CPU: albedo T 128^2 enhanced x4 to 512^2, specular and normal T 64^2 enhanced x4 to 256^2;
  32-channel enhancers with 4 SRGAN residual blocks whose whole x4 upsampling is the sub-pixel output
  convolution (ESPCN, Shi et al. 2016: no convolution runs above the texture resolution); 4 x 4 dense
  bottlenecks; 11.0 M parameters, 22.0 MB in float16 for all inference networks.

  Measured (``benchmarks/bench_networks.py``, 2-core Xeon, TF 2.21, fp32, shared machine, minimum of 9; one
  step = forward + backward to z through decoder + enhancer of all three components): ``tf.function``
  78 ms (1.2x the reference 21.5-GFLOP matmul chain), decoder only 24 ms; the same sizes with SRGAN's
  two pixel-shuffle stages 249 ms, albedo 256^2 x2 to 512^2 232-520 ms, the paper's sizes 14 s (2.1 s
  without enhancers; 163 MB of float16 weights).
  XLA (``jit_compile=True``) was slower than plain ``tf.function`` for every size on this CPU (oneDNN
  convolutions beat XLA:CPU's), so the default fit path is ``tf.function`` without XLA. 78 ms leaves about
  200 ms of the ~0.3 s fit-step budget (150 steps in 60 s) for rendering and its backward pass.
* ``"tiny"`` -- a few thousand parameters per network, for tests.
"""

from __future__ import annotations

import dataclasses

from svfri.errors import UsageError

__all__ = [
    "ComponentConfig", "NetworkConfig", "PRESETS", "DEFAULT_PRESET", "COMPONENTS", "SKIP_LEVELS", "get_config",
]

#: The three reflectance components, in the order every dict of this package is built.
COMPONENTS = ("albedo", "specular", "normal")
#: Number of encoder levels whose features the decoder receives as skips (F^1..F^3). Deeper skips would
#: bypass the latent code and make it useless to optimise (docs/architecture.md, "Networks").
SKIP_LEVELS = 3
#: Channels of the unwrapped texture T: sRGB colour in [0, 1] plus the visibility mask.
TEXTURE_CHANNELS = 4
#: Output channels per component: sRGB albedo, linear grey specular intensity, encoded tangent normal.
OUTPUT_CHANNELS = {"albedo": 3, "specular": 1, "normal": 3}
#: Smallest allowed side of the encoder's deepest feature map.
MIN_BOTTLENECK_SIZE = 1


@dataclasses.dataclass(frozen=True)
class ComponentConfig:
    """Sizes of one component's encoder E_c, decoder D_c and enhancer R_c.

    Attributes:
      texture_size: side ``S`` of the square texture T fed to the encoder, and of the decoder's output.
      latent_size: length of the latent code z_c.
      encoder_widths: output channels of each stride-2 encoder level (at least :data:`SKIP_LEVELS` levels);
        the decoder uses the same widths in reverse.
      enhancer_scale: ``k`` in 1, 2, 4, 8; the enhancer maps ``[S, S]`` to ``[k S, k S]`` (1 keeps the size).
      enhancer_width: channels inside the enhancer.
      enhancer_blocks: residual blocks in the enhancer (SRGAN uses 16; 0 is allowed).
      enhancer_upsample_stages: how many x2 factors of ``enhancer_scale`` are done by SRGAN's
        conv -> pixel shuffle -> PReLU stages at ``enhancer_width`` channels; the remaining factor is done by
        the output convolution itself, which emits ``C * r**2`` channels rearranged by ``depth_to_space``
        (ESPCN's sub-pixel output layer; no convolution runs at the full output resolution).
    """

    texture_size: int
    latent_size: int
    encoder_widths: tuple[int, ...]
    enhancer_scale: int
    enhancer_width: int
    enhancer_blocks: int
    enhancer_upsample_stages: int

    def __post_init__(self):
        levels = len(self.encoder_widths)
        if levels < SKIP_LEVELS:
            raise UsageError(f"encoder needs at least {SKIP_LEVELS} levels, got {levels}; add encoder widths")
        if self.texture_size % (2 ** levels) or self.texture_size // (2 ** levels) < MIN_BOTTLENECK_SIZE:
            raise UsageError(
                f"texture size {self.texture_size} is not divisible by 2**{levels}; use a power of two size")
        if self.enhancer_scale not in (1, 2, 4, 8):
            raise UsageError(f"enhancer scale must be 1, 2, 4 or 8, got {self.enhancer_scale}")
        if not 0 <= self.enhancer_upsample_stages <= self.enhancer_factor_log2:
            raise UsageError(
                f"enhancer_upsample_stages must be in 0..{self.enhancer_factor_log2}, "
                f"got {self.enhancer_upsample_stages}")
        if min(self.latent_size, self.enhancer_width, *self.encoder_widths) < 1 or self.enhancer_blocks < 0:
            raise UsageError("network widths and latent sizes must be positive; check the NetworkConfig")

    @property
    def enhancer_factor_log2(self) -> int:
        """``log2(enhancer_scale)``."""
        return self.enhancer_scale.bit_length() - 1

    @property
    def bottleneck_size(self) -> int:
        """Side of the encoder's deepest feature map, ``S / 2**levels``."""
        return self.texture_size // (2 ** len(self.encoder_widths))

    @property
    def output_size(self) -> int:
        """Side of the enhanced map, ``k S``."""
        return self.texture_size * self.enhancer_scale


@dataclasses.dataclass(frozen=True)
class NetworkConfig:
    """All network sizes for one build of :class:`svfri.nets.FaceNetworks`.

    Attributes:
      albedo, specular, normal: per-component sizes (no weight sharing between components).
      light_size: side of the texture T fed to the light regressor.
      light_widths: channels of the light regressor's 5 stages of 2 convolutions each (10 convolutions).
      discriminator_widths: channels of the albedo PatchGAN discriminator's stride-2 levels.
      perceptual_widths: channels of the perceptual feature net's stages (see :mod:`svfri.nets.perceptual`).
      leaky_slope: negative slope of every LeakyReLU.
      masked_input_regions: template regions of ``T`` the networks are not shown (:mod:`svfri.nets.input_mask`:
        filled with the visible skin's mean colour and marked unseen); ``()`` shows all of ``T``.
      masked_input_dilation_uv: the masked regions grown by this radius (UV units, fraction of the map side).
    """

    albedo: ComponentConfig
    specular: ComponentConfig
    normal: ComponentConfig
    light_size: int
    light_widths: tuple[int, int, int, int, int]
    discriminator_widths: tuple[int, ...]
    perceptual_widths: tuple[int, ...]
    leaky_slope: float = 0.2
    masked_input_regions: tuple[str, ...] = ()
    masked_input_dilation_uv: float = 0.0

    def __post_init__(self):
        if len(self.light_widths) != 5:
            raise UsageError(f"light regressor needs 5 stage widths (10 convolutions), got {len(self.light_widths)}")
        if self.light_size % 32:
            raise UsageError(f"light regressor input size must be a multiple of 32, got {self.light_size}")

    def component(self, name: str) -> ComponentConfig:
        """The :class:`ComponentConfig` of ``name`` in :data:`COMPONENTS`."""
        if name not in COMPONENTS:
            raise UsageError(f"unknown component {name!r}; use one of {', '.join(COMPONENTS)}")
        return getattr(self, name)

    @property
    def input_texture_size(self) -> int:
        """Side of the one texture T every network can be fed from (the largest input any of them takes); the
        training set unwraps T at this size and the fit must too, so both see the same resampling."""
        return max(self.light_size, *(self.component(c).texture_size for c in COMPONENTS))

    @property
    def architecture(self) -> "NetworkConfig":
        """This config with the input mask cleared: two configs with the same architecture take the same weights
        (a run may start from weights trained with another input mask)."""
        return dataclasses.replace(self, masked_input_regions=(), masked_input_dilation_uv=0.0)

    def to_dict(self) -> dict:
        """JSON-ready nested dict (tuples become lists)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "NetworkConfig":
        """Inverse of :meth:`to_dict`."""
        data = dict(data)
        for name in COMPONENTS:
            part = dict(data[name])
            part["encoder_widths"] = tuple(part["encoder_widths"])
            data[name] = ComponentConfig(**part)
        for key in ("light_widths", "discriminator_widths", "perceptual_widths", "masked_input_regions"):
            if key in data:
                data[key] = tuple(data[key])
        return cls(**data)


_PAPER = NetworkConfig(
    albedo=ComponentConfig(texture_size=512, latent_size=1024, encoder_widths=(64, 128, 256, 256, 512, 512, 512),
                           enhancer_scale=2, enhancer_width=64, enhancer_blocks=16, enhancer_upsample_stages=1),
    specular=ComponentConfig(texture_size=256, latent_size=512, encoder_widths=(64, 128, 256, 256, 512, 512),
                             enhancer_scale=4, enhancer_width=64, enhancer_blocks=16, enhancer_upsample_stages=2),
    normal=ComponentConfig(texture_size=256, latent_size=512, encoder_widths=(64, 128, 256, 256, 512, 512),
                           enhancer_scale=4, enhancer_width=64, enhancer_blocks=16, enhancer_upsample_stages=2),
    light_size=256, light_widths=(64, 128, 256, 512, 512),
    discriminator_widths=(64, 128, 256, 512), perceptual_widths=(64, 128, 256),
)

_FAST = NetworkConfig(
    albedo=ComponentConfig(texture_size=128, latent_size=1024, encoder_widths=(32, 64, 96, 128, 128),
                           enhancer_scale=4, enhancer_width=32, enhancer_blocks=4, enhancer_upsample_stages=0),
    specular=ComponentConfig(texture_size=64, latent_size=512, encoder_widths=(32, 64, 96, 128),
                             enhancer_scale=4, enhancer_width=32, enhancer_blocks=4, enhancer_upsample_stages=0),
    normal=ComponentConfig(texture_size=64, latent_size=512, encoder_widths=(32, 64, 96, 128),
                           enhancer_scale=4, enhancer_width=32, enhancer_blocks=4, enhancer_upsample_stages=0),
    light_size=128, light_widths=(16, 32, 64, 96, 128),
    discriminator_widths=(32, 64, 128), perceptual_widths=(32, 64, 128),
)

_TINY = NetworkConfig(
    albedo=ComponentConfig(texture_size=32, latent_size=16, encoder_widths=(4, 8, 8, 8),
                           enhancer_scale=2, enhancer_width=4, enhancer_blocks=1, enhancer_upsample_stages=1),
    specular=ComponentConfig(texture_size=16, latent_size=8, encoder_widths=(4, 8, 8, 8),
                             enhancer_scale=4, enhancer_width=4, enhancer_blocks=1, enhancer_upsample_stages=1),
    normal=ComponentConfig(texture_size=16, latent_size=8, encoder_widths=(4, 8, 8, 8),
                           enhancer_scale=2, enhancer_width=4, enhancer_blocks=1, enhancer_upsample_stages=0),
    light_size=32, light_widths=(4, 4, 8, 8, 8),
    discriminator_widths=(4, 8), perceptual_widths=(4, 8),
)

#: Named presets; ``"fast"`` is the project default.
PRESETS: dict[str, NetworkConfig] = {"paper": _PAPER, "fast": _FAST, "tiny": _TINY}
#: Name of the preset the pipeline uses unless told otherwise.
DEFAULT_PRESET = "fast"


def get_config(name: str = DEFAULT_PRESET) -> NetworkConfig:
    """The preset called ``name`` (see :data:`PRESETS`); raises :class:`UsageError` for an unknown name."""
    try:
        return PRESETS[name]
    except KeyError:
        raise UsageError(f"unknown network preset {name!r}; use one of {', '.join(sorted(PRESETS))}") from None
