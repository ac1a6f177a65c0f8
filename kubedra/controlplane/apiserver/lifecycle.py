"""Finishing deletions: the garbage collector (ownerReferences) and namespace termination.

In Kubernetes these are controllers in kube-controller-manager; kubedra runs them next to the API
server because deletion semantics (``kubectl delete ns``, ``--cascade=foreground``, a DaemonSet's
pods going away with it) are part of what a client observes from the API.

One thread consumes store events in order and keeps an index ``owner uid -> dependents``; it never
decodes an object to find owners (the store extracts uid/owners/finalizers at write time):

* an owner is deleted → dependents whose owners are all gone are deleted (background), dependents
  with other live owners lose the dangling reference;
* an owner is deleting with ``foregroundDeletion`` → its dependents are deleted first, then the
  finalizer is removed (and the owner disappears);
* an owner is deleting with ``orphan`` → its dependents lose the reference, then the finalizer goes;
* a namespace is terminating → everything in it is deleted; when nothing is left its ``kubernetes``
  finalizer is removed and the namespace disappears. Contents are left alone for
  ``NAMESPACE_CONTENT_DELAY`` first: a real namespace controller needs seconds (it discovers every
  resource before deleting), and scripts rely on that — ``kubectl delete -f demo.yaml`` deletes the
  Namespace listed first and then each object in it, which must still exist to be deleted.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from kubedra.controlplane.apiserver import errors
from kubedra.controlplane.apiserver.registry import FOREGROUND, NAMESPACE_FINALIZER, ORPHAN, Registry
from kubedra.controlplane.apiserver.resources import RESOURCES, Resource, by_name
from kubedra.controlplane.store import DELETED, Key, StoredObject, Subscription, WatchEvent

log = logging.getLogger(__name__)

_BY_KEY: dict[str, Resource] = {r.key: r for r in RESOURCES}

NAMESPACE_CONTENT_DELAY = 2.0
BATCH_DELAY = 0.02  # seconds the collector waits after the first event of a burst (see _run)


class Lifecycle:
    def __init__(self, registry: Registry, *, resync_seconds: float = 1.0) -> None:
        self.registry = registry
        self.store = registry.store
        self.resync_seconds = resync_seconds
        self._events: queue.SimpleQueue[WatchEvent | None] = queue.SimpleQueue()
        self._subs: list[Subscription] = []
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        # Index: uid -> key of live objects; owner uid -> keys of dependents.
        self._live: dict[str, Key] = {}
        self._dependents: dict[str, set[Key]] = {}
        self._owners_of: dict[Key, tuple[str, ...]] = {}
        self._terminating: dict[str, float] = {}  # namespace -> monotonic time its deletion was seen
        self._pending_owners: set[Key] = set()
        self.idle = threading.Event()

    # --- startup ---------------------------------------------------------------------------------

    def start(self) -> None:
        with self.store.lock:
            rv = self.store.rv
            for resource in RESOURCES:
                items, _ = self.store.list(resource.key)
                for obj in items:
                    self._index(obj)
                self._subs.append(self.store.watch(resource.key, None, rv, self._push))
        # Work left over from before a restart.
        for owner_uid in list(self._dependents):
            if owner_uid not in self._live:
                self._owner_gone(owner_uid)
        self._thread = threading.Thread(target=self._run, name="kubedra-gc", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        for sub in self._subs:
            sub.cancel()
        self._events.put(None)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _push(self, event: WatchEvent) -> bool:
        if self.idle.is_set():  # clearing takes a lock: only when it is set (rarely, under load)
            self.idle.clear()
        self._events.put(event)
        return True

    # --- index -----------------------------------------------------------------------------------

    def _index(self, obj: StoredObject) -> None:
        key = obj.key
        if obj.uid:
            self._live[obj.uid] = key
        old = self._owners_of.get(key, ())
        if old != obj.owners:
            for uid in old:
                self._dependents.get(uid, set()).discard(key)
            for uid in obj.owners:
                self._dependents.setdefault(uid, set()).add(key)
            self._owners_of[key] = obj.owners
        if obj.deleting:
            if key[0] == "namespaces":
                self._terminating.setdefault(key[2], time.monotonic())
            if FOREGROUND in obj.finalizers or ORPHAN in obj.finalizers:
                self._pending_owners.add(key)

    def _unindex(self, obj: StoredObject) -> None:
        key = obj.key
        if self._live.get(obj.uid) == key:
            del self._live[obj.uid]
        for uid in self._owners_of.pop(key, ()):
            deps = self._dependents.get(uid)
            if deps is not None:
                deps.discard(key)
                if not deps:
                    del self._dependents[uid]
        self._pending_owners.discard(key)
        if key[0] == "namespaces":
            self._terminating.pop(key[2], None)

    # --- loop ------------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                event = self._events.get(timeout=self.resync_seconds)
            except queue.Empty:
                self._resync()
                continue
            if event is None:
                break
            # Let a burst of writes queue up and take it in one wake-up: each wake-up takes the
            # interpreter lock from the thread serving requests. Collection may lag by this much.
            self._stop.wait(BATCH_DELAY)
            try:
                self._handle(event)
                while True:  # batch: drain what is queued before the (cheaper) follow-up work
                    try:
                        nxt = self._events.get_nowait()
                    except queue.Empty:
                        break
                    if nxt is None:
                        return
                    self._handle(nxt)
                self._resync()
            except Exception:  # one bad object must not stop garbage collection
                log.exception("garbage collector: unexpected error")
            if self._events.empty():
                self.idle.set()

    def _handle(self, event: WatchEvent) -> None:
        obj = event.object
        if event.type == DELETED:
            self._unindex(obj)
            if obj.uid and obj.uid in self._dependents:
                self._owner_gone(obj.uid)
        else:
            self._index(obj)

    def _resync(self) -> None:
        for key in list(self._pending_owners):
            self._finish_owner(key)
        now = time.monotonic()
        for ns, since in list(self._terminating.items()):
            if now - since >= NAMESPACE_CONTENT_DELAY:
                self._finish_namespace(ns)

    # --- actions ---------------------------------------------------------------------------------

    def _ignore_gone(self, action: Callable[[], Any]) -> None:
        try:
            action()
        except (errors.NotFound, errors.Conflict):
            pass
        except errors.APIError as exc:
            log.warning("garbage collector: %s", exc.message)

    def _owner_gone(self, owner_uid: str) -> None:
        for key in list(self._dependents.get(owner_uid, ())):
            live_owners = [u for u in self._owners_of.get(key, ()) if u in self._live and u != owner_uid]
            resource = _BY_KEY[key[0]]
            if live_owners:
                self._ignore_gone(partial(self._drop_owner_ref, resource, key, owner_uid))
            else:
                self._ignore_gone(partial(self.registry.delete, resource, key[1] or None, key[2],
                                          propagation="Background"))

    def _drop_owner_ref(self, resource: Resource, key: Key, owner_uid: str) -> None:
        def mutate(obj: dict[str, Any]) -> dict[str, Any]:
            refs = [r for r in obj["metadata"].get("ownerReferences") or [] if r.get("uid") != owner_uid]
            if refs:
                obj["metadata"]["ownerReferences"] = refs
            else:
                obj["metadata"].pop("ownerReferences", None)
            return obj

        self.registry.read_modify_write(resource, key[1] or None, key[2], mutate)

    def _remove_finalizer(self, resource: Resource, key: Key, finalizer: str) -> None:
        def mutate(obj: dict[str, Any]) -> dict[str, Any]:
            meta = obj["metadata"]
            meta["finalizers"] = [f for f in meta.get("finalizers") or [] if f != finalizer]
            if not meta["finalizers"]:
                del meta["finalizers"]
            return obj

        self.registry.read_modify_write(resource, key[1] or None, key[2], mutate)

    def _finish_owner(self, key: Key) -> None:
        current = self.store.get(key)
        if current is None or not current.deleting:
            self._pending_owners.discard(key)
            return
        resource = _BY_KEY[key[0]]
        dependents = list(self._dependents.get(current.uid, ()))
        if ORPHAN in current.finalizers:
            for dep in dependents:
                self._ignore_gone(partial(self._drop_owner_ref, _BY_KEY[dep[0]], dep, current.uid))
            self._ignore_gone(lambda: self._remove_finalizer(resource, key, ORPHAN))
        elif FOREGROUND in current.finalizers:
            if dependents:
                for dep in dependents:
                    dep_obj = self.store.get(dep)
                    if dep_obj is not None and not dep_obj.deleting:
                        self._ignore_gone(partial(self.registry.delete, _BY_KEY[dep[0]], dep[1] or None, dep[2],
                                                  propagation="Foreground"))
                return
            self._ignore_gone(lambda: self._remove_finalizer(resource, key, FOREGROUND))
        self._pending_owners.discard(key)

    def _finish_namespace(self, namespace: str) -> None:
        remaining = 0
        for resource in RESOURCES:
            if not resource.namespaced:
                continue
            items, _ = self.store.list(resource.key, namespace)
            for obj in items:
                remaining += 1
                if not obj.deleting:
                    self._ignore_gone(partial(self.registry.delete, resource, namespace, obj.key[2],
                                              propagation="Background"))
        if remaining:
            return
        namespaces = by_name("namespaces")

        def finalize(obj: dict[str, Any]) -> dict[str, Any]:
            spec = obj.setdefault("spec", {})
            spec["finalizers"] = [f for f in spec.get("finalizers") or [] if f != NAMESPACE_FINALIZER]
            return obj

        self._ignore_gone(lambda: self.registry.read_modify_write(namespaces, None, namespace, finalize,
                                                                  subresource="finalize"))
        current = self.store.get(("namespaces", "", namespace))
        if current is not None and not current.finalizers:
            self._ignore_gone(lambda: self.registry.delete(namespaces, None, namespace))
            self._terminating.pop(namespace, None)
