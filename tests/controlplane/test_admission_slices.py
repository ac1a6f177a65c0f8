"""ResourceSlice admission on the fast path: what validation remembers as valid never hides an error."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubedra.controlplane.apiserver import errors
from kubedra.controlplane.apiserver.registry import Registry
from kubedra.controlplane.apiserver.resources import by_name, index_fields
from kubedra.controlplane.store import Store


def slice_(name: str, devices: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceSlice", "metadata": {"name": name},
            "spec": {"driver": "gpu.example.com", "nodeName": "n1",
                     "pool": {"name": "n1", "generation": 1, "resourceSliceCount": 1}, "devices": devices}}


GOOD = {"name": "gpu-0", "attributes": {"model": {"string": "H100"}, "driverVersion": {"version": "1.2.3"}},
        "capacity": {"memory": {"value": "80Gi"}}}


def fields_of(registry: Registry, body: dict[str, Any]) -> list[str]:
    with pytest.raises(errors.APIError) as err:
        registry.create(by_name("resourceslices"), None, body)
    assert err.value.code == 422
    return [c["field"] + ": " + c["message"] for c in err.value.status()["details"]["causes"]]


def test_errors_after_valid_values_were_seen() -> None:
    registry = Registry(Store(None, indexer=index_fields))
    stored = registry.create(by_name("resourceslices"), None, slice_("ok", [GOOD])).decode()
    assert stored["spec"]["devices"][0]["capacity"] == {"memory": {"value": "80Gi"}}  # kept as sent

    bad = copy.deepcopy(GOOD)
    bad["name"] = "GPU_0"
    bad["attributes"]["model"] = {"string": "x" * 65}
    bad["attributes"]["driverVersion"] = {"version": "1.2"}
    bad["attributes"]["Bad Name"] = {"int": 1}
    bad["capacity"]["memory"] = {"value": "80Gi", "requestPolicy": {"default": "1Gi"}}
    bad["capacity"]["cores"] = {"value": "lots"}
    found = fields_of(registry, slice_("bad", [bad]))
    assert any(f.startswith("spec.devices[0].name: Invalid value: \"GPU_0\"") for f in found), found
    assert any(f.startswith("spec.devices[0].attributes[model].string: Too long") for f in found), found
    assert any(f.startswith("spec.devices[0].attributes[driverVersion].version: Invalid value: \"1.2\"")
               for f in found), found
    assert any(f.startswith("spec.devices[0].attributes: Invalid value: \"Bad Name\"") for f in found), found
    assert any(f.startswith("spec.devices[0].capacity[memory].requestPolicy: Forbidden") for f in found), found
    assert any(f.startswith("spec.devices[0].capacity[cores].value: Invalid value: \"lots\"") for f in found), found

    two_values = copy.deepcopy(GOOD)
    two_values["attributes"]["model"] = {"string": "H100", "int": 1}
    assert fields_of(registry, slice_("two", [two_values])) == [
        'spec.devices[0].attributes[model]: Invalid value: {"int":1,"string":"H100"}: '
        "exactly one value must be specified"]
