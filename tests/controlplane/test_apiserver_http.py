"""API semantics over real HTTPS against a running kubedra API server."""

from __future__ import annotations

import http.client
import json
import ssl
import threading
import time
from typing import Any

import pytest

from kubedra.controlplane.apiserver.errors import APIError
from kubedra.controlplane.client import (
    AlreadyExists,
    BadRequest,
    Conflict,
    Gone,
    HTTPClient,
    Informer,
    Invalid,
    NotFound,
)


def raw(server: Any, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
        token: bool = True) -> tuple[int, dict[str, str], bytes]:
    host, port = server.url.removeprefix("https://").split(":")
    conn = http.client.HTTPSConnection(host, int(port), context=ssl.create_default_context(cafile=str(server.ca_file)))
    hdrs = {"Accept": "application/json", **(headers or {})}
    if token:
        hdrs["Authorization"] = f"Bearer {server.token}"
    data = json.dumps(body).encode() if body is not None and not isinstance(body, bytes) else body
    if data is not None:
        hdrs.setdefault("Content-Type", "application/json")
    conn.request(method, path, body=data, headers=hdrs)
    resp = conn.getresponse()
    out = resp.read()
    conn.close()
    return resp.status, dict(resp.getheaders()), out


def claim(name: str, count: int = 1, ns: str = "default") -> dict[str, Any]:
    return {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"devices": {"requests": [{"name": "gpu", "exactly": {"deviceClassName": "gpu.example.com",
                                                                          "count": count}}]}}}


def slice_(name: str, node: str, driver: str = "gpu.example.com") -> dict[str, Any]:
    return {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceSlice", "metadata": {"name": name},
            "spec": {"driver": driver, "nodeName": node, "pool": {"name": node, "generation": 1,
                                                                   "resourceSliceCount": 1},
                     "devices": [{"name": "gpu-0"}]}}


def test_token_required_and_health_public(apiserver: Any) -> None:
    status, _, body = raw(apiserver, "GET", "/api/v1/namespaces", token=False)
    assert status == 401 and json.loads(body)["reason"] == "Unauthorized"
    status, _, body = raw(apiserver, "GET", "/api/v1/namespaces", headers={"Authorization": "Bearer wrong"},
                          token=False)
    assert status == 401
    assert raw(apiserver, "GET", "/readyz", token=False)[0] == 200
    status, _, body = raw(apiserver, "GET", "/version", token=False)
    assert json.loads(body)["gitVersion"].startswith("v1.36")


def test_discovery_legacy_and_aggregated(apiserver: Any) -> None:
    _, _, body = raw(apiserver, "GET", "/apis/resource.k8s.io/v1")
    names = {r["name"]: r for r in json.loads(body)["resources"]}
    assert names["resourceclaims"]["namespaced"] and "resourceclaims/status" in names
    assert not names["resourceslices"]["namespaced"]
    _, _, body = raw(apiserver, "GET", "/apis")
    groups = {g["name"]: g for g in json.loads(body)["groups"]}
    assert groups["resource.k8s.io"]["preferredVersion"]["version"] == "v1"
    assert [v["version"] for v in groups["resource.k8s.io"]["versions"]] == ["v1", "v1beta2", "v1beta1"]
    accept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
    status, headers, body = raw(apiserver, "GET", "/api", headers={"Accept": accept})
    assert status == 200 and "apidiscovery.k8s.io;v=v2" in headers["Content-Type"]
    core = json.loads(body)["items"][0]
    pods = next(r for r in core["versions"][0]["resources"] if r["resource"] == "pods")
    assert pods["shortNames"] == ["po"] and "all" in pods["categories"]
    assert {s["subresource"] for s in pods["subresources"]} >= {"status", "log", "binding"}


def test_crud_generation_and_conflict(apiserver: Any) -> None:
    c = apiserver.client()
    created = c.create("resourceclaims", claim("a"))
    meta = created["metadata"]
    assert meta["uid"] and meta["creationTimestamp"] and meta["generation"] == 1
    assert int(meta["resourceVersion"]) > 0
    with pytest.raises(AlreadyExists):
        c.create("resourceclaims", claim("a"))
    # metadata-only change: no generation bump
    created["metadata"]["labels"] = {"x": "1"}
    updated = c.update("resourceclaims", created)
    assert updated["metadata"]["generation"] == 1
    assert int(updated["metadata"]["resourceVersion"]) > int(meta["resourceVersion"])
    # stale resourceVersion: 409 Conflict with kube-apiserver's wording
    with pytest.raises(Conflict) as err:
        c.update("resourceclaims", created)
    assert "the object has been modified" in err.value.message
    assert c.get("resourceclaims", "a", namespace="default")["metadata"]["labels"] == {"x": "1"}
    c.delete("resourceclaims", "a", namespace="default")
    with pytest.raises(NotFound) as nf:
        c.get("resourceclaims", "a", namespace="default")
    assert nf.value.message == 'resourceclaims.resource.k8s.io "a" not found'


def test_generate_name_and_missing_namespace(apiserver: Any) -> None:
    c = apiserver.client()
    body = claim("")
    body["metadata"] = {"generateName": "claim-", "namespace": "default"}
    obj = c.create("resourceclaims", body)
    assert obj["metadata"]["name"].startswith("claim-") and len(obj["metadata"]["name"]) == 11
    with pytest.raises(NotFound) as err:
        c.create("resourceclaims", claim("x", ns="nope"))
    assert 'namespaces "nope" not found' in err.value.message


def test_invalid_status_object_has_causes(apiserver: Any) -> None:
    status, _, body = raw(apiserver, "POST", "/apis/resource.k8s.io/v1/namespaces/default/resourceclaims",
                          claim("bad", count=-1))
    assert status == 422
    st = json.loads(body)
    assert st["reason"] == "Invalid" and st["details"]["kind"] == "ResourceClaim"
    cause = st["details"]["causes"][0]
    assert cause["field"] == "spec.devices.requests[0].exactly.count"
    assert "must be greater than zero" in cause["message"]
    assert st["message"].startswith('ResourceClaim.resource.k8s.io "bad" is invalid: spec.devices.requests[0]')


def test_status_subresource_separates_spec_and_status(apiserver: Any) -> None:
    c = apiserver.client()
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "st", "namespace": "default"},
           "spec": {"containers": [{"name": "c", "image": "busybox"}]}, "status": {"phase": "Running"}}
    obj = c.create("pods", pod)
    assert obj["status"] == {"phase": "Pending"}  # clients cannot set status on create
    obj["status"]["phase"] = "Running"
    obj["metadata"]["labels"] = {"ignored": "yes"}
    after = c.update("pods", obj, subresource="status")
    assert after["status"]["phase"] == "Running"
    assert "labels" not in after["metadata"]  # the status endpoint ignores everything else
    after["status"]["phase"] = "Failed"
    after["spec"]["containers"][0]["image"] = "busybox:2"
    main = c.update("pods", after)  # the main resource ignores status, bumps generation
    assert main["status"]["phase"] == "Running" and main["metadata"]["generation"] == 2
    cl = c.create("resourceclaims", claim("s"))
    cl["spec"]["devices"]["requests"][0]["exactly"]["count"] = 2
    with pytest.raises(Invalid) as err:  # the claim spec is immutable
        c.update("resourceclaims", cl)
    assert "field is immutable" in err.value.message


def test_list_selectors_and_pagination(apiserver: Any) -> None:
    c = apiserver.client()
    for i in range(5):
        s = slice_(f"s{i}", node=f"node-{i % 2}", driver="a.example.com" if i < 3 else "b.example.com")
        s["metadata"]["labels"] = {"idx": str(i)}
        c.create("resourceslices", s)
    names = lambda lst: [o["metadata"]["name"] for o in lst["items"]]  # noqa: E731
    assert names(c.list("resourceslices", field_selector="spec.nodeName=node-1")) == ["s1", "s3"]
    assert names(c.list("resourceslices", field_selector="spec.driver=b.example.com,spec.nodeName!=node-1")) == ["s4"]
    assert names(c.list("resourceslices", label_selector="idx in (0,4)")) == ["s0", "s4"]
    assert names(c.list("resourceslices", label_selector="idx!=0,idx")) == ["s1", "s2", "s3", "s4"]
    with pytest.raises(BadRequest) as err:
        c.list("resourceslices", field_selector="spec.bogus=1")
    assert "field label not supported: spec.bogus" in err.value.message
    page = c.list("resourceslices", limit=2)
    assert names(page) == ["s0", "s1"] and page["metadata"]["remainingItemCount"] == 3
    page2 = c.list("resourceslices", limit=2, continue_token=page["metadata"]["continue"])
    assert names(page2) == ["s2", "s3"]


def test_watch_stream_resume_and_gone(apiserver: Any) -> None:
    c = apiserver.client()
    first = c.create("resourceclaims", claim("w1"))
    rv = first["metadata"]["resourceVersion"]
    c.create("resourceclaims", claim("w2"))
    c.delete("resourceclaims", "w1", namespace="default")
    w = c.watch("resourceclaims", namespace="default", resource_version=rv, timeout_seconds=2)
    events = []
    for ev in w:
        if ev.type != "BOOKMARK":
            events.append((ev.type, ev.object["metadata"]["name"]))
        if len(events) == 2:
            break
    w.close()
    assert events == [("ADDED", "w2"), ("DELETED", "w1")]
    apiserver.registry.store._compacted_rv = apiserver.registry.store.rv  # simulate compaction
    status, _, body = raw(apiserver, "GET", f"/apis/resource.k8s.io/v1/resourceclaims?watch=1&resourceVersion={rv}")
    assert status == 410 and json.loads(body)["code"] == 410
    with pytest.raises(Gone):
        c.watch("resourceclaims", resource_version=rv)


def test_watch_bookmarks_and_selector_transitions(apiserver: Any) -> None:
    c = apiserver.client()
    c.create("configmaps", {"metadata": {"name": "t", "namespace": "default", "labels": {"tier": "a"}}})
    w = c.watch("configmaps", namespace="default", label_selector="tier=b", resource_version="0", timeout_seconds=5)
    seen: list[str] = []

    def consume() -> None:
        for ev in w:
            seen.append(ev.type)
            if "DELETED" in seen:
                break

    t = threading.Thread(target=consume)
    t.start()
    time.sleep(0.8)  # at least one bookmark interval (0.5 s in the fixture)
    obj = c.get("configmaps", "t", namespace="default")
    obj["metadata"]["labels"]["tier"] = "b"
    obj = c.update("configmaps", obj)  # enters the selection
    obj["metadata"]["labels"]["tier"] = "c"
    c.update("configmaps", obj)  # leaves it
    t.join(timeout=5)
    w.close()
    assert "BOOKMARK" in seen
    assert [s for s in seen if s != "BOOKMARK"] == ["ADDED", "DELETED"]


def test_finalizers_and_deletion_timestamp(apiserver: Any) -> None:
    c = apiserver.client()
    body = claim("f")
    body["metadata"]["finalizers"] = ["example.com/keep"]
    c.create("resourceclaims", body)
    status, _, _out = raw(apiserver, "DELETE", "/apis/resource.k8s.io/v1/namespaces/default/resourceclaims/f")
    assert status == 202
    obj = c.get("resourceclaims", "f", namespace="default")
    assert obj["metadata"]["deletionTimestamp"]
    obj["metadata"]["finalizers"] = []
    c.update("resourceclaims", obj)
    with pytest.raises(NotFound):
        c.get("resourceclaims", "f", namespace="default")


def _wait(cond: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def _gone(c: HTTPClient, resource: str, name: str, ns: str | None = None) -> bool:
    try:
        c.get(resource, name, namespace=ns)
    except NotFound:
        return True
    return False


def test_garbage_collection_background_foreground_orphan(apiserver: Any) -> None:
    c = apiserver.client()
    for policy in ("Background", "Foreground", "Orphan"):
        owner = c.create("configmaps", {"metadata": {"name": f"owner-{policy.lower()}", "namespace": "default"}})
        ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": owner["metadata"]["name"],
               "uid": owner["metadata"]["uid"]}
        c.create("configmaps", {"metadata": {"name": f"dep-{policy.lower()}", "namespace": "default",
                                             "ownerReferences": [ref]}})
        c.delete("configmaps", f"owner-{policy.lower()}", namespace="default", propagation_policy=policy)
        _wait(lambda p=policy: _gone(c, "configmaps", f"owner-{p.lower()}", "default"))
        if policy == "Orphan":
            dep = c.get("configmaps", f"dep-{policy.lower()}", namespace="default")
            assert "ownerReferences" not in dep["metadata"]
        else:
            _wait(lambda p=policy: _gone(c, "configmaps", f"dep-{p.lower()}", "default"))


def test_namespace_deletion(apiserver: Any) -> None:
    c = apiserver.client()
    c.create("namespaces", {"metadata": {"name": "doomed"}})
    c.create("configmaps", {"metadata": {"name": "cm", "namespace": "doomed"}})
    c.create("resourceclaims", claim("c", ns="doomed"))
    ns = c.delete("namespaces", "doomed")
    assert ns["status"]["phase"] == "Terminating"
    _wait(lambda: _gone(c, "namespaces", "doomed"))
    assert _gone(c, "configmaps", "cm", "doomed")


def test_pod_binding_and_graceful_delete(apiserver: Any) -> None:
    c = apiserver.client()
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
           "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    created = c.create("pods", pod)
    assert created["status"]["phase"] == "Pending"
    binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "p"},
               "target": {"kind": "Node", "name": "node-1"}}
    c.create("pods", binding, namespace="default", subresource="binding", name="p")
    with pytest.raises(Conflict) as err:
        c.create("pods", binding, namespace="default", subresource="binding", name="p")
    assert 'already assigned to node "node-1"' in err.value.message
    assert c.list("pods", namespace="default", field_selector="spec.nodeName=node-1")["items"]
    deleting = c.delete("pods", "p", namespace="default")
    assert deleting["metadata"]["deletionGracePeriodSeconds"] == 30  # the kubelet finishes it
    c.delete("pods", "p", namespace="default", grace_period_seconds=0)
    assert _gone(c, "pods", "p", "default")


def test_patch_merge_and_strategic(apiserver: Any) -> None:
    c = apiserver.client()
    c.create("configmaps", {"metadata": {"name": "p", "namespace": "default"}, "data": {"a": "1"}})
    out = c.patch("configmaps", "p", {"data": {"b": "2"}}, namespace="default", patch_type="merge")
    assert out["data"] == {"a": "1", "b": "2"}
    out = c.patch("configmaps", "p", [{"op": "remove", "path": "/data/a"}], namespace="default", patch_type="json")
    assert out["data"] == {"b": "2"}


def test_v1beta1_is_converted(apiserver: Any) -> None:
    body = {"apiVersion": "resource.k8s.io/v1beta1", "kind": "ResourceClaim",
            "metadata": {"name": "old", "namespace": "default"},
            "spec": {"devices": {"requests": [{"name": "gpu", "deviceClassName": "gpu.example.com"}]}}}
    status, _, out = raw(apiserver, "POST", "/apis/resource.k8s.io/v1beta1/namespaces/default/resourceclaims", body)
    assert status == 201, out
    assert json.loads(out)["apiVersion"] == "resource.k8s.io/v1beta1"
    v1 = apiserver.client().get("resourceclaims", "old", namespace="default")
    assert v1["spec"]["devices"]["requests"][0]["exactly"]["deviceClassName"] == "gpu.example.com"


def test_table_output(apiserver: Any) -> None:
    apiserver.client().create("resourceclaims", claim("t"))
    _status, _, out = raw(apiserver, "GET", "/apis/resource.k8s.io/v1/namespaces/default/resourceclaims",
                         headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"})
    table = json.loads(out)
    assert table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]][:2] == ["Name", "State"]
    assert table["rows"][0]["cells"][:2] == ["t", "pending"]


def test_informer_over_http_and_in_process(apiserver: Any) -> None:
    for client in (apiserver.client(), apiserver.local_client()):
        seen: list[tuple[str, str]] = []

        def record(t: str, o: dict[str, Any], old: Any, seen: list[tuple[str, str]] = seen) -> None:
            seen.append((t, o["metadata"]["name"]))

        inf = Informer(client, "deviceclasses", handler=record)
        name = f"dc-{type(client).__name__.lower()}"
        client.create("deviceclasses", {"apiVersion": "resource.k8s.io/v1", "kind": "DeviceClass",
                                        "metadata": {"name": name}, "spec": {}})
        inf.start()
        assert inf.wait_synced()
        assert inf.get(name) is not None
        client.delete("deviceclasses", name)
        _wait(lambda n=name, s=seen: ("DELETED", n) in s)
        inf.stop()


def test_concurrent_writers_get_conflicts_and_nothing_is_lost(apiserver: Any) -> None:
    c0 = apiserver.client()
    c0.create("configmaps", {"metadata": {"name": "counter", "namespace": "default"}, "data": {"n": "0"}})
    conflicts = [0]
    lock = threading.Lock()

    def worker() -> None:
        c = apiserver.client()
        done = 0
        while done < 20:
            obj = c.get("configmaps", "counter", namespace="default")
            obj["data"]["n"] = str(int(obj["data"]["n"]) + 1)
            try:
                c.update("configmaps", obj)
                done += 1
            except Conflict:
                with lock:
                    conflicts[0] += 1

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert c0.get("configmaps", "counter", namespace="default")["data"]["n"] == "80"
    assert conflicts[0] > 0


def test_errors_are_status_objects(apiserver: Any) -> None:
    status, _, out = raw(apiserver, "GET", "/apis/nope.example.com/v1/things")
    assert status == 404 and json.loads(out)["kind"] == "Status"
    status, _, out = raw(apiserver, "POST", "/api/v1/namespaces/default/configmaps", b"{not json")
    assert status == 400 and json.loads(out)["reason"] == "BadRequest"
    status, _, out = raw(apiserver, "PUT", "/api/v1/namespaces/default/configmaps",
                         {"metadata": {"name": "x"}})
    assert status == 405 and json.loads(out)["reason"] == "MethodNotAllowed"
    with pytest.raises(APIError):
        apiserver.client().get("configmaps", "missing", namespace="default")
