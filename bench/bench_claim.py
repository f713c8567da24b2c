"""Claim throughput of the polling relay's database side: SKIP LOCKED with 1, 2, 4 claimers.

    .venv/bin/python -m bench.bench_claim                      # 100k pending rows, 1/2/4
    .venv/bin/python -m bench.bench_claim --consume 5000 --flip

Each configuration gets a fresh private database on the test server (``TEST_MYSQL_URL``,
default root@127.0.0.1) built by ``db upgrade``, holding ``--rows`` pending outbox rows on one
staging volume plus ``--done-rows`` finished ones (the table a relay sees after a while). N
claimer processes then run the relay's own ``relay.claim.claim_batch`` (``SELECT ... FOR UPDATE
SKIP LOCKED`` + lease UPDATE, one transaction) until ``--consume`` rows are taken, and finish
what they claimed:

* default: one guarded UPDATE per batch (state done, WHERE id IN batch AND lease_token), i.e.
  the claim path alone, two transactions per batch;
* ``--flip``: one guarded UPDATE + COMMIT per record, the number of write transactions the
  real relay spends per artifact (its flip also writes downloads and the attempt history).

No object store is involved: this is the ceiling the database puts on polling relays. Printed:
rows/s, batches/s, and a check that no row was claimed twice.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing as mp
import time
import uuid
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
import structlog

from outbox.clock import utcnow
from outbox.migrations import upgrade
from outbox.tables import AGGREGATE_TYPE, EVENT_TYPE_STAGED, OUTBOX_DONE, OUTBOX_PENDING, outbox
from relay.claim import claim_batch
from tests.support import mariadb

VOLUME = "bench-volume"
INSERT_CHUNK = 5000


def fill_outbox(url: str, pending: int, done: int) -> None:
    engine = sa.create_engine(url)
    now = utcnow()
    payload = {"object_key": "prod/clean-my-data/a/x.csv", "sha256": "0" * 64, "size_bytes": 1}

    def row(i: int, state: str) -> dict[str, Any]:
        return {
            "event_id": str(uuid.uuid4()),
            "aggregatetype": AGGREGATE_TYPE,
            "aggregateid": str(uuid.uuid4()),
            "type": EVENT_TYPE_STAGED,
            "payload": payload,
            "download_id": str(uuid.uuid4()),
            "analysis_id": f"bench-{i // 3}",
            "staging_volume": VOLUME,
            "state": state,
            "attempts": 0 if state == OUTBOX_PENDING else 1,
            "available_at": now - timedelta(seconds=60),
            "created_at": now,
            "updated_at": now,
            "finished_at": None if state == OUTBOX_PENDING else now,
        }

    with engine.begin() as conn:
        for state, count in ((OUTBOX_DONE, done), (OUTBOX_PENDING, pending)):
            for start in range(0, count, INSERT_CHUNK):
                stop = min(count, start + INSERT_CHUNK)
                conn.execute(outbox.insert(), [row(i, state) for i in range(start, stop)])
    engine.dispose()


def finish_batch(engine: sa.Engine, ids: list[int], token: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            outbox.update()
            .where(outbox.c.id.in_(ids), outbox.c.lease_token == token)
            .values(state=OUTBOX_DONE, lease_token=None, finished_at=utcnow())
        )


def finish_each(engine: sa.Engine, ids: list[int], token: str) -> None:
    for outbox_id in ids:
        with engine.begin() as conn:
            conn.execute(
                outbox.update()
                .where(outbox.c.id == outbox_id, outbox.c.lease_token == token)
                .values(state=OUTBOX_DONE, lease_token=None, finished_at=utcnow())
            )


def claimer(url: str, quota: int, batch: int, flip: bool, start: Any, out: Any) -> None:
    engine = sa.create_engine(url, pool_size=1)
    taken: list[int] = []
    batches = 0
    start.wait()
    while len(taken) < quota:
        records = claim_batch(
            engine,
            volume=VOLUME,
            owner=f"bench-{mp.current_process().pid}",
            batch_size=min(batch, quota - len(taken)),
            lease_seconds=300,
        )
        if not records:
            break
        batches += 1
        ids = [r.outbox_id for r in records]
        (finish_each if flip else finish_batch)(engine, ids, records[0].lease_token)
        taken.extend(ids)
    engine.dispose()
    out.put(json.dumps({"ids": taken, "batches": batches}))


def explain_claim(url: str) -> str:
    engine = sa.create_engine(url)
    now = utcnow()
    query = (
        sa.select(outbox.c.id)
        .where(
            outbox.c.state == OUTBOX_PENDING,
            outbox.c.staging_volume == VOLUME,
            outbox.c.available_at <= now,
            sa.or_(outbox.c.lease_expires_at.is_(None), outbox.c.lease_expires_at < now),
        )
        .order_by(outbox.c.available_at, outbox.c.id)
        .limit(32)
    )
    compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
    with engine.connect() as conn:
        plan = conn.execute(sa.text(f"EXPLAIN {compiled}")).mappings().first()
    engine.dispose()
    return f"key={plan['key']} rows~{plan['rows']} extra={plan['Extra']}" if plan else "?"


def run_configuration(args: argparse.Namespace, claimers: int) -> dict[str, Any]:
    url = mariadb.create_database(mariadb.server_url(), prefix="cmd_bench_claim")
    try:
        upgrade(sa.create_engine(url))
        fill_outbox(url.render_as_string(hide_password=False), args.rows, args.done_rows)
        rendered = url.render_as_string(hide_password=False)
        plan = explain_claim(rendered)
        ctx = mp.get_context("fork")
        start = ctx.Event()
        out = ctx.Queue()
        quota = args.consume // claimers
        workers = [
            ctx.Process(target=claimer, args=(rendered, quota, args.batch, args.flip, start, out))
            for _ in range(claimers)
        ]
        for worker in workers:
            worker.start()
        time.sleep(0.5)  # let every worker connect before the clock starts
        began = time.perf_counter()
        start.set()
        results = [json.loads(out.get(timeout=3600)) for _ in workers]
        elapsed = time.perf_counter() - began
        for worker in workers:
            worker.join()
        ids = [i for r in results for i in r["ids"]]
        return {
            "claimers": claimers,
            "rows": len(ids),
            "duplicates": len(ids) - len(set(ids)),
            "batches": sum(r["batches"] for r in results),
            "seconds": elapsed,
            "plan": plan,
        }
    finally:
        mariadb.drop_database(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=100_000, help="pending outbox rows")
    parser.add_argument("--done-rows", type=int, default=100_000, help="finished outbox rows")
    parser.add_argument("--consume", type=int, default=20_000, help="rows to claim per run")
    parser.add_argument("--batch", type=int, default=32, help="RELAY_BATCH_SIZE")
    parser.add_argument("--claimers", default="1,2,4", help="comma-separated process counts")
    parser.add_argument("--flip", action="store_true", help="one transaction per record")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    mode = "claim + 1 flip txn/record" if args.flip else "claim + 1 finish txn/batch"
    print(
        f"# {args.rows} pending + {args.done_rows} done rows, batch {args.batch}, "
        f"{args.consume} rows consumed per run, {mode}"
    )
    print("| claimers | rows | seconds | rows/s | batches/s | duplicates | claim plan |")
    print("|---|---|---|---|---|---|---|")
    for claimers in (int(n) for n in args.claimers.split(",")):
        r = run_configuration(args, claimers)
        print(
            f"| {r['claimers']} | {r['rows']} | {r['seconds']:.1f} | "
            f"{r['rows'] / r['seconds']:.0f} | {r['batches'] / r['seconds']:.0f} | "
            f"{r['duplicates']} | {r['plan']} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
