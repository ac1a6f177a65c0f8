"""The kubelet's HTTP endpoint: container logs and exec, reached through the API server.

Paths are the real kubelet's, so the API server proxies ``pods/log`` and ``pods/exec``
exactly as it would to any kubelet: ``GET /containerLogs/{ns}/{pod}/{container}`` and
``/exec/{ns}/{pod}/{container}?command=…`` (WebSocket). The node publishes the port in
``status.daemonEndpoints.kubeletEndpoint.Port`` and its address in ``status.addresses``.
It listens on loopback only and speaks plain HTTP: the API server is on the same
machine, and nothing else should reach containers.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from aiohttp import web

from kubedra.node.kubelet.exec_stream import serve_exec
from kubedra.node.kubelet.logs import LogOptions, parse_since_time, stream_log

if TYPE_CHECKING:
    from kubedra.node.kubelet.pod_worker import PodWorker

log = logging.getLogger(__name__)

Lookup = Callable[[str, str], "PodWorker | None"]


def _flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in ("1", "true", "yes")


def _int(request: web.Request, name: str) -> int | None:
    value = request.query.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise web.HTTPBadRequest(text=f"{name}: invalid integer {value!r}") from None


def _not_found(text: str) -> web.HTTPNotFound:
    return web.HTTPNotFound(text=text)


class KubeletServer:
    def __init__(self, lookup: Lookup, host: str = "127.0.0.1", port: int = 0) -> None:
        self.lookup = lookup
        self.host = host
        self.port = port
        self.app = web.Application()
        self.app.add_routes([
            web.get("/healthz", self.healthz),
            web.get("/containerLogs/{namespace}/{pod}/{container}", self.container_logs),
            web.get("/exec/{namespace}/{pod}/{container}", self.exec),
            web.post("/exec/{namespace}/{pod}/{container}", self.exec),
        ])
        self._runner: web.AppRunner | None = None

    async def start(self) -> int:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else self.port
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    def _worker(self, request: web.Request) -> PodWorker:
        namespace, pod = request.match_info["namespace"], request.match_info["pod"]
        worker = self.lookup(namespace, pod)
        if worker is None:
            raise _not_found(f'pod "{pod}" not found in namespace "{namespace}" on this node')
        return worker

    async def container_logs(self, request: web.Request) -> web.StreamResponse:
        worker = self._worker(request)
        name = request.match_info["container"]
        previous = _flag(request, "previous")
        path = worker.log_file(name, previous)
        if path is None:
            if previous:
                raise web.HTTPBadRequest(text=f'previous terminated container "{name}" in pod "{worker.name}" '
                                              "not found")
            raise web.HTTPBadRequest(text=f'container "{name}" in pod "{worker.name}" is waiting to start: '
                                          "ContainerCreating")
        options = LogOptions(tail_lines=_int(request, "tailLines"), timestamps=_flag(request, "timestamps"),
                             limit_bytes=_int(request, "limitBytes"), follow=_flag(request, "follow") and not previous)
        since_seconds = _int(request, "sinceSeconds")
        if since_seconds is not None:
            options.since = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=since_seconds)
        elif request.query.get("sinceTime"):
            try:
                options.since = parse_since_time(request.query["sinceTime"])
            except ValueError as exc:
                raise web.HTTPBadRequest(text=str(exc)) from None
        container = worker.container(name)

        def finished() -> bool:
            current = worker.container(name)
            return current is None or current is not container or current.done.is_set() or worker.finished.is_set()

        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await response.prepare(request)
        try:
            async for chunk in stream_log(path, options, finished):
                await response.write(chunk)
        except ConnectionError:
            return response
        await response.write_eof()
        return response

    async def exec(self, request: web.Request) -> web.StreamResponse:
        worker = self._worker(request)
        name = request.match_info["container"]
        container = worker.container(name)
        if container is None or not container.running:
            raise web.HTTPBadRequest(text=f'container "{name}" in pod "{worker.name}" is not running')
        argv = request.query.getall("command", [])
        if not argv:
            raise web.HTTPBadRequest(text="command is required")
        if request.headers.get("Upgrade", "").lower() != "websocket":
            raise web.HTTPBadRequest(text="exec needs a WebSocket upgrade (v5.channel.k8s.io)")
        return await serve_exec(request, argv, container.plan.env, container.plan.cwd,
                                want_stdin=_flag(request, "stdin"), tty=_flag(request, "tty"))
