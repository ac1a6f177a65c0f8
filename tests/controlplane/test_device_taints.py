"""DRADeviceTaints on the real (in-process) API server: NoExecute evicts pods using the device (after
their tolerationSeconds), NoSchedule keeps new allocations away, a removed taint cancels."""

from __future__ import annotations

import datetime
import time
from pathlib import Path
from typing import Any

from kubedra.api.codec import decode
from kubedra.api.resource import DeviceTaint, ResourceClaim
from kubedra.controlplane.client import LocalClient
from kubedra.controlplane.controllers.devicetaint import eviction_time

from ._cluster import claim_spec, device_class, gpu_slice, namespace, node, pod, running_cluster, wait_for

NS = "taints"
TAINT = {"key": "example.com/unhealthy", "value": "ecc", "effect": "NoExecute"}


def setup(client: LocalClient, devices: int = 1) -> None:
    namespace(client, NS)
    client.create("deviceclasses", device_class())
    client.create("nodes", node("worker-0"))
    client.create("resourceslices", gpu_slice("worker-0", devices))


def run_pod(client: LocalClient, name: str, tolerations: list[dict[str, Any]] | None = None) -> None:
    spec = claim_spec()
    if tolerations:
        spec["devices"]["requests"][0]["exactly"]["tolerations"] = tolerations
    client.create("resourceclaims", {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim",
                                     "metadata": {"name": name, "namespace": NS}, "spec": spec})
    client.create("pods", pod(name, NS, [{"name": "gpu", "resourceClaimName": name}]))
    wait_for(lambda: client.get("pods", name, namespace=NS)["spec"].get("nodeName"), what=f"{name} bound")


def taint_device(client: LocalClient, device: str = "gpu-0", taint: dict[str, Any] | None = None) -> None:
    s = client.get("resourceslices", "worker-0-gpu.example.com")
    for d in s["spec"]["devices"]:
        d.pop("taints", None)
        if d["name"] == device and taint is not None:
            d["taints"] = [taint]
    client.update("resourceslices", s)


def evicted(client: LocalClient, name: str) -> bool:
    try:
        p = client.get("pods", name, namespace=NS)
    except Exception:
        return True  # gone
    return bool(p["metadata"].get("deletionTimestamp"))


def events(client: LocalClient, name: str) -> list[str]:
    return [e["message"] for e in client.list("events", namespace=NS)["items"]
            if e["involvedObject"]["name"] == name and e["reason"] == "DeviceTaintManagerEviction"]


def test_noexecute_taint_evicts_the_pod_using_the_device(tmp_path: Path) -> None:
    with running_cluster(tmp_path) as (client, manager):
        setup(client, devices=2)
        run_pod(client, "victim")
        run_pod(client, "bystander")
        device = client.get("resourceclaims", "victim", namespace=NS)["status"]["allocation"]["devices"]["results"][0]
        taint_device(client, device["device"], TAINT)
        wait_for(lambda: evicted(client, "victim"), what="eviction")
        assert events(client, "victim") == ["Marking for deletion"]
        event = next(e for e in client.list("events", namespace=NS)["items"]
                     if e["reason"] == "DeviceTaintManagerEviction")
        assert event["source"]["component"] == "device-taint-eviction" and event["type"] == "Normal"
        time.sleep(0.3)
        assert not evicted(client, "bystander")
        assert manager.device_taints is not None and manager.device_taints.evicted == 1


def test_disruption_target_condition_is_set_before_deletion(tmp_path: Path) -> None:
    with running_cluster(tmp_path) as (client, _m):
        setup(client)
        run_pod(client, "victim")
        # A finalizer keeps the deleted pod visible so its last status can be read.
        p = client.get("pods", "victim", namespace=NS)
        p["metadata"]["finalizers"] = ["example.com/keep"]
        client.update("pods", p)
        taint_device(client, "gpu-0", TAINT)
        wait_for(lambda: evicted(client, "victim"), what="eviction")
        conditions = client.get("pods", "victim", namespace=NS)["status"]["conditions"]
        target = next(c for c in conditions if c["type"] == "DisruptionTarget")
        assert (target["status"], target["reason"], target["message"]) == (
            "True", "DeletionByDeviceTaintManager", "Device Taint manager: deleting due to NoExecute taint")
        p = client.get("pods", "victim", namespace=NS)
        p["metadata"]["finalizers"] = []
        client.update("pods", p)


def test_toleration_seconds_delay_eviction_and_forever_never_evicts(tmp_path: Path) -> None:
    with running_cluster(tmp_path) as (client, _m):
        setup(client, devices=2)
        run_pod(client, "patient", [{"key": TAINT["key"], "operator": "Exists", "effect": "NoExecute",
                                     "tolerationSeconds": 2}])  # timeAdded has 1 s resolution
        run_pod(client, "immune", [{"key": TAINT["key"], "operator": "Exists"}])
        s = client.get("resourceslices", "worker-0-gpu.example.com")
        for d in s["spec"]["devices"]:
            d["taints"] = [TAINT]
        client.update("resourceslices", s)
        time.sleep(0.4)
        assert not evicted(client, "patient"), "evicted before its tolerationSeconds"
        wait_for(lambda: evicted(client, "patient"), timeout=6, what="delayed eviction")
        assert not evicted(client, "immune")


def test_removed_taint_cancels_a_planned_eviction(tmp_path: Path) -> None:
    with running_cluster(tmp_path) as (client, _m):
        setup(client)
        run_pod(client, "lucky", [{"key": TAINT["key"], "operator": "Exists", "tolerationSeconds": 2}])
        taint_device(client, "gpu-0", TAINT)
        time.sleep(0.3)
        taint_device(client, "gpu-0", None)
        wait_for(lambda: events(client, "lucky") == ["Cancelling deletion"], what="cancel event")
        time.sleep(2.0)
        assert not evicted(client, "lucky")


def test_noschedule_taint_keeps_new_allocations_away_but_does_not_evict(tmp_path: Path) -> None:
    with running_cluster(tmp_path) as (client, _m):
        setup(client)
        run_pod(client, "running")
        taint_device(client, "gpu-0", {"key": "example.com/maintenance", "effect": "NoSchedule"})
        time.sleep(0.3)
        assert not evicted(client, "running"), "NoSchedule must not evict"
        client.delete("pods", "running", namespace=NS, grace_period_seconds=0)
        wait_for(lambda: not (client.get("resourceclaims", "running", namespace=NS).get("status") or {})
                 .get("allocation"), what="deallocation")
        client.create("resourceclaims", {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim",
                                         "metadata": {"name": "new", "namespace": NS}, "spec": claim_spec()})
        client.create("pods", pod("new", NS, [{"name": "gpu", "resourceClaimName": "new"}]))
        wait_for(lambda: [e for e in client.list("events", namespace=NS)["items"]
                          if e["involvedObject"]["name"] == "new" and e["reason"] == "FailedScheduling"
                          and "cannot allocate all claims" in e["message"]], what="unschedulable")
        assert not (client.get("resourceclaims", "new", namespace=NS).get("status") or {}).get("allocation")


def test_eviction_time_rules() -> None:
    t0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    claim = decode(ResourceClaim, {"metadata": {"name": "c"}, "spec": {}, "status": {"allocation": {"devices": {
        "results": [{"request": "r", "driver": "d", "pool": "p", "device": "x",
                     "tolerations": [{"key": "k", "operator": "Exists", "tolerationSeconds": 30},
                                     {"key": "k", "operator": "Equal", "value": "v", "tolerationSeconds": 10}]}]}}}})
    def taint(effect: str = "NoExecute", value: str = "v", added: str | None = "2026-01-01T00:00:00Z") -> DeviceTaint:
        return DeviceTaint(key="k", value=value, effect=effect, time_added=added)
    key = ("d", "p", "x")
    assert eviction_time(claim, {}, t0) is None
    assert eviction_time(claim, {key: [taint("NoSchedule")]}, t0) is None
    assert eviction_time(claim, {key: [taint()]}, t0) == t0 + datetime.timedelta(seconds=10)  # smallest matching
    assert eviction_time(claim, {key: [taint(value="w")]}, t0) == t0 + datetime.timedelta(seconds=30)
    later = t0 + datetime.timedelta(hours=1)
    assert eviction_time(claim, {key: [taint(added=None)]}, later) == later + datetime.timedelta(seconds=10)
    other = DeviceTaint(key="other", effect="NoExecute", time_added="2026-01-01T00:00:00Z")
    assert eviction_time(claim, {key: [taint(), other]}, t0) == t0  # untolerated: at once
