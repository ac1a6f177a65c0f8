"""The official ``kubernetes`` Python client against kubedra: CRUD, watch and status on resource.k8s.io/v1."""

from __future__ import annotations

from typing import Any

import pytest

kubernetes = pytest.importorskip("kubernetes")
from kubernetes import client as k8s  # noqa: E402
from kubernetes import config as k8s_config  # noqa: E402
from kubernetes import watch as k8s_watch  # noqa: E402


def _api(apiserver: Any) -> Any:
    return k8s_config.new_client_from_config(config_file=str(apiserver.kubeconfig))


def test_crud_watch_and_status(apiserver: Any) -> None:
    api_client = _api(apiserver)
    resource = k8s.ResourceV1Api(api_client)
    resource.create_device_class({"apiVersion": "resource.k8s.io/v1", "kind": "DeviceClass",
                                  "metadata": {"name": "gpu.example.com"},
                                  "spec": {"selectors": [{"cel": {"expression": "device.driver == 'gpu.example.com'"}}]}})
    classes = resource.list_device_class()
    assert [c.metadata.name for c in classes.items] == ["gpu.example.com"]
    claim = {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim", "metadata": {"name": "c1"},
             "spec": {"devices": {"requests": [{"name": "gpu", "exactly": {"deviceClassName": "gpu.example.com"}}]}}}
    created = resource.create_namespaced_resource_claim("default", claim)
    assert created.spec.devices.requests[0].exactly.allocation_mode == "ExactCount"  # defaulted
    assert created.spec.devices.requests[0].exactly.count == 1
    rv = created.metadata.resource_version

    status = {"status": {"allocation": {"devices": {"results": [
        {"request": "gpu", "driver": "gpu.example.com", "pool": "node-1", "device": "gpu-0"}]},
        "nodeSelector": {"nodeSelectorTerms": [{"matchFields": [
            {"key": "metadata.name", "operator": "In", "values": ["node-1"]}]}]}}}}
    patched = resource.patch_namespaced_resource_claim_status("c1", "default", status)
    assert patched.status.allocation.devices.results[0].device == "gpu-0"

    w = k8s_watch.Watch(return_type="ResourceV1ResourceClaim")  # the client cannot infer the renamed model
    events = []
    for ev in w.stream(resource.list_namespaced_resource_claim, "default", resource_version=rv, timeout_seconds=3):
        events.append((ev["type"], ev["object"].metadata.name))
        break
    w.stop()
    assert events == [("MODIFIED", "c1")]

    resource.delete_namespaced_resource_claim("c1", "default")
    with pytest.raises(k8s.exceptions.ApiException) as err:
        resource.read_namespaced_resource_claim("c1", "default")
    assert err.value.status == 404
    api_client.close()
