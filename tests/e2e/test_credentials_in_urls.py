"""A database password given in any form of DATABASE_URL (userinfo or ``?password=``) is never
shown: not by ``db upgrade``, not in a database error, not in the JSON logs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.e2e.harness import CLI, non_log_lines
from tests.e2e.test_security import password_url  # noqa: F401 - the fixture

pytestmark = [pytest.mark.mariadb]


def _run(tmp_path: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    env.update(
        DATABASE_URL=database_url,
        LOG_FORMAT="json",
        LOG_LEVEL="debug",
        STAGING_DIR=str(tmp_path),
        ARTIFACT_STORE_URL=f"file://{tmp_path / 'store'}",
    )
    return subprocess.run(
        [str(CLI), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _forms(url: str) -> dict[str, str]:
    parsed = make_url(url)
    password = parsed.password or ""
    bare = parsed.set(password=None)
    return {
        "userinfo": url,
        "query": bare.update_query_dict({"password": password}).render_as_string(
            hide_password=False
        ),
        "query_among_others": bare.update_query_dict(
            {"charset": "utf8mb4", "passwd": password}
        ).render_as_string(hide_password=False),
    }


@pytest.mark.parametrize("form", ["userinfo", "query", "query_among_others"])
def test_db_upgrade_never_shows_the_password(
    tmp_path: Path,
    password_url: tuple[str, str],  # noqa: F811 - the imported fixture
    form: str,
) -> None:
    url, password = password_url
    database_url = _forms(url)[form]
    done = _run(tmp_path, database_url, "db", "upgrade")
    assert done.returncode == 0, done.stderr
    assert "up to date" in done.stdout
    assert password not in done.stdout + done.stderr
    wrong = database_url.replace(password, password[:-2] + "xx")
    failed = _run(tmp_path, wrong, "db", "upgrade")
    assert failed.returncode != 0
    errors = non_log_lines(failed.stderr)
    assert len(errors) == 1, failed.stderr
    assert "Access denied" in errors[0]
    assert password[:-2] not in failed.stdout + failed.stderr
    assert "Traceback" not in failed.stderr
