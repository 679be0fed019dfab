"""Skin-tone fairness of the recovered albedo, in the form of the FAIR benchmark (Feng et al., "Towards racially
unbiased skin tone estimation via scene disambiguation", ECCV 2022; its "FAIR" benchmark scores albedo by ITA).

Scenes: for each head ``j`` (held-out seed, pose, run-time mesh) and light ``j`` (a held-out HDR map), the same
head is given a skin drawn for every skin type I..VI (:func:`benchmarks.scenes.skin_maps`: the Chardon ITA
categories of :mod:`svfri.synth.skin_color`, no facial hair), so the groups differ in skin only.

Measures, on the cheek and forehead region (:func:`benchmarks.lighting_consistency.skin_region_mask`):

* ``ITA = atan2(L* - 50, b*)`` (degrees) of the mean linear albedo over the region (:func:`mean_skin_ita`),
  for the GT and the recovered map; **signed error** ``ITA_pred - ITA_gt`` (positive: recovered skin lighter
  than the truth) and absolute error.
* Per group ``k``: ``e_k`` = mean absolute ITA error over the group's faces. FAIR's aggregates
  (:func:`fair_scores`): **average ITA error** ``mean_k e_k``, **bias score** ``std_k e_k`` (population standard
  deviation over groups: how unequal the error is across skin types), **total score** = their sum.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from svfri.geometry.template import FaceTemplate
from svfri.math.color import srgb_to_linear_np
from svfri.math.colorimetry import ita_degrees
from svfri.synth.dataset import SynthesisSettings, resize_map
from svfri.synth.skin_color import SKIN_TYPE_NAMES

from benchmarks.common import markdown_table
from benchmarks.lighting_consistency import skin_region_mask

__all__ = ["ROMAN", "mean_skin_ita", "ita_error", "fair_scores", "run_skin_tone", "skin_tone_markdown",
           "plot_skin_tone"]

ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV", 5: "V", 6: "VI"}


def mean_skin_ita(albedo_srgb: np.ndarray, mask: np.ndarray) -> float:
    """ITA (degrees) of the mean linear albedo over ``mask`` (``albedo_srgb [M, M, 3]`` sRGB-encoded, ``[0, 1]``)."""
    linear = srgb_to_linear_np(np.clip(np.asarray(albedo_srgb, np.float64), 0.0, 1.0))
    return float(ita_degrees(linear[np.asarray(mask, bool)].mean(axis=0)))


def ita_error(predicted_ita: float | np.ndarray, true_ita: float | np.ndarray) -> np.ndarray | float:
    """Signed ITA error ``predicted - true`` in degrees: positive when the recovered skin is lighter."""
    return np.asarray(predicted_ita, np.float64) - np.asarray(true_ita, np.float64)


def fair_scores(group_errors: dict[int, list[float] | np.ndarray]) -> dict:
    """FAIR aggregates from per-face absolute ITA errors grouped by skin type.

    Args:
      group_errors: skin type -> absolute ITA errors (degrees) of that group's faces (each non-empty).

    Returns:
      ``{"per_group": {type: mean abs error}, "average": mean over groups, "bias": population std over groups,
      "total": average + bias}``.
    """
    if not group_errors or any(np.size(v) == 0 for v in group_errors.values()):
        raise ValueError("every group needs at least one error")
    per_group = {k: float(np.mean(np.abs(np.asarray(v, np.float64)))) for k, v in sorted(group_errors.items())}
    values = np.array(list(per_group.values()))
    average, bias = float(values.mean()), float(values.std())
    return {"per_group": per_group, "average": average, "bias": bias, "total": average + bias}


def run_skin_tone(head_seeds: list[int], environments: list[tuple[str, float]], skin_types: list[int],
                  template: FaceTemplate, *, fit: Callable, progress: Callable[[str], None] = print) -> dict:
    """Fits every (head, skin type) scene (module docstring) and measures ITA before and after the fit.

    Args:
      head_seeds: held-out seeds of the heads; head ``j`` is lit by ``environments[j % len(environments)]``.
      environments: ``(map, yaw)`` pairs (:func:`benchmarks.scenes.held_out_environments`).
      skin_types: the groups (1..6).
      template: face template.
      fit: ``fit(scene) -> FitRecord``.

    Returns:
      ``{"rows": [per-face dict], "init": fair_scores, "fit": fair_scores, "skin_types", "heads"}``.
    """
    from benchmarks.scenes import environment_light, relit_scene, scene_geometry, skin_maps

    map_size = SynthesisSettings().map_size
    mask = skin_region_mask(template, map_size)
    rows = []
    for j, seed in enumerate(head_seeds):
        geometry = scene_geometry(seed, template)
        name, yaw = environments[j % len(environments)]
        light = environment_light(name, yaw_degrees=yaw)
        for skin_type in skin_types:
            skin = skin_maps(seed, template, size=map_size, skin_type=skin_type)
            scene = relit_scene(geometry, skin, light, template, name=f"seed {seed} type {ROMAN[skin_type]}",
                                hdri=name, skin_type=skin_type)
            record = fit(scene)
            truth = mean_skin_ita(scene.albedo.astype(np.float32) / np.float32(255.0), mask)
            row = {"seed": seed, "skin_type": skin_type, "hdri": f"{name} {yaw:.0f}°", "gt_ita": truth,
                   "target_ita": skin.params.tone.target_ita, "record": record}
            for key, maps in (("init", record.initial_maps), ("fit", record.maps)):
                albedo = resize_map(maps["albedo"], map_size, kind="colour")
                row[f"{key}_ita"] = mean_skin_ita(albedo, mask)
                row[f"{key}_error"] = float(ita_error(row[f"{key}_ita"], truth))
            progress(f"  skin tone: {scene.name} ({row['hdri']}): GT ITA {truth:+.1f}°, networks "
                     f"{row['init_ita']:+.1f}°, fit {row['fit_ita']:+.1f}° ({record.seconds:.1f} s)")
            rows.append(row)
    out = {"rows": rows, "skin_types": list(skin_types), "heads": list(head_seeds)}
    for key in ("init", "fit"):
        out[key] = fair_scores({k: [abs(r[f"{key}_error"]) for r in rows if r["skin_type"] == k] for k in skin_types})
    return out


def skin_tone_markdown(result: dict) -> str:
    """Two tables: per group (GT ITA, recovered ITA and signed / absolute error), and the FAIR aggregates."""
    rows = []
    for k in result["skin_types"]:
        group = [r for r in result["rows"] if r["skin_type"] == k]
        mean = lambda key: float(np.mean([r[key] for r in group]))
        rows.append([f"{ROMAN[k]} ({SKIN_TYPE_NAMES[k]})", len(group), f"{mean('gt_ita'):+.1f}",
                     f"{mean('init_ita'):+.1f}", f"{mean('init_error'):+.1f} / {result['init']['per_group'][k]:.1f}",
                     f"{mean('fit_ita'):+.1f}", f"{mean('fit_error'):+.1f} / {result['fit']['per_group'][k]:.1f}"])
    per_group = markdown_table(["skin type", "faces", "GT ITA °", "networks ITA °", "networks error signed / abs °",
                                "fit ITA °", "fit error signed / abs °"], rows)
    steps = len(result["rows"][0]["record"].loss_history)
    aggregate = markdown_table(
        ["albedo", "average ITA error ° ↓", "bias score (std over groups) ° ↓", "total score ↓"],
        [[label, f"{result[key]['average']:.2f}", f"{result[key]['bias']:.2f}", f"{result[key]['total']:.2f}"]
         for key, label in (("init", "networks only (init)"), ("fit", f"after {steps} steps"))])
    return per_group + "\n\n" + aggregate


def plot_skin_tone(result: dict, path) -> None:
    """ITA per group: GT vs recovered (networks, fit) per face, and the mean absolute error per group."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    types = result["skin_types"]
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for key, marker, label in (("init_ita", "x", "networks"), ("fit_ita", "o", "fit")):
        left.scatter([r["gt_ita"] for r in result["rows"]], [r[key] for r in result["rows"]], marker=marker,
                     label=label)
    span = [min(r["gt_ita"] for r in result["rows"]) - 10, max(r["gt_ita"] for r in result["rows"]) + 10]
    left.plot(span, span, "k--", linewidth=0.8, label="exact")
    left.set_xlabel("GT ITA (°)")
    left.set_ylabel("recovered ITA (°)")
    left.set_title("cheek + forehead ITA per face")
    left.legend()
    x = np.arange(len(types))
    width = 0.38
    right.bar(x - width / 2, [result["init"]["per_group"][k] for k in types], width, label="networks")
    right.bar(x + width / 2, [result["fit"]["per_group"][k] for k in types], width, label="fit")
    right.set_xticks(x, [ROMAN[k] for k in types])
    right.set_xlabel("skin type (Chardon ITA category)")
    right.set_ylabel("mean |ITA error| (°)")
    right.set_title(f"FAIR total: networks {result['init']['total']:.1f}, fit {result['fit']['total']:.1f}")
    right.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)
