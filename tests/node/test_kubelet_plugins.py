"""The kubelet side of plugin registration and the DRA gRPC calls, over real unix sockets.

The plugin side is the SDK's RegistrationService (what real drivers serve) plus a
DRAPlugin servicer that records calls, so the tests see exactly what the kubelet sends.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import grpc
import pytest

from kubedra.node.kubelet.plugin_watcher import PluginWatcher
from kubedra.node.kubelet.plugins import ClaimRef, PluginError, PluginManager, choose_version
from kubedra.node.plugin.proto import (
    dra_v1_pb2,
    dra_v1_pb2_grpc,
    dra_v1beta1_pb2,
    dra_v1beta1_pb2_grpc,
    pluginregistration_pb2_grpc,
)
from kubedra.node.plugin.registration import RegistrationService


@contextmanager
def short_tmp() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="kl-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


class RecordingDRA:
    """Answers Prepare with one device per claim, fails claims named ``bad-*``; records every call."""

    def __init__(self, pb2: Any) -> None:
        self.pb2 = pb2
        self.prepared: list[list[str]] = []
        self.unprepared: list[list[str]] = []

    async def NodePrepareResources(self, request: Any, context: Any) -> Any:
        self.prepared.append([c.name for c in request.claims])
        answer = self.pb2.NodePrepareResourcesResponse()
        for claim in request.claims:
            entry = answer.claims[claim.uid]
            if claim.name.startswith("bad-"):
                entry.error = "device is on fire"
            elif not claim.name.startswith("skip-"):
                entry.devices.append(self.pb2.Device(
                    request_names=["gpu"], pool_name="node1", device_name=f"gpu-{claim.name}",
                    cdi_device_ids=[f"k8s.test/gpu={claim.uid}"]))
        return answer

    async def NodeUnprepareResources(self, request: Any, context: Any) -> Any:
        self.unprepared.append([c.name for c in request.claims])
        answer = self.pb2.NodeUnprepareResourcesResponse()
        for claim in request.claims:
            answer.claims[claim.uid].error = ""
        return answer


@asynccontextmanager
async def plugin_server(root: Path, driver: str, versions: list[str],
                        endpoint: Path | None = None) -> AsyncIterator[tuple[RegistrationService, dict[str, Any]]]:
    """A plugin serving the DRA socket first, then the registration socket (node.md §1)."""
    dra_path = endpoint or root / "plugins" / driver / "dra.sock"
    dra_path.parent.mkdir(parents=True, exist_ok=True)
    dra_server = grpc.aio.server()
    services = {"v1": RecordingDRA(dra_v1_pb2), "v1beta1": RecordingDRA(dra_v1beta1_pb2)}
    dra_v1_pb2_grpc.add_DRAPluginServicer_to_server(services["v1"], dra_server)  # type: ignore[no-untyped-call]
    dra_v1beta1_pb2_grpc.add_DRAPluginServicer_to_server(services["v1beta1"], dra_server)  # type: ignore[no-untyped-call]
    dra_server.add_insecure_port(f"unix:{dra_path}")
    await dra_server.start()
    registration = RegistrationService(driver, str(dra_path), versions)
    reg_server = grpc.aio.server()
    pluginregistration_pb2_grpc.add_RegistrationServicer_to_server(registration, reg_server)  # type: ignore[no-untyped-call]
    reg_path = root / "plugins_registry" / f"{driver}-reg.sock"
    reg_path.parent.mkdir(parents=True, exist_ok=True)
    reg_server.add_insecure_port(f"unix:{reg_path}")
    await reg_server.start()
    try:
        yield registration, services
    finally:
        await reg_server.stop(None)
        await dra_server.stop(None)
        reg_path.unlink(missing_ok=True)


async def _until(predicate: Any, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


def test_choose_version_prefers_plugin_order_and_reports_upstream_errors() -> None:
    assert choose_version(["v1.DRAPlugin", "v1beta1.DRAPlugin"]) == "v1.DRAPlugin"
    assert choose_version(["v1beta1.DRAPlugin", "v1.DRAPlugin"]) == "v1beta1.DRAPlugin"
    assert choose_version(["v1alpha1.DRAResourceHealth", "v1beta1.DRAPlugin"]) == "v1beta1.DRAPlugin"
    with pytest.raises(PluginError, match=r"^empty list of supported gRPC services"):
        choose_version([])
    with pytest.raises(PluginError, match=r"none of services supported by the plugin \(v1beta1\) are supported"):
        choose_version(["v1beta1"])


@pytest.mark.parametrize("versions,used", [(["v1.DRAPlugin", "v1beta1.DRAPlugin"], "v1"),
                                           (["v1beta1.DRAPlugin"], "v1beta1")])
def test_watcher_registers_calls_and_deregisters(versions: list[str], used: str) -> None:
    async def scenario(root: Path) -> None:
        gone: list[str] = []

        async def on_gone(driver: str) -> None:
            gone.append(driver)

        manager = PluginManager(on_driver_gone=on_gone, wipe_delay=0.2)
        watcher = PluginWatcher(root / "plugins_registry", root, manager, scan_interval=0.05)
        task = asyncio.create_task(watcher.run())
        try:
            async with plugin_server(root, "gpu.example.com", versions) as (registration, services):
                await _until(lambda: registration.registered is True)
                plugin = manager.get("gpu.example.com")
                assert plugin.version == f"{used}.DRAPlugin"
                claims = [ClaimRef("default", "a", "uid-a"), ClaimRef("default", "bad-b", "uid-b"),
                          ClaimRef("default", "skip-c", "uid-c")]
                answers = await plugin.prepare(claims)
                assert services[used].prepared == [["a", "bad-b", "skip-c"]]
                assert answers["uid-a"].devices[0].cdi_device_ids == ["k8s.test/gpu=uid-a"]
                assert answers["uid-a"].devices[0].request_names == ["gpu"]
                assert answers["uid-b"].error == "device is on fire"
                assert answers["uid-c"].devices == []
                assert await plugin.unprepare(claims[:1]) == {"uid-a": ""}
            # Socket removed: deregistered, and the driver's slices are wiped after the delay.
            await _until(lambda: manager.drivers() == [])
            with pytest.raises(PluginError, match=r"DRA driver gpu\.example\.com is not registered"):
                manager.get("gpu.example.com")
            await _until(lambda: gone == ["gpu.example.com"])
        finally:
            task.cancel()
            await manager.close()

    with short_tmp() as root:
        asyncio.run(scenario(root))


def test_reconnect_within_the_delay_cancels_the_slice_wipe() -> None:
    async def scenario(root: Path) -> None:
        gone: list[str] = []

        async def on_gone(driver: str) -> None:
            gone.append(driver)

        manager = PluginManager(on_driver_gone=on_gone, wipe_delay=0.5)
        watcher = PluginWatcher(root / "plugins_registry", root, manager, scan_interval=0.05)
        task = asyncio.create_task(watcher.run())
        try:
            async with plugin_server(root, "gpu.example.com", ["v1.DRAPlugin"]) as (registration, _):
                await _until(lambda: registration.registered is True)
            await _until(lambda: manager.drivers() == [])
            async with plugin_server(root, "gpu.example.com", ["v1.DRAPlugin"]) as (registration, _):
                await _until(lambda: registration.registered is True)
                await asyncio.sleep(0.8)
                assert gone == []
        finally:
            task.cancel()
            await manager.close()

    with short_tmp() as root:
        asyncio.run(scenario(root))


def test_rejected_plugins_are_told_why() -> None:
    async def scenario(root: Path) -> None:
        manager = PluginManager()
        watcher = PluginWatcher(root / "plugins_registry", root, manager, scan_interval=0.05)
        task = asyncio.create_task(watcher.run())
        try:
            async with plugin_server(root, "old.example.com", ["v1alpha3.Node"]) as (registration, _):
                await _until(lambda: registration.registered is False)
                assert registration.error.startswith("RegisterPlugin error -- plugin validation failed with err: "
                                                     "none of services supported by the plugin (v1alpha3.Node)")
            outside = Path(tempfile.mkdtemp(prefix="kl-out-", dir="/tmp"))
            try:
                async with plugin_server(root, "out.example.com", ["v1.DRAPlugin"],
                                         endpoint=outside / "dra.sock") as (registration, _):
                    await _until(lambda: registration.registered is False)
                    assert "is not inside the kubelet root directory" in registration.error
            finally:
                shutil.rmtree(outside, ignore_errors=True)
            assert manager.drivers() == []
        finally:
            task.cancel()
            await manager.close()

    with short_tmp() as root:
        asyncio.run(scenario(root))


def test_prepare_timeout_and_dead_plugin_are_batch_errors() -> None:
    async def scenario(root: Path) -> None:
        manager = PluginManager()
        sock = root / "plugins" / "x" / "dra.sock"
        sock.parent.mkdir(parents=True)
        plugin = manager.register("x.example.com", str(sock), ["v1.DRAPlugin"])
        with pytest.raises(PluginError, match=r"^NodePrepareResources: UNAVAILABLE"):
            await plugin.prepare([ClaimRef("default", "a", "uid-a")], timeout=1)
        with pytest.raises(PluginError, match=r"already registered for DRA driver plugin x.example.com"):
            manager.register("x.example.com", str(sock), ["v1.DRAPlugin"])
        await manager.close()

    with short_tmp() as root:
        asyncio.run(scenario(root))
