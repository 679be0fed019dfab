"""Synthetic training data: procedural, physically motivated facial reflectance maps in UV.

* :mod:`svfri.synth.skin_color` -- spectral melanin/haemoglobin skin colour model, skin-type (ITA) sampler,
  hair colour.
* :mod:`svfri.synth.skin_maps` -- albedo / specular / roughness / normal maps from region masks and a seed.
* :mod:`svfri.synth.noise` -- value and fractal noise, impulses, hair strokes.
* :mod:`svfri.synth.faces` -- random face shapes and poses, framing camera, regressor-error model.
* :mod:`svfri.synth.camera_effects` -- white balance, exposure, blur, noise, JPEG.
* :mod:`svfri.synth.dataset` -- one training sample per seed (rendered by svfri's shader, unwrapped as at run
  time), sharded storage and batch loaders.
"""

from svfri.synth.skin_color import SkinToneParams, sample_skin_type_params, skin_albedo_linear
from svfri.synth.skin_maps import (
    SkinParams, SkinSample, generate_skin_maps, sample_params, synthetic_region_masks,
)

__all__ = [
    "SkinToneParams", "sample_skin_type_params", "skin_albedo_linear", "SkinParams", "SkinSample",
    "generate_skin_maps", "sample_params", "synthetic_region_masks",
]
