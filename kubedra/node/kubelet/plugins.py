"""Registered DRA plugins and the gRPC calls the kubelet makes to them.

One registration = one gRPC client on ``unix:<endpoint>`` speaking the service version
chosen at registration (``v1.DRAPlugin`` preferred, then ``v1beta1.DRAPlugin``). With
several instances of a driver (rolling update) the most recently registered one is
used. When the last instance of a driver goes away, the node's ResourceSlices of that
driver are wiped 30 s later unless it comes back (node.md §5).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import grpc

from kubedra.node.kubelet.checkpoint import PreparedDevice
from kubedra.node.plugin.proto import dra_v1_pb2, dra_v1_pb2_grpc, dra_v1beta1_pb2, dra_v1beta1_pb2_grpc

log = logging.getLogger(__name__)

# What this kubelet serves, in its order of preference.
SUPPORTED_VERSIONS = ("v1.DRAPlugin", "v1beta1.DRAPlugin")
PLUGIN_TYPE = "DRAPlugin"
CALL_TIMEOUT = 45.0
SLICE_WIPE_DELAY = 30.0
MAX_ENDPOINT_BYTES = 108

_PROTOS: dict[str, tuple[ModuleType, ModuleType]] = {
    "v1.DRAPlugin": (dra_v1_pb2, dra_v1_pb2_grpc),
    "v1beta1.DRAPlugin": (dra_v1beta1_pb2, dra_v1beta1_pb2_grpc),
}


class PluginError(RuntimeError):
    """A plugin cannot be registered or a call to it failed; the message is user-facing."""


@dataclass(frozen=True)
class ClaimRef:
    namespace: str
    name: str
    uid: str


@dataclass
class PrepareResult:
    """A driver's answer for one claim: devices, or a per-claim error."""

    devices: list[PreparedDevice] = field(default_factory=list)
    error: str = ""


def choose_version(offered: Sequence[str]) -> str:
    """The first service in the PLUGIN's list that this kubelet supports (node.md §2 step 5)."""
    if not offered:
        raise PluginError("empty list of supported gRPC services (aka supported versions)")
    for version in offered:
        if version in SUPPORTED_VERSIONS:
            return version
    raise PluginError(
        f"none of services supported by the plugin ({', '.join(offered)}) are supported by the kubelet "
        f"({', '.join(SUPPORTED_VERSIONS)})"
    )


class DRAPlugin:
    """One registered plugin instance and its gRPC client."""

    def __init__(self, driver: str, endpoint: str, version: str) -> None:
        self.driver = driver
        self.endpoint = endpoint
        self.version = version
        self.registered_at = time.monotonic()
        self._pb2, grpc_module = _PROTOS[version]
        self.channel = grpc.aio.insecure_channel(f"unix:{endpoint}")
        self._stub: Any = grpc_module.DRAPluginStub(self.channel)

    def _claims(self, claims: Sequence[ClaimRef]) -> list[Any]:
        return [self._pb2.Claim(namespace=c.namespace, name=c.name, uid=c.uid) for c in claims]

    async def prepare(self, claims: Sequence[ClaimRef], timeout: float = CALL_TIMEOUT) -> dict[str, PrepareResult]:
        """NodePrepareResources for ``claims``; keys are claim UIDs. Raises PluginError for the batch."""
        request = self._pb2.NodePrepareResourcesRequest(claims=self._claims(claims))
        try:
            response = await self._stub.NodePrepareResources(request, timeout=timeout)
        except grpc.aio.AioRpcError as exc:
            raise PluginError(f"NodePrepareResources: {exc.code().name}: {exc.details()}") from None
        results: dict[str, PrepareResult] = {}
        wanted = {c.uid: c for c in claims}
        for uid, answer in response.claims.items():
            if uid not in wanted:
                raise PluginError(f"NodePrepareResources returned result for unknown claim UID {uid}")
            if answer.error:
                results[uid] = PrepareResult(error=answer.error)
                continue
            devices = []
            for device in answer.devices:
                share_id = device.share_id if self.version == "v1.DRAPlugin" and device.HasField("share_id") \
                    else None
                devices.append(PreparedDevice(
                    request_names=list(device.request_names), pool_name=device.pool_name,
                    device_name=device.device_name, cdi_device_ids=list(device.cdi_device_ids),
                    share_id=share_id,
                ))
            results[uid] = PrepareResult(devices=devices)
        return results

    async def unprepare(self, claims: Sequence[ClaimRef], timeout: float = CALL_TIMEOUT) -> dict[str, str]:
        """NodeUnprepareResources; returns claim UID -> error ("" = success)."""
        request = self._pb2.NodeUnprepareResourcesRequest(claims=self._claims(claims))
        try:
            response = await self._stub.NodeUnprepareResources(request, timeout=timeout)
        except grpc.aio.AioRpcError as exc:
            raise PluginError(f"NodeUnprepareResources: {exc.code().name}: {exc.details()}") from None
        errors = {uid: answer.error for uid, answer in response.claims.items()}
        for claim in claims:
            if claim.uid not in errors:
                errors[claim.uid] = "NodeUnprepareResources skipped the claim"
        return errors

    async def close(self) -> None:
        await self.channel.close(grace=None)


class PluginManager:
    """The registry of DRA plugin instances on this node."""

    def __init__(self, on_driver_gone: Callable[[str], Awaitable[None]] | None = None,
                 wipe_delay: float = SLICE_WIPE_DELAY) -> None:
        self._plugins: dict[str, DRAPlugin] = {}  # endpoint -> plugin
        self._on_driver_gone = on_driver_gone
        self._wipe_delay = wipe_delay
        self._wipes: dict[str, asyncio.Task[None]] = {}
        self.changed = asyncio.Event()
        # Optional listeners (the health manager): a plugin registered with the versions it offered / gone.
        self.on_registered: Callable[[DRAPlugin, list[str]], None] | None = None
        self.on_deregistered: Callable[[DRAPlugin], None] | None = None

    def register(self, driver: str, endpoint: str, versions: Sequence[str]) -> DRAPlugin:
        version = choose_version(versions)
        existing = self._plugins.get(endpoint)
        if existing is not None:
            raise PluginError(f"endpoint {endpoint} already registered for DRA driver plugin {existing.driver}")
        plugin = DRAPlugin(driver, endpoint, version)
        self._plugins[endpoint] = plugin
        wipe = self._wipes.pop(driver, None)
        if wipe is not None:
            wipe.cancel()
        log.info("registered DRA plugin %s at %s (%s)", driver, endpoint, version)
        if self.on_registered is not None:
            self.on_registered(plugin, list(versions))
        self._notify()
        return plugin

    async def deregister(self, endpoint: str) -> None:
        plugin = self._plugins.pop(endpoint, None)
        if plugin is None:
            return
        if self.on_deregistered is not None:
            self.on_deregistered(plugin)
        await plugin.close()
        log.info("deregistered DRA plugin %s at %s", plugin.driver, endpoint)
        if not any(p.driver == plugin.driver for p in self._plugins.values()) and self._on_driver_gone:
            self._wipes[plugin.driver] = asyncio.create_task(self._wipe_later(plugin.driver))
        self._notify()

    async def _wipe_later(self, driver: str) -> None:
        await asyncio.sleep(self._wipe_delay)
        self._wipes.pop(driver, None)
        if self._on_driver_gone is not None and not any(p.driver == driver for p in self._plugins.values()):
            try:
                await self._on_driver_gone(driver)
            except Exception:  # logged; the next start of the kubelet wipes again
                log.exception("wiping ResourceSlices of driver %s failed", driver)

    def _notify(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()

    def get(self, driver: str) -> DRAPlugin:
        """The most recently registered instance of ``driver``."""
        candidates = [p for p in self._plugins.values() if p.driver == driver]
        if not candidates:
            raise PluginError(f"DRA driver {driver} is not registered")
        return max(candidates, key=lambda p: p.registered_at)

    def drivers(self) -> list[str]:
        return sorted({p.driver for p in self._plugins.values()})

    def endpoints(self) -> list[str]:
        return sorted(self._plugins)

    async def close(self) -> None:
        for task in self._wipes.values():
            task.cancel()
        self._wipes.clear()
        for endpoint in list(self._plugins):
            plugin = self._plugins.pop(endpoint)
            await plugin.close()
