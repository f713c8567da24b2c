"""The installed version of the package, for ``--version``, the public API and the relays'
heartbeats."""

from __future__ import annotations

from importlib import metadata


def package_version() -> str:
    """The installed distribution's version; ``0+unknown`` in a source tree never installed."""
    try:
        return metadata.version("clean-my-data")
    except metadata.PackageNotFoundError:
        return "0+unknown"
