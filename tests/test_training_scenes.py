"""Path-traced training scenes: disjoint from the benchmark's scenes, balanced, resumable, stored as stated."""

from __future__ import annotations

import collections
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks.pathtraced.plan import make_plan
from svfri.data.hdri import HELD_OUT_HDRIS, TRAIN_HDRIS
from svfri.synth.pathtraced.training import (SKIN_TYPES, TRAINING_SEED_BASE, draw_training_scene,
                                             load_training_sample, sample_path)

REPO = Path(__file__).resolve().parents[1]
#: Indices checked for disjointness and balance (the planned set is a few thousand).
CHECKED = 6000


def _plan_seeds(plan) -> set[int]:
    return ({s.seed for s in plan.scenes + plan.consistency} | {s.seed for s in plan.relight.values()})


def test_training_scenes_share_no_seed_or_held_out_map_with_the_benchmark():
    specs = [draw_training_scene(index, size=64, samples=4) for index in range(CHECKED)]
    seeds = {spec.seed for spec in specs}
    assert len(seeds) == CHECKED and min(seeds) == TRAINING_SEED_BASE
    for kind in ("report", "tuning"):
        for quick in (False, True):
            assert not seeds & _plan_seeds(make_plan(kind, quick=quick)), (kind, quick)
    maps = collections.Counter(spec.light.hdri for spec in specs)
    assert set(maps) == set(TRAIN_HDRIS) and not set(maps) & set(HELD_OUT_HDRIS)
    assert min(maps.values()) > 0.5 * CHECKED / len(TRAIN_HDRIS)           # every training map is used
    types = collections.Counter(spec.skin_type for spec in specs)
    assert set(types.values()) == {CHECKED // len(SKIN_TYPES)}             # exactly balanced over I..VI
    keys = np.mean([spec.light.key for spec in specs])
    assert 0.30 < keys < 0.37
    assert draw_training_scene(17).to_json() == draw_training_scene(17).to_json()   # a pure function of the index
    with pytest.raises(ValueError, match="index must be >= 0"):
        draw_training_scene(-1)


@pytest.mark.skipif(importlib.util.find_spec("mitsuba") is None,
                    reason="the path-traced scenes need the `bench` extra: pip install -e '.[bench]'")
def test_render_stores_photo_true_face_tile_maps_and_light_and_resumes(tmp_path):
    out = tmp_path / "train"
    command = [sys.executable, "-m", "precompute.render_training_scenes", "--out", str(out), "--count", "2",
               "--size", "64", "--samples", "4"]
    subprocess.run(command, cwd=REPO, check=True, capture_output=True)
    arrays, record = load_training_sample(sample_path(out, 1))
    assert arrays["photo"].shape == (64, 64, 3) and arrays["photo"].dtype == np.uint8
    assert arrays["albedo"].shape == (256, 256, 3) and arrays["normal"].shape == (256, 256, 3)
    assert arrays["specular"].shape == arrays["roughness"].shape == arrays["hair"].shape == (256, 256)
    assert arrays["light_sh"].shape == (9, 3) and arrays["light_sh"][0].min() > 0     # DC radiance positive
    assert arrays["skin_mask"].any() and arrays["photo"][arrays["skin_mask"]].mean() > 5   # a lit face is there
    assert record["spec"]["seed"] == TRAINING_SEED_BASE + 1 and record["map_layout"] == "ict_face_tile"
    assert record["spec"]["skin_type"] == SKIN_TYPES[1]
    # Normal map texels are unit tangent-space normals pointing out of the surface.
    normals = arrays["normal"].reshape(-1, 3) / 255.0 * 2 - 1
    assert np.percentile(np.linalg.norm(normals, axis=1), 5) > 0.9 and np.median(normals[:, 2]) > 0.9
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["present_in_range"] == 2 and manifest["runs"][0]["rendered"] == 2
    before = sample_path(out, 0).stat().st_mtime_ns
    subprocess.run(command, cwd=REPO, check=True, capture_output=True)           # resumes: nothing to do
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["runs"][1]["rendered"] == 0 and sample_path(out, 0).stat().st_mtime_ns == before


@pytest.mark.skipif(importlib.util.find_spec("mitsuba") is None,
                    reason="the path-traced scenes need the `bench` extra: pip install -e '.[bench]'")
def test_converted_set_has_the_runtime_texture_template_maps_and_level_crops(tmp_path):
    """Scenes -> the trainer's layout: T as svfri unwraps it, the truth in the template layout (same mean colour as
    in the face tile), the level crops; whole blocks of six skin types in ``test``; a rerun rewrites nothing."""
    from precompute.make_pathtraced_training_set import LEVEL_CROP_MARGIN
    from svfri.math.color import srgb_to_linear_np
    from svfri.nets.config import get_config
    from svfri.nets.level import CONTEXT_SIZE
    from svfri.synth.dataset import read_manifest, read_shard

    scenes, out = tmp_path / "scenes", tmp_path / "set"
    subprocess.run([sys.executable, "-m", "precompute.render_training_scenes", "--out", str(scenes), "--count", "7",
                    "--size", "192", "--samples", "8"], cwd=REPO, check=True, capture_output=True)
    command = [sys.executable, "-m", "precompute.make_pathtraced_training_set", "--scenes", str(scenes),
               "--out", str(out)]
    subprocess.run(command, cwd=REPO, check=True, capture_output=True)
    manifest = read_manifest(out)
    found = 7 - len(manifest["scenes_without_face"])
    assert found >= 5
    test, train = (read_shard(out / split / "shard_00000.npz") for split in ("test", "train"))
    assert set(test["scene_index"]) <= set(range(6)) and list(train["scene_index"]) in ([6], [])
    size = get_config().input_texture_size
    assert test["texture"].shape[1:] == (size, size, 4) and test["texture"].dtype == np.uint8
    assert test["albedo"].shape[1:] == (256, 256, 3) and test["specular"].shape[1:] == (256, 256)
    side = CONTEXT_SIZE + 2 * LEVEL_CROP_MARGIN
    assert test["level_context"].shape[1:] == test["level_face"].shape[1:] == (side, side, 4)
    for k, index in enumerate(test["scene_index"]):
        arrays, _ = load_training_sample(sample_path(scenes, int(index)))
        tile = srgb_to_linear_np(arrays["albedo"] / 255.0).reshape(-1, 3)
        template = srgb_to_linear_np(test["albedo"][k] / 255.0).reshape(-1, 3)
        ratio = np.median(template, axis=0) / np.median(tile, axis=0)
        assert np.all(np.abs(ratio - 1) < 0.15), ratio                 # the same skin, moved between layouts
    assert test["level_face"][:, side // 2, side // 2, 3].min() == 255   # the face crop is inside the photo
    before = (out / "test" / "shard_00000.npz").stat().st_mtime_ns
    subprocess.run(command, cwd=REPO, check=True, capture_output=True)
    assert (out / "test" / "shard_00000.npz").stat().st_mtime_ns == before
