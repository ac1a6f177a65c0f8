"""Read CRI-format container logs the way ``kubectl logs`` asks for them.

Options are those of ``GET /containerLogs`` (= ``pods/log``): ``tailLines``,
``sinceSeconds``/``sinceTime``, ``timestamps``, ``limitBytes`` and ``follow`` (keep
streaming until the container exits).
"""

from __future__ import annotations

import asyncio
import datetime
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass
class LogOptions:
    tail_lines: int | None = None
    since: datetime.datetime | None = None
    timestamps: bool = False
    limit_bytes: int | None = None
    follow: bool = False


def _parse_time(text: str) -> datetime.datetime | None:
    text = text.rstrip("Z")
    if "." in text:
        head, frac = text.split(".", 1)
        text = f"{head}.{frac[:6]}"
    try:
        return datetime.datetime.fromisoformat(text).replace(tzinfo=datetime.UTC)
    except ValueError:
        return None


def parse_since_time(text: str) -> datetime.datetime:
    """``sinceTime`` (RFC 3339); raises ValueError with the bad text."""
    moment = _parse_time(text)
    if moment is None:
        raise ValueError(f"sinceTime: invalid RFC 3339 time {text!r}")
    return moment


def _render(record: bytes, options: LogOptions) -> bytes | None:
    """One CRI record -> output bytes (None = filtered out)."""
    parts = record.rstrip(b"\n").split(b" ", 3)
    if len(parts) < 4:
        return record if record.endswith(b"\n") else record + b"\n"
    stamp, _stream, tag, content = parts
    if options.since is not None:
        moment = _parse_time(stamp.decode(errors="replace"))
        if moment is not None and moment < options.since:
            return None
    out = content + (b"\n" if tag == b"F" else b"")
    if options.timestamps:
        out = stamp + b" " + out
    return out


def read_log(path: Path, options: LogOptions) -> tuple[bytes, int]:
    """The rendered log so far and the file offset read up to."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return b"", 0
    end = data.rfind(b"\n") + 1
    records = data[:end].splitlines(keepends=True)
    rendered = [r for r in (_render(rec, options) for rec in records) if r is not None]
    if options.tail_lines is not None:
        rendered = list(deque(rendered, maxlen=max(options.tail_lines, 0)))
    return b"".join(rendered), end


async def stream_log(path: Path, options: LogOptions, finished: Callable[[], bool],
                     poll: float = 0.2) -> AsyncIterator[bytes]:
    """Yield the log, then (with ``follow``) new records until ``finished()`` and the file is drained."""
    budget = options.limit_bytes
    head, offset = read_log(path, options)

    def clip(chunk: bytes) -> bytes:
        nonlocal budget
        if budget is None:
            return chunk
        chunk = chunk[:budget]
        budget -= len(chunk)
        return chunk

    if head:
        yield clip(head)
    if not options.follow:
        return
    pending = b""
    while budget is None or budget > 0:
        done = finished()
        try:
            with path.open("rb") as source:
                source.seek(offset)
                data = source.read()
        except FileNotFoundError:
            data = b""
        if data:
            offset += len(data)
            pending += data
            *records, pending = pending.split(b"\n")
            out = b"".join(r for r in (_render(rec + b"\n", options) for rec in records) if r is not None)
            if out:
                yield clip(out)
            continue
        if done:
            return
        await asyncio.sleep(poll)
