"""The albedo's absolute level from scene context, for the fit (``FitSettings.albedo_level = "context"``).

A photo fixes only albedo x light; the albedo networks see the face texture alone and cannot separate the two (the
skin-tone bias of face-albedo methods, Feng et al. 2022). svfri corrects their level with the level regressor
(:mod:`svfri.nets.level`), which sees the photo around the face (background and the light in it, hair, clothes) and
the face itself at a size where sclera and teeth show, and hands the fit a per-channel gain
``g = a_context / a_networks``:

* ``a_networks [3]`` (:func:`network_level`): the mean linear albedo the networks decoded, over their template
  layout weighted by its skin mask (``face`` minus ``eyes``, ``mouth_interior`` and ``brows``);
* ``a_context [3]``: the regressor's estimate of the true skin albedo's mean over the same texels and weights.

Both are measured in the networks' layout, on either mesh; the ICT head's face tile is resampled from it
afterwards, so the gain carries over. The fit multiplies the decoded albedo by ``g`` in linear light and divides its
initial light by ``g`` (:class:`svfri.fitting.optimise.LatentFitter`). What remains ambiguous: where neither the eyes
nor the surroundings carry a cue (eyes closed or hidden, a plain backdrop lit unlike the face), the regressor stays
near the networks' own level; its errors on held-out scenes are in README ("Skin tone").
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from svfri.assets import models_dir
from svfri.errors import NotYetError
from svfri.geometry.template import region_weight
from svfri.math.color import srgb_to_linear_np

__all__ = ["LEVEL_SUBDIR", "load_level_net", "network_level", "level_crops", "level_gain", "SKIN_EXCLUDED_REGIONS"]

#: Sub-folder of the models folder with ``level.npz`` + ``level.json``.
LEVEL_SUBDIR = "level"
#: Template regions left out of the networks' skin mean (not skin, or not skin-coloured).
SKIN_EXCLUDED_REGIONS = ("eyes", "mouth_interior", "brows")
_MIN_LEVEL = 1e-4


def load_level_net(directory: str | Path | None = None):
    """The level regressor (loaded once per folder, default ``models/level``); :class:`NotYetError` when absent."""
    return _load(Path(directory or models_dir() / LEVEL_SUBDIR).resolve())


@functools.lru_cache(maxsize=None)
def _load(folder: Path):
    from svfri.nets.level import LEVEL_MANIFEST_FILE, AlbedoLevelNet

    if not (folder / LEVEL_MANIFEST_FILE).is_file():
        raise NotYetError(f"no albedo-level weights in {folder}: train them with `python -m precompute.train_level`, "
                          "or fit with `--albedo-level networks` (the networks' own level)")
    return AlbedoLevelNet.from_directory(folder)


def _template_skin(template, size: int) -> np.ndarray:
    """``[size, size]`` soft skin weight of the template layout (module docstring)."""
    return region_weight(template, size, exclude=SKIN_EXCLUDED_REGIONS)


def network_level(albedo_srgb: np.ndarray, template) -> np.ndarray:
    """``a_networks [3]``: mean linear albedo of a template-layout albedo ``[S, S, 3]`` (sRGB-encoded) over the
    template's skin weights (module docstring)."""
    size = int(albedo_srgb.shape[0])
    linear = srgb_to_linear_np(np.clip(np.asarray(albedo_srgb, np.float64), 0.0, 1.0))
    weights = _template_skin(template, size)
    total = float(weights.sum())
    if total <= 0:
        raise ValueError("the template has no skin texel to measure an albedo level on")
    return (linear * weights[..., None]).sum(axis=(0, 1)) / total


def level_crops(photo, points: np.ndarray, size: int, *, margin: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The regressor's two crops of ``photo`` (:class:`~svfri.io.images.Photo`) round the Face Mesh ``points``:
    ``[size + 2 margin]^2`` at the scale of a ``size^2`` input (``margin > 0``: wider, for training to shift)."""
    from svfri.nets.level import CONTEXT_FACE_FACTOR, FACE_CROP_FACTOR, context_crop

    side = size + 2 * margin
    return tuple(context_crop(photo.pixels, photo.max_value, points, size=side, face_factor=factor * side / size)
                 for factor in (CONTEXT_FACE_FACTOR, FACE_CROP_FACTOR))


def level_gain(geometry, template, level_net) -> tuple:
    """``(gain_function, record)``: the fit's ``albedo_gain`` callable for this photo and a dict for ``fit.json``
    (filled in when the fit calls the function)."""
    context, face = level_crops(geometry.photo, geometry.mesh.points, level_net.size)
    record = {"source": "context", "model": "models/level (svfri.nets.level)"}

    def gain(albedo_srgb: np.ndarray) -> np.ndarray:
        measured = np.maximum(network_level(albedo_srgb, template), _MIN_LEVEL)
        predicted = np.maximum(level_net.predict(context, face, measured), _MIN_LEVEL)
        record["networks_linear"] = [round(float(v), 5) for v in measured]
        record["predicted_linear"] = [round(float(v), 5) for v in predicted]
        return predicted / measured

    return gain, record
