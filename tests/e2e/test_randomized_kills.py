"""Randomized, seeded: many small analyses while three relay daemons are SIGKILLed at random
moments and restarted (some analyses are SIGKILLed too, then re-run). At the end every download
is ``uploaded`` with the right bytes or ``upload_failed`` with a reason, no object differs from
its staged sha256, nothing is left staged and the history holds every attempt.

The seed is printed; re-run a failure with ``E2E_KILL_SEED=<seed>``. Bounded: 8 analyses (plus
2 re-runs), a relay kill every 0.8-2.4 s while the analyses run (at least 6 kills).
"""

from __future__ import annotations

import functools
import os
import random
import secrets
import signal
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.e2e.harness import Harness, build_harness, wait_until
from tests.support.seaweed import S3Server

pytestmark = [pytest.mark.mariadb, pytest.mark.s3]

ANALYSES = 8
RERUNS = 2
RELAYS = 3
MIN_KILLS = 6
ANALYZE_KILL_SHARE = 0.3
DRAIN_TIMEOUT_SECONDS = 90
# The daemons' sweep must never take a file an analysis staged but has not committed yet.
DAEMON_GRACE_SECONDS = "60"


def write_small_csv(path: Path, rng: random.Random) -> Path:
    rows = rng.randint(5, 120)
    lines = ["id,name,email,amount,joined"]
    for i in range(rows):
        name = rng.choice(["Ann", "  Bob ", "", "Chloé", "=1+1", "N/A", "dan"])
        email = rng.choice(["a@x.io", "bad-email", "", "c@y.org"])
        amount = rng.choice([str(rng.randint(-50, 5000)), "12,5", "", "abc"])
        joined = rng.choice(["2024-01-02", "02/03/2024", "", "yesterday"])
        lines.append(f"{i},{name},{email},{amount},{joined}")
    if rng.random() < 0.5:
        lines.append(lines[-1])  # an exact duplicate
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass
class RelayFleet:
    harness: Harness
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: dict[int, Path] = field(default_factory=dict)
    generation: int = 0
    kills: int = 0

    def _start(self, slot: int) -> subprocess.Popen[bytes]:
        self.generation += 1
        self.logs[slot] = self.harness.root / "logs" / f"relay-{slot}-gen{self.generation}.log"
        return self.harness.spawn(
            "relay",
            log_name=self.logs[slot].name,
            env={
                "RELAY_ID": f"relay-{slot}-gen{self.generation}",
                "RELAY_ORPHAN_GRACE_SECONDS": DAEMON_GRACE_SECONDS,
            },
        )

    def start(self, count: int) -> None:
        self.processes = [self._start(slot) for slot in range(count)]

    def kill_and_restart(self, slot: int) -> None:
        process = self.processes[slot]
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            self.kills += 1
        process.wait(timeout=30)
        self.processes[slot] = self._start(slot)

    def started(self, slot: int) -> bool:
        log = self.logs[slot]
        return log.exists() and '"event": "relay_started"' in log.read_text(errors="replace")

    def stop(self) -> list[int]:
        """SIGTERM every relay once it is up (a signal during start-up, before the handlers
        are installed, would just end the import); returns their exit codes."""
        for slot in range(len(self.processes)):
            wait_until(functools.partial(self.started, slot), timeout=60)
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        codes = []
        for process in self.processes:
            try:
                codes.append(process.wait(timeout=60))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                codes.append(process.wait(timeout=10))
        return codes


def run_analysis(harness: Harness, path: Path, analysis_id: str, kill_after: float | None) -> int:
    """Analyse ``path``; when ``kill_after`` is set, SIGKILL a first run after that many seconds
    and run it again. Returns how many runs were killed."""
    killed = 0
    if kill_after is not None:
        first = harness.spawn(
            "analyze", str(path), "--analysis-id", analysis_id, log_name=f"{analysis_id}.log"
        )
        try:
            first.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(timeout=30)
            killed = 1
    final = harness.analyze(path, analysis_id)
    assert final.returncode == 0, final.stderr
    return killed


@pytest.fixture
def harness(tmp_path: Path, mysql_url: str, s3_server: S3Server, s3_bucket: str) -> Harness:
    return build_harness(tmp_path, mysql_url, s3_server, s3_bucket)


def test_relays_killed_at_random_moments_still_deliver_everything(
    harness: Harness, tmp_path: Path
) -> None:
    seed = int(os.environ.get("E2E_KILL_SEED") or secrets.randbits(32))
    print(f"randomized kill test: seed={seed} (re-run with E2E_KILL_SEED={seed})")
    plan_rng, kill_rng = random.Random(seed), random.Random(seed + 1)
    jobs: list[tuple[Path, str, float | None]] = []
    for i in range(ANALYSES):
        path = write_small_csv(tmp_path / f"input-{i}.csv", plan_rng)
        kill_after = plan_rng.uniform(0.3, 3.0) if plan_rng.random() < ANALYZE_KILL_SHARE else None
        jobs.append((path, f"rand-{seed}-{i}", kill_after))
    for path, analysis_id, _ in plan_rng.sample(jobs, RERUNS):
        jobs.append((path, analysis_id, None))  # idempotent re-run, possibly concurrent

    fleet = RelayFleet(harness)
    fleet.start(RELAYS)
    stop_killing = threading.Event()

    def kill_at_random() -> None:
        while not stop_killing.wait(kill_rng.uniform(0.8, 2.4)):
            fleet.kill_and_restart(kill_rng.randrange(RELAYS))

    killer = threading.Thread(target=kill_at_random, daemon=True)
    killer.start()
    try:
        with ThreadPoolExecutor(max_workers=3) as pool:
            killed_analyses = sum(pool.map(lambda job: run_analysis(harness, *job), jobs))
        wait_until(lambda: fleet.kills >= MIN_KILLS, timeout=60)  # fast machine: kill on
        stop_killing.set()
        killer.join(timeout=60)
        drained = wait_until(
            lambda: {r["status"] for r in harness.downloads()} <= {"uploaded", "upload_failed"},
            timeout=DRAIN_TIMEOUT_SECONDS,
        )
    finally:
        stop_killing.set()
        codes = fleet.stop()
    print(f"seed={seed}: {fleet.kills} relay kills, {killed_analyses} analyses killed")
    assert drained, f"seed={seed}: downloads still pending after the kills stopped"
    assert fleet.kills >= MIN_KILLS, f"seed={seed}: too few relay kills to mean anything"
    assert codes == [0] * RELAYS, f"seed={seed}: a relay did not stop cleanly on SIGTERM"

    # Sweep what killed processes left (orphan staged files, flipped-but-not-deleted files).
    swept = harness.relay_once(RELAY_ORPHAN_GRACE_SECONDS="0")
    assert swept.returncode == 0, swept.stderr

    ids = {analysis_id for _, analysis_id, _ in jobs}
    rows = harness.downloads()
    assert {r["analysis_id"] for r in rows} == ids, f"seed={seed}"
    assert len(rows) == 4 * len(ids), f"seed={seed}"
    for row in rows:
        assert row["status"] in ("uploaded", "upload_failed"), f"seed={seed}: {row}"
        if row["status"] == "upload_failed":
            assert row["last_error"], f"seed={seed}: upload_failed without a reason: {row}"
        else:
            key = row["s3_path"].split("/", 3)[3]
            assert key in harness.object_keys(), f"seed={seed}: {key} marked uploaded, missing"
    assert harness.assert_objects_match_staged() >= sum(r["status"] == "uploaded" for r in rows), (
        f"seed={seed}"
    )
    assert harness.staged_files() == [], f"seed={seed}"
    harness.assert_reports_agree(rows)
    harness.assert_history_complete()
    verified = harness.verify()
    assert verified.returncode == 0, f"seed={seed}: {verified.stdout}{verified.stderr}"
