"""List and watch semantics: paging with ``limit``/``continue`` over one snapshot, watches that replay
the current state, and selector-aware event translation.

Separate from the Registry's writes because reads never take part in admission or optimistic
concurrency; they only need the store and a selector predicate.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from kubedra.controlplane.apiserver import errors
from kubedra.controlplane.apiserver.resources import Resource
from kubedra.controlplane.apiserver.selectors import Predicate
from kubedra.controlplane.apiserver.watch import WatchStream
from kubedra.controlplane.store import (
    ADDED,
    DELETED,
    MODIFIED,
    RevisionTooOld,
    Store,
    StoredObject,
    WatchEvent,
)


@dataclass
class ListResult:
    items: list[StoredObject]
    rv: int
    continue_token: str | None = None
    remaining: int | None = None


def parse_resource_version(value: Any, what: str = "resourceVersion") -> int | None:
    """A resourceVersion from a request: unset is None, anything but a non-negative integer is 400."""
    if value in (None, ""):
        return None
    try:
        rv = int(value)
    except (TypeError, ValueError):
        raise errors.BadRequest(f"{what}: Invalid value: {value!r}: must be an integer") from None
    if rv < 0:
        raise errors.BadRequest(f"{what}: Invalid value: {value!r}: must not be negative")
    return rv


def _encode_continue(rv: int, last: StoredObject) -> str:
    token = {"rv": rv, "ns": last.key[1], "name": last.key[2]}
    return base64.urlsafe_b64encode(json.dumps(token).encode()).decode()


def _decode_continue(token: str) -> tuple[tuple[str, str], int]:
    """(namespace, name) the previous page ended at, and the revision of the first page."""
    try:
        state = json.loads(base64.urlsafe_b64decode(token.encode()))
        return (str(state["ns"]), str(state["name"])), int(state["rv"])
    except (ValueError, KeyError, TypeError):
        raise errors.BadRequest("continue key is not valid: incorrect encoded start resourceVersion "
                                "(version meta.k8s.io/v1)") from None


def list_objects(store: Store, resource: Resource, namespace: str | None, match: Predicate | None,
                 limit: int | None, continue_token: str | None) -> ListResult:  # fmt: skip
    """A list sorted by (namespace, name); ``limit``/``continue`` page through it by key."""
    start_after: tuple[str, str] | None = None
    list_rv: int | None = None
    if continue_token:
        start_after, list_rv = _decode_continue(continue_token)
    ns = namespace if resource.namespaced else None
    if list_rv is not None:
        # Later pages show the same snapshot as the first one, as kube-apiserver does.
        try:
            items, rv = store.list_at(resource.key, ns, list_rv), list_rv
        except RevisionTooOld:
            raise errors.APIError(
                "The provided continue parameter is too old to display a consistent list result. "
                "You can start a new list without the continue parameter.", code=410, reason="Expired",
            ) from None
    else:
        items, rv = store.list(resource.key, ns)
    if start_after is not None:
        items = [o for o in items if (o.key[1], o.key[2]) > start_after]
    if match is not None:
        items = [o for o in items if match(o.labels, o.fields)]
    result = ListResult(items, rv)
    if limit and limit > 0 and len(items) > limit:
        result.items = items[:limit]
        result.continue_token = _encode_continue(result.rv, items[limit - 1])
        result.remaining = len(items) - limit
    return result


def start_watch(store: Store, resource: Resource, namespace: str | None, match: Predicate | None,
                resource_version: str | None, send_initial: bool | None) -> WatchStream:  # fmt: skip
    """Start a watch: ``resource_version`` unset/"0" replays the current state as ADDED first.

    Raises Gone (410) when the revision is older than the retained history.
    """
    since = parse_resource_version(resource_version)
    ns = namespace if resource.namespaced else None
    with store.lock:
        replay_state = since in (None, 0) if send_initial is None else send_initial
        stream = WatchStream(store.rv if since in (None, 0) else since)

        def sink(event: WatchEvent) -> bool:
            return _deliver(stream, match, event)

        if replay_state:
            items, rv = store.list(resource.key, ns)
            for obj in items:
                if match is None or match(obj.labels, obj.fields):
                    stream.push(ADDED, obj)
            stream.progress(rv)
            since = rv
        elif since == 0:
            since = store.rv
        try:
            sub = store.watch(resource.key, ns, since, sink)
        except RevisionTooOld as exc:
            raise errors.Gone(f"too old resource version: {exc.requested} ({exc.oldest})") from None
        stream.cancel = sub.cancel
        return stream


def _deliver(stream: WatchStream, match: Predicate | None, event: WatchEvent) -> bool:
    """Selector-aware event translation: leaving the selection is DELETED, entering it ADDED."""
    if match is None:
        return stream.push(event.type, event.object)
    now = match(event.object.labels, event.object.fields)
    if event.type == MODIFIED:
        before = event.previous is not None and match(event.previous.labels, event.previous.fields)
        if now and before:
            return stream.push(MODIFIED, event.object)
        if now:
            return stream.push(ADDED, event.object)
        if before:
            return stream.push(DELETED, event.object)
    elif now:
        return stream.push(event.type if event.type in (ADDED, DELETED) else MODIFIED, event.object)
    stream.progress(event.rv)
    return True
