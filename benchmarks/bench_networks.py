"""Cost of one fit step through the networks, per candidate size, on this CPU (fp32).

One fit step here = forward ``z -> maps`` through decoder + enhancer of all three components (skip features
fixed, inference-mode batch norm) + an L2 loss to fixed target maps + the backward pass to ``z``
(``tape.gradient``). Rendering is not included: the whole fit step (networks + render + backward) should stay
under ~0.3 s so that 150 steps fit the 60 s per-photo budget (docs/architecture.md, "Speed budget").

Each configuration is timed three ways: eager (Keras models called op by op), ``tf.function`` and
``tf.function(jit_compile=True)`` (XLA). The machine may be shared and noisy, so the script also times a fixed
reference workload (a chain of ten 1024 x 1024 float32 matmuls, ~21.5 GFLOP) before and after each row,
and reports each time as a ratio to it. Times are the **minimum** of ``--repeats`` runs after warm-up (the
usual estimate of the uncontended cost on a shared machine, as ``timeit`` advises; the median is printed in
the log); the first call (trace / XLA compile) is reported separately.

Usage::

    python benchmarks/bench_networks.py [--repeats 5] [--only NAME ...] [--paper] [--no-eager]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import REFERENCE_CHAIN, REFERENCE_SIZE, time_call, time_reference  # noqa: E402

from svfri.nets import COMPONENTS, FaceNetworks, get_config  # noqa: E402
from svfri.nets.config import NetworkConfig  # noqa: E402

#: Target for one whole fit step (networks + render + backward), seconds.
FIT_STEP_BUDGET_S = 0.3


#: Encoder widths of the candidates, truncated to the number of levels down to a 4 x 4 bottleneck.
WIDTHS = (32, 64, 96, 128, 128, 128, 128)
BOTTLENECK = 4


def _levels_to_bottleneck(size: int) -> int:
    return (size // BOTTLENECK).bit_length() - 1


def _component(config: NetworkConfig, name: str, **changes):
    return dataclasses.replace(config.component(name), **changes)


def candidate_configs() -> dict[str, tuple[NetworkConfig, bool]]:
    """Name -> (config, enhance) of the sizes compared; albedo at S, specular/normal at S/2."""
    fast = get_config("fast")

    def variant(albedo_size, scale, stages, *, width=32, blocks=4):
        small = albedo_size // 2
        albedo_levels = WIDTHS[: _levels_to_bottleneck(albedo_size)]
        small_levels = WIDTHS[: _levels_to_bottleneck(small)]
        return dataclasses.replace(
            fast,
            albedo=_component(fast, "albedo", texture_size=albedo_size, encoder_widths=albedo_levels,
                              enhancer_scale=scale, enhancer_upsample_stages=stages, enhancer_width=width,
                              enhancer_blocks=blocks),
            specular=_component(fast, "specular", texture_size=small, encoder_widths=small_levels,
                                enhancer_scale=scale, enhancer_upsample_stages=stages, enhancer_width=width,
                                enhancer_blocks=blocks),
            normal=_component(fast, "normal", texture_size=small, encoder_widths=small_levels,
                              enhancer_scale=scale, enhancer_upsample_stages=stages, enhancer_width=width,
                              enhancer_blocks=blocks),
        )

    assert variant(128, 4, 0) == fast  # the default is the 128² x4 ESPCN-output candidate
    return {
        "fast, decoder only": (fast, False),
        "128 x2 srgan": (variant(128, 2, 1), True),
        "128 x4 srgan": (variant(128, 4, 2), True),
        "128 x4 srgan+espcn": (variant(128, 4, 1), True),
        "fast (default)": (fast, True),
        "128 x4 espcn w16 b2": (variant(128, 4, 0, width=16, blocks=2), True),
        "128 x4 srgan+espcn w32 b2": (variant(128, 4, 1, blocks=2), True),
        "128 x4 srgan+espcn w16 b4": (variant(128, 4, 1, width=16), True),
        "256 x2 srgan": (variant(256, 2, 1), True),
        "256 x2 espcn": (variant(256, 2, 0), True),
    }


def make_step(networks: FaceNetworks, *, enhance: bool, mode: str):
    """A no-argument callable running one fit step (forward + loss + gradient to z); returns the gradients."""
    texture = tf.random.stateless_uniform([1, 256, 256, 4], seed=(3, 4))
    skips, latents = networks.encode(texture)
    textures = networks.component_textures(texture)
    z = {c: tf.Variable(latents[c]) for c in COMPONENTS}
    maps = networks.decode(latents, skips, textures, enhance=enhance)
    targets = {c: tf.random.stateless_uniform(maps[c].shape, seed=(5, i)) for i, c in enumerate(COMPONENTS)}

    def step():
        with tf.GradientTape() as tape:
            out = networks.decode({c: z[c] for c in COMPONENTS}, skips, textures, enhance=enhance)
            loss = tf.add_n([tf.reduce_mean(tf.square(out[c] - targets[c])) for c in COMPONENTS])
        return tape.gradient(loss, [z[c] for c in COMPONENTS])

    if mode == "eager":
        return step
    return tf.function(step, jit_compile=(mode == "xla"))


def describe(config: NetworkConfig, enhance: bool) -> str:
    a, s = config.albedo, config.specular
    if not enhance:
        return f"{a.texture_size}² / {s.texture_size}² (no enhancer)"
    return (f"{a.texture_size}²→×{a.enhancer_scale}→{a.output_size}² / {s.texture_size}²→×{s.enhancer_scale}"
            f"→{s.output_size}² (w{a.enhancer_width}, {a.enhancer_blocks} blocks, {a.enhancer_upsample_stages} "
            "shuffle stages)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", nargs="*", help="names of the candidate configs to time")
    parser.add_argument("--paper", action="store_true", help="also time the paper's sizes (slow)")
    parser.add_argument("--no-eager", action="store_true", help="skip eager mode")
    args = parser.parse_args()

    candidates = candidate_configs()
    if args.paper:
        candidates["paper"] = (get_config("paper"), True)
        candidates["paper, decoder only"] = (get_config("paper"), False)
    if args.only:
        candidates = {k: v for k, v in candidates.items() if k in args.only}
    modes = ["tf.function", "xla"] if args.no_eager else ["eager", "tf.function", "xla"]

    references = [time_reference(args.repeats)]
    print(f"reference ({REFERENCE_CHAIN} chained {REFERENCE_SIZE}² matmuls): {references[0] * 1e3:.1f} ms", flush=True)
    rows = []
    for name, (config, enhance) in candidates.items():
        networks = FaceNetworks(config)
        megabytes = 2 * networks.parameter_count() / 1e6
        timings = {}
        for mode in modes:
            step = make_step(networks, enhance=enhance, mode=mode)
            start = time.perf_counter()
            step()
            warmup = time.perf_counter() - start
            step()
            seconds, median = time_call(step, args.repeats, warmup=0)
            timings[mode] = (seconds, warmup)
            print(f"  {name:26s} {mode:12s} min {seconds * 1e3:7.1f} ms/step, median {median * 1e3:7.1f} "
                  f"(first call {warmup:.1f} s)", flush=True)
        references.append(time_reference(args.repeats))
        local_reference = 0.5 * (references[-2] + references[-1])
        print(f"  reference around it: {local_reference * 1e3:.1f} ms", flush=True)
        rows.append((name, describe(config, enhance), megabytes, timings, local_reference))
    reference = statistics.median(references)
    print(f"reference workload over the run (minimum of each timing): median {reference * 1e3:.1f} ms, "
          f"range {min(references) * 1e3:.1f}-{max(references) * 1e3:.1f} ms\n")

    print("minimum ms per step; in brackets the ratio to the reference workload timed before and after the row")
    print("| config | sizes | MB fp16 |" + "".join(f" {m} ms (×ref) |" for m in modes) + " XLA first call s |")
    print("|" + "---|" * (4 + len(modes)))
    for name, sizes, megabytes, timings, local_reference in rows:
        cells = "".join(f" {t[0] * 1e3:.0f} ({t[0] / local_reference:.2f}) |" for t in timings.values())
        print(f"| {name} | {sizes} | {megabytes:.1f} |{cells} {timings['xla'][1]:.1f} |")
    print(f"\nfit-step budget including rendering: {FIT_STEP_BUDGET_S} s")


if __name__ == "__main__":
    main()
