"""Cost of the differentiable shader: forward + backward w.r.t. the three maps and the SH lighting.

Run: ``python benchmarks/bench_shading.py [--size 512] [--repeats 5]``. A unit sphere fills a ``size``² view
(~0.79 size² covered pixels, unoccluded hemisphere visibility); maps are 256² (albedo, specular, normal) as the
fit's are at most 512² / 256². Prints eager, ``tf.function`` and XLA timings and their ratio to the reference
workload of :mod:`benchmarks.common` timed in the same run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import markdown_table, time_call, time_reference  # noqa: E402

from svfri.native_logs import import_tensorflow  # noqa: E402

MAP_SIZE = 256


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    tf = import_tensorflow()
    import trimesh

    from svfri.bake.rasterize import rasterize_gbuffer
    from svfri.bake.visibility import bake_visibility
    from svfri.geometry.mesh_ops import vertex_normals, vertex_tangents
    from svfri.render.shading import gbuffer_to_tensors, shade

    sphere = trimesh.creation.icosphere(subdivisions=5)
    vertices, faces = np.asarray(sphere.vertices), np.asarray(sphere.faces)
    uv = np.stack([np.arctan2(vertices[:, 0], vertices[:, 2]) / (2 * np.pi) + 0.5, vertices[:, 1] * 0.5 + 0.5], 1)
    normals = vertex_normals(vertices, faces)
    visibility, bent = bake_visibility(vertices, faces, normals, ray_count=16)
    scale = args.size / 2
    camera = np.array([[scale, 0, 0, scale], [0, -scale, 0, scale], [0, 0, 0, 1.0]])
    gbuffer = rasterize_gbuffer(vertices, faces, uv, normals, vertex_tangents(vertices, faces, uv, normals),
                                visibility, bent, world_to_pixel=camera, height=args.size, width=args.size)
    gb = gbuffer_to_tensors(gbuffer)
    rng = np.random.default_rng(0)
    albedo = tf.Variable(rng.uniform(0.3, 0.8, (MAP_SIZE, MAP_SIZE, 3)).astype(np.float32))
    specular = tf.Variable(rng.uniform(0.2, 0.8, (MAP_SIZE, MAP_SIZE, 1)).astype(np.float32))
    normal = tf.Variable(np.broadcast_to(np.float32([0.5, 0.5, 1.0]), (MAP_SIZE, MAP_SIZE, 3)).copy())
    light = tf.Variable(rng.normal(0, 0.3, (9, 3)).astype(np.float32) + np.float32([[3.5]] + [[0.0]] * 8))
    target = tf.constant(rng.uniform(0, 1, (gbuffer.pixel_count, 3)).astype(np.float32))
    variables = [albedo, specular, normal, light]

    def step():
        with tf.GradientTape() as tape:
            radiance = shade(gb, albedo_srgb_map=albedo, specular_map=specular, normal_map=normal, light_sh=light,
                             roughness=0.45)["radiance"]
            loss = tf.reduce_mean(tf.square(radiance - target))
        return tape.gradient(loss, variables)

    modes = {"eager": step, "tf.function": tf.function(step), "XLA": tf.function(step, jit_compile=True)}
    reference = time_reference()
    rows = []
    for name, function in modes.items():
        best, median = time_call(lambda: [g.numpy() for g in function()], args.repeats)
        rows.append([name, f"{best * 1e3:.0f}", f"{median * 1e3:.0f}", f"{best / reference:.2f}"])
    print(f"{gbuffer.pixel_count} covered pixels, maps {MAP_SIZE}²; reference workload {reference:.3f} s\n")
    print(markdown_table(["mode", "min ms", "median ms", "min / reference"], rows))


if __name__ == "__main__":
    main()
