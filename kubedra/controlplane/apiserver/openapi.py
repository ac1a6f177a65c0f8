"""OpenAPI documents: ``/openapi/v3`` (index and one document per group/version) and ``/openapi/v2``.

kubectl 1.34 reads OpenAPI v3 for three things, and each shapes this module:
``kubectl explain`` (schemas with descriptions, found by
``x-kubernetes-group-version-kind``); ``kubectl apply`` building a strategic merge
patch (the ``x-kubernetes-patch-*`` extensions must match what our server merges
by, so they come from the same ``_patch_schema`` table, and every schema must list
all of its fields); and deciding whether the server validates fields itself (a
PATCH operation per kind with a ``fieldValidation`` query parameter — without it
kubectl falls back to a protobuf /openapi/v2 that we do not serve).

Documents are built once from the served resource table and cached.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from functools import cache
from typing import Any

from kubedra.controlplane.apiserver._openapi_descriptions import DESCRIPTIONS
from kubedra.controlplane.apiserver._openapi_models import (
    META_PREFIX,
    Schemas,
    dra_model,
    lightkube_class,
    lightkube_schema,
    msgspec_schema,
    ref,
)
from kubedra.controlplane.apiserver._patch_schema import ListMeta, kind_lists
from kubedra.controlplane.apiserver.patch import json_copy
from kubedra.controlplane.apiserver.resources import RESOURCES, Resource

DRA_GROUP = "resource.k8s.io"
PATCH_SCHEMA = f"{META_PREFIX}.Patch"
PATCH_MEDIA_TYPES = ("application/json-patch+json", "application/merge-patch+json",
                     "application/strategic-merge-patch+json", "application/apply-patch+yaml")
INFO = {"title": "Kubernetes (kubedra)", "version": "v1.34.0"}
# Older DRA types whose v1 equivalents carry the description.
_DESCRIPTION_ALIASES = {"BasicDevice": "Device"}


def gv_key(group: str, version: str) -> str:
    """The index key of a group/version: ``api/v1`` or ``apis/<group>/<version>``."""
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _served() -> dict[str, list[tuple[Resource, str]]]:
    by_gv: dict[str, list[tuple[Resource, str]]] = {}
    for resource in RESOURCES:
        for version in resource.versions:
            by_gv.setdefault(gv_key(resource.group, version), []).append((resource, version))
    return by_gv


def _kind_schema(group: str, version: str, kind: str, schemas: Schemas) -> str:
    model = dra_model(kind) if group == DRA_GROUP and version in ("v1", "v1beta2") else None
    if model is not None:
        return msgspec_schema(model, f"io.k8s.api.resource.{version}", schemas, DESCRIPTIONS)
    cls = lightkube_class(group, version, kind)
    if cls is not None:
        return lightkube_schema(cls, schemas)
    # No model anywhere: publish an open schema so the kind is still known to clients.
    name = f"io.k8s.api.{group.split('.')[0] or 'core'}.{version}.{kind}"
    metadata = lightkube_schema(importlib.import_module("lightkube.models.meta_v1").ObjectMeta, schemas)
    schemas[name] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True, "properties": {
        "apiVersion": {"type": "string"}, "kind": {"type": "string"},
        "metadata": {"allOf": [ref(metadata)], "default": {}}}}
    return name


def _resolve(schema: dict, schemas: Schemas) -> dict | None:
    if "allOf" in schema:
        schema = schema["allOf"][0]
    if "$ref" in schema:
        return schemas.get(schema["$ref"].rsplit("/", 1)[1])
    return schema


def _annotate(schemas: Schemas, root: str, path: tuple[str, ...], meta: ListMeta) -> None:
    """Put the list's merge behaviour on its property, where kubectl looks for it."""
    node: dict | None = schemas[root]
    for i, name in enumerate(path):
        prop = (node or {}).get("properties", {}).get(name)
        if prop is None:
            return
        if i == len(path) - 1:
            if prop.get("type") != "array":
                return
            if meta.strategy:
                prop["x-kubernetes-patch-strategy"] = meta.strategy
            if meta.merge_key:
                prop["x-kubernetes-patch-merge-key"] = meta.merge_key
            prop["x-kubernetes-list-type"] = meta.list_type
            if meta.list_type == "map":
                prop["x-kubernetes-list-map-keys"] = list(meta.keys)
            return
        if prop.get("type") == "array":
            prop = prop.get("items", {})
        node = _resolve(prop, schemas)


def _describe(schemas: Schemas, prefix: str) -> None:
    """Add our descriptions to DRA schemas built from lightkube (older versions)."""
    for name, schema in schemas.items():
        if not name.startswith(prefix):
            continue
        short = name.rsplit(".", 1)[1]
        type_name = _DESCRIPTION_ALIASES.get(short, short)
        if type_name in DESCRIPTIONS:
            schema.setdefault("description", DESCRIPTIONS[type_name])
        # v1beta1 requests carry the v1 "exactly" fields inline.
        owners = (type_name, "ExactDeviceRequest") if type_name == "DeviceRequest" else (type_name,)
        for field, prop in schema.get("properties", {}).items():
            text = next((DESCRIPTIONS[f"{o}.{field}"] for o in owners if f"{o}.{field}" in DESCRIPTIONS), None)
            if text:
                prop.setdefault("description", text)


def _param(name: str, where: str, description: str, *, required: bool = False, kind: str = "string") -> dict:
    return {"name": name, "in": where, "description": description, "required": required,
            "schema": {"type": kind, "uniqueItems": True}}


_NAME = _param("name", "path", "Name of the object.", required=True)
_NAMESPACE = _param("namespace", "path", "Namespace of the object.", required=True)
_DRY_RUN = _param("dryRun", "query", "When All, the request is processed but nothing is persisted.")
_FIELD_MANAGER = _param("fieldManager", "query", "Name of the actor making the change, for field ownership.")
_FIELD_VALIDATION = _param("fieldValidation", "query",
                           "Ignore, Warn or Strict: what to do with unknown or duplicate fields.")
_FORCE = _param("force", "query", "Apply only: take ownership of fields other managers own.", kind="boolean")
_LIST_PARAMS = [
    _param("labelSelector", "query", "Only objects whose labels match."),
    _param("fieldSelector", "query", "Only objects whose fields match."),
    _param("limit", "query", "Return at most this many objects, with a continue token.", kind="integer"),
    _param("continue", "query", "Token from a previous limited list."),
    _param("resourceVersion", "query", "Serve from this resourceVersion onwards."),
    _param("watch", "query", "Stream changes instead of listing.", kind="boolean"),
]


def _operation(resource: Resource, version: str, action: str, verb: str, schema: str,
               params: list[dict], *, body: tuple[str, ...] = (), subresource: str = "") -> dict:
    gvk = {"group": resource.group, "version": version, "kind": resource.kind}
    op: dict[str, Any] = {
        "operationId": f"{verb}{resource.kind}{subresource.capitalize()}",
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk,
        "parameters": params,
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": ref(schema)}}}},
    }
    if body:
        body_schema = ref(PATCH_SCHEMA) if action == "patch" else ref(schema)
        op["requestBody"] = {"required": True, "content": {media: {"schema": body_schema} for media in body}}
    return op


def _paths(resource: Resource, version: str, schema: str) -> dict:
    base = f"/apis/{resource.group}/{version}" if resource.group else f"/api/{version}"
    scope = [_NAMESPACE] if resource.namespaced else []
    collection = f"{base}/namespaces/{{namespace}}/{resource.plural}" if resource.namespaced \
        else f"{base}/{resource.plural}"
    item = f"{collection}/{{name}}"
    writes = [_DRY_RUN, _FIELD_MANAGER, _FIELD_VALIDATION]
    json_body = ("application/json",)

    def item_ops(sub: str) -> dict:
        return {
            "parameters": [_NAME, *scope],
            "get": _operation(resource, version, "get", "read", schema, [], subresource=sub),
            "put": _operation(resource, version, "put", "replace", schema, writes, body=json_body, subresource=sub),
            "patch": _operation(resource, version, "patch", "patch", schema, [*writes, _FORCE],
                                body=PATCH_MEDIA_TYPES, subresource=sub),
        }

    paths = {
        collection: {
            "parameters": scope,
            "get": _operation(resource, version, "list", "list", schema, _LIST_PARAMS),
            "post": _operation(resource, version, "post", "create", schema, writes, body=json_body),
        },
        item: {**item_ops(""), "delete": _operation(resource, version, "delete", "delete", schema, [_DRY_RUN])},
    }
    if "status" in resource.subresources:
        paths[f"{item}/status"] = item_ops("status")
    return paths


def _build(entries: list[tuple[Resource, str]]) -> dict:
    schemas: Schemas = {PATCH_SCHEMA: {
        "type": "object",
        "description": "A patch body; its format is given by the request's Content-Type.",
    }}
    paths: dict[str, Any] = {}
    for resource, version in entries:
        name = _kind_schema(resource.group, version, resource.kind, schemas)
        schemas[name]["x-kubernetes-group-version-kind"] = [
            {"group": resource.group, "kind": resource.kind, "version": version}]
        for path, meta in kind_lists(resource.kind).items():
            _annotate(schemas, name, path, meta)
        paths.update(_paths(resource, version, name))
        if resource.group == DRA_GROUP and version not in ("v1", "v1beta2"):
            _describe(schemas, f"io.k8s.api.resource.{version}.")
    return {"openapi": "3.0.0", "info": dict(INFO), "paths": paths,
            "components": {"schemas": dict(sorted(schemas.items()))}}


@cache
def _documents() -> dict[str, tuple[dict, str]]:
    docs = {}
    for key, entries in sorted(_served().items()):
        doc = _build(entries)
        digest = hashlib.sha512(json.dumps(doc, sort_keys=True).encode()).hexdigest().upper()
        docs[key] = (doc, digest)
    return docs


def v3_index() -> dict:
    """``GET /openapi/v3``: where each group/version document lives (hash-versioned, cacheable)."""
    return {"paths": {key: {"serverRelativeURL": f"/openapi/v3/{key}?hash={digest}"}
                      for key, (_, digest) in _documents().items()}}


def _key(path: str) -> str:
    path = path.split("?", 1)[0].strip("/")
    return path.removeprefix("openapi/v3/")


def v3_group_version(path: str) -> dict | None:
    """``GET /openapi/v3/<path>`` (``apis/resource.k8s.io/v1``, ``api/v1``); None if not served.

    Returns a fresh copy: callers may encode or modify it freely.
    """
    found = _documents().get(_key(path))
    return json_copy(found[0]) if found else None


def v3_hash(path: str) -> str | None:
    """The content hash of a document (for ETag and cache headers)."""
    found = _documents().get(_key(path))
    return found[1] if found else None


def _to_v2(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: (v.replace("#/components/schemas/", "#/definitions/") if k == "$ref" else _to_v2(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_to_v2(v) for v in node]
    return node


def _v2_operation(op: dict) -> dict:
    out = {k: v for k, v in op.items() if k not in ("parameters", "requestBody", "responses")}
    params = [{k: v for k, v in p.items() if k != "schema"} | {"type": p["schema"]["type"]}
              for p in op.get("parameters", [])]
    body = op.get("requestBody")
    if body:
        content = next(iter(body["content"].values()))
        params.append({"name": "body", "in": "body", "required": True, "schema": _to_v2(content["schema"])})
        out["consumes"] = list(body["content"])
    out["parameters"] = params
    out["produces"] = ["application/json"]
    out["responses"] = {"200": {"description": "OK",
                                "schema": _to_v2(op["responses"]["200"]["content"]["application/json"]["schema"])}}
    return out


@cache
def _v2() -> dict:
    definitions: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    for doc, _ in _documents().values():
        for name, schema in doc["components"]["schemas"].items():
            definitions.setdefault(name, _to_v2(schema))
        for path, item in doc["paths"].items():
            paths[path] = {verb: (_v2_operation(op) if verb != "parameters" else
                                  [{k: v for k, v in p.items() if k != "schema"} | {"type": "string"} for p in op])
                           for verb, op in item.items()}
    return {"swagger": "2.0", "info": dict(INFO), "paths": paths, "definitions": dict(sorted(definitions.items()))}


def v2_document() -> dict:
    """``GET /openapi/v2`` as JSON (clients that ask for protobuf should get 406 and fall back)."""
    return json_copy(_v2())
