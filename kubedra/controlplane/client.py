"""One small, synchronous client interface for control-plane components, in-process or over HTTPS.

The scheduler and controllers are written against :class:`Client`; ``LocalClient`` calls the
registry directly (same process as the API server: no HTTP, no JSON round trip for the request,
identical semantics because it is the same code path), ``HTTPClient`` talks to any API server
(kubedra's or a real one) with a bearer token. Objects are plain dicts in the storage version
(``resource.k8s.io/v1``); resources are named by plural (``resourceclaims``) or
``plural.group``. Errors are the exception classes of ``apiserver.errors`` on both transports.

``Informer`` is the list+watch cache built on either: it lists, then watches from the list's
resourceVersion, re-lists on 410 Gone, and calls handlers from its own thread.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import socket
import ssl
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import msgspec
import yaml

from kubedra.controlplane.apiserver import errors, patching
from kubedra.controlplane.apiserver.errors import (
    AlreadyExists,
    APIError,
    BadRequest,
    Conflict,
    Gone,
    Invalid,
    NotFound,
)
from kubedra.controlplane.apiserver.registry import Registry, WriteOptions
from kubedra.controlplane.apiserver.resources import Resource, by_name
from kubedra.controlplane.apiserver.watch import WatchStream

log = logging.getLogger(__name__)

__all__ = [
    "APIError",
    "AlreadyExists",
    "BadRequest",
    "Client",
    "Conflict",
    "Gone",
    "HTTPClient",
    "Informer",
    "Invalid",
    "LocalClient",
    "NotFound",
    "WatchEvent",
]


def resource_named(name: str) -> Resource:
    """The served resource called ``name`` (plural), or NotFound as the API server would answer."""
    try:
        return by_name(name)
    except KeyError as exc:
        raise NotFound(str(exc.args[0])) from None


@dataclass(frozen=True)
class WatchEvent:
    type: str  # ADDED, MODIFIED, DELETED, BOOKMARK
    object: dict[str, Any]


class Watch(Protocol):
    def __iter__(self) -> Iterator[WatchEvent]: ...

    def close(self) -> None: ...


class Client(Protocol):
    def get(self, resource: str, name: str, *, namespace: str | None = None) -> dict[str, Any]: ...

    def list(self, resource: str, *, namespace: str | None = None, label_selector: str | None = None,
             field_selector: str | None = None, limit: int | None = None,
             continue_token: str | None = None) -> dict[str, Any]: ...

    def watch(self, resource: str, *, namespace: str | None = None, resource_version: str | None = None,
              label_selector: str | None = None, field_selector: str | None = None,
              timeout_seconds: int | None = None) -> Watch: ...

    def create(self, resource: str, body: dict[str, Any], *, namespace: str | None = None,
               subresource: str | None = None, name: str | None = None) -> dict[str, Any]: ...

    def update(self, resource: str, body: dict[str, Any], *, subresource: str | None = None) -> dict[str, Any]: ...

    def patch(self, resource: str, name: str, patch: Any, *, namespace: str | None = None,
              subresource: str | None = None, patch_type: str = "strategic",
              field_manager: str | None = None, force: bool = False) -> dict[str, Any]: ...

    def delete(self, resource: str, name: str, *, namespace: str | None = None,
               propagation_policy: str | None = None, grace_period_seconds: int | None = None) -> dict[str, Any]: ...


def _ns_name(body: dict[str, Any]) -> tuple[str | None, str]:
    meta = body.get("metadata") or {}
    return meta.get("namespace"), str(meta.get("name") or "")


def _patch_bytes(patch: Any, patch_type: str) -> tuple[bytes, str]:
    try:
        ctype = patching.CONTENT_TYPES[patch_type]
    except KeyError:
        raise BadRequest(f"unknown patch type {patch_type!r}: expected one of {', '.join(patching.CONTENT_TYPES)}") from None
    if isinstance(patch, bytes):
        return patch, ctype
    return _json_encode(patch), ctype


# --- in-process -------------------------------------------------------------------------------------

_json_encode = msgspec.json.Encoder().encode
_json_decode = msgspec.json.Decoder().decode


def _copy(body: dict[str, Any]) -> dict[str, Any]:
    """A deep copy the registry may modify (it defaults and drops fields in place); through JSON
    so the object is exactly what an HTTP client would have sent, at msgspec's speed."""
    copied: dict[str, Any] = _json_decode(_json_encode(body))
    return copied



class _LocalWatch:
    def __init__(self, stream: WatchStream, timeout: float | None) -> None:
        self.stream = stream
        self.timeout = timeout

    def __iter__(self) -> Iterator[WatchEvent]:
        import time

        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                break
            items = self.stream.get(timeout=min(remaining, 1.0) if remaining is not None else 1.0)
            for item in items:
                yield WatchEvent(item.type, item.object.decode())
            if self.stream.closed is not None and self.stream.pending() == 0:
                break
        self.close()

    def close(self) -> None:
        self.stream.close()


class LocalClient:
    """Direct registry access for components running inside the API server process."""

    def __init__(self, registry: Registry, *, field_manager: str = "kubedra") -> None:
        self.registry = registry
        self.field_manager = field_manager

    def _opts(self) -> WriteOptions:
        return WriteOptions(field_manager=self.field_manager)


    def get(self, resource: str, name: str, *, namespace: str | None = None) -> dict[str, Any]:
        return self.registry.get(resource_named(resource), namespace, name).decode()

    def list(self, resource: str, *, namespace: str | None = None, label_selector: str | None = None,
             field_selector: str | None = None, limit: int | None = None,
             continue_token: str | None = None) -> dict[str, Any]:
        r = resource_named(resource)
        result = self.registry.list(r, namespace, label_selector=label_selector, field_selector=field_selector,
                                    limit=limit, continue_token=continue_token)
        meta: dict[str, Any] = {"resourceVersion": str(result.rv)}
        if result.continue_token:
            meta["continue"] = result.continue_token
            meta["remainingItemCount"] = result.remaining
        return {"kind": f"{r.kind}List", "apiVersion": r.api_version(), "metadata": meta,
                "items": [o.decode() for o in result.items]}

    def watch(self, resource: str, *, namespace: str | None = None, resource_version: str | None = None,
              label_selector: str | None = None, field_selector: str | None = None,
              timeout_seconds: int | None = None) -> Watch:
        stream = self.registry.watch(resource_named(resource), namespace, resource_version=resource_version,
                                     label_selector=label_selector, field_selector=field_selector)
        return _LocalWatch(stream, timeout_seconds)

    def create(self, resource: str, body: dict[str, Any], *, namespace: str | None = None,
               subresource: str | None = None, name: str | None = None) -> dict[str, Any]:
        r = resource_named(resource)
        ns = namespace or _ns_name(body)[0]
        if subresource == "binding" and r.plural == "pods":
            self.registry.bind(ns or "", name or _ns_name(body)[1], body)
            return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}
        if subresource is not None:
            raise NotFound(f"the server could not find the requested resource ({r.plural}/{subresource})")
        return self.registry.create(r, ns, _copy(body), self._opts()).decode()

    def update(self, resource: str, body: dict[str, Any], *, subresource: str | None = None) -> dict[str, Any]:
        ns, name = _ns_name(body)
        return self.registry.update(resource_named(resource), ns, name, _copy(body),
                                    subresource=subresource, opts=self._opts()).decode()

    def patch(self, resource: str, name: str, patch: Any, *, namespace: str | None = None,
              subresource: str | None = None, patch_type: str = "strategic",
              field_manager: str | None = None, force: bool = False) -> dict[str, Any]:
        r = resource_named(resource)
        raw, ctype = _patch_bytes(patch, patch_type)
        opts = WriteOptions(field_manager=field_manager or self.field_manager)
        obj, _ = patching.patch(self.registry, r, r.storage_version, namespace, name, raw, ctype,
                                subresource=subresource, opts=opts, force=force)
        return obj.decode()

    def delete(self, resource: str, name: str, *, namespace: str | None = None,
               propagation_policy: str | None = None, grace_period_seconds: int | None = None) -> dict[str, Any]:
        obj, _ = self.registry.delete(resource_named(resource), namespace, name, propagation=propagation_policy,
                                      grace_period=grace_period_seconds)
        return obj.decode()


# --- over HTTPS -------------------------------------------------------------------------------------


class _HTTPWatch:
    """One watch response read line by line.

    ``close`` may come from another thread while ``__iter__`` is blocked in a read: closing the
    connection then would wait for the reader's buffer lock (until the next event or the watch
    timeout). Shutting the socket down first wakes the reader with EOF at once; the reader closes
    the connection itself on its way out.
    """

    def __init__(self, conn: http.client.HTTPConnection, response: http.client.HTTPResponse) -> None:
        self.conn = conn
        self.response = response
        self._reading = False
        self._closed = False

    def __iter__(self) -> Iterator[WatchEvent]:
        self._reading = True
        try:
            while not self._closed:
                line = self.response.readline()
                if not line:
                    break
                event = _json_decode(line)
                if event.get("type") == "ERROR":
                    status = event.get("object") or {}
                    raise errors.from_status(status, int(status.get("code") or 500))
                yield WatchEvent(event["type"], event["object"])
        except (OSError, ValueError, http.client.HTTPException):
            # OSError/ValueError: the socket was shut down or closed under the read (``close``).
            return
        finally:
            self._reading = False
            self.conn.close()

    def close(self) -> None:
        self._closed = True
        sock = self.conn.sock
        if sock is not None:
            # The plain socket's shutdown, not SSLSocket's (that one unwraps TLS under the reader).
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
        if not self._reading:
            self.conn.close()


class HTTPClient:
    """Talks HTTPS + bearer token; one keep-alive connection per thread."""

    def __init__(self, url: str, token: str, ca_file: str | Path | None = None, *, timeout: float = 30.0,
                 field_manager: str = "kubedra") -> None:
        parsed = urllib.parse.urlsplit(url)
        self.host = parsed.hostname or "127.0.0.1"
        self.port = parsed.port or (443 if parsed.scheme == "https" else 80)
        self.https = parsed.scheme == "https"
        self.token = token
        self.timeout = timeout
        self.field_manager = field_manager
        self._ssl = ssl.create_default_context(cafile=str(ca_file)) if self.https and ca_file else (
            ssl.create_default_context() if self.https else None)
        self._local = threading.local()

    @classmethod
    def from_kubeconfig(cls, path: str | Path) -> HTTPClient:
        """A client for the current context of a kubedra-style kubeconfig (token + inline CA)."""
        import base64
        import tempfile

        config = yaml.safe_load(Path(path).read_text())
        ctx_name = config.get("current-context")
        ctx = next(c["context"] for c in config["contexts"] if c["name"] == ctx_name)
        cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == ctx["cluster"])
        user = next(u["user"] for u in config["users"] if u["name"] == ctx["user"])
        ca_file: str | None = cluster.get("certificate-authority")
        if cluster.get("certificate-authority-data"):
            with tempfile.NamedTemporaryFile(prefix="kubedra-ca-", suffix=".crt", delete=False) as tmp:
                tmp.write(base64.b64decode(cluster["certificate-authority-data"]))
            ca_file = tmp.name
        return cls(cluster["server"], user.get("token", ""), ca_file)

    def _connect(self, timeout: float | None) -> http.client.HTTPConnection:
        if self.https:
            return http.client.HTTPSConnection(self.host, self.port, timeout=timeout, context=self._ssl)
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def _path(self, r: Resource, namespace: str | None, name: str | None = None, sub: str | None = None,
              query: dict[str, Any] | None = None) -> str:
        base = f"/apis/{r.group}/{r.storage_version}" if r.group else f"/api/{r.storage_version}"
        if r.namespaced and namespace:
            base += f"/namespaces/{urllib.parse.quote(namespace)}"
        base += f"/{r.plural}"
        if name:
            base += f"/{urllib.parse.quote(name)}"
        if sub:
            base += f"/{sub}"
        params = {k: v for k, v in (query or {}).items() if v is not None}
        return base + ("?" + urllib.parse.urlencode(params) if params else "")

    def _request(self, method: str, path: str, body: bytes | None = None,
                 content_type: str = "application/json") -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        for attempt in (0, 1):
            conn = getattr(self._local, "conn", None)
            if conn is None:
                conn = self._local.conn = self._connect(self.timeout)
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                break
            except (OSError, http.client.HTTPException):
                conn.close()
                self._local.conn = None
                if attempt:
                    raise
        result: dict[str, Any] = _json_decode(data) if data else {}
        if response.status >= 400:
            raise errors.from_status(result, response.status)
        return result


    def get(self, resource: str, name: str, *, namespace: str | None = None) -> dict[str, Any]:
        return self._request("GET", self._path(resource_named(resource), namespace, name))

    def list(self, resource: str, *, namespace: str | None = None, label_selector: str | None = None,
             field_selector: str | None = None, limit: int | None = None,
             continue_token: str | None = None) -> dict[str, Any]:
        q = {"labelSelector": label_selector, "fieldSelector": field_selector, "limit": limit,
             "continue": continue_token}
        return self._request("GET", self._path(resource_named(resource), namespace, query=q))

    def watch(self, resource: str, *, namespace: str | None = None, resource_version: str | None = None,
              label_selector: str | None = None, field_selector: str | None = None,
              timeout_seconds: int | None = None) -> Watch:
        q = {"watch": "1", "resourceVersion": resource_version, "labelSelector": label_selector,
             "fieldSelector": field_selector, "timeoutSeconds": timeout_seconds, "allowWatchBookmarks": "true"}
        conn = self._connect(None if timeout_seconds is None else timeout_seconds + 30)
        conn.request("GET", self._path(resource_named(resource), namespace, query=q),
                     headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json"})
        response = conn.getresponse()
        if response.status >= 400:
            data = response.read()
            conn.close()
            raise errors.from_status(_json_decode(data) if data else {}, response.status)
        return _HTTPWatch(conn, response)

    def create(self, resource: str, body: dict[str, Any], *, namespace: str | None = None,
               subresource: str | None = None, name: str | None = None) -> dict[str, Any]:
        r = resource_named(resource)
        ns = namespace or _ns_name(body)[0]
        path = self._path(r, ns, name if subresource else None, subresource, {"fieldManager": self.field_manager})
        return self._request("POST", path, _json_encode(body))

    def update(self, resource: str, body: dict[str, Any], *, subresource: str | None = None) -> dict[str, Any]:
        ns, name = _ns_name(body)
        path = self._path(resource_named(resource), ns, name, subresource, {"fieldManager": self.field_manager})
        return self._request("PUT", path, _json_encode(body))

    def patch(self, resource: str, name: str, patch: Any, *, namespace: str | None = None,
              subresource: str | None = None, patch_type: str = "strategic",
              field_manager: str | None = None, force: bool = False) -> dict[str, Any]:
        raw, ctype = _patch_bytes(patch, patch_type)
        q = {"fieldManager": field_manager or self.field_manager, "force": "true" if force else None}
        return self._request("PATCH", self._path(resource_named(resource), namespace, name, subresource, q), raw, ctype)

    def delete(self, resource: str, name: str, *, namespace: str | None = None,
               propagation_policy: str | None = None, grace_period_seconds: int | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if propagation_policy:
            body["propagationPolicy"] = propagation_policy
        if grace_period_seconds is not None:
            body["gracePeriodSeconds"] = grace_period_seconds
        return self._request("DELETE", self._path(resource_named(resource), namespace, name),
                             _json_encode(body))


# --- informer ---------------------------------------------------------------------------------------

Handler = Callable[[str, dict[str, Any], dict[str, Any] | None], None]


class Informer:
    """A list+watch cache of one resource; ``handler(event_type, obj, old)`` runs on its thread.

    ``wait_synced()`` returns once the initial list is in the cache. Lost watches resume from the
    last seen resourceVersion; a 410 Gone triggers a fresh list (handlers see the differences).
    """

    def __init__(self, client: Client, resource: str, *, namespace: str | None = None,
                 label_selector: str | None = None, field_selector: str | None = None,
                 handler: Handler | None = None) -> None:
        self.client = client
        self.resource = resource
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.handler = handler
        self.cache: dict[tuple[str, str], dict[str, Any]] = {}
        self.resource_version = ""
        self._lock = threading.Lock()
        self._synced = threading.Event()
        self._stop = threading.Event()
        self._watch: Watch | None = None
        self._thread = threading.Thread(target=self._run, name=f"informer-{resource}", daemon=True)

    def start(self) -> Informer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._watch is not None:
            self._watch.close()
        self._thread.join(timeout=5)

    def wait_synced(self, timeout: float = 30.0) -> bool:
        return self._synced.wait(timeout)

    def get(self, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        with self._lock:
            return self.cache.get((namespace or "", name))

    def items(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.cache.values())

    def _emit(self, etype: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        if self.handler is not None:
            try:
                self.handler(etype, obj, old)
            except Exception:
                log.exception("informer %s: handler failed", self.resource)

    @staticmethod
    def _key(obj: dict[str, Any]) -> tuple[str, str]:
        meta = obj.get("metadata") or {}
        return (meta.get("namespace") or "", meta.get("name") or "")

    def _relist(self) -> None:
        listed = self.client.list(self.resource, namespace=self.namespace, label_selector=self.label_selector,
                                  field_selector=self.field_selector)
        fresh = {self._key(o): o for o in listed["items"]}
        with self._lock:
            old = self.cache
            self.cache = fresh
            self.resource_version = listed["metadata"]["resourceVersion"]
        for key, obj in fresh.items():
            before = old.get(key)
            if before is None:
                self._emit("ADDED", obj, None)
            elif before.get("metadata", {}).get("resourceVersion") != obj["metadata"].get("resourceVersion"):
                self._emit("MODIFIED", obj, before)
        for key, obj in old.items():
            if key not in fresh:
                self._emit("DELETED", obj, obj)
        self._synced.set()

    def _run(self) -> None:
        need_list = True
        while not self._stop.is_set():
            try:
                if need_list:
                    self._relist()
                    need_list = False
                self._watch = self.client.watch(self.resource, namespace=self.namespace,
                                                resource_version=self.resource_version,
                                                label_selector=self.label_selector,
                                                field_selector=self.field_selector, timeout_seconds=300)
                if self._stop.is_set():  # stop() ran while the watch was being opened
                    self._watch.close()
                    break
                for event in self._watch:
                    if self._stop.is_set():
                        break
                    self._apply(event)
            except Gone:
                need_list = True
            except Exception as exc:
                if self._stop.is_set():
                    break
                log.warning("informer %s: %s; retrying", self.resource, exc)
                self._stop.wait(0.5)

    def _apply(self, event: WatchEvent) -> None:
        obj = event.object
        rv = (obj.get("metadata") or {}).get("resourceVersion")
        if event.type == "BOOKMARK":
            if rv:
                self.resource_version = rv
            return
        key = self._key(obj)
        with self._lock:
            old = self.cache.get(key)
            if event.type == "DELETED":
                self.cache.pop(key, None)
            else:
                self.cache[key] = obj
            if rv:
                self.resource_version = rv
        self._emit(event.type, obj, old)
