"""The versioned object store behind the API server: one revision counter, a watch history, watchers.

This is kubedra's etcd + watch cache in one piece. Every write takes the next integer revision (the
object's ``metadata.resourceVersion``), is handed to the persistence backend (``None`` = memory
only, or :class:`~kubedra.controlplane.store.sqlite.SQLiteBackend`) *before* it becomes visible,
and is appended to a bounded history that watches replay from. Objects are kept as encoded JSON
bytes so that lists and watch fan-out copy bytes instead of re-encoding dicts (10,000 ResourceSlices
of 128 devices are ~0.9 GB of JSON; as Python dicts they would be several times that).

The store knows nothing about Kubernetes semantics (uids, finalizers, generation): that is the
registry's job. It is thread-safe: the API server's event loop and in-process components running in
threads share one instance; watchers are callbacks invoked under the store lock and must not block.
"""

from __future__ import annotations

import bisect
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import msgspec

# (resource, namespace, name); resource is "plural" for core and "plural.group" otherwise,
# namespace is "" for cluster-scoped objects.
Key = tuple[str, str, str]

ADDED = "ADDED"
MODIFIED = "MODIFIED"
DELETED = "DELETED"

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


class StoreError(Exception):
    """Base class; the registry turns these into Kubernetes Status errors."""


class KeyExists(StoreError):
    pass


class KeyNotFound(StoreError):
    pass


class RevisionConflict(StoreError):
    """The caller's precondition (expected resourceVersion) does not hold any more."""

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(f"expected resourceVersion {expected}, current is {actual}")
        self.expected = expected
        self.actual = actual


class RevisionTooOld(StoreError):
    """The requested revision was compacted out of the watch history (HTTP 410 Gone)."""

    def __init__(self, requested: int, oldest: int) -> None:
        super().__init__(f"too old resource version: {requested} ({oldest})")
        self.requested = requested
        self.oldest = oldest


@dataclass(frozen=True, slots=True)
class StoredObject:
    """One revision of one object: encoded JSON plus what selectors need without decoding it."""

    key: Key
    rv: int
    data: bytes
    labels: Mapping[str, str]
    fields: Mapping[str, str]
    # Metadata the garbage collector and namespace lifecycle need on every event, without decoding.
    uid: str = ""
    owners: tuple[str, ...] = ()
    finalizers: tuple[str, ...] = ()
    deleting: bool = False

    def decode(self) -> dict[str, Any]:
        """A fresh, caller-owned dict (decoding is the copy)."""
        obj: dict[str, Any] = _decode(self.data)
        return obj


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """``object`` is the new state (the last state for DELETED); ``previous`` lets selector-filtered
    watches turn "stopped matching" into DELETED and "started matching" into ADDED."""

    type: str
    object: StoredObject
    previous: StoredObject | None = None

    @property
    def rv(self) -> int:
        return self.object.rv


class Backend(Protocol):
    """Durable storage. ``write`` must not return before the change survives a crash (SIGKILL)."""

    def load(self) -> tuple[int, list[tuple[Key, bytes]], list[tuple[int, str, Key, bytes]]]:
        """(last revision, current objects, recent events oldest first)."""
        ...

    def write(self, rv: int, event_type: str, key: Key, data: bytes) -> None: ...

    def compact(self, keep_from_rv: int) -> None: ...

    def close(self) -> None: ...


ObjectList = list[StoredObject]

# Computes the selectable fields of an object (``spec.nodeName`` ...) once, at write time.
FieldIndexer = Callable[[str, dict[str, Any]], Mapping[str, str]]


def _no_fields(resource: str, obj: dict[str, Any]) -> Mapping[str, str]:
    return {}


@dataclass(eq=False)
class Subscription:
    """A live watch. ``sink`` returns False to be dropped (e.g. its queue overflowed)."""

    store: Store
    resource: str
    namespace: str | None
    sink: Callable[[WatchEvent], bool]
    active: bool = field(default=True)

    def cancel(self) -> None:
        self.store._unsubscribe(self)


class Store:
    def __init__(
        self,
        backend: Backend | None = None,
        *,
        indexer: FieldIndexer = _no_fields,
        history_size: int = 10_000,
        compact_every: int = 1_000,
    ) -> None:
        self._lock = threading.RLock()
        self._backend = backend
        self._indexer = indexer
        self._objects: dict[str, dict[tuple[str, str], StoredObject]] = {}
        self._history: deque[WatchEvent] = deque()
        self._history_rvs: deque[int] = deque()
        self._history_size = history_size
        self._compact_every = compact_every
        self._writes_since_compact = 0
        # Revisions at or below this may have been compacted away: watching from older ones is 410.
        self._compacted_rv = 0
        self._subs: dict[str, list[Subscription]] = {}
        # Keys of each resource in (namespace, name) order, rebuilt after a create or delete: lists are
        # far more frequent than those, and sorting 10,000 keys per list request was a third of its cost.
        self._sorted: dict[str, list[tuple[str, str]]] = {}
        self.rv = 0
        if backend is not None:
            self._load(backend)

    # --- loading ------------------------------------------------------------------------------

    def _stored(self, key: Key, rv: int, obj: dict[str, Any], data: bytes) -> StoredObject:
        meta = obj.get("metadata") or {}
        return StoredObject(
            key,
            rv,
            data,
            meta.get("labels") or {},
            self._indexer(key[0], obj),
            uid=meta.get("uid") or "",
            owners=tuple(str(r.get("uid")) for r in meta.get("ownerReferences") or () if isinstance(r, dict)),
            finalizers=tuple(meta.get("finalizers") or ()),
            deleting=bool(meta.get("deletionTimestamp")),
        )

    def _load(self, backend: Backend) -> None:
        last_rv, objects, events = backend.load()
        for key, data in objects:
            obj = _decode(data)
            rv = int(obj.get("metadata", {}).get("resourceVersion") or 0)
            self._objects.setdefault(key[0], {})[(key[1], key[2])] = self._stored(key, rv, obj, data)
        previous: dict[Key, StoredObject] = {}
        for rv, etype, key, data in events:
            stored = self._stored(key, rv, _decode(data), data)
            self._append_history(WatchEvent(etype, stored, previous.get(key)))
            previous[key] = stored
        self.rv = last_rv
        # Without the events before the oldest kept one, resuming from earlier is impossible.
        self._compacted_rv = (events[0][0] - 1) if events else last_rv

    @property
    def lock(self) -> Any:
        """Held across a read-modify-write to make it atomic (re-entrant)."""
        return self._lock

    # --- reads --------------------------------------------------------------------------------

    def get(self, key: Key) -> StoredObject | None:
        with self._lock:
            return self._objects.get(key[0], {}).get((key[1], key[2]))

    def list(self, resource: str, namespace: str | None = None) -> tuple[ObjectList, int]:
        """Objects sorted by (namespace, name), and the revision the list is consistent with."""
        with self._lock:
            bucket = self._objects.get(resource, {})
            keys = self._sorted.get(resource)
            if keys is None:
                keys = self._sorted[resource] = sorted(bucket)
            if namespace is None:
                items = [bucket[k] for k in keys]
            else:
                start = bisect.bisect_left(keys, (namespace, ""))
                end = bisect.bisect_left(keys, (namespace + "\0", ""))
                items = [bucket[k] for k in keys[start:end]]
            return items, self.rv

    def list_at(self, resource: str, namespace: str | None, rv: int) -> ObjectList:
        """The objects as they were at revision ``rv`` (what later pages of a paged list show).

        Rebuilt from the current state by undoing, newest first, the retained events after
        ``rv``. Raises :class:`RevisionTooOld` when the history does not reach back that far.
        """
        with self._lock:
            if rv >= self.rv:
                return self.list(resource, namespace)[0]
            if rv < self._compacted_rv:
                raise RevisionTooOld(rv, self._compacted_rv + 1)
            state = {k: o for k, o in self._objects.get(resource, {}).items()
                     if namespace is None or k[0] == namespace}
            start = bisect.bisect_right(self._history_rvs, rv)
            for i in range(len(self._history) - 1, start - 1, -1):
                event = self._history[i]
                key = event.object.key
                if key[0] != resource or (namespace is not None and key[1] != namespace):
                    continue
                if event.type == ADDED:
                    state.pop((key[1], key[2]), None)
                elif event.previous is None:
                    # Loaded from disk without the state before this event: cannot be undone.
                    raise RevisionTooOld(rv, event.rv)
                else:
                    state[(key[1], key[2])] = event.previous
            return [state[k] for k in sorted(state)]

    def count(self, resource: str) -> int:
        with self._lock:
            return len(self._objects.get(resource, {}))

    def resources(self) -> set[str]:
        with self._lock:
            return {r for r, bucket in self._objects.items() if bucket}

    # --- writes -------------------------------------------------------------------------------

    def create(self, key: Key, obj: dict[str, Any]) -> StoredObject:
        """Store a new object; sets ``metadata.resourceVersion`` in ``obj``."""
        with self._lock:
            if self.get(key) is not None:
                raise KeyExists(key)
            return self._commit(ADDED, key, obj, None)

    def update(self, key: Key, obj: dict[str, Any], expected_rv: int | None = None) -> StoredObject:
        with self._lock:
            current = self.get(key)
            if current is None:
                raise KeyNotFound(key)
            if expected_rv is not None and expected_rv != current.rv:
                raise RevisionConflict(expected_rv, current.rv)
            return self._commit(MODIFIED, key, obj, current)

    def delete(self, key: Key, expected_rv: int | None = None) -> StoredObject:
        """Remove the object; the DELETED event carries its last state at a new revision."""
        with self._lock:
            current = self.get(key)
            if current is None:
                raise KeyNotFound(key)
            if expected_rv is not None and expected_rv != current.rv:
                raise RevisionConflict(expected_rv, current.rv)
            return self._commit(DELETED, key, current.decode(), current)

    def _commit(self, etype: str, key: Key, obj: dict[str, Any], previous: StoredObject | None) -> StoredObject:
        rv = self.rv + 1
        obj.setdefault("metadata", {})["resourceVersion"] = str(rv)
        data = _encode(obj)
        if self._backend is not None:
            self._backend.write(rv, etype, key, data)  # durable before anyone can see it
        self.rv = rv
        stored = self._stored(key, rv, obj, data)
        bucket = self._objects.setdefault(key[0], {})
        if etype == DELETED:
            bucket.pop((key[1], key[2]), None)
            self._sorted.pop(key[0], None)
        else:
            if etype == ADDED:
                self._sorted.pop(key[0], None)
            bucket[(key[1], key[2])] = stored
        event = WatchEvent(etype, stored, previous)
        self._append_history(event)
        self._notify(event)
        self._writes_since_compact += 1
        if self._backend is not None and self._writes_since_compact >= self._compact_every:
            self._writes_since_compact = 0
            self._backend.compact(self._compacted_rv + 1)
        return stored

    def _append_history(self, event: WatchEvent) -> None:
        self._history.append(event)
        self._history_rvs.append(event.rv)
        while len(self._history) > self._history_size:
            dropped = self._history.popleft()
            self._history_rvs.popleft()
            self._compacted_rv = dropped.rv

    # --- watch --------------------------------------------------------------------------------

    @property
    def oldest_watchable_rv(self) -> int:
        """Watching "from rv" works for any rv >= this."""
        return self._compacted_rv

    def watch(
        self,
        resource: str,
        namespace: str | None,
        since_rv: int | None,
        sink: Callable[[WatchEvent], bool],
    ) -> Subscription:
        """Deliver events after ``since_rv`` to ``sink``, then every new one, with no gap.

        ``since_rv=None`` means "from now" (no replay). Raises :class:`RevisionTooOld` if the
        history no longer reaches back to ``since_rv``. Replay and subscription happen under the
        store lock, so no write can slip between them.
        """
        with self._lock:
            sub = Subscription(self, resource, namespace, sink)
            if since_rv is not None and since_rv < self.rv:
                if since_rv < self._compacted_rv:
                    raise RevisionTooOld(since_rv, self._compacted_rv + 1)
                start = bisect.bisect_right(self._history_rvs, since_rv)
                for i in range(start, len(self._history)):
                    event = self._history[i]
                    if self._matches(sub, event) and not sink(event):
                        sub.active = False
                        return sub
            self._subs.setdefault(resource, []).append(sub)
            return sub

    @staticmethod
    def _matches(sub: Subscription, event: WatchEvent) -> bool:
        key = event.object.key
        return key[0] == sub.resource and (sub.namespace is None or key[1] == sub.namespace)

    def _notify(self, event: WatchEvent) -> None:
        subs = self._subs.get(event.object.key[0])
        if not subs:
            return
        dropped = []
        for sub in subs:
            if (sub.namespace is None or sub.namespace == event.object.key[1]) and not sub.sink(event):
                dropped.append(sub)
        for sub in dropped:
            sub.active = False
            subs.remove(sub)

    def _unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            sub.active = False
            subs = self._subs.get(sub.resource, [])
            if sub in subs:
                subs.remove(sub)

    def watcher_count(self) -> int:
        with self._lock:
            return sum(len(s) for s in self._subs.values())

    def close(self) -> None:
        with self._lock:
            if self._backend is not None:
                self._backend.close()
                self._backend = None


def history_events(store: Store) -> Iterable[WatchEvent]:
    """The retained history (tests and diagnostics)."""
    with store._lock:
        return list(store._history)
