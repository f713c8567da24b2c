"""The SSE hub reads each stream group at most once per interval, whatever its listeners."""

from __future__ import annotations

import asyncio
import itertools

from clean_my_data.web.streams import StreamHub, format_event


def test_many_listeners_share_one_reader_and_see_each_change() -> None:
    counter = itertools.count()

    def read() -> dict[str, int]:
        return {"value": next(counter) // 3}  # changes on every third read

    async def listen(hub: StreamHub, seen: list[int]) -> None:
        async for snapshot in hub.subscribe("g", read):
            assert snapshot is not None
            seen.append(snapshot["value"])
            if snapshot["value"] >= 2:
                return

    async def scenario() -> tuple[int, list[list[int]]]:
        hub = StreamHub(interval=0.1, keepalive=5)
        seen: list[list[int]] = [[] for _ in range(20)]
        await asyncio.gather(*(listen(hub, s) for s in seen))
        return hub.reads("g"), seen

    reads, seen = asyncio.run(scenario())
    assert all(values == [0, 1, 2] for values in seen), seen
    assert 7 <= reads <= 9  # one reader for 20 listeners: ~7 reads, not 20 x 7


def test_an_idle_stream_gets_keepalives() -> None:
    async def scenario() -> list[str]:
        hub = StreamHub(interval=0.05, keepalive=0.2)
        lines: list[str] = []
        async for snapshot in hub.subscribe("idle", lambda: {"same": True}):
            lines.append(format_event("stats", snapshot))
            if len(lines) == 3:
                break
        return lines

    lines = asyncio.run(scenario())
    assert lines[0].startswith("event: stats\ndata: {")
    assert lines[1:] == [": keepalive\n\n", ": keepalive\n\n"]
