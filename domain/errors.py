"""Errors that carry a one-line message meant for the user (no traceback is shown)."""

from __future__ import annotations


class UserFacingError(Exception):
    """Base: the CLI prints ``str(exc)`` on one line to stderr and exits with ``exit_code``."""

    exit_code = 2


class InputError(UserFacingError):
    """The input file cannot be analysed (empty, binary, not tabular, unreadable, no header)."""
