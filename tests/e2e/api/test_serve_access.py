"""``serve`` with no API token: loopback only, no authentication; any other address refused."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.e2e.api.conftest import Service, base_env, free_port, start_service, stop_service


def _embedded(tmp_path: Path) -> Service:
    env = base_env(tmp_path)
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    env["ARTIFACT_STORE_URL"] = f"file://{tmp_path / 'store'}"
    return Service(f"http://127.0.0.1:{free_port()}", env, tmp_path / "serve.log")


def test_without_tokens_a_public_address_is_refused_in_one_line(tmp_path: Path) -> None:
    service = _embedded(tmp_path)
    refused = service.cli("serve", "--host", "0.0.0.0", "--port", str(free_port()))
    assert refused.returncode != 0
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "no API token configured" in lines[0]
    assert "Traceback" not in refused.stderr


def test_without_tokens_loopback_callers_need_no_token_and_the_start_says_so(
    tmp_path: Path,
) -> None:
    service = start_service(_embedded(tmp_path))
    try:
        answer = httpx.get(service.base_url + "/api/v1/analyses/none")
        assert answer.status_code == 404  # not 401: the loopback caller is the local admin
        assert "loopback only" in service.log_text()
    finally:
        stop_service(service)
