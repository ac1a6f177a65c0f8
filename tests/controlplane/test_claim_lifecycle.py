"""The scheduler and ResourceClaim controller on the real (in-process) API server."""

from __future__ import annotations

from pathlib import Path

from kubedra.api.resource import DELETE_PROTECTION_FINALIZER

from ._cluster import claim_spec, device_class, gpu_slice, namespace, node, pod, running_cluster, wait_for

NS = "dra-tutorial"


def test_tutorial_claim_gets_all_devices_of_the_worker(tmp_path: Path) -> None:
    with running_cluster(tmp_path) as (client, _manager):
        namespace(client, NS)
        client.create("nodes", node("kind-control-plane"))
        client.create("nodes", node("kind-worker"))
        client.create("deviceclasses", device_class())
        client.create("resourceslices", gpu_slice("kind-worker", 9))
        client.create("resourceclaims", {
            "apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim",
            "metadata": {"name": "example-resource-claim", "namespace": NS},
            "spec": claim_spec('device.capacity["gpu.example.com"].memory == quantity("80Gi")', mode="All"),
        })
        client.create("pods", pod("ollama", NS, [{"name": "gpu", "resourceClaimName": "example-resource-claim"}]))

        bound = wait_for(lambda: client.get("pods", "ollama", namespace=NS)["spec"].get("nodeName"), what="binding")
        assert bound == "kind-worker"
        claim = client.get("resourceclaims", "example-resource-claim", namespace=NS)
        results = claim["status"]["allocation"]["devices"]["results"]
        assert sorted(r["device"] for r in results) == [f"gpu-{i}" for i in range(9)]
        assert {(r["driver"], r["pool"], r["request"]) for r in results} == {("gpu.example.com", "kind-worker", "gpu")}
        assert claim["status"]["allocation"]["nodeSelector"] == {"nodeSelectorTerms": [
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["kind-worker"]}]}]}
        pod_uid = client.get("pods", "ollama", namespace=NS)["metadata"]["uid"]
        assert claim["status"]["reservedFor"] == [{"resource": "pods", "name": "ollama", "uid": pod_uid}]
        assert DELETE_PROTECTION_FINALIZER in claim["metadata"]["finalizers"]


def _claim(name: str, spec: dict, ns: str = NS) -> dict:
    return {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


def _events(client, ns: str, pod_name: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [e["message"] for e in client.list("events", namespace=ns)["items"]
            if e["involvedObject"]["name"] == pod_name and e["reason"] == "FailedScheduling"]


def _cluster(client, nodes: int = 2, devices: int = 2) -> None:  # type: ignore[no-untyped-def]
    namespace(client, NS)
    client.create("deviceclasses", device_class())
    for i in range(nodes):
        client.create("nodes", node(f"worker-{i}"))
        client.create("resourceslices", gpu_slice(f"worker-{i}", devices))


def test_shared_claim_used_by_two_pods(tmp_path: Path) -> None:
    with running_cluster(tmp_path) as (client, _m):
        _cluster(client)
        client.create("resourceclaims", _claim("shared", claim_spec()))
        for name in ("p1", "p2"):
            client.create("pods", pod(name, NS, [{"name": "gpu", "resourceClaimName": "shared"}]))
        nodes = {n: wait_for(lambda n=n: client.get("pods", n, namespace=NS)["spec"].get("nodeName"), what=n)
                 for n in ("p1", "p2")}
        claim = client.get("resourceclaims", "shared", namespace=NS)
        assert nodes["p1"] == nodes["p2"] == claim["status"]["allocation"]["devices"]["results"][0]["pool"]
        assert sorted(r["name"] for r in claim["status"]["reservedFor"]) == ["p1", "p2"]
        assert len(claim["status"]["allocation"]["devices"]["results"]) == 1

        # Deleting one pod keeps the allocation; deleting both deallocates and drops the finalizer.
        client.delete("pods", "p1", namespace=NS, grace_period_seconds=0)
        wait_for(lambda: [r["name"] for r in client.get("resourceclaims", "shared", namespace=NS)["status"]
                          .get("reservedFor") or []] == ["p2"], what="p1 removed from reservedFor")
        assert client.get("resourceclaims", "shared", namespace=NS)["status"].get("allocation")
        client.delete("pods", "p2", namespace=NS, grace_period_seconds=0)
        final = wait_for(lambda: (lambda c: c if not c["status"].get("allocation") and
                                  DELETE_PROTECTION_FINALIZER not in (c["metadata"].get("finalizers") or []) else None)(
            client.get("resourceclaims", "shared", namespace=NS)), what="deallocation")
        assert not final["status"].get("reservedFor")


def test_template_claims_are_allocated_per_pod_without_double_allocation(tmp_path: Path) -> None:
    with running_cluster(tmp_path) as (client, _m):
        _cluster(client, nodes=2, devices=2)
        client.create("resourceclaimtemplates", {
            "apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaimTemplate",
            "metadata": {"name": "one-gpu", "namespace": NS}, "spec": {"spec": claim_spec()}})
        for i in range(5):  # 4 devices in the cluster: the fifth pod cannot fit
            client.create("pods", pod(f"w{i}", NS, [{"name": "gpu", "resourceClaimTemplateName": "one-gpu"}]))
        wait_for(lambda: sum(1 for p in client.list("pods", namespace=NS)["items"] if p["spec"].get("nodeName")) == 4,
                 what="four pods bound")
        claims = client.list("resourceclaims", namespace=NS)["items"]
        used = [(r["pool"], r["device"]) for c in claims if (c.get("status") or {}).get("allocation")
                for r in c["status"]["allocation"]["devices"]["results"]]
        assert len(used) == 4 and len(set(used)) == 4
        pending = [p for p in client.list("pods", namespace=NS)["items"] if not p["spec"].get("nodeName")]
        assert len(pending) == 1
        name = pending[0]["metadata"]["name"]
        message = wait_for(lambda: [m for m in _events(client, NS, name)
                                    if m.startswith("0/2 nodes are available: 2 cannot allocate all claims.")],
                           what="FailedScheduling event")[0]
        # The explain summary names the claim of the pod that does not fit.
        claim_name = pending[0]["status"]["resourceClaimStatuses"][0]["resourceClaimName"]
        assert f"{NS}/{claim_name}" in message and "already allocated" in message
        # The event and the pod's PodScheduled condition are separate writes: wait for the condition too.
        cond = wait_for(lambda: [c for c in (client.get("pods", name, namespace=NS).get("status") or {})
                                 .get("conditions", []) if c["type"] == "PodScheduled"],
                        what="PodScheduled condition")
        assert cond[0]["status"] == "False" and cond[0]["reason"] == "Unschedulable"

        # Deleting a bound pod frees its device and the waiting pod gets it.
        bound = next(p for p in client.list("pods", namespace=NS)["items"] if p["spec"].get("nodeName"))
        client.delete("pods", bound["metadata"]["name"], namespace=NS, grace_period_seconds=0)
        wait_for(lambda: client.get("pods", name, namespace=NS)["spec"].get("nodeName"), what="waiting pod bound")


def test_unfit_pod_stays_pending_with_a_message_naming_the_claim(tmp_path: Path) -> None:
    with running_cluster(tmp_path) as (client, _m):
        _cluster(client, nodes=1, devices=2)
        client.create("resourceclaims", _claim(
            "big", claim_spec('device.capacity["gpu.example.com"].memory == quantity("40Gi")')))
        client.create("pods", pod("needs-40gi", NS, [{"name": "gpu", "resourceClaimName": "big"}]))
        message = wait_for(lambda: [m for m in _events(client, NS, "needs-40gi")
                                    if m.startswith("0/1 nodes are available: 1 cannot allocate all claims.")],
                           what="FailedScheduling event")[0]
        assert "big" in message and "40Gi" in message
        assert not client.get("pods", "needs-40gi", namespace=NS)["spec"].get("nodeName")


def test_missing_claim_and_class_wait_with_a_reason_then_schedule(tmp_path: Path) -> None:
    with running_cluster(tmp_path) as (client, _m):
        namespace(client, NS)
        client.create("nodes", node("worker-0"))
        client.create("resourceslices", gpu_slice("worker-0", 1))
        client.create("pods", pod("early", NS, [{"name": "gpu", "resourceClaimName": "later"}]))
        wait_for(lambda: any('resourceclaim "later" not found' in m for m in _events(client, NS, "early")),
                 what="missing claim event")
        client.create("resourceclaims", _claim("later", claim_spec()))
        wait_for(lambda: any("device class gpu.example.com does not exist" in m for m in _events(client, NS, "early")),
                 what="missing class event")
        client.create("deviceclasses", device_class())
        assert wait_for(lambda: client.get("pods", "early", namespace=NS)["spec"].get("nodeName")) == "worker-0"


def test_node_affinity_and_dra_reasons_per_node(tmp_path: Path) -> None:
    with running_cluster(tmp_path) as (client, _m):
        namespace(client, NS)
        client.create("deviceclasses", device_class())
        client.create("nodes", node("a", {"zone": "z1"}))
        client.create("nodes", node("b", {"zone": "z2"}))
        client.create("resourceslices", gpu_slice("b", 1))
        client.create("resourceclaims", _claim("c", claim_spec()))
        client.create("pods", pod("p", NS, [{"name": "gpu", "resourceClaimName": "c"}], nodeSelector={"zone": "z1"}))
        expected = ("0/2 nodes are available: 1 cannot allocate all claims, "
                    "1 node(s) didn't match Pod's node affinity/selector.")
        wait_for(lambda: [m for m in _events(client, NS, "p") if m.startswith(expected)], what=expected)


def test_scheduler_restart_rebuilds_state_without_double_allocation(tmp_path: Path) -> None:
    from kubedra.controlplane.apiserver.app import Config, ControlPlane
    from kubedra.controlplane.client import LocalClient
    from kubedra.controlplane.manager import Manager

    from ._cluster import FAST

    plane = ControlPlane(Config(data_dir=tmp_path / "data", storage="memory", port=0))
    client = LocalClient(plane.registry)
    try:
        _cluster(client, nodes=1, devices=2)
        with Manager(client, scheduler_options=dict(FAST)):
            client.create("resourceclaims", _claim("first", claim_spec()))
            client.create("pods", pod("first", NS, [{"name": "gpu", "resourceClaimName": "first"}]))
            wait_for(lambda: client.get("pods", "first", namespace=NS)["spec"].get("nodeName"))
        # A new scheduler process: it only knows what the API says.
        with Manager(client, scheduler_options=dict(FAST)):
            for name in ("second", "third"):
                client.create("resourceclaims", _claim(name, claim_spec()))
                client.create("pods", pod(name, NS, [{"name": "gpu", "resourceClaimName": name}]))
            wait_for(lambda: client.get("pods", "second", namespace=NS)["spec"].get("nodeName")
                     or client.get("pods", "third", namespace=NS)["spec"].get("nodeName"))
            wait_for(lambda: _events(client, NS, "second") or _events(client, NS, "third"), what="one unfit pod")
            devices = [(client.get("resourceclaims", n, namespace=NS).get("status") or {}).get("allocation")
                       for n in ("first", "second", "third")]
            used = [a["devices"]["results"][0]["device"] for a in devices if a]
            assert sorted(used) == ["gpu-0", "gpu-1"]
    finally:
        plane.close()


def test_claim_replaced_between_filter_and_bind_fails_the_attempt(tmp_path: Path) -> None:
    import pytest

    from kubedra.api.codec import decode
    from kubedra.api.core import Node, Pod
    from kubedra.api.resource import AllocationResult, ResourceClaim
    from kubedra.controlplane.apiserver.app import Config, ControlPlane
    from kubedra.controlplane.client import LocalClient
    from kubedra.controlplane.scheduler.binder import Binder, BindError
    from kubedra.controlplane.scheduler.cycle import ClaimUpdate

    plane = ControlPlane(Config(data_dir=tmp_path / "data", storage="memory", port=0))
    client = LocalClient(plane.registry)
    try:
        namespace(client, NS)
        the_node = decode(Node, client.create("nodes", node("worker-0")))
        the_pod = decode(Pod, client.create("pods", pod("p", NS, [{"name": "gpu", "resourceClaimName": "c"}])))
        seen = decode(ResourceClaim, client.create("resourceclaims", _claim("c", claim_spec())))
        allocation = decode(AllocationResult, {"devices": {"results": [
            {"request": "gpu", "driver": "gpu.example.com", "pool": "worker-0", "device": "gpu-0"}]}})
        # The claim the scheduler decided on is deleted and a new one with the same name appears.
        client.delete("resourceclaims", "c", namespace=NS)
        client.create("resourceclaims", _claim("c", claim_spec()))
        with pytest.raises(BindError, match="replaced"):
            Binder(client).reserve(ClaimUpdate(seen, allocation), the_pod, the_node)
        fresh = client.get("resourceclaims", "c", namespace=NS)
        assert not (fresh.get("status") or {}).get("allocation")
        # Deleted without replacement: also a clean failure, not a traceback.
        client.delete("resourceclaims", "c", namespace=NS)
        with pytest.raises(BindError, match="not found"):
            Binder(client).reserve(ClaimUpdate(seen, allocation), the_pod, the_node)
    finally:
        plane.close()


def test_job_pods_each_get_an_allocated_claim_from_the_template(tmp_path: Path) -> None:
    with running_cluster(tmp_path) as (client, _m):
        _cluster(client, nodes=1, devices=2)
        client.create("resourceclaimtemplates", {
            "apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaimTemplate",
            "metadata": {"name": "one-gpu", "namespace": NS}, "spec": {"spec": claim_spec()}})
        client.create("jobs", {
            "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "train", "namespace": NS},
            "spec": {"completions": 2, "parallelism": 2,
                     "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "x"}],
                                           "resourceClaims": [{"name": "gpu", "resourceClaimTemplateName": "one-gpu"}]}}}})
        pods = wait_for(lambda: (lambda ps: ps if len(ps) == 2 and all(p["spec"].get("nodeName") for p in ps) else None)(
            client.list("pods", namespace=NS)["items"]), what="both job pods bound")
        devices = set()
        for p in pods:
            claim_name = p["status"]["resourceClaimStatuses"][0]["resourceClaimName"]
            claim = client.get("resourceclaims", claim_name, namespace=NS)
            assert claim["status"]["reservedFor"][0]["uid"] == p["metadata"]["uid"]
            devices.add(claim["status"]["allocation"]["devices"]["results"][0]["device"])
        assert devices == {"gpu-0", "gpu-1"}


def test_extended_resource_backed_by_dra(tmp_path: Path) -> None:
    with running_cluster(tmp_path) as (client, _m):
        namespace(client, NS)
        cls = device_class()
        cls["spec"]["extendedResourceName"] = "example.com/gpu"
        client.create("deviceclasses", cls)
        client.create("nodes", node("worker-0"))
        client.create("resourceslices", gpu_slice("worker-0", 3))
        body = pod("cuda", NS)
        body["spec"]["containers"][0]["resources"] = {"limits": {"example.com/gpu": "2"}}
        client.create("pods", body)
        assert wait_for(lambda: client.get("pods", "cuda", namespace=NS)["spec"].get("nodeName")) == "worker-0"
        status = client.get("pods", "cuda", namespace=NS)["status"]["extendedResourceClaimStatus"]
        assert status["requestMappings"] == [
            {"containerName": "c", "resourceName": "example.com/gpu", "requestName": "container-0-request-0"}]
        claim = client.get("resourceclaims", status["resourceClaimName"], namespace=NS)
        assert claim["metadata"]["annotations"] == {"resource.kubernetes.io/extended-resource-claim": "true"}
        assert claim["metadata"]["name"].startswith("cuda-extended-resources-")
        assert len(claim["status"]["allocation"]["devices"]["results"]) == 2
        assert claim["status"]["reservedFor"][0]["name"] == "cuda"

        # A resource no class serves and no node advertises: the usual "Insufficient" reason.
        other = pod("tpu", NS)
        other["spec"]["containers"][0]["resources"] = {"limits": {"example.com/tpu": "1"}}
        client.create("pods", other)
        wait_for(lambda: [m for m in _events(client, NS, "tpu")
                          if m.startswith("0/1 nodes are available: 1 Insufficient example.com/tpu.")], what="event")

        # Deleting the pod deletes its extended-resource claim (the devices are free again).
        client.delete("pods", "cuda", namespace=NS, grace_period_seconds=0)
        wait_for(lambda: not [c for c in client.list("resourceclaims", namespace=NS)["items"]
                              if not c["metadata"].get("deletionTimestamp")], what="claim deleted")


def test_concurrent_reservations_of_one_claim_all_land(tmp_path: Path) -> None:
    """Binding workers adding pods to one shared claim at the same time: 409s are retried, none is lost."""
    import threading

    from kubedra.api.codec import decode
    from kubedra.api.core import Node, Pod
    from kubedra.api.resource import AllocationResult, ResourceClaim
    from kubedra.controlplane.apiserver.app import Config, ControlPlane
    from kubedra.controlplane.client import LocalClient
    from kubedra.controlplane.scheduler.binder import Binder
    from kubedra.controlplane.scheduler.cycle import ClaimUpdate

    plane = ControlPlane(Config(data_dir=tmp_path / "data", storage="memory", port=0))
    client = LocalClient(plane.registry)
    try:
        namespace(client, NS)
        the_node = decode(Node, client.create("nodes", node("worker-0")))
        seen = decode(ResourceClaim, client.create("resourceclaims", _claim("shared", claim_spec())))
        allocation = decode(AllocationResult, {"devices": {"results": [
            {"request": "gpu", "driver": "gpu.example.com", "pool": "worker-0", "device": "gpu-0"}]}})
        pods = [decode(Pod, client.create("pods", pod(f"p{i}", NS, [{"name": "gpu", "resourceClaimName": "shared"}])))
                for i in range(8)]
        binder = Binder(client)
        errors: list[Exception] = []

        def reserve(p: Pod) -> None:
            try:
                binder.reserve(ClaimUpdate(seen, allocation), p, the_node)
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=reserve, args=(p,)) for p in pods]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        final = client.get("resourceclaims", "shared", namespace=NS)
        assert sorted(r["name"] for r in final["status"]["reservedFor"]) == [f"p{i}" for i in range(8)]
        assert final["status"]["allocation"]["devices"]["results"][0]["device"] == "gpu-0"
    finally:
        plane.close()
