"""API_ADMIN_TOKEN: validated without ever being shown, and ensured idempotently by ``serve``."""

from __future__ import annotations

import dataclasses
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from clean_my_data.commands.serve import ADMIN_TOKEN_NAME, bootstrap_admin_token
from clean_my_data.logging_setup import configure_logging
from outbox.access import (
    TokenError,
    create_token,
    ensure_token,
    find_principal,
    hash_token,
    token_weakness,
)
from outbox.settings import Settings, SettingsError
from outbox.tables import api_tokens


def new_secret() -> str:
    return "cmd_" + secrets.token_urlsafe(32)


def stored_tokens(engine: sa.Engine) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(api_tokens.c.name, api_tokens.c.role, api_tokens.c.token_sha256)
        )
        return [tuple(row) for row in rows]


def test_a_generated_secret_is_accepted_and_never_shown() -> None:
    secret = new_secret()
    settings = Settings.from_env({"API_ADMIN_TOKEN": f"  {secret}\n"})
    assert settings.api_admin_token == secret
    assert secret not in repr(settings)
    assert secret not in str(settings)
    assert Settings.from_env({}).api_admin_token is None
    assert Settings.from_env({"API_ADMIN_TOKEN": " "}).api_admin_token is None


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("change-me-admin-token-0123456789abcdefghijklmnop", "must start with 'cmd_'"),
        ("cmd_" + "Ab1-" * 7, "at least 32 characters"),
        ("cmd_" + "ab" * 20, "too little variety"),
        ("cmd_" + "0" * 43, "too little variety"),
        ("cmd_" + secrets.token_urlsafe(32) + "!x", "only letters, digits"),
        ("cmd_" + secrets.token_urlsafe(32) + " tail", "only letters, digits"),
        ("cmd_" + secrets.token_urlsafe(100), "at most 128"),
    ],
)
def test_a_weak_or_malformed_secret_is_refused_in_one_line_without_its_value(
    value: str, reason: str
) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"API_ADMIN_TOKEN": value})
    message = str(raised.value)
    assert message.startswith("API_ADMIN_TOKEN: ")
    assert reason in message
    assert "\n" not in message
    assert value.strip() not in message
    assert value[4:20] not in message
    assert token_weakness(value) is not None


def test_every_generated_secret_passes() -> None:
    for _ in range(2000):
        assert token_weakness(new_secret()) is None


def test_serve_refuses_a_weak_secret_before_anything_starts(tmp_path: Path) -> None:
    env = {
        "API_ADMIN_TOKEN": "cmd_" + "a" * 40,
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    result = subprocess.run(
        [str(Path(sys.executable).parent / "clean-my-data"), "serve", "--host", "0.0.0.0"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "API_ADMIN_TOKEN" in lines[0]
    assert "too little variety" in lines[0]
    assert "a" * 40 not in result.stderr
    assert "Traceback" not in result.stderr


def test_bootstrap_creates_keeps_and_replaces_the_admin_token(
    engine: sa.Engine, settings: Settings
) -> None:
    assert bootstrap_admin_token(engine, settings) is None  # unset: nothing done
    assert stored_tokens(engine) == []

    secret = new_secret()
    configured = dataclasses.replace(settings, api_admin_token=secret)
    assert bootstrap_admin_token(engine, configured) == "created"
    assert bootstrap_admin_token(engine, configured) == "present"  # a restart, a replica
    assert bootstrap_admin_token(engine, configured) == "present"
    assert stored_tokens(engine) == [(ADMIN_TOKEN_NAME, "admin", hash_token(secret))]
    principal = find_principal(engine, secret)
    assert principal is not None
    assert (principal.name, principal.role) == ("admin", "admin")

    rotated = new_secret()
    assert bootstrap_admin_token(
        engine, dataclasses.replace(settings, api_admin_token=rotated)
    ) == ("replaced")
    assert find_principal(engine, secret) is None  # the old secret stops working
    assert find_principal(engine, rotated) is not None
    assert stored_tokens(engine) == [(ADMIN_TOKEN_NAME, "admin", hash_token(rotated))]


def test_bootstrap_leaves_other_tokens_alone_and_refuses_another_tokens_secret(
    engine: sa.Engine,
) -> None:
    analyst = create_token(engine, name="ann", role="analyst")
    with pytest.raises(TokenError, match="already the token 'ann'"):
        ensure_token(engine, name="admin", role="admin", token=analyst)
    assert [row[0] for row in stored_tokens(engine)] == ["ann"]
    principal = find_principal(engine, analyst)
    assert principal is not None
    assert principal.role == "analyst"

    secret = new_secret()
    assert ensure_token(engine, name="admin", role="admin", token=secret) == "created"
    assert sorted(row[0] for row in stored_tokens(engine)) == ["admin", "ann"]


def test_bootstrap_logs_the_outcome_but_never_the_secret(
    engine: sa.Engine, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("json", "debug")
    secret = new_secret()
    bootstrap_admin_token(engine, dataclasses.replace(settings, api_admin_token=secret))
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert "admin_token_ensured" in output
    assert '"outcome": "created"' in output
    assert secret not in output
    assert hash_token(secret) not in output
