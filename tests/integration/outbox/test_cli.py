"""`db upgrade` and `report` as the user runs them: the CLI in subprocesses."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from outbox.db import open_database
from outbox.migrations import discover_migrations
from outbox.persist import persist_analysis_report
from outbox.settings import Settings
from tests.integration.outbox.support import build_final_object, stage_artifacts

pytestmark = [pytest.mark.mariadb]

CLI = [sys.executable, "-m", "clean_my_data.main"]
REPO = Path(__file__).resolve().parents[3]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "STAGING_DIR")}
    env.update({"PYTHONPATH": str(REPO), "LOG_FORMAT": "json", **extra})
    return env


def _run(args: list[str], tmp_path: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        cwd=tmp_path,
        env=_env(tmp_path, **extra),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_db_upgrade_from_two_processes_at_once_then_again(mysql_url: str, tmp_path: Path) -> None:
    env = _env(tmp_path, DATABASE_URL=mysql_url)
    processes = [
        subprocess.Popen(
            [*CLI, "db", "upgrade"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in processes]

    assert [p.returncode for p in processes] == [0, 0], outputs
    applied = [
        line.removeprefix("applied ")
        for out, _ in outputs
        for line in out.splitlines()
        if line.startswith("applied ")
    ]
    assert sorted(applied) == [m.label for m in discover_migrations()]  # each file once
    again = _run(["db", "upgrade"], tmp_path, DATABASE_URL=mysql_url)
    assert again.returncode == 0
    assert "already up to date" in again.stdout
    assert "password" not in again.stdout


def test_commands_on_a_database_without_schema_say_run_db_upgrade(
    mysql_url: str, tmp_path: Path
) -> None:
    result = _run(["report", "an-1"], tmp_path, DATABASE_URL=mysql_url)
    assert result.returncode == 69  # EX_UNAVAILABLE: the schema is not ready
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines == [lines[-1]]
    assert "clean-my-data db upgrade" in lines[0]


def test_report_prints_the_stored_object_and_refuses_an_unknown_id(
    mysql_url: str, tmp_path: Path
) -> None:
    assert _run(["db", "upgrade"], tmp_path, DATABASE_URL=mysql_url).returncode == 0
    staging = tmp_path / "staging"
    staging.mkdir()
    settings = dataclasses.replace(Settings(), database_url=mysql_url, staging_dir=staging)
    engine = open_database(settings)
    artifacts = stage_artifacts(settings, "an-cli")
    persist_analysis_report(engine, build_final_object("an-cli", artifacts), artifacts, settings)
    engine.dispose()

    shown = _run(["report", "an-cli"], tmp_path, DATABASE_URL=mysql_url)
    unknown = _run(["report", "nope"], tmp_path, DATABASE_URL=mysql_url)

    assert shown.returncode == 0, shown.stderr
    printed = json.loads(shown.stdout)
    assert printed["analysis_id"] == "an-cli"
    assert [e["status"] for e in printed["report"]["downloads"]] == ["pending"] * 3
    assert all("presigned_url" not in e for e in printed["report"]["downloads"])
    assert unknown.returncode == 1
    assert unknown.stdout == ""
    assert unknown.stderr.strip() == "clean-my-data: error: no report stored for analysis id 'nope'"


def test_with_no_settings_the_embedded_default_needs_no_setup(tmp_path: Path) -> None:
    result = _run(["report", "nope"], tmp_path)

    assert result.returncode == 1
    assert "no report stored" in result.stderr
    assert (tmp_path / "var" / "clean-my-data.sqlite3").is_file()
    upgrade = _run(["db", "upgrade"], tmp_path)
    assert upgrade.returncode == 0
    assert "already up to date" in upgrade.stdout


def test_db_upgrade_without_ddl_rights_is_one_line(mysql_url: str, tmp_path: Path) -> None:
    import secrets

    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    url = make_url(mysql_url)
    user, password = f"cmd_ro_{secrets.token_hex(3)}", secrets.token_hex(8)
    admin = sa.create_engine(url)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'"))
        conn.execute(sa.text(f"CREATE USER '{user}'@'localhost' IDENTIFIED BY '{password}'"))
        for host in ("%", "localhost"):
            conn.execute(sa.text(f"GRANT SELECT ON `{url.database}`.* TO '{user}'@'{host}'"))
    try:
        limited = url.set(username=user, password=password).render_as_string(hide_password=False)
        result = _run(["db", "upgrade"], tmp_path, DATABASE_URL=limited)
        assert result.returncode != 0
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert "denied" in lines[0].lower()
        assert "Traceback" not in result.stderr
        assert password not in result.stderr
    finally:
        with admin.begin() as conn:
            for host in ("%", "localhost"):
                conn.execute(sa.text(f"DROP USER IF EXISTS '{user}'@'{host}'"))
        admin.dispose()
