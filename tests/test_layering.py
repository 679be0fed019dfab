"""The package layers of docs/architecture.md ("Layers"): no two svfri packages import each other, and the
numpy colour helpers import without TensorFlow (the exporters rely on it)."""

from __future__ import annotations

import ast
import collections
import subprocess
import sys
from pathlib import Path

import svfri

PACKAGE_ROOT = Path(svfri.__file__).parent


def _package_imports() -> dict[str, set[tuple[str, str]]]:
    edges: dict[str, set[tuple[str, str]]] = collections.defaultdict(set)
    for path in PACKAGE_ROOT.rglob("*.py"):
        parts = path.relative_to(PACKAGE_ROOT).parts
        if len(parts) < 2:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            modules = []
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("svfri."):
                modules = [node.module]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names if alias.name.startswith("svfri.")]
            for module in modules:
                other = module.split(".")[1]
                if other != parts[0] and (PACKAGE_ROOT / other).is_dir():
                    edges[parts[0]].add((other, str(path.relative_to(PACKAGE_ROOT))))
    return edges


def test_no_two_packages_import_each_other():
    edges = _package_imports()
    cycles = [f"{a} -> {b} ({where})" for a, targets in edges.items() for b, where in targets
              if any(back == a for back, _ in edges.get(b, ()))]
    assert not cycles, cycles


def test_lower_layers_do_not_import_upper_ones():
    order = {"math": 0, "geometry": 1, "io": 2, "bake": 2, "render": 2, "fitting": 2, "nets": 2, "pipeline": 3}
    edges = _package_imports()
    wrong = [f"{a} -> {b} ({where})" for a, targets in edges.items() if a in order for b, where in targets
             if b in order and order[b] > order[a]]
    assert not wrong, wrong


def test_color_helpers_import_without_tensorflow():
    code = ("import sys, svfri.math.color as c; c.linear_to_srgb_np(0.5); "
            "assert 'tensorflow' not in sys.modules, 'tensorflow imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_skin_f0_defined_once():
    from svfri.math import brdf, color

    assert brdf.SKIN_F0 is color.SKIN_F0 and abs(color.ior_to_f0(color.SKIN_INDEX_OF_REFRACTION) - color.SKIN_F0) < 3e-4
