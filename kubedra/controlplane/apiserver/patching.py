"""PATCH requests against the registry: JSON/merge/strategic patches and server-side apply.

Shared by the HTTP server and the in-process client so both transports patch identically. The
patch formats themselves live in ``patch.py`` and ``apply.py``; this module reads the current
object in the client's version, applies the patch, and writes the result atomically under the
store lock (create-on-apply included).
"""

from __future__ import annotations

from typing import Any

import yaml

from kubedra.api.defaults import now_rfc3339
from kubedra.controlplane.apiserver import admission, errors
from kubedra.controlplane.apiserver import apply as apply_mod
from kubedra.controlplane.apiserver import patch as patch_mod
from kubedra.controlplane.apiserver.registry import Registry, WriteOptions
from kubedra.controlplane.apiserver.resources import Resource
from kubedra.controlplane.store import StoredObject

APPLY_PATCH = "application/apply-patch+yaml"
CONTENT_TYPES = {
    "json": patch_mod.JSON_PATCH,
    "merge": patch_mod.MERGE_PATCH,
    "strategic": patch_mod.STRATEGIC_MERGE_PATCH,
    "apply": APPLY_PATCH,
}


def patch(registry: Registry, resource: Resource, version: str, namespace: str | None, name: str, raw: bytes,
          content_type: str, *, subresource: str | None = None, opts: WriteOptions | None = None,
          force: bool = False) -> tuple[StoredObject, bool]:
    """Returns (object, created); ``created`` only for an apply that created the object."""
    opts = opts or WriteOptions()
    if content_type.split(";")[0].strip() == APPLY_PATCH:
        return _apply(registry, resource, version, namespace, name, raw, subresource, opts, force)

    def mutate(current: dict[str, Any]) -> dict[str, Any]:
        versioned = admission.from_storage(resource, current, version)
        try:
            return patch_mod.apply_patch(versioned, raw, content_type, kind=resource.kind,
                                         api_version=resource.api_version(version))
        except patch_mod.PatchError as exc:
            raise errors.APIError(exc.message, code=exc.status, reason=exc.reason) from None

    return registry.read_modify_write(resource, namespace, name, mutate, subresource=subresource, opts=opts), False


def _apply(registry: Registry, resource: Resource, version: str, namespace: str | None, name: str, raw: bytes,
           subresource: str | None, opts: WriteOptions, force: bool) -> tuple[StoredObject, bool]:
    try:
        applied = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise errors.BadRequest(f"error decoding YAML: {exc}") from None
    if not isinstance(applied, dict):
        raise errors.BadRequest("the applied configuration must be an object")
    applied_name = (applied.get("metadata") or {}).get("name") if isinstance(applied.get("metadata"), dict) else None
    if applied_name and applied_name != name:
        raise errors.BadRequest(f"the name of the object ({applied_name}) does not match the name on the URL ({name})")
    reset = () if subresource == "status" else (("status",) if resource.has_status else ())

    def run(current: dict[str, Any] | None) -> dict[str, Any]:
        try:
            return apply_mod.server_side_apply(current, applied, manager=opts.field_manager or "", force=force,
                                               now=now_rfc3339(), subresource=subresource, reset_fields=reset)
        except apply_mod.ApplyConflict as exc:
            raise errors.Conflict(exc.message, details={"causes": exc.causes}) from None
        except apply_mod.ApplyError as exc:
            raise errors.APIError(exc.message, code=exc.status, reason=exc.reason) from None

    plain = WriteOptions(dry_run=opts.dry_run, field_manager=None)  # apply records ownership itself
    with registry.store.lock:
        try:
            registry.get(resource, namespace, name)
        except errors.NotFound:
            if subresource is not None:
                raise
            created = run(None)
            created.setdefault("metadata", {}).setdefault("name", name)
            return registry.create(resource, namespace, created, plain), True
        obj = registry.read_modify_write(
            resource, namespace, name, lambda current: run(admission.from_storage(resource, current, version)),
            subresource=subresource, opts=plain)
        return obj, False
