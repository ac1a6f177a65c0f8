"""DriverPlugin: runs a driver as a kubelet DRA plugin (what Go's ``kubeletplugin`` helper does).

Start order matters: reconcile CDI specs from the checkpoint, serve the DRA socket,
and only then create the registration socket — the kubelet registers the plugin as
soon as that socket appears and may call Prepare right away. Stop removes the
sockets (the kubelet deregisters the plugin) but keeps the ResourceSlices: a
restarting driver should not make its devices vanish from the scheduler.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from lightkube import AsyncClient

from kubedra.node.plugin.checkpoint import Checkpoint
from kubedra.node.plugin.claims import ClaimRef
from kubedra.node.plugin.device_status import DeviceStatus, write_device_status
from kubedra.node.plugin.dra_service import DRAPluginV1, DRAPluginV1beta1, DRAService
from kubedra.node.plugin.driver import Driver
from kubedra.node.plugin.health import HealthService
from kubedra.node.plugin.proto import (
    dra_health_v1alpha1_pb2_grpc,
    dra_v1_pb2_grpc,
    dra_v1beta1_pb2_grpc,
    health_pb2_grpc,
)
from kubedra.node.plugin.proto import pluginregistration_pb2_grpc as reg_grpc
from kubedra.node.plugin.registration import RegistrationService
from kubedra.node.plugin.resource_health import SERVICE_VERSION as HEALTH_SERVICE_VERSION
from kubedra.node.plugin.resource_health import DeviceHealth, HealthReporter
from kubedra.node.plugin.slices import DriverResources, SlicePublisher
from kubedra.node.plugin.state import ClaimState

log = logging.getLogger(__name__)

DEFAULT_KUBELET_ROOT = Path("/var/lib/kubelet")
MAX_SOCKET_PATH = 107  # bytes, AF_UNIX sun_path minus the terminating NUL


@dataclass
class PluginOptions:
    """Where the plugin lives and how it behaves; defaults match the Go helper."""

    driver_name: str
    node_name: str
    kubelet_root: Path = DEFAULT_KUBELET_ROOT
    registrar_dir: Path | None = None  # default <kubelet root>/plugins_registry
    plugin_dir: Path | None = None  # default <kubelet root>/plugins/<driver>
    cdi_dir: Path = Path("/var/run/cdi")
    cdi_class: str = "device"
    cdi_vendor: str | None = None  # default k8s.<driver>
    pod_uid: str | None = None  # rolling update: per-pod socket names + flock
    serialize: bool = True
    v1: bool = True
    v1beta1: bool = True
    healthcheck_port: int = -1  # -1 disabled, 0 random
    publish: bool = True
    slice_min_interval: float = 0.5
    extra_versions: list[str] = field(default_factory=list)
    resource_health: bool = False  # serve v1alpha1.DRAResourceHealth (report with DriverPlugin.report_health)

    def __post_init__(self) -> None:
        if not self.driver_name or len(self.driver_name) > 63:
            raise ValueError(
                f"driver name {self.driver_name!r}: must be a DNS subdomain of at most 63 characters"
            )
        if not self.v1 and not self.v1beta1:
            raise ValueError("at least one of the v1 and v1beta1 DRAPlugin services must be enabled")

    @property
    def registrar_path(self) -> Path:
        return self.registrar_dir or self.kubelet_root / "plugins_registry"

    @property
    def plugin_path(self) -> Path:
        return self.plugin_dir or self.kubelet_root / "plugins" / self.driver_name

    @property
    def registration_socket(self) -> Path:
        suffix = f"-{self.pod_uid}" if self.pod_uid else ""
        return self.registrar_path / f"{self.driver_name}{suffix}-reg.sock"

    @property
    def dra_socket(self) -> Path:
        return self.plugin_path / (f"dra-{self.pod_uid}.sock" if self.pod_uid else "dra.sock")

    @property
    def vendor(self) -> str:
        return self.cdi_vendor or f"k8s.{self.driver_name}"

    def supported_versions(self) -> list[str]:
        versions = (["v1.DRAPlugin"] if self.v1 else []) + (["v1beta1.DRAPlugin"] if self.v1beta1 else [])
        return versions + ([HEALTH_SERVICE_VERSION] if self.resource_health else []) + self.extra_versions


class DriverPlugin:
    """One driver's kubelet plugin: ``await start()``, publish resources, ``await stop()``."""

    def __init__(self, driver: Driver, options: PluginOptions, client: AsyncClient | None) -> None:
        self.driver = driver
        self.options = options
        self.client = client
        o = options
        for sock in (o.registration_socket, o.dra_socket):
            sock = sock.absolute()
            if len(os.fsencode(sock)) > MAX_SOCKET_PATH:
                raise ValueError(f"socket path {sock} is longer than {MAX_SOCKET_PATH} bytes (AF_UNIX limit)")
        self.checkpoint = Checkpoint(o.plugin_path / "checkpoint.json")
        self.state = ClaimState(driver, self.checkpoint, o.cdi_dir, o.vendor, o.cdi_class, o.driver_name)
        self.service = DRAService(
            self.state,
            client,
            o.driver_name,
            serialize=o.serialize,
            lock_file=o.plugin_path / "serialize.lock" if o.pod_uid else None,
        )
        self.registration = RegistrationService(
            o.driver_name, str(o.dra_socket.absolute()), o.supported_versions()
        )
        self.publisher = (
            SlicePublisher(client, o.driver_name, o.node_name, min_interval=o.slice_min_interval)
            if (client is not None and o.publish)
            else None
        )
        self.health = HealthReporter()
        self.reconciled: list[str] = []  # claim UIDs whose CDI spec was re-created at start
        self.reconcile_errors: dict[str, str] = {}
        self.healthcheck_port: int | None = None
        self._dra_server: grpc.aio.Server | None = None
        self._reg_server: grpc.aio.Server | None = None
        self._health_server: grpc.aio.Server | None = None
        self._publisher_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        o = self.options
        o.plugin_path.mkdir(parents=True, exist_ok=True, mode=0o750)
        o.registrar_path.mkdir(parents=True, exist_ok=True)
        self.reconciled, self.reconcile_errors = await asyncio.to_thread(self.state.reconcile)
        self._dra_server = grpc.aio.server()
        if o.v1:
            dra_v1_pb2_grpc.add_DRAPluginServicer_to_server(DRAPluginV1(self.service), self._dra_server)
        if o.v1beta1:
            dra_v1beta1_pb2_grpc.add_DRAPluginServicer_to_server(
                DRAPluginV1beta1(self.service), self._dra_server
            )
        if o.resource_health:
            self.health.bind(asyncio.get_running_loop())
            dra_health_v1alpha1_pb2_grpc.add_DRAResourceHealthServicer_to_server(self.health, self._dra_server)
        await self._serve_unix(self._dra_server, o.dra_socket)
        self._reg_server = grpc.aio.server()
        reg_grpc.add_RegistrationServicer_to_server(self.registration, self._reg_server)
        await self._serve_unix(self._reg_server, o.registration_socket)
        if o.healthcheck_port >= 0:
            self._health_server = grpc.aio.server()
            health_pb2_grpc.add_HealthServicer_to_server(
                HealthService(str(o.registration_socket.absolute()), str(o.dra_socket.absolute())),
                self._health_server,
            )
            self.healthcheck_port = self._health_server.add_insecure_port(f"[::]:{o.healthcheck_port}")
            await self._health_server.start()
        if self.publisher is not None:
            self._publisher_task = asyncio.create_task(self.publisher.run())
        log.info(
            "DRA plugin %s serving %s, registration %s", o.driver_name, o.dra_socket, o.registration_socket
        )

    @staticmethod
    async def _serve_unix(server: grpc.aio.Server, path: Path) -> None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # a stale socket from a previous run
        server.add_insecure_port(f"unix://{path.absolute()}")
        await server.start()

    def publish_resources(self, resources: DriverResources) -> None:
        """Offer ``resources`` as ResourceSlices (written asynchronously, rate-limited)."""
        if self.publisher is None:
            raise RuntimeError("resource publishing is disabled (no client or publish=False)")
        self.publisher.update(resources)

    def report_health(self, devices: list[DeviceHealth], *, complete: bool = True) -> None:
        """Tell connected kubelets the health of ``devices`` (any thread).

        ``complete``: the list is every device of the driver (others are dropped, and a
        kubelet turns them Unknown); otherwise only these devices change.
        """
        if not self.options.resource_health:
            raise RuntimeError("the health stream is disabled (PluginOptions.resource_health=False)")
        if complete:
            self.health.set(devices)
        else:
            self.health.update(devices)

    async def set_device_status(self, claim: ClaimRef, devices: list[DeviceStatus]) -> bool:
        """Write this driver's ``status.devices`` entries for ``devices`` of ``claim`` (others are kept).

        For status that changes after Prepare (e.g. network data once an interface is
        up); status known at Prepare is simpler to return in ``PrepareResult.device_status``.
        Raises DeviceStatusError naming the claim.
        """
        if self.client is None:
            raise RuntimeError("no Kubernetes client configured")
        return await write_device_status(
            self.client, self.options.driver_name, claim, [d.to_json(self.options.driver_name) for d in devices]
        )

    async def stop(self, grace: float = 1.0) -> None:
        """Stop serving: DRA server, then registration (sockets removed), then the publisher."""
        o = self.options
        if self._health_server is not None:
            await self._health_server.stop(grace)
        if self._dra_server is not None:
            await self._dra_server.stop(grace)
        with contextlib.suppress(FileNotFoundError):
            o.dra_socket.unlink()
        if self._reg_server is not None:
            await self._reg_server.stop(grace)
        with contextlib.suppress(FileNotFoundError):
            o.registration_socket.unlink()
        if self._publisher_task is not None:
            self._publisher_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._publisher_task
