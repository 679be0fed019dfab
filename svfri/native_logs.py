"""Keeping native libraries' start-up chatter off the user's terminal.

TensorFlow 2.21 prints absl/oneDNN/CUDA-probe lines from C++ at import, before ``TF_CPP_MIN_LOG_LEVEL`` is read,
and the TFLite interpreter announces its XNNPACK delegate; none of it is actionable for a user. These lines are
written straight to file descriptor 2, so the only way to hide them is to point that descriptor elsewhere for the
duration. Python-level errors raised inside are unaffected (they are reported after the descriptor is restored).
Set ``SVFRI_NATIVE_LOGS=1`` to see everything.
"""

from __future__ import annotations

import contextlib
import os
import sys

__all__ = ["silenced_native_stderr", "import_tensorflow"]


@contextlib.contextmanager
def silenced_native_stderr():
    """Redirects file descriptor 2 to /dev/null inside the block (no-op if ``SVFRI_NATIVE_LOGS`` is set)."""
    if os.environ.get("SVFRI_NATIVE_LOGS"):
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow():
    """Imports TensorFlow once with its native start-up lines silenced; returns the module."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    with silenced_native_stderr():
        import tensorflow

        tensorflow.config.list_physical_devices()  # device probing logs (CUDA init) happen here, not at import
    return tensorflow
