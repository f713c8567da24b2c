"""The one rule for analysis ids, applied wherever an id enters (CLI, persist, API).

An id is 1-128 characters: ASCII letters, digits and ``. _ : -``, starting with a letter or a
digit. It names a folder in the object store and appears in file names and logs, so nothing
else is accepted.
"""

from __future__ import annotations

import re
from typing import Final

from domain.errors import UserFacingError

MAX_ANALYSIS_ID_LENGTH: Final = 128
ANALYSIS_ID_PATTERN: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*")


class InvalidAnalysisIdError(UserFacingError):
    """An analysis id outside the rule (empty, too long, other characters)."""


def validate_analysis_id(value: str, *, name: str = "the analysis id") -> str:
    """``value`` itself when it follows the rule; else a one-line InvalidAnalysisIdError whose
    message names the id as ``name`` (a CLI passes its option, e.g. ``--analysis-id``)."""
    if not value:
        raise InvalidAnalysisIdError(f"{name} is empty")
    if len(value) > MAX_ANALYSIS_ID_LENGTH:
        raise InvalidAnalysisIdError(
            f"{name} is {len(value)} characters long (at most {MAX_ANALYSIS_ID_LENGTH})"
        )
    if not ANALYSIS_ID_PATTERN.fullmatch(value):
        raise InvalidAnalysisIdError(
            f"{name} may hold only letters, digits and . _ : - "
            "and must start with a letter or digit"
        )
    return value
