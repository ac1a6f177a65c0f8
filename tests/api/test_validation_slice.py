"""ResourceSlice validation, one case per rule (api.md §4, §11)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kubedra.api.features import FeatureGates
from kubedra.api.validation import validate

Obj = dict[str, Any]


def slice_(**spec: Any) -> Obj:
    body: Obj = {
        "driver": "gpu.example.com",
        "pool": {"name": "node-1", "generation": 1, "resourceSliceCount": 1},
        "nodeName": "node-1",
        "devices": [
            {
                "name": "gpu-0",
                "attributes": {"model": {"string": "a100"}},
                "capacity": {"memory": {"value": "80Gi"}},
            }
        ],
    }
    body.update(spec)
    return {
        "apiVersion": "resource.k8s.io/v1",
        "kind": "ResourceSlice",
        "metadata": {"name": "s"},
        "spec": body,
    }


def dev(obj: Obj, i: int = 0) -> Obj:
    return obj["spec"]["devices"][i]


def errors(obj: Obj, **kw: Any) -> list[str]:
    return [str(e) for e in validate(obj, **kw)]


def test_valid_slice() -> None:
    assert errors(slice_()) == []


def shared_capacity(policy: Obj, value: str = "10Gi") -> Callable[[Obj], None]:
    def mutate(o: Obj) -> None:
        dev(o).update(
            allowMultipleAllocations=True, capacity={"memory": {"value": value, "requestPolicy": policy}}
        )

    return mutate


NODE = "exactly one of `nodeName`, `nodeSelector`, `allNodes`, `perDeviceNodeSelection` is required"
CASES: list[tuple[str, Callable[[Obj], None], str]] = [
    ("no node selection", lambda o: o["spec"].pop("nodeName"), f"spec: Required value: {NODE}"),
    (
        "two node selections",
        lambda o: o["spec"].update(allNodes=True),
        f'spec: Invalid value: "{{`nodeName`, `allNodes`}}": {NODE}, but multiple fields are set',
    ),
    (
        "empty nodeName",
        lambda o: o["spec"].update(nodeName=""),
        'spec.nodeName: Invalid value: "": must be either unset or set to a non-empty string',
    ),
    (
        "allNodes false",
        lambda o: o["spec"].update(nodeName=None, allNodes=False),
        "spec.allNodes: Invalid value: false: must be either unset or set to true",
    ),
    (
        "two selector terms",
        lambda o: o["spec"].update(nodeName=None, nodeSelector={"nodeSelectorTerms": [{}, {}]}),
        "spec.nodeSelector.nodeSelectorTerms: Invalid value: 2: must have exactly one node selector term",
    ),
    (
        "selector operator",
        lambda o: o["spec"].update(
            nodeName=None,
            nodeSelector={"nodeSelectorTerms": [{"matchExpressions": [{"key": "a", "operator": "Has"}]}]},
        ),
        'spec.nodeSelector.nodeSelectorTerms[0].matchExpressions[0].operator: Unsupported value: "Has"',
    ),
    ("no driver", lambda o: o["spec"].update(driver=""), "spec.driver: Required value"),
    (
        "driver too long",
        lambda o: o["spec"].update(driver="d" * 64),
        "spec.driver: Too long: must have at most 63 bytes",
    ),
    (
        "driver upper case is fine",
        lambda o: o["spec"].update(driver="GPU.example.com", nodeName=""),
        "spec.nodeName",
    ),
    ("pool name", lambda o: o["spec"]["pool"].update(name="a//b"), 'spec.pool.name: Invalid value: ""'),
    (
        "pool count",
        lambda o: o["spec"]["pool"].update(resourceSliceCount=0),
        "spec.pool.resourceSliceCount: Invalid value: 0: must be greater than zero",
    ),
    (
        "pool generation",
        lambda o: o["spec"]["pool"].update(generation=-1),
        "spec.pool.generation: Invalid value: -1: must be greater than or equal to zero",
    ),
    (
        "devices and counters",
        lambda o: o["spec"].update(sharedCounters=[{"name": "a", "counters": {"c": {"value": "1"}}}]),
        'spec: Invalid value: "": only one of `sharedCounters` or `devices` is allowed',
    ),
    (
        "129 devices",
        lambda o: o["spec"].update(devices=[{"name": f"d{i}"} for i in range(129)]),
        "spec.devices: Too many: 129: must have at most 128 items",
    ),
    (
        "65 tainted devices",
        lambda o: o["spec"].update(
            devices=[{"name": f"d{i}", "taints": [{"key": "k", "effect": "NoSchedule"}]} for i in range(65)]
        ),
        "spec.devices: Too many: 65: must have at most 64 items",
    ),
    (
        "duplicate device",
        lambda o: o["spec"]["devices"].append({"name": "gpu-0"}),
        'spec.devices[1]: Duplicate value: "gpu-0"',
    ),
    ("device name", lambda o: dev(o).update(name="GPU"), 'spec.devices[0].name: Invalid value: "GPU"'),
    (
        "33 attributes+capacities",
        lambda o: dev(o).update(attributes={f"a{i}": {"int": i} for i in range(32)}),
        "spec.devices[0]: Invalid value: 33: the total number of attributes and capacities must not exceed 32",
    ),
    (
        "attribute with no value",
        lambda o: dev(o).update(attributes={"a": {}}),
        'spec.devices[0].attributes[a]: Invalid value: "": exactly one value must be specified',
    ),
    (
        "attribute with two values",
        lambda o: dev(o).update(attributes={"a": {"int": 1, "bool": True}}),
        'spec.devices[0].attributes[a]: Invalid value: {"bool":true,"int":1}: exactly one value must be specified',
    ),
    (
        "attribute string too long",
        lambda o: dev(o).update(attributes={"a": {"string": "x" * 65}}),
        "spec.devices[0].attributes[a].string: Too long: must have at most 64 bytes",
    ),
    (
        "attribute version",
        lambda o: dev(o).update(attributes={"a": {"version": "v1.0.0"}}),
        'spec.devices[0].attributes[a].version: Invalid value: "v1.0.0": must be a string compatible with semver.org spec 2.0.0',
    ),
    (
        "attribute version leading zero",
        lambda o: dev(o).update(attributes={"a": {"version": "1.02.0"}}),
        "must be a string compatible with semver.org spec 2.0.0",
    ),
    (
        "attribute name slashes",
        lambda o: dev(o).update(attributes={"a/b/c": {"int": 1}}),
        'spec.devices[0].attributes: Invalid value: "a/b/c": must not contain more than one slash',
    ),
    (
        "attribute empty domain",
        lambda o: dev(o).update(attributes={"/b": {"int": 1}}),
        'spec.devices[0].attributes: Invalid value: "": the domain must not be empty',
    ),
    (
        "attribute empty name",
        lambda o: dev(o).update(attributes={"a.com/": {"int": 1}}),
        'spec.devices[0].attributes: Invalid value: "": the name must not be empty',
    ),
    (
        "attribute id too long",
        lambda o: dev(o).update(attributes={"a" * 33: {"int": 1}}),
        "spec.devices[0].attributes: Too long: must have at most 32 bytes",
    ),
    (
        "attribute id not C",
        lambda o: dev(o).update(attributes={"a-b": {"int": 1}}),
        'spec.devices[0].attributes: Invalid value: "a-b": a valid C identifier must start',
    ),
    (
        "capacity without value",
        lambda o: dev(o).update(capacity={"memory": {}}),
        "spec.devices[0].capacity[memory].value: Required value",
    ),
    (
        "capacity bad quantity",
        lambda o: dev(o).update(capacity={"memory": {"value": "1GB"}}),
        'spec.devices[0].capacity[memory].value: Invalid value: "1GB": quantities must match',
    ),
    (
        "taint effect",
        lambda o: dev(o).update(taints=[{"key": "k", "effect": "PreferNoSchedule"}]),
        'spec.devices[0].taints[0].effect: Unsupported value: "PreferNoSchedule": supported values: "NoExecute", "NoSchedule", "None"',
    ),
    (
        "taint no effect",
        lambda o: dev(o).update(taints=[{"key": "k"}]),
        "spec.devices[0].taints[0].effect: Required value",
    ),
    (
        "taint key",
        lambda o: dev(o).update(taints=[{"key": "", "effect": "None"}]),
        'spec.devices[0].taints[0].key: Invalid value: "": name part must be non-empty',
    ),
    (
        "17 taints",
        lambda o: dev(o).update(taints=[{"key": f"k{i}", "effect": "None"} for i in range(17)]),
        "spec.devices[0].taints: Too many: 17: must have at most 16 items",
    ),
    (
        "3 consumptions",
        lambda o: dev(o).update(
            consumesCounters=[{"counterSet": f"s{i}", "counters": {"c": {"value": "1"}}} for i in range(3)]
        ),
        "spec.devices[0].consumesCounters: Too many: 3: must have at most 2 items",
    ),
    (
        "duplicate consumption",
        lambda o: dev(o).update(
            consumesCounters=[{"counterSet": "s", "counters": {"c": {"value": "1"}}}] * 2
        ),
        'spec.devices[0].consumesCounters[1]: Duplicate value: "s"',
    ),
    (
        "consumption without counters",
        lambda o: dev(o).update(consumesCounters=[{"counterSet": "s"}]),
        "spec.devices[0].consumesCounters[0].counters: Required value",
    ),
    (
        "counter name",
        lambda o: dev(o).update(consumesCounters=[{"counterSet": "s", "counters": {"Mem": {"value": "1"}}}]),
        'spec.devices[0].consumesCounters[0].counters: Invalid value: "Mem"',
    ),
    (
        "9 counter sets",
        lambda o: o["spec"].update(
            devices=None,
            sharedCounters=[{"name": f"s{i}", "counters": {"c": {"value": "1"}}} for i in range(9)],
        ),
        "spec.sharedCounters: Too many: 9: must have at most 8 items",
    ),
    (
        "duplicate counter set",
        lambda o: o["spec"].update(
            devices=None, sharedCounters=[{"name": "s", "counters": {"c": {"value": "1"}}}] * 2
        ),
        'spec.sharedCounters[1]: Duplicate value: "s"',
    ),
    (
        "33 counters",
        lambda o: o["spec"].update(
            devices=None,
            sharedCounters=[{"name": "s", "counters": {f"c{i}": {"value": "1"} for i in range(33)}}],
        ),
        "spec.sharedCounters[0].counters: Too many: 33: must have at most 32 items",
    ),
    (
        "per-device fields without flag",
        lambda o: dev(o).update(nodeName="n"),
        "spec.devices[0]: Invalid value: null: `nodeName`, `nodeSelector` and `allNodes` can only be set if `perDeviceNodeSelection` is set to true in the ResourceSlice spec",
    ),
    (
        "per-device flag without device selection",
        lambda o: o["spec"].update(nodeName=None, perDeviceNodeSelection=True),
        "spec.devices[0]: Required value: exactly one of `nodeName`, `nodeSelector`, or `allNodes` is required when `perDeviceNodeSelection` is set to true in the ResourceSlice spec",
    ),
    (
        "binding failure without conditions",
        lambda o: dev(o).update(bindingFailureConditions=["failed"]),
        "spec.devices[0].bindingConditions: Invalid value: []: bindingConditions are required to use bindingFailureConditions",
    ),
    (
        "binding overlap",
        lambda o: dev(o).update(bindingConditions=["a"], bindingFailureConditions=["a"]),
        'spec.devices[0].bindingFailureConditions[0]: Invalid value: "a": bindingFailureConditions must not overlap with bindingConditions',
    ),
    (
        "5 binding conditions",
        lambda o: dev(o).update(
            bindingConditions=[f"c{i}" for i in range(5)], bindingFailureConditions=["f"]
        ),
        "spec.devices[0].bindingConditions: Too many: 5: must have at most 4 items",
    ),
    (
        "policy without multi-allocation",
        lambda o: dev(o).update(capacity={"memory": {"value": "1Gi", "requestPolicy": {"default": "1Gi"}}}),
        "spec.devices[0].capacity[memory].requestPolicy: Forbidden: allowMultipleAllocations must be true",
    ),
    (
        "policy both kinds",
        shared_capacity({"default": "1Gi", "validValues": ["1Gi"], "validRange": {"min": "1Gi"}}),
        'requestPolicy: Forbidden: exactly one policy can be specified, cannot specify "validValues" and "validRange" at the same time',
    ),
    (
        "values need default",
        shared_capacity({"validValues": ["1Gi"]}),
        "requestPolicy.default: Required value: required when validValues is defined",
    ),
    (
        "range needs default",
        shared_capacity({"validRange": {"min": "1Gi"}}),
        "requestPolicy.default: Required value: required when validRange is defined",
    ),
    (
        "values unsorted",
        shared_capacity({"default": "1Gi", "validValues": ["2Gi", "1Gi"]}),
        'requestPolicy.validValues[1]: Invalid value: "1Gi": values must be sorted in ascending order',
    ),
    (
        "value above capacity",
        shared_capacity({"default": "1Gi", "validValues": ["1Gi", "20Gi"]}),
        'requestPolicy.validValues[1]: Invalid value: "20Gi": option is larger than capacity value: 10Gi',
    ),
    (
        "default not a value",
        shared_capacity({"default": "3Gi", "validValues": ["1Gi", "2Gi"]}),
        'requestPolicy.validValues: Invalid value: "3Gi": default value is not valid according to the requestPolicy',
    ),
    (
        "11 values",
        shared_capacity({"default": "1", "validValues": [str(i) for i in range(1, 12)]}),
        "requestPolicy.validValues: Too many: 11: must have at most 10 items",
    ),
    (
        "range min required",
        shared_capacity({"default": "1Gi", "validRange": {}}),
        "requestPolicy.validRange.min: Required value: required when validRange is defined",
    ),
    (
        "range min above capacity",
        shared_capacity({"default": "20Gi", "validRange": {"min": "20Gi"}}),
        'requestPolicy.validRange.min: Invalid value: "20Gi": min is larger than capacity value: 10Gi',
    ),
    (
        "default below min",
        shared_capacity({"default": "1Gi", "validRange": {"min": "2Gi"}}),
        'validRange.default: Invalid value: "1Gi": default is less than min: 2Gi',
    ),
    (
        "min above max",
        shared_capacity({"default": "2Gi", "validRange": {"min": "2Gi", "max": "1Gi"}}),
        'validRange.max: Invalid value: "2Gi": min is larger than max: 1Gi',
    ),
    (
        "max above capacity",
        shared_capacity({"default": "2Gi", "validRange": {"min": "1Gi", "max": "20Gi"}}),
        'validRange.max: Invalid value: "20Gi": max is larger than capacity value: 10Gi',
    ),
    (
        "default above max",
        shared_capacity({"default": "3Gi", "validRange": {"min": "1Gi", "max": "2Gi"}}),
        'validRange.default: Invalid value: "3Gi": default is more than max: 2Gi',
    ),
    (
        "step zero",
        shared_capacity({"default": "1Gi", "validRange": {"min": "1Gi", "step": "0"}}),
        'validRange.step: Invalid value: "0": must be greater than zero',
    ),
    (
        "step too big",
        shared_capacity({"default": "1Gi", "validRange": {"min": "1Gi", "step": "10Gi"}}),
        'validRange.step: Invalid value: "10Gi": one step 11Gi is larger than capacity value: 10Gi',
    ),
    (
        "default off step",
        shared_capacity(
            {"default": "2Gi", "validRange": {"min": "1Gi", "step": "2Gi", "max": "9Gi"}}, "10Gi"
        ),
        'validRange.step: Invalid value: "2Gi": value is not a multiple of a given step (2Gi) from (1Gi)',
    ),
]


@pytest.mark.parametrize(("mutate", "expected"), [(m, e) for _, m, e in CASES], ids=[c[0] for c in CASES])
def test_slice_rule(mutate: Callable[[Obj], None], expected: str) -> None:
    obj = slice_()
    mutate(obj)
    found = errors(obj)
    assert any(expected in e for e in found), found


def test_valid_policies_and_partitionable_slice() -> None:
    ok = slice_()
    dev(ok).update(
        allowMultipleAllocations=True,
        capacity={
            "memory": {
                "value": "10Gi",
                "requestPolicy": {
                    "default": "2Gi",
                    "validRange": {"min": "1Gi", "max": "9Gi", "step": "1Gi"},
                },
            }
        },
    )
    assert errors(ok) == []
    counters = slice_(
        devices=None, sharedCounters=[{"name": "gpu-0", "counters": {"memory": {"value": "80Gi"}}}]
    )
    assert errors(counters) == []
    per_device = slice_(nodeName=None, perDeviceNodeSelection=True)
    dev(per_device).update(nodeName="node-1")
    assert errors(per_device) == []


def test_list_attributes_behind_their_gate_count_values() -> None:
    obj = slice_()
    dev(obj).update(attributes={"a": {"ints": list(range(49))}})
    assert "spec.devices[0].attributes[a].ints: Forbidden" in errors(obj)[0]
    gates = FeatureGates({"DRAListTypeAttributes": True})
    assert errors(obj, gates=gates) == [
        "spec.devices[0]: Invalid value: 49: the total number of attribute values must not exceed 48"
    ]
    dev(obj).update(attributes={"a": {"strings": []}})
    assert errors(obj, gates=gates) == [
        "spec.devices[0].attributes[a].strings: Invalid value: []: must not be empty if specified"
    ]


def test_update_keeps_identity_fields_immutable() -> None:
    old = slice_()
    new = slice_(driver="other.example.com", nodeName="node-2")
    new["spec"]["pool"]["name"] = "p2"
    assert errors(new, old=old) == [
        'spec.pool.name: Invalid value: "p2": field is immutable',
        'spec.driver: Invalid value: "other.example.com": field is immutable',
        'spec.nodeName: Invalid value: "node-2": field is immutable',
    ]


def test_unchanged_capacity_is_not_revalidated_on_update() -> None:
    # A stored policy that newer rules would reject stays updatable while it is unchanged.
    old = slice_()
    dev(old).update(capacity={"memory": {"value": "1Gi", "requestPolicy": {"default": "1Gi"}}})
    new = slice_()
    dev(new).update(
        capacity={"memory": {"value": "1Gi", "requestPolicy": {"default": "1Gi"}}},
        attributes={"x": {"int": 1}},
    )
    assert errors(new, old=old) == []
    assert errors(new) != []
