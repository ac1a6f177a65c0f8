"""Recognition of the removed "classic" DRA API, answered with a migration hint instead of a parse error.

Blog posts and tutorials (seeds 001 and 004) still show ``resource.k8s.io/v1alpha2`` ResourceClass,
PodSchedulingContext and ResourceClaimParameters. Kubernetes dropped them (v1alpha2 in 1.31, the
control-plane-controller mode with PodSchedulingContext in 1.32); a user pasting such a manifest
needs to learn what replaces each kind in v1, not that a field is unknown.
"""

from __future__ import annotations

from typing import Any

GROUP = "resource.k8s.io"
REMOVED_VERSIONS = {f"{GROUP}/v1alpha1": "1.27", f"{GROUP}/v1alpha2": "1.31"}

_KIND_HINTS = {
    "ResourceClass": (
        "use a DeviceClass (resource.k8s.io/v1): select the driver's devices with "
        'spec.selectors[].cel.expression (e.g. device.driver == "<driver>") and move class parameters '
        "to spec.config[].opaque"
    ),
    "ResourceClassParameters": (
        "put the class's filters in DeviceClass spec.selectors (CEL) and its driver parameters in "
        "DeviceClass spec.config[].opaque.parameters"
    ),
    "ResourceClaimParameters": (
        "put device filters in the ResourceClaim's spec.devices.requests[].exactly.selectors (CEL) and "
        "driver parameters in spec.devices.config[].opaque.parameters"
    ),
    "PodSchedulingContext": (
        "classic DRA's control-plane controller mode was removed in Kubernetes 1.32; the scheduler now "
        "allocates claims itself from ResourceSlices published by the driver, so nothing replaces this object"
    ),
    "ResourceClaim": (
        "rewrite it for resource.k8s.io/v1: spec.devices.requests[].exactly.deviceClassName replaces "
        "resourceClassName, and parametersRef becomes spec.devices.config[].opaque"
    ),
    "ResourceClaimTemplate": (
        "rewrite it for resource.k8s.io/v1: spec.spec.devices.requests[].exactly.deviceClassName replaces "
        "resourceClassName, and parametersRef becomes spec.spec.devices.config[].opaque"
    ),
    "ResourceSlice": (
        "drivers publish resource.k8s.io/v1 ResourceSlices with spec.driver, spec.pool and spec.devices[] "
        "(the namedResources model was removed)"
    ),
}


def check_legacy(obj: dict[str, Any]) -> str | None:
    """A migration hint when ``obj`` is a removed classic-DRA object; None otherwise."""
    api_version = str(obj.get("apiVersion") or "")
    kind = str(obj.get("kind") or "")
    removed_in = REMOVED_VERSIONS.get(api_version)
    if removed_in is None:
        if api_version.startswith(f"{GROUP}/") and kind == "PodSchedulingContext":
            return f"{api_version} PodSchedulingContext is no longer served: {_KIND_HINTS[kind]}"
        return None
    hint = _KIND_HINTS.get(kind)
    if hint is None:
        hint = "rewrite the object for resource.k8s.io/v1 (DeviceClass, ResourceClaim, ResourceClaimTemplate, ResourceSlice)"
    return f"{api_version} {kind or '<no kind>'} was removed in Kubernetes {removed_in} (classic DRA): {hint}"
