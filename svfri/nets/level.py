"""Albedo level from scene context: the photo around the face and the networks' own estimate -> the skin's level.

Why (docs/architecture.md, "Albedo level"): a photo fixes only the product of albedo and light. The face texture
``T`` cannot tell a dark face in bright light from a light face in dim light, and a camera's metering hides the
difference further. That ambiguity is what makes face-albedo methods skin-tone biased (Feng et al. 2022, "Towards
racially unbiased skin tone estimation via scene disambiguation", TRUST). What resolves it is what the face texture
leaves out: the sclera and teeth, whose reflectance varies little between people, the background and the light in
it, hair and clothes. This regressor sees them and corrects the level of the albedo networks; the albedo networks
keep predicting the pattern.

Inputs (:func:`context_crop`, each ``[S, S, 4]`` float32, sRGB in [0, 1] plus a validity channel: 1 inside the
photo, 0 where the crop leaves it, colour 0 there):

* ``context``: a square crop centred on the face, :data:`CONTEXT_FACE_FACTOR` times the face's larger extent (the
  468 Face Mesh points' box), at :data:`CONTEXT_SIZE`: background, hair, clothes;
* ``face``: the same centred on the face at :data:`FACE_CROP_FACTOR` times its extent: eyes and teeth at a usable
  size (an eye is ~12 pixels wide);
* ``network_level``: ``log(a_net) [3]``, the mean linear albedo the albedo networks decoded for this photo
  (:func:`svfri.pipeline.albedo_level.network_level`).

Output: ``log(a) = log(a_net) + r``, with ``a`` ``[3]`` the mean linear sRGB skin albedo over the networks'
template layout (its ``face`` mask minus eyes, mouth interior and brows), and ``r`` the residual the two image
towers and the networks' level predict. The residual head starts at zero, so an untrained regressor returns the
networks' own level, and weight decay keeps it near there where the context says nothing.

Architecture: per crop, 5 stride-2 stages of two ``conv -> BN -> LeakyReLU``
(:func:`svfri.nets.layers.conv_bn_act`) to ``S / 32``, flattened (where a colour is in the crop matters); both
towers and ``network_level`` concatenated, dropout, a dense layer, and the linear residual head of 3.

Stored as ``level.npz`` (float16 where lossless to 1e-3) + ``level.json`` (format, architecture, provenance) in
``models/level/``.
"""

from __future__ import annotations

import json
import os
import pathlib

import cv2
import keras
import numpy as np
import tensorflow as tf

from svfri.errors import ModelError, OutputError
from svfri.io.images import atomic_write_bytes
from svfri.nets.storage import archive_bytes, read_archive

__all__ = ["CONTEXT_SIZE", "CONTEXT_FACE_FACTOR", "FACE_CROP_FACTOR", "CONTEXT_CHANNELS", "LEVEL_FORMAT",
           "LEVEL_WEIGHTS_FILE", "LEVEL_MANIFEST_FILE", "context_crop", "build_level_regressor", "AlbedoLevelNet"]

#: Side of the network's input crop, pixels.
CONTEXT_SIZE = 128
#: Side of the crop as a multiple of the face's larger extent (the work image uses 1.6: face only).
CONTEXT_FACE_FACTOR = 3.0
#: Side of the face crop as a multiple of the face's larger extent.
FACE_CROP_FACTOR = 1.3
#: sRGB + validity.
CONTEXT_CHANNELS = 4
#: Widths of the five stride-2 stages.
STAGE_WIDTHS = (24, 48, 96, 128, 160)
#: Width of the dense layer before the head, and the dropout before it (training only).
DENSE_WIDTH = 128
DROPOUT = 0.3
LEAKY_SLOPE = 0.2
LEVEL_FORMAT = ("svfri-albedo-level", 2)
LEVEL_WEIGHTS_FILE = "level.npz"
LEVEL_MANIFEST_FILE = "level.json"


def context_crop(pixels: np.ndarray, max_value: float, points: np.ndarray, *, size: int = CONTEXT_SIZE,
                 face_factor: float = CONTEXT_FACE_FACTOR) -> np.ndarray:
    """The network input (module docstring).

    Args:
      pixels: ``[H, W, 3]`` the photo as decoded (uint8 or uint16 sRGB).
      max_value: the code value of white (255 or 65535).
      points: ``[N, >=2]`` the face's Face Mesh points in photo pixels (x right, y down).
      size, face_factor: output side and crop side over the face extent.

    Returns:
      ``[size, size, 4]`` float32: sRGB in [0, 1] (0 outside the photo) and validity in {0, 1} (area-filtered at
      the photo's border).
    """
    pixels = np.asarray(pixels)
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ValueError(f"pixels must be [H, W, 3], got {pixels.shape}")
    points = np.asarray(points, np.float64)
    low, high = points[:, :2].min(0), points[:, :2].max(0)
    centre = (low + high) / 2.0
    side = float((high - low).max() * face_factor)
    if not side > 0:
        raise ValueError("the face points span no area")
    scale = size / side
    affine = np.array([[scale, 0.0, size / 2.0 - scale * centre[0]], [0.0, scale, size / 2.0 - scale * centre[1]]])
    image = np.concatenate([pixels.astype(np.float32) / np.float32(max_value),
                            np.ones(pixels.shape[:2] + (1,), np.float32)], axis=2)
    if scale < 1.0:
        # warpAffine has no area filter: shrink first with INTER_AREA, then place the crop by a pure translation.
        shrunk = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        sx, sy = shrunk.shape[1] / image.shape[1], shrunk.shape[0] / image.shape[0]
        affine = np.array([[1.0, 0.0, size / 2.0 - centre[0] * sx], [0.0, 1.0, size / 2.0 - centre[1] * sy]])
        image = shrunk
    out = cv2.warpAffine(image, affine, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                         borderValue=(0.0, 0.0, 0.0, 0.0))
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def _tower(crop, prefix: str):
    from svfri.nets.layers import conv_bn_act

    x = crop
    for stage, width in enumerate(STAGE_WIDTHS):
        x = conv_bn_act(x, width, strides=2, slope=LEAKY_SLOPE, name=f"{prefix}{stage}")
        x = conv_bn_act(x, width, slope=LEAKY_SLOPE, name=f"{prefix}{stage}_b")
    return keras.layers.Flatten(name=f"{prefix}_flat")(x)


def build_level_regressor(size: int = CONTEXT_SIZE) -> keras.Model:
    """``(context [B, S, S, 4], face [B, S, S, 4], network_level [B, 3]) -> [B, 3]`` log mean linear skin albedo
    (module docstring)."""
    context = keras.Input((size, size, CONTEXT_CHANNELS), name="context")
    face = keras.Input((size, size, CONTEXT_CHANNELS), name="face")
    network_level = keras.Input((3,), name="network_level")
    x = keras.layers.Concatenate(name="level_features")([_tower(context, "context"), _tower(face, "face"),
                                                         network_level])
    x = keras.layers.Dropout(DROPOUT, name="level_dropout")(x)
    x = keras.layers.Dense(DENSE_WIDTH, name="level_dense")(x)
    x = keras.layers.LeakyReLU(negative_slope=LEAKY_SLOPE, name="level_dense_act")(x)
    residual = keras.layers.Dense(3, name="level_residual", kernel_initializer="zeros", bias_initializer="zeros")(x)
    out = keras.layers.Add(name="level_log_albedo")([network_level, residual])
    return keras.Model([context, face, network_level], out, name="albedo_level")


class AlbedoLevelNet:
    """The level regressor with its weights (:func:`build_level_regressor`).

    Attributes:
      model: the Keras model.
      provenance: the manifest's ``provenance`` (data, command, seed, metrics) once loaded or set.
    """

    def __init__(self, size: int = CONTEXT_SIZE):
        self.size = int(size)
        self.model = build_level_regressor(self.size)
        self.provenance: dict = {}
        self._predict = tf.function(lambda *x: self.model(list(x), training=False), reduce_retracing=True)

    def predict_log(self, context: np.ndarray, face: np.ndarray, network_level: np.ndarray) -> np.ndarray:
        """Crops ``[B, S, S, 4]`` (or ``[S, S, 4]``) and the networks' mean linear albedo ``[B, 3]`` (or ``[3]``) ->
        ``[B, 3]`` / ``[3]`` log mean linear skin albedo."""
        context, face = (np.asarray(x, np.float32) for x in (context, face))
        network_level = np.asarray(network_level, np.float64)
        single = context.ndim == 3
        if single:
            context, face, network_level = context[None], face[None], network_level[None]
        for name, crops in (("context", context), ("face", face)):
            if crops.shape[1:] != (self.size, self.size, CONTEXT_CHANNELS):
                raise ValueError(f"{name} crops must be [B, {self.size}, {self.size}, {CONTEXT_CHANNELS}], "
                                 f"got {crops.shape}")
        if network_level.shape != (len(context), 3) or not np.all(network_level > 0):
            raise ValueError(f"network_level must be [B, 3] positive linear albedo, got {network_level.shape}")
        out = np.asarray(self._predict(tf.constant(context), tf.constant(face),
                                       tf.constant(np.log(network_level), tf.float32)), np.float64)
        return out[0] if single else out

    def predict(self, context: np.ndarray, face: np.ndarray, network_level: np.ndarray) -> np.ndarray:
        """Mean linear sRGB skin albedo, ``[3]`` (or ``[B, 3]``), in (0, 1] (:meth:`predict_log`)."""
        return np.minimum(np.exp(self.predict_log(context, face, network_level)), 1.0)

    def save(self, directory: str | os.PathLike) -> pathlib.Path:
        directory = pathlib.Path(directory)
        try:
            directory.mkdir(parents=True, exist_ok=True)
            arrays = {w.path: keras.ops.convert_to_numpy(w) for w in self.model.weights}
            atomic_write_bytes(directory / LEVEL_WEIGHTS_FILE, archive_bytes(arrays))
            manifest = {"format": LEVEL_FORMAT[0], "version": LEVEL_FORMAT[1], "size": self.size,
                        "face_factor": CONTEXT_FACE_FACTOR, "face_crop_factor": FACE_CROP_FACTOR, "stage_widths": list(STAGE_WIDTHS),
                        "provenance": self.provenance}
            atomic_write_bytes(directory / LEVEL_MANIFEST_FILE, json.dumps(manifest, indent=1).encode("utf-8"))
        except OSError as error:
            raise OutputError(f"cannot write the albedo-level weights to {directory}: {error.strerror}") from None
        return directory / LEVEL_WEIGHTS_FILE

    @classmethod
    def from_directory(cls, directory: str | os.PathLike) -> "AlbedoLevelNet":
        """Loads ``level.json`` + ``level.npz``; :class:`ModelError` when missing, corrupt or mismatched."""
        directory = pathlib.Path(directory)
        try:
            manifest = json.loads((directory / LEVEL_MANIFEST_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelError(f"albedo-level weights not found in {directory} (no {LEVEL_MANIFEST_FILE}); "
                             "reinstall the models or train them with precompute/train_level.py") from None
        except (OSError, ValueError):
            raise ModelError(f"{directory / LEVEL_MANIFEST_FILE} is corrupt; reinstall the models") from None
        if (manifest.get("format"), manifest.get("version")) != LEVEL_FORMAT or \
                manifest.get("stage_widths") != list(STAGE_WIDTHS) or \
                manifest.get("face_factor") != CONTEXT_FACE_FACTOR or \
                manifest.get("face_crop_factor") != FACE_CROP_FACTOR:
            raise ModelError(f"{directory / LEVEL_MANIFEST_FILE} is not an svfri albedo-level manifest of this "
                             "version; reinstall the models")
        net = cls(int(manifest.get("size", CONTEXT_SIZE)))
        stored = read_archive(directory / LEVEL_WEIGHTS_FILE, "albedo-level weights")
        for weight in net.model.weights:
            value = stored.get(weight.path)
            if value is None or tuple(value.shape) != tuple(weight.shape):
                raise ModelError(f"albedo-level weights in {directory} lack or misshape {weight.path}; "
                                 "reinstall the models")
            weight.assign(value.astype(np.float32))
        net.provenance = manifest.get("provenance", {})
        return net
