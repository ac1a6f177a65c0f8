"""DeviceClass, ResourceClaim status, DeviceTaintRule and feature-gate handling in validation."""

from __future__ import annotations

import copy
from typing import Any

from kubedra.api.features import FeatureGates
from kubedra.api.validation import drop_disabled_fields, validate, validate_status

Obj = dict[str, Any]
UID = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"


def errors(obj: Obj, **kw: Any) -> list[str]:
    return [str(e) for e in validate(obj, **kw)]


def status_errors(obj: Obj, **kw: Any) -> list[str]:
    return [str(e) for e in validate_status(obj, **kw)]


def device_class(**spec: Any) -> Obj:
    return {
        "apiVersion": "resource.k8s.io/v1",
        "kind": "DeviceClass",
        "metadata": {"name": "gpu.example.com"},
        "spec": spec,
    }


def test_device_class_rules() -> None:
    assert errors(device_class(selectors=[{"cel": {"expression": "device.driver == 'x'"}}])) == []
    assert errors(device_class(extendedResourceName="example.com/gpu")) == []
    assert errors(device_class(extendedResourceName="gpu")) == [
        'spec.extendedResourceName: Invalid value: "gpu": must be a valid extended resource name'
    ]
    assert errors(device_class(extendedResourceName="kubernetes.io/gpu"))[0].endswith(
        "must be a valid extended resource name"
    )
    assert errors(device_class(config=[{"opaque": {"driver": "d.io"}}])) == [
        "spec.config[0].opaque.parameters: Required value"
    ]
    assert errors(device_class(selectors=[{"cel": {"expression": "true"}}] * 33)) == [
        "spec.selectors: Too many: 33: must have at most 32 items"
    ]
    namespaced = device_class()
    namespaced["metadata"]["namespace"] = "ns"
    assert errors(namespaced) == ["metadata.namespace: Forbidden: not allowed on this type"]


def test_device_class_ratchets_unchanged_selectors() -> None:
    calls: list[str] = []

    def compile_cel(expression: str, environment: str) -> str | None:
        calls.append(expression)
        return "compilation failed: nope"

    old = device_class(selectors=[{"cel": {"expression": "old.syntax"}}])
    new = copy.deepcopy(old)
    new["metadata"]["labels"] = {"a": "b"}
    assert errors(new, old=old, compile_cel=compile_cel) == []
    assert calls == []
    new["spec"]["selectors"].append({"cel": {"expression": "x"}})
    assert len(errors(new, old=old, compile_cel=compile_cel)) == 2


def test_extended_resource_name_needs_its_gate() -> None:
    gates = FeatureGates({"DRAExtendedResource": False})
    obj = device_class(extendedResourceName="example.com/gpu")
    assert errors(obj, gates=gates) == [
        "spec.extendedResourceName: Forbidden: field requires the feature gate DRAExtendedResource, which is "
        "disabled; the API server would drop it"
    ]
    assert "extendedResourceName" not in drop_disabled_fields(obj, None, gates)["spec"]
    # Ratcheting: a stored object that already uses the feature keeps it.
    assert errors(obj, old=obj, gates=gates) == []
    assert drop_disabled_fields(obj, obj, gates) == obj


def claim_with_status(**status: Any) -> Obj:
    return {
        "apiVersion": "resource.k8s.io/v1",
        "kind": "ResourceClaim",
        "metadata": {"name": "c", "namespace": "ns"},
        "spec": {
            "devices": {
                "requests": [
                    {
                        "name": "req",
                        "exactly": {"deviceClassName": "gpu", "allocationMode": "ExactCount", "count": 1},
                    }
                ]
            }
        },
        "status": status,
    }


ALLOCATION = {
    "devices": {
        "results": [{"request": "req", "driver": "gpu.example.com", "pool": "node-1", "device": "gpu-0"}]
    },
    "nodeSelector": {
        "nodeSelectorTerms": [
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["node-1"]}]}
        ]
    },
}


def test_claim_status_rules() -> None:
    assert status_errors(claim_with_status(allocation=ALLOCATION)) == []
    reserved = [{"resource": "pods", "name": "p", "uid": UID}]
    assert status_errors(claim_with_status(reservedFor=reserved)) == [
        "status.reservedFor: Forbidden: may not be specified when `allocated` is not set"
    ]
    assert status_errors(claim_with_status(allocation=ALLOCATION, reservedFor=[{"name": "p"}])) == [
        "status.reservedFor[0].resource: Required value",
        "status.reservedFor[0].uid: Required value",
    ]
    too_many = [{"resource": "pods", "name": f"p{i}", "uid": f"u{i}"} for i in range(257)]
    assert status_errors(claim_with_status(allocation=ALLOCATION, reservedFor=too_many)) == [
        "status.reservedFor: Too many: 257: must have at most 256 items"
    ]
    bad_result = copy.deepcopy(ALLOCATION)
    bad_result["devices"]["results"][0].update(request="other", shareID=UID.upper())
    assert status_errors(claim_with_status(allocation=bad_result)) == [
        'status.allocation.devices.results[0].request: Invalid value: "other": must be the name of a request in the '
        "claim or the name of a request and a subrequest separated by '/'",
        f'status.allocation.devices.results[0].shareID: Invalid value: "{UID.upper()}": uid must be in RFC 4122 '
        "normalized form, `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` with lowercase hexadecimal characters",
    ]
    bad_config = copy.deepcopy(ALLOCATION)
    bad_config["devices"]["config"] = [{"source": "FromPod", "opaque": {"driver": "d.io", "parameters": {}}}]
    assert status_errors(claim_with_status(allocation=bad_config)) == [
        'status.allocation.devices.config[0].source: Unsupported value: "FromPod": supported values: "FromClaim", "FromClass"'
    ]


def test_allocation_is_immutable_and_reservations_frozen_on_deletion() -> None:
    old = claim_with_status(allocation=ALLOCATION)
    changed = copy.deepcopy(ALLOCATION)
    changed["devices"]["results"][0]["device"] = "gpu-1"
    new = claim_with_status(allocation=changed)
    assert status_errors(new, old=old)[0].startswith("status.allocation: Invalid value:")
    assert status_errors(new, old=old)[0].endswith("field is immutable")
    deleting = claim_with_status(
        allocation=ALLOCATION, reservedFor=[{"resource": "pods", "name": "p", "uid": UID}]
    )
    deleting["metadata"]["deletionTimestamp"] = "2025-01-01T00:00:00Z"
    assert status_errors(deleting, old=old) == [
        "status.reservedFor: Forbidden: new entries may not be added while `deallocationRequested` or `deletionTimestamp` are set"
    ]


def test_device_status_must_name_an_allocated_device() -> None:
    device = {
        "driver": "gpu.example.com",
        "pool": "node-1",
        "device": "gpu-9",
        "networkData": {"ips": ["10.0.0.1/24", "10.0.0.1/24"], "interfaceName": "x" * 257},
        "conditions": [
            {"type": "Ready", "status": "Maybe", "reason": "R", "lastTransitionTime": "2025-01-01T00:00:00Z"}
        ],
    }
    assert status_errors(claim_with_status(allocation=ALLOCATION, devices=[device])) == [
        'status.devices[0]: Invalid value: "gpu.example.com/node-1/gpu-9": must be an allocated device in the claim',
        'status.devices[0].conditions[0].status: Unsupported value: "Maybe": supported values: "False", "True", "Unknown"',
        "status.devices[0].networkData.interfaceName: Too long: must have at most 256 bytes",
        'status.devices[0].networkData.ips[1]: Duplicate value: "10.0.0.1/24"',
    ]
    gates = FeatureGates({"DRAResourceClaimDeviceStatus": False, "DRADeviceBindingConditions": False})
    assert status_errors(claim_with_status(allocation=ALLOCATION, devices=[]), gates=gates)[0].startswith(
        "status.devices: Forbidden: field requires the feature gate DRAResourceClaimDeviceStatus"
    )


def taint_rule(**taint: Any) -> Obj:
    return {
        "apiVersion": "resource.k8s.io/v1beta2",
        "kind": "DeviceTaintRule",
        "metadata": {"name": "r"},
        "spec": {
            "deviceSelector": {"driver": "gpu.example.com"},
            "taint": {"key": "k", "effect": "NoExecute", **taint},
        },
    }


def test_device_taint_rule_needs_its_gate_and_a_valid_taint() -> None:
    assert errors(taint_rule())[0].startswith(
        "kind: Forbidden: DeviceTaintRule requires the feature gate DRADeviceTaintRules"
    )
    gates = FeatureGates({"DRADeviceTaintRules": True})
    assert errors(taint_rule(), gates=gates) == []
    assert errors(taint_rule(effect="Evict"), gates=gates) == [
        'spec.taint.effect: Unsupported value: "Evict": supported values: "NoExecute", "NoSchedule", "None"'
    ]


def test_unknown_kind_is_reported() -> None:
    assert next(str(e) for e in validate({"apiVersion": "v1", "kind": "Pod"})).startswith(
        'kind: Unsupported value: "Pod"'
    )
