"""ResourceClaim / ResourceClaimTemplate validation, one case per rule (api.md §5, §7, §11)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from kubedra.api.features import FeatureGates
from kubedra.api.validation import validate

Obj = dict[str, Any]


def claim(**exactly: Any) -> Obj:
    body = {"deviceClassName": "gpu.example.com", "allocationMode": "ExactCount", "count": 1}
    body.update(exactly)
    return {
        "apiVersion": "resource.k8s.io/v1",
        "kind": "ResourceClaim",
        "metadata": {"name": "c", "namespace": "ns"},
        "spec": {"devices": {"requests": [{"name": "req-0", "exactly": body}]}},
    }


def errors(obj: Obj, **kw: Any) -> list[str]:
    return [str(e) for e in validate(obj, **kw)]


def test_valid_claim_has_no_errors() -> None:
    assert errors(claim()) == []


def _req(obj: Obj) -> Obj:
    return obj["spec"]["devices"]["requests"][0]


def _set(path: str, value: Any) -> Callable[[Obj], None]:
    def mutate(obj: Obj) -> None:
        node = obj
        keys = path.split(".")
        for key in keys[:-1]:
            node = node[int(key)] if key.isdigit() else node.setdefault(key, {})
        node[keys[-1]] = value

    return mutate


R = "spec.devices.requests.0"
CASES: list[tuple[str, Callable[[Obj], None], str]] = [
    (
        "count zero",
        _set(f"{R}.exactly.count", 0),
        "spec.devices.requests[0].exactly.count: Invalid value: 0: must be greater than zero",
    ),
    (
        "count with All",
        lambda o: _req(o)["exactly"].update(allocationMode="All", count=2),
        "spec.devices.requests[0].exactly.count: Invalid value: 2: must not be specified when allocationMode is 'All'",
    ),
    (
        "unknown mode",
        _set(f"{R}.exactly.allocationMode", "Some"),
        'spec.devices.requests[0].exactly.allocationMode: Unsupported value: "Some": supported values: "All", "ExactCount"',
    ),
    (
        "no class",
        _set(f"{R}.exactly.deviceClassName", ""),
        "spec.devices.requests[0].exactly.deviceClassName: Required value",
    ),
    (
        "bad class",
        _set(f"{R}.exactly.deviceClassName", "Gpu_"),
        'spec.devices.requests[0].exactly.deviceClassName: Invalid value: "Gpu_": a lowercase RFC 1123 subdomain',
    ),
    (
        "bad request name",
        _set(f"{R}.name", "Req"),
        'spec.devices.requests[0].name: Invalid value: "Req": a lowercase RFC 1123 label',
    ),
    (
        "neither",
        lambda o: _req(o).pop("exactly"),
        "spec.devices.requests[0]: Required value: exactly one of `exactly` or `firstAvailable` is required",
    ),
    (
        "both",
        _set(f"{R}.firstAvailable", [{"name": "a", "deviceClassName": "c"}]),
        "spec.devices.requests[0]: Invalid value: null: exactly one of `exactly` or `firstAvailable` is required, but multiple fields are set",
    ),
    (
        "selector without cel",
        _set(f"{R}.exactly.selectors", [{}]),
        "spec.devices.requests[0].exactly.selectors[0].cel: Required value",
    ),
    (
        "cel too long",
        _set(f"{R}.exactly.selectors", [{"cel": {"expression": "x" * 10241}}]),
        "spec.devices.requests[0].exactly.selectors[0].cel.expression: Too long: must have at most 10240 bytes",
    ),
    (
        "33 selectors",
        _set(f"{R}.exactly.selectors", [{"cel": {"expression": "true"}}] * 33),
        "spec.devices.requests[0].exactly.selectors: Too many: 33: must have at most 32 items",
    ),
    (
        "toleration Exists with value",
        _set(f"{R}.exactly.tolerations", [{"key": "k", "operator": "Exists", "value": "v"}]),
        'spec.devices.requests[0].exactly.tolerations[0].value: Invalid value: "v": must be empty for operator `Exists`',
    ),
    (
        "toleration operator",
        _set(f"{R}.exactly.tolerations", [{"operator": "In"}]),
        'spec.devices.requests[0].exactly.tolerations[0].operator: Unsupported value: "In": supported values: "Equal", "Exists"',
    ),
    (
        "toleration effect",
        _set(f"{R}.exactly.tolerations", [{"operator": "Exists", "effect": "PreferNoSchedule"}]),
        'tolerations[0].effect: Unsupported value: "PreferNoSchedule": supported values: "NoExecute", "NoSchedule", "None"',
    ),
    (
        "17 tolerations",
        _set(f"{R}.exactly.tolerations", [{"operator": "Exists"}] * 17),
        "spec.devices.requests[0].exactly.tolerations: Too many: 17: must have at most 16 items",
    ),
    (
        "capacity request name",
        _set(f"{R}.exactly.capacity", {"requests": {"a/b/c": "1"}}),
        'spec.devices.requests[0].exactly.capacity.requests: Invalid value: "a/b/c": must not contain more than one slash',
    ),
    (
        "capacity request quantity",
        _set(f"{R}.exactly.capacity", {"requests": {"memory": "lots"}}),
        'spec.devices.requests[0].exactly.capacity.requests[memory]: Invalid value: "lots": quantities must match',
    ),
    (
        "33 requests",
        lambda o: o["spec"]["devices"].update(requests=[dict(_req(o), name=f"r{i}") for i in range(33)]),
        "spec.devices.requests: Too many: 33: must have at most 32 items",
    ),
    (
        "duplicate request",
        lambda o: o["spec"]["devices"]["requests"].append(copy.deepcopy(_req(o))),
        'spec.devices.requests[1]: Duplicate value: "req-0"',
    ),
    (
        "9 subrequests",
        lambda o: _req(o).update(
            exactly=None, firstAvailable=[{"name": f"s{i}", "deviceClassName": "c"} for i in range(9)]
        ),
        "spec.devices.requests[0].firstAvailable: Too many: 9: must have at most 8 items",
    ),
    (
        "duplicate subrequest",
        lambda o: _req(o).update(exactly=None, firstAvailable=[{"name": "s", "deviceClassName": "c"}] * 2),
        'spec.devices.requests[0].firstAvailable[1]: Duplicate value: "s"',
    ),
    (
        "subrequest count",
        lambda o: _req(o).update(
            exactly=None,
            firstAvailable=[
                {"name": "s", "deviceClassName": "c", "allocationMode": "ExactCount", "count": -1}
            ],
        ),
        "spec.devices.requests[0].firstAvailable[0].count: Invalid value: -1: must be greater than zero",
    ),
    (
        "constraint unknown request",
        _set("spec.devices.constraints", [{"requests": ["nope"], "matchAttribute": "d.com/a"}]),
        "spec.devices.constraints[0].requests[0]: Invalid value: \"nope\": must be the name of a request in the claim or the name of a request and a subrequest separated by '/'",
    ),
    (
        "constraint unqualified",
        _set("spec.devices.constraints", [{"matchAttribute": "model"}]),
        'spec.devices.constraints[0].matchAttribute: Invalid value: "model": a fully qualified name must be a domain and a name separated by a slash',
    ),
    (
        "constraint empty",
        _set("spec.devices.constraints", [{}]),
        'spec.devices.constraints[0]: Required value: exactly one of "matchAttribute" or "distinctAttribute" is required, but multiple fields are set',
    ),
    (
        "constraint duplicate request ref",
        _set("spec.devices.constraints", [{"requests": ["req-0", "req-0"], "matchAttribute": "d.com/a"}]),
        'spec.devices.constraints[0].requests[1]: Duplicate value: "req-0"',
    ),
    (
        "config without opaque",
        _set("spec.devices.config", [{}]),
        "spec.devices.config[0].opaque: Required value",
    ),
    (
        "config params null",
        _set("spec.devices.config", [{"opaque": {"driver": "d.example.com", "parameters": None}}]),
        "spec.devices.config[0].opaque.parameters: Required value",
    ),
    (
        "config params not object",
        _set("spec.devices.config", [{"opaque": {"driver": "d.example.com", "parameters": [1]}}]),
        'spec.devices.config[0].opaque.parameters: Invalid value: "<value omitted>": must be a valid JSON object',
    ),
    (
        "config params too long",
        _set(
            "spec.devices.config", [{"opaque": {"driver": "d.example.com", "parameters": {"a": "x" * 10240}}}]
        ),
        "spec.devices.config[0].opaque.parameters: Too long: must have at most 10240 bytes",
    ),
    (
        "config driver too long",
        _set("spec.devices.config", [{"opaque": {"driver": "d" * 64, "parameters": {}}}]),
        "spec.devices.config[0].opaque.driver: Too long: must have at most 63 bytes",
    ),
    (
        "config subrequest ref",
        lambda o: (
            _req(o).update(exactly=None, firstAvailable=[{"name": "s", "deviceClassName": "c"}]),
            o["spec"]["devices"].update(
                config=[{"requests": ["req-0/t"], "opaque": {"driver": "d.io", "parameters": {}}}]
            ),
        ),
        'spec.devices.config[0].requests[0]: Invalid value: "req-0/t"',
    ),
    (
        "no name",
        lambda o: o["metadata"].pop("name"),
        "metadata.name: Required value: name or generateName is required",
    ),
    (
        "bad label",
        _set("metadata.labels", {"a b": "x"}),
        'metadata.labels: Invalid value: "a b": name part must consist of',
    ),
]


@pytest.mark.parametrize(("mutate", "expected"), [(m, e) for _, m, e in CASES], ids=[c[0] for c in CASES])
def test_claim_rule(mutate: Callable[[Obj], None], expected: str) -> None:
    obj = claim()
    mutate(obj)
    found = errors(obj)
    assert any(expected in e for e in found), found


def test_subrequest_reference_is_valid() -> None:
    obj = claim()
    _req(obj).update(
        exactly=None,
        firstAvailable=[{"name": "s", "deviceClassName": "c", "allocationMode": "ExactCount", "count": 1}],
    )
    del _req(obj)["exactly"]
    obj["spec"]["devices"]["constraints"] = [
        {"requests": ["req-0/s", "req-0"], "matchAttribute": "d.com/model"}
    ]
    assert errors(obj) == []


def test_constraint_without_type_with_consumable_capacity_off() -> None:
    obj = claim()
    obj["spec"]["devices"]["constraints"] = [{}]
    gates = FeatureGates({"DRAConsumableCapacity": False})
    assert "spec.devices.constraints[0].matchAttribute: Required value" in errors(obj, gates=gates)


def test_admin_access_needs_namespace_label() -> None:
    obj = claim(adminAccess=True)
    assert errors(obj) == []  # namespace unknown: not checked
    assert errors(obj, namespace_labels={"resource.kubernetes.io/admin-access": "true"}) == []
    assert errors(obj, namespace_labels={}) == [
        "spec.devices.requests[0].adminAccess: Forbidden: admin access to devices requires the "
        "`resource.kubernetes.io/admin-access: true` label on the containing namespace"
    ]


def test_claim_spec_is_immutable_but_metadata_may_change() -> None:
    old = claim()
    new = claim(count=2)
    assert errors(new, old=old) == [f"spec: Invalid value: {_json(new['spec'])}: field is immutable"]
    relabelled = claim()
    relabelled["metadata"]["labels"] = {"a": "b"}
    assert errors(relabelled, old=old) == []


def _json(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def test_template_paths_are_prefixed_and_metadata_restricted() -> None:
    inner = claim(count=-2)["spec"]
    template = {
        "apiVersion": "resource.k8s.io/v1",
        "kind": "ResourceClaimTemplate",
        "metadata": {"name": "t"},
        "spec": {"metadata": {"labels": {"a": "b"}, "name": "x"}, "spec": inner},
    }
    assert errors(template) == [
        "spec.metadata.name: Forbidden: cannot be set for a template",
        "spec.spec.devices.requests[0].exactly.count: Invalid value: -2: must be greater than zero",
    ]


def test_cel_compiler_is_injected_and_its_verdict_reported() -> None:
    seen: list[tuple[str, str]] = []

    def compile_cel(expression: str, environment: str) -> str | None:
        seen.append((expression, environment))
        return "compilation failed: ERROR: <input>:1:1: undeclared reference" if expression == "bad" else None

    obj = claim(selectors=[{"cel": {"expression": "bad"}}, {"cel": {"expression": "true"}}])
    assert errors(obj, compile_cel=compile_cel) == [
        'spec.devices.requests[0].exactly.selectors[0].cel.expression: Invalid value: "bad": compilation failed: '
        "ERROR: <input>:1:1: undeclared reference"
    ]
    assert seen == [("bad", "new"), ("true", "new")]


def test_wrong_json_type_is_reported_at_its_path() -> None:
    obj = claim(count="three")
    assert errors(obj) == ["spec.devices.requests[0].exactly.count: Invalid value: expected int, got str"]


def test_non_v1_input_is_refused() -> None:
    obj = claim()
    obj["apiVersion"] = "resource.k8s.io/v1beta1"
    assert "apiVersion" in errors(obj)[0]
