"""Small builders for allocator tests: manifests as dicts, decoded through the real codec."""

from __future__ import annotations

from typing import Any

from kubedra.api import codec
from kubedra.api.core import Node
from kubedra.api.resource import DeviceClass, ResourceClaim, ResourceSlice

DRIVER = "gpu.example.com"


def node(name: str = "node-1", labels: dict[str, str] | None = None) -> Node:
    return codec.decode(Node, {"metadata": {"name": name, "labels": labels or {}}})


def device_class(
    name: str = "gpu", selectors: list[str] | None = None, config: list[Any] | None = None
) -> DeviceClass:
    spec: dict[str, Any] = {}
    if selectors:
        spec["selectors"] = [{"cel": {"expression": e}} for e in selectors]
    if config:
        spec["config"] = config
    return codec.decode(DeviceClass, {"metadata": {"name": name}, "spec": spec})


def resource_slice(
    name: str,
    devices: list[dict[str, Any]],
    *,
    pool: str | None = None,
    node_name: str | None = "node-1",
    driver: str = DRIVER,
    generation: int = 1,
    count: int = 1,
    **spec: Any,
) -> ResourceSlice:
    body: dict[str, Any] = {
        "driver": driver,
        "pool": {"name": pool or name, "generation": generation, "resourceSliceCount": count},
        "devices": devices,
        **spec,
    }
    if node_name:
        body["nodeName"] = node_name
    return codec.decode(ResourceSlice, {"metadata": {"name": name}, "spec": body})


def claim(
    name: str,
    requests: list[dict[str, Any]],
    constraints: list[dict[str, Any]] | None = None,
    config: list[dict[str, Any]] | None = None,
) -> ResourceClaim:
    devices: dict[str, Any] = {"requests": requests}
    if constraints:
        devices["constraints"] = constraints
    if config:
        devices["config"] = config
    return codec.decode(
        ResourceClaim, {"metadata": {"name": name, "namespace": "default"}, "spec": {"devices": devices}}
    )


def request(
    name: str, cls: str = "gpu", count: int = 1, mode: str = "ExactCount", **extra: Any
) -> dict[str, Any]:
    exactly: dict[str, Any] = {"deviceClassName": cls, "allocationMode": mode, **extra}
    if mode == "ExactCount":
        exactly["count"] = count
    return {"name": name, "exactly": exactly}


def gpu(name: str, **attributes: Any) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    for key, value in attributes.items():
        if isinstance(value, bool):
            attrs[key] = {"bool": value}
        elif isinstance(value, int):
            attrs[key] = {"int": value}
        else:
            attrs[key] = {"string": value}
    return {"name": name, "attributes": attrs}
