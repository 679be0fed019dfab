"""Aggregates and writes the path-traced benchmark: ``pathtraced.md`` / ``.json`` and the skin-type picture grid."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np

from benchmarks.common import markdown_table
from benchmarks.skin_tone import ROMAN, fair_scores

__all__ = ["aggregate", "write_report", "source_stamp", "FIGURES"]

#: Per-scene figures averaged per row: key, column title, format.
FIGURES = (
    ("albedo_psnr_db", "albedo PSNR dB", "{:.2f}"),
    ("albedo_psnr_scaled_db", "albedo PSNR after best grey scale dB", "{:.2f}"),
    ("ita_error_abs", "mean abs ITA error °", "{:.1f}"),
    ("ita_error", "mean signed ITA error ° (+ = too light)", "{:+.1f}"),
    ("delta_e00", "ΔE00 of mean skin colour", "{:.1f}"),
    ("shading_leak", "shading leak (0 none, 1 = photo)", "{:.2f}"),
    ("relight_psnr_db", "relight PSNR dB", "{:.2f}"),
    ("normal_error_deg", "normal error ° (mesh + map)", "{:.1f}"),
    ("mesh_normal_error_deg", "normal error ° (mesh only)", "{:.1f}"),
    ("specular_rmse", "specular RMSE", "{:.3f}"),
)


def source_stamp(repo: Path) -> dict:
    """The commit measured and whether tracked files differ from it (``dirty``)."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True).stdout

    commit = git("rev-parse", "HEAD").strip()
    # porcelain lines are "XY path": not stripped, or the first line's leading status blank shifts its path
    dirty = [line for line in git("status", "--porcelain", "--untracked-files=no").splitlines() if line.strip()]
    return {"commit": commit or "unknown", "dirty": bool(dirty), "dirty_files": [line[3:] for line in dirty]}


def aggregate(results: dict) -> dict:
    """Per row: mean of each figure over scenes; FAIR ITA scores over skin types; per-type ITA table."""
    summary = {}
    for row in results["rows"]:
        values = {}
        for key, _, _ in FIGURES:
            source = "ita_error" if key == "ita_error_abs" else key
            samples = [scene["rows"][row].get(source) for scene in results["scenes"]]
            samples = [abs(v) if key == "ita_error_abs" else v for v in samples if v is not None and np.isfinite(v)]
            values[key] = float(np.mean(samples)) if samples else None
        groups: dict[int, list[float]] = {}
        for scene in results["scenes"]:
            groups.setdefault(scene["scene"]["skin_type"], []).append(abs(scene["rows"][row]["ita_error"]))
        values["fair"] = fair_scores(groups)
        summary[row] = values
    per_type = {}
    for scene in results["scenes"]:
        skin_type = scene["scene"]["skin_type"]
        entry = per_type.setdefault(skin_type, {"ita_true": [], **{row: [] for row in results["rows"]}})
        entry["ita_true"].append(next(iter(scene["rows"].values()))["ita_true"])
        for row in results["rows"]:
            entry[row].append(scene["rows"][row]["ita_predicted"])
    summary_types = {k: {key: float(np.mean(v)) for key, v in entry.items()} for k, entry in sorted(per_type.items())}
    return {"rows": summary, "per_skin_type": summary_types}


def _fmt(value, pattern: str) -> str:
    return "—" if value is None else pattern.format(value)


def write_report(results: dict, out: Path, stem: str, *, command: str, stamp: dict, seconds: float) -> tuple[Path, Path]:
    """Writes ``out/stem.md`` and ``out/stem.json``; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    summary = aggregate(results)
    results = {**results, "summary": summary, "source": stamp, "command": command, "seconds_total": round(seconds, 1)}
    json_path, md_path = out / f"{stem}.json", out / f"{stem}.md"
    json_path.write_text(json.dumps(results, indent=1, default=float) + "\n")

    main_rows = [r for r in results["rows"] if r not in results["ablation_rows"]]
    title = "Path-traced benchmark" + (" — TUNING scenes (for choosing defaults, not a quality report)"
                                       if results.get("plan") == "tuning" else "") + (" (quick)" if results["quick"] else "")
    lines = [f"# {title}", ""]
    if stamp["dirty"]:
        lines += [f"**Measured on a dirty tree** (commit `{stamp['commit'][:12]}` plus uncommitted changes to "
                  f"{', '.join(stamp['dirty_files'])}): these numbers are not reproducible from a commit.", ""]
    else:
        lines += [f"Commit `{stamp['commit'][:12]}`, clean tree.", ""]
    scene_kind = "tuning" if results.get("plan") == "tuning" else "held-out"
    lines += [f"Command: `{command}` ({seconds / 60:.1f} min on this machine; Mitsuba variant `{results['variant']}`; "
              f"{len(results['scenes'])} {scene_kind} scenes, fit {results['steps']} latent + "
              f"{results['refine_steps']} detail-refinement steps where that row says so).", "",
              "Ground truth: ICT-FaceKit heads with procedural skin (types I–VI), eyes, teeth, a hair cap and "
              "clothed shoulders, path-traced by Mitsuba 3 under HDR maps (the 4 held-out ones for the report plan, "
              "training maps for the tuning plan; visible behind the head; every third scene adds a small key light "
              "with hard shadows), a perspective 85 mm portrait camera with centre-weighted metering, white-balance "
              "error, sensor noise and JPEG. Scores are in photo space over the true skin pixels that the fitted "
              "mesh covers (eyes, mouth, brows, beard and hair excluded), the same pixels for every row of a scene. "
              "svfri's own shader never made any of these images. The skin albedo comes from the same procedural "
              "generator the networks were trained on (times a colour field and make-up it never makes): on real "
              "skin the networks are likely to do worse than here.", "",
              "## Albedo, skin tone, shading leak, relight, normals, specular (mean over scenes)", ""]
    header = ["row"] + [title for _, title, _ in FIGURES]
    table = [[row] + [_fmt(summary["rows"][row][key], pattern) for key, _, pattern in FIGURES] for row in main_rows]
    lines += [markdown_table(header, table), ""]
    lines += ["## Skin tone in FAIR's form (ITA error per skin type, degrees)", ""]
    types = sorted(summary["per_skin_type"])
    header = ["row"] + [f"type {ROMAN[t]}" for t in types] + ["average", "bias (std)", "score (sum)"]
    table = []
    for row in main_rows:
        fair = summary["rows"][row]["fair"]
        table.append([row] + [f"{fair['per_group'][t]:.1f}" for t in types]
                     + [f"{fair['average']:.1f}", f"{fair['bias']:.1f}", f"{fair['total']:.1f}"])
    lines += [markdown_table(header, table), ""]
    lines += ["Mean ITA per skin type (true vs recovered, degrees):", ""]
    header = ["skin type", "true ITA"] + main_rows
    table = [[f"{ROMAN[t]}", f"{summary['per_skin_type'][t]['ita_true']:.1f}"]
             + [f"{summary['per_skin_type'][t][row]:.1f}" for row in main_rows] for t in types]
    lines += [markdown_table(header, table), ""]
    if results["ablation_rows"]:
        lines += ["## Ablations (of the default fit)", ""]
        header = ["row"] + [title for _, title, _ in FIGURES[:7]]
        table = [[row] + [_fmt(summary["rows"][row][key], pattern) for key, _, pattern in FIGURES[:7]]
                 for row in ["default fit"] + results["ablation_rows"]]
        lines += [markdown_table(header, table), ""]
    if results.get("consistency") and results["consistency"]["rows"]:
        c = results["consistency"]
        lines += ["## Lighting consistency (one type-V head under six held-out environments)", "",
                  f"{c['scored_pixels']} skin pixels scored in every environment.", ""]
        header = ["row", "mean per-pixel std of the albedo (sRGB)", "largest pairwise ΔE00 of the mean skin colour"]
        table = [[row, f"{v['pixel_std']:.4f}", f"{v['max_delta_e']:.1f}"] for row, v in c["rows"].items()]
        lines += [markdown_table(header, table), ""]
    if results.get("failures"):
        lines += [f"## svfri refused {len(results['failures'])} of "
                  f"{len(results['failures']) + len(results['scenes'])} photos", "",
                  "These scenes are left out of every table above (a refusal is itself a result):", ""]
        lines += [f"* `{f['scene']['name']}` (type {ROMAN[f['scene']['skin_type']]}, {f['scene']['light']['hdri']}): "
                  f"{f['error']} (exit {f['exit_code']})" for f in results["failures"]] + [""]
    if results.get("consistency", {}) and results["consistency"].get("failures"):
        lines += ["Lighting consistency: environments left out because svfri refused the photo: "
                  + "; ".join(f"{f['environment']['hdri']} {f['environment']['rotation_degrees']:.0f}°: {f['error']}"
                              for f in results["consistency"]["failures"]), ""]
    lines += ["## Per scene", ""]
    header = ["scene", "map", "key light", "true ITA", "scored px (coverage)"] + [
        f"{row}: albedo dB / ITA err" for row in main_rows]
    table = []
    for scene in results["scenes"]:
        spec = scene["scene"]
        table.append([spec["name"], f"{spec['light']['hdri']} {spec['light']['rotation_degrees']:.0f}°",
                      "yes" if spec["light"]["key"] else "no",
                      f"{next(iter(scene['rows'].values()))['ita_true']:.0f}",
                      f"{scene['scored_pixels']} ({scene['coverage']:.0%})"]
                     + [f"{scene['rows'][row]['albedo_psnr_db']:.1f} / {scene['rows'][row]['ita_error']:+.0f}"
                        for row in main_rows])
    lines += [markdown_table(header, table), ""]
    fit_psnr = [(scene["rows"]["default fit"].get("fit_json_psnr_db")) for scene in results["scenes"]
                if "default fit" in scene["rows"]]
    if fit_psnr and all(v is not None for v in fit_psnr):
        lines += [f"`fit.json` reconstruction PSNR of the default fit (whole projected face): "
                  f"{min(fit_psnr):.1f}–{max(fit_psnr):.1f} dB.", ""]
    lines += ["Figures: *albedo PSNR* over the scored skin in sRGB; *after best grey scale*: the recovered linear "
              "albedo times the one scale that best fits the truth (the albedo's pattern apart from its level); "
              "*ITA* (Chardon 1991) of the mean linear skin colour over cheeks and forehead; *shading leak*: slope of "
              "log(albedo/truth) on log(photo/truth) over the skin (0 = no shading in the albedo, 1 = the photo "
              "itself); *relight PSNR*: `svfri relight` of the output folder under another held-out map against the "
              "path tracer's render of the true head under that map, same view, both exposed by metering the true "
              "frame; *normal error*: mean angle between the recovered and true detailed normals in the camera "
              "frame; *specular RMSE*: the specular map (scale on F0 0.028) against the truth.", ""]
    md_path.write_text("\n".join(lines))
    return md_path, json_path
