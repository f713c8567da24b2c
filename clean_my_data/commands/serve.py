"""``clean-my-data serve [--host H] [--port P] [--worker | --no-worker]``: the HTTP API.

With no API token configured the server listens on a loopback address only (it refuses any
other) and every caller is the local administrator. On the embedded default (SQLite) the same
process also runs one analysis worker and one relay in threads, so this one command is a
working service; ``--worker``/``--no-worker`` overrides that. SIGTERM/SIGINT: requests in flight
are answered, the embedded worker finishes and commits the job it is running, the relay stops,
then the process exits 0.

With ``API_ADMIN_TOKEN`` set, the admin token named ``admin`` is ensured at start to have that
secret (stored hashed; created, kept, or its old secret replaced), so a container gets its first
token from its environment, and the server may listen on any address.
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Callable
from typing import Final

import sqlalchemy as sa
import structlog

from clean_my_data.worker.runner import JobWorker
from domain.errors import UserFacingError
from outbox.access import count_tokens, ensure_token
from outbox.db import open_database
from outbox.settings import Settings
from outbox.stopping import stop_on_signals
from outbox.tables import ROLE_ADMIN
from relay.daemon import run_daemon
from relay.stores import open_store

log = structlog.get_logger()

ADMIN_TOKEN_NAME: Final = "admin"  # noqa: S105 (a name; API_ADMIN_TOKEN is its secret)


class ServeError(UserFacingError):
    """The server cannot start as asked."""


def _thread(name: str, target: Callable[[], object]) -> threading.Thread:
    def _run() -> None:
        try:
            target()
        except Exception as exc:  # noqa: BLE001 (logged; the API keeps serving)
            log.error("background_thread_failed", thread=name, error=f"{type(exc).__name__}: {exc}")

    thread = threading.Thread(target=_run, name=name, daemon=True)
    thread.start()
    return thread


def bootstrap_admin_token(engine: sa.Engine, settings: Settings) -> str | None:
    """Ensure the ``admin`` token has the secret ``API_ADMIN_TOKEN`` (when set); returns what was
    done ("created", "present", "replaced") or None. The secret is never logged."""
    if settings.api_admin_token is None:
        return None
    outcome = ensure_token(
        engine, name=ADMIN_TOKEN_NAME, role=ROLE_ADMIN, token=settings.api_admin_token
    )
    log.info("admin_token_ensured", token_name=ADMIN_TOKEN_NAME, outcome=outcome)
    return outcome


def run_serve(args: argparse.Namespace, settings: Settings) -> int:
    # the web stack (FastAPI, Starlette, pydantic, uvicorn: ~0.3 s of imports) is loaded by
    # this command only, not by every command line that builds the parser
    import uvicorn

    from clean_my_data.web.app import create_app
    from clean_my_data.web.crosssite import is_loopback

    engine = open_database(settings)
    try:
        store = open_store(settings)
        bootstrap_admin_token(engine, settings)
        open_access = count_tokens(engine) == 0
        if open_access and not is_loopback(args.host):
            raise ServeError(
                f"refusing to listen on {args.host} with no API token configured: create one "
                "with `clean-my-data token create --role admin --name NAME` or set "
                "API_ADMIN_TOKEN, or listen on 127.0.0.1"
            )
        embedded = args.worker if args.worker is not None else engine.dialect.name == "sqlite"
        stop = threading.Event()
        # uvicorn takes SIGTERM/SIGINT while it serves, shuts down, puts this handler back and
        # raises the signal again: it then stops the worker and relay threads, which finish
        # their work below, instead of killing the process before they do
        stop_on_signals(stop, "serve_stop_requested")
        threads: list[threading.Thread] = []
        if embedded:
            worker = JobWorker(engine, store, settings, stop)
            threads.append(_thread("analysis-worker", worker.run_forever))
            threads.append(_thread("relay", lambda: run_daemon(settings, stop)))
        app = create_app(settings, engine, store, open_access=open_access)
        access = (
            "no API token configured: loopback only, no authentication"
            if open_access
            else "API tokens required"
        )
        extra = "; one worker and one relay run in this process" if embedded else ""
        print(
            f"clean-my-data: serving http://{args.host}:{args.port} ({access}{extra})",
            file=sys.stderr,
        )
        config = uvicorn.Config(
            app,
            host=args.host,
            port=args.port,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=30,
            server_header=False,
        )
        try:
            uvicorn.Server(config).run()
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=120)
        return 0
    finally:
        engine.dispose()


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("serve", help="run the HTTP API (docs at /docs)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (8000)")
    parser.add_argument(
        "--worker",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also run one analysis worker and one relay in this process "
        "(default: on with SQLite, off otherwise)",
    )
    parser.set_defaults(handler=run_serve)
