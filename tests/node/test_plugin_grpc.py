"""The SDK's gRPC surface, driven the way the kubelet drives it: real unix sockets, generated stubs."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest

from kubedra.node.plugin import ClaimRef, DriverPlugin, PluginOptions, PrepareResult
from kubedra.node.plugin.claims import Claim
from kubedra.node.plugin.proto import (
    dra_v1_pb2,
    dra_v1_pb2_grpc,
    dra_v1beta1_pb2,
    dra_v1beta1_pb2_grpc,
    health_pb2,
    health_pb2_grpc,
    pluginregistration_pb2,
    pluginregistration_pb2_grpc,
)


@contextmanager
def short_tmp() -> Iterator[Path]:
    """A temp dir with a short path: unix socket paths must stay under 108 bytes."""
    path = Path(tempfile.mkdtemp(prefix="kd-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


class NullDriver:
    def __init__(self) -> None:
        self.unprepared: list[str] = []

    def prepare(self, claims: Sequence[Claim]) -> Mapping[str, PrepareResult]:
        return {c.uid: PrepareResult() for c in claims}

    def unprepare(self, claims: Sequence[ClaimRef]) -> Mapping[str, str | None]:
        self.unprepared += [c.uid for c in claims]
        return {}


def _options(root: Path, **kw: object) -> PluginOptions:
    return PluginOptions(
        driver_name="null.example.com",
        node_name="node1",
        kubelet_root=root,
        cdi_dir=root / "cdi",
        **kw,  # type: ignore[arg-type]
    )


def test_registration_dra_services_health_and_stop() -> None:
    async def scenario(tmp_path: Path) -> None:
        plugin = DriverPlugin(NullDriver(), _options(tmp_path, healthcheck_port=0), client=None)
        await plugin.start()
        reg = tmp_path / "plugins_registry" / "null.example.com-reg.sock"
        dra = tmp_path / "plugins" / "null.example.com" / "dra.sock"
        assert reg.is_socket() and dra.is_socket()
        async with grpc.aio.insecure_channel(f"unix://{reg}") as ch:
            stub = pluginregistration_pb2_grpc.RegistrationStub(ch)
            info = await stub.GetInfo(pluginregistration_pb2.InfoRequest(), timeout=1)
            assert (info.type, info.name, info.endpoint) == ("DRAPlugin", "null.example.com", str(dra))
            assert list(info.supported_versions) == ["v1.DRAPlugin", "v1beta1.DRAPlugin"]
            await stub.NotifyRegistrationStatus(
                pluginregistration_pb2.RegistrationStatus(plugin_registered=True)
            )
            assert plugin.registration.registered is True
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await stub.NotifyRegistrationStatus(
                    pluginregistration_pb2.RegistrationStatus(plugin_registered=False, error="bad endpoint")
                )
            assert err.value.details() == "failed registration process: bad endpoint"
        async with grpc.aio.insecure_channel(f"unix://{dra}") as ch:
            v1 = dra_v1_pb2_grpc.DRAPluginStub(ch)
            empty = await v1.NodePrepareResources(dra_v1_pb2.NodePrepareResourcesRequest(), timeout=5)
            assert len(empty.claims) == 0
            claim = dra_v1_pb2.Claim(namespace="ns", name="gone", uid="uid-unknown")
            un = await v1.NodeUnprepareResources(
                dra_v1_pb2.NodeUnprepareResourcesRequest(claims=[claim]), timeout=5
            )
            assert un.claims["uid-unknown"].error == ""  # unknown claim on Unprepare is a success
            # without an API client every claim still gets its own answer
            prep = await v1.NodePrepareResources(
                dra_v1_pb2.NodePrepareResourcesRequest(claims=[claim]), timeout=5
            )
            assert "no Kubernetes client" in prep.claims["uid-unknown"].error
            beta = dra_v1beta1_pb2_grpc.DRAPluginStub(ch)
            claim_b = dra_v1beta1_pb2.Claim(namespace="ns", name="gone", uid="uid-b")
            un_b = await beta.NodeUnprepareResources(
                dra_v1beta1_pb2.NodeUnprepareResourcesRequest(claims=[claim_b]), timeout=5
            )
            assert list(un_b.claims) == ["uid-b"]
        assert plugin.healthcheck_port
        async with grpc.aio.insecure_channel(f"127.0.0.1:{plugin.healthcheck_port}") as ch:
            health = health_pb2_grpc.HealthStub(ch)
            for service in ("", "liveness"):
                answer = await health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
                assert answer.status == health_pb2.HealthCheckResponse.SERVING
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await health.Check(health_pb2.HealthCheckRequest(service="other"), timeout=5)
            assert err.value.code() == grpc.StatusCode.NOT_FOUND
            dra.unlink()  # a plugin whose DRA socket vanished is not alive
            answer = await health.Check(health_pb2.HealthCheckRequest(service="liveness"), timeout=5)
            assert answer.status == health_pb2.HealthCheckResponse.NOT_SERVING
        await plugin.stop()
        assert not reg.exists() and not dra.exists()

    with short_tmp() as tmp:
        asyncio.run(scenario(tmp))


def test_rolling_update_socket_names_and_stale_socket() -> None:
    async def scenario(tmp_path: Path) -> None:
        opts = _options(tmp_path, pod_uid="pod-1234")
        assert opts.registration_socket.name == "null.example.com-pod-1234-reg.sock"
        assert opts.dra_socket.name == "dra-pod-1234.sock"
        opts.registrar_path.mkdir(parents=True)
        opts.registration_socket.write_text("stale")  # left over by a killed instance
        plugin = DriverPlugin(NullDriver(), opts, client=None)
        await plugin.start()
        assert opts.registration_socket.is_socket()
        async with grpc.aio.insecure_channel(f"unix://{opts.registration_socket}") as ch:
            info = await pluginregistration_pb2_grpc.RegistrationStub(ch).GetInfo(
                pluginregistration_pb2.InfoRequest()
            )
            assert info.endpoint == str(opts.dra_socket)
        await plugin.stop()

    with short_tmp() as tmp:
        asyncio.run(scenario(tmp))


def test_bad_options_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="longer than 107 bytes"):
        DriverPlugin(NullDriver(), _options(tmp_path / ("x" * 120)), client=None)
    with pytest.raises(ValueError, match="at least one of the v1 and v1beta1"):
        _options(tmp_path, v1=False, v1beta1=False)
    with pytest.raises(ValueError, match="driver name"):
        PluginOptions(driver_name="", node_name="n")
