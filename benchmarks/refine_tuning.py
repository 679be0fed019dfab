"""Chooses and checks the detail refinement's weights (:mod:`svfri.fitting.refine`) on synthetic faces with GT.

Each scene is fitted once (the latent fit, default settings); then the refinement runs from that fit under every
candidate setting, and the albedo it returns is scored against the ground truth (albedo PSNR over the UV face
region, as Table 1 scores it) together with the photo PSNR of its render. Two kinds of scene:

* **SH-lit**: held-out samples of the test split (:func:`benchmarks.scenes.held_out_scene`), lit by order-2 SH
  light -- the renderer's own model, so a residual there is albedo, geometry or specular error, never shading the
  model cannot make;
* **hard sun**: the same heads under a directional key light with ray-traced cast shadows plus a dim SH fill
  (:func:`benchmarks.scenes.hard_light_scene`): shading the fit's SH light cannot reproduce, which a per-texel
  albedo would absorb. The refinement's priors must keep that out of the albedo.

``python benchmarks/refine_tuning.py [--faces N]`` prints a markdown table (mean over scenes per setting and
scene kind) and writes it to ``docs/benchmarks/refine_tuning.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

#: Candidate settings: label -> RefineSettings overrides (steps 0 = the latent fit alone).
CANDIDATES = {
    "latent fit only": {"steps": 0},
    "default": {},
    "prior x0.1": {"prior_weight_scale": 0.1},
    "prior x3": {"prior_weight_scale": 3.0},
    "prior x10": {"prior_weight_scale": 10.0},
    "smooth x3": {"smooth_weight_scale": 3.0},
    "prior x3, smooth x3": {"prior_weight_scale": 3.0, "smooth_weight_scale": 3.0},
    "low-pass 0.01": {"lowpass_weight": 0.01},
    "30 steps": {"steps": 30},
}


def settings_for(overrides: dict):
    from svfri.fitting.refine import RefineSettings

    base = RefineSettings()
    values = {}
    for key, value in overrides.items():
        if key.endswith("_scale"):
            name = key[: -len("_scale")]
            values[name] = getattr(base, name) * value
        else:
            values[key] = value
    return dataclasses.replace(base, **values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=6, help="scenes per kind")
    parser.add_argument("--kinds", default="sh,sun", help="comma-separated scene kinds: sh, sun")
    parser.add_argument("--latent-prior", type=float, default=None,
                        help="the latent fit's latent_prior_weight (default: FitSettings' own)")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks" / "refine_tuning.md")
    args = parser.parse_args(argv)

    from svfri.native_logs import import_tensorflow
    import_tensorflow()
    import numpy as np

    from svfri.fitting.optimise import FitSettings, LatentFitter, pixel_weights
    from svfri.fitting.refine import AlbedoRefiner
    from svfri.geometry.template import load_face_template
    from svfri.pipeline.fit_job import load_networks
    from svfri.synth.dataset import SynthesisSettings

    from benchmarks import quality, scenes
    from benchmarks.common import markdown_table

    template = load_face_template()
    networks = load_networks()
    fit_settings = FitSettings() if args.latent_prior is None else FitSettings(latent_prior_weight=args.latent_prior)
    fitter = LatentFitter(networks, fit_settings)
    refiners: dict[tuple, AlbedoRefiner] = {}
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    rows_by_setting: dict[tuple[str, str], list[dict]] = {}
    seconds: dict[str, list[float]] = {}
    clock = time.perf_counter()

    def scene_list(kind: str):
        if kind == "sh":
            for k in range(args.faces):
                yield scenes.held_out_scene(scenes.HELD_OUT_START_SEED + k, template)
        elif kind == "sun":
            for k, setup in enumerate(scenes.hard_light_setups(args.faces)):
                geometry = scenes.scene_geometry(scenes.HELD_OUT_START_SEED + k, template)
                skin = scenes.skin_maps(geometry.seed, template, size=SynthesisSettings().map_size)
                yield scenes.hard_light_scene(geometry, skin, template, ambient_sh=scenes.hard_light_ambient(setup.hdri),
                                              sun_direction=setup.sun_direction, sun_radiance=setup.sun_radiance,
                                              name=f"seed {geometry.seed}: {setup.label}")
        else:
            raise SystemExit(f"unknown scene kind {kind!r}")

    for kind in kinds:
        for scene in scene_list(kind):
            result = fitter.fit(scene.gbuffer, scene.texture, scene.photo, template)
            weights_scored = pixel_weights(scene.gbuffer, template)
            for label, overrides in CANDIDATES.items():
                settings = settings_for(overrides)
                maps, radiance = dict(result.maps), result.radiance
                if settings.steps:
                    size = result.maps["albedo"].shape[0]
                    key = (size, settings)
                    if key not in refiners:
                        refiners[key] = AlbedoRefiner(size, settings, fit_settings.loss_space)
                    refined = refiners[key].refine_fit(scene.gbuffer, scene.photo, result, template,
                                                       roughness=fit_settings.roughness)
                    maps["albedo"], radiance = refined.albedo, refined.radiance
                    seconds.setdefault(label, []).append(refined.seconds)
                metrics = quality.scene_metrics(maps, result.light_sh, radiance, scene, weights_scored)
                rows_by_setting.setdefault((kind, label), []).append(metrics)
            print(f"[{time.perf_counter() - clock:6.0f} s] {kind} {scene.name}: " + ", ".join(
                f"{label} {rows_by_setting[(kind, label)][-1]['albedo_psnr']:.2f}" for label in CANDIDATES),
                flush=True)

    header = ["setting"] + [f"{kind}: albedo / photo PSNR" for kind in kinds] + ["refine s / photo"]
    rows = []
    for label in CANDIDATES:
        cells = []
        for kind in kinds:
            mean = quality.mean_metrics(rows_by_setting[(kind, label)])
            cells.append(f"{mean['albedo_psnr']:.2f} / {mean['photo_psnr']:.2f}")
        rows.append([label] + cells + [f"{np.mean(seconds[label]):.2f}" if label in seconds else "—"])
    table = markdown_table(header, rows)
    from svfri.fitting.settings import RefineSettings
    text = (f"# Detail refinement: weights on synthetic faces with GT\n\n`python benchmarks/refine_tuning.py "
            f"--faces {args.faces} --kinds {','.join(kinds)}`, {args.faces} faces per kind, mean PSNR (dB). "
            f"Latent fit: {fit_settings}. Rows change one field of the refinement's defaults, "
            f"\"default\" = {RefineSettings()}.\n\n" + table + "\n")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
