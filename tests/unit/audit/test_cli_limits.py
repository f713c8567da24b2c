"""Operator arguments out of range: one line and a non-zero exit, never a traceback."""

from __future__ import annotations

import socket
from datetime import datetime
from pathlib import Path

import pytest

from clean_my_data import main as cli
from outbox.audit.timespec import TimeSpecError, parse_since

NOW = datetime(2026, 11, 29, 12, 0, 0)


@pytest.mark.parametrize("text", ["999999999w", "999999999d", "99999999999999s"])
def test_an_age_reaching_before_year_one_is_refused(text: str) -> None:
    with pytest.raises(TimeSpecError, match="--since"):
        parse_since(text, NOW)


def test_history_since_out_of_range_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite3'}")
    monkeypatch.setenv("LOG_FORMAT", "json")
    assert cli.main(["history", "--since", "999999999w"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("clean-my-data: error: --since '999999999w'")
    assert err.count("\n") == 1


@pytest.mark.parametrize("value", ["0", "-1", "many"])
def test_purge_refuses_a_batch_size_below_one(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.build_parser().parse_args(["purge", "--batch-size", value])
    assert caught.value.code == 2
    assert "--batch-size" in capsys.readouterr().err


def test_a_metrics_port_in_use_is_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "staging").mkdir()
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))  # the metrics server binds every interface
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite3'}")
        monkeypatch.setenv("STAGING_DIR", str(tmp_path / "staging"))
        monkeypatch.setenv("ARTIFACT_STORE_URL", f"file://{tmp_path / 'store'}")
        monkeypatch.setenv("METRICS_PORT", str(port))
        monkeypatch.setenv("LOG_FORMAT", "json")
        assert cli.main(["relay"]) == 78
    err = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("{")]
    assert err == [
        f"clean-my-data: configuration error: METRICS_PORT={port}: cannot listen "
        "(Address already in use)"
    ]
