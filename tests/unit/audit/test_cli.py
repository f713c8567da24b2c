"""The audit commands through the console script's main(): output shapes and exit codes."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

import clean_my_data._api._audit as audit_api
from clean_my_data.main import main
from outbox.settings import Settings
from relay.stores.base import ErrorClass, ObjectInfo, StoreError
from tests.unit.audit.rows import FakeStore, Seeder


@pytest.fixture
def cli_env(
    settings: Settings, seeder: Seeder, store: FakeStore, monkeypatch: pytest.MonkeyPatch
) -> Seeder:
    """The CLI sees the same SQLite file, staging directory and (fake) store as the seeder."""
    for name, value in {
        "DATABASE_URL": settings.database_url,
        "ARTIFACT_STORE_URL": settings.artifact_store_url,
        "STAGING_DIR": str(settings.staging_dir),
        "APP_ENV": settings.app_env,
        "LOG_LEVEL": "error",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(audit_api, "open_store", lambda _settings: store)
    return seeder


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_history_table_and_json(cli_env: Seeder, capsys: pytest.CaptureFixture[str]) -> None:
    cli_env.add_report("a1")
    seeded = cli_env.add_download("a1", "csv")
    cli_env.fail_download(seeded)
    code, out, _ = _run(capsys, "history", "--analysis-id", "a1")
    assert code == 0
    header, row = out.splitlines()
    assert header.split()[:3] == ["TIME", "(UTC)", "ANALYSIS"]
    assert "access_denied: Access Denied" in row
    assert header.index("OUTCOME") == row.index("failed")  # aligned columns
    code, out, _ = _run(capsys, "history", "--json", "--outcome", "failed")
    [entry] = [json.loads(line) for line in out.splitlines()]
    assert entry["download_id"] == seeded.download_id
    assert entry["error_class"] == "access_denied"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("history", "--since", "last tuesday"), "--since 'last tuesday'"),
        (("history", "--status", "done"), "status 'done'"),
        (("history", "--outcome", "exploded"), "outcome 'exploded'"),
        (("requeue", "--analysis-id", "a", "--reason", " "), "the reason must say why"),
        (("requeue", "--analysis-id", "a", "--since", "2h", "--reason", "x"), "with --failed"),
    ],
)
def test_bad_arguments_are_one_line_errors(
    cli_env: Seeder, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], message: str
) -> None:
    code, out, err = _run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("clean-my-data: error: ")
    assert message in err


def test_requeue_of_an_unknown_download_exits_1(
    cli_env: Seeder, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "requeue", "--download-id", "nope", "--reason", "x")
    assert (code, out) == (1, "")
    assert err == "clean-my-data: error: no download 'nope'\n"


def test_requeue_table_and_exit_codes(
    cli_env: Seeder, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_env.add_report("a1")
    ok = cli_env.add_download("a1", "csv")
    gone = cli_env.add_download("a1", "json")
    cli_env.fail_download(ok)
    cli_env.fail_download(gone)
    (settings.staging_dir / gone.staged_path).unlink()
    code, out, _ = _run(capsys, "requeue", "--failed", "--reason", "fixed")
    assert code == 1  # one must be regenerated
    assert out.splitlines()[-1] == "1 regenerate, 1 requeued"
    code, out, _ = _run(capsys, "requeue", "--download-id", ok.download_id, "--reason", "again")
    assert code == 0
    assert out.splitlines()[-1] == "1 not_failed"


def test_verify_exit_codes_and_json(
    cli_env: Seeder, store: FakeStore, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_env.add_report("a1")
    seeded = cli_env.add_uploaded("a1", "csv")
    code, out, err = _run(capsys, "verify")
    assert (code, out) == (0, "")
    assert "verify: consistent" in err
    store.delete(seeded.object_key)
    code, out, _ = _run(capsys, "verify")
    assert code == 1
    assert out.startswith("invariant 1 object_missing: download ")
    code, out, _ = _run(capsys, "verify", "--json")
    problem, summary = (json.loads(line) for line in out.splitlines())
    assert problem["code"] == "object_missing"
    assert summary["summary"]["consistent"] is False


class _BrokenStore(FakeStore):
    def iter_objects(self, prefix: str) -> Iterator[ObjectInfo]:
        raise StoreError(ErrorClass.ACCESS_DENIED, "Access Denied\nrequest id 1")


def test_verify_store_failure_is_one_line(
    cli_env: Seeder, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(audit_api, "open_store", lambda _settings: _BrokenStore())
    code, out, err = _run(capsys, "verify")
    assert code == 69  # EX_UNAVAILABLE: nothing concluded, unlike 1 (problems found)
    assert out == ""
    assert err == (
        "clean-my-data: error: cannot use the object store (access_denied): Access Denied\n"
    )


def test_purge_dry_run_then_purge(cli_env: Seeder, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "purge", "--dry-run")
    assert code == 0
    assert out.startswith("would delete 0 finished outbox records")
    assert "history kept (HISTORY_RETENTION_DAYS unset)" in out
    code, out, _ = _run(capsys, "purge")
    assert code == 0
    assert out.startswith("deleted 0 finished outbox records")
