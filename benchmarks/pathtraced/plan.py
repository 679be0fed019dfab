"""Which scenes the path-traced benchmark renders, fixed in code: report scenes and tuning scenes never overlap.

* **Report scenes** (the numbers in README) use the 4 held-out HDR maps (:data:`svfri.data.hdri.HELD_OUT_HDRIS`)
  and seeds from :data:`REPORT_SEED_BASE`; nothing in svfri was chosen on them.
* **Tuning scenes** (for choosing defaults, e.g. refinement weights) use the 14 training maps and seeds from
  :data:`TUNING_SEED_BASE`. :func:`check_disjoint` asserts that the two share no seed and no map; a test runs it.
* The networks' training data uses seeds from 0 (train) and 1 000 000 (test): both bases are far from them.

Per report scene: skin type (I..VI, two heads per type in the full plan), a held-out map at a random rotation and
intensity, a hard key light in every third scene, and for relight accuracy the same head and camera under the
*next* held-out map (no key light). Lighting consistency: one head under six held-out environments.
"""

from __future__ import annotations

import dataclasses

from svfri.data.hdri import HELD_OUT_HDRIS, TRAIN_HDRIS

from svfri.synth.pathtraced.scenes import SceneSpec, draw_scene

__all__ = ["REPORT_SEED_BASE", "TUNING_SEED_BASE", "CONSISTENCY_SEED", "Plan", "make_plan", "check_disjoint"]

REPORT_SEED_BASE = 2_000_000
TUNING_SEED_BASE = 3_000_000
#: The head of the lighting-consistency set (skin type V) and its six environments (map, rotation degrees).
CONSISTENCY_SEED = REPORT_SEED_BASE + 900
CONSISTENCY_SKIN_TYPE = 5
CONSISTENCY_LIGHTS = (("city", 0.0), ("lobby", 0.0), ("sunrise", 0.0), ("workshop", 0.0), ("city", 180.0),
                      ("sunrise", 120.0))
#: Image size and samples per pixel of the full plan and of ``--quick``.
FULL_SIZE, FULL_SAMPLES = 448, 128
QUICK_SIZE, QUICK_SAMPLES = 256, 32
#: Every KEY_EVERY-th scene has a hard key light.
KEY_EVERY = 3


@dataclasses.dataclass(frozen=True)
class Plan:
    """``scenes``: the photos fitted and scored; ``relight``: for each scene name, the same view under another
    map (ground truth for relighting); ``consistency``: one head under several lights."""

    scenes: tuple
    relight: dict
    consistency: tuple
    kind: str


def _relight_spec(spec: SceneSpec, hdri: str) -> SceneSpec:
    light = dataclasses.replace(spec.light, hdri=hdri, rotation_degrees=0.0, ev=0.0, key=False)
    return dataclasses.replace(spec, name=f"{spec.name}_relit_{hdri}", light=light)


def make_plan(kind: str = "report", *, quick: bool = False) -> Plan:
    """The report (held-out) or tuning plan; ``quick``: two scenes, small, few samples, no consistency set."""
    if kind not in ("report", "tuning"):
        raise ValueError(f"kind must be 'report' or 'tuning', got {kind!r}")
    maps = HELD_OUT_HDRIS if kind == "report" else TRAIN_HDRIS
    base = REPORT_SEED_BASE if kind == "report" else TUNING_SEED_BASE
    size, samples = (QUICK_SIZE, QUICK_SAMPLES) if quick else (FULL_SIZE, FULL_SAMPLES)
    types = (2, 5) if quick else (1, 2, 3, 4, 5, 6) * 2
    scenes, relight = [], {}
    for index, skin_type in enumerate(types):
        hdri = maps[index % len(maps)]
        key = (index % KEY_EVERY == KEY_EVERY - 1) or (quick and index == 1)
        spec = draw_scene(f"{kind}_{index:02d}_type{skin_type}", base + index, skin_type, hdri, key=key, size=size,
                          samples=samples)
        scenes.append(spec)
        relight[spec.name] = _relight_spec(spec, maps[(index + 1) % len(maps)])
    consistency = ()
    if not quick:
        seed = CONSISTENCY_SEED if kind == "report" else TUNING_SEED_BASE + 900
        lights = CONSISTENCY_LIGHTS if kind == "report" else tuple((m, 0.0) for m in TRAIN_HDRIS[:6])
        consistency = tuple(
            dataclasses.replace(draw_scene(f"{kind}_consistency_{i}_{m}", seed, CONSISTENCY_SKIN_TYPE, m, key=False,
                                           size=size, samples=samples, rotation_degrees=r), seed=seed)
            for i, (m, r) in enumerate(lights))
    return Plan(scenes=tuple(scenes), relight=relight, consistency=consistency, kind=kind)


def check_disjoint(report: Plan, tuning: Plan) -> None:
    """Raises AssertionError when the report and tuning plans share a seed or an HDR map."""
    def seeds(plan):
        return {s.seed for s in plan.scenes + plan.consistency} | {s.seed for s in plan.relight.values()}

    def maps(plan):
        return {s.light.hdri for s in plan.scenes + plan.consistency} | {s.light.hdri for s in plan.relight.values()}

    shared_seeds = seeds(report) & seeds(tuning)
    shared_maps = maps(report) & maps(tuning)
    assert not shared_seeds, f"report and tuning scenes share seeds {sorted(shared_seeds)}"
    assert not shared_maps, f"report and tuning scenes share HDR maps {sorted(shared_maps)}"
