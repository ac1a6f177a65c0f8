"""Server-side apply: merge, field ownership (FieldsV1), conflicts, removal, updates."""

from __future__ import annotations

import copy

import pytest

from kubedra.controlplane.apiserver._patch_fieldpath import from_fields_v1, to_fields_v1
from kubedra.controlplane.apiserver.apply import (
    ApplyConflict,
    ApplyError,
    server_side_apply,
    update_managed_fields,
)

T0, T1, T2 = "2025-11-06T07:54:29Z", "2025-11-06T07:55:00Z", "2025-11-06T07:56:00Z"


def deployment(replicas: int = 1, image: str = "nginx:1", labels: dict | None = None, **extra) -> dict:
    obj = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": labels if labels is not None else {"app": "web"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "web", "image": image,
                                                  "ports": [{"containerPort": 80}]}]}},
        },
    }
    obj["spec"].update(extra)
    return obj


def entries(obj: dict) -> dict[tuple[str, str], dict]:
    return {(e["manager"], e["operation"]): e for e in obj["metadata"].get("managedFields", [])}


def stored(obj: dict) -> dict:
    """What the apiserver would add on create (identity fields are never owned)."""
    out = copy.deepcopy(obj)
    out["metadata"].update(uid="u-1", resourceVersion="1", creationTimestamp=T0)
    return out


def test_create_records_apply_entry_with_fieldsv1():
    obj = server_side_apply(None, deployment(), manager="kubectl", force=False, now=T0)
    assert obj["spec"]["replicas"] == 1
    (entry,) = obj["metadata"]["managedFields"]
    assert entry["manager"] == "kubectl" and entry["operation"] == "Apply"
    assert entry["apiVersion"] == "apps/v1" and entry["time"] == T0 and entry["fieldsType"] == "FieldsV1"
    fields = entry["fieldsV1"]
    assert "f:name" not in fields["f:metadata"]
    assert fields["f:metadata"]["f:labels"] == {"f:app": {}}
    containers = fields["f:spec"]["f:template"]["f:spec"]["f:containers"]
    assert containers == {'k:{"name":"web"}': {
        ".": {}, "f:image": {}, "f:name": {},
        "f:ports": {'k:{"containerPort":80,"protocol":"TCP"}': {".": {}, "f:containerPort": {}}}}}


def test_reapply_same_config_changes_nothing_but_time():
    first = stored(server_side_apply(None, deployment(), manager="kubectl", force=False, now=T0))
    again = server_side_apply(first, deployment(), manager="kubectl", force=False, now=T1)
    assert again["spec"] == first["spec"]
    assert again["metadata"]["uid"] == "u-1"
    assert entries(again)[("kubectl", "Apply")]["time"] == T1


def test_conflict_with_other_apply_manager_then_force():
    current = stored(server_side_apply(None, deployment(replicas=1), manager="helm", force=False, now=T0))
    with pytest.raises(ApplyConflict) as err:
        server_side_apply(current, deployment(replicas=3), manager="kubectl", force=False, now=T1)
    assert err.value.status == 409
    assert err.value.message == 'Apply failed with 1 conflict: conflict with "helm": .spec.replicas'
    assert err.value.causes == [{"type": "FieldManagerConflict", "message": 'conflict with "helm"',
                                 "field": ".spec.replicas"}]
    forced = server_side_apply(current, deployment(replicas=3), manager="kubectl", force=True, now=T1)
    assert forced["spec"]["replicas"] == 3
    owners = entries(forced)
    assert "f:replicas" not in owners[("helm", "Apply")]["fieldsV1"]["f:spec"]
    assert "f:replicas" in owners[("kubectl", "Apply")]["fieldsV1"]["f:spec"]


def test_several_conflicts_are_listed_per_manager():
    current = stored(server_side_apply(None, deployment(), manager="helm", force=False, now=T0))
    current = update_managed_fields(current, _with(current, ["spec", "replicas"], 5), manager="kubectl-scale",
                                    now=T1)
    with pytest.raises(ApplyConflict) as err:
        server_side_apply(current, deployment(replicas=2, image="nginx:2"), manager="kubectl", force=False, now=T2)
    assert err.value.message == (
        'Apply failed with 2 conflicts: conflicts with "helm":\n'
        '- .spec.template.spec.containers[name="web"].image\n'
        f'conflicts with "kubectl-scale" using apps/v1 at {T1}:\n'
        "- .spec.replicas"
    )


def _with(obj: dict, path: list[str], value) -> dict:
    out = copy.deepcopy(obj)
    node = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


def test_same_value_is_shared_and_survives_one_manager_dropping_it():
    current = stored(server_side_apply(None, deployment(labels={"app": "web", "tier": "a"}), manager="helm",
                                       force=False, now=T0))
    shared = server_side_apply(current, {"apiVersion": "apps/v1", "kind": "Deployment",
                                         "metadata": {"name": "web", "labels": {"tier": "a"}}},
                               manager="kubectl", force=False, now=T1)
    after = server_side_apply(shared, deployment(labels={"app": "web"}), manager="helm", force=False, now=T2)
    assert after["metadata"]["labels"] == {"app": "web", "tier": "a"}
    dropped = server_side_apply(after, {"apiVersion": "apps/v1", "kind": "Deployment",
                                        "metadata": {"name": "web"}}, manager="kubectl", force=False, now=T2)
    assert dropped["metadata"]["labels"] == {"app": "web"}
    assert ("kubectl", "Apply") not in entries(dropped)


def test_fields_no_longer_applied_are_removed():
    current = stored(server_side_apply(None, deployment(labels={"app": "web", "old": "x"}, paused=True),
                                       manager="helm", force=False, now=T0))
    config = deployment()
    config["spec"]["template"]["spec"]["containers"] = [{"name": "other", "image": "busybox"}]
    result = server_side_apply(current, config, manager="helm", force=False, now=T1)
    assert result["metadata"]["labels"] == {"app": "web"}
    assert "paused" not in result["spec"]
    assert result["spec"]["template"]["spec"]["containers"] == [{"name": "other", "image": "busybox"}]


def test_removed_item_stays_while_another_manager_owns_part_of_it():
    current = stored(server_side_apply(None, deployment(), manager="helm", force=False, now=T0))
    edited = _with(current, ["spec", "template", "spec", "containers"],
                   [{"name": "web", "image": "nginx:1", "ports": [{"containerPort": 80}],
                     "env": [{"name": "DEBUG", "value": "1"}]}])
    edited = update_managed_fields(current, edited, manager="kubectl-edit", now=T1)
    config = deployment()
    config["spec"]["template"]["spec"]["containers"] = [{"name": "api", "image": "api:1"}]
    result = server_side_apply(edited, config, manager="helm", force=False, now=T2)
    names = [c["name"] for c in result["spec"]["template"]["spec"]["containers"]]
    assert names == ["web", "api"]
    web = result["spec"]["template"]["spec"]["containers"][0]
    assert web["env"] == [{"name": "DEBUG", "value": "1"}]
    assert "image" not in web


def test_finalizers_are_a_set_owned_per_value():
    base = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "finalizers": ["a/x"]}}
    current = stored(server_side_apply(None, base, manager="one", force=False, now=T0))
    other = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "finalizers": ["b/y"]}}
    both = server_side_apply(current, other, manager="two", force=False, now=T1)
    assert both["metadata"]["finalizers"] == ["a/x", "b/y"]
    assert entries(both)[("two", "Apply")]["fieldsV1"] == {"f:metadata": {"f:finalizers": {'v:"b/y"': {}}}}
    gone = server_side_apply(both, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}},
                             manager="one", force=False, now=T2)
    assert gone["metadata"]["finalizers"] == ["b/y"]


def test_object_without_managed_fields_is_owned_by_before_first_apply():
    current = stored(deployment(replicas=2))
    with pytest.raises(ApplyConflict) as err:
        server_side_apply(current, deployment(replicas=3), manager="kubectl", force=False, now=T1)
    assert '"before-first-apply" using apps/v1' in err.value.message
    ok = server_side_apply(current, deployment(replicas=2), manager="kubectl", force=False, now=T1)
    assert {m for m, _ in entries(ok)} == {"kubectl", "before-first-apply"}


def test_update_moves_ownership_and_apply_then_conflicts_with_updater():
    current = stored(server_side_apply(None, deployment(), manager="kubectl", force=False, now=T0))
    scaled = update_managed_fields(current, _with(current, ["spec", "replicas"], 4), manager="kubectl-scale",
                                   now=T1)
    owners = entries(scaled)
    assert owners[("kubectl-scale", "Update")]["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    assert owners[("kubectl-scale", "Update")]["time"] == T1
    assert "f:replicas" not in owners[("kubectl", "Apply")]["fieldsV1"]["f:spec"]
    # kubectl no longer owns replicas, so applying without it leaves the scaled value alone.
    config = deployment()
    del config["spec"]["replicas"]
    kept = server_side_apply(scaled, config, manager="kubectl", force=False, now=T2)
    assert kept["spec"]["replicas"] == 4
    with pytest.raises(ApplyConflict, match="kubectl-scale"):
        server_side_apply(scaled, deployment(replicas=1), manager="kubectl", force=False, now=T2)


def test_update_on_create_and_noop_update():
    created = update_managed_fields(None, deployment(), manager="kubectl-client-side-apply", now=T0)
    (entry,) = created["metadata"]["managedFields"]
    assert entry["operation"] == "Update" and entry["apiVersion"] == "apps/v1"
    again = update_managed_fields(created, copy.deepcopy(created), manager="kubectl-edit", now=T1)
    assert [e["manager"] for e in again["metadata"]["managedFields"]] == ["kubectl-client-side-apply"]


def test_update_that_rewrites_managed_fields_keeps_them():
    created = update_managed_fields(None, deployment(), manager="kubectl-client-side-apply", now=T0)
    rewritten = copy.deepcopy(created)
    rewritten["metadata"]["managedFields"][0].update(manager="kubectl", operation="Apply")
    result = update_managed_fields(created, copy.deepcopy(rewritten), manager="kubectl", now=T1)
    assert result["metadata"]["managedFields"] == rewritten["metadata"]["managedFields"]
    cleared = copy.deepcopy(created)
    cleared["metadata"]["managedFields"] = []
    assert "managedFields" not in update_managed_fields(created, cleared, manager="x", now=T1)["metadata"]


def test_reset_fields_are_ignored():
    config = deployment()
    config["status"] = {"replicas": 9}
    obj = server_side_apply(None, config, manager="kubectl", force=False, now=T0, reset_fields=("status",))
    assert "status" not in obj
    assert "f:status" not in obj["metadata"]["managedFields"][0]["fieldsV1"]


@pytest.mark.parametrize("config, status, fragment", [
    ({"kind": "Deployment", "metadata": {"name": "x"}}, 400, "apiVersion"),
    ({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x", "managedFields": []}}, 400, "managedFields"),
    ({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"},
      "spec": {"containers": [{"name": "a"}, {"name": "a"}]}}, 422, "duplicate entries"),
    ({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"},
      "spec": {"containers": [{"image": "a"}]}}, 422, ".spec.containers"),
])
def test_invalid_apply_configurations(config, status, fragment):
    with pytest.raises(ApplyError) as err:
        server_side_apply(None, config, manager="kubectl", force=False, now=T0)
    assert err.value.status == status
    assert fragment in err.value.message


def test_corrupt_stored_managed_fields_are_reported_by_path():
    current = stored(deployment())
    current["metadata"]["managedFields"] = [{"manager": "m", "operation": "Apply", "fieldsV1": {"x:bad": {}}}]
    with pytest.raises(ApplyError, match=r"metadata.managedFields\[0\].fieldsV1"):
        server_side_apply(current, deployment(), manager="kubectl", force=False, now=T0)


def test_fieldsv1_round_trip():
    trie = {"f:metadata": {"f:labels": {".": {}, "f:app": {}}, "f:finalizers": {'v:"a/b"': {}}},
            "f:spec": {"f:ports": {'k:{"port":80,"protocol":"TCP"}': {".": {}, "f:port": {}}},
                       "f:list": {"i:0": {}}}}
    assert to_fields_v1(from_fields_v1(trie)) == trie
