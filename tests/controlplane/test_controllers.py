"""ResourceClaim, DaemonSet and Job controllers against the real (in-process) API server.

The scheduler is off here so the tests need no allocator: they check what controllers write.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kubedra.api.resource import POD_CLAIM_NAME_ANNOTATION
from kubedra.controlplane.client import LocalClient, NotFound

from ._cluster import claim_spec, namespace, node, pod, running_cluster, wait_for

NS = "work"


def template(name: str = "gpu-template") -> dict[str, Any]:
    return {
        "apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaimTemplate",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"metadata": {"labels": {"team": "ml"}}, "spec": claim_spec()},
    }


def claims_of(client: LocalClient) -> list[dict[str, Any]]:
    return list(client.list("resourceclaims", namespace=NS)["items"])


def test_template_claim_per_pod_and_cleanup(tmp_path: Path) -> None:
    with running_cluster(tmp_path, scheduler=False) as (client, _m):
        namespace(client, NS)
        client.create("resourceclaimtemplates", template())
        for name in ("a", "b"):
            client.create("pods", pod(name, NS, [{"name": "gpu", "resourceClaimTemplateName": "gpu-template"}]))

        def recorded(name: str) -> str | None:
            statuses = (client.get("pods", name, namespace=NS).get("status") or {}).get("resourceClaimStatuses")
            return statuses[0]["resourceClaimName"] if statuses else None

        names = {p: wait_for(lambda p=p: recorded(p), what=f"claim of pod {p}") for p in ("a", "b")}
        assert names["a"].startswith("a-gpu-") and names["b"].startswith("b-gpu-")
        claims = {c["metadata"]["name"]: c for c in claims_of(client)}
        assert set(claims) == set(names.values())  # exactly one claim per pod, even with repeated syncs
        claim_a = claims[names["a"]]
        pod_a = client.get("pods", "a", namespace=NS)
        assert claim_a["metadata"]["annotations"] == {POD_CLAIM_NAME_ANNOTATION: "gpu"}
        assert claim_a["metadata"]["labels"] == {"team": "ml"}
        owner = claim_a["metadata"]["ownerReferences"][0]
        assert (owner["kind"], owner["name"], owner["uid"], owner["controller"]) == ("Pod", "a", pod_a["metadata"]["uid"], True)
        assert claim_a["spec"] == claim_spec() | {"devices": {"requests": [
            {"name": "gpu", "exactly": {"deviceClassName": "gpu.example.com", "allocationMode": "ExactCount", "count": 1}}]}}

        client.delete("pods", "a", namespace=NS, grace_period_seconds=0)
        wait_for(lambda: names["a"] not in {c["metadata"]["name"] for c in claims_of(client)}, what="claim deletion")
        assert names["b"] in {c["metadata"]["name"] for c in claims_of(client)}


def test_missing_template_leaves_pod_waiting_then_recovers(tmp_path: Path) -> None:
    with running_cluster(tmp_path, scheduler=False) as (client, _m):
        namespace(client, NS)
        client.create("pods", pod("late", NS, [{"name": "gpu", "resourceClaimTemplateName": "later"}]))
        import time

        time.sleep(0.2)
        assert not (client.get("pods", "late", namespace=NS).get("status") or {}).get("resourceClaimStatuses")
        client.create("resourceclaimtemplates", template("later"))
        wait_for(lambda: (client.get("pods", "late", namespace=NS).get("status") or {}).get("resourceClaimStatuses"),
                 what="claim after the template appeared")


def daemonset(image: str = "driver:v1", node_selector: dict[str, str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "plugin", "image": image}]}
    if node_selector:
        spec["nodeSelector"] = node_selector
    return {
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "driver", "namespace": NS},
        "spec": {"selector": {"matchLabels": {"app": "driver"}},
                 "template": {"metadata": {"labels": {"app": "driver"}}, "spec": spec}},
    }


def ds_pods(client: LocalClient) -> list[dict[str, Any]]:
    return [p for p in client.list("pods", namespace=NS)["items"] if not p["metadata"].get("deletionTimestamp")]


def pinned(p: dict[str, Any]) -> str:
    terms = p["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    return str(terms[0]["matchFields"][0]["values"][0])


def test_daemonset_one_pod_per_matching_node_and_updates(tmp_path: Path) -> None:
    with running_cluster(tmp_path, scheduler=False) as (client, _m):
        namespace(client, NS)
        client.create("nodes", node("n1", {"gpu": "yes"}))
        client.create("nodes", node("n2", {"gpu": "yes"}, taints=[{"key": "dedicated", "effect": "NoSchedule"}]))
        client.create("nodes", node("n3"))
        client.create("daemonsets", daemonset(node_selector={"gpu": "yes"}))
        wait_for(lambda: len(ds_pods(client)) == 1, what="one daemon pod (n2 is tainted)")
        assert pinned(ds_pods(client)[0]) == "n1"
        status = wait_for(lambda: (client.get("daemonsets", "driver", namespace=NS).get("status") or {})
                          .get("desiredNumberScheduled"), what="status")
        assert status == 1

        client.create("nodes", node("n4", {"gpu": "yes"}))
        wait_for(lambda: sorted(pinned(p) for p in ds_pods(client)) == ["n1", "n4"], what="pod on the new node")

        ds = client.get("daemonsets", "driver", namespace=NS)
        ds["spec"]["template"]["spec"]["containers"][0]["image"] = "driver:v2"
        client.update("daemonsets", ds)
        wait_for(lambda: sorted(p["spec"]["containers"][0]["image"] for p in ds_pods(client)) == ["driver:v2"] * 2,
                 what="rolled pods")


def job(completions: int, parallelism: int) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "train", "namespace": NS},
        "spec": {"completions": completions, "parallelism": parallelism, "backoffLimit": 1,
                 "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}],
                                       "resourceClaims": [{"name": "gpu", "resourceClaimTemplateName": "gpu-template"}]}}},
    }


def finish(client: LocalClient, p: dict[str, Any], phase: str) -> None:
    p = client.get("pods", p["metadata"]["name"], namespace=NS)
    p.setdefault("status", {})["phase"] = phase
    client.update("pods", p, subresource="status")


def test_job_runs_pods_until_completions_each_with_its_own_claim(tmp_path: Path) -> None:
    with running_cluster(tmp_path, scheduler=False) as (client, _m):
        namespace(client, NS)
        client.create("resourceclaimtemplates", template())
        client.create("jobs", job(completions=3, parallelism=2))

        def running() -> list[dict[str, Any]]:
            return [p for p in ds_pods(client) if (p.get("status") or {}).get("phase") == "Pending"]

        first = wait_for(lambda: len(running()) == 2 and running(), what="two parallel pods")
        wait_for(lambda: len(claims_of(client)) == 2, what="a claim per pod")
        owners = {c["metadata"]["ownerReferences"][0]["name"] for c in claims_of(client)}
        assert owners == {p["metadata"]["name"] for p in first}
        for p in first:
            finish(client, p, "Succeeded")
        third = wait_for(lambda: [p for p in running() if p["metadata"]["name"] not in owners], what="third pod")
        finish(client, third[0], "Succeeded")
        status = wait_for(lambda: (lambda s: s if any(c["type"] == "Complete" for c in s.get("conditions") or []) else None)(
            client.get("jobs", "train", namespace=NS).get("status") or {}), what="job complete")
        assert status["succeeded"] == 3 and "completionTime" in status
        # Claims of finished pods are deleted by the ResourceClaim controller.
        wait_for(lambda: not claims_of(client), what="claims of finished pods deleted")


def test_job_fails_after_backoff_limit(tmp_path: Path) -> None:
    with running_cluster(tmp_path, scheduler=False) as (client, _m):
        namespace(client, NS)
        client.create("resourceclaimtemplates", template())
        client.create("jobs", job(completions=1, parallelism=1))
        for _ in range(2):
            p = wait_for(lambda: [p for p in ds_pods(client) if (p.get("status") or {}).get("phase") == "Pending"],
                         what="a pending pod")
            finish(client, p[0], "Failed")
        status = wait_for(lambda: (lambda s: s if any(c["type"] == "Failed" for c in s.get("conditions") or []) else None)(
            client.get("jobs", "train", namespace=NS).get("status") or {}), what="job failed")
        assert status["failed"] == 2
        try:
            client.get("jobs", "train", namespace=NS)
        except NotFound:
            raise AssertionError("job vanished") from None
