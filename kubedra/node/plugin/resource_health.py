"""The optional device health stream (``v1alpha1.DRAResourceHealth/NodeWatchResources``).

The kubelet (gate ResourceHealthStatus) opens one stream per registered plugin and
expects the COMPLETE health list of the driver in every message: so the reporter keeps
the whole picture and sends it at once on connect, then again after each change.
Drivers report from any thread (a health checker, ``prepare``); the stream itself
lives on the plugin's event loop. ``last_updated_time`` is when a device's health
last changed, so an unchanged device does not look freshly checked to the kubelet.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

import grpc

from kubedra.node.plugin.proto import dra_health_v1alpha1_pb2 as pb
from kubedra.node.plugin.proto import dra_health_v1alpha1_pb2_grpc as pb_grpc

HEALTHY = "Healthy"
UNHEALTHY = "Unhealthy"
UNKNOWN = "Unknown"
SERVICE_VERSION = "v1alpha1.DRAResourceHealth"
_TO_PROTO = {HEALTHY: pb.HEALTHY, UNHEALTHY: pb.UNHEALTHY, UNKNOWN: pb.UNKNOWN}


@dataclass(frozen=True)
class DeviceHealth:
    """The health of one device of this driver, as the driver sees it."""

    pool: str
    device: str
    health: str  # Healthy | Unhealthy | Unknown
    message: str = ""
    timeout_seconds: int = 0  # <= 0: the kubelet's default before a silent device becomes Unknown

    def __post_init__(self) -> None:
        if self.health not in _TO_PROTO:
            raise ValueError(f"device {self.pool}/{self.device}: health {self.health!r} is not one of "
                             f"{', '.join(_TO_PROTO)}")


class HealthReporter(pb_grpc.DRAResourceHealthServicer):
    """Holds the driver's device health and streams it to every connected kubelet."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._devices: dict[tuple[str, str], tuple[DeviceHealth, int]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed = asyncio.Event()
        self.streams = 0  # open NodeWatchResources calls (for tests and logs)

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def set(self, devices: Iterable[DeviceHealth]) -> None:
        """Replace the complete health list (thread-safe); streams send it if anything changed."""
        now = int(time.time())
        with self._lock:
            new: dict[tuple[str, str], tuple[DeviceHealth, int]] = {}
            for d in devices:
                old = self._devices.get((d.pool, d.device))
                new[(d.pool, d.device)] = (d, old[1] if old is not None and old[0] == d else now)
            if new == self._devices:
                return
            self._devices = new
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._notify)

    def update(self, devices: Iterable[DeviceHealth]) -> None:
        """Change the health of some devices and keep the others (thread-safe)."""
        with self._lock:
            merged = {k: v[0] for k, v in self._devices.items()}
        merged.update({(d.pool, d.device): d for d in devices})
        self.set(merged.values())

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def snapshot(self) -> Any:
        with self._lock:
            entries = list(self._devices.values())
        response = pb.NodeWatchResourcesResponse()
        for d, updated in entries:
            response.devices.add(
                device=pb.DeviceIdentifier(pool_name=d.pool, device_name=d.device),
                health=_TO_PROTO[d.health],
                last_updated_time=updated,
                health_check_timeout_seconds=d.timeout_seconds,
                message=d.message,
            )
        return response

    async def NodeWatchResources(self, request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        self.streams += 1
        try:
            while True:
                changed = self._changed
                yield self.snapshot()
                await changed.wait()
        finally:
            self.streams -= 1
