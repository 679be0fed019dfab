"""Turn the path-traced training scenes into a training set the network trainer reads (svfri.synth.dataset layout).

Run::

    python -m precompute.make_pathtraced_training_set --scenes ~/.cache/svfri/pathtraced_train \\
        --out ~/.cache/svfri/pathtraced_set [--max-minutes M]

Per stored scene (:mod:`svfri.synth.pathtraced.training`):

* **``T``, as at run time**: the photo goes through svfri's own geometry stage (face detection, Face Mesh, the
  ICT head fit, :func:`svfri.pipeline.geometry_stage.compute_geometry` with a short visibility bake, which ``T``
  does not use) and is unwrapped into the networks' layout exactly as ``svfri fit`` unwraps it
  (:func:`~svfri.pipeline.geometry_stage.unwrap_network_texture`): the networks learn from what they will see,
  mesh-fit error included. Scenes where no face is found are left out and counted.
* **True maps in the networks' layout**: the scene's true albedo, specular and normal maps are stored in ICT's face
  tile; they are resampled into the template layout through the photo's own fitted ICT mesh (the inverse of the
  output's template -> face-tile resampling, :mod:`svfri.bake.uv_resample`: albedo in linear light, normals
  re-expressed in the template's tangent frames; template texels the ICT face does not reach, e.g. the eye and
  mouth openings, filled by push-pull). Approximation: the truth is placed through the *fitted* mesh, so where the
  fit is off the map is shifted with it -- as the fitted output would be.
* **Crops for the level regressor** (:mod:`svfri.nets.level`): the context and face crops round the detected Face
  Mesh points, as :func:`svfri.pipeline.albedo_level.level_crops` makes them at run time but
  :data:`LEVEL_CROP_MARGIN` pixels wider on each side (the same scale), so training can shift them.
* **Light**: the stored ``light_sh`` (the environment's SH times the exposure; a key light, when there is one, is
  not in it, and the camera's white-balance error is not folded in).

Splits: ``test`` = the scenes with ``(index // 6) % 10 == 0`` (whole blocks of the six skin types; the same
scenes the level regressor validates on, :mod:`precompute.train_level`), ``train`` the rest. Shards of
:data:`SHARD_SIZE` in index order; a shard already written is kept, so the command resumes and grows with the
scene folder (a partial last shard is rewritten when more scenes are there).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

SHARD_SIZE = 64
MAP_SIZE = 256
BAKE_RAYS = 16
VALIDATION_MODULUS = 10
#: Extra pixels on each side of the stored level crops (training shifts its window by up to twice this).
LEVEL_CROP_MARGIN = 8


def is_test(index: int) -> bool:
    return (index // 6) % VALIDATION_MODULUS == 0


def convert_scene(path: Path, template, texture_size: int) -> dict | None:
    """One scene's ``T`` and maps in the networks' layout (module docstring); ``None`` when no face is found."""
    from svfri.bake.uv_resample import resample, tile_correspondence
    from svfri.errors import SvfriError
    from svfri.io.images import Photo
    from svfri.pipeline.geometry_stage import GeometrySettings, compute_geometry, unwrap_network_texture
    from svfri.synth.pathtraced.training import load_training_sample

    arrays, record = load_training_sample(path)
    photo = Photo(arrays["photo"], path, "RGB", False, False, 1)
    try:
        geometry = compute_geometry(photo, GeometrySettings(mesh="ict", texture_size=MAP_SIZE, ray_count=BAKE_RAYS),
                                    template=template)
    except SvfriError:
        return None
    texture = unwrap_network_texture(geometry, texture_size, template)
    crops = _level_crops(photo, geometry.mesh.points)
    ict = geometry.ict_mesh
    inverse = tile_correspondence(ict.template_faces, ict.template_uv, ict.uv, ict.normals, ict.template_tangents(),
                                  geometry.tangents, size=MAP_SIZE)

    def to_template(name: str, kind: str) -> np.ndarray:
        image = arrays[name].astype(np.float64) / 255.0
        if image.shape[0] != MAP_SIZE:
            raise ValueError(f"{path}: {name} map is {image.shape[0]}^2, expected {MAP_SIZE}^2")
        out = resample(image, inverse, kind)
        return np.clip(np.round(out * 255.0), 0, 255).astype(np.uint8)

    return {"seed": int(record["spec"]["seed"]),
            "texture": np.clip(np.round(texture * 255.0), 0, 255).astype(np.uint8),
            "albedo": to_template("albedo", "colour"), "specular": to_template("specular", "scalar")[..., 0],
            "normal": to_template("normal", "normal"), "light": arrays["light_sh"].astype(np.float16),
            "hdri": record["spec"]["light"]["hdri"],
            "level_context": crops[0], "level_face": crops[1],
            "key_light": bool(record["key_light"]), "skin_type": int(record["spec"]["skin_type"]),
            "covered": float(inverse.covered.mean())}


def _level_crops(photo, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """uint8 context and face crops, :data:`LEVEL_CROP_MARGIN` wider than the regressor's input at its scale."""
    from svfri.nets.level import CONTEXT_SIZE
    from svfri.pipeline.albedo_level import level_crops

    return tuple(np.round(crop * 255.0).astype(np.uint8)
                 for crop in level_crops(photo, points, CONTEXT_SIZE, margin=LEVEL_CROP_MARGIN))


def _index(path: Path) -> int:
    return int(path.stem.split("_")[1])


def _write_shard(path: Path, items: list[dict]) -> None:
    from svfri.synth.dataset import write_shard

    write_shard(path, {
        "seed": np.array([i["seed"] for i in items], np.int64),
        "texture": np.stack([i["texture"] for i in items]), "albedo": np.stack([i["albedo"] for i in items]),
        "specular": np.stack([i["specular"] for i in items]), "normal": np.stack([i["normal"] for i in items]),
        "light": np.stack([i["light"] for i in items]), "hdri": np.array([i["hdri"] for i in items], np.str_),
        "key_light": np.array([i["key_light"] for i in items], bool),
        "level_context": np.stack([i["level_context"] for i in items]),
        "level_face": np.stack([i["level_face"] for i in items]),
        "skin_type": np.array([i["skin_type"] for i in items], np.int16),
        "scene_index": np.array([i["index"] for i in items], np.int64)})


def build(scenes: Path, out: Path, *, max_minutes: float | None, echo=print) -> dict:
    from svfri.geometry.template import load_face_template
    from svfri.nets.config import get_config
    from svfri.synth.dataset import FORMAT_NAME, FORMAT_VERSION, MANIFEST_NAME, read_manifest, shard_path

    texture_size = get_config().input_texture_size
    template = load_face_template()
    paths = sorted(scenes.glob("*/train_*.npz"), key=_index)
    manifest = read_manifest(out) if (out / MANIFEST_NAME).is_file() else {}
    splits = {split: [p for p in paths if is_test(_index(p)) == (split == "test")] for split in ("train", "test")}
    failed = set(manifest.get("scenes_without_face", []))
    clock = time.perf_counter()
    entries = {}
    for split, members in splits.items():
        old = {s["file"]: s for s in manifest.get("splits", {}).get(split, {}).get("shards", [])}
        shards = []
        for k in range(0, len(members), SHARD_SIZE):
            chunk = members[k:k + SHARD_SIZE]
            name = shard_path(out, split, k // SHARD_SIZE).name
            wanted = [_index(p) for p in chunk if _index(p) not in failed]
            if name in old and old[name].get("scene_indices") == wanted and (out / split / name).is_file():
                shards.append(old[name])
                continue
            if max_minutes is not None and time.perf_counter() - clock > 60 * max_minutes:
                echo(f"stopping: --max-minutes {max_minutes} reached")
                break
            items = []
            for path in chunk:
                if _index(path) in failed:
                    continue
                item = convert_scene(path, template, texture_size)
                if item is None:
                    failed.add(_index(path))
                    continue
                item["index"] = _index(path)
                items.append(item)
            if not items:
                continue
            _write_shard(out / split / name, items)
            shards.append({"file": name, "first_seed": items[0]["seed"], "count": len(items),
                           "scene_indices": [i["index"] for i in items],
                           "covered_fraction_mean": round(float(np.mean([i["covered"] for i in items])), 4)})
            echo(f"{split} {name}: {len(items)} scenes, {time.perf_counter() - clock:.0f} s so far")
        entries[split] = {"start_seed": shards[0]["first_seed"] if shards else 0,
                          "count": int(sum(s["count"] for s in shards)), "shard_size": SHARD_SIZE,
                          "shards": shards, "hdris": sorted({str(h) for h in _hdris(out, split, shards)})}
    manifest = {"format": FORMAT_NAME, "version": FORMAT_VERSION,
                "settings": {"render_size": 256, "texture_size": texture_size, "map_size": MAP_SIZE,
                             "ray_count": BAKE_RAYS, "source": "path-traced scenes (svfri.synth.pathtraced.training)"},
                "splits": entries, "scenes_without_face": sorted(failed),
                "command": "python -m precompute.make_pathtraced_training_set " + " ".join(sys.argv[1:])}
    out.mkdir(parents=True, exist_ok=True)
    temporary = out / (MANIFEST_NAME + ".tmp")
    temporary.write_text(json.dumps(manifest, indent=1))
    temporary.replace(out / MANIFEST_NAME)
    return manifest


def _hdris(out: Path, split: str, shards: list[dict]) -> set:
    names = set()
    for shard in shards:
        with np.load(out / split / shard["file"]) as data:
            names.update(str(h) for h in data["hdri"])
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenes", type=Path, required=True, help="folder of path-traced training scenes")
    parser.add_argument("--out", type=Path, required=True, help="training-set folder written (resumed)")
    parser.add_argument("--max-minutes", type=float, default=None)
    args = parser.parse_args(argv)
    manifest = build(args.scenes, args.out, max_minutes=args.max_minutes)
    print(json.dumps({split: entry["count"] for split, entry in manifest["splits"].items()}),
          f"{len(manifest['scenes_without_face'])} scenes without a face found")
    return 0


if __name__ == "__main__":
    sys.exit(main())
