"""Write semantics kube clients depend on: no-op writes, Secret defaulting, the scale subresource, OpenAPI media types."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubedra.cli.binaries import kubectl_path
from tests.controlplane.test_apiserver_http import raw

CLAIM = {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim",
         "metadata": {"name": "c", "namespace": "default"},
         "spec": {"devices": {"requests": [{"name": "gpu", "exactly": {"deviceClassName": "gpu.example.com"}}]}}}
DEPLOYMENT = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
              "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                       "template": {"metadata": {"labels": {"app": "web"}},
                                    "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}


def _first_event_after(apiserver: Any, resource: str, rv: str) -> tuple[str, str]:
    w = apiserver.client().watch(resource, namespace="default", resource_version=rv, timeout_seconds=5)
    try:
        for ev in w:
            if ev.type != "BOOKMARK":
                return ev.type, ev.object["metadata"]["resourceVersion"]
    finally:
        w.close()
    raise AssertionError("no event")


def test_noop_writes_keep_resource_version_generation_and_emit_no_event(apiserver: Any) -> None:
    c = apiserver.client()
    created = c.create("resourceclaims", json.loads(json.dumps(CLAIM)))
    rv = created["metadata"]["resourceVersion"]
    # PUT of the body as first sent: equal once defaulted (allocationMode, count), so nothing changes.
    again = c.update("resourceclaims", json.loads(json.dumps(CLAIM)))
    assert (again["metadata"]["resourceVersion"], again["metadata"]["generation"]) == (rv, 1)
    for patch_type in ("merge", "strategic"):
        same = c.patch("resourceclaims", "c", {"spec": {"devices": {"requests": [
            {"name": "gpu", "exactly": {"deviceClassName": "gpu.example.com"}}]}}}, namespace="default",
            patch_type=patch_type)
        assert same["metadata"]["resourceVersion"] == rv, patch_type
    labelled = c.patch("resourceclaims", "c", {"metadata": {"labels": {"a": "b"}}}, namespace="default",
                       patch_type="merge")
    assert labelled["metadata"]["generation"] == 1  # metadata is not spec
    assert _first_event_after(apiserver, "resourceclaims", rv) == ("MODIFIED", labelled["metadata"]["resourceVersion"])


def test_repeated_server_side_apply_is_a_noop(apiserver: Any) -> None:
    c = apiserver.client()
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "default"},
              "data": {"k": "v"}}
    first = c.patch("configmaps", "cfg", config, namespace="default", patch_type="apply", field_manager="tool")
    rv = first["metadata"]["resourceVersion"]
    # The managedFields timestamp would move (seconds resolution): force a different second.
    time.sleep(1.05)
    second = c.patch("configmaps", "cfg", config, namespace="default", patch_type="apply", field_manager="tool")
    assert second["metadata"]["resourceVersion"] == rv
    assert second["metadata"]["managedFields"] == first["metadata"]["managedFields"]
    changed = c.patch("configmaps", "cfg", {**config, "data": {"k": "w"}}, namespace="default", patch_type="apply",
                      field_manager="tool")
    assert _first_event_after(apiserver, "configmaps", rv) == ("MODIFIED", changed["metadata"]["resourceVersion"])


def test_secret_type_defaults_to_opaque(apiserver: Any) -> None:
    c = apiserver.client()
    secret = c.create("secrets", {"apiVersion": "v1", "kind": "Secret",
                                  "metadata": {"name": "s", "namespace": "default"}, "data": {"k": "dg=="}})
    assert secret["type"] == "Opaque"
    listed = c.list("secrets", namespace="default", field_selector="type=Opaque")
    assert [s["metadata"]["name"] for s in listed["items"]] == ["s"]
    tls = c.create("secrets", {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                               "metadata": {"name": "t", "namespace": "default"},
                               "data": {"tls.crt": "", "tls.key": ""}})
    assert tls["type"] == "kubernetes.io/tls"


def test_deployment_scale_subresource(apiserver: Any) -> None:
    c = apiserver.client()
    c.create("deployments", json.loads(json.dumps(DEPLOYMENT)))
    path = "/apis/apps/v1/namespaces/default/deployments/web/scale"
    status, _, body = raw(apiserver, "GET", path)
    assert status == 200
    scale = json.loads(body)
    assert (scale["kind"], scale["apiVersion"], scale["spec"], scale["status"]) == (
        "Scale", "autoscaling/v1", {"replicas": 1}, {"replicas": 0, "selector": "app=web"})

    status, _, body = raw(apiserver, "PATCH", path, {"spec": {"replicas": 3}},
                          headers={"Content-Type": "application/merge-patch+json"})
    assert status == 200 and json.loads(body)["spec"]["replicas"] == 3
    deployment = c.get("deployments", "web", namespace="default")
    assert deployment["spec"]["replicas"] == 3 and deployment["metadata"]["generation"] == 2

    stale = {**scale, "spec": {"replicas": 5}}  # carries the resourceVersion read before the patch
    status, _, body = raw(apiserver, "PUT", path, stale)
    assert status == 409, body
    status, _, body = raw(apiserver, "PUT", path, {**stale, "metadata": {"name": "web"}})
    assert status == 200 and json.loads(body)["spec"]["replicas"] == 5

    status, _, body = raw(apiserver, "PUT", path, {"metadata": {"name": "web"}, "spec": {"replicas": -1}})
    assert status == 422 and json.loads(body)["details"]["causes"][0]["field"] == "spec.replicas"

    status, _, body = raw(apiserver, "GET", "/apis/apps/v1")
    entries = {r["name"]: r for r in json.loads(body)["resources"]}
    assert (entries["deployments/scale"]["group"], entries["deployments/scale"]["kind"]) == ("autoscaling", "Scale")
    status, _, _ = raw(apiserver, "GET", "/apis/batch/v1/namespaces/default/jobs/x/scale")
    assert status == 404


def test_openapi_v2_refuses_protobuf_only_accept(apiserver: Any) -> None:
    status, _, body = raw(apiserver, "GET", "/openapi/v2",
                          headers={"Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"})
    assert status == 406 and json.loads(body)["reason"] == "NotAcceptable"
    status, _, _ = raw(apiserver, "GET", "/openapi/v2", headers={
        "Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf, application/json;q=0.9"})
    assert status == 200


@pytest.mark.slow
def test_kubectl_scale_deployment(apiserver: Any, tmp_path: Path) -> None:
    manifest = tmp_path / "deploy.yaml"
    manifest.write_text(yaml.safe_dump(DEPLOYMENT))
    base = [str(kubectl_path()), f"--kubeconfig={apiserver.kubeconfig}", f"--cache-dir={tmp_path / 'cache'}"]

    def kubectl(*args: str) -> str:
        proc = subprocess.run([*base, *args], capture_output=True, text=True, timeout=60, check=False)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.strip()

    kubectl("apply", "-f", str(manifest))
    assert kubectl("scale", "deployment", "web", "-n", "default", "--replicas=4") == "deployment.apps/web scaled"
    assert kubectl("get", "deployment", "web", "-n", "default", "-o", "jsonpath={.spec.replicas}") == "4"
    assert kubectl("scale", "deployment", "web", "-n", "default", "--current-replicas=4",
                   "--replicas=2") == "deployment.apps/web scaled"
    assert apiserver.client().get("deployments", "web", namespace="default")["spec"]["replicas"] == 2


def test_continue_pages_through_the_first_pages_snapshot(apiserver: Any) -> None:
    c = apiserver.client()
    for name in ("a", "b", "c", "d", "e"):
        c.create("configmaps", {"metadata": {"name": name, "namespace": "default"}, "data": {"v": "1"}})
    first = c.list("configmaps", namespace="default", limit=2)
    assert [o["metadata"]["name"] for o in first["items"]] == ["a", "b"]
    token, rv = first["metadata"]["continue"], first["metadata"]["resourceVersion"]
    # Writes after the first page: none of them may show up in the later pages.
    c.create("configmaps", {"metadata": {"name": "bb", "namespace": "default"}})
    c.delete("configmaps", "c", namespace="default")
    c.patch("configmaps", "d", {"data": {"v": "2"}}, namespace="default", patch_type="merge")
    c.create("configmaps", {"metadata": {"name": "c", "namespace": "default"}, "data": {"v": "new"}})
    second = c.list("configmaps", namespace="default", limit=2, continue_token=token)
    assert [(o["metadata"]["name"], o["data"]) for o in second["items"]] == [("c", {"v": "1"}), ("d", {"v": "1"})]
    assert second["metadata"]["resourceVersion"] == rv
    third = c.list("configmaps", namespace="default", limit=2, continue_token=second["metadata"]["continue"])
    assert [o["metadata"]["name"] for o in third["items"]] == ["e"] and "continue" not in third["metadata"]
    now = c.list("configmaps", namespace="default")
    assert [o["metadata"]["name"] for o in now["items"]] == ["a", "b", "bb", "c", "d", "e"]

    apiserver.registry.store._compacted_rv = apiserver.registry.store.rv  # the snapshot left the history
    status, _, body = raw(apiserver, "GET", f"/api/v1/namespaces/default/configmaps?limit=2&continue={token}")
    assert status == 410 and json.loads(body)["reason"] == "Expired"


def test_no_op_rule_ignores_only_resource_version_and_managed_field_times() -> None:
    from kubedra.controlplane.apiserver.registry import _unchanged

    base = {"kind": "Pod", "metadata": {"name": "p", "resourceVersion": "1",
                                        "managedFields": [{"manager": "m", "time": "t1"}]}, "spec": {"a": 1}}
    same = {"kind": "Pod", "metadata": {"name": "p", "resourceVersion": "2",
                                        "managedFields": [{"manager": "m", "time": "t2"}]}, "spec": {"a": 1}}
    assert _unchanged(same, base)
    assert not _unchanged({**same, "spec": {"a": 2}}, base)
    assert not _unchanged({**same, "status": {}}, base)  # a field present on one side only
    assert not _unchanged({**same, "metadata": {**same["metadata"], "labels": {"x": "y"}}}, base)
    assert _unchanged({"kind": "X"}, {"kind": "X", "metadata": {"resourceVersion": "3"}})
