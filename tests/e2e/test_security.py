"""Security through the real CLI on MariaDB + SeaweedFS.

- Stored objects are not readable (nor listable) without credentials: anonymous GET -> 403.
- Presigned URLs work, then expire; they are never stored.
- No credential (the S3 secret key, the database password) appears in any command's output or
  JSON logs (LOG_LEVEL=debug), in the stored final object, in the history or in the objects,
  including on the error paths (wrong database password, wrong S3 secret).
- The key builder never escapes the configured prefix: property-tested in
  ``tests/unit/outbox/test_keys.py`` (``test_the_key_stays_inside_the_sanitised_prefix``,
  ``test_hostile_parts_give_a_safe_bounded_deterministic_key``) and checked end to end with
  hostile names in ``tests/e2e/test_hostile_cli.py``.
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from tests.e2e.harness import EXAMPLE, Harness, build_harness, non_log_lines, sha256_of
from tests.support.seaweed import S3Server

pytestmark = [pytest.mark.mariadb, pytest.mark.s3]


@pytest.fixture
def password_url(mysql_url: str) -> Iterator[tuple[str, str]]:
    """A database user with a password on the test database: (url, password)."""
    admin_url = make_url(mysql_url)
    user, password = f"cmd_sec_{secrets.token_hex(4)}", f"pw-{secrets.token_hex(12)}"
    admin = sa.create_engine(admin_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'"))
        conn.execute(sa.text(f"GRANT ALL PRIVILEGES ON `{admin_url.database}`.* TO '{user}'@'%'"))
    try:
        url = admin_url.set(username=user, password=password, host="127.0.0.1")
        yield url.render_as_string(hide_password=False), password
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP USER IF EXISTS '{user}'@'%'"))
        admin.dispose()


@pytest.fixture
def harness(
    tmp_path: Path, password_url: tuple[str, str], s3_server: S3Server, s3_bucket: str
) -> Harness:
    return build_harness(tmp_path, password_url[0], s3_server, s3_bucket, LOG_LEVEL="debug")


def http_get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()


def uploaded(harness: Harness, analysis_id: str) -> list[dict[str, object]]:
    assert harness.analyze(EXAMPLE, analysis_id).returncode == 0
    done = harness.relay_once()
    assert done.returncode == 0, done.stderr
    rows = harness.downloads()
    assert {row["status"] for row in rows} == {"uploaded"}
    return rows


def test_objects_are_not_readable_or_listable_without_credentials(harness: Harness) -> None:
    rows = uploaded(harness, "sec-anon")
    endpoint = harness.s3.endpoint_url
    for row in rows:
        key = str(row["s3_path"]).removeprefix(f"s3://{harness.bucket}/")
        status, body = http_get(f"{endpoint}/{harness.bucket}/{key}")
        assert status == 403, (key, status)
        assert row["sha256"] != sha256_of(body)
        assert harness.object_bytes(key)  # while the same GET with credentials works
    assert http_get(f"{endpoint}/{harness.bucket}?list-type=2")[0] == 403
    assert http_get(f"{endpoint}/")[0] == 403


def test_presigned_urls_work_then_expire_and_are_never_stored(harness: Harness) -> None:
    rows = uploaded(harness, "sec-presign")
    ttl = 6  # long enough for the first GETs on a loaded machine
    shown = harness.cli("report", "sec-presign", "--presign", env={"PRESIGN_TTL_SECONDS": str(ttl)})
    assert shown.returncode == 0, shown.stderr
    issued = time.monotonic()
    entries = json.loads(shown.stdout)["report"]["downloads"]
    by_id = {str(row["download_id"]): row for row in rows}
    for entry in entries:
        assert f"X-Amz-Expires={ttl}" in entry["presigned_url"]
        status, body = http_get(entry["presigned_url"])
        assert status == 200
        assert sha256_of(body) == by_id[entry["download_id"]]["sha256"]
    time.sleep(max(0.0, ttl + 1.5 - (time.monotonic() - issued)))
    for entry in entries:
        assert http_get(entry["presigned_url"])[0] == 403  # expired
    stored = json.dumps(harness.report_rows(), default=str)
    assert "X-Amz-Signature" not in stored
    assert all(row["presigned_url"] is None for row in harness.downloads())


def test_no_credential_in_logs_outputs_stored_objects_or_history(
    harness: Harness, password_url: tuple[str, str]
) -> None:
    db_password = password_url[1]
    s3_secret = harness.s3.secret_key
    wrong_s3_secret = f"wrong-{secrets.token_hex(8)}"
    outputs = []
    for args in (
        ("analyze", str(EXAMPLE), "--analysis-id", "sec-logs"),
        ("relay", "--once"),
        ("report", "sec-logs", "--presign"),
        ("history", "--json"),
        ("verify", "--deep"),
    ):
        result = harness.cli(*args)
        assert result.returncode == 0, (args, result.stderr)
        outputs.append(result.stdout + result.stderr)
    logged = [text for text in outputs if '"event": ' in text]
    assert len(logged) >= 2  # analyze and the relay logged in JSON (LOG_LEVEL=debug)

    # Error paths: a wrong database password, then a wrong S3 secret (access denied).
    bad_db = make_url(harness.database_url).set(password="not-" + db_password)
    refused = harness.cli(
        "report", "sec-logs", env={"DATABASE_URL": bad_db.render_as_string(hide_password=False)}
    )
    assert refused.returncode != 0
    assert len(non_log_lines(refused.stderr)) == 1  # a one-line error, no traceback
    outputs.append(refused.stdout + refused.stderr)
    assert harness.analyze(EXAMPLE, "sec-denied").returncode == 0
    denied = harness.relay_once(AWS_SECRET_ACCESS_KEY=wrong_s3_secret, RELAY_MAX_ATTEMPTS="1")
    assert denied.returncode == 0, denied.stderr
    outputs.append(denied.stdout + denied.stderr)
    failed = [r for r in harness.downloads() if r["analysis_id"] == "sec-denied"]
    assert {r["status"] for r in failed} == {"upload_failed"}  # the wrong secret was used

    stored = json.dumps(
        [harness.report_rows(), harness.downloads(), harness.history(), harness.outbox()],
        default=str,
    )
    objects = b"".join(harness.object_bytes(key) for key in harness.object_keys())
    for secret in (db_password, s3_secret, wrong_s3_secret):
        for text in outputs:
            assert secret not in text
        assert secret not in stored
        assert secret.encode() not in objects
