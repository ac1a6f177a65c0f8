"""Container probes against real servers: exec processes, TCP, HTTP and gRPC health on loopback."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import grpc
import pytest
from aiohttp import web

from kubedra.node.kubelet.probes import ContainerProbes, ProbeConfigError, Prober, ProbeSpec, parse_probe
from kubedra.node.plugin.proto import health_pb2, health_pb2_grpc

ENV = {"PATH": "/usr/bin:/bin"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _spec(kind: str, handler: str, spec: dict[str, Any], **kw: Any) -> ProbeSpec:
    return ProbeSpec(kind=kind, handler=handler, spec=spec, period=kw.pop("period", 0.05), **kw)


async def _once(spec: ProbeSpec, container: dict[str, Any] | None = None,
                port_map: dict[int, int] | None = None) -> tuple[bool, str]:
    async def ignore(*_: Any) -> None:
        return None

    prober = Prober(spec, container or {"name": "c"}, "spec.containers[0]", "127.0.0.1", port_map or {}, ENV, ignore)
    try:
        return await prober.probe_once()
    finally:
        await prober.stop()


def test_parse_probe_defaults_and_errors_name_the_field() -> None:
    spec = parse_probe("Liveness", {"grpc": {"port": 51515, "service": "liveness"}}, "spec.containers[0].livenessProbe")
    assert (spec.handler, spec.period, spec.timeout, spec.failure_threshold, spec.success_threshold) == \
        ("grpc", 10.0, 1.0, 3, 1)
    with pytest.raises(ProbeConfigError, match=r"livenessProbe: must specify exactly one handler"):
        parse_probe("Liveness", {"exec": {"command": ["true"]}, "tcpSocket": {"port": 1}},
                    "spec.containers[0].livenessProbe")
    with pytest.raises(ProbeConfigError, match=r"readinessProbe.periodSeconds: Invalid value: 0"):
        parse_probe("Readiness", {"exec": {"command": ["true"]}, "periodSeconds": 0}, "spec.containers[0].readinessProbe")
    with pytest.raises(ProbeConfigError, match=r"livenessProbe.successThreshold: Invalid value: 2: must be 1"):
        parse_probe("Liveness", {"exec": {"command": ["true"]}, "successThreshold": 2}, "spec.containers[0].livenessProbe")


def test_exec_and_tcp_handlers(tmp_path: Path) -> None:
    async def main() -> None:
        assert (await _once(_spec("Liveness", "exec", {"command": ["sh", "-c", "echo fine"]})))[0]
        ok, message = await _once(_spec("Liveness", "exec", {"command": ["sh", "-c", "echo broken; exit 2"]}))
        assert not ok and "exited with 2: broken" in message
        ok, message = await _once(_spec("Liveness", "exec", {"command": ["sleep", "5"]}, timeout=0.2))
        assert not ok and "timeout" in message
        ok, message = await _once(_spec("Liveness", "exec", {"command": ["/no/such/program"]}))
        assert not ok and "/no/such/program" in message

        server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            # A named container port, moved by the port map like the driver's health port.
            container = {"name": "c", "ports": [{"name": "health", "containerPort": 7}]}
            assert (await _once(_spec("Readiness", "tcpSocket", {"port": "health"}), container, {7: port}))[0]
        ok, message = await _once(_spec("Readiness", "tcpSocket", {"port": port}))
        assert not ok and f"dial tcp 127.0.0.1:{port}" in message
        ok, message = await _once(_spec("Readiness", "tcpSocket", {"port": "nope"}))
        assert not ok and "spec.containers[0].tcpSocket.port: Invalid value: 'nope'" in message

    asyncio.run(main())


def test_http_handler() -> None:
    async def main() -> None:
        seen: list[str] = []

        async def handler(request: web.Request) -> web.Response:
            seen.append(request.headers.get("X-Probe", ""))
            return web.Response(status=200 if request.path == "/healthz" else 503)

        app = web.Application()
        app.router.add_get("/{tail:.*}", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        port = _free_port()
        site = web.TCPSite(runner, "127.0.0.1", port)
        await site.start()
        try:
            headers = [{"name": "X-Probe", "value": "yes"}]
            ok, message = await _once(_spec("Readiness", "httpGet", {"path": "/healthz", "port": port,
                                                                     "httpHeaders": headers}))
            assert ok, message
            ok, message = await _once(_spec("Readiness", "httpGet", {"path": "/broken", "port": port}))
            assert not ok and message == "HTTP probe failed with statuscode: 503"
            assert seen[0] == "yes"
        finally:
            await runner.cleanup()

    asyncio.run(main())


class _Health(health_pb2_grpc.HealthServicer):
    def __init__(self) -> None:
        self.status = health_pb2.HealthCheckResponse.SERVING
        self.services: list[str] = []

    async def Check(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        self.services.append(request.service)
        return health_pb2.HealthCheckResponse(status=self.status)


def test_grpc_handler_and_liveness_kills_after_the_failure_threshold(tmp_path: Path) -> None:
    async def main() -> None:
        health = _Health()
        server = grpc.aio.server()
        health_pb2_grpc.add_HealthServicer_to_server(health, server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        try:
            grpc_spec = {"port": 51515, "service": "liveness"}
            assert (await _once(_spec("Liveness", "grpc", grpc_spec), port_map={51515: port}))[0]
            assert health.services == ["liveness"]
            health.status = health_pb2.HealthCheckResponse.NOT_SERVING
            ok, message = await _once(_spec("Liveness", "grpc", grpc_spec), port_map={51515: port})
            assert not ok and "NOT_SERVING" in message

            # Startup gates readiness and liveness; readiness flips Ready; liveness failing 2x kills once.
            events: list[tuple[str, str, str]] = []
            kills: list[float] = []
            woken: list[int] = []
            health.status = health_pb2.HealthCheckResponse.SERVING

            async def record(kind: str, reason: str, message: str) -> None:
                events.append((kind, reason, message))

            async def kill() -> None:
                kills.append(asyncio.get_running_loop().time())

            flag = tmp_path / "ready"
            probes = ContainerProbes(
                [_spec("Startup", "exec", {"command": ["true"]}),
                 _spec("Liveness", "grpc", grpc_spec, failure_threshold=2),
                 _spec("Readiness", "exec", {"command": ["test", "-e", str(flag)]})],
                {"name": "plugin"}, "spec.containers[0]", "127.0.0.1", {51515: port}, ENV, record,
                lambda: woken.append(1), kill)
            assert (probes.started, probes.ready) == (False, False)
            probes.start()
            for _ in range(100):
                if probes.started:
                    break
                await asyncio.sleep(0.02)
            assert probes.started and not probes.ready
            flag.touch()
            for _ in range(100):
                if probes.ready:
                    break
                await asyncio.sleep(0.02)
            assert probes.ready and woken
            flag.unlink()
            for _ in range(100):
                if not probes.ready:
                    break
                await asyncio.sleep(0.02)
            assert not probes.ready
            assert any(e[1] == "Unhealthy" and e[2].startswith("Readiness probe failed") for e in events)
            health.status = health_pb2.HealthCheckResponse.NOT_SERVING
            for _ in range(100):
                if kills:
                    break
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.2)
            assert len(kills) == 1  # probes stop once they killed the container
            assert ("Normal", "Killing", "Container plugin failed liveness probe, will be restarted") in events
            assert any(e[2].startswith("Liveness probe failed: service unhealthy") for e in events)
            await probes.stop()
        finally:
            await server.stop(None)

    asyncio.run(main())
