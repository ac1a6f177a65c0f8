"""JSON patch, merge patch and strategic merge patch as kube-apiserver applies them."""

from __future__ import annotations

import copy
import json

import pytest

from kubedra.controlplane.apiserver.patch import (
    JSON_PATCH,
    MERGE_PATCH,
    STRATEGIC_MERGE_PATCH,
    PatchError,
    apply_patch,
)

POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "ollama", "namespace": "dra-tutorial", "labels": {"app": "ollama"},
                 "finalizers": ["a/one"]},
    "spec": {
        "containers": [
            {"name": "ollama", "image": "alpine/ollama:0.12.9",
             "ports": [{"name": "http", "containerPort": 11434, "protocol": "TCP"}],
             "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
             "resources": {"claims": [{"name": "gpu"}]}},
            {"name": "sidecar", "image": "busybox"},
        ],
        "tolerations": [{"key": "x", "operator": "Exists"}],
        "volumes": [{"name": "cdi", "hostPath": {"path": "/var/run/cdi"}}],
        "resourceClaims": [{"name": "gpu", "resourceClaimName": "example-resource-claim"}],
    },
}


def smp(patch: dict, current: dict = POD, kind: str = "Pod") -> dict:
    before = copy.deepcopy(current)
    result = apply_patch(current, json.dumps(patch).encode(), STRATEGIC_MERGE_PATCH, kind=kind, api_version="v1")
    assert current == before, "the input object must not be modified"
    return result


def jp(ops: list, current: dict = POD) -> dict:
    return apply_patch(current, json.dumps(ops).encode(), JSON_PATCH, kind="Pod", api_version="v1")


# --- JSON patch -------------------------------------------------------------------------------


def test_json_patch_add_replace_remove_and_escaping():
    result = jp([
        {"op": "add", "path": "/metadata/annotations", "value": {}},
        {"op": "add", "path": "/metadata/annotations/example.com~1note", "value": "x~y"},
        {"op": "replace", "path": "/spec/containers/0/image", "value": "ollama/ollama"},
        {"op": "remove", "path": "/spec/tolerations"},
        {"op": "add", "path": "/spec/containers/-", "value": {"name": "third", "image": "x"}},
        {"op": "add", "path": "/metadata/finalizers/0", "value": "a/zero"},
    ])
    assert result["metadata"]["annotations"] == {"example.com/note": "x~y"}
    assert result["spec"]["containers"][0]["image"] == "ollama/ollama"
    assert "tolerations" not in result["spec"]
    assert [c["name"] for c in result["spec"]["containers"]] == ["ollama", "sidecar", "third"]
    assert result["metadata"]["finalizers"] == ["a/zero", "a/one"]


def test_json_patch_move_copy_and_test():
    result = jp([
        {"op": "test", "path": "/metadata/labels/app", "value": "ollama"},
        {"op": "copy", "from": "/metadata/labels/app", "path": "/metadata/labels/copy"},
        {"op": "move", "from": "/metadata/labels/app", "path": "/metadata/labels/moved"},
        {"op": "test", "path": "/spec/containers/0/ports/0/containerPort", "value": 11434.0},
    ])
    assert result["metadata"]["labels"] == {"copy": "ollama", "moved": "ollama"}


def test_json_patch_failed_test_is_422_and_all_or_nothing():
    with pytest.raises(PatchError) as err:
        jp([{"op": "remove", "path": "/spec/tolerations"},
            {"op": "test", "path": "/metadata/labels/app", "value": "other"}])
    assert err.value.status == 422
    assert "/metadata/labels/app" in err.value.message
    assert "tolerations" in POD["spec"]


def test_json_patch_test_distinguishes_bool_from_number():
    doc = {"a": True}
    with pytest.raises(PatchError):
        apply_patch(doc, b'[{"op":"test","path":"/a","value":1}]', JSON_PATCH, kind="X", api_version="v1")


@pytest.mark.parametrize("ops, status, fragment", [
    ({"op": "add"}, 400, "array"),
    ([{"op": "frobnicate", "path": "/a"}], 400, "frobnicate"),
    ([{"op": "add", "path": "/a"}], 400, "value"),
    ([{"op": "remove", "path": "/metadata/nope"}], 422, "/metadata/nope"),
    ([{"op": "replace", "path": "/spec/containers/7/image", "value": "x"}], 422, "out of bounds"),
    ([{"op": "add", "path": "/spec/containers/01", "value": {}}], 422, "invalid array index"),
    ([{"op": "add", "path": "/missing/deeper", "value": 1}], 422, "missing"),
    ([{"op": "move", "from": "/metadata", "path": "/metadata/labels/x"}], 422, "own child"),
])
def test_json_patch_errors(ops, status, fragment):
    with pytest.raises(PatchError) as err:
        apply_patch(POD, json.dumps(ops).encode(), JSON_PATCH, kind="Pod", api_version="v1")
    assert err.value.status == status
    assert fragment in err.value.message


def test_undecodable_body_and_unknown_media_type():
    with pytest.raises(PatchError) as err:
        apply_patch(POD, b"{not json", MERGE_PATCH, kind="Pod", api_version="v1")
    assert err.value.status == 400
    with pytest.raises(PatchError) as err:
        apply_patch(POD, b"{}", "application/xml", kind="Pod", api_version="v1")
    assert err.value.status == 415


# --- merge patch --------------------------------------------------------------------------------


def test_merge_patch_rfc7386():
    patch = {"metadata": {"labels": {"app": None, "tier": "gpu"}}, "spec": {"tolerations": []}}
    result = apply_patch(POD, json.dumps(patch).encode(), MERGE_PATCH + "; charset=utf-8",
                         kind="Pod", api_version="v1")
    assert result["metadata"]["labels"] == {"tier": "gpu"}
    assert result["spec"]["tolerations"] == []
    # Lists are replaced whole by a merge patch, even keyed ones.
    result = apply_patch(POD, b'{"spec":{"containers":[{"name":"only","image":"x"}]}}', MERGE_PATCH,
                         kind="Pod", api_version="v1")
    assert result["spec"]["containers"] == [{"name": "only", "image": "x"}]


# --- strategic merge patch -----------------------------------------------------------------------


def test_smp_merges_containers_by_name_and_env_by_name():
    result = smp({"spec": {"containers": [
        {"name": "ollama", "image": "ollama/ollama", "env": [{"name": "B", "value": "20"}, {"name": "C", "value": "3"}]},
    ]}})
    ollama, sidecar = result["spec"]["containers"]
    assert ollama["image"] == "ollama/ollama"
    assert ollama["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "20"}, {"name": "C", "value": "3"}]
    assert ollama["ports"] == POD["spec"]["containers"][0]["ports"]
    assert sidecar == {"name": "sidecar", "image": "busybox"}


def test_smp_ports_merge_by_container_port():
    result = smp({"spec": {"containers": [
        {"name": "ollama", "ports": [{"containerPort": 11434, "name": "api"}, {"containerPort": 8080}]}]}})
    assert result["spec"]["containers"][0]["ports"] == [
        {"name": "api", "containerPort": 11434, "protocol": "TCP"}, {"containerPort": 8080}]


def test_smp_tolerations_are_replaced():
    result = smp({"spec": {"tolerations": [{"key": "y", "operator": "Exists"}]}})
    assert result["spec"]["tolerations"] == [{"key": "y", "operator": "Exists"}]


def test_smp_finalizers_are_a_set_and_delete_from_primitive_list():
    result = smp({"metadata": {"finalizers": ["a/one", "b/two"]}})
    assert result["metadata"]["finalizers"] == ["a/one", "b/two"]
    result = smp({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a/one"]}}, result)
    assert result["metadata"]["finalizers"] == ["b/two"]


def test_smp_delete_directive_in_list_and_null_field():
    result = smp({"spec": {"containers": [{"name": "sidecar", "$patch": "delete"},
                                          {"name": "ollama", "ports": None}]}})
    assert [c["name"] for c in result["spec"]["containers"]] == ["ollama"]
    assert "ports" not in result["spec"]["containers"][0]


def test_smp_replace_directive_for_list_and_map():
    result = smp({"spec": {"containers": [{"name": "new", "image": "x"}, {"$patch": "replace"}]}})
    assert result["spec"]["containers"] == [{"name": "new", "image": "x"}]
    result = smp({"metadata": {"labels": {"$patch": "replace", "only": "this"}}})
    assert result["metadata"]["labels"] == {"only": "this"}
    result = smp({"metadata": {"labels": {"$patch": "delete"}}})
    assert result["metadata"]["labels"] == {}


def test_smp_set_element_order():
    patch = {"spec": {
        "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "ollama"}],
        "containers": [{"name": "sidecar", "image": "busybox:2"}],
    }}
    result = smp(patch)
    assert [c["name"] for c in result["spec"]["containers"]] == ["sidecar", "ollama"]
    assert result["spec"]["containers"][0]["image"] == "busybox:2"


def test_smp_set_element_order_keeps_server_only_items_near_their_neighbour():
    current = {"spec": {"containers": [{"name": "a"}, {"name": "server-only"}, {"name": "b"}]}}
    result = smp({"spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}]}}, current)
    assert [c["name"] for c in result["spec"]["containers"]] == ["b", "a", "server-only"]


def test_smp_retain_keys_on_volumes_switches_volume_source():
    patch = {"spec": {"volumes": [{"name": "cdi", "$retainKeys": ["emptyDir", "name"], "emptyDir": {}}]}}
    result = smp(patch)
    assert result["spec"]["volumes"] == [{"name": "cdi", "emptyDir": {}}]


def test_smp_retain_keys_on_deployment_strategy():
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                  "spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}}
    result = smp({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}, deployment, "Deployment")
    assert result["spec"]["strategy"] == {"type": "Recreate"}


def test_smp_daemonset_template_containers_merge():
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "plugin"},
          "spec": {"template": {"spec": {"containers": [
              {"name": "plugin", "image": "v0.2.0", "volumeMounts": [
                  {"name": "cdi", "mountPath": "/var/run/cdi"}, {"name": "plugins", "mountPath": "/p"}]}]}}}}
    result = smp({"spec": {"template": {"spec": {"containers": [
        {"name": "plugin", "image": "v0.4.0", "volumeMounts": [{"name": "cdi2", "mountPath": "/var/run/cdi"}]}]}}}},
        ds, "DaemonSet")
    container = result["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "v0.4.0"
    assert container["volumeMounts"] == [{"name": "cdi2", "mountPath": "/var/run/cdi"},
                                         {"name": "plugins", "mountPath": "/p"}]


def test_smp_unknown_lists_replace_and_new_subtrees_are_cleaned():
    claim = {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim", "metadata": {"name": "c"},
             "spec": {"devices": {"requests": [{"name": "a"}, {"name": "b"}]}}}
    result = smp({"spec": {"devices": {"requests": [{"name": "z"}]}},
                  "metadata": {"annotations": {"x": "1", "gone": None}}}, claim, "ResourceClaim")
    assert result["spec"]["devices"]["requests"] == [{"name": "z"}]
    assert result["metadata"]["annotations"] == {"x": "1"}


def test_smp_reserved_for_merges_by_uid():
    claim = {"kind": "ResourceClaim", "metadata": {"name": "c"},
             "status": {"reservedFor": [{"resource": "pods", "name": "p1", "uid": "1"}]}}
    result = smp({"status": {"reservedFor": [{"resource": "pods", "name": "p2", "uid": "2"}]}}, claim,
                 "ResourceClaim")
    assert [r["uid"] for r in result["status"]["reservedFor"]] == ["1", "2"]


def test_smp_missing_merge_key_is_422():
    with pytest.raises(PatchError) as err:
        smp({"spec": {"containers": [{"image": "x"}]}})
    assert err.value.status == 422
    assert "merge key: name" in err.value.message
    assert ".spec.containers" in err.value.message


def test_smp_bad_directive_is_422():
    with pytest.raises(PatchError) as err:
        smp({"metadata": {"labels": {"$patch": "explode"}}})
    assert err.value.status == 422
