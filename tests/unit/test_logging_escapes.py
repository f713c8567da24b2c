"""Log lines stay one line whatever a logged value holds."""

from __future__ import annotations

import json

import pytest
import structlog

from clean_my_data.logging_setup import configure_logging

NAME = 'evil\n{"event":"forged"}\x1b[31m\u202egnp.csv'


@pytest.mark.parametrize("log_format", ["console", "json"])
def test_a_value_with_control_characters_stays_on_one_line(
    log_format: str, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(log_format, "info")
    try:
        structlog.get_logger().info("input_refused", file_name=NAME)
        err = capsys.readouterr().err
    finally:
        configure_logging("json", "info")
    assert err.count("\n") == 1
    assert "\x1b" not in err
    assert "\u202e" not in err
    if log_format == "json":
        assert json.loads(err)["file_name"] == NAME
