"""The API server's single seam to the object-model code: conversion, defaulting, validation.

Everything kind-specific the registry needs goes through these four functions, so the registry
stays generic and the object model (``kubedra.api``) can evolve without touching HTTP code.
Kinds without DRA rules get the basic metadata checks kube-apiserver applies to every object.
CEL selectors are compiled here (not in ``kubedra.api``, which sits below ``kubedra.cel`` in the
layering) and handed to validation as ``compile_cel``.
"""

from __future__ import annotations

import re
from typing import Any

from kubedra.api import defaults as dra_defaults
from kubedra.api import validation as dra_validation
from kubedra.api import versions as dra_versions
from kubedra.api.features import FeatureGates
from kubedra.cel.validation import compiler_for
from kubedra.controlplane.apiserver import errors
from kubedra.controlplane.apiserver.resources import Resource

DRA_GROUP = "resource.k8s.io"

_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# Kinds whose names must be DNS labels (63 chars) rather than subdomains (253).
_LABEL_NAMED = {"Namespace", "Service"}
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$")


def _is_dra(resource: Resource) -> bool:
    return resource.group == DRA_GROUP


def to_storage(resource: Resource, obj: dict[str, Any]) -> dict[str, Any]:
    """Convert a request body in any served version to the storage version."""
    target = resource.api_version()
    if not _is_dra(resource) or obj.get("apiVersion") == target:
        obj["apiVersion"] = target
        return obj
    try:
        return dra_versions.convert(obj, target)
    except dra_versions.ConversionError as exc:
        raise errors.BadRequest(f"{resource.kind} {_name(obj)!r}: {exc}") from None


def from_storage(resource: Resource, obj: dict[str, Any], version: str) -> dict[str, Any]:
    """Convert a stored object to the version the client asked for."""
    target = resource.api_version(version)
    if obj.get("apiVersion") == target:
        return obj
    if not _is_dra(resource):
        obj["apiVersion"] = target
        return obj
    try:
        return dra_versions.convert(obj, target)
    except dra_versions.ConversionError as exc:
        raise errors.InternalError(
            f"{resource.kind} {_name(obj)!r} cannot be expressed in {target}: {exc}"
        ) from None


def default(resource: Resource, obj: dict[str, Any], *, in_place: bool = False) -> dict[str, Any]:
    """``in_place`` when the caller owns ``obj`` (a decoded request body): saves a deep copy."""
    if _is_dra(resource):
        return dra_defaults.apply_defaults(obj, in_place=in_place)
    if resource.kind == "Secret" and not obj.get("type"):
        obj["type"] = "Opaque"  # helm and kubectl describe rely on it being set
    return obj


def _name(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name") or (obj.get("metadata") or {}).get("generateName") or "")


def _metadata_causes(resource: Resource, obj: dict[str, Any]) -> list[dict[str, str]]:
    causes = []
    meta = obj.get("metadata") or {}
    name = meta.get("name") or ""
    pattern, limit = (_DNS1123_LABEL, 63) if resource.kind in _LABEL_NAMED else (_DNS1123_SUBDOMAIN, 253)
    if not name:
        causes.append({"reason": "FieldValueRequired", "message": "Required value: name or generateName is required",
                       "field": "metadata.name"})
    elif len(name) > limit or not pattern.match(name):
        what = "RFC 1123 label" if limit == 63 else "RFC 1123 subdomain"
        causes.append({
            "reason": "FieldValueInvalid",
            "message": f'Invalid value: "{name}": a lowercase {what} must consist of lower case alphanumeric '
                       f"characters, '-' or '.', and must start and end with an alphanumeric character",
            "field": "metadata.name",
        })
    for field in ("labels", "annotations"):
        value = meta.get(field)
        if value is None:
            continue
        if not isinstance(value, dict):
            causes.append({"reason": "FieldValueInvalid", "message": "Invalid value: must be a map of strings",
                           "field": f"metadata.{field}"})
            continue
        for k, v in value.items():
            key_name = k.rpartition("/")[2]
            if not key_name or len(key_name) > 63 or not _QUALIFIED_NAME.match(key_name):
                causes.append({"reason": "FieldValueInvalid",
                               "message": f'Invalid value: "{k}": name part must consist of alphanumeric '
                                          "characters, '-', '_' or '.', and must start and end with an "
                                          "alphanumeric character",
                               "field": f"metadata.{field}"})
            if not isinstance(v, str):
                causes.append({"reason": "FieldValueTypeInvalid",
                               "message": f"Invalid value: {v!r}: must be a string",
                               "field": f"metadata.{field}[{k}]"})
    return causes


def validate(
    resource: Resource,
    obj: dict[str, Any],
    old: dict[str, Any] | None,
    gates: FeatureGates,
    *,
    status_only: bool = False,
    namespace_labels: dict[str, str] | None = None,
) -> None:
    """Raise a 422 Invalid with one cause per problem, exactly as kubectl expects to print it."""
    causes = [] if status_only else _metadata_causes(resource, obj)
    if _is_dra(resource) and not causes:
        if status_only:
            found = dra_validation.validate_status(obj, old, gates=gates, compile_cel=compiler_for(gates),
                                                   namespace_labels=namespace_labels)
        else:
            found = dra_validation.validate(obj, old, gates=gates, compile_cel=compiler_for(gates),
                                            namespace_labels=namespace_labels)
        causes.extend(e.to_cause() for e in found)
    if causes:
        raise errors.invalid(resource.kind, resource.group, _name(obj), causes)


def drop_disabled_fields(resource: Resource, obj: dict[str, Any], old: dict[str, Any] | None,
                         gates: FeatureGates, *, in_place: bool = False) -> dict[str, Any]:
    """Fields of disabled feature gates are silently dropped on write, as kube-apiserver does."""
    if _is_dra(resource):
        return dra_validation.drop_disabled_fields(obj, old, gates, in_place=in_place)
    return obj
