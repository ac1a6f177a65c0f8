"""Discovery documents: legacy (/api, /apis, per group-version lists) and aggregated (apidiscovery v2).

kubectl and helm find out what exists from these before they do anything: short names
(``kubectl get rc``), categories (``kubectl get all``), whether a kind is namespaced and which verbs
and subresources it has. kubectl >= 1.30 asks for the aggregated form first.
"""

from __future__ import annotations

import hashlib
from typing import Any

from kubedra.controlplane.apiserver.resources import GROUP_VERSIONS, RESOURCES, Resource, resources_in

AGGREGATED_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
AGGREGATED_V2BETA1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"

_SUBRESOURCE_VERBS = {
    "status": ["get", "patch", "update"],
    "finalize": ["update"],
    "log": ["get"],
    "binding": ["create"],
    "exec": ["create", "get"],
    "scale": ["get", "patch", "update"],
}
# Subresources whose objects are of another kind: (group, version, kind).
_SUBRESOURCE_KINDS = {
    "binding": ("", "v1", "Binding"),
    "log": ("", "v1", "Pod"),
    "exec": ("", "v1", "PodExecOptions"),
    "scale": ("autoscaling", "v1", "Scale"),
}
_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


def _storage_hash(resource: Resource) -> str:
    return hashlib.sha256(f"{resource.group}/{resource.storage_version}/{resource.kind}".encode()).hexdigest()[:11]


def api_versions(server_address: str) -> dict[str, Any]:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def _group_entry(group: str) -> dict[str, Any]:
    versions = [{"groupVersion": f"{group}/{v}", "version": v} for v in GROUP_VERSIONS[group]]
    return {"name": group, "versions": versions, "preferredVersion": versions[0]}


def api_group_list() -> dict[str, Any]:
    groups = [_group_entry(g) for g in GROUP_VERSIONS if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(group: str) -> dict[str, Any] | None:
    if not group or group not in GROUP_VERSIONS:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_entry(group)}


def api_resource_list(group: str, version: str) -> dict[str, Any] | None:
    resources = resources_in(group, version)
    if not resources:
        return None
    entries: list[dict[str, Any]] = []
    for r in resources:
        entry: dict[str, Any] = {"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced,
                                 "kind": r.kind, "verbs": _VERBS, "storageVersionHash": _storage_hash(r)}
        if r.short_names:
            entry["shortNames"] = list(r.short_names)
        if r.categories:
            entry["categories"] = list(r.categories)
        entries.append(entry)
        for sub in r.subresources:
            sub_entry: dict[str, Any] = {"name": f"{r.plural}/{sub}", "singularName": "", "namespaced": r.namespaced,
                                         "kind": r.kind, "verbs": _SUBRESOURCE_VERBS.get(sub, ["get"])}
            if sub in _SUBRESOURCE_KINDS:
                sub_group, sub_version, sub_entry["kind"] = _SUBRESOURCE_KINDS[sub]
                if sub_group:
                    sub_entry.update(group=sub_group, version=sub_version)
            entries.append(sub_entry)
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": entries}


def _aggregated_resource(r: Resource, version: str) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "resource": r.plural,
        "responseKind": {"group": r.group, "version": version, "kind": r.kind},
        "scope": "Namespaced" if r.namespaced else "Cluster",
        "singularResource": r.singular,
        "verbs": _VERBS,
    }
    if r.short_names:
        entry["shortNames"] = list(r.short_names)
    if r.categories:
        entry["categories"] = list(r.categories)
    if r.subresources:
        entry["subresources"] = []
        for sub in r.subresources:
            group, sub_version, kind = _SUBRESOURCE_KINDS.get(sub, (r.group, version, r.kind))
            entry["subresources"].append({
                "subresource": sub, "responseKind": {"group": group, "version": sub_version, "kind": kind},
                "verbs": _SUBRESOURCE_VERBS.get(sub, ["get"])})
    return entry


def aggregated(legacy: bool, media_type: str = AGGREGATED_V2) -> dict[str, Any]:
    """``/api`` (legacy=True: the core group) or ``/apis`` (every named group)."""
    items = []
    for group, versions in GROUP_VERSIONS.items():
        if (group == "") != legacy:
            continue
        items.append({
            "metadata": {"name": group, "creationTimestamp": None},
            "versions": [
                {"version": v, "resources": [_aggregated_resource(r, v) for r in RESOURCES
                                             if r.group == group and v in r.versions],
                 "freshness": "Current"}
                for v in versions
            ],
        })
    api_version = "apidiscovery.k8s.io/v2beta1" if "v2beta1" in media_type else "apidiscovery.k8s.io/v2"
    return {"kind": "APIGroupDiscoveryList", "apiVersion": api_version, "metadata": {}, "items": items}


def wants_aggregated(accept: str) -> str | None:
    """The aggregated media type the client accepts (its first choice among the two), if any."""
    for part in accept.split(","):
        p = part.replace(" ", "")
        if "as=APIGroupDiscoveryList" in p and "g=apidiscovery.k8s.io" in p:
            if "v=v2beta1" in p:
                return AGGREGATED_V2BETA1
            if "v=v2" in p:
                return AGGREGATED_V2
    return None
