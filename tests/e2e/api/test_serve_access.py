"""``serve`` with no API token: loopback only, no authentication; any other address refused."""

from __future__ import annotations

import contextlib
import signal
import time
from datetime import timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa

from clean_my_data.jobs.sweep import sweep_inputs
from outbox.clock import utcnow
from outbox.settings import Settings
from outbox.tables import analysis_jobs
from relay.stores.local import TEMP_PREFIX, LocalStore
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
    # the log events (JSON, one per line) come first; the message for the person is one line
    lines = [line for line in refused.stderr.splitlines() if not line.startswith("{")]
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


def test_store_down_during_submit_is_a_503_and_nothing_is_written(tmp_path: Path) -> None:
    service = _embedded(tmp_path)
    service.env |= {
        "ARTIFACT_STORE_URL": "s3://nowhere",
        "S3_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}",  # nothing listens there
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test-secret",
        "AWS_REGION": "us-east-1",
        "S3_CONNECT_TIMEOUT_SECONDS": "0.5",
    }
    start_service(service, "--no-worker")
    try:
        answer = httpx.post(
            service.base_url + "/api/v1/analyses",
            content=b"a,b\n1,2\n",
            params={"analysis_id": "stored-nowhere"},
            timeout=120,
        )
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert "cannot store the input" in answer.json()["detail"]
        assert httpx.get(service.base_url + "/readyz", timeout=60).status_code == 503
        engine = service.engine()
        with engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(analysis_jobs)).scalar() == 0
        engine.dispose()
        scratch = Path(service.env["WORKER_SCRATCH_DIR"])
        assert list(scratch.iterdir()) == []
    finally:
        stop_service(service)


def test_the_api_killed_mid_upload_leaves_no_job_and_no_stored_input(tmp_path: Path) -> None:
    import signal
    import threading
    import time

    service = start_service(_embedded(tmp_path), "--no-worker")
    sent = threading.Event()

    def body():
        yield b"a,b\n" + b"1,2\n" * 1000
        sent.set()
        time.sleep(30)  # the server is killed while it waits for the rest
        yield b"3,4\n"

    def upload() -> None:
        with contextlib.suppress(httpx.HTTPError):
            httpx.post(
                service.base_url + "/api/v1/analyses",
                content=body(),
                params={"analysis_id": "cut"},
                timeout=60,
            )

    client = threading.Thread(target=upload, daemon=True)
    client.start()
    assert sent.wait(30)
    time.sleep(0.5)
    assert service.process is not None
    service.process.send_signal(signal.SIGKILL)
    service.process.wait(timeout=30)

    engine = service.engine()
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(analysis_jobs)).scalar() == 0
    store = LocalStore(tmp_path / "store")
    assert list(store.iter_objects("")) == []  # no stored input
    files = [p for p in (tmp_path / "store").rglob("*") if p.is_file()]
    assert all(p.name.startswith(TEMP_PREFIX) for p in files)  # at most the body's temporary file
    settings = Settings.from_env(service.env)
    past_grace = utcnow() + timedelta(seconds=settings.job_input_grace_seconds + 60)
    assert sweep_inputs(engine, store, settings, now=past_grace).abandoned == len(files)
    assert [p for p in (tmp_path / "store").rglob("*") if p.is_file()] == []
    engine.dispose()


def test_without_tokens_cross_site_writes_and_other_hosts_are_refused(tmp_path: Path) -> None:
    service = start_service(_embedded(tmp_path))
    base = service.base_url
    submit = base + "/api/v1/analyses?file_name=x.csv"
    try:
        for headers in (
            {"Origin": "http://evil.example"},
            {"Origin": "null"},
            {"Referer": "http://evil.example/page"},
            {"Sec-Fetch-Site": "cross-site"},
            {"Sec-Fetch-Site": "same-site", "Origin": base.replace("127.0.0.1", "localhost")},
            {"Sec-Fetch-Site": "cross-site", "Origin": base},  # the browser's word wins
        ):
            refused = httpx.post(submit, content=b"a,b\n1,2\n", headers=headers)
            assert refused.status_code == 403, headers
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["type"].endswith("/cross-site-refused")
        requeue = httpx.post(
            base + "/api/v1/downloads/x/requeue",
            json={"reason": "r"},
            headers={"Sec-Fetch-Site": "cross-site"},
        )
        assert requeue.status_code == 403
        assert (
            httpx.get(
                base + "/api/v1/analyses/none", headers={"Sec-Fetch-Site": "cross-site"}
            ).status_code
            == 404
        )  # reading stays open to the loopback caller

        for headers in (
            {},  # curl, scripts
            {"Origin": base, "Sec-Fetch-Site": "same-origin"},  # the service's own pages
            {"Sec-Fetch-Site": "none"},  # typed by the user
        ):
            accepted = httpx.post(submit, content=b"a,b\n1,2\n", headers=headers)
            assert accepted.status_code == 202, (headers, accepted.text)
        with service.engine().connect() as conn:
            count = conn.execute(sa.select(sa.func.count()).select_from(analysis_jobs)).scalar()
        assert count == 3

        # a name that was made to resolve to this machine (DNS rebinding): nothing is answered
        for method in ("GET", "POST"):
            rebound = httpx.request(
                method,
                base + "/api/v1/analyses/none",
                headers={"Host": "evil.example:1234", "Sec-Fetch-Site": "same-origin"},
            )
            assert rebound.status_code == 403
            assert rebound.json()["type"].endswith("/host-refused")
        localhost = base.replace("127.0.0.1", "localhost")
        assert httpx.get(localhost + "/api/v1/analyses/none").status_code == 404
    finally:
        stop_service(service)


def test_sigterm_finishes_the_job_in_hand_then_serve_exits_zero(tmp_path: Path) -> None:
    """What ``docker stop`` sends: uvicorn stops taking requests, the embedded worker finishes
    and commits the analysis it is running, the relay stops, and the process exits 0 (uvicorn
    raised the signal again after its shutdown, which killed the process with the threads'
    work unfinished)."""
    service = _embedded(tmp_path)
    service.env["MAX_UPLOAD_BYTES"] = str(64 << 20)
    start_service(service)
    rows = "".join(f"{i}, name {i} ,{i % 97}.5,2024-01-{i % 28 + 1:02d}\n" for i in range(400_000))
    data = ("id,name,amount,day\n" + rows).encode()
    try:
        answer = httpx.post(
            service.base_url + "/api/v1/analyses",
            content=data,
            params={"file_name": "big.csv", "analysis_id": "stopping"},
            timeout=60,
        )
        assert answer.status_code == 202, answer.text
        deadline = time.monotonic() + 60
        while (
            httpx.get(service.base_url + "/api/v1/analyses/stopping").json()["job"]["status"]
            != "running"
        ):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert service.process is not None
        service.process.send_signal(signal.SIGTERM)
        assert service.process.wait(timeout=120) == 0, service.log_text()
    finally:
        stop_service(service)
    log = service.log_text()
    assert "worker_stopped" in log
    assert "relay_stopped" in log
    with contextlib.closing(service.engine().connect()) as connection:
        status = connection.execute(
            sa.select(analysis_jobs.c.status).where(analysis_jobs.c.analysis_id == "stopping")
        ).scalar_one()
    assert status == "succeeded"
