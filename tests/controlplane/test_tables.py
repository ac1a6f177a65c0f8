"""Server-side Table printing: the columns and cells kubectl shows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kubedra.controlplane.apiserver.tables import human_duration, resource_claim_state, to_table

NOW = datetime(2025, 11, 6, 8, 0, 0, tzinfo=UTC)


def ago(**delta: float) -> str:
    return (NOW - timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


def table(resource: str, group: str, *objects: dict, include: str = "None") -> dict:
    return to_table(resource, group, list(objects), now=NOW, include_object=include)


def headers(t: dict, wide: bool = False) -> list[str]:
    return [c["name"].upper() for c in t["columnDefinitions"] if wide or c["priority"] == 0]


def cells(t: dict, wide: bool = False) -> list[list]:
    keep = [wide or c["priority"] == 0 for c in t["columnDefinitions"]]
    return [[v for v, k in zip(r["cells"], keep, strict=True) if k] for r in t["rows"]]


@pytest.mark.parametrize("seconds, text", [
    (-5, "<invalid>"), (-1, "0s"), (0, "0s"), (28, "28s"), (119, "119s"), (137, "2m17s"), (300, "5m"),
    (599, "9m59s"), (600, "10m"), (179 * 60, "179m"), (3 * 3600, "3h"), (3 * 3600 + 20 * 60, "3h20m"),
    (8 * 3600, "8h"), (47 * 3600, "47h"), (48 * 3600, "2d"), (53 * 3600, "2d5h"), (8 * 86400, "8d"),
    (729 * 86400, "729d"), (730 * 86400, "2y"), (742 * 86400, "2y12d"), (9 * 365 * 86400, "9y"),
])
def test_human_duration(seconds, text):
    assert human_duration(seconds) == text


def claim(**status) -> dict:
    return {"metadata": {"name": "example-resource-claim", "creationTimestamp": ago(seconds=28)},
            "status": status}


def test_resource_claim_states():
    allocation = {"devices": {"results": []}}
    assert resource_claim_state(claim()) == "pending"
    assert resource_claim_state(claim(allocation=allocation)) == "allocated"
    assert resource_claim_state(claim(allocation=allocation, reservedFor=[{"uid": "1"}])) == "allocated,reserved"
    deleted = claim(allocation=allocation, reservedFor=[{"uid": "1"}])
    deleted["metadata"]["deletionTimestamp"] = ago(seconds=1)
    assert resource_claim_state(deleted) == "deleted,allocated,reserved"
    pending_deleted = claim()
    pending_deleted["metadata"]["deletionTimestamp"] = ago(seconds=1)
    assert resource_claim_state(pending_deleted) == "deleted"


def test_resourceclaims_table_like_the_tutorial():
    t = table("resourceclaims", "resource.k8s.io", claim())
    assert headers(t) == ["NAME", "STATE", "AGE"]
    assert cells(t) == [["example-resource-claim", "pending", "28s"]]
    assert t["kind"] == "Table" and t["apiVersion"] == "meta.k8s.io/v1"
    assert t["columnDefinitions"][0]["format"] == "name"


def test_deviceclasses_and_templates_are_name_age():
    dc = {"metadata": {"name": "gpu.example.com", "creationTimestamp": ago(minutes=5)}}
    assert cells(table("deviceclasses", "resource.k8s.io", dc)) == [["gpu.example.com", "5m"]]
    assert headers(table("resourceclaimtemplates", "resource.k8s.io")) == ["NAME", "AGE"]
    assert headers(table("widgets", "example.com", dc)) == ["NAME", "AGE"]
    assert cells(table("widgets", "example.com", {"metadata": {"name": "x"}})) == [["x", "<unknown>"]]


def test_resourceslices_table():
    rs = {"metadata": {"name": "node-1-gpu.example.com-x7k", "creationTimestamp": ago(hours=2)},
          "spec": {"nodeName": "node-1", "driver": "gpu.example.com", "pool": {"name": "node-1"}}}
    t = table("resourceslices", "resource.k8s.io", rs)
    assert headers(t) == ["NAME", "NODE", "DRIVER", "POOL", "AGE"]
    assert cells(t) == [["node-1-gpu.example.com-x7k", "node-1", "gpu.example.com", "node-1", "120m"]]


def test_pods_running_and_wide():
    pod = {"metadata": {"name": "ollama", "creationTimestamp": ago(minutes=2, seconds=5)},
           "spec": {"nodeName": "kind-worker", "containers": [{"name": "ollama"}]},
           "status": {"phase": "Running", "podIP": "10.0.0.7",
                      "containerStatuses": [{"name": "ollama", "ready": True, "restartCount": 0,
                                             "state": {"running": {}}}]}}
    t = table("pods", "", pod)
    assert headers(t) == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert cells(t) == [["ollama", "1/1", "Running", "0", "2m5s"]]
    assert headers(t, wide=True)[5:7] == ["IP", "NODE"]
    assert cells(t, wide=True)[0][5:] == ["10.0.0.7", "kind-worker", "<none>", "<none>"]


def test_pods_waiting_restarts_init_and_terminating():
    crash = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]},
             "status": {"phase": "Running", "containerStatuses": [{
                 "name": "c", "ready": False, "restartCount": 3, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                 "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(seconds=40)}}}]}}
    assert cells(table("pods", "", crash))[0][1:4] == ["0/1", "CrashLoopBackOff", "3 (40s ago)"]
    init = {"metadata": {"name": "p"}, "spec": {"initContainers": [{"name": "i"}], "containers": [{"name": "c"}]},
            "status": {"phase": "Pending", "initContainerStatuses": [
                {"name": "i", "state": {"running": {}}, "restartCount": 0}]}}
    assert cells(table("pods", "", init))[0][2] == "Init:0/1"
    done = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]},
            "status": {"phase": "Succeeded", "containerStatuses": [
                {"name": "c", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}}
    assert cells(table("pods", "", done))[0][1:3] == ["0/1", "Completed"]
    done["metadata"]["deletionTimestamp"] = ago(seconds=1)
    assert cells(table("pods", "", done))[0][2] == "Terminating"
    empty = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]}}
    assert cells(table("pods", "", empty))[0][1:4] == ["0/1", "Pending", "0"]


def test_nodes_table():
    node = {"metadata": {"name": "kind-worker", "creationTimestamp": ago(days=2, hours=5),
                         "labels": {"node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/": "x"}},
            "spec": {"unschedulable": True},
            "status": {"conditions": [{"type": "Ready", "status": "True"}],
                       "addresses": [{"type": "InternalIP", "address": "172.18.0.2"}],
                       "nodeInfo": {"kubeletVersion": "v1.34.0"}}}
    t = table("nodes", "", node)
    assert headers(t) == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert cells(t) == [["kind-worker", "Ready,SchedulingDisabled", "control-plane", "2d5h", "v1.34.0"]]
    assert cells(t, wide=True)[0][5:7] == ["172.18.0.2", "<none>"]
    bare = {"metadata": {"name": "n"}}
    assert cells(table("nodes", "", bare))[0][1:3] == ["Unknown", "<none>"]


def test_daemonset_table_matches_tutorial_columns():
    ds = {"metadata": {"name": "dra-example-driver-kubeletplugin", "creationTimestamp": ago(minutes=2, seconds=17)},
          "spec": {"selector": {"matchLabels": {"app.kubernetes.io/name": "dra-example-driver"}},
                   "template": {"spec": {"containers": [{"name": "plugin", "image": "driver:v0.2.0"}]}}},
          "status": {"desiredNumberScheduled": 1, "currentNumberScheduled": 1, "numberReady": 1,
                     "updatedNumberScheduled": 1, "numberAvailable": 1}}
    t = table("daemonsets", "apps", ds)
    assert headers(t) == ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR", "AGE"]
    assert cells(t) == [["dra-example-driver-kubeletplugin", 1, 1, 1, 1, 1, "<none>", "2m17s"]]
    assert cells(t, wide=True)[0][8:] == ["plugin", "driver:v0.2.0", "app.kubernetes.io/name=dra-example-driver"]


def test_jobs_and_deployments():
    job = {"metadata": {"name": "j", "creationTimestamp": ago(minutes=3)},
           "spec": {"completions": 2, "selector": {"matchExpressions": [
               {"key": "batch", "operator": "In", "values": ["a", "b"]}, {"key": "x", "operator": "Exists"}]}},
           "status": {"succeeded": 2, "startTime": ago(minutes=3), "completionTime": ago(seconds=60),
                      "conditions": [{"type": "Complete", "status": "True"}]}}
    t = table("jobs", "batch", job)
    assert headers(t) == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]
    assert cells(t) == [["j", "Complete", "2/2", "2m", "3m"]]
    assert cells(t, wide=True)[0][-1] == "batch in (a,b),x"
    running = {"metadata": {"name": "r"}, "spec": {"parallelism": 3}, "status": {"startTime": ago(seconds=5)}}
    assert cells(table("jobs", "batch", running))[0][1:4] == ["Running", "0/1 of 3", "5s"]
    deploy = {"metadata": {"name": "d"}, "spec": {"replicas": 3}, "status": {"readyReplicas": 2, "updatedReplicas": 3}}
    assert cells(table("deployments", "apps", deploy)) == [["d", "2/3", 3, 0, "<unknown>"]]


def test_services_and_small_core_kinds():
    svc = {"metadata": {"name": "ollama-service"}, "spec": {
        "type": "NodePort", "clusterIP": "10.96.0.12", "selector": {"app": "ollama"},
        "ports": [{"port": 11434, "nodePort": 30080, "protocol": "TCP"}]}}
    assert cells(table("services", "", svc), wide=True) == [
        ["ollama-service", "NodePort", "10.96.0.12", "<none>", "11434:30080/TCP", "<unknown>", "app=ollama"]]
    lb = {"metadata": {"name": "lb"}, "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}}
    assert cells(table("services", "", lb))[0][3:5] == ["<pending>", "80/TCP"]
    assert cells(table("configmaps", "", {"metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}}))[0][1] == 2
    assert cells(table("secrets", "", {"metadata": {"name": "s"}, "data": {"a": "MQ=="}}))[0][1:3] == ["Opaque", 1]
    assert headers(table("serviceaccounts", "")) == ["NAME", "SECRETS", "AGE"]
    assert cells(table("namespaces", "", {"metadata": {"name": "dra-tutorial"}, "status": {"phase": "Active"}}))[0][
        1] == "Active"


def test_events_rbac_and_priorityclasses():
    event = {"metadata": {"name": "ollama.1"}, "type": "Normal", "reason": "Scheduled", "count": 3,
             "firstTimestamp": ago(minutes=5), "lastTimestamp": ago(seconds=30), "message": "assigned\n",
             "involvedObject": {"kind": "Pod", "name": "ollama"}, "source": {"component": "default-scheduler"}}
    t = table("events", "", event)
    assert headers(t) == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert cells(t) == [["30s (x3 over 5m)", "Normal", "Scheduled", "pod/ollama", "assigned"]]
    binding = {"metadata": {"name": "b", "creationTimestamp": ago(minutes=1)},
               "roleRef": {"kind": "ClusterRole", "name": "dra-example-driver-role"},
               "subjects": [{"kind": "ServiceAccount", "name": "sa", "namespace": "dra-tutorial"}]}
    t = table("clusterrolebindings", "rbac.authorization.k8s.io", binding)
    assert cells(t, wide=True) == [["b", "ClusterRole/dra-example-driver-role", "60s", "", "",
                                    "dra-tutorial/sa"]]
    role = {"metadata": {"name": "r", "creationTimestamp": "2025-11-06T07:54:29Z"}}
    assert cells(table("clusterroles", "rbac.authorization.k8s.io", role)) == [["r", "2025-11-06T07:54:29Z"]]
    pc = {"metadata": {"name": "dra-driver-high-priority"}, "value": 1000000, "globalDefault": False}
    t = table("priorityclasses", "scheduling.k8s.io", pc)
    assert headers(t) == ["NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"]
    assert cells(t) == [["dra-driver-high-priority", 1000000, False, "<unknown>", "PreemptLowerPriority"]]


def test_include_object_modes():
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"}, "data": {"k": "v"}}
    assert "object" not in table("configmaps", "", obj)["rows"][0]
    meta = table("configmaps", "", obj, include="Metadata")["rows"][0]["object"]
    assert meta == {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                    "metadata": {"name": "c", "namespace": "n"}}
    assert table("configmaps", "", obj, include="Object")["rows"][0]["object"] is obj
    with pytest.raises(ValueError, match="includeObject"):
        table("configmaps", "", obj, include="Everything")
