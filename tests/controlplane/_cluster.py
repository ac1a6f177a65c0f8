"""Shared helpers for scheduler/controller tests: a real in-process API server plus the manager."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kubedra.controlplane.apiserver.app import Config, ControlPlane
from kubedra.controlplane.client import LocalClient, NotFound
from kubedra.controlplane.manager import Manager

FAST = {"initial_backoff": 0.02, "max_backoff": 0.2}


@contextmanager
def running_cluster(tmp_path: Path, **manager_args: Any) -> Iterator[tuple[LocalClient, Manager]]:
    plane = ControlPlane(Config(data_dir=tmp_path / "data", storage="memory", port=0))
    client = LocalClient(plane.registry, field_manager="test")
    manager = Manager(client, scheduler_options=dict(FAST), **manager_args)
    try:
        manager.start()
        yield client, manager
    finally:
        manager.stop()
        plane.close()


def wait_for(check: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except NotFound:
            last = None
        if last:
            return last
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def node(name: str, labels: dict[str, str] | None = None, taints: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]},
    }
    if taints:
        obj["spec"] = {"taints": taints}
    return obj


def gpu_slice(node_name: str, count: int, memory: str = "80Gi", driver: str = "gpu.example.com") -> dict[str, Any]:
    return {
        "apiVersion": "resource.k8s.io/v1", "kind": "ResourceSlice",
        "metadata": {"name": f"{node_name}-{driver}"},
        "spec": {
            "driver": driver, "nodeName": node_name,
            "pool": {"name": node_name, "generation": 1, "resourceSliceCount": 1},
            "devices": [
                {"name": f"gpu-{i}",
                 "attributes": {"index": {"int": i}, "model": {"string": "LATEST-GPU-MODEL"},
                                "driverVersion": {"version": "1.0.0"}},
                 "capacity": {"memory": {"value": memory}}}
                for i in range(count)
            ],
        },
    }


def device_class(name: str = "gpu.example.com", driver: str = "gpu.example.com") -> dict[str, Any]:
    return {
        "apiVersion": "resource.k8s.io/v1", "kind": "DeviceClass", "metadata": {"name": name},
        "spec": {"selectors": [{"cel": {"expression": f"device.driver == '{driver}'"}}]},
    }


def claim_spec(selector: str | None = None, mode: str | None = None, count: int | None = None,
               device_class_name: str = "gpu.example.com") -> dict[str, Any]:
    exactly: dict[str, Any] = {"deviceClassName": device_class_name}
    if mode:
        exactly["allocationMode"] = mode
    if count:
        exactly["count"] = count
    if selector:
        exactly["selectors"] = [{"cel": {"expression": selector}}]
    return {"devices": {"requests": [{"name": "gpu", "exactly": exactly}]}}


def pod(name: str, ns: str, claims: list[dict[str, Any]] | None = None, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns},
        "spec": {"containers": [{"name": "c", "image": "busybox",
                                 "resources": {"claims": [{"name": c["name"]} for c in claims or []]}}],
                 **spec},
    }
    if claims:
        body["spec"]["resourceClaims"] = claims
    return body


def namespace(client: LocalClient, name: str) -> None:
    client.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
