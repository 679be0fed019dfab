"""Path-traced training scenes: which ones exist (a pure function of an index) and what is stored per sample.

The networks' prior was learned on faces shaded by svfri's own SH shader (:mod:`svfri.synth.dataset`); these scenes
are rendered by the same independent path tracer as the held-out benchmark (:mod:`svfri.synth.pathtraced.scenes`:
ICT-FaceKit heads, procedural skin of types I-VI, eyes, teeth, hair cap, clothes, full HDR environments visible
behind the head, hard key lights with cast shadows, perspective camera, metering, white balance, noise, JPEG).

Disjoint from every evaluation scene by construction (tested in ``tests/test_training_scenes.py`` against
``benchmarks.pathtraced.plan``):

* seeds ``TRAINING_SEED_BASE + index`` (the SH-shaded set uses 0.. / 1 000 000.., the benchmark's report and
  tuning plans 2 000 000.. / 3 000 000..), so no head, pose, light rotation or camera is shared;
* only the 14 training HDR maps (:data:`svfri.data.hdri.TRAIN_HDRIS`), never the 4 held-out ones the report uses.

Not independent in appearance: the heads come from the same generator as the benchmark's (ICT shape modes, the
procedural skin, its colour field and make-up, the hair cap), only with other seeds and maps. Once networks are
trained on these scenes, the benchmark measures generalisation to new people and light *within* that generator,
not to real skin; a scanned or photographed ground truth is still needed for that.

Balanced over skin types: sample ``i`` has type ``i mod 6 + 1``. A hard key light in a fraction
:data:`KEY_FRACTION` of the samples. Not yet: occluders (glasses, hands, hair strands) -- the heads' hair is a cap.

What a sample stores (:func:`training_sample`): the photo as svfri is given it and the true maps **in ICT's face UV
tile** (the layout the retrained networks will use), plus the light. The network input ``T`` is *not* stored: it is
what svfri's own geometry stage unwraps from the photo, computed when the training set is read, so the networks
learn from exactly what they will see at run time (mesh-fit error included) and the stored samples survive changes
of the unwrap.

Light target: ``light_sh`` ``[9, 3]`` = the SH projection (:func:`svfri.render.environment.environment_to_sh`) of
the true environment times the camera's exposure, i.e. the radiance in photo units that lights the head.
Approximation: a sample's key light is not in ``light_sh`` (an SH of order 2 cannot hold a small source faithfully);
``key_light`` in the record says whether one was there, so a loader can leave those samples out of the light loss.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from svfri.data.hdri import TRAIN_HDRIS
from svfri.synth.pathtraced.scenes import (SceneSpec, draw_scene, render_scene_with_head, save_npz_atomic,
                                          true_environment)

__all__ = ["TRAINING_SEED_BASE", "TRAINING_SIZE", "TRAINING_SAMPLES", "TRAINING_MAP_SIZE", "KEY_FRACTION",
           "SKIN_TYPES", "draw_training_scene", "training_sample", "save_training_sample", "load_training_sample",
           "sample_path"]

#: First seed of the training scenes (far from the SH-shaded set's and the benchmark plans' bases).
TRAINING_SEED_BASE = 4_000_000
#: Photo side (pixels) and samples per pixel: 256 px at 64 spp took 5.2 s per scene on the 2 shared cores
#: (448 px at 128 spp, the benchmark's: 35.5 s), i.e. about 700 scenes an hour.
TRAINING_SIZE = 256
TRAINING_SAMPLES = 64
#: Side of the stored true maps (face tile, area-downsampled from the generator's 512).
TRAINING_MAP_SIZE = 256
#: Fraction of samples with a hard key light (the benchmark: every third scene).
KEY_FRACTION = 1.0 / 3.0
#: Skin types cycled through (balanced: each type every sixth sample).
SKIN_TYPES = (1, 2, 3, 4, 5, 6)
#: Stream id of the per-sample choices (map, key light), apart from the scene's own seed streams.
_CHOICE_STREAM = 7717


def draw_training_scene(index: int, *, size: int = TRAINING_SIZE, samples: int = TRAINING_SAMPLES) -> SceneSpec:
    """The ``index``-th training scene (pure function): seed, skin type, training map, key light, camera."""
    if index < 0:
        raise ValueError(f"index must be >= 0, got {index}")
    seed = TRAINING_SEED_BASE + int(index)
    rng = np.random.default_rng(np.random.SeedSequence([seed, _CHOICE_STREAM]))
    hdri = TRAIN_HDRIS[int(rng.integers(len(TRAIN_HDRIS)))]
    key = bool(rng.random() < KEY_FRACTION)
    skin_type = SKIN_TYPES[index % len(SKIN_TYPES)]
    return draw_scene(f"train_{index:06d}_type{skin_type}", seed, skin_type, hdri, key=key, size=size,
                      samples=samples)


def _area(image: np.ndarray, size: int) -> np.ndarray:
    image = np.asarray(image, np.float32)
    if image.shape[0] == size:
        return image
    return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)


def _to_uint8(image: np.ndarray) -> np.ndarray:
    return np.clip(np.round(np.asarray(image, np.float64) * 255.0), 0, 255).astype(np.uint8)


def training_sample(spec: SceneSpec, *, map_size: int = TRAINING_MAP_SIZE) -> dict:
    """Path-traces ``spec`` and returns the stored arrays (module docstring):

    ``photo`` ``[H, W, 3]`` uint8 sRGB; ``albedo`` ``[M, M, 3]`` uint8 sRGB-encoded linear albedo; ``specular``
    ``[M, M]`` uint8 (scale on F0 0.028, in [0, 1]); ``roughness`` ``[M, M]`` uint8 (perceptual); ``normal``
    ``[M, M, 3]`` uint8 encoded tangent-space normal (OpenGL +Y); ``hair`` ``[M, M]`` uint8 brow/beard coverage
    (all in ICT's face tile, ``t`` up, row 0 at ``t = 1``); ``light_sh`` ``[9, 3]`` float32; ``skin_mask``
    ``[H, W]`` bool (the benchmark's scored skin); ``record`` a JSON string (spec, exposure, key light, head).
    Call :func:`svfri.synth.pathtraced.mitsuba_render.select_variant` before TensorFlow is imported.
    """
    from svfri.math.color import linear_to_srgb_np
    from svfri.render.environment import environment_to_sh

    truth, head = render_scene_with_head(spec)
    skin = head.skin
    light_sh = np.asarray(environment_to_sh(true_environment(spec.light)), np.float64) * truth.exposure
    record = {"spec": spec.to_json(), "exposure": truth.exposure, "key_light": bool(spec.light.key),
              "variant": truth.variant, "head": truth.head, "map_layout": "ict_face_tile",
              "light_sh_excludes_key_light": True}
    return {
        "photo": truth.photo,
        "albedo": _to_uint8(linear_to_srgb_np(np.clip(_area(skin.albedo, map_size), 0.0, 1.0))),
        "specular": _to_uint8(_area(skin.specular, map_size)),
        "roughness": _to_uint8(_area(skin.roughness, map_size)),
        "normal": _to_uint8(_area(skin.normal_map, map_size)),
        "hair": _to_uint8(_area(skin.hair_coverage, map_size)),
        "light_sh": light_sh.astype(np.float32),
        "skin_mask": truth.skin,
        "record": np.array(json.dumps(record)),
    }


def sample_path(folder: str | Path, index: int) -> Path:
    """Where sample ``index`` lives under ``folder`` (1000 samples per sub-folder)."""
    return Path(folder) / f"{index // 1000:03d}" / f"train_{index:06d}.npz"


def save_training_sample(path: str | Path, sample: dict) -> None:
    """Writes one sample as a compressed npz, atomically (a temporary file renamed into place)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_npz_atomic(path, **sample)


def load_training_sample(path: str | Path) -> tuple[dict, dict]:
    """``(arrays, record)`` of a stored sample (arrays as stored; ``record`` the parsed JSON)."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files if key != "record"}
        record = json.loads(str(data["record"]))
    return arrays, record
