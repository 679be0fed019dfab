"""The svfri networks: per-component encoders, decoders and enhancers, the light regressor, and their container.

:class:`FaceNetworks` builds every model from a :class:`~svfri.nets.config.NetworkConfig` (components
albedo / specular / normal, **no weight sharing**) and gives the pipeline its four operations:

* :meth:`FaceNetworks.encode` -- ``T -> (skips, latents)``: fixed skip features ``F^1..F^3`` and initial
  codes ``z_c`` (:mod:`svfri.nets.autoencoder`);
* :meth:`FaceNetworks.decode` -- ``(latents, skips, T) -> maps``: decoder then enhancer
  (:mod:`svfri.nets.enhancer`);
* :meth:`FaceNetworks.predict_light` -- ``T -> [9, 3]`` SH radiance (:mod:`svfri.nets.light`);
* :meth:`FaceNetworks.fit_function` -- a cached ``tf.function`` of the fit step's forward pass,
  ``z -> maps`` with the skips fixed, differentiable w.r.t. ``z``, optionally XLA-compiled.

Textures: ``T`` is ``[B, H, W, 4]`` float32, sRGB colour in [0, 1] plus a visibility mask in [0, 1], in the UV
layout of :mod:`svfri.conventions` (row 0 = top, ``t`` up). Each network resizes ``T`` to its own input size
(bilinear, antialiased) unless it already has that size. Maps: albedo ``[B, k S, k S, 3]`` sRGB in (0, 1),
specular ``[B, k S, k S, 1]`` linear in (0, 1), normal ``[B, k S, k S, 3]`` = ``0.5 n + 0.5`` with ``n`` a
unit tangent-space normal (OpenGL +Y), ``n_z > 0``.

Default size ("fast" preset) and why: one fit step (forward + backward to ``z`` through decoder + enhancer of
all three components) must leave room for rendering inside ~0.3 s on a 2-core CPU (150 steps in the 60 s
budget). ``benchmarks/bench_networks.py`` measures the candidates: the default costs ~80 ms per step under
``tf.function`` (24 ms with the enhancers left out, ``enhance=False``, e.g. for early fit steps); XLA is
slower on this CPU. See :mod:`svfri.nets.config` for the numbers behind the choice.

Weights are stored as one ``networks.npz`` (float16 wherever the round trip is within
:data:`FLOAT16_RELATIVE_TOLERANCE`, float32 otherwise) plus ``networks.json`` (format, config).
"""

from __future__ import annotations

import json
import os
import pathlib

import keras
import numpy as np
import tensorflow as tf

from svfri.errors import ModelError, OutputError
from svfri.io.images import atomic_write_bytes
from svfri.nets.autoencoder import build_decoder, build_encoder
from svfri.nets.config import (
    COMPONENTS, DEFAULT_PRESET, PRESETS, ComponentConfig, NetworkConfig, get_config,
)
from svfri.nets.enhancer import build_discriminator, build_enhancer, takes_texture
from svfri.nets.input_mask import input_mask, mask_texture, skin_weight
from svfri.nets.light import build_light_regressor
from svfri.nets.perceptual import build_perceptual_net, perceptual_loss
from svfri.nets.storage import FLOAT16_RELATIVE_TOLERANCE, archive_bytes, read_archive

__all__ = [
    "FaceNetworks", "NetworkConfig", "ComponentConfig", "PRESETS", "DEFAULT_PRESET", "COMPONENTS", "get_config",
    "perceptual_loss", "WEIGHTS_FILE", "MANIFEST_FILE", "WEIGHTS_FORMAT", "FLOAT16_RELATIVE_TOLERANCE",
]

#: Weight archive written by :meth:`FaceNetworks.save_weights`.
WEIGHTS_FILE = "networks.npz"
#: JSON manifest beside it: format tag, version and the :class:`NetworkConfig`.
MANIFEST_FILE = "networks.json"
#: Format tag and version in the manifest.
WEIGHTS_FORMAT = ("svfri-networks", 1)


class FaceNetworks:
    """All svfri networks for one :class:`NetworkConfig` (see the module docstring for tensors and ranges).

    Attributes:
      config: the :class:`NetworkConfig`.
      encoders, decoders, enhancers: dicts component -> ``keras.Model`` (:data:`COMPONENTS` keys).
      light: the light regressor, ``T -> [B, 9, 3]``.
      discriminator: albedo PatchGAN (training only).
      perceptual: fixed random-feature net for the albedo enhancer's feature loss (training only).
    """

    def __init__(self, config: NetworkConfig | str = DEFAULT_PRESET):
        if isinstance(config, str):
            config = get_config(config)
        self.config = config
        slope = config.leaky_slope
        self.encoders = {c: build_encoder(c, config.component(c), slope=slope) for c in COMPONENTS}
        self.decoders = {c: build_decoder(c, config.component(c), slope=slope) for c in COMPONENTS}
        self.enhancers = {c: build_enhancer(c, config.component(c), slope=slope) for c in COMPONENTS}
        self.light = build_light_regressor(config)
        self.discriminator = build_discriminator(config.albedo.output_size, config.discriminator_widths, slope=slope)
        self.perceptual = build_perceptual_net(config.perceptual_widths)
        self._fit_functions: dict[tuple[bool, bool], tf.types.experimental.PolymorphicFunction] = {}

    # ----------------------------------------------------------------------------------------- models
    def models(self, *, include_training: bool = False) -> dict[str, keras.Model]:
        """Name -> model for every inference model (and the training-only ones when asked)."""
        models = {}
        for c in COMPONENTS:
            models[f"{c}_encoder"] = self.encoders[c]
            models[f"{c}_decoder"] = self.decoders[c]
            models[f"{c}_enhancer"] = self.enhancers[c]
        models["light"] = self.light
        if include_training:
            models["albedo_discriminator"] = self.discriminator
            models["perceptual"] = self.perceptual
        return models

    def parameter_count(self, *, include_training: bool = False) -> int:
        """Number of stored scalars (weights and batch-norm statistics)."""
        return sum(int(np.prod(w.shape)) for m in self.models(include_training=include_training).values()
                   for w in m.weights)

    # ----------------------------------------------------------------------------------------- textures
    def network_input(self, texture: tf.Tensor) -> tf.Tensor:
        """``T [B, H, W, 4]`` as the networks see it: the config's masked regions filled and marked unseen
        (:mod:`svfri.nets.input_mask`; ``T`` itself when the config masks nothing). Apply once per ``T``."""
        texture = _check_texture(texture)
        regions = self.config.masked_input_regions
        if not regions:
            return texture
        size = int(texture.shape[1])
        if texture.shape[2] != size:
            raise ValueError(f"texture must be square to be masked, got shape {texture.shape}")
        return mask_texture(texture, input_mask(tuple(regions), float(self.config.masked_input_dilation_uv), size),
                            skin_weight(size))

    def component_textures(self, texture: tf.Tensor) -> dict[str, tf.Tensor]:
        """``T [B, H, W, 4]`` through :meth:`network_input`, then resized to each component's ``[B, S, S, 4]``
        (as is where it already has that size)."""
        seen = self.network_input(texture)
        return {c: _resize(seen, self.config.component(c).texture_size) for c in COMPONENTS}

    def light_texture(self, texture: tf.Tensor) -> tf.Tensor:
        """``T [B, H, W, 4]`` through :meth:`network_input`, resized to the light regressor's input."""
        return _resize(self.network_input(texture), self.config.light_size)

    # ----------------------------------------------------------------------------------------- operations
    def encode(self, texture: tf.Tensor, *, training: bool = False):
        """``T [B, H, W, 4] -> (skips, latents)``.

        Returns:
          skips: dict component -> ``(F^1, F^2, F^3)``, ``F^k`` of shape ``[B, S/2^k, S/2^k, w_k]``.
          latents: dict component -> ``z_c`` of shape ``[B, latent_size]``.
        """
        textures = self.component_textures(texture)
        skips, latents = {}, {}
        for c in COMPONENTS:
            *features, latent = self.encoders[c](textures[c], training=training)
            skips[c] = tuple(features)
            latents[c] = latent
        return skips, latents

    def decode_coarse(self, latents: dict, skips: dict, *, training: bool = False) -> dict[str, tf.Tensor]:
        """Decoder outputs ``D_c(z_c, F^1..F^3)``: dict component -> ``[B, S, S, C]`` (before enhancement)."""
        return {c: self.decoders[c]([latents[c], *skips[c]], training=training) for c in COMPONENTS}

    def enhance(self, coarse: dict, texture, *, training: bool = False) -> dict[str, tf.Tensor]:
        """Enhancer outputs ``R_c``: dict component -> ``[B, k S, k S, C]``.

        ``texture``: ``T [B, H, W, 4]`` or the dict from :meth:`component_textures` (used by specular/normal).
        """
        textures = texture if isinstance(texture, dict) else self.component_textures(_check_texture(texture))
        maps = {}
        for c in COMPONENTS:
            inputs = [coarse[c], textures[c]] if takes_texture(c) else coarse[c]
            maps[c] = self.enhancers[c](inputs, training=training)
        return maps

    def decode(self, latents: dict, skips: dict, texture, *, enhance: bool = True,
               training: bool = False) -> dict[str, tf.Tensor]:
        """``(latents, skips, T) -> maps``: decoder, then (``enhance=True``) enhancer, per component.

        ``texture`` as in :meth:`enhance`; unused when ``enhance=False`` (the coarse maps are returned).
        """
        coarse = self.decode_coarse(latents, skips, training=training)
        return self.enhance(coarse, texture, training=training) if enhance else coarse

    def predict_light(self, texture: tf.Tensor) -> tf.Tensor:
        """``T [B, H, W, 4] -> [B, 9, 3]`` (or ``[H, W, 4] -> [9, 3]``) SH radiance, svfri ordering, linear RGB."""
        texture = tf.convert_to_tensor(texture, tf.float32)
        if texture.shape.rank == 3:
            return self.predict_light(texture[tf.newaxis])[0]
        return self.light(self.light_texture(texture), training=False)

    def fit_function(self, *, enhance: bool = True, jit_compile: bool = False):
        """Cached ``tf.function`` ``f(latents, skips, textures) -> maps`` for the fit (inference-mode BN).

        ``latents``: dict component -> ``[B, n_c]`` (the variables being optimised); ``skips``: from
        :meth:`encode`; ``textures``: from :meth:`component_textures`. Differentiable w.r.t. ``latents``
        (call it under a ``tf.GradientTape``, or call :meth:`decode` inside your own compiled step). One
        trace per input shape; ``jit_compile=True`` compiles it with XLA (see ``benchmarks/bench_networks.py``).
        """
        key = (enhance, jit_compile)
        if key not in self._fit_functions:
            def forward(latents, skips, textures):
                return self.decode(latents, skips, textures, enhance=enhance, training=False)
            self._fit_functions[key] = tf.function(forward, jit_compile=jit_compile, reduce_retracing=True)
        return self._fit_functions[key]

    # ----------------------------------------------------------------------------------------- storage
    def save_weights(self, directory: str | os.PathLike, *, include_training: bool = False) -> pathlib.Path:
        """Writes ``networks.npz`` + ``networks.json`` into ``directory`` atomically; returns the npz path.

        Arrays are stored float16 when lossless enough (:data:`FLOAT16_RELATIVE_TOLERANCE`), float32 otherwise.
        ``include_training`` also stores the discriminator and perceptual net (training checkpoints).
        """
        directory = pathlib.Path(directory)
        try:
            directory.mkdir(parents=True, exist_ok=True)
            arrays = {}
            for name, model in self.models(include_training=include_training).items():
                for weight in model.weights:
                    arrays[f"{name}/{weight.path}"] = keras.ops.convert_to_numpy(weight)
            manifest = {"format": WEIGHTS_FORMAT[0], "version": WEIGHTS_FORMAT[1],
                        "config": self.config.to_dict(), "models": sorted(self.models(
                            include_training=include_training))}
            atomic_write_bytes(directory / WEIGHTS_FILE, archive_bytes(arrays))
            atomic_write_bytes(directory / MANIFEST_FILE, json.dumps(manifest, indent=1).encode("utf-8"))
        except OSError as error:
            raise OutputError(f"cannot write network weights to {directory}: {error.strerror}; "
                              "check the folder is writable") from None
        return directory / WEIGHTS_FILE

    def load_weights(self, directory: str | os.PathLike) -> None:
        """Loads weights written by :meth:`save_weights`; raises :class:`ModelError` if missing/corrupt/mismatched."""
        directory = pathlib.Path(directory)
        manifest = read_manifest(directory)
        if NetworkConfig.from_dict(manifest["config"]).architecture != self.config.architecture:
            raise ModelError(f"network weights in {directory} were saved for a different network config; "
                             "build FaceNetworks.from_directory() or reinstall the models")
        stored = read_archive(directory / WEIGHTS_FILE, "network weights")
        present = set(manifest["models"])
        required = set(self.models(include_training=False))
        for name, model in self.models(include_training=True).items():
            if name not in present:
                if name in required:
                    raise ModelError(f"network weights in {directory} lack {name}; reinstall the models")
                continue
            values = []
            for weight in model.weights:
                key = f"{name}/{weight.path}"
                if key not in stored or tuple(stored[key].shape) != tuple(weight.shape):
                    raise ModelError(f"network weights in {directory} lack or misshape {key}; reinstall the models")
                values.append(stored[key].astype(np.float32))
            for weight, value in zip(model.weights, values):
                weight.assign(value)

    @classmethod
    def from_directory(cls, directory: str | os.PathLike) -> "FaceNetworks":
        """Builds the networks for the config stored in ``directory`` and loads their weights."""
        manifest = read_manifest(pathlib.Path(directory))
        networks = cls(NetworkConfig.from_dict(manifest["config"]))
        networks.load_weights(directory)
        return networks


def read_manifest(directory: pathlib.Path) -> dict:
    """The parsed ``networks.json`` of ``directory``; :class:`ModelError` if missing, corrupt or foreign."""
    path = directory / MANIFEST_FILE
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        ok = (manifest.get("format"), manifest.get("version")) == WEIGHTS_FORMAT
        config_ok = isinstance(manifest.get("config"), dict) and isinstance(manifest.get("models"), list)
    except FileNotFoundError:
        raise ModelError(f"network weights not found in {directory} (no {MANIFEST_FILE}); "
                         "install or train the models first") from None
    except (OSError, ValueError, AttributeError):
        raise ModelError(f"{path} is corrupt; reinstall the models") from None
    if not (ok and config_ok):
        raise ModelError(f"{path} is not an svfri network manifest of version {WEIGHTS_FORMAT[1]}; "
                         "reinstall the models")
    try:
        NetworkConfig.from_dict(manifest["config"])
    except Exception:  # noqa: BLE001 -- any malformed config is a corrupt manifest
        raise ModelError(f"{path} holds an invalid network config; reinstall the models") from None
    return manifest


def _check_texture(texture) -> tf.Tensor:
    """``T`` as float32 ``[B, H, W, 4]``; ``ValueError`` for another rank or channel count."""
    texture = tf.convert_to_tensor(texture, tf.float32)
    if texture.shape.rank != 4 or texture.shape[-1] != 4:
        raise ValueError(f"texture must be [B, H, W, 4] (sRGB + mask), got shape {texture.shape}")
    return texture


def _resize(texture: tf.Tensor, size: int) -> tf.Tensor:
    """Bilinear, antialiased resize of ``[B, H, W, C]`` to ``[B, size, size, C]`` (identity when equal)."""
    if texture.shape[1] == size and texture.shape[2] == size:
        return texture
    return tf.image.resize(texture, (size, size), method="bilinear", antialias=True)
