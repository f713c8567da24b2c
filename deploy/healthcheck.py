"""Container health check for the clean-my-data image (Dockerfile HEALTHCHECK).

Healthy means:
  * the staging directory (STAGING_DIR) exists and a probe file can be created, fsynced and
    removed in it: the shared volume is mounted, writable and not full;
  * when METRICS_PORT is set (the relay), ``http://127.0.0.1:METRICS_PORT/metrics`` answers 200.

``--url URL`` (the API: ``--url http://127.0.0.1:8000/readyz``) checks instead that URL
answers 200; the API's ``/readyz`` answers 503 while the database or the object store cannot be
reached. The API writes nothing to the staging directory, so it is not probed then.

Settings come from the application's own settings object, so this script reads the same
variables, with the same validation, as the process it checks. Exit 0 healthy, 1 unhealthy,
with one line on stderr saying why.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from outbox.settings import Settings, SettingsError

PROBE_PREFIX = ".healthcheck-"
HTTP_TIMEOUT_SECONDS = 3.0


def check_staging_writable(staging_dir: Path) -> str | None:
    """None when a probe file can be written to ``staging_dir``; otherwise the reason."""
    if not staging_dir.is_dir():
        return f"staging directory {staging_dir} does not exist"
    try:
        fd, probe = tempfile.mkstemp(prefix=PROBE_PREFIX, dir=staging_dir)
        try:
            os.write(fd, b"ok")
            os.fsync(fd)
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError as exc:
        return f"staging directory {staging_dir} is not writable: {exc.strerror or exc}"
    return None


def check_metrics(port: int) -> str | None:
    """None when the relay's Prometheus endpoint answers 200; otherwise the reason."""
    return check_http(f"http://127.0.0.1:{port}/metrics")


def check_http(url: str) -> str | None:
    """None when ``url`` (http or https) answers 200; otherwise the reason."""
    if not url.startswith(("http://", "https://")):
        return f"{url} is not an http(s) URL"
    try:
        # The scheme is checked above: no file:// or other opener is reached.
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_SECONDS) as response:  # noqa: S310
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        return f"{url} answered {exc.code}"
    except OSError as exc:
        return f"{url} unreachable: {exc}"
    return None if status == 200 else f"{url} answered {status}"


def run_checks(settings: Settings) -> list[str]:
    problems = [check_staging_writable(settings.staging_dir)]
    if settings.metrics_port is not None:
        problems.append(check_metrics(settings.metrics_port))
    return [problem for problem in problems if problem is not None]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", help="check only that this URL answers 200 (the API's /readyz)")
    args = parser.parse_args(argv)
    if args.url is not None:
        problem = check_http(args.url)
        problems = [] if problem is None else [problem]
    else:
        try:
            settings = Settings.from_env()
        except SettingsError as exc:
            print(f"unhealthy: configuration error: {exc}", file=sys.stderr)
            return 1
        problems = run_checks(settings)
    for problem in problems:
        print(f"unhealthy: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
