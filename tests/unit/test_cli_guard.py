"""The console script's guarantees: one line per failure, no traceback, no credential shown,
control characters in names escaped."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from clean_my_data import main as cli
from outbox.db import create_database_engine, describe_url
from outbox.settings import Settings

SECRET = "Sup3r-s3cret"


def _fake_command(
    monkeypatch: pytest.MonkeyPatch, handler: cli.Handler, extra_env: dict[str, str] | None = None
) -> None:
    def build_parser() -> argparse.ArgumentParser:
        parser = argparse.ArgumentParser(prog="clean-my-data")
        parser.set_defaults(handler=handler)
        return parser

    monkeypatch.setattr(cli, "build_parser", build_parser)
    monkeypatch.setenv("LOG_FORMAT", "json")
    for name, value in (extra_env or {}).items():
        monkeypatch.setenv(name, value)


def test_an_unexpected_error_is_one_line_and_a_log_event(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def crash(_args: argparse.Namespace, _settings: Settings) -> int:
        raise RuntimeError(f"boom\nat mysql+pymysql://u@db/x?password={SECRET}")

    _fake_command(monkeypatch, crash)
    assert cli.main([]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    messages = [line for line in lines if not line.startswith("{")]
    assert messages == [
        "clean-my-data: unexpected error: RuntimeError: boom at "
        "mysql+pymysql://u@db/x?password=*** (details in the log)"
    ]
    events = [json.loads(line) for line in lines if line.startswith("{")]
    assert [e["event"] for e in events] == ["command_crashed"]
    assert events[0]["error_class"] == "RuntimeError"
    assert any("crash" in frame for frame in events[0]["frames"])
    assert SECRET not in captured.err
    assert "Traceback" not in captured.err


def test_a_database_error_is_masked_and_on_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fail(_args: argparse.Namespace, _settings: Settings) -> int:
        orig = Exception(f'(2003, "Can\'t connect")\nurl mysql://app:{SECRET}@db/app')
        raise sa.exc.OperationalError("SELECT 1", {}, orig)

    _fake_command(monkeypatch, fail)
    assert cli.main([]) == 69
    err = capsys.readouterr().err
    assert SECRET not in err
    assert err.count("\n") == 1
    assert err.startswith("clean-my-data: error: database error: (2003")


def test_a_user_error_with_control_characters_stays_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from domain.errors import InputError

    def fail(_args: argparse.Namespace, _settings: Settings) -> int:
        raise InputError('evil\n{"level":"error","event":"forged"}\x1b[31m.csv: no such file')

    _fake_command(monkeypatch, fail)
    assert cli.main([]) == 65
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "\x1b" not in err
    assert "\\x1b[31m" in err


def test_a_bad_setting_is_one_configuration_error_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _fake_command(
        monkeypatch,
        lambda _a, _s: 0,
        {"DATABASE_URL": f"mysql+pymysql://u:{SECRET}@db:notaport/app"},
    )
    assert cli.main([]) == 78
    err = capsys.readouterr().err
    assert err.startswith("clean-my-data: configuration error: DATABASE_URL")
    assert err.count("\n") == 1
    assert SECRET not in err


@pytest.mark.parametrize(
    "url",
    [
        f"mysql+pymysql://app:{SECRET}@db:3306/app",
        f"mysql+pymysql://app@db:3306/app?password={SECRET}",
        f"mysql+pymysql://app@db:3306/app?charset=utf8mb4&passwd={SECRET}",
    ],
)
def test_the_database_url_is_shown_without_credentials(url: str) -> None:
    engine = create_database_engine(Settings.from_env({"DATABASE_URL": url}))
    try:
        shown = describe_url(engine)
    finally:
        engine.dispose()
    assert SECRET not in shown
    assert "db:3306/app" in shown


def test_db_upgrade_prints_the_url_without_a_query_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "x.sqlite3"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{database}?password={SECRET}")
    monkeypatch.setenv("LOG_FORMAT", "json")
    code = cli.main(["db", "upgrade"])
    captured = capsys.readouterr()
    assert SECRET not in captured.out + captured.err
    assert code == 0, captured.err
