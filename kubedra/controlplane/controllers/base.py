"""What every kubedra controller shares: a de-duplicating work queue of keys with retry backoff,
and a worker thread that calls ``sync(key)`` until stopped.

Level-triggered like client-go controllers: informer events only enqueue keys; ``sync`` reads the
current state and converges it, so a missed or repeated event is harmless. A key is never
processed by two threads at once; a key re-added while it is processed runs again afterwards.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class WorkQueue:
    def __init__(self, base_delay: float = 0.005, max_delay: float = 30.0) -> None:
        self._cond = threading.Condition()
        self._ready: list[str] = []
        self._queued: set[str] = set()
        self._processing: set[str] = set()
        self._dirty: set[str] = set()
        self._delayed: list[tuple[float, int, str]] = []
        self._failures: dict[str, int] = {}
        self._seq = itertools.count()
        self._base = base_delay
        self._max = max_delay
        self._shutdown = False

    def add(self, key: str) -> None:
        with self._cond:
            if key in self._processing:
                self._dirty.add(key)
                return
            if key not in self._queued:
                self._queued.add(key)
                self._ready.append(key)
                self._cond.notify()

    def add_after(self, key: str, delay: float) -> None:
        with self._cond:
            heapq.heappush(self._delayed, (time.monotonic() + delay, next(self._seq), key))
            self._cond.notify()

    def retry(self, key: str) -> None:
        """Re-add with exponential backoff (5 ms doubling, at most 30 s)."""
        n = self._failures.get(key, 0)
        self._failures[key] = n + 1
        self.add_after(key, min(self._max, self._base * (2**n)))

    def forget(self, key: str) -> None:
        self._failures.pop(key, None)

    def get(self, timeout: float = 0.5) -> str | None:
        with self._cond:
            deadline = time.monotonic() + timeout
            while True:
                now = time.monotonic()
                while self._delayed and self._delayed[0][0] <= now:
                    _, _, key = heapq.heappop(self._delayed)
                    if key in self._processing:
                        self._dirty.add(key)
                    elif key not in self._queued:
                        self._queued.add(key)
                        self._ready.append(key)
                if self._ready:
                    key = self._ready.pop(0)
                    self._queued.discard(key)
                    self._processing.add(key)
                    return key
                if self._shutdown or now >= deadline:
                    return None
                wait = deadline - now
                if self._delayed:
                    wait = min(wait, max(0.0, self._delayed[0][0] - now))
                self._cond.wait(timeout=wait)

    def done(self, key: str) -> None:
        with self._cond:
            self._processing.discard(key)
            if key in self._dirty:
                self._dirty.discard(key)
                if key not in self._queued:
                    self._queued.add(key)
                    self._ready.append(key)
                    self._cond.notify()

    def shutdown(self) -> None:
        with self._cond:
            self._shutdown = True
            self._cond.notify_all()

    def idle(self) -> bool:
        with self._cond:
            return not (self._ready or self._processing or self._dirty)


class Controller:
    """Runs ``sync(key)`` for queued keys on ``workers`` threads; errors retry with backoff."""

    name = "controller"

    def __init__(self, workers: int = 1) -> None:
        self.queue = WorkQueue()
        self._workers = workers
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()

    def sync(self, key: str) -> None:
        raise NotImplementedError

    def start(self) -> None:
        for i in range(self._workers):
            t = threading.Thread(target=self._run, name=f"{self.name}-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        self._stop.set()
        self.queue.shutdown()
        for t in self._threads:
            t.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            key = self.queue.get()
            if key is None:
                continue
            try:
                self.sync(key)
                self.queue.forget(key)
            except Exception as exc:
                log.warning("%s: sync %s failed (will retry): %s", self.name, key, exc)
                self.queue.retry(key)
            finally:
                self.queue.done(key)


def split_key(key: str) -> tuple[str, str]:
    ns, _, name = key.rpartition("/")
    return ns, name


Handler = Callable[[str, dict], None]
