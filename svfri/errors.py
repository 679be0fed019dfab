"""User-facing errors with distinct exit codes.

Every failure a user can cause (bad file, no face, unwritable output, missing models) raises a subclass of
:class:`SvfriError`. The CLI prints ``error: <message>`` on one line and exits with ``exit_code``; nothing else
in the library calls ``sys.exit``. The codes are part of the command-line contract (README, "Exit codes").
"""

from __future__ import annotations

__all__ = [
    "SvfriError", "UsageError", "InputError", "NoFaceError", "FaceTooSmallError", "ModelError",
    "OutputError", "HdrError", "NotYetError", "EXIT_OK", "EXIT_SOME_FAILED", "EXIT_INTERNAL", "EXIT_INTERRUPTED",
]

#: Every input processed.
EXIT_OK = 0
#: A batch where some inputs failed and others succeeded (each failure is reported).
EXIT_SOME_FAILED = 3
#: An internal error (a bug in svfri, not in the input): one line saying so; ``--debug`` / ``SVFRI_DEBUG=1``
#: shows the traceback.
EXIT_INTERNAL = 1
#: Stopped by Ctrl-C (SIGINT), the shell convention 128 + 2; a batch writes its summary so far first.
EXIT_INTERRUPTED = 130


class SvfriError(Exception):
    """Base class: a one-line message telling what went wrong and what to do."""

    exit_code = 1


class UsageError(SvfriError):
    """Bad options or arguments (Click's own usage errors also exit 2)."""

    exit_code = 2


class InputError(SvfriError):
    """The input file is missing, unreadable, corrupt, not an image, or unsupported."""

    exit_code = 10


class NoFaceError(SvfriError):
    """No face was found in the photo."""

    exit_code = 11


class FaceTooSmallError(SvfriError):
    """A face was found but is too small to reconstruct."""

    exit_code = 12


class HdrError(SvfriError):
    """An environment map is missing, truncated, of the wrong shape or channel layout."""

    exit_code = 13


class ModelError(SvfriError):
    """Model files (face detector, mesh regressor, networks, tables) are missing or corrupt."""

    exit_code = 20


class OutputError(SvfriError):
    """The output location cannot be written."""

    exit_code = 30


class NotYetError(SvfriError):
    """A capability that has not landed yet (says so instead of producing a silent fallback)."""

    exit_code = 40
