"""Device health from DRA plugins, for ``containerStatuses[].allocatedResourcesStatus`` (gate ResourceHealthStatus).

Per registered plugin that offers ``v1alpha1.DRAResourceHealth`` the kubelet keeps one
``NodeWatchResources`` stream open; each message is the driver's complete list, so a
device missing from it is forgotten. When a stream ends the driver's cache is cleared
and the stream is opened again after 5 s. A device that drops out of the list keeps its
last health for its ``health_check_timeout_seconds`` (default 30 s), then counts as
Unknown, as does any device never reported. Any change wakes the
pod workers, which recompute their status. (Kubelets 1.34 to 1.36 open the stream without
looking at ``supported_versions``; this one only asks plugins that advertise it, so a
driver without health sees no failing calls.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import grpc

from kubedra.node.kubelet.plugins import DRAPlugin
from kubedra.node.plugin.proto import dra_health_v1alpha1_pb2 as pb
from kubedra.node.plugin.proto import dra_health_v1alpha1_pb2_grpc as pb_grpc

log = logging.getLogger(__name__)

SERVICE_VERSION = "v1alpha1.DRAResourceHealth"
RETRY_INTERVAL = 5.0
DEFAULT_TIMEOUT = 30.0
MAX_MESSAGE = 1024
_HEALTH = {pb.HEALTHY: "Healthy", pb.UNHEALTHY: "Unhealthy", pb.UNKNOWN: "Unknown"}


@dataclass(frozen=True)
class _Entry:
    health: str
    received: float  # monotonic time of the message that carried it
    timeout: float
    message: str
    current: bool = True  # in the latest message of its driver


class HealthManager:
    """Health of every device on this node, by (driver, pool, device)."""

    def __init__(self, on_change: Callable[[], None], retry_interval: float = RETRY_INTERVAL) -> None:
        self.on_change = on_change
        self.retry_interval = retry_interval
        self._devices: dict[str, dict[tuple[str, str], _Entry]] = {}
        self._streams: dict[str, asyncio.Task[None]] = {}  # endpoint -> stream task
        self._expiry: asyncio.Task[None] | None = None

    def health(self, driver: str, pool: str, device: str) -> str:
        entry = self._devices.get(driver, {}).get((pool, device))
        if entry is None or (not entry.current and time.monotonic() - entry.received > entry.timeout):
            return "Unknown"
        return entry.health

    def message(self, driver: str, pool: str, device: str) -> str:
        entry = self._devices.get(driver, {}).get((pool, device))
        return entry.message if entry is not None else ""

    # ---- streams -------------------------------------------------------------------------------

    def plugin_registered(self, plugin: DRAPlugin, offered: list[str]) -> None:
        if SERVICE_VERSION not in offered or plugin.endpoint in self._streams:
            return
        self._streams[plugin.endpoint] = asyncio.create_task(self._watch(plugin), name=f"health {plugin.driver}")
        if self._expiry is None:
            self._expiry = asyncio.create_task(self._expire_loop(), name="health expiry")

    def plugin_gone(self, plugin: DRAPlugin) -> None:
        task = self._streams.pop(plugin.endpoint, None)
        if task is not None:
            task.cancel()
        self._forget(plugin.driver)

    async def _watch(self, plugin: DRAPlugin) -> None:
        stub = pb_grpc.DRAResourceHealthStub(plugin.channel)
        while True:
            try:
                async for response in stub.NodeWatchResources(pb.NodeWatchResourcesRequest()):
                    self._store(plugin.driver, response)
                log.info("health stream of %s ended", plugin.driver)
            except grpc.aio.AioRpcError as exc:
                log.info("health stream of %s failed: %s: %s", plugin.driver, exc.code().name, exc.details())
            self._forget(plugin.driver)
            await asyncio.sleep(self.retry_interval)

    def _store(self, driver: str, response: pb.NodeWatchResourcesResponse) -> None:
        now = time.monotonic()
        devices: dict[tuple[str, str], _Entry] = {}
        for d in response.devices:
            timeout = float(d.health_check_timeout_seconds)
            if timeout < 0:
                log.warning("driver %s: negative health timeout %d for %s/%s, using the default", driver,
                            d.health_check_timeout_seconds, d.device.pool_name, d.device.device_name)
            message = d.message if len(d.message) <= MAX_MESSAGE else d.message[:MAX_MESSAGE - 3] + "..."
            devices[(d.device.pool_name, d.device.device_name)] = _Entry(
                health=_HEALTH.get(d.health, "Unknown"), received=now,
                timeout=timeout if timeout > 0 else DEFAULT_TIMEOUT, message=message)
        previous = self._devices.get(driver, {})
        before = {k: v.health for k, v in previous.items()}
        for key, entry in previous.items():
            if key not in devices and now - entry.received <= entry.timeout:
                devices[key] = _Entry(entry.health, entry.received, entry.timeout, entry.message, current=False)
        self._devices[driver] = devices
        if before != {k: v.health for k, v in devices.items()}:
            self.on_change()

    def _forget(self, driver: str) -> None:
        if self._devices.pop(driver, None):
            self.on_change()

    async def _expire_loop(self) -> None:
        """Wake the pods when a device's report grows older than its timeout (it turns Unknown)."""
        expired: set[tuple[str, str, str]] = set()
        while True:
            await asyncio.sleep(1.0)
            now = time.monotonic()
            current = {(driver, pool, device) for driver, devices in self._devices.items()
                       for (pool, device), e in devices.items() if not e.current and now - e.received > e.timeout}
            if current != expired:
                expired = current
                self.on_change()

    async def close(self) -> None:
        tasks = [*self._streams.values(), *([self._expiry] if self._expiry else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._streams.clear()
        self._expiry = None
