"""gpu.example.com as a real process against the real embedded API server; the test is the kubelet.

Claims with allocations are written over HTTP; the driver is ``kubedra driver example``
in a subprocess; Prepare/Unprepare go over its unix socket with the generated stubs.
Crash safety: the driver SIGKILLs itself at each named point (``KUBEDRA_FAILPOINTS``)
and a restarted driver must give the same answer and leave nothing behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx2 as httpx
import pytest

from kubedra.node.plugin.proto import (
    dra_v1_pb2,
    dra_v1_pb2_grpc,
    dra_v1beta1_pb2,
    dra_v1beta1_pb2_grpc,
    pluginregistration_pb2,
    pluginregistration_pb2_grpc,
)

pytestmark = pytest.mark.slow

DRIVER = "gpu.example.com"
NODE = "node1"
GPU_API = "gpu.resource.example.com/v1alpha1"


class Api:
    """Plain HTTP to the API server (what a user's kubectl would do)."""

    def __init__(self, server: Any) -> None:
        self.http = httpx.Client(
            base_url=server.url,
            headers={"Authorization": f"Bearer {server.token}"},
            verify=ssl.create_default_context(cafile=str(server.ca_file)),
            timeout=10,
        )

    def request(self, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(method, path, json=body)
        assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    def ensure_node(self, name: str) -> dict[str, Any]:
        got = self.http.get(f"/api/v1/nodes/{name}")
        if got.status_code == 200:
            return got.json()
        return self.request(
            "POST", "/api/v1/nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}
        )

    def allocated_claim(
        self, name: str, results: list[tuple[str, str]], configs: list[Any] | None = None
    ) -> str:
        """Create claim ``name`` in ``default`` and give it an allocation; return its UID."""
        path = "/apis/resource.k8s.io/v1/namespaces/default/resourceclaims"
        requests = sorted({r for r, _ in results})
        claim = self.request(
            "POST",
            path,
            {
                "apiVersion": "resource.k8s.io/v1",
                "kind": "ResourceClaim",
                "metadata": {"name": name},
                "spec": {
                    "devices": {
                        "requests": [{"name": r, "exactly": {"deviceClassName": DRIVER}} for r in requests]
                    }
                },
            },
        )
        claim["status"] = {
            "allocation": {
                "devices": {
                    "results": [
                        {"request": r, "driver": DRIVER, "pool": NODE, "device": d} for r, d in results
                    ],
                    "config": configs or [],
                }
            }
        }
        self.request("PUT", f"{path}/{name}/status", claim)
        return str(claim["metadata"]["uid"])

    def slices(self) -> list[dict[str, Any]]:
        items = self.request("GET", "/apis/resource.k8s.io/v1/resourceslices")["items"]
        return [s for s in items if s["spec"].get("driver") == DRIVER and s["spec"].get("nodeName") == NODE]


@dataclass
class Layout:
    root: Path

    @property
    def cdi(self) -> Path:
        return self.root / "cdi"

    @property
    def reg_socket(self) -> Path:
        return self.root / "kubelet" / "plugins_registry" / f"{DRIVER}-reg.sock"

    @property
    def dra_socket(self) -> Path:
        return self.root / "kubelet" / "plugins" / DRIVER / "dra.sock"

    @property
    def checkpoint(self) -> Path:
        return self.root / "kubelet" / "plugins" / DRIVER / "checkpoint.json"

    def cdi_files(self) -> list[str]:
        return sorted(p.name for p in self.cdi.iterdir())


class DriverProcess:
    def __init__(self, layout: Layout, kubeconfig: Path, failpoints: str = "", **extra_env: str) -> None:
        env = dict(
            os.environ,
            NODE_NAME=NODE,
            CDI_ROOT=str(layout.cdi),
            NUM_DEVICES="4",
            KUBEDRA_FAILPOINTS=failpoints,
            **extra_env,
        )
        with contextlib.suppress(FileNotFoundError):
            layout.reg_socket.unlink()
        self.log_path = layout.root / f"driver-{time.monotonic_ns()}.log"
        self.log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kubedra.drivers.example", "--kubelet-root", str(layout.root / "kubelet"),
             "--kubeconfig", str(kubeconfig)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while not layout.reg_socket.is_socket():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"driver did not start: {self.stderr()}")
            time.sleep(0.05)

    def stderr(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_killed(self) -> None:
        assert self.proc.wait(timeout=10) == -signal.SIGKILL

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def _claim_msg(name: str, uid: str) -> dra_v1_pb2.Claim:
    return dra_v1_pb2.Claim(namespace="default", name=name, uid=uid)


def prepare(layout: Layout, claims: list[dra_v1_pb2.Claim]) -> dict[str, Any]:
    with grpc.insecure_channel(f"unix://{layout.dra_socket}") as ch:
        response = dra_v1_pb2_grpc.DRAPluginStub(ch).NodePrepareResources(
            dra_v1_pb2.NodePrepareResourcesRequest(claims=claims), timeout=45
        )
    return {
        uid: {
            "error": r.error,
            "devices": [
                (list(d.request_names), d.pool_name, d.device_name, list(d.cdi_device_ids)) for d in r.devices
            ],
        }
        for uid, r in response.claims.items()
    }


def unprepare(layout: Layout, claims: list[dra_v1_pb2.Claim]) -> dict[str, str]:
    with grpc.insecure_channel(f"unix://{layout.dra_socket}") as ch:
        response = dra_v1_pb2_grpc.DRAPluginStub(ch).NodeUnprepareResources(
            dra_v1_pb2.NodeUnprepareResourcesRequest(claims=claims), timeout=45
        )
    return {uid: r.error for uid, r in response.claims.items()}


def prepared_claims(layout: Layout) -> dict[str, Any]:
    return dict(json.loads(layout.checkpoint.read_text())["data"].get("claims", {}))


def wait_for(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


@pytest.fixture
def layout() -> Iterator[Layout]:
    root = Path(tempfile.mkdtemp(prefix="kd-", dir="/tmp"))  # short: unix socket paths
    try:
        yield Layout(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def api(apiserver: Any) -> Iterator[Api]:
    client = Api(apiserver)
    client.ensure_node(NODE)
    yield client
    client.http.close()


def test_register_prepare_publish_and_unprepare(apiserver: Any, api: Api, layout: Layout) -> None:
    driver = DriverProcess(layout, apiserver.kubeconfig)
    try:
        with grpc.insecure_channel(f"unix://{layout.reg_socket}") as ch:
            reg = pluginregistration_pb2_grpc.RegistrationStub(ch)
            info = reg.GetInfo(pluginregistration_pb2.InfoRequest(), timeout=1)
            assert (
                info.type == "DRAPlugin" and info.name == DRIVER and info.endpoint == str(layout.dra_socket)
            )
            assert list(info.supported_versions) == ["v1.DRAPlugin", "v1beta1.DRAPlugin"]
            reg.NotifyRegistrationStatus(pluginregistration_pb2.RegistrationStatus(plugin_registered=True))
        uid = api.allocated_claim("two-gpus", [("gpu-1", "gpu-1"), ("gpu-2", "gpu-3")])
        answer = prepare(layout, [_claim_msg("two-gpus", uid)])
        assert answer == {
            uid: {
                "error": "",
                "devices": [
                    (
                        ["gpu-1"],
                        NODE,
                        "gpu-1",
                        ["k8s.gpu.example.com/gpu=common", f"k8s.gpu.example.com/gpu={uid}-gpu-1"],
                    ),
                    (
                        ["gpu-2"],
                        NODE,
                        "gpu-3",
                        ["k8s.gpu.example.com/gpu=common", f"k8s.gpu.example.com/gpu={uid}-gpu-3"],
                    ),
                ],
            }
        }
        spec = (layout.cdi / f"k8s.gpu.example.com-gpu_{uid}.yaml").read_text()
        assert (
            f"GPU_DEVICE_3_RESOURCE_CLAIM={uid}" in spec and "GPU_DEVICE_3_TIMESLICE_INTERVAL=Default" in spec
        )
        # v1beta1 gives the same devices
        with grpc.insecure_channel(f"unix://{layout.dra_socket}") as ch:
            beta = dra_v1beta1_pb2_grpc.DRAPluginStub(ch).NodePrepareResources(
                dra_v1beta1_pb2.NodePrepareResourcesRequest(
                    claims=[dra_v1beta1_pb2.Claim(namespace="default", name="two-gpus", uid=uid)]
                )
            )
        assert [d.device_name for d in beta.claims[uid].devices] == ["gpu-1", "gpu-3"]
        # ResourceSlice: one pool named after the node, owned by the Node
        wait_for(lambda: len(api.slices()) == 1)
        (slice_,) = api.slices()
        node_uid = api.request("GET", f"/api/v1/nodes/{NODE}")["metadata"]["uid"]
        assert slice_["metadata"]["ownerReferences"][0]["uid"] == node_uid
        assert slice_["metadata"]["name"].startswith(f"00000-{DRIVER}-{NODE}-")
        assert slice_["spec"]["pool"]["name"] == NODE and slice_["spec"]["pool"]["resourceSliceCount"] == 1
        assert [d["name"] for d in slice_["spec"]["devices"]] == ["gpu-0", "gpu-1", "gpu-2", "gpu-3"]
        assert slice_["spec"]["devices"][0]["capacity"]["memory"]["value"] == "80Gi"
        # someone (the kubelet at start) deletes it: it comes back, with a higher generation
        api.request("DELETE", f"/apis/resource.k8s.io/v1/resourceslices/{slice_['metadata']['name']}")
        wait_for(
            lambda: [s["metadata"]["name"] for s in api.slices()] not in ([], [slice_["metadata"]["name"]])
        )
        assert api.slices()[0]["spec"]["pool"]["generation"] > slice_["spec"]["pool"]["generation"]
        # unknown claim → success; the prepared one is cleaned up
        assert unprepare(layout, [_claim_msg("nope", "uid-unknown"), _claim_msg("two-gpus", uid)]) == {
            "uid-unknown": "",
            uid: "",
        }
        assert layout.cdi_files() == ["k8s.gpu.example.com-gpu_common.yaml"]
        assert prepared_claims(layout) == {}
    finally:
        driver.stop()
    assert not layout.reg_socket.exists() and not layout.dra_socket.exists()


def test_per_claim_errors_in_one_batch(apiserver: Any, api: Api, layout: Layout) -> None:
    bad_config = {
        "source": "FromClaim",
        "requests": [],
        "opaque": {
            "driver": DRIVER,
            "parameters": {
                "apiVersion": GPU_API,
                "kind": "GpuConfig",
                "sharing": {"strategy": "TimeSlicing", "timeSlicingConfig": {"interval": "InvalidInterval"}},
            },
        },
    }
    good = api.allocated_claim("good", [("gpu", "gpu-0")])
    bad = api.allocated_claim("bad-config", [("gpu", "gpu-1")], [bad_config])
    driver = DriverProcess(layout, apiserver.kubeconfig)
    try:
        answer = prepare(
            layout,
            [_claim_msg("good", good), _claim_msg("bad-config", bad), _claim_msg("missing", "uid-x"),
             _claim_msg("good", "uid-stale")],
        )  # fmt: skip
        assert answer[good]["error"] == "" and len(answer[good]["devices"]) == 1
        assert answer[bad]["error"] == "prepare failed: unknown time-slice interval: InvalidInterval"
        assert answer["uid-x"]["error"] == "claim default/missing not found"
        assert answer["uid-stale"]["error"].startswith("claim default/good got replaced")
        assert unprepare(layout, [_claim_msg("good", good), _claim_msg("bad-config", bad)]) == {
            good: "",
            bad: "",
        }
        assert layout.cdi_files() == ["k8s.gpu.example.com-gpu_common.yaml"]
        assert prepared_claims(layout) == {}
    finally:
        driver.stop()


@pytest.mark.parametrize(
    "point", ["prepare-started", "prepare-driver-done", "prepare-cdi-written", "prepare-completed"]
)
def test_killed_during_prepare_gives_same_answer_after_restart(
    apiserver: Any, api: Api, layout: Layout, point: str
) -> None:
    uid = api.allocated_claim(f"crash-{point}", [("gpu", "gpu-2")])
    claim = _claim_msg(f"crash-{point}", uid)
    expected = {
        uid: {
            "error": "",
            "devices": [
                (
                    ["gpu"],
                    NODE,
                    "gpu-2",
                    ["k8s.gpu.example.com/gpu=common", f"k8s.gpu.example.com/gpu={uid}-gpu-2"],
                )
            ],
        }
    }
    crashing = DriverProcess(layout, apiserver.kubeconfig, failpoints=point)
    try:
        with pytest.raises(grpc.RpcError):
            prepare(layout, [claim])
        crashing.wait_killed()
    finally:
        crashing.stop()
    driver = DriverProcess(layout, apiserver.kubeconfig)
    try:
        assert prepare(layout, [claim]) == expected  # the kubelet retries
        assert unprepare(layout, [claim]) == {uid: ""}
        assert layout.cdi_files() == ["k8s.gpu.example.com-gpu_common.yaml"]  # nothing leaked
        assert prepared_claims(layout) == {}
    finally:
        driver.stop()


@pytest.mark.parametrize("point", ["unprepare-driver-done", "unprepare-cdi-removed"])
def test_killed_during_unprepare_completes_after_restart(
    apiserver: Any, api: Api, layout: Layout, point: str
) -> None:
    uid = api.allocated_claim(f"crash-{point}", [("gpu", "gpu-1")])
    claim = _claim_msg(f"crash-{point}", uid)
    crashing = DriverProcess(layout, apiserver.kubeconfig, failpoints=point)
    try:
        assert prepare(layout, [claim])[uid]["error"] == ""
        with pytest.raises(grpc.RpcError):
            unprepare(layout, [claim])
        crashing.wait_killed()
    finally:
        crashing.stop()
    driver = DriverProcess(layout, apiserver.kubeconfig)
    try:
        assert unprepare(layout, [claim]) == {uid: ""}
        assert layout.cdi_files() == ["k8s.gpu.example.com-gpu_common.yaml"]
        assert prepared_claims(layout) == {}
    finally:
        driver.stop()


def test_wiped_cdi_dir_is_reconciled_at_restart(apiserver: Any, api: Api, layout: Layout) -> None:
    uid = api.allocated_claim("survivor", [("gpu", "gpu-0")])
    claim = _claim_msg("survivor", uid)
    driver = DriverProcess(layout, apiserver.kubeconfig)
    try:
        before = prepare(layout, [claim])
        spec = layout.cdi / f"k8s.gpu.example.com-gpu_{uid}.yaml"
        content = spec.read_text()
    finally:
        driver.stop()
    shutil.rmtree(layout.cdi)  # reboot: /var/run/cdi is tmpfs, the checkpoint survived
    driver = DriverProcess(layout, apiserver.kubeconfig)
    try:
        assert spec.read_text() == content  # re-created at start, before any Prepare
        assert prepare(layout, [claim]) == before
        assert unprepare(layout, [claim]) == {uid: ""}
    finally:
        driver.stop()


def test_gpu_device_status_writes_attributes_and_keeps_other_drivers_entries(
    apiserver: Any, api: Api, layout: Layout
) -> None:
    path = "/apis/resource.k8s.io/v1/namespaces/default/resourceclaims/mixed"
    claim = api.request("POST", path.rsplit("/", 1)[0], {
        "apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim", "metadata": {"name": "mixed"},
        "spec": {"devices": {"requests": [{"name": "gpu", "exactly": {"deviceClassName": DRIVER}},
                                          {"name": "nic", "exactly": {"deviceClassName": "nic"}}]}}})
    uid = claim["metadata"]["uid"]
    # A second driver in the same claim already reported its device: it must survive our write.
    other = {"driver": "nic.example.com", "pool": NODE, "device": "eth1", "data": {"speed": "100G"}}
    claim["status"] = {"allocation": {"devices": {"results": [
        {"request": "gpu", "driver": DRIVER, "pool": NODE, "device": "gpu-2"},
        {"request": "nic", "driver": "nic.example.com", "pool": NODE, "device": "eth1"}]}},
        "devices": [other]}
    api.request("PUT", f"{path}/status", claim)
    driver = DriverProcess(layout, apiserver.kubeconfig, GPU_DEVICE_STATUS="true")
    try:
        answer = prepare(layout, [_claim_msg("mixed", uid)])
        assert answer[uid]["error"] == ""
        devices = api.request("GET", path)["status"]["devices"]
        assert devices[0] == other
        ours = devices[1]
        assert (ours["driver"], ours["pool"], ours["device"]) == (DRIVER, NODE, "gpu-2")
        assert ours["data"]["index"] == {"int": 2}
        assert ours["data"]["model"] == {"string": "LATEST-GPU-MODEL"}
        assert ours["data"]["uuid"]["string"].startswith("gpu-")
        version = api.request("GET", path)["metadata"]["resourceVersion"]
        assert prepare(layout, [_claim_msg("mixed", uid)])[uid]["error"] == ""  # from the checkpoint
        assert api.request("GET", path)["metadata"]["resourceVersion"] == version  # unchanged: not rewritten
    finally:
        driver.stop()
