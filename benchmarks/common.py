"""Shared benchmark helpers: a fixed reference workload, so timings compare across noisy shared machines.

Every benchmark times a fixed CPU workload (a chain of float32 matrix products in numpy) in the same run and
reports its own timings also as ratios to it. A ratio moves much less than an absolute time when the machine is
loaded or slower; compare ratios across runs, absolute times only within one.
"""

from __future__ import annotations

import statistics
import time
from typing import Callable

import numpy as np

__all__ = ["REFERENCE_SIZE", "REFERENCE_CHAIN", "time_reference", "time_call", "markdown_table"]

#: Side of the reference matrices and how many products are chained (~2.1 GFLOP each).
REFERENCE_SIZE = 1024
REFERENCE_CHAIN = 10


def time_reference(repeats: int = 3) -> float:
    """Minimum seconds of the reference workload over ``repeats`` runs."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((REFERENCE_SIZE, REFERENCE_SIZE), dtype=np.float32) / np.sqrt(REFERENCE_SIZE)
    best = float("inf")
    for _ in range(repeats):
        x = a
        start = time.perf_counter()
        for _ in range(REFERENCE_CHAIN):
            x = x @ a
        best = min(best, time.perf_counter() - start)
    return best


def time_call(call: Callable[[], object], repeats: int = 3, warmup: int = 1) -> tuple[float, float]:
    """(minimum, median) seconds of ``call()`` after ``warmup`` untimed calls."""
    for _ in range(warmup):
        call()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - start)
    return min(seconds), statistics.median(seconds)


def markdown_table(header: list[str], rows: list[list[object]]) -> str:
    """A GitHub-flavoured markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
