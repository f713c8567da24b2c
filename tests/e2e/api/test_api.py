"""The HTTP API against a real server process, on the embedded default and on MariaDB +
SeaweedFS (the same suite on both)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from domain.downloads.entries import ARTIFACT_KINDS
from outbox.tables import analysis_jobs, analysis_reports, downloads
from tests.e2e.api.conftest import MAX_UPLOAD_BYTES, Service

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
HOSTILE = Path(__file__).resolve().parents[2] / "hostile" / "files"
ORDERS = (FIXTURES / "messy_orders.csv").read_bytes()
PROBLEM = "application/problem+json"


def _submit(client: httpx.Client, data: bytes, **params: str) -> httpx.Response:
    return client.post(
        "/api/v1/analyses", content=data, params={"file_name": "orders.csv", **params}
    )


def _wait_uploaded(client: httpx.Client, analysis_id: str, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        answer = client.get(f"/api/v1/analyses/{analysis_id}", params={"wait": 30})
        assert answer.status_code == 200, answer.text
        document = answer.json()
        final = document["final_object"]
        if final is not None and all(
            entry["status"] == "uploaded" for entry in final["report"]["downloads"]
        ):
            return document
        assert document["job"]["status"] != "failed", document
        assert time.monotonic() < deadline, document
        time.sleep(0.5)


def _input_files(service: Service) -> list[Path]:
    """Every file an upload may write before it is published: the scratch directory (an S3
    store's spool) and, on a local store, everything in its ``inputs/`` directory."""
    found: list[Path] = []
    scratch = Path(service.env["WORKER_SCRATCH_DIR"])
    store_url = service.env["ARTIFACT_STORE_URL"]
    places = [scratch]
    if store_url.startswith("file://"):
        places.append(Path(store_url.removeprefix("file://")) / "inputs")
    for place in places:
        found += list(place.iterdir()) if place.exists() else []
    return found


def _is_problem(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)
    body = answer.json()
    assert body["status"] == status
    assert body["title"]
    assert "Traceback" not in answer.text
    return body


def test_submit_analyse_upload_and_download_each_file(service: Service) -> None:
    ann = service.client("ann")
    answer = _submit(ann, ORDERS, analysis_id="orders-1")
    assert answer.status_code == 202, answer.text
    assert answer.headers["location"] == "/api/v1/analyses/orders-1"
    assert answer.json()["job"]["status"] in ("queued", "running", "succeeded")

    document = _wait_uploaded(ann, "orders-1")
    assert document["job"]["status"] == "succeeded"
    assert document["job"]["attempts"] == 1
    entries = document["final_object"]["report"]["downloads"]
    assert sorted(entry["format"] for entry in entries) == ["csv", "json", "parquet", "xlsx"]
    for entry in entries:
        fetched = ann.get(entry["download_url"])
        if service.kind == "embedded":
            assert "presigned_url" not in entry
            assert fetched.status_code == 200
            body = fetched.content
        else:
            assert "X-Amz-Signature" in entry["presigned_url"]
            assert fetched.status_code == 307
            assert "X-Amz-Signature" in fetched.headers["location"]
            body = httpx.get(fetched.headers["location"]).content
        assert hashlib.sha256(body).hexdigest() == entry["sha256"]
        assert len(body) == entry["size_bytes"]

    etag = ann.get("/api/v1/analyses/orders-1").headers["etag"]
    assert ann.get("/api/v1/analyses/orders-1", headers={"If-None-Match": etag}).status_code == 304

    with service.engine().connect() as conn:
        stored_urls = conn.execute(sa.select(downloads.c.presigned_url)).scalars().all()
        assert stored_urls == [None] * len(ARTIFACT_KINDS)
        assert conn.execute(sa.select(sa.func.count()).select_from(analysis_reports)).scalar() == 1
    log = service.log_text()
    assert "X-Amz-Signature" not in log
    assert all(token not in log for token in service.tokens.values())


def test_local_store_downloads_honour_range(service: Service) -> None:
    ann = service.client("ann")
    assert _submit(ann, ORDERS, analysis_id="ranged").status_code == 202
    entry = _wait_uploaded(ann, "ranged")["final_object"]["report"]["downloads"][0]
    answer = ann.get(entry["download_url"], headers={"Range": "bytes=0-9"}, follow_redirects=True)
    assert answer.status_code == 206
    assert len(answer.content) == 10


def test_multipart_and_idempotency_key(service: Service) -> None:
    ann = service.client("ann")
    files = {"file": ("orders.csv", ORDERS, "text/csv")}
    first = ann.post("/api/v1/analyses", files=files, headers={"Idempotency-Key": "k-1"})
    again = ann.post("/api/v1/analyses", files=files, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 202
    assert first.json()["created"] is True
    assert again.json()["created"] is False
    assert first.headers["location"] == again.headers["location"]
    assert first.json()["job"]["input"]["file_name"] == "orders.csv"
    other = ann.post(
        "/api/v1/analyses",
        files={"file": ("orders.csv", ORDERS + b"x,y\n", "text/csv")},
        headers={"Idempotency-Key": "k-1"},
    )
    _is_problem(other, 409)
    with service.engine().connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(analysis_jobs)).scalar() == 1


def test_bad_input_fails_its_job_once_with_a_one_line_error(service: Service) -> None:
    ann = service.client("ann")
    answer = _submit(ann, (HOSTILE / "png_image.csv").read_bytes(), analysis_id="png")
    assert answer.status_code == 202
    job = ann.get("/api/v1/analyses/png", params={"wait": 60}).json()["job"]
    assert job["status"] == "failed"
    assert job["attempts"] == 1
    assert job["error"]["class"] == "input_error"
    assert "\n" not in job["error"]["message"]


def test_access_rules(service: Service) -> None:
    ann, bob, aud = service.client("ann"), service.client("bob"), service.client("aud")
    assert _submit(ann, ORDERS, analysis_id="ann-1").status_code == 202

    anonymous = service.client()
    body = _is_problem(anonymous.get("/api/v1/analyses/ann-1"), 401)
    assert "Bearer" in body["detail"]
    bogus = httpx.Client(base_url=service.base_url, headers={"Authorization": "Bearer cmd_x"})
    _is_problem(bogus.get("/api/v1/analyses/ann-1"), 401)
    _is_problem(_submit(aud, ORDERS), 403)
    _is_problem(aud.get("/api/v1/stats").__class__ and ann.get("/api/v1/stats"), 403)
    _is_problem(bob.get("/api/v1/analyses/ann-1"), 404)
    _is_problem(bob.get("/api/v1/analyses/ann-1/downloads/x"), 404)
    _is_problem(bob.get("/api/v1/analyses/never-submitted"), 404)
    _is_problem(_submit(bob, ORDERS + b"1,2\n", analysis_id="ann-1", replace="true"), 409)
    assert aud.get("/api/v1/analyses/ann-1").status_code == 200


def test_odd_ids_paths_and_methods_are_problems(service: Service) -> None:
    ann = service.client("ann")
    for path in (
        "/api/v1/analyses/..%2F..%2Fetc%2Fpasswd",
        "/api/v1/analyses/%00",
        "/api/v1/analyses/" + "a" * 129,
        "/api/v1/analyses/a%20b",
    ):
        assert ann.get(path).status_code in (404, 422), path
        assert ann.get(path).headers["content-type"].startswith(PROBLEM)
    _is_problem(_submit(ann, ORDERS, analysis_id="../x"), 422)
    _is_problem(ann.get("/api/v1/analyses/x", params={"wait": 61}), 422)
    _is_problem(ann.delete("/api/v1/analyses/x"), 405)
    _is_problem(ann.get("/api/v1/nothing-here"), 404)


def test_oversize_upload_is_refused_and_nothing_is_kept(service: Service) -> None:
    ann = service.client("ann")
    big = b"a,b\n" + b"1,2\n" * (MAX_UPLOAD_BYTES // 4)
    _is_problem(_submit(ann, big, analysis_id="big"), 413)

    def chunks():  # no Content-Length: the limit is enforced while streaming
        for start in range(0, len(big), 65536):
            yield big[start : start + 65536]

    _is_problem(ann.post("/api/v1/analyses", content=chunks(), params={"analysis_id": "big"}), 413)
    document = b'{"upload_id": "x", "file_name": "' + b"a" * 100_000 + b'.csv"}'
    for body in (document, iter([document])):  # with and without Content-Length
        answer = ann.post(
            "/api/v1/analyses",
            content=body,
            headers={"Content-Type": "application/json"},
            params={"analysis_id": "big"},
        )
        _is_problem(answer, 413)
    _is_problem(ann.get("/api/v1/analyses/big"), 404)
    with service.engine().connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(analysis_jobs)).scalar() == 0
    assert _input_files(service) == []  # no temporary file either


def test_a_client_that_disconnects_mid_upload_leaves_no_job_and_no_file(
    service: Service,
) -> None:
    host, port = service.base_url.removeprefix("http://").split(":")
    head = (
        "POST /api/v1/analyses?analysis_id=gone&file_name=gone.csv HTTP/1.1\r\n"
        f"Host: {host}\r\nAuthorization: Bearer {service.tokens['ann']}\r\n"
        f"Content-Length: {MAX_UPLOAD_BYTES - 1000}\r\n\r\n"
    )
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(head.encode() + b"a,b\n1,2\n" * 5000)
        deadline = time.monotonic() + 30
        while not _input_files(service):  # the server is writing the body somewhere
            assert time.monotonic() < deadline
            time.sleep(0.05)
    deadline = time.monotonic() + 30
    while _input_files(service):  # the connection is gone: what was written goes too
        assert time.monotonic() < deadline, _input_files(service)
        time.sleep(0.05)
    with service.engine().connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(analysis_jobs)).scalar() == 0
    _is_problem(service.client("ann").get("/api/v1/analyses/gone"), 404)


def test_a_body_that_stalls_is_cut_off(service: Service) -> None:
    ann = service.client("ann")

    def trickle():
        yield b"a,b\n1,2\n"
        time.sleep(4)  # API_BODY_TIMEOUT_SECONDS is 2
        yield b"3,4\n"

    try:
        answer = ann.post("/api/v1/analyses", content=trickle(), params={"analysis_id": "slow"})
        _is_problem(answer, 408)
    except httpx.HTTPError:
        pass  # the server closed the connection before the client finished sending
    with service.engine().connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(analysis_jobs)).scalar() == 0


def _multipart(name: str, data: bytes) -> tuple[bytes, dict[str, str]]:
    request = httpx.Request("POST", "http://test/", files={"file": (name, data, "text/csv")})
    body = request.read()
    return body, {"content-type": request.headers["content-type"], "content-length": str(len(body))}


def test_a_slow_multipart_upload_that_never_stalls_is_accepted(service: Service) -> None:
    # sent over about 5 times API_BODY_TIMEOUT_SECONDS, never pausing as long as it
    body, headers = _multipart("slow.csv", ORDERS)
    pieces = 10
    size = -(-len(body) // pieces)

    def trickle():
        for start in range(0, len(body), size):
            yield body[start : start + size]
            time.sleep(1.0)

    answer = service.client("ann").post(
        "/api/v1/analyses", content=trickle(), headers=headers, params={"analysis_id": "steady"}
    )
    assert answer.status_code == 202, answer.text
    job = answer.json()["job"]
    assert job["input"]["file_name"] == "slow.csv"
    assert job["input"]["size_bytes"] == len(ORDERS)


def test_a_multipart_body_that_stalls_is_cut_off_and_nothing_is_kept(service: Service) -> None:
    body, headers = _multipart("stalls.csv", ORDERS)

    def trickle():
        yield body[: len(body) // 2]
        time.sleep(4)  # API_BODY_TIMEOUT_SECONDS is 2
        yield body[len(body) // 2 :]

    try:
        answer = service.client("ann").post(
            "/api/v1/analyses", content=trickle(), headers=headers, params={"analysis_id": "stall"}
        )
        _is_problem(answer, 408)
    except httpx.HTTPError:
        pass  # the server closed the connection before the client finished sending
    _is_problem(service.client("ann").get("/api/v1/analyses/stall"), 404)
    assert _input_files(service) == []


def test_auditor_history_downloads_stats_and_requeue(service: Service) -> None:
    ann, aud = service.client("ann"), service.client("aud")
    assert _submit(ann, ORDERS, analysis_id="audited").status_code == 202
    entries = _wait_uploaded(ann, "audited")["final_object"]["report"]["downloads"]

    page = aud.get("/api/v1/history", params={"analysis_id": "audited", "limit": 2}).json()
    assert len(page["items"]) == 2
    rest = aud.get(
        "/api/v1/history", params={"analysis_id": "audited", "after": page["next_after"]}
    ).json()
    assert [i["outcome"] for i in page["items"] + rest["items"]] == ["uploaded"] * len(
        ARTIFACT_KINDS
    )
    as_csv = aud.get("/api/v1/history", params={"analysis_id": "audited", "format": "csv"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert len(list(csv.DictReader(io.StringIO(as_csv.text)))) == len(ARTIFACT_KINDS)

    listed = aud.get("/api/v1/downloads", params={"status": "uploaded"}).json()["items"]
    assert {e["download_id"] for e in entries} <= {e["download_id"] for e in listed}
    stats = aud.get("/api/v1/stats").json()
    assert stats["downloads"]["uploaded"] >= 3
    assert stats["jobs"]["succeeded"] >= 1

    requeued = aud.post(
        f"/api/v1/downloads/{entries[0]['download_id']}/requeue", json={"reason": "check"}
    )
    assert requeued.status_code == 200
    assert requeued.json()["verdict"] != "requeued"  # an uploaded download stays as it is
    _is_problem(aud.post("/api/v1/downloads/none/requeue", json={"reason": "x"}), 404)
    _is_problem(aud.post("/api/v1/downloads/none/requeue", json={}), 422)


def test_health_readiness_metrics_and_docs(service: Service) -> None:
    anonymous = service.client()
    assert anonymous.get("/healthz").json() == {"status": "ok"}
    ready = anonymous.get("/readyz").json()
    assert ready["checks"] == {"database": "ok", "store": "ok"}
    assert "cmd_api_requests_total" in anonymous.get("/metrics").text
    assert anonymous.get("/docs").status_code == 200
    assert "/api/v1/analyses" in anonymous.get("/openapi.json").json()["paths"]


def test_events_stream_one_analysis_until_its_downloads_settle(service: Service) -> None:
    ann, aud = service.client("ann"), service.client("aud")
    assert _submit(ann, ORDERS, analysis_id="streamed").status_code == 202
    snapshots: list[dict[str, Any]] = []
    with ann.stream("GET", "/api/v1/analyses/streamed/events") as events:
        assert events.headers["content-type"].startswith("text/event-stream")
        for line in events.iter_lines():
            if line.startswith("data: "):
                snapshots.append(json.loads(line[len("data: ") :]))
    last = snapshots[-1]
    assert last["job"]["status"] == "succeeded"
    assert sorted(d["status"] for d in last["downloads"]) == ["uploaded"] * len(ARTIFACT_KINDS)
    assert len(snapshots) == len({json.dumps(s, sort_keys=True) for s in snapshots})  # changes only
    _is_problem(service.client("bob").get("/api/v1/analyses/streamed/events"), 404)
    _is_problem(ann.get("/api/v1/stats/events"), 403)
    with aud.stream("GET", "/api/v1/stats/events") as stats:
        first = next(line for line in stats.iter_lines() if line.startswith("data: "))
    assert json.loads(first[len("data: ") :])["jobs"]["succeeded"] >= 1


def test_direct_upload_through_a_presigned_post(service: Service) -> None:
    ann = service.client("ann")
    declared = {
        "file_name": "orders.csv",
        "size_bytes": len(ORDERS),
        "sha256": hashlib.sha256(ORDERS).hexdigest(),
    }
    answer = ann.post("/api/v1/uploads", json=declared)
    if service.kind == "embedded":
        _is_problem(answer, 409)  # a local directory has no presigned POST
        return
    assert answer.status_code == 201, answer.text
    upload = answer.json()
    assert upload["expires_in"] <= 600

    too_big = httpx.post(
        upload["url"], data=upload["fields"], files={"file": ("o.csv", ORDERS + b"9,9\n")}
    )
    assert too_big.status_code >= 400  # the policy's content-length-range refuses it
    sent = httpx.post(upload["url"], data=upload["fields"], files={"file": ("o.csv", ORDERS)})
    assert sent.status_code in (200, 201, 204), sent.text

    queued = ann.post(
        "/api/v1/analyses",
        json={"upload_id": upload["upload_id"], "file_name": "orders.csv"},
        params={"analysis_id": "direct-1"},
    )
    assert queued.status_code == 202, queued.text
    assert queued.json()["job"]["input"]["size_bytes"] == len(ORDERS)
    document = _wait_uploaded(ann, "direct-1")
    assert document["job"]["status"] == "succeeded"
    _is_problem(ann.post("/api/v1/analyses", json={"upload_id": "nope", "file_name": "x.csv"}), 404)
