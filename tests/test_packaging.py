"""The wheel a user installs carries every model file in git, and setuptools has nothing to warn about.

Built as `pip install .` builds it (an isolated build environment with a current setuptools, which is what
warns about importable folders missing from `packages`); `-v` so that the build backend's warnings are seen.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _tracked_model_files() -> set[str]:
    listed = subprocess.run(["git", "ls-files", "models"], cwd=REPO, capture_output=True, text=True, check=True)
    return {"svfri_models/" + line[len("models/"):] for line in listed.stdout.splitlines() if line.strip()}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("wheel")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-v",
                            str(REPO), "-w", str(out)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-2000:]
    (path,) = out.glob("svfri-*.whl")
    return path, build.stdout + build.stderr


def test_wheel_ships_every_tracked_model_file(wheel):
    path, _ = wheel
    with zipfile.ZipFile(path) as archive:
        shipped = set(archive.namelist())
    missing = sorted(_tracked_model_files() - shipped)
    assert not missing, f"model files in git but not in the wheel: {missing}"


def test_wheel_build_has_no_unlisted_package_warning(wheel):
    _, log = wheel
    assert "is absent from the `packages` configuration" not in log, log[-2000:]
