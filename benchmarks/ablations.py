"""Ablations of the fit (Geng et al. 2021, section 8.4), built without touching the pipeline's code.

Each variant changes one ingredient and is measured on the same held-out scenes with the metrics of
:mod:`benchmarks.quality`:

* ``full`` -- the default fit (:class:`svfri.fitting.optimise.FitSettings`).
* ``no optimisation`` -- the networks' prediction alone (the ``init`` measurement of the ``full`` fit).
* ``no enhancers`` -- ``FitSettings(enhance=False)``: the decoders' coarse maps are rendered and optimised.
* ``no self-occlusion`` -- the fit's G-buffer with its baked visibility replaced by the unoccluded hemisphere of
  the geometric normal (:func:`hemisphere_visibility_sh`): the renderer then ignores self-shadowing (the photo
  still has it, so the maps must absorb it).
* ``no specular`` -- the specular map forced to 0 in the fit's render (:class:`NoSpecularFitter`), and 0 is what
  gets measured. Note: with the split-sum shader a zero map zeroes ``F0`` but leaves the ``DFG2`` (grazing
  Fresnel) term, so a faint specular remains at grazing view; this is the ablation as the shader defines it.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable

import numpy as np

from svfri.fitting.optimise import FitSettings, LatentFitter
from svfri.math.sh import SH_BAND_OF_COEFFICIENT, sh_basis_np
from svfri.render.gbuffer import GBuffer

__all__ = ["HEMISPHERE_BAND_FACTORS", "hemisphere_visibility_sh", "without_self_occlusion", "zero_specular",
           "NoSpecularFitter", "Ablation", "ABLATIONS"]

#: SH of the unoccluded hemisphere ``V(w) = [w . n > 0]`` is ``V_lm = k_l Y_lm(n)`` with
#: ``k_l = 2 pi int_0^1 P_l(x) dx`` (Funk-Hecke theorem): ``k_0 = 2 pi``, ``k_1 = pi``, ``k_2 = 0``.
HEMISPHERE_BAND_FACTORS = (2.0 * math.pi, math.pi, 0.0)


def hemisphere_visibility_sh(normal: np.ndarray) -> np.ndarray:
    """SH projection ``[..., 9]`` of the unoccluded hemisphere around unit normals ``[..., 3]`` (float32).

    ``V_lm = k_l Y_lm(n)``, :data:`HEMISPHERE_BAND_FACTORS`, basis of :mod:`svfri.math.sh`. Exact for order 2.
    """
    factors = np.array([HEMISPHERE_BAND_FACTORS[band] for band in SH_BAND_OF_COEFFICIENT])
    return (factors * sh_basis_np(np.asarray(normal, np.float64))).astype(np.float32)


def without_self_occlusion(gbuffer: GBuffer) -> GBuffer:
    """The G-buffer with no occlusion: visibility = unoccluded hemisphere of the geometric normal, bent normal =
    the normal itself."""
    normal = np.asarray(gbuffer.normal, np.float32)
    return dataclasses.replace(gbuffer, visibility_sh=hemisphere_visibility_sh(normal), bent_normal=normal.copy())


def zero_specular(maps: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``maps`` with the specular map replaced by zeros (same shape)."""
    return {**maps, "specular": np.zeros_like(maps["specular"])}


class NoSpecularFitter(LatentFitter):
    """:class:`LatentFitter` whose render (and every step) uses a zero specular map.

    The decoded map is multiplied by 0 rather than replaced, so a moving specular code gets an exact zero gradient
    (Adam then leaves it where it is) instead of ``None``, which the fitter's update does not accept.
    """

    def _decode(self, skips, textures, held, gained):
        maps = super()._decode(skips, textures, held, gained)
        return {**maps, "specular": maps["specular"] * 0.0}


@dataclasses.dataclass(frozen=True)
class Ablation:
    """One variant: how its fitter is built, how the G-buffer and the measured maps are changed."""

    name: str
    make_fitter: Callable[..., LatentFitter]
    settings_change: dict
    gbuffer_change: Callable[[GBuffer], GBuffer] | None = None
    maps_change: Callable[[dict], dict] | None = None

    def settings(self, base: FitSettings) -> FitSettings:
        return dataclasses.replace(base, **self.settings_change)


#: The variants that need their own fit (``no optimisation`` is the ``full`` fit's initial prediction).
ABLATIONS = (
    Ablation("no enhancers", LatentFitter, {"enhance": False}),
    Ablation("no self-occlusion", LatentFitter, {}, gbuffer_change=without_self_occlusion),
    Ablation("no specular", NoSpecularFitter, {}, maps_change=zero_specular),
    Ablation("no latent prior (paper)", LatentFitter, {"latent_prior_weight": 0.0}),
)
