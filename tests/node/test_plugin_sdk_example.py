"""The complete driver in docs/driver-sdk.md, executed from the document itself."""

from __future__ import annotations

import asyncio
import re
import shutil
import ssl
import tempfile
import types
from pathlib import Path
from typing import Any

import grpc
import httpx2 as httpx
import pytest

from kubedra.node.plugin.cdi_cache import CDICache, environment
from kubedra.node.plugin.claims import ClaimRef, claim_from_object
from kubedra.node.plugin.proto import dra_v1_pb2, dra_v1_pb2_grpc

DOC = Path(__file__).resolve().parents[2] / "docs" / "driver-sdk.md"


def _example() -> types.ModuleType:
    code = re.search(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert code, "docs/driver-sdk.md has no python example"
    module = types.ModuleType("hello_driver")
    exec(compile(code.group(1), str(DOC), "exec"), module.__dict__)
    return module


def _claim_object(uid: str) -> dict[str, Any]:
    return {
        "metadata": {"name": "greet", "namespace": "default", "uid": uid},
        "status": {
            "allocation": {
                "devices": {
                    "results": [
                        {
                            "request": "my-dev",
                            "driver": "hello.example.com",
                            "pool": "node1",
                            "device": "hello-2",
                        }
                    ],
                    "config": [
                        {
                            "source": "FromClaim",
                            "opaque": {"driver": "hello.example.com", "parameters": {"greeting": "hi"}},
                        }
                    ],
                }
            }
        },
    }


def test_example_driver_prepare_logic() -> None:
    driver = _example().HelloDriver()
    claim = claim_from_object(_claim_object("u1"), ClaimRef("default", "greet", "u1"), "hello.example.com")
    (device,) = driver.prepare([claim])["u1"].devices
    assert device.edits.env == ["HELLO_MY_DEV=hi hello-2"]


@pytest.mark.slow
def test_example_driver_end_to_end(apiserver: Any) -> None:
    module = _example()
    root = Path(tempfile.mkdtemp(prefix="kd-", dir="/tmp"))
    http = httpx.Client(
        base_url=apiserver.url,
        headers={"Authorization": f"Bearer {apiserver.token}"},
        verify=ssl.create_default_context(cafile=str(apiserver.ca_file)),
    )

    def call(method: str, path: str, body: Any = None) -> Any:
        response = http.request(method, path, json=body)
        assert response.status_code < 300, response.text
        return response.json()

    async def scenario() -> None:
        if http.get("/api/v1/nodes/node1").status_code == 404:
            call("POST", "/api/v1/nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node1"}})
        base = "/apis/resource.k8s.io/v1/namespaces/default/resourceclaims"
        claim = call(
            "POST",
            base,
            {
                "apiVersion": "resource.k8s.io/v1",
                "kind": "ResourceClaim",
                "metadata": {"name": "greet"},
                "spec": {
                    "devices": {"requests": [{"name": "my-dev", "exactly": {"deviceClassName": "hello"}}]}
                },
            },
        )
        uid = claim["metadata"]["uid"]
        claim["status"] = _claim_object(uid)["status"]
        call("PUT", f"{base}/greet/status", claim)
        stop = asyncio.Event()
        task = asyncio.create_task(
            module.run("node1", root / "kubelet", root / "cdi", apiserver.kubeconfig, stop)
        )
        sock = root / "kubelet" / "plugins" / "hello.example.com" / "dra.sock"
        reg = root / "kubelet" / "plugins_registry" / "hello.example.com-reg.sock"
        for _ in range(200):
            if reg.is_socket():
                break
            await asyncio.sleep(0.05)
        async with grpc.aio.insecure_channel(f"unix://{sock}") as ch:
            response = await dra_v1_pb2_grpc.DRAPluginStub(ch).NodePrepareResources(
                dra_v1_pb2.NodePrepareResourcesRequest(
                    claims=[dra_v1_pb2.Claim(namespace="default", name="greet", uid=uid)]
                )
            )
        (device,) = response.claims[uid].devices
        assert response.claims[uid].error == ""
        assert environment(CDICache([root / "cdi"]).resolve(device.cdi_device_ids)) == {
            "HELLO_MY_DEV": "hi hello-2"
        }
        for _ in range(200):
            slices = [
                s
                for s in call("GET", "/apis/resource.k8s.io/v1/resourceslices")["items"]
                if s["spec"]["driver"] == "hello.example.com"
            ]
            if slices:
                break
            await asyncio.sleep(0.05)
        assert [d["name"] for d in slices[0]["spec"]["devices"]] == [
            "hello-0",
            "hello-1",
            "hello-2",
            "hello-3",
        ]
        stop.set()
        await task
        call("DELETE", f"{base}/greet")
        for s in slices:
            call("DELETE", f"/apis/resource.k8s.io/v1/resourceslices/{s['metadata']['name']}")

    try:
        asyncio.run(scenario())
    finally:
        http.close()
        shutil.rmtree(root, ignore_errors=True)
