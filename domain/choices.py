"""The cleaning choices a user makes (``EngineOptions``, the ``analyze`` flags, the settings),
in a module that loads nothing heavy: the CLI and the settings read them before the engine."""

from __future__ import annotations

from typing import Final

# exact duplicate rows: "auto" drops them only when a key column repeats with them, "keep"
# reports them without dropping, "drop" drops them; always reported with their row numbers
DUPLICATE_CHOICES: Final[tuple[str, ...]] = ("auto", "keep", "drop")
# cells starting with = + - @ that are not numbers: "keep" them exact and report the risk, or
# "neutralise" them with a leading apostrophe in the cleaned data (each change in the trail)
FORMULA_CHOICES: Final[tuple[str, ...]] = ("keep", "neutralise")
