"""Fields that exist only behind a feature gate (api.md §4-§6, §12).

kube-apiserver silently drops a gated field on write when its gate is off, unless the stored
object already uses that feature (so disabling a gate never destroys data). kubedra offers both
halves: ``drop_disabled_fields`` for the API server, and ``disabled_field_errors`` which reports
the same fields as errors, because a user running ``kubedra validate`` wants to hear that a field
would be thrown away rather than have it vanish.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kubedra.api import features as fg
from kubedra.api.defaults import copy_json
from kubedra.api.errors import FieldError, Path, forbidden
from kubedra.api.features import FeatureGates

_BINDING = (fg.DRA_DEVICE_BINDING_CONDITIONS, fg.DRA_RESOURCE_CLAIM_DEVICE_STATUS)


@dataclass(frozen=True)
class GatedUse:
    """One gated field present in an object: where, which gates it needs, and how to drop it."""

    path: str
    gates: tuple[str, ...]
    container: dict[str, Any]
    key: str


def _d(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def _items(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _has(container: dict[str, Any], key: str) -> bool:
    return container.get(key) is not None


def gated_uses(obj: dict[str, Any]) -> Iterator[GatedUse]:
    kind = obj.get("kind")
    spec = _d(obj.get("spec"))
    if spec is None:
        return
    if kind == "ResourceSlice":
        yield from _slice_uses(spec, Path("spec"))
    elif kind == "ResourceClaim":
        yield from _claim_spec_uses(spec, Path("spec"))
        status = _d(obj.get("status"))
        if status is not None:
            yield from _claim_status_uses(status, Path("status"))
    elif kind == "ResourceClaimTemplate":
        inner = _d(spec.get("spec"))
        if inner is not None:
            yield from _claim_spec_uses(inner, Path("spec", "spec"))
    elif kind == "DeviceClass" and _has(spec, "extendedResourceName"):
        yield GatedUse("spec.extendedResourceName", (fg.DRA_EXTENDED_RESOURCE,), spec, "extendedResourceName")


_DEVICE_FIELDS: dict[str, tuple[str, ...]] = {
    "consumesCounters": (fg.DRA_PARTITIONABLE_DEVICES,),
    "nodeName": (fg.DRA_PARTITIONABLE_DEVICES,),
    "nodeSelector": (fg.DRA_PARTITIONABLE_DEVICES,),
    "allNodes": (fg.DRA_PARTITIONABLE_DEVICES,),
    "taints": (fg.DRA_DEVICE_TAINTS,),
    "bindsToNode": _BINDING,
    "bindingConditions": _BINDING,
    "bindingFailureConditions": _BINDING,
    "allowMultipleAllocations": (fg.DRA_CONSUMABLE_CAPACITY,),
    "nodeAllocatableResourceMappings": (fg.DRA_NODE_ALLOCATABLE_RESOURCES,),
}
_LIST_ATTRIBUTE_KEYS = ("ints", "bools", "strings", "versions")


def _slice_uses(spec: dict[str, Any], path: Path) -> Iterator[GatedUse]:
    for key in ("sharedCounters", "perDeviceNodeSelection"):
        if _has(spec, key):
            yield GatedUse(str(path.child(key)), (fg.DRA_PARTITIONABLE_DEVICES,), spec, key)
    for i, device in enumerate(_items(spec.get("devices"))):
        if device.keys() & _DEVICE_FIELDS.keys():  # most devices have none: no path to build
            dpath = path.child("devices").index(i)
            for key, gates in _DEVICE_FIELDS.items():
                if _has(device, key):
                    yield GatedUse(str(dpath.child(key)), gates, device, key)
        for name, cap in (_d(device.get("capacity")) or {}).items():
            if isinstance(cap, dict) and cap.get("requestPolicy") is not None:
                cpath = path.child("devices").index(i).child("capacity").key(name).child("requestPolicy")
                yield GatedUse(str(cpath), (fg.DRA_CONSUMABLE_CAPACITY,), cap, "requestPolicy")
        for name, attr in (_d(device.get("attributes")) or {}).items():
            if not isinstance(attr, dict) or not (
                "strings" in attr or "ints" in attr or "bools" in attr or "versions" in attr
            ):
                continue
            for key in _LIST_ATTRIBUTE_KEYS:
                if _has(attr, key):
                    apath = path.child("devices").index(i).child("attributes").key(name).child(key)
                    yield GatedUse(str(apath), (fg.DRA_LIST_TYPE_ATTRIBUTES,), attr, key)


def _claim_spec_uses(spec: dict[str, Any], path: Path) -> Iterator[GatedUse]:
    # Paths are spelled only for a field actually found: this runs on every claim write, and
    # almost no claim uses a gated field.
    devices = _d(spec.get("devices"))
    if devices is None:
        return
    for i, request in enumerate(_items(devices.get("requests"))):
        first = _items(request.get("firstAvailable"))
        if _has(request, "firstAvailable"):
            yield GatedUse(
                f"{path}.devices.requests[{i}].firstAvailable", (fg.DRA_PRIORITIZED_LIST,), request, "firstAvailable"
            )
        exactly = _d(request.get("exactly"))
        bodies = [(-1, exactly)] if exactly is not None else []
        bodies += list(enumerate(first))
        for j, body in bodies:
            if not (body.keys() & _REQUEST_BODY_FIELDS):
                continue
            where = "exactly" if j < 0 else f"firstAvailable[{j}]"
            for key, gates in _REQUEST_BODY_FIELDS.items():
                if _has(body, key):
                    yield GatedUse(f"{path}.devices.requests[{i}].{where}.{key}", gates, body, key)
    for k, constraint in enumerate(_items(devices.get("constraints"))):
        if _has(constraint, "distinctAttribute"):
            yield GatedUse(
                f"{path}.devices.constraints[{k}].distinctAttribute",
                (fg.DRA_CONSUMABLE_CAPACITY,),
                constraint,
                "distinctAttribute",
            )


_REQUEST_BODY_FIELDS: dict[str, tuple[str, ...]] = {
    "tolerations": (fg.DRA_DEVICE_TAINTS,),
    "capacity": (fg.DRA_CONSUMABLE_CAPACITY,),
    "adminAccess": (fg.DRA_ADMIN_ACCESS,),
}
_RESULT_FIELDS: dict[str, tuple[str, ...]] = {
    "bindingConditions": _BINDING,
    "bindingFailureConditions": _BINDING,
    "shareID": (fg.DRA_CONSUMABLE_CAPACITY,),
    "consumedCapacity": (fg.DRA_CONSUMABLE_CAPACITY,),
    "tolerations": (fg.DRA_DEVICE_TAINTS,),
}


def _claim_status_uses(status: dict[str, Any], path: Path) -> Iterator[GatedUse]:
    if _has(status, "devices"):
        yield GatedUse(f"{path}.devices", (fg.DRA_RESOURCE_CLAIM_DEVICE_STATUS,), status, "devices")
    allocation = _d(status.get("allocation"))
    if allocation is None:
        return
    if _has(allocation, "allocationTimestamp"):
        yield GatedUse(f"{path}.allocation.allocationTimestamp", _BINDING, allocation, "allocationTimestamp")
    devices = _d(allocation.get("devices")) or {}
    for i, result in enumerate(_items(devices.get("results"))):
        if not (result.keys() & _RESULT_FIELDS):
            continue
        for key, gates in _RESULT_FIELDS.items():
            if _has(result, key):
                yield GatedUse(f"{path}.allocation.devices.results[{i}].{key}", gates, result, key)


def _disabled(use: GatedUse, gates: FeatureGates) -> list[str]:
    return [g for g in use.gates if not gates.enabled(g)]


def _gates_in_use(obj: dict[str, Any] | None) -> set[str]:
    if obj is None:
        return set()
    return {g for use in gated_uses(obj) for g in use.gates}


def disabled_field_errors(
    obj: dict[str, Any], old: dict[str, Any] | None, gates: FeatureGates
) -> list[FieldError]:
    """Forbidden for every gated field whose gate is off, unless the stored object already used it."""
    in_use: set[str] | None = None  # walked only when a field with a disabled gate turns up
    errs: list[FieldError] = []
    for use in gated_uses(obj):
        off = _disabled(use, gates)
        if not off:
            continue
        if in_use is None:
            in_use = _gates_in_use(old)
        off = [g for g in off if g not in in_use]
        if off:
            errs.append(
                forbidden(
                    use.path,
                    f"field requires the feature gate {' and '.join(off)}, which is disabled; the API server would drop it",
                )
            )
    return errs


def drop_disabled_fields(
    obj: dict[str, Any], old: dict[str, Any] | None, gates: FeatureGates, *, in_place: bool = False
) -> dict[str, Any]:
    """A copy of ``obj`` without the gated fields kube-apiserver would drop on this write.

    ``in_place=True`` drops them from ``obj`` itself (for a caller that owns it, like the API
    server with a freshly decoded body); the copy is what makes large objects expensive.
    """
    disabled = gates.disabled()
    # The stored object is walked only if the new one has a field behind a disabled gate.
    if not disabled or not any(g in disabled for use in gated_uses(obj) for g in use.gates):
        return obj if in_place else copy_json(obj)  # nothing to drop (the common case)
    in_use = _gates_in_use(old) if old is not None else set()
    out = obj if in_place else copy_json(obj)
    for use in list(gated_uses(out)):
        if any(g in disabled and g not in in_use for g in use.gates):
            use.container.pop(use.key, None)
    return out
