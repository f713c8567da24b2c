"""Server-Sent Events: one database reader per stream group, however many clients listen.

A group (one analysis, or the auditors' stats) has one poller task while it has listeners: it
reads a snapshot at most once per ``interval`` seconds and, when the snapshot changed, wakes
every listener of the group. Listeners wait on a condition (no busy loop); a listener idle for
``keepalive`` seconds gets a comment line so proxies keep the connection open.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Final

from starlette.concurrency import run_in_threadpool

KEEPALIVE_SECONDS: Final = 15.0

Snapshot = dict[str, Any]


@dataclass
class _Group:
    read: Callable[[], Snapshot]
    condition: asyncio.Condition = field(default_factory=asyncio.Condition)
    snapshot: Snapshot | None = None
    version: int = 0
    listeners: int = 0
    reads: int = 0
    task: asyncio.Task[None] | None = None


class StreamHub:
    def __init__(self, interval: float = 1.0, keepalive: float = KEEPALIVE_SECONDS) -> None:
        self._interval = interval
        self._keepalive = keepalive
        self._groups: dict[str, _Group] = {}

    def reads(self, name: str) -> int:
        group = self._groups.get(name)
        return 0 if group is None else group.reads

    async def _poll(self, name: str, group: _Group) -> None:
        try:
            while group.listeners > 0:
                snapshot = await run_in_threadpool(group.read)
                group.reads += 1
                if snapshot != group.snapshot:
                    async with group.condition:
                        group.snapshot = snapshot
                        group.version += 1
                        group.condition.notify_all()
                await asyncio.sleep(self._interval)
        finally:
            if self._groups.get(name) is group and group.listeners == 0:
                del self._groups[name]

    async def subscribe(
        self, name: str, read: Callable[[], Snapshot]
    ) -> AsyncIterator[Snapshot | None]:
        """Snapshots of group ``name`` as they change (None: a keepalive is due)."""
        group = self._groups.get(name)
        if group is None:
            group = self._groups[name] = _Group(read)
        group.listeners += 1
        if group.task is None or group.task.done():
            group.task = asyncio.get_running_loop().create_task(self._poll(name, group))
        seen = 0
        try:
            while True:
                async with group.condition:
                    changed = functools.partial(_newer, group, seen)
                    try:
                        await asyncio.wait_for(group.condition.wait_for(changed), self._keepalive)
                    except TimeoutError:
                        yield None
                        continue
                    seen = group.version
                    snapshot = group.snapshot
                yield snapshot
        finally:
            group.listeners -= 1


def _newer(group: _Group, seen: int) -> bool:
    return group.version > seen


def format_event(event: str, data: Snapshot | None) -> str:
    if data is None:
        return ": keepalive\n\n"
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"
