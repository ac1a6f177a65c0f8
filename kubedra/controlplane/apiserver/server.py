"""The HTTPS front of the API server (aiohttp): authentication, routing, encoding, watch streams.

aiohttp was picked by measurement (docs/decisions/apiserver.md): it matches a threaded stdlib
server on request rate over TLS and holds thousands of long-lived watch streams on one event loop,
where the stdlib would need a thread per watcher. Kubernetes semantics live in ``registry.py``;
this module only translates between HTTP and registry calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import hmac
import importlib
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec
import yaml
from aiohttp import web

from kubedra.controlplane.apiserver import (
    admission,
    discovery,
    errors,
    logs,
    node_proxy,
    patching,
    protobuf,
    scale,
)
from kubedra.controlplane.apiserver.registry import Registry, WriteOptions
from kubedra.controlplane.apiserver.resources import Resource, lookup
from kubedra.controlplane.apiserver.watch import BOOKMARK, WatchStream
from kubedra.controlplane.store import StoredObject

log = logging.getLogger(__name__)

GIT_VERSION = "v1.36.2-kubedra"
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode
_JSON = "application/json"
_PUBLIC_PATHS = ("/healthz", "/livez", "/readyz", "/version")


@dataclass
class ServerOptions:
    token: str
    bookmark_interval: float = 10.0
    watch_timeout: float = 1800.0
    max_body: int = 64 * 1024 * 1024


def version_info() -> dict[str, str]:
    return {"major": "1", "minor": "36", "emulationMajor": "1", "emulationMinor": "36",
            "minCompatibilityMajor": "1", "minCompatibilityMinor": "35", "gitVersion": GIT_VERSION,
            "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
            "buildDate": "2026-11-23T00:00:00Z", "goVersion": "python", "compiler": "cpython",
            "platform": "linux/amd64"}


def _json_response(body: Any, status: int = 200, content_type: str = _JSON) -> web.Response:
    return web.Response(body=_encode(body), status=status, headers={"Content-Type": content_type})


def _error_response(exc: errors.APIError) -> web.Response:
    return _json_response(exc.status(), exc.code)


@dataclass
class Target:
    """A parsed resource URL."""

    resource: Resource
    version: str
    namespace: str | None
    name: str | None
    subresource: str | None


def parse_path(path: str) -> Target | None:
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    if not rest:
        return None
    namespace = None
    if rest[0] == "namespaces" and len(rest) >= 3 and lookup(group, version, rest[2]) is not None:
        namespace, rest = rest[1], rest[2:]
    resource = lookup(group, version, rest[0])
    if resource is None or len(rest) > 3:
        return None
    if namespace is not None and not resource.namespaced:
        return None
    name = rest[1] if len(rest) >= 2 else None
    sub = rest[2] if len(rest) == 3 else None
    return Target(resource, version, namespace, name, sub)


def _wants_table(accept: str) -> bool:
    return "as=Table" in accept.replace(" ", "")


class APIServer:
    """Owns the aiohttp application; ``registry`` is shared with in-process clients."""

    def __init__(self, registry: Registry, options: ServerOptions, *, log_source: logs.LogSource | None = None) -> None:
        self.registry = registry
        self.options = options
        self.log_source = log_source or logs.NodeLogSource(registry)
        self.ready = True
        self._watches: set[WatchStream] = set()
        self.app = web.Application(client_max_size=options.max_body, middlewares=[self._middleware])
        self.app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self.app.on_shutdown.append(self._close_watches)
        self.server_address = "127.0.0.1:443"

    async def _close_watches(self, app: web.Application) -> None:
        for stream in list(self._watches):
            stream.close("server shutting down")

    # --- middleware: auth + errors ---------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request,
                          handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        path = request.path
        if not any(path == p or path.startswith(p + "/") for p in _PUBLIC_PATHS):
            auth = request.headers.get("Authorization", "")
            token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
            if not token or not hmac.compare_digest(token.encode(), self.options.token.encode()):
                return _error_response(errors.Unauthorized("Unauthorized"))
        try:
            return await handler(request)
        except errors.APIError as exc:
            return _error_response(exc)
        except web.HTTPException:
            raise
        except Exception as exc:
            log.exception("%s %s failed", request.method, request.path)
            return _error_response(errors.InternalError(f"Internal error occurred: {exc}"))

    # --- dispatch --------------------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path.rstrip("/") or "/"
        method = request.method
        if method == "GET":
            simple = self._simple_get(path, request)
            if simple is not None:
                return simple
        target = parse_path(path)
        if target is None:
            raise errors.NotFound("the server could not find the requested resource")
        if target.subresource == "log" and method == "GET":
            return await logs.serve_log(request, self.registry, self.log_source, target.namespace or "",
                                        target.name or "")
        if target.subresource == "exec" and method in ("GET", "POST"):
            return await node_proxy.serve_exec(request, self.registry, self.log_source, target.namespace or "",
                                               target.name or "")
        if target.subresource == "scale" and target.name is not None and "scale" in target.resource.subresources:
            return await self._scale(request, target)
        if method == "GET":
            if target.name is None:
                if _truthy(request.query.get("watch")):
                    return await self._watch(request, target)
                return self._list(request, target)
            return self._get(request, target)
        if method == "POST":
            return await self._create(request, target)
        if method == "PUT":
            return await self._update(request, target)
        if method == "PATCH":
            return await self._patch(request, target)
        if method == "DELETE":
            return await self._delete(request, target)
        raise errors.MethodNotAllowed(f"the server does not allow this method on the requested resource ({method})")

    def _simple_get(self, path: str, request: web.Request) -> web.StreamResponse | None:
        if path == "/version":
            return _json_response(version_info())
        if path in ("/healthz", "/livez", "/readyz") or path.startswith(("/healthz/", "/livez/", "/readyz/")):
            if path.startswith("/readyz") and not self.ready:
                return web.Response(text="[-]ready failed", status=503)
            return web.Response(text="ok", content_type="text/plain")
        accept = request.headers.get("Accept", "")
        if path in ("/api", "/apis"):
            media = discovery.wants_aggregated(accept)
            if media is not None:
                return _json_response(discovery.aggregated(path == "/api", media), content_type=media)
            if path == "/api":
                return _json_response(discovery.api_versions(self.server_address))
            return _json_response(discovery.api_group_list())
        parts = [p for p in path.split("/") if p]
        if parts[:1] == ["api"] and len(parts) == 2:
            doc = discovery.api_resource_list("", parts[1])
            return _json_response(doc) if doc is not None else None
        if parts[:1] == ["apis"] and len(parts) == 2:
            group = discovery.api_group(parts[1])
            return _json_response(group) if group is not None else None
        if parts[:1] == ["apis"] and len(parts) == 3:
            doc = discovery.api_resource_list(parts[1], parts[2])
            return _json_response(doc) if doc is not None else None
        if parts[:1] in (["openapi"], ["swagger.json"]):
            return self._openapi(parts, accept)
        return None

    def _openapi(self, parts: list[str], accept: str) -> web.StreamResponse:
        if parts[:2] == ["openapi", "v2"] and not _accepts_json(accept):
            # Only JSON is produced; a protobuf-only client must hear so rather than get bytes it cannot parse.
            raise errors.NotAcceptable("only the following media types are accepted: application/json")
        try:
            openapi: Any = importlib.import_module("kubedra.controlplane.apiserver.openapi")
        except ImportError:
            raise errors.NotFound("the server could not find the requested resource") from None
        if parts == ["openapi", "v2"] or parts == ["swagger.json"]:
            return _json_response(openapi.v2_document())
        if parts == ["openapi", "v3"]:
            return _json_response(openapi.v3_index())
        if parts[:2] == ["openapi", "v3"]:
            doc = openapi.v3_group_version("/".join(parts[2:]))
            if doc is not None:
                return _json_response(doc)
        raise errors.NotFound("the server could not find the requested resource")

    # --- encoding --------------------------------------------------------------------------------

    def _object_bytes(self, target: Target, obj: StoredObject) -> bytes:
        """The object in the version the client addressed (stored bytes when that is the storage one)."""
        if target.version == target.resource.storage_version:
            return obj.data
        return _encode(admission.from_storage(target.resource, obj.decode(), target.version))

    def _object_dict(self, target: Target, obj: StoredObject) -> dict[str, Any]:
        if target.version == target.resource.storage_version:
            return obj.decode()
        return admission.from_storage(target.resource, obj.decode(), target.version)

    def _table(self, request: web.Request, target: Target, objects: list[dict[str, Any]]) -> dict[str, Any]:
        tables: Any = importlib.import_module("kubedra.controlplane.apiserver.tables")
        include = request.query.get("includeObject", "Metadata")
        try:
            table: dict[str, Any] = tables.to_table(target.resource.plural, target.resource.group, objects,
                                                    now=datetime.datetime.now(datetime.UTC), include_object=include)
        except ValueError as exc:
            raise errors.BadRequest(str(exc)) from None
        return table

    def _object_response(self, request: web.Request, target: Target, obj: StoredObject,
                         status: int = 200) -> web.Response:
        if _wants_table(request.headers.get("Accept", "")):
            table = self._table(request, target, [self._object_dict(target, obj)])
            table["metadata"] = {"resourceVersion": str(obj.rv)}
            return _json_response(table, status)
        return web.Response(body=self._object_bytes(target, obj), status=status,
                            headers={"Content-Type": _JSON})

    # --- reads -----------------------------------------------------------------------------------

    def _get(self, request: web.Request, target: Target) -> web.Response:
        if target.subresource is not None and target.subresource not in target.resource.subresources:
            raise errors.NotFound(f"the server could not find the requested resource "
                                  f"({target.resource.plural}/{target.subresource})")
        if target.subresource not in (None, "status"):
            raise errors.MethodNotAllowed(f"GET is not supported on {target.resource.plural}/{target.subresource}")
        obj = self.registry.get(target.resource, target.namespace, target.name or "")
        return self._object_response(request, target, obj)

    def _list(self, request: web.Request, target: Target) -> web.Response:
        q = request.query
        limit = _int_param(q, "limit")
        result = self.registry.list(target.resource, target.namespace, label_selector=q.get("labelSelector"),
                                    field_selector=q.get("fieldSelector"), limit=limit,
                                    continue_token=q.get("continue") or None)
        meta: dict[str, Any] = {"resourceVersion": str(result.rv)}
        if result.continue_token:
            meta["continue"] = result.continue_token
            meta["remainingItemCount"] = result.remaining
        if _wants_table(request.headers.get("Accept", "")):
            table = self._table(request, target, [self._object_dict(target, o) for o in result.items])
            table["metadata"] = meta
            return _json_response(table)
        r = target.resource
        head = _encode({"kind": f"{r.kind}List", "apiVersion": r.api_version(target.version), "metadata": meta})
        body = b"".join([head[:-1], b',"items":[', b",".join(self._object_bytes(target, o) for o in result.items),
                         b"]}"])
        return web.Response(body=body, headers={"Content-Type": _JSON})

    async def _watch(self, request: web.Request, target: Target) -> web.StreamResponse:
        q = request.query
        send_initial = q.get("sendInitialEvents")
        stream = self.registry.watch(
            target.resource, target.namespace, resource_version=q.get("resourceVersion"),
            label_selector=q.get("labelSelector"), field_selector=q.get("fieldSelector"),
            send_initial=_truthy(send_initial) if send_initial is not None else None,
        )
        initial_end = _truthy(send_initial) if send_initial is not None else False
        bookmarks = _truthy(q.get("allowWatchBookmarks"))
        timeout = float(_int_param(q, "timeoutSeconds") or self.options.watch_timeout)
        table = _wants_table(request.headers.get("Accept", ""))
        self._watches.add(stream)
        response = web.StreamResponse(headers={"Content-Type": _JSON, "Transfer-Encoding": "chunked"})
        try:
            ready = stream.attach_loop(asyncio.get_running_loop())
            await response.prepare(request)
            deadline = asyncio.get_running_loop().time() + timeout
            last_write = asyncio.get_running_loop().time()
            if initial_end:
                # Everything replayed so far is the initial state: say where it ends.
                await self._flush(request, response, target, stream, table)
                await self._bookmark(response, target, stream.progress_rv, initial_end=True)
            while True:
                now = asyncio.get_running_loop().time()
                if now >= deadline:
                    break
                wait = min(deadline - now, self.options.bookmark_interval if bookmarks else deadline - now)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(ready.wait(), timeout=max(wait, 0.01))
                ready.clear()
                wrote = await self._flush(request, response, target, stream, table)
                if stream.closed is not None and stream.pending() == 0:
                    break
                now = asyncio.get_running_loop().time()
                if wrote:
                    last_write = now
                elif bookmarks and now - last_write >= self.options.bookmark_interval:
                    await self._bookmark(response, target, stream.progress_rv)
                    last_write = now
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            stream.close()
            self._watches.discard(stream)
        with contextlib.suppress(ConnectionResetError):
            await response.write_eof()
        return response

    async def _flush(self, request: web.Request, response: web.StreamResponse, target: Target, stream: WatchStream, table: bool) -> bool:
        wrote = False
        while True:
            items = stream.drain(500)
            if not items:
                return wrote
            chunks = []
            for item in items:
                if table:
                    obj = self._table(request, target, [self._object_dict(target, item.object)])
                    obj["metadata"] = {"resourceVersion": str(item.object.rv)}
                    data = _encode(obj)
                else:
                    data = self._object_bytes(target, item.object)
                chunks.append(b'{"type":"' + item.type.encode() + b'","object":' + data + b"}\n")
            await response.write(b"".join(chunks))
            wrote = True

    async def _bookmark(self, response: web.StreamResponse, target: Target, rv: int, *,
                        initial_end: bool = False) -> None:
        r = target.resource
        meta: dict[str, Any] = {"resourceVersion": str(rv)}
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        obj = {"kind": r.kind, "apiVersion": r.api_version(target.version), "metadata": meta}
        await response.write(_encode({"type": BOOKMARK, "object": obj}) + b"\n")

    # --- writes ----------------------------------------------------------------------------------

    async def _body(self, request: web.Request) -> Any:
        raw = await request.read()
        ctype = request.content_type
        if ctype == protobuf.MEDIA_TYPE and raw:
            # Generated clientsets (kubectl create, helm's release Secrets) only speak protobuf.
            try:
                return protobuf.decode(raw)
            except protobuf.ProtobufError as exc:
                raise errors.UnsupportedMediaType(str(exc)) from None
        if raw.strip() and ("protobuf" in ctype or "cbor" in ctype):
            # Protobuf/CBOR bodies: clients (client-go) retry with JSON on 415.
            raise errors.UnsupportedMediaType(
                f"the body of the request was in an unknown format - accepted media types include: "
                f"application/json, application/yaml (got {ctype})")
        try:
            if "yaml" in ctype:
                return yaml.safe_load(raw)
            return _decode(raw) if raw.strip() else None
        except (msgspec.DecodeError, yaml.YAMLError) as exc:
            raise errors.BadRequest(f"the body of the request could not be decoded: {exc}") from None

    def _write_options(self, request: web.Request) -> WriteOptions:
        manager = request.query.get("fieldManager") or _default_manager(request.headers.get("User-Agent", ""))
        return WriteOptions(dry_run=request.query.get("dryRun") == "All", field_manager=manager)

    async def _create(self, request: web.Request, target: Target) -> web.Response:
        body = await self._body(request)
        if target.name is not None:
            if target.resource.plural == "pods" and target.subresource == "binding":
                self.registry.bind(target.namespace or "", target.name, body or {})
                return _json_response({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                                       "code": 201}, 201)
            raise errors.MethodNotAllowed("POST is not supported on a named resource")
        obj = self.registry.create(target.resource, target.namespace, body, self._write_options(request))
        return self._object_response(request, target, obj, 201)

    async def _update(self, request: web.Request, target: Target) -> web.Response:
        if target.name is None:
            raise errors.MethodNotAllowed("PUT is not supported on a collection")
        body = await self._body(request)
        obj = self.registry.update(target.resource, target.namespace, target.name, body,
                                   subresource=target.subresource, opts=self._write_options(request))
        return self._object_response(request, target, obj)

    async def _patch(self, request: web.Request, target: Target) -> web.Response:
        if target.name is None:
            raise errors.MethodNotAllowed("PATCH is not supported on a collection")
        raw = await request.read()
        opts = self._write_options(request)
        if request.headers.get("Content-Type", "").split(";")[0].strip() == patching.APPLY_PATCH:
            opts.field_manager = request.query.get("fieldManager") or ""
        obj, created = patching.patch(
            self.registry, target.resource, target.version, target.namespace, target.name, raw,
            request.headers.get("Content-Type", ""), subresource=target.subresource, opts=opts,
            force=_truthy(request.query.get("force")))
        return self._object_response(request, target, obj, 201 if created else 200)

    async def _scale(self, request: web.Request, target: Target) -> web.Response:
        name, ns, method = target.name or "", target.namespace, request.method
        if method == "GET":
            return _json_response(scale.get(self.registry, target.resource, ns, name))
        if method == "PUT":
            body = await self._body(request)
            return _json_response(scale.update(self.registry, target.resource, ns, name, body,
                                               self._write_options(request)))
        if method == "PATCH":
            raw = await request.read()
            return _json_response(scale.patch(self.registry, target.resource, ns, name, raw,
                                              request.headers.get("Content-Type", ""), self._write_options(request)))
        raise errors.MethodNotAllowed(f"{method} is not supported on {target.resource.plural}/scale")

    async def _delete(self, request: web.Request, target: Target) -> web.Response:
        body = await self._body(request) or {}
        if not isinstance(body, dict):
            raise errors.BadRequest("DeleteOptions must be an object")
        q = request.query
        propagation = q.get("propagationPolicy") or body.get("propagationPolicy")
        if propagation is None and body.get("orphanDependents") is True:
            propagation = "Orphan"
        grace = _int_param(q, "gracePeriodSeconds")
        if grace is None and body.get("gracePeriodSeconds") is not None:
            grace = int(body["gracePeriodSeconds"])
        dry_run = q.get("dryRun") == "All" or "All" in (body.get("dryRun") or [])
        if target.name is None:
            deleted = self.registry.delete_collection(
                target.resource, target.namespace, label_selector=q.get("labelSelector"),
                field_selector=q.get("fieldSelector"), propagation=propagation, grace_period=grace, dry_run=dry_run)
            r = target.resource
            head = _encode({"kind": f"{r.kind}List", "apiVersion": r.api_version(target.version), "metadata": {}})
            items = b",".join(self._object_bytes(target, o) for o in deleted)
            return web.Response(body=head[:-1] + b',"items":[' + items + b"]}", headers={"Content-Type": _JSON})
        obj, finished = self.registry.delete(target.resource, target.namespace, target.name,
                                             propagation=propagation, grace_period=grace,
                                             preconditions=body.get("preconditions"), dry_run=dry_run)
        return self._object_response(request, target, obj, 200 if finished else 202)


def _accepts_json(accept: str) -> bool:
    if not accept.strip():
        return True
    media = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    return any(m in ("*/*", "application/*", "application/json") for m in media)


def _truthy(value: str | None) -> bool:
    return value is not None and value.lower() in ("1", "true", "yes")


def _int_param(q: Any, name: str) -> int | None:
    value = q.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise errors.BadRequest(f"{name}: Invalid value: {value!r}: must be an integer") from None


def _default_manager(user_agent: str) -> str:
    """kube-apiserver names the manager after the client binary when fieldManager is not given."""
    return (user_agent.split("/", 1)[0] or "unknown")[:128]


def ssl_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert_file, key_file)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx
