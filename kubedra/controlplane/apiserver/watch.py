"""A watch as a buffer between the store (writers, any thread) and one consumer (HTTP stream or thread).

The store calls ``push`` synchronously, under its lock, for every event of the watched resource;
the consumer drains at its own pace. ``progress_rv`` is the newest revision the stream has *seen*
(including events filtered out by selectors), so a bookmark built from it after draining never
claims more than was delivered. A consumer that falls ``max_pending`` events behind is closed
rather than allowed to grow memory without bound; it re-watches from its last revision, like a
client whose watch the kube-apiserver terminated.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from kubedra.controlplane.store import StoredObject

BOOKMARK = "BOOKMARK"
ERROR = "ERROR"


@dataclass(frozen=True, slots=True)
class Item:
    type: str  # ADDED, MODIFIED, DELETED
    object: StoredObject


class WatchStream:
    def __init__(self, start_rv: int, *, max_pending: int = 200_000) -> None:
        self._items: deque[Item] = deque()
        self._cond = threading.Condition(threading.Lock())
        self._wakers: list[Callable[[], None]] = []
        self.progress_rv = start_rv
        self.max_pending = max_pending
        self.closed: str | None = None  # why the server ended it
        self.cancel: Callable[[], None] = lambda: None

    # --- producer side (store lock held) ---------------------------------------------------------

    def push(self, etype: str, obj: StoredObject) -> bool:
        """Queue one event; False tells the store to drop this watcher."""
        with self._cond:
            if self.closed is not None:
                return False
            if len(self._items) >= self.max_pending:
                self.closed = "too many pending events: the watcher is too slow"
                self._wake()
                return False
            self._items.append(Item(etype, obj))
            self.progress_rv = max(self.progress_rv, obj.rv)
            self._wake()
            return True

    def progress(self, rv: int) -> None:
        with self._cond:
            self.progress_rv = max(self.progress_rv, rv)

    def close(self, reason: str = "closed") -> None:
        with self._cond:
            if self.closed is None:
                self.closed = reason
            self._wake()
        self.cancel()

    def _wake(self) -> None:
        self._cond.notify_all()
        for waker in self._wakers:
            waker()

    # --- consumer side -------------------------------------------------------------------------

    def drain(self, limit: int = 1000) -> list[Item]:
        with self._cond:
            n = min(limit, len(self._items))
            return [self._items.popleft() for _ in range(n)]

    def get(self, timeout: float | None) -> list[Item]:
        """Blocking read for thread consumers: whatever is queued, or [] on timeout/close."""
        with self._cond:
            if not self._items and self.closed is None:
                self._cond.wait(timeout)
            n = len(self._items)
            return [self._items.popleft() for _ in range(n)]

    def attach_loop(self, loop: asyncio.AbstractEventLoop) -> asyncio.Event:
        """An asyncio.Event set whenever there is something to read (for the HTTP consumer)."""
        ready = asyncio.Event()
        loop_thread = threading.get_ident()

        def waker() -> None:
            if threading.get_ident() == loop_thread:
                ready.set()
            else:
                loop.call_soon_threadsafe(ready.set)

        with self._cond:
            self._wakers.append(waker)
            if self._items or self.closed is not None:
                ready.set()
        return ready

    def pending(self) -> int:
        with self._cond:
            return len(self._items)
