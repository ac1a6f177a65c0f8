"""DRADeviceBindingConditions on the real (in-process) API server: the test plays the driver's
controller that writes ``status.devices[].conditions``; the scheduler must wait in PreBind, bind,
or deallocate and retry."""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kubedra.allocator.features import Features
from kubedra.api.codec import decode
from kubedra.api.resource import ResourceClaim
from kubedra.controlplane.apiserver.app import Config, ControlPlane
from kubedra.controlplane.client import Conflict, LocalClient
from kubedra.controlplane.manager import Manager
from kubedra.controlplane.scheduler.prebind import (
    BindingFailed,
    binding_timed_out,
    ready_for_binding,
    unavailable_for_binding,
)

from ._cluster import FAST, claim_spec, device_class, namespace, node, pod, wait_for

NS = "binding"
READY = "attached"
FAILED = "failed"


@contextmanager
def cluster(tmp_path: Path, **scheduler: Any) -> Iterator[tuple[LocalClient, Manager]]:
    plane = ControlPlane(Config(data_dir=tmp_path / "data", storage="memory", port=0))
    client = LocalClient(plane.registry, field_manager="test")
    features = scheduler.pop("features", None)
    manager = Manager(client, scheduler_options={**FAST, **scheduler}, features=features)
    try:
        manager.start()
        namespace(client, NS)
        client.create("deviceclasses", device_class())
        client.create("nodes", node("worker-0"))
        yield client, manager
    finally:
        manager.stop()
        plane.close()


def binding_slice(node_name: str = "worker-0", binds_to_node: bool | None = None, all_nodes: bool = False) -> dict:
    device: dict[str, Any] = {"name": "gpu-0", "bindingConditions": [READY], "bindingFailureConditions": [FAILED]}
    if binds_to_node is not None:
        device["bindsToNode"] = binds_to_node
    spec: dict[str, Any] = {"driver": "gpu.example.com", "pool": {"name": "fabric", "generation": 1,
                                                                   "resourceSliceCount": 1},
                            "devices": [device]}
    if all_nodes:
        spec["allNodes"] = True
    else:
        spec["nodeName"] = node_name
    return {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceSlice", "metadata": {"name": "fabric"}, "spec": spec}


def start_pod(client: LocalClient, name: str = "p") -> None:
    client.create("resourceclaims", {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim",
                                     "metadata": {"name": name, "namespace": NS}, "spec": claim_spec()})
    client.create("pods", pod(name, NS, [{"name": "gpu", "resourceClaimName": name}]))


def allocation(client: LocalClient, name: str = "p") -> dict | None:
    result: dict | None = (client.get("resourceclaims", name, namespace=NS).get("status") or {}).get("allocation")
    return result


def set_condition(client: LocalClient, claim_name: str, type_: str, status: str = "True",
                  reason: str = "Ready", message: str = "device is attached") -> None:
    """What a driver's controller does: the condition on the allocated device's status entry."""
    for _ in range(20):
        claim = client.get("resourceclaims", claim_name, namespace=NS)
        result = claim["status"]["allocation"]["devices"]["results"][0]
        entry = {"driver": result["driver"], "pool": result["pool"], "device": result["device"],
                 "conditions": [{"type": type_, "status": status, "reason": reason, "message": message,
                                 "lastTransitionTime": "2026-01-01T00:00:00Z"}]}
        claim["status"]["devices"] = [entry]
        try:
            client.update("resourceclaims", claim, subresource="status")
            return
        except Conflict:
            continue
    raise AssertionError("status kept conflicting")


def events(client: LocalClient, reason: str, pod_name: str = "p") -> list[str]:
    return [e["message"] for e in client.list("events", namespace=NS)["items"]
            if e["involvedObject"]["name"] == pod_name and e["reason"] == reason]


def rejected(client: LocalClient) -> list[str]:
    return [m for m in events(client, "FailedScheduling") if m.startswith("Binding rejected")]


def node_name(client: LocalClient, name: str = "p") -> str | None:
    value: str | None = client.get("pods", name, namespace=NS)["spec"].get("nodeName")
    return value


def test_pod_waits_until_binding_conditions_are_true(tmp_path: Path) -> None:
    with cluster(tmp_path) as (client, manager):
        client.create("resourceslices", binding_slice())
        start_pod(client)
        alloc = wait_for(lambda: allocation(client), what="allocation")
        assert alloc["devices"]["results"][0]["bindingConditions"] == [READY]
        assert alloc["devices"]["results"][0]["bindingFailureConditions"] == [FAILED]
        stamp = datetime.datetime.fromisoformat(alloc["allocationTimestamp"].replace("Z", "+00:00"))
        assert abs((datetime.datetime.now(datetime.UTC) - stamp).total_seconds()) < 5
        wait_for(lambda: events(client, "BindingConditionsPending"), what="pending event")
        assert events(client, "BindingConditionsPending") == ["waiting for binding conditions for device on node worker-0"]
        time.sleep(0.3)
        assert node_name(client) is None, "bound before the binding condition was True"
        assert manager.scheduler is not None and len(manager.scheduler.prebind) == 1

        set_condition(client, "p", READY, "False")  # not yet
        time.sleep(0.2)
        assert node_name(client) is None
        set_condition(client, "p", READY)
        assert wait_for(lambda: node_name(client), what="binding") == "worker-0"
        assert len(manager.scheduler.prebind) == 0
        assert rejected(client) == []


def test_waiting_pod_does_not_block_other_pods(tmp_path: Path) -> None:
    """Binding workers are not parked: with one worker, a plain pod still binds while another waits."""
    with cluster(tmp_path, binding_workers=1) as (client, _m):
        client.create("resourceslices", binding_slice())
        start_pod(client)
        wait_for(lambda: events(client, "BindingConditionsPending"), what="pending event")
        client.create("pods", pod("plain", NS))
        assert wait_for(lambda: node_name(client, "plain"), what="plain pod bound") == "worker-0"
        assert node_name(client) is None


def test_failure_condition_deallocates_and_retries(tmp_path: Path) -> None:
    with cluster(tmp_path) as (client, _m):
        client.create("resourceslices", binding_slice())
        start_pod(client)
        first = wait_for(lambda: allocation(client), what="allocation")
        wait_for(lambda: events(client, "BindingConditionsPending"), what="pending event")
        set_condition(client, "p", FAILED, reason="AttachFailed", message="fabric manager said no")
        message = wait_for(lambda: rejected(client), what="failure event")[0]
        assert message == ('Binding rejected: running PreBind plugin "DynamicResources": claim p binding failed: '
                           'reason=AttachFailed, message="fabric manager said no"')
        # Deallocated (devices status with the failure gone too), then allocated afresh for the retry.
        def fresh() -> dict | None:
            claim = client.get("resourceclaims", "p", namespace=NS)
            status = claim.get("status") or {}
            if status.get("allocation") and not status.get("devices"):
                return status["allocation"]
            return None
        again = wait_for(fresh, what="fresh allocation")
        assert again["devices"]["results"][0]["device"] == first["devices"]["results"][0]["device"]
        assert node_name(client) is None
        set_condition(client, "p", READY)
        assert wait_for(lambda: node_name(client), what="binding") == "worker-0"


def test_binding_timeout_deallocates_and_retries(tmp_path: Path) -> None:
    with cluster(tmp_path, binding_timeout=1.0) as (client, _m):
        client.create("resourceslices", binding_slice())
        start_pod(client)
        wait_for(lambda: allocation(client), what="allocation")
        message = wait_for(lambda: rejected(client), timeout=8, what="timeout event")[0]
        assert message.startswith('Binding rejected: running PreBind plugin "DynamicResources": ')
        assert message.endswith("binding timeout")
        # The retry allocates again with a new timestamp and waits again; now the driver is quick.
        wait_for(lambda: len(events(client, "BindingConditionsPending")) >= 2, timeout=8, what="second wait")
        set_condition(client, "p", READY)
        assert wait_for(lambda: node_name(client), what="binding") == "worker-0"


def test_failed_claim_left_allocated_is_deallocated_by_postfilter(tmp_path: Path) -> None:
    """A scheduler restart can leave an allocated claim whose failure condition is True and that nobody
    reserves: Filter finds it unusable on every node and PostFilter frees it."""
    with cluster(tmp_path) as (client, _m):
        client.create("resourceslices", binding_slice())
        client.create("resourceclaims", {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim",
                                         "metadata": {"name": "p", "namespace": NS}, "spec": claim_spec()})
        claim = client.get("resourceclaims", "p", namespace=NS)
        claim["status"] = {
            "allocation": {
                "devices": {"results": [{"request": "gpu", "driver": "gpu.example.com", "pool": "fabric",
                                         "device": "gpu-0", "bindingConditions": [READY],
                                         "bindingFailureConditions": [FAILED]}]},
                "allocationTimestamp": "2026-01-01T00:00:00Z",
            },
            "devices": [{"driver": "gpu.example.com", "pool": "fabric", "device": "gpu-0",
                         "conditions": [{"type": FAILED, "status": "True", "reason": "Broken", "message": "x",
                                         "lastTransitionTime": "2026-01-01T00:00:00Z"}]}],
        }
        client.update("resourceclaims", claim, subresource="status")
        client.create("pods", pod("p", NS, [{"name": "gpu", "resourceClaimName": "p"}]))
        wait_for(lambda: [m for m in events(client, "FailedScheduling")
                          if m.startswith("0/1 nodes are available: 1 resourceclaim not available on the node.")],
                 what="unschedulable event")
        # Freed, then allocated again by the retry (fresh timestamp, no stale failure condition).
        def reallocated() -> bool:
            status = client.get("resourceclaims", "p", namespace=NS).get("status") or {}
            alloc = status.get("allocation") or {}
            return bool(alloc) and alloc.get("allocationTimestamp") != "2026-01-01T00:00:00Z" \
                and not status.get("devices")
        wait_for(reallocated, what="reallocation")
        set_condition(client, "p", READY)
        assert wait_for(lambda: node_name(client), what="binding") == "worker-0"


def test_deleted_waiting_pod_stops_waiting_and_frees_claim(tmp_path: Path) -> None:
    with cluster(tmp_path) as (client, manager):
        client.create("resourceslices", binding_slice())
        start_pod(client)
        wait_for(lambda: events(client, "BindingConditionsPending"), what="pending event")
        client.delete("pods", "p", namespace=NS)
        assert manager.scheduler is not None
        wait_for(lambda: len(manager.scheduler.prebind) == 0, what="waiter cancelled")
        wait_for(lambda: allocation(client) is None, what="claim controller deallocates")


def test_binds_to_node_pins_a_network_device_to_the_chosen_node(tmp_path: Path) -> None:
    with cluster(tmp_path) as (client, _m):
        client.create("nodes", node("worker-1"))
        client.create("resourceslices", binding_slice(binds_to_node=True, all_nodes=True))
        start_pod(client)
        alloc = wait_for(lambda: allocation(client), what="allocation")
        chosen = alloc["nodeSelector"]["nodeSelectorTerms"][0]["matchFields"][0]
        assert chosen["key"] == "metadata.name" and chosen["operator"] == "In"
        set_condition(client, "p", READY)
        assert wait_for(lambda: node_name(client), what="binding") == chosen["values"][0]


def test_plain_allocations_get_a_timestamp_and_bind_at_once(tmp_path: Path) -> None:
    with cluster(tmp_path) as (client, _m):
        slice_ = binding_slice()
        del slice_["spec"]["devices"][0]["bindingConditions"], slice_["spec"]["devices"][0]["bindingFailureConditions"]
        client.create("resourceslices", slice_)
        start_pod(client)
        assert wait_for(lambda: node_name(client), what="binding") == "worker-0"
        assert allocation(client)["allocationTimestamp"]  # type: ignore[index]
        assert events(client, "BindingConditionsPending") == []


def test_gates_off_devices_with_binding_conditions_are_not_used(tmp_path: Path) -> None:
    off = Features(admin_access=True, prioritized_list=True, partitionable_devices=True, device_taints=True)
    with cluster(tmp_path, features=off) as (client, _m):
        client.create("resourceslices", binding_slice())
        start_pod(client)
        wait_for(lambda: [m for m in events(client, "FailedScheduling") if "cannot allocate all claims" in m],
                 what="unschedulable")
        assert allocation(client) is None


# --- the rules themselves -----------------------------------------------------------------------


def _claim(conditions: list[dict[str, Any]] | None, stamp: str | None = "2026-01-01T00:00:00Z") -> ResourceClaim:
    status: dict[str, Any] = {"allocation": {
        "devices": {"results": [
            {"request": "a", "driver": "d", "pool": "p", "device": "x", "bindingConditions": ["r1", "r2"],
             "bindingFailureConditions": ["f"]},
            {"request": "b", "driver": "d", "pool": "p", "device": "y"},
        ]}}}
    if stamp:
        status["allocation"]["allocationTimestamp"] = stamp
    if conditions is not None:
        status["devices"] = [{"driver": "d", "pool": "p", "device": "x", "conditions": conditions}]
    return decode(ResourceClaim, {"metadata": {"name": "c", "namespace": "n"}, "spec": {}, "status": status})


def _cond(type_: str, status: str = "True") -> dict[str, Any]:
    return {"type": type_, "status": status, "reason": "R", "message": "m", "lastTransitionTime": "2026-01-01T00:00:00Z"}


def test_ready_needs_every_binding_condition_true() -> None:
    assert not ready_for_binding(_claim(None))
    assert not ready_for_binding(_claim([_cond("r1")]))
    assert not ready_for_binding(_claim([_cond("r1"), _cond("r2", "False")]))
    assert ready_for_binding(_claim([_cond("r1"), _cond("r2"), _cond("f", "False")]))
    try:
        ready_for_binding(_claim([_cond("r1"), _cond("r2"), _cond("f")]))
    except BindingFailed as exc:
        assert str(exc) == 'claim c binding failed: reason=R, message="m"'
    else:
        raise AssertionError("a True failure condition must fail the binding")


def test_timeout_counts_from_the_allocation_timestamp() -> None:
    stamp = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    pending = _claim([_cond("r1")])
    assert not binding_timed_out(pending, 600, stamp + datetime.timedelta(seconds=599))
    assert binding_timed_out(pending, 600, stamp + datetime.timedelta(seconds=601))
    assert unavailable_for_binding(pending, 600, stamp + datetime.timedelta(seconds=601))
    assert not binding_timed_out(_claim([_cond("r1")], stamp=None), 600, stamp + datetime.timedelta(days=1))
    done = _claim([_cond("r1"), _cond("r2")])
    assert not unavailable_for_binding(done, 600, stamp + datetime.timedelta(days=1))
    assert unavailable_for_binding(_claim([_cond("f")]), 600, stamp)
