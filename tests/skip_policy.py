"""CI's rule for skipped tests: with ``SVFRI_REQUIRE_ALL_TESTS=1`` a skipped test fails, unless its skip is on the
allow-list below (a piece that cannot be installed where the suite runs, with the reason it cannot).

A skip says a test did not run; on a developer's machine that is information, in CI it means a tool the tests need
is missing (the browser, node packages, the fetched HDR maps, Embree) and the run must not pass as green.
``bash .ci/run`` sets the variable. The hook is loaded by ``tests/conftest.py``.
"""

from __future__ import annotations

import os
import sys

import pytest

#: Environment variable that turns disallowed skips into failures.
REQUIRE_ALL_ENV = "SVFRI_REQUIRE_ALL_TESTS"

#: (text the skip reason contains, whether that skip is allowed on this interpreter, why).
ALLOWED_SKIPS = (
    ("tensorflow-graphics is the optional `conventions` extra", sys.version_info >= (3, 12),
     "tensorflow-graphics needs tensorflow-addons, which has no wheels for Python >= 3.12"),
)


def skip_is_allowed(reason: str) -> bool:
    """Whether a skip with ``reason`` may stand when every test is required."""
    return any(text in reason and allowed for text, allowed, _ in ALLOWED_SKIPS)


def _skip_reason(report) -> str:
    longrepr = report.longrepr
    reason = str(longrepr[2]) if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return reason.removeprefix("Skipped: ")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if os.environ.get(REQUIRE_ALL_ENV) != "1" or not report.skipped or hasattr(report, "wasxfail"):
        return
    reason = _skip_reason(report)
    if not skip_is_allowed(reason):
        report.outcome = "failed"
        report.longrepr = (f"skipped, but {REQUIRE_ALL_ENV}=1 requires every test to run (CI): {reason}\n"
                           "install what the reason names (bash .ci/run does), or add a justified entry to "
                           "tests/skip_policy.py:ALLOWED_SKIPS")
