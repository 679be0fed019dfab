"""Where svfri's shipped model files live: the installed ``svfri_models`` package (the repository's ``models/``
folder, mapped by setup.cfg), or ``models/`` beside the ``svfri`` package in a source checkout."""

from __future__ import annotations

import functools
import importlib.resources
from pathlib import Path

__all__ = ["models_dir", "NETWORKS_SUBDIR"]

#: Sub-folder of the models folder holding the trained network weights (``networks.npz`` + ``networks.json``).
NETWORKS_SUBDIR = "networks"


@functools.lru_cache(maxsize=1)
def models_dir() -> Path:
    """The folder holding ``face_template.npz``, ``dfg_table.npz``, ``hdri/`` and ``networks/``."""
    try:
        return Path(str(importlib.resources.files("svfri_models")))
    except (ModuleNotFoundError, TypeError):
        return Path(__file__).resolve().parents[1] / "models"
