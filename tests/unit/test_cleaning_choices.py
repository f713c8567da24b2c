"""The cleaning choices of ``analyze``: flag, else setting, else default."""

from __future__ import annotations

import argparse

import pytest

from clean_my_data._api._analyze import engine_options
from clean_my_data._errors import UsageError
from clean_my_data.commands import analyze
from outbox.settings import Settings, SettingsError


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    analyze.register(parser.add_subparsers())
    return parser.parse_args(["analyze", "in.csv", *argv])


def test_defaults_keep_formulas_exact_and_duplicates_by_evidence() -> None:
    args = _parse()
    options = engine_options(Settings.from_env({}), args.duplicates, args.formulas)
    assert (options.duplicates, options.formula_cells) == ("auto", "keep")


def test_settings_choose_and_flags_override_them() -> None:
    settings = Settings.from_env({"DUPLICATES_POLICY": "keep", "FORMULA_CELLS": "neutralise"})
    options = engine_options(settings)
    assert (options.duplicates, options.formula_cells) == ("keep", "neutralise")
    args = _parse("--duplicates", "drop", "--formulas", "keep")
    flagged = engine_options(settings, args.duplicates, args.formulas)
    assert (flagged.duplicates, flagged.formula_cells) == ("drop", "keep")


def test_unknown_choices_are_refused() -> None:
    with pytest.raises(SettingsError, match="DUPLICATES_POLICY"):
        Settings.from_env({"DUPLICATES_POLICY": "sometimes"})
    with pytest.raises(SettingsError, match="FORMULA_CELLS"):
        Settings.from_env({"FORMULA_CELLS": "strip"})
    with pytest.raises(SystemExit):
        _parse("--duplicates", "maybe")
    with pytest.raises(UsageError, match="duplicates"):
        engine_options(Settings.from_env({}), "maybe")
