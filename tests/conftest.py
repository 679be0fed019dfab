"""Shared test fixtures."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLE_PHOTO = REPO / "samples" / "astronaut.png"


@pytest.fixture(scope="session")
def sample_photo() -> Path:
    return SAMPLE_PHOTO
