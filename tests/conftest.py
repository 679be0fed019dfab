"""Shared test fixtures, and CI's skip policy (tests/skip_policy.py: with SVFRI_REQUIRE_ALL_TESTS=1 a skip fails)."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import importlib.util

# Dr.Jit (Mitsuba 3's array library, the `bench` extra) segfaults when it is first imported after TensorFlow
# (drjit 1.5 / TF 2.21: their bundled LLVM/runtime symbols clash); imported first, both work. The test modules
# import TensorFlow at collection, and tests/test_pathtraced_quick.py imports Mitsuba, so load Dr.Jit here, before
# any of them, when it is installed.
if importlib.util.find_spec("drjit") is not None:
    import drjit  # noqa: F401

from pathlib import Path

import pytest

from skip_policy import pytest_runtest_makereport  # noqa: F401  (the hook, registered from this conftest)

REPO = Path(__file__).resolve().parents[1]
SAMPLE_PHOTO = REPO / "samples" / "astronaut.png"


@pytest.fixture(scope="session")
def sample_photo() -> Path:
    return SAMPLE_PHOTO


@pytest.fixture(scope="session")
def tiny_networks(tmp_path_factory):
    """Untrained "tiny" network weights in a folder: fast fits for tests of the pipeline, not of quality."""
    from svfri.nets import FaceNetworks

    folder = tmp_path_factory.mktemp("networks")
    FaceNetworks("tiny").save_weights(folder)
    return folder


@pytest.fixture()
def use_tiny(monkeypatch, tiny_networks):
    """Points ``svfri fit`` at :func:`tiny_networks` for one test."""
    from svfri.pipeline.fit_job import NETWORKS_DIR_ENV

    monkeypatch.setenv(NETWORKS_DIR_ENV, str(tiny_networks))
