"""The Mitsuba boundary of the path-traced benchmark: part identification, UV and environment conventions.

Mitsuba runs in a child process (it must start before TensorFlow; see svfri.synth.pathtraced.worker).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

# Only looked up, never imported here: Mitsuba's LLVM back end must not start in a process that holds TensorFlow.
if importlib.util.find_spec("mitsuba") is None:
    pytest.skip("the path-traced benchmark needs the `bench` extra: pip install -e '.[bench]'", allow_module_level=True)

REPO = Path(__file__).resolve().parents[1]

SCRIPT = r"""
import json, numpy as np, trimesh
from svfri.synth.pathtraced.mitsuba_render import select_variant
select_variant()
from svfri.synth.pathtraced.mitsuba_render import Material, Part, PinholeCamera, render
sphere = trimesh.creation.icosphere(subdivisions=4, radius=10.0)
v, f, n = np.asarray(sphere.vertices), np.asarray(sphere.faces), np.asarray(sphere.vertex_normals)
uv = np.stack([v[:, 0] / 20 + 0.5, v[:, 1] / 20 + 0.5], 1)          # t grows with world +Y
texture = np.zeros((64, 64, 3), np.float32)
texture[:32] = (0.8, 0.1, 0.1)                                      # rows 0..31 = t > 0.5 (svfri convention)
texture[32:] = (0.1, 0.1, 0.8)
parts = [Part("left", v - [15, 0, 0], f, uv, n, Material(albedo=texture, roughness=0.8, specular=0.0)),
         Part("right", v + [15, 0, 0], f, uv, n, Material(albedo=(0.7, 0.7, 0.7), roughness=0.8, specular=0.0))]
env = np.full((64, 128, 3), 0.02, np.float32)
env[24:40, 28:36] = (40.0, 0.0, 0.0)                               # u = 0.25: the +X direction
camera = PinholeCamera((0, 0, 120), (0, 0, 0), (0, 1, 0), 40.0, 96)
result = render(parts, env, camera, samples=16)
pixels = {name: camera.project(np.array([point]))[0].round().astype(int) for name, point in
          {"left": [-15, 0, 10], "right": [15, 0, 10], "left_top": [-15, 7, 7], "left_bottom": [-15, -7, 7],
           "right_plus_x": [22, 0, 7], "right_minus_x": [8, 0, 7]}.items()}
at = lambda key, image: image[pixels[key][1], pixels[key][0]].tolist()
print(json.dumps({"parts": {k: int(result.part[p[1], p[0]]) for k, p in pixels.items() if k in ("left", "right")},
                  "background": int(result.part[2, 2]),
                  "top_uv_t": at("left_top", result.uv)[1], "bottom_uv_t": at("left_bottom", result.uv)[1],
                  "plus_x": at("right_plus_x", result.radiance), "minus_x": at("right_minus_x", result.radiance),
                  "variant": result.variant}))
"""


@pytest.fixture(scope="module")
def probe() -> dict:
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_parts_are_identified_per_pixel(probe):
    assert probe["parts"] == {"left": 0, "right": 1}
    assert probe["background"] == -1


def test_uv_comes_back_in_svfri_convention(probe):
    assert probe["top_uv_t"] > 0.7 and probe["bottom_uv_t"] < 0.3


def test_environment_convention_matches_svfri(probe):
    """svfri's equirect u = 0.25 is +X (svfri.render.environment); Mitsuba must light the +X side red."""
    plus_x, minus_x = probe["plus_x"], probe["minus_x"]
    assert plus_x[0] > 10 * max(minus_x[0], 1e-3) and plus_x[0] > 5 * plus_x[2]
