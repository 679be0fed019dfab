"""CI's skip policy: with SVFRI_REQUIRE_ALL_TESTS=1 a skip fails unless allow-listed (run in a child pytest)."""

import os
import subprocess
import sys
from pathlib import Path

import skip_policy

TESTS = Path(__file__).resolve().parent

CHILD_TESTS = '''
import pytest

def test_needs_a_tool():
    pytest.skip("chromium is not installed")

def test_runs():
    assert True
'''


def _child_pytest(tmp_path, require_all: bool) -> subprocess.CompletedProcess:
    (tmp_path / "test_child.py").write_text(CHILD_TESTS)
    (tmp_path / "conftest.py").write_text(f"import sys\nsys.path.insert(0, {str(TESTS)!r})\n"
                                          "from skip_policy import pytest_runtest_makereport  # noqa: F401\n")
    env = dict(os.environ)
    env.pop(skip_policy.REQUIRE_ALL_ENV, None)
    if require_all:
        env[skip_policy.REQUIRE_ALL_ENV] = "1"
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", os.devnull,
                           "--rootdir", str(tmp_path), str(tmp_path / "test_child.py")],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)


def test_a_skip_fails_when_every_test_is_required(tmp_path):
    relaxed = _child_pytest(tmp_path, require_all=False)
    assert relaxed.returncode == 0 and "1 passed, 1 skipped" in relaxed.stdout, relaxed.stdout + relaxed.stderr
    strict = _child_pytest(tmp_path, require_all=True)
    assert strict.returncode == 1, strict.stdout
    assert "1 failed, 1 passed" in strict.stdout
    assert "SVFRI_REQUIRE_ALL_TESTS=1 requires every test to run (CI): chromium is not installed" in strict.stdout


def test_the_allow_list_is_narrow():
    tfg = "tensorflow-graphics is the optional `conventions` extra (it needs tensorflow-addons, ...)"
    assert skip_policy.skip_is_allowed(tfg) == (sys.version_info >= (3, 12))
    assert not skip_policy.skip_is_allowed("tests/viewer/node_modules is missing: run `npm ci --prefix tests/viewer`")
    assert not skip_policy.skip_is_allowed("HDR maps not cached: run python -m precompute.fetch_hdris")
    assert not skip_policy.skip_is_allowed("embreex not installed")
