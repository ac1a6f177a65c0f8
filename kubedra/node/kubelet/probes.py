"""Container probes (startup, liveness, readiness) as the kubelet's prober runs them.

Each probe of a running container is a loop: wait ``initialDelaySeconds``, then every
``periodSeconds`` run the handler with ``timeoutSeconds``; ``successThreshold`` /
``failureThreshold`` consecutive results flip the outcome. Handlers are the four of
the Pod API: ``exec`` (a local process with the container's environment), ``httpGet``
(2xx/3xx is success), ``tcpSocket`` (the connection opens) and ``grpc``
(``grpc.health.v1.Health/Check`` answers SERVING). Containers here share the host's
network, so a probe port goes through the container plan's ``port_map``: the kubelet
moves a fixed port a pod asks for (the DRA driver's ``HEALTHCHECK_PORT``) to a free one,
so two nodes on one machine do not collide.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
import httpx2 as httpx

from kubedra.node.plugin.proto import health_pb2, health_pb2_grpc

log = logging.getLogger(__name__)

SUCCESS, FAILURE = True, False


class ProbeConfigError(ValueError):
    """The probe cannot be run as written; the message names the field path."""


@dataclass
class ProbeSpec:
    """One ``livenessProbe`` / ``readinessProbe`` / ``startupProbe`` with defaults applied."""

    kind: str  # Liveness | Readiness | Startup
    handler: str  # exec | httpGet | tcpSocket | grpc
    spec: dict[str, Any]
    initial_delay: float = 0.0
    period: float = 10.0
    timeout: float = 1.0
    success_threshold: int = 1
    failure_threshold: int = 3
    spec_grace: float | None = None  # the probe's own terminationGracePeriodSeconds


def parse_probe(kind: str, probe: dict[str, Any], where: str) -> ProbeSpec:
    """Read ``probe`` (at field path ``where``); raises ProbeConfigError naming the field."""
    handlers = [h for h in ("exec", "httpGet", "tcpSocket", "grpc") if probe.get(h) is not None]
    if len(handlers) != 1:
        raise ProbeConfigError(f"{where}: must specify exactly one handler type (exec, httpGet, tcpSocket, grpc)")

    def number(name: str, default: float, minimum: float) -> float:
        value = probe.get(name)
        if value is None:
            return default
        if not isinstance(value, int | float) or isinstance(value, bool) or value < minimum:
            raise ProbeConfigError(f"{where}.{name}: Invalid value: {value!r}: must be at least {minimum:g}")
        return float(value)

    spec = ProbeSpec(
        kind=kind, handler=handlers[0], spec=dict(probe[handlers[0]]),
        initial_delay=number("initialDelaySeconds", 0, 0), period=number("periodSeconds", 10, 1),
        timeout=number("timeoutSeconds", 1, 1), success_threshold=int(number("successThreshold", 1, 1)),
        failure_threshold=int(number("failureThreshold", 3, 1)),
    )
    if probe.get("terminationGracePeriodSeconds") is not None:
        if kind == "Readiness":
            raise ProbeConfigError(f"{where}.terminationGracePeriodSeconds: Invalid value: must not be set for "
                                   "readiness probes")
        spec.spec_grace = number("terminationGracePeriodSeconds", 30, 1)
    if kind in ("Liveness", "Startup") and spec.success_threshold != 1:
        raise ProbeConfigError(f"{where}.successThreshold: Invalid value: {spec.success_threshold}: must be 1")
    return spec


def resolve_port(port: Any, container: dict[str, Any], where: str) -> int:
    """A probe port: a number, or the name of one of the container's ``ports``."""
    if isinstance(port, int) and not isinstance(port, bool) and 0 < port < 65536:
        return port
    if isinstance(port, str):
        if port.isdigit():
            return resolve_port(int(port), container, where)
        for entry in container.get("ports") or []:
            if entry.get("name") == port and entry.get("containerPort"):
                return int(entry["containerPort"])
        raise ProbeConfigError(f"{where}.port: Invalid value: {port!r}: no container port with this name")
    raise ProbeConfigError(f"{where}.port: Invalid value: {port!r}: must be between 1 and 65535")


class Prober:
    """Runs one probe of one container and calls ``on_change(result)`` when its outcome flips."""

    def __init__(self, spec: ProbeSpec, container: dict[str, Any], where: str, host: str,
                 port_map: dict[int, int], env: dict[str, str],
                 on_result: Callable[[ProbeSpec, bool, str, bool], Awaitable[None]]) -> None:
        self.spec = spec
        self.container = container
        self.where = f"{where}.{spec.handler}"
        self.host = host
        self.port_map = port_map
        self.env = env
        self.on_result = on_result  # (spec, success, message, outcome changed), after every run
        # Readiness starts as failed (not ready until proven); liveness as succeeded.
        self.result: bool = spec.kind == "Liveness"
        self._run = 0  # consecutive results equal to the last one
        self._last: bool | None = None
        self.stopped = False
        self._http: httpx.AsyncClient | None = None  # made once: building its TLS context is slow
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._loop(), name=f"{self.spec.kind} probe {self.container.get('name')}")

    async def stop(self) -> None:
        self.stopped = True
        if self.task is not None and self.task is not asyncio.current_task():
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def _loop(self) -> None:
        await asyncio.sleep(self.spec.initial_delay)
        while not self.stopped:
            ok, message = await self.probe_once()
            self._run = self._run + 1 if ok == self._last else 1
            self._last = ok
            threshold = self.spec.success_threshold if ok else self.spec.failure_threshold
            changed = self._run >= threshold and ok != self.result
            if changed:
                self.result = ok
            await self.on_result(self.spec, ok, message, changed)
            if not self.stopped:
                await asyncio.sleep(self.spec.period)

    async def probe_once(self) -> tuple[bool, str]:
        """One run of the handler: (success, what happened)."""
        if self.spec.handler == "httpGet" and self._http is None:
            self._http = httpx.AsyncClient(verify=False, timeout=self.spec.timeout)
        try:
            handler = getattr(self, f"_{self.spec.handler}")
            result: tuple[bool, str] = await asyncio.wait_for(handler(), self.spec.timeout)
            return result
        except TimeoutError:
            return FAILURE, f"timeout: probe did not answer within {self.spec.timeout:g}s"
        except ProbeConfigError as exc:
            return FAILURE, str(exc)

    def _port(self) -> int:
        port = resolve_port(self.spec.spec.get("port"), self.container, self.where)
        return self.port_map.get(port, port)

    async def _exec(self) -> tuple[bool, str]:
        command = [str(c) for c in self.spec.spec.get("command") or []]
        if not command:
            raise ProbeConfigError(f"{self.where}.command: Required value")
        try:
            proc = await asyncio.create_subprocess_exec(*command, env=self.env, stdin=asyncio.subprocess.DEVNULL,
                                                        stdout=asyncio.subprocess.PIPE,
                                                        stderr=asyncio.subprocess.STDOUT, start_new_session=True)
        except OSError as exc:
            return FAILURE, f"exec {command[0]}: {exc}"
        try:
            output, _ = await proc.communicate()
        except asyncio.CancelledError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            raise
        text = output.decode(errors="replace").strip()[-1024:]
        if proc.returncode == 0:
            return SUCCESS, text
        return FAILURE, f"command {command!r} exited with {proc.returncode}: {text}".rstrip(": ")

    async def _httpGet(self) -> tuple[bool, str]:  # named after the Pod API field
        spec = self.spec.spec
        scheme = str(spec.get("scheme") or "HTTP").lower()
        host = spec.get("host") or self.host
        path = str(spec.get("path") or "/")
        url = f"{scheme}://{host}:{self._port()}{path if path.startswith('/') else '/' + path}"
        headers = {h.get("name", ""): h.get("value", "") for h in spec.get("httpHeaders") or []}
        headers.setdefault("User-Agent", "kube-probe/1.36")
        assert self._http is not None
        try:
            response = await self._http.get(url, headers=headers)
        except httpx.HTTPError as exc:
            return FAILURE, f'Get "{url}": {exc}'
        if 200 <= response.status_code < 400:
            return SUCCESS, ""
        return FAILURE, f"HTTP probe failed with statuscode: {response.status_code}"

    async def _tcpSocket(self) -> tuple[bool, str]:  # named after the Pod API field
        host = self.spec.spec.get("host") or self.host
        port = self._port()
        try:
            _, writer = await asyncio.open_connection(host, port)
        except OSError as exc:
            return FAILURE, f"dial tcp {host}:{port}: {exc.strerror or exc}"
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return SUCCESS, ""

    async def _grpc(self) -> tuple[bool, str]:
        port = self._port()
        service = str(self.spec.spec.get("service") or "")
        target = f"{self.host}:{port}"
        async with grpc.aio.insecure_channel(target) as channel:
            try:
                response = await health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(service=service), timeout=self.spec.timeout)
            except grpc.aio.AioRpcError as exc:
                return FAILURE, f"failed to connect service {target!r} within {self.spec.timeout:g}s: " \
                                f"{exc.code().name}: {exc.details()}"
        if response.status == health_pb2.HealthCheckResponse.SERVING:
            return SUCCESS, ""
        name = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
        return FAILURE, f"service unhealthy (responded with {name!r})"


class ContainerProbes:
    """The probes of one container instance and what they decide: started, ready, or kill it.

    Liveness and readiness run only once the startup probe (if any) has succeeded. A
    failed liveness or startup probe kills the container; the pod worker then restarts
    it per ``restartPolicy`` with new probes. Every failed run is an ``Unhealthy`` event.
    """

    def __init__(self, specs: list[ProbeSpec], container: dict[str, Any], where: str, host: str,
                 port_map: dict[int, int], env: dict[str, str],
                 record: Callable[[str, str, str], Awaitable[None]], wake: Callable[[], None],
                 kill: Callable[[], Awaitable[None]]) -> None:
        self.name = str(container.get("name", ""))
        self.record = record
        self.wake = wake
        self.kill = kill
        self.probers = {s.kind: Prober(s, container, f"{where}.{s.kind[0].lower()}{s.kind[1:]}Probe", host,
                                       port_map, env, self._on_result) for s in specs}
        self.started = "Startup" not in self.probers
        self.ready = "Readiness" not in self.probers

    def start(self) -> None:
        if "Startup" in self.probers:
            self.probers["Startup"].start()
        else:
            self._start_main()

    def _start_main(self) -> None:
        for kind in ("Liveness", "Readiness"):
            if kind in self.probers:
                self.probers[kind].start()

    async def stop(self) -> None:
        for prober in self.probers.values():
            await prober.stop()

    async def _on_result(self, spec: ProbeSpec, ok: bool, message: str, changed: bool) -> None:
        if not ok:
            await self.record("Warning", "Unhealthy", f"{spec.kind} probe failed: {message}".rstrip(": "))
        if not changed:
            return
        if spec.kind == "Readiness":
            self.ready = ok
            self.wake()
        elif spec.kind == "Startup" and ok:
            self.started = True
            await self.probers["Startup"].stop()
            self._start_main()
            self.wake()
        elif not ok:  # Liveness or Startup failed
            await self.stop()
            what = "liveness" if spec.kind == "Liveness" else "startup"
            await self.record("Normal", "Killing", f"Container {self.name} failed {what} probe, will be restarted")
            await self.kill()
