"""Shared test fixtures, and CI's skip policy (tests/skip_policy.py: with SVFRI_REQUIRE_ALL_TESTS=1 a skip fails)."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pathlib import Path

import pytest

from skip_policy import pytest_runtest_makereport  # noqa: F401  (the hook, registered from this conftest)

REPO = Path(__file__).resolve().parents[1]
SAMPLE_PHOTO = REPO / "samples" / "astronaut.png"


@pytest.fixture(scope="session")
def sample_photo() -> Path:
    return SAMPLE_PHOTO
