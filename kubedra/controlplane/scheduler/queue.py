"""The scheduling queue: which pending pod is tried next, and when a failed one is tried again.

Three places a pod can be, as in kube-scheduler:
- *active*: ready to be tried, ordered by priority (higher first), then by the time it was queued;
- *backoff*: failed recently; eligible again after an exponential backoff (1 s doubling to 10 s);
- *unschedulable*: failed and waits for a cluster change (a slice, claim, class or node event
  moves every such pod to backoff/active, see ``move_all``), with a periodic flush as safety net.

Pure data structure with an injectable clock; the scheduler loop owns the threading.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

INITIAL_BACKOFF = 1.0
MAX_BACKOFF = 10.0
# kube-scheduler flushes pods that sat unschedulable this long back to active (podMaxInUnschedulablePodsDuration).
UNSCHEDULABLE_FLUSH = 300.0


@dataclass
class QueuedPod:
    """Bookkeeping for one pod key (``namespace/name``)."""

    key: str
    priority: int
    queued_at: float
    attempts: int = 0
    backoff_until: float = 0.0
    # The cluster-event generation seen when the pod last failed: events after it make a retry useful.
    failed_at_event: int = -1
    unschedulable_since: float = 0.0
    # A targeted event for this pod arrived while it was being tried (see ``move``).
    moved_while_in_flight: bool = False


@dataclass(order=True)
class _Entry:
    sort_key: tuple[int, float, int]
    key: str = field(compare=False)


class SchedulingQueue:
    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        initial_backoff: float = INITIAL_BACKOFF,
        max_backoff: float = MAX_BACKOFF,
    ) -> None:
        self._clock = clock
        self._initial_backoff = initial_backoff
        self._max_backoff = max_backoff
        self._pods: dict[str, QueuedPod] = {}
        self._active: list[_Entry] = []
        self._in_active: set[str] = set()
        self._backoff: list[tuple[float, int, str]] = []
        self._unschedulable: set[str] = set()
        # PreEnqueue-gated pods: only an event naming them (move, pod_changed) releases them.
        self._gated: set[str] = set()
        self._in_flight: set[str] = set()
        self._seq = itertools.count()
        self._event_generation = 0
        self._last_flush = -UNSCHEDULABLE_FLUSH

    # --- adding and removing -------------------------------------------------------------------

    def add(self, key: str, priority: int) -> None:
        """A new or updated pending pod: (re)queue it as active unless it is being scheduled now."""
        entry = self._pods.get(key)
        if entry is None:
            entry = QueuedPod(key=key, priority=priority, queued_at=self._clock())
            self._pods[key] = entry
        elif entry.priority != priority:
            entry.priority = priority
        if key in self._in_flight or key in self._in_active:
            return
        if key in self._unschedulable or key in self._gated or entry.backoff_until > self._clock():
            return
        self._push_active(entry)

    def delete(self, key: str) -> None:
        """The pod is gone or bound: forget it (stale heap entries are skipped on pop)."""
        self._pods.pop(key, None)
        self._in_active.discard(key)
        self._unschedulable.discard(key)
        self._gated.discard(key)

    def __contains__(self, key: str) -> bool:
        return key in self._pods

    def __len__(self) -> int:
        return len(self._pods)

    # --- scheduling cycle ----------------------------------------------------------------------

    def pop(self) -> str | None:
        """The next pod to try, or None when nothing is ready now."""
        self._flush(self._clock())
        while self._active:
            entry = heapq.heappop(self._active)
            if entry.key not in self._in_active:
                continue
            self._in_active.discard(entry.key)
            if entry.key not in self._pods:
                continue
            self._in_flight.add(entry.key)
            queued = self._pods[entry.key]
            queued.attempts += 1
            queued.moved_while_in_flight = False
            return entry.key
        return None

    def done(self, key: str) -> None:
        """The attempt succeeded (pod bound) or the pod vanished."""
        self._in_flight.discard(key)
        self.delete(key)

    def gate(self, key: str, priority: int) -> None:
        """PreEnqueue: the pod cannot be tried yet (its claims are being created). It waits, without
        an attempt and without backoff, until ``move`` or ``pod_changed`` names it (``move_all`` does
        not: a freed device cannot help a pod whose claim does not exist yet)."""
        entry = self._pods.get(key)
        if entry is None:
            entry = QueuedPod(key=key, priority=priority, queued_at=self._clock())
            self._pods[key] = entry
        entry.priority = priority
        if key in self._in_flight:
            return
        self._in_active.discard(key)
        self._unschedulable.discard(key)
        self._gated.add(key)

    def failed(self, key: str, *, unschedulable: bool, event_generation: int, gated: bool = False) -> None:
        """The attempt failed; ``event_generation`` is ``current_event_generation()`` at its start.

        An unschedulable pod waits for a cluster event, unless one arrived during the attempt
        (then it only backs off). An error (conflict, server error) always just backs off.
        """
        self._in_flight.discard(key)
        entry = self._pods.get(key)
        if entry is None:
            return
        now = self._clock()
        if gated and not entry.moved_while_in_flight:
            # Not a real attempt (a PreEnqueue condition raced with the cache): no backoff.
            entry.attempts = max(0, entry.attempts - 1)
            entry.backoff_until = now
            self._gated.add(key)
            return
        if gated:
            delay = 0.0
        else:
            delay = min(self._max_backoff, self._initial_backoff * (2 ** max(0, entry.attempts - 1)))
        entry.backoff_until = now + delay
        if unschedulable and event_generation == self._event_generation and not entry.moved_while_in_flight:
            entry.failed_at_event = event_generation
            entry.unschedulable_since = now
            self._unschedulable.add(key)
            return
        heapq.heappush(self._backoff, (entry.backoff_until, next(self._seq), key))

    def requeue_now(self, key: str) -> None:
        """Retry without backoff (e.g. the attempt was cut short by a stale cache)."""
        self._in_flight.discard(key)
        entry = self._pods.get(key)
        if entry is not None:
            entry.backoff_until = 0.0
            self._unschedulable.discard(key)
            self._push_active(entry)

    # --- cluster events ------------------------------------------------------------------------

    def current_event_generation(self) -> int:
        return self._event_generation

    def move_all(self) -> None:
        """A cluster change that may make unschedulable pods fit: give them another try (after backoff)."""
        self._event_generation += 1
        for key in list(self._unschedulable):
            entry = self._pods.get(key)
            self._unschedulable.discard(key)
            if entry is None:
                continue
            heapq.heappush(self._backoff, (entry.backoff_until, next(self._seq), key))

    def move(self, keys: set[str] | list[str]) -> None:
        """A cluster change that can only help these pods (queueing hint): retry just them."""
        for key in keys:
            entry = self._pods.get(key)
            if entry is None:
                continue
            if key in self._in_flight:
                entry.moved_while_in_flight = True
            elif key in self._unschedulable or key in self._gated:
                self._unschedulable.discard(key)
                self._gated.discard(key)
                heapq.heappush(self._backoff, (entry.backoff_until, next(self._seq), key))

    def pod_changed(self, key: str) -> None:
        """The pod itself changed in a way that may help (claims created, spec edited): retry it."""
        entry = self._pods.get(key)
        if entry is None or (key not in self._unschedulable and key not in self._gated):
            return
        self._unschedulable.discard(key)
        self._gated.discard(key)
        heapq.heappush(self._backoff, (entry.backoff_until, next(self._seq), key))

    def ready_at(self) -> float | None:
        """When the next pod can be popped (clock time; -inf when one is ready now), None if never."""
        if self._in_active:
            return float("-inf")
        return self._backoff[0][0] if self._backoff else None

    def next_ready_in(self) -> float | None:
        """Seconds until a backoff pod becomes ready (None when none waits); 0 when active is non-empty."""
        if self._in_active:
            return 0.0
        if not self._backoff:
            return None
        return max(0.0, self._backoff[0][0] - self._clock())

    def unschedulable_keys(self) -> set[str]:
        return set(self._unschedulable)

    # --- internals -----------------------------------------------------------------------------

    def _push_active(self, entry: QueuedPod) -> None:
        heapq.heappush(self._active, _Entry((-entry.priority, entry.queued_at, next(self._seq)), entry.key))
        self._in_active.add(entry.key)

    def _flush(self, now: float) -> None:
        while self._backoff and self._backoff[0][0] <= now:
            _, _, key = heapq.heappop(self._backoff)
            entry = self._pods.get(key)
            if entry is None or key in self._in_active or key in self._in_flight or key in self._unschedulable \
                    or key in self._gated:
                continue
            if entry.backoff_until > now:
                continue  # a later failure re-queued it with a longer backoff
            self._push_active(entry)
        # The safety-net flush walks every unschedulable pod: at most once per second, not per pop.
        if now - self._last_flush < 1.0:
            return
        self._last_flush = now
        for key in list(self._unschedulable):
            entry = self._pods.get(key)
            if entry is not None and now - entry.unschedulable_since >= UNSCHEDULABLE_FLUSH:
                self._unschedulable.discard(key)
                self._push_active(entry)
