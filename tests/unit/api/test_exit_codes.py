"""The console script's exit codes: 0 success, 1 failure found or not found, 2 usage, 65 bad
input data, 69 a service unavailable, 78 configuration; one line on stderr, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from clean_my_data.main import main

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "sales_dirty.csv"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    staging = tmp_path / "staging"
    staging.mkdir()
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite3'}")
    monkeypatch.setenv("STAGING_DIR", str(staging))
    monkeypatch.setenv("ARTIFACT_STORE_URL", f"file://{tmp_path / 'artifacts'}")
    monkeypatch.setenv("LOG_LEVEL", "error")
    return tmp_path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def test_bad_input_data_exits_65(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = env / "empty.csv"
    empty.write_bytes(b"")
    code, err = _run(capsys, "analyze", str(empty))
    assert code == 65
    assert err.count("\n") == 1
    code, _ = _run(capsys, "analyze", "--inline", str(env / "missing.csv"))
    assert code == 65


def test_malformed_arguments_exit_2(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(capsys, "analyze", str(EXAMPLE), "--analysis-id", "a/b")
    assert code == 2
    assert "--analysis-id may hold only" in err
    with pytest.raises(SystemExit) as parsed:
        main(["analyze", "--no-such-flag"])
    assert parsed.value.code == 2  # argparse's own usage error


def test_not_found_exits_1_and_success_0(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(capsys, "report", "nothing-here")
    assert code == 1
    assert "nothing-here" in err
    assert _run(capsys, "analyze", str(EXAMPLE), "--analysis-id", "ok-1")[0] == 0
    assert _run(capsys, "report", "ok-1")[0] == 0


def test_configuration_error_exits_78(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INLINE_MAX_BYTES", "lots")
    code, err = _run(capsys, "analyze", "--inline", str(EXAMPLE))
    assert code == 78
    assert err.startswith("clean-my-data: configuration error: ")


def test_an_unusable_staging_directory_exits_69(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STAGING_DIR", str(env / "no-such-dir"))
    code, err = _run(capsys, "analyze", str(EXAMPLE))
    assert code == 69
    assert "does not exist" in err
