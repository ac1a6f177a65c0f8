"""OpenAPI v3/v2 documents: what kubectl explain, apply and field validation look up."""

from __future__ import annotations

import json

import pytest

from kubedra.controlplane.apiserver import openapi
from kubedra.controlplane.apiserver.resources import RESOURCES


def schemas(key: str) -> dict:
    doc = openapi.v3_group_version(key)
    assert doc is not None, key
    return doc["components"]["schemas"]


def resolve(schemas_: dict, prop: dict) -> dict:
    if prop.get("type") == "array":
        prop = prop["items"]
    if "allOf" in prop:
        prop = prop["allOf"][0]
    return schemas_[prop["$ref"].rsplit("/", 1)[1]]


def kind_schema(key: str, kind: str) -> tuple[dict, dict]:
    all_schemas = schemas(key)
    found = [s for s in all_schemas.values()
             if any(g["kind"] == kind for g in s.get("x-kubernetes-group-version-kind", []))]
    assert len(found) == 1, (key, kind)
    return all_schemas, found[0]


def test_index_lists_every_served_group_version_with_hashes():
    index = openapi.v3_index()["paths"]
    expected = {openapi.gv_key(r.group, v) for r in RESOURCES for v in r.versions}
    assert set(index) == expected
    assert {"api/v1", "apis/resource.k8s.io/v1", "apis/resource.k8s.io/v1beta1",
            "apis/resource.k8s.io/v1beta2", "apis/apps/v1"} <= set(index)
    url = index["apis/resource.k8s.io/v1"]["serverRelativeURL"]
    assert url == f"/openapi/v3/apis/resource.k8s.io/v1?hash={openapi.v3_hash('apis/resource.k8s.io/v1')}"
    assert openapi.v3_group_version(url) == openapi.v3_group_version("apis/resource.k8s.io/v1")
    assert openapi.v3_group_version("/openapi/v3/apis/nope.example.com/v1") is None


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: f"{r.plural}.{r.group}")
def test_every_kind_has_a_schema_and_a_patch_operation_with_field_validation(resource):
    for version in resource.versions:
        key = openapi.gv_key(resource.group, version)
        _, schema = kind_schema(key, resource.kind)
        assert {"apiVersion", "kind", "metadata"} <= set(schema["properties"])
        doc = openapi.v3_group_version(key)
        gvk = {"group": resource.group, "version": version, "kind": resource.kind}
        patches = [item["patch"] for item in doc["paths"].values()
                   if "patch" in item and item["patch"]["x-kubernetes-group-version-kind"] == gvk]
        assert patches, gvk
        for op in patches:
            assert "application/strategic-merge-patch+json" in op["requestBody"]["content"]
            assert "application/apply-patch+yaml" in op["requestBody"]["content"]
            assert any(p["name"] == "fieldValidation" and p["in"] == "query" for p in op["parameters"])


def test_resourceclaim_requests_are_explainable():
    all_schemas, claim = kind_schema("apis/resource.k8s.io/v1", "ResourceClaim")
    assert "ResourceClaim asks for devices" in claim["description"]
    spec = resolve(all_schemas, claim["properties"]["spec"])
    devices = resolve(all_schemas, spec["properties"]["devices"])
    requests = devices["properties"]["requests"]
    assert requests["type"] == "array" and requests["description"]
    request = resolve(all_schemas, requests)
    assert request["required"] == ["name"]
    exactly = resolve(all_schemas, request["properties"]["exactly"])
    assert "deviceClassName" in exactly["required"]
    assert "All" in exactly["properties"]["allocationMode"]["description"]
    status = resolve(all_schemas, claim["properties"]["status"])
    reserved = status["properties"]["reservedFor"]
    assert reserved["x-kubernetes-patch-merge-key"] == "uid"
    assert reserved["x-kubernetes-list-type"] == "map"


def test_resourceslice_schema_uses_shared_upstream_types():
    all_schemas, rs = kind_schema("apis/resource.k8s.io/v1", "ResourceSlice")
    meta = resolve(all_schemas, rs["properties"]["metadata"])
    assert "finalizers" in meta["properties"] and "managedFields" in meta["properties"]
    assert meta["properties"]["finalizers"]["x-kubernetes-list-type"] == "set"
    spec = resolve(all_schemas, rs["properties"]["spec"])
    assert spec["required"] == ["driver", "pool"]
    device = resolve(all_schemas, spec["properties"]["devices"])
    capacity = resolve(all_schemas, {"$ref": device["properties"]["capacity"]["additionalProperties"]["allOf"][0][
        "$ref"]})
    assert capacity["properties"]["value"]["allOf"][0]["$ref"].endswith("resource.Quantity")
    selector = resolve(all_schemas, spec["properties"]["nodeSelector"])
    assert "nodeSelectorTerms" in selector["properties"]


def test_v1beta1_keeps_its_own_shape_with_our_descriptions():
    all_schemas, claim = kind_schema("apis/resource.k8s.io/v1beta1", "ResourceClaim")
    spec = resolve(all_schemas, claim["properties"]["spec"])
    request = resolve(all_schemas, resolve(all_schemas, spec["properties"]["devices"])["properties"]["requests"])
    assert "deviceClassName" in request["properties"]  # inline, not under "exactly"
    assert request["properties"]["deviceClassName"]["description"]
    _, beta2 = kind_schema("apis/resource.k8s.io/v1beta2", "DeviceClass")
    assert beta2["x-kubernetes-group-version-kind"] == [
        {"group": "resource.k8s.io", "kind": "DeviceClass", "version": "v1beta2"}]


def test_workload_pod_templates_carry_merge_keys():
    all_schemas, ds = kind_schema("apis/apps/v1", "DaemonSet")
    template = resolve(all_schemas, resolve(all_schemas, ds["properties"]["spec"])["properties"]["template"])
    pod_spec = resolve(all_schemas, template["properties"]["spec"])
    assert pod_spec["properties"]["containers"]["x-kubernetes-patch-merge-key"] == "name"
    assert "x-kubernetes-patch-strategy" not in pod_spec["properties"]["tolerations"]
    container = resolve(all_schemas, pod_spec["properties"]["containers"])
    assert container["properties"]["volumeMounts"]["x-kubernetes-patch-merge-key"] == "mountPath"
    assert container["properties"]["env"]["x-kubernetes-patch-merge-key"] == "name"


def _refs(node, found: set[str], prefix: str) -> set[str]:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref":
                assert v.startswith(prefix), v
                found.add(v[len(prefix):])
            else:
                _refs(v, found, prefix)
    elif isinstance(node, list):
        for v in node:
            _refs(v, found, prefix)
    return found


@pytest.mark.parametrize("key", sorted(openapi.v3_index()["paths"]))
def test_every_reference_resolves_and_documents_are_json(key):
    doc = openapi.v3_group_version(key)
    assert doc["openapi"].startswith("3.")
    missing = _refs(doc, set(), "#/components/schemas/") - set(doc["components"]["schemas"])
    assert not missing
    json.dumps(doc)


def test_v2_document_is_self_contained_swagger():
    doc = openapi.v2_document()
    assert doc["swagger"] == "2.0"
    assert not _refs(doc, set(), "#/definitions/") - set(doc["definitions"])
    patch = doc["paths"]["/apis/resource.k8s.io/v1/namespaces/{namespace}/resourceclaims/{name}"]["patch"]
    assert "application/strategic-merge-patch+json" in patch["consumes"]
    assert any(p["name"] == "fieldValidation" for p in patch["parameters"])


def test_returned_documents_are_copies():
    doc = openapi.v3_group_version("api/v1")
    doc["components"].clear()
    assert openapi.v3_group_version("api/v1")["components"]
