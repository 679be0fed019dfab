"""``python -m benchmarks.pathtraced --quick`` end to end: renders, fits every row, scores, writes the report."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

# Only looked up, never imported here: Mitsuba's LLVM back end must not start in a process that holds TensorFlow.
if importlib.util.find_spec("mitsuba") is None:
    pytest.skip("the path-traced benchmark needs the `bench` extra: pip install -e '.[bench]'", allow_module_level=True)

REPO = Path(__file__).resolve().parents[1]
EXPECTED_ROWS = ["photo as albedo (floor)", "training-mean albedo", "networks alone", "networks alone, level from context",
                 "default fit",
                 "default + detail refinement"]


def test_quick_benchmark_writes_every_row(tmp_path):
    done = subprocess.run([sys.executable, "-m", "benchmarks.pathtraced", "--quick", "--out", str(tmp_path / "report"),
                           "--work", str(tmp_path / "work")], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((tmp_path / "report" / "pathtraced_quick.json").read_text())
    assert results["rows"] == EXPECTED_ROWS
    assert len(results["scenes"]) == 2 and results["source"]["commit"]
    for scene in results["scenes"]:
        assert scene["scored_pixels"] > 1000
        for row in EXPECTED_ROWS:
            scores = scene["rows"][row]
            assert math.isfinite(scores["albedo_psnr_db"]) and math.isfinite(scores["ita_error"])
        for row in EXPECTED_ROWS[1:]:
            assert math.isfinite(scene["rows"][row]["relight_psnr_db"])
        # The floor is the photo itself: its shading leak is 1 up to noise, JPEG and white balance.
        assert 0.7 < scene["rows"]["photo as albedo (floor)"]["shading_leak"] < 1.3
    summary = results["summary"]["rows"]
    assert set(summary) == set(EXPECTED_ROWS) and all("fair" in v for v in summary.values())
    markdown = (tmp_path / "report" / "pathtraced_quick.md").read_text()
    assert "photo as albedo (floor)" in markdown and "FAIR" in markdown
