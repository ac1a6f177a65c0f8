"""The ``scale`` subresource (autoscaling/v1 Scale) of workloads with ``spec.replicas``.

``kubectl scale deployment x --replicas=N`` patches ``deployments/x/scale`` with a merge patch and
never touches the Deployment itself, so the subresource is what makes the command work. The Scale
object is a view: reads build it from the parent, writes copy ``spec.replicas`` back to the parent
through the registry (optimistic concurrency, generation bump and watch events as for any update).
Upstream serves no ``jobs/scale`` (Jobs scale through ``parallelism``), so neither does kubedra.
"""

from __future__ import annotations

from typing import Any

from kubedra.controlplane.apiserver import errors
from kubedra.controlplane.apiserver import patch as patch_mod
from kubedra.controlplane.apiserver.registry import Registry, WriteOptions
from kubedra.controlplane.apiserver.resources import Resource
from kubedra.controlplane.apiserver.selectors import format_label_selector

SCALE_API_VERSION = "autoscaling/v1"
SCALE_GROUP, SCALE_VERSION, SCALE_KIND = "autoscaling", "v1", "Scale"


def to_scale(obj: dict[str, Any], rv: int) -> dict[str, Any]:
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    scale_meta = {k: meta[k] for k in ("name", "namespace", "uid", "creationTimestamp") if k in meta}
    scale_meta["resourceVersion"] = str(rv)
    scale_status: dict[str, Any] = {"replicas": int(status.get("replicas") or 0)}
    selector = format_label_selector(spec.get("selector"), sort_values=True)
    if selector:
        scale_status["selector"] = selector
    return {"kind": SCALE_KIND, "apiVersion": SCALE_API_VERSION, "metadata": scale_meta,
            "spec": {"replicas": int(spec["replicas"]) if spec.get("replicas") is not None else 1},
            "status": scale_status}


def get(registry: Registry, resource: Resource, namespace: str | None, name: str) -> dict[str, Any]:
    current = registry.get(resource, namespace, name)
    return to_scale(current.decode(), current.rv)


def _replicas(resource: Resource, name: str, scale: Any) -> int:
    replicas = (scale.get("spec") or {}).get("replicas") if isinstance(scale, dict) else None
    if replicas is None:
        replicas = 0  # an absent field in a Scale is its zero value
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        raise errors.invalid("Scale", SCALE_GROUP, name, [{
            "reason": "FieldValueInvalid",
            "message": f"Invalid value: {replicas!r}: must be greater than or equal to 0",
            "field": "spec.replicas"}])
    return replicas


def update(registry: Registry, resource: Resource, namespace: str | None, name: str, body: Any,
           opts: WriteOptions | None = None) -> dict[str, Any]:
    """PUT: the Scale's ``spec.replicas`` becomes the parent's; its resourceVersion is a precondition."""
    if not isinstance(body, dict):
        raise errors.BadRequest("the body of the request must be a Scale object")
    replicas = _replicas(resource, name, body)
    want_rv = (body.get("metadata") or {}).get("resourceVersion") or None

    def set_replicas(current: dict[str, Any]) -> dict[str, Any]:
        current.setdefault("spec", {})["replicas"] = replicas
        if want_rv is not None:
            current["metadata"]["resourceVersion"] = str(want_rv)
        return current

    written = registry.read_modify_write(resource, namespace, name, set_replicas, opts=opts)
    return to_scale(written.decode(), written.rv)


def patch(registry: Registry, resource: Resource, namespace: str | None, name: str, raw: bytes,
          content_type: str, opts: WriteOptions | None = None) -> dict[str, Any]:
    """PATCH: the patch applies to the Scale view; the result is written like a PUT, atomically."""
    with registry.store.lock:
        scale = get(registry, resource, namespace, name)
        try:
            patched = patch_mod.apply_patch(scale, raw, content_type, kind=SCALE_KIND, api_version=SCALE_API_VERSION)
        except patch_mod.PatchError as exc:
            raise errors.APIError(exc.message, code=exc.status, reason=exc.reason) from None
        if (patched.get("metadata") or {}).get("resourceVersion") == scale["metadata"]["resourceVersion"]:
            # The read and the write are under one lock: no precondition beyond what the patch itself set.
            patched["metadata"].pop("resourceVersion")
        return update(registry, resource, namespace, name, patched, opts)
