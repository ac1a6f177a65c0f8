"""Conversion of resource.k8s.io objects between v1 and the older versions (api.md §1, §13).

v1 is the hub: every conversion goes ``source -> v1 -> target``. The real shape differences are:

* v1beta1 (and the pre-1.32 v1alpha3 kinds): a request's fields sit inline on the request instead of
  under ``exactly``; a device's fields sit under a ``basic`` wrapper; ``spec.nodeName`` and
  ``spec.allNodes`` of a slice are plain values where empty/false means unset.
* v1alpha3 additionally writes a device capacity as a bare quantity instead of ``{value: ...}``.
* v1beta2 has the v1 shape.

Conversion works on dicts, so fields kubedra does not know are carried along untouched. A field
that the target version cannot express raises ``ConversionError``; nothing is silently dropped.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

GROUP = "resource.k8s.io"
V1 = f"{GROUP}/v1"
V1BETA2 = f"{GROUP}/v1beta2"
V1BETA1 = f"{GROUP}/v1beta1"
V1ALPHA3 = f"{GROUP}/v1alpha3"
VERSIONS = (V1, V1BETA2, V1BETA1, V1ALPHA3)

DRA_KINDS = ("DeviceClass", "ResourceSlice", "ResourceClaim", "ResourceClaimTemplate")

# Request fields that v1 keeps under ``exactly`` and v1beta1 inline on the request.
EXACT_FIELDS = (
    "deviceClassName",
    "selectors",
    "allocationMode",
    "count",
    "adminAccess",
    "tolerations",
    "capacity",
)
# Device fields that v1beta1 keeps under ``basic``.
BASIC_FIELDS = (
    "attributes",
    "capacity",
    "consumesCounters",
    "nodeName",
    "nodeSelector",
    "allNodes",
    "taints",
    "bindsToNode",
    "bindingConditions",
    "bindingFailureConditions",
    "allowMultipleAllocations",
    "nodeAllocatableResourceMappings",
)

# (apiVersion, kind) pairs kube-apiserver 1.36 serves (v1beta1 only with --runtime-config).
SERVED_136: dict[str, tuple[str, ...]] = {
    V1: DRA_KINDS,
    V1BETA2: (*DRA_KINDS, "DeviceTaintRule"),
    V1BETA1: DRA_KINDS,
    V1ALPHA3: ("DeviceTaintRule", "ResourcePoolStatusRequest"),
}
DEPRECATED = {V1BETA2: "deprecated in 1.36, removed in 1.39", V1BETA1: "deprecated in 1.35, removed in 1.38"}


class ConversionError(ValueError):
    """A field cannot be represented in the requested version (``path`` is the source field path)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


def is_served(api_version: str, kind: str) -> bool:
    """Whether Kubernetes 1.36 serves this kind in this version (v1beta1 needs runtime-config)."""
    return kind in SERVED_136.get(api_version, ())


def convert(obj: dict[str, Any], api_version: str) -> dict[str, Any]:
    """Return a copy of ``obj`` expressed in ``api_version``; raises ConversionError."""
    if api_version not in VERSIONS:
        raise ConversionError(
            "apiVersion", f"unsupported target version {api_version!r}; expected one of {', '.join(VERSIONS)}"
        )
    source = obj.get("apiVersion")
    if source not in VERSIONS:
        raise ConversionError(
            "apiVersion", f"unsupported version {source!r}; expected one of {', '.join(VERSIONS)}"
        )
    kind = str(obj.get("kind", ""))
    out = copy.deepcopy(obj)
    if kind == "DeviceTaintRule":
        return _convert_taint_rule(out, api_version)
    if kind not in DRA_KINDS:
        raise ConversionError("kind", f"{kind!r} is not a {GROUP} kind kubedra converts")
    if source == api_version:
        return out
    hub = _to_v1(out, str(source), kind)
    return _from_v1(hub, api_version, kind)


# --- to the hub ----------------------------------------------------------------------------------


def _to_v1(obj: dict[str, Any], source: str, kind: str) -> dict[str, Any]:
    return _convert(obj, V1, source, kind, _slice_to_v1, _claim_spec_to_v1)


def _convert(obj: dict[str, Any], api_version: str, beta: str, kind: str,
             convert_slice: Callable[..., None], convert_claim_spec: Callable[..., None]) -> dict[str, Any]:  # fmt: skip
    """Set ``api_version`` and reshape the spec; ``beta`` is the non-hub end of the conversion.

    v1beta2 has v1's shape, so only v1beta1 and v1alpha3 need their specs changed.
    """
    obj["apiVersion"] = api_version
    if beta in (V1, V1BETA2):
        return obj
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return obj
    if kind == "ResourceSlice":
        convert_slice(spec, alpha=beta == V1ALPHA3)
    elif kind == "ResourceClaim":
        convert_claim_spec(spec, "spec")
    elif kind == "ResourceClaimTemplate" and isinstance(spec.get("spec"), dict):
        convert_claim_spec(spec["spec"], "spec.spec")
    return obj


def _slice_to_v1(spec: dict[str, Any], alpha: bool) -> None:
    if spec.get("nodeName") == "":
        del spec["nodeName"]
    if spec.get("allNodes") is False:
        del spec["allNodes"]
    for i, device in enumerate(spec.get("devices") or []):
        if not isinstance(device, dict):
            continue
        basic = device.pop("basic", None)
        if basic is None:
            continue
        if not isinstance(basic, dict):
            raise ConversionError(f"spec.devices[{i}].basic", "must be an object")
        for key, value in basic.items():
            if key in device:
                raise ConversionError(f"spec.devices[{i}].{key}", "set both inline and under `basic`")
            device[key] = value
        if alpha and isinstance(device.get("capacity"), dict):
            device["capacity"] = {
                name: value if isinstance(value, dict) else {"value": value}
                for name, value in device["capacity"].items()
            }


def _claim_spec_to_v1(spec: dict[str, Any], prefix: str) -> None:
    devices = spec.get("devices")
    if not isinstance(devices, dict):
        return
    for request in devices.get("requests") or []:
        if not isinstance(request, dict):
            continue
        inline = {key: request.pop(key) for key in EXACT_FIELDS if key in request}
        if inline or not request.get("firstAvailable"):
            request["exactly"] = inline


# --- from the hub --------------------------------------------------------------------------------


def _from_v1(obj: dict[str, Any], target: str, kind: str) -> dict[str, Any]:
    return _convert(obj, target, target, kind, _slice_from_v1, _claim_spec_from_v1)


def _slice_from_v1(spec: dict[str, Any], alpha: bool) -> None:
    if spec.get("nodeName") == "":
        raise ConversionError(
            "spec.nodeName", "an explicitly empty nodeName cannot be represented in this version"
        )
    if spec.get("allNodes") is False:
        raise ConversionError("spec.allNodes", "allNodes: false cannot be represented in this version")
    for i, device in enumerate(spec.get("devices") or []):
        if not isinstance(device, dict):
            continue
        basic = {key: device.pop(key) for key in list(device) if key != "name"}
        if alpha and isinstance(basic.get("capacity"), dict):
            capacity: dict[str, Any] = {}
            for name, value in basic["capacity"].items():
                if isinstance(value, dict):
                    if set(value) - {"value"}:
                        extra = sorted(set(value) - {"value"})[0]
                        raise ConversionError(
                            f"spec.devices[{i}].capacity[{name}].{extra}",
                            "cannot be represented in resource.k8s.io/v1alpha3",
                        )
                    capacity[name] = value.get("value")
                else:
                    capacity[name] = value
            basic["capacity"] = capacity
        if basic:
            device["basic"] = basic


def _claim_spec_from_v1(spec: dict[str, Any], prefix: str) -> None:
    devices = spec.get("devices")
    if not isinstance(devices, dict):
        return
    for i, request in enumerate(devices.get("requests") or []):
        if not isinstance(request, dict) or "exactly" not in request:
            continue
        exactly = request.pop("exactly")
        if exactly is None:
            continue
        if not isinstance(exactly, dict):
            raise ConversionError(f"{prefix}.devices.requests[{i}].exactly", "must be an object")
        for key, value in exactly.items():
            if key in request:
                raise ConversionError(
                    f"{prefix}.devices.requests[{i}].exactly.{key}", "collides with a field of the request"
                )
            request[key] = value


# --- DeviceTaintRule: v1beta2 <-> v1alpha3 only -----------------------------------------------------

_ALPHA_ONLY_SELECTOR_FIELDS = ("deviceClassName", "selectors")


def _convert_taint_rule(obj: dict[str, Any], target: str) -> dict[str, Any]:
    if target not in (V1BETA2, V1ALPHA3):
        raise ConversionError(
            "apiVersion", f"DeviceTaintRule exists only in {V1BETA2} and {V1ALPHA3} in Kubernetes 1.36"
        )
    if obj.get("apiVersion") not in (V1BETA2, V1ALPHA3):
        raise ConversionError(
            "apiVersion", f"DeviceTaintRule exists only in {V1BETA2} and {V1ALPHA3} in Kubernetes 1.36"
        )
    selector = (obj.get("spec") or {}).get("deviceSelector")
    if isinstance(selector, dict):
        for key in _ALPHA_ONLY_SELECTOR_FIELDS:
            if selector.get(key):
                raise ConversionError(
                    f"spec.deviceSelector.{key}",
                    "was removed from DeviceTaintRule; select devices by driver, pool and device",
                )
    obj["apiVersion"] = target
    return obj
