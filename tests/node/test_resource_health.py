"""Device health: the SDK's NodeWatchResources stream and the kubelet turning it into pod status.

Real gRPC over unix sockets, the real API server (fixture) and the kubelet in this
process with the ResourceHealthStatus gate on; the pod's container is a real process.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import grpc
import pytest
from lightkube.types import PatchType

from kubedra.api.features import FeatureGates
from kubedra.node.kubelet.apiclient import Pod, ResourceClaim, as_dict
from kubedra.node.kubelet.kubelet import Kubelet, KubeletConfig
from kubedra.node.plugin import (
    Claim,
    ClaimRef,
    ContainerEdits,
    DeviceHealth,
    DriverPlugin,
    PluginOptions,
    PreparedDevice,
    PrepareResult,
)
from kubedra.node.plugin.kubeapi import ResourceClaimStatus, async_client
from kubedra.node.plugin.proto import dra_health_v1alpha1_pb2 as pb
from kubedra.node.plugin.proto import dra_health_v1alpha1_pb2_grpc as pb_grpc
from kubedra.node.plugin.proto import pluginregistration_pb2, pluginregistration_pb2_grpc

DRIVER = "health.example.com"
NODE = "health-node"


class EnvDriver:
    def prepare(self, claims: Sequence[Claim]) -> Mapping[str, PrepareResult]:
        return {c.uid: PrepareResult(devices=[
            PreparedDevice.for_result(d, edits=ContainerEdits(env=[f"DEV={d.device}"])) for d in c.devices])
            for c in claims}

    def unprepare(self, claims: Sequence[ClaimRef]) -> Mapping[str, str | None]:
        return {}


async def _until(what: str, check: Callable[[], Awaitable[Any]], timeout: float = 20.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value:
            return value
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


def test_stream_sends_the_complete_list_at_once_and_after_each_change() -> None:
    root = Path(tempfile.mkdtemp(prefix="kd-", dir="/tmp"))

    async def main() -> None:
        options = PluginOptions(driver_name=DRIVER, node_name=NODE, kubelet_root=root, cdi_dir=root / "cdi",
                                resource_health=True, publish=False)
        plugin = DriverPlugin(EnvDriver(), options, None)
        plugin.report_health([DeviceHealth("p", "dev-0", "Healthy"), DeviceHealth("p", "dev-1", "Healthy")])
        await plugin.start()
        try:
            async with grpc.aio.insecure_channel(f"unix://{options.registration_socket}") as channel:
                info = await pluginregistration_pb2_grpc.RegistrationStub(channel).GetInfo(
                    pluginregistration_pb2.InfoRequest())
                assert list(info.supported_versions) == ["v1.DRAPlugin", "v1beta1.DRAPlugin",
                                                         "v1alpha1.DRAResourceHealth"]
            async with grpc.aio.insecure_channel(f"unix://{options.dra_socket}") as channel:
                stream = pb_grpc.DRAResourceHealthStub(channel).NodeWatchResources(pb.NodeWatchResourcesRequest())
                first = await stream.read()
                assert {(d.device.device_name, d.health) for d in first.devices} == \
                    {("dev-0", pb.HEALTHY), ("dev-1", pb.HEALTHY)}
                stamp = {d.device.device_name: d.last_updated_time for d in first.devices}
                # From another thread, as a driver's health checker would.
                await asyncio.to_thread(plugin.report_health,
                                        [DeviceHealth("p", "dev-1", "Unhealthy", "ECC errors", 10)], complete=False)
                second = await stream.read()
                by_name = {d.device.device_name: d for d in second.devices}
                assert by_name["dev-1"].health == pb.UNHEALTHY and by_name["dev-1"].message == "ECC errors"
                assert by_name["dev-1"].health_check_timeout_seconds == 10
                assert by_name["dev-0"].health == pb.HEALTHY
                assert by_name["dev-0"].last_updated_time == stamp["dev-0"]  # unchanged device, same time
                plugin.report_health([DeviceHealth("p", "dev-0", "Healthy")])  # complete list: dev-1 dropped
                third = await stream.read()
                assert [d.device.device_name for d in third.devices] == ["dev-0"]
                stream.cancel()
            with pytest.raises(ValueError, match="device p/x: health 'Sick' is not one of"):
                DeviceHealth("p", "x", "Sick")
        finally:
            await plugin.stop()

    try:
        asyncio.run(main())
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_kubelet_reports_device_health_in_container_status(apiserver: Any) -> None:
    root = Path(tempfile.mkdtemp(prefix="kd-", dir="/tmp"))

    async def main() -> None:
        gates = FeatureGates({"ResourceHealthStatus": True})
        kubelet = Kubelet(KubeletConfig(node_name=NODE, root=root, kubeconfig=Path(apiserver.kubeconfig),
                                        feature_gates=gates))
        kubelet_started = False
        client = async_client(Path(apiserver.kubeconfig))
        options = PluginOptions(driver_name=DRIVER, node_name=NODE, kubelet_root=root, cdi_dir=root / "cdi",
                                cdi_class="dev", resource_health=True, publish=False)
        plugin = DriverPlugin(EnvDriver(), options, client)
        try:
            await kubelet.start()
            kubelet_started = True
            plugin.report_health([DeviceHealth(NODE, "dev-0", "Healthy")])
            await plugin.start()
            await _until("plugin registration", lambda: _true(kubelet.plugins.drivers() == [DRIVER]))
            claim = as_dict(await client.create(ResourceClaim({
                "apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim", "metadata": {"name": "dev"},
                "spec": {"devices": {"requests": [{"name": "req", "exactly": {"deviceClassName": "x"}}]}}}),
                namespace="default"))
            pod = as_dict(await client.create(Pod({
                "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "user"},
                "spec": {"nodeName": NODE, "terminationGracePeriodSeconds": 1,
                         "resourceClaims": [{"name": "dev", "resourceClaimName": "dev"}],
                         "containers": [{"name": "c", "image": "busybox", "command": ["sleep", "60"],
                                         "resources": {"claims": [{"name": "dev", "request": "req"}]}}]}}),
                namespace="default"))
            await client.patch(ResourceClaimStatus, "dev", {"status": {
                "allocation": {"devices": {"results": [
                    {"request": "req", "driver": DRIVER, "pool": NODE, "device": "dev-0"}]}},
                "reservedFor": [{"resource": "pods", "name": "user", "uid": pod["metadata"]["uid"]}]}},
                namespace="default", patch_type=PatchType.MERGE)
            resource_id = f"k8s.{DRIVER}/dev={claim['metadata']['uid']}-dev-0"

            async def health() -> Any:
                current = as_dict(await client.get(Pod, "user", namespace="default"))
                statuses = (current.get("status") or {}).get("containerStatuses") or [{}]
                return statuses[0].get("allocatedResourcesStatus")

            async def shows(expected: list[dict[str, Any]]) -> bool:
                return await health() == [{"name": "claim:dev/req", "resources": expected}]

            await _until("Healthy in the pod status", lambda: shows([{"resourceID": resource_id, "health": "Healthy"}]))
            plugin.report_health([DeviceHealth(NODE, "dev-0", "Unhealthy", "XID 79")])
            await _until("Unhealthy in the pod status", lambda: shows(
                [{"resourceID": resource_id, "health": "Unhealthy", "message": "XID 79"}]))
            await plugin.stop()  # the stream ends: the driver's health is forgotten
            await _until("Unknown after the plugin left", lambda: shows(
                [{"resourceID": resource_id, "health": "Unknown"}]))
        finally:
            await plugin.stop()
            if kubelet_started:
                await kubelet.stop()
            await client.close()

    try:
        asyncio.run(main())
    finally:
        shutil.rmtree(root, ignore_errors=True)


async def _true(value: bool) -> bool:
    return value
