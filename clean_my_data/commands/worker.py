"""``clean-my-data worker [--once]``: run analysis jobs (as many workers as you like, anywhere).

SIGTERM/SIGINT: the job being analysed is finished and committed, then the worker exits 0.
``--once``: run the jobs due now, one after the other, then exit.
"""

from __future__ import annotations

import argparse

import structlog

from clean_my_data.worker.runner import JobWorker
from outbox.db import open_database
from outbox.settings import Settings
from outbox.stopping import stop_on_signals
from relay.stores import open_store

log = structlog.get_logger()


def run_worker(args: argparse.Namespace, settings: Settings) -> int:
    engine = open_database(settings)
    try:
        worker = JobWorker(engine, open_store(settings), settings)
        if args.once:
            while worker.run_one() is not None:
                pass
            worker.sweep()
            return 0
        stop_on_signals(worker.stop, "worker_stop_requested")
        worker.run_forever()
        return 0
    finally:
        engine.dispose()


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("worker", help="run queued analysis jobs")
    parser.add_argument(
        "--once", action="store_true", help="run the jobs due now, then exit (default: forever)"
    )
    parser.set_defaults(handler=run_worker)
