"""Field errors, name formats, feature gates, defaulting, legacy kinds and manifest loading."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubedra.api import errors, names
from kubedra.api.defaults import apply_defaults
from kubedra.api.features import KNOWN_GATES, FeatureGateError, FeatureGates
from kubedra.api.legacy import check_legacy
from kubedra.api.manifest import load_path, load_text


def test_error_texts_match_apimachinery() -> None:
    p = errors.Path("spec", "devices").child("requests").index(0).child("exactly", "count")
    assert str(errors.invalid(p, 0, "must be greater than zero")) == (
        "spec.devices.requests[0].exactly.count: Invalid value: 0: must be greater than zero"
    )
    assert str(errors.required("spec.x")) == "spec.x: Required value"
    assert str(errors.required("spec.x", "why")) == "spec.x: Required value: why"
    assert str(errors.forbidden("a", "no")) == "a: Forbidden: no"
    assert str(errors.too_long("a", 63)) == "a: Too long: must have at most 63 bytes"
    assert str(errors.too_many("a", 33, 32)) == "a: Too many: 33: must have at most 32 items"
    assert str(errors.duplicate("a[1]", "x")) == 'a[1]: Duplicate value: "x"'
    assert (
        str(errors.not_supported("m", "X", ["A", "B"]))
        == 'm: Unsupported value: "X": supported values: "A", "B"'
    )
    assert str(errors.invalid("b", True, "d")) == "b: Invalid value: true: d"
    assert str(errors.invalid("n", None, "d")) == "n: Invalid value: null: d"
    assert errors.invalid("x", 1, "d").to_cause() == {
        "reason": "FieldValueInvalid",
        "message": "Invalid value: 1: d",
        "field": "x",
    }
    assert errors.aggregate([errors.required("a"), errors.required("a"), errors.required("b")]) == (
        "[a: Required value, b: Required value]"
    )
    assert str(errors.Path("m").key("k")) == "m[k]"


@pytest.mark.parametrize(
    ("value", "problems"),
    [
        ("my-name", []),
        ("a.b", ["must not contain dots"]),
        (
            "A",
            [
                "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
            ],
        ),
        ("a" * 64, ["must be no more than 63 characters"]),
    ],
)
def test_dns_label(value: str, problems: list[str]) -> None:
    assert names.is_dns1123_label(value) == problems


def test_other_name_formats() -> None:
    assert names.is_dns1123_subdomain("gpu.example.com") == []
    assert names.is_dns1123_subdomain("x" * 254)[0] == "must be no more than 253 characters"
    assert names.is_qualified_name("example.com/My_name") == []
    assert names.is_qualified_name("/a") == ["prefix part must be non-empty"]
    assert names.is_qualified_name("a/b/c")[0].startswith("a qualified name must consist of")
    assert names.is_valid_label_value("") == []
    assert names.is_valid_label_value("-x")[0].startswith("a valid label must be an empty string")
    assert names.is_c_identifier("_ok9") == []
    assert names.is_c_identifier("9no") != []
    assert names.is_extended_resource_name("example.com/gpu")
    assert not names.is_extended_resource_name("gpu")
    assert not names.is_extended_resource_name("kubernetes.io/gpu")
    assert names.name_is_dns_subdomain("claim-", prefix=True) == []


def test_feature_gates() -> None:
    gates = FeatureGates()
    assert gates.enabled("DRAConsumableCapacity") and not gates.enabled("DRAListTypeAttributes")
    parsed = FeatureGates.parse("DRAListTypeAttributes=true, DRADeviceTaints=false")
    assert parsed.enabled("DRAListTypeAttributes") and not parsed.enabled("DRADeviceTaints")
    assert parsed.overrides() == {"DRAListTypeAttributes": True, "DRADeviceTaints": False}
    with pytest.raises(FeatureGateError, match="unrecognized feature gate: Nope"):
        FeatureGates.parse("Nope=true")
    with pytest.raises(FeatureGateError, match="locked to true"):
        FeatureGates.parse("DRAAdminAccess=false")
    with pytest.raises(FeatureGateError, match="invalid value"):
        FeatureGates.parse("DRADeviceTaints=maybe")
    with pytest.raises(FeatureGateError, match="missing bool value"):
        FeatureGates.parse("DRADeviceTaints")
    assert FeatureGates.parse("DRAAdminAccess=true") == gates


def test_defaulting_follows_v1_rules_and_copies() -> None:
    claim = {
        "kind": "ResourceClaim",
        "spec": {
            "devices": {
                "requests": [
                    {"name": "a", "exactly": {"deviceClassName": "c", "tolerations": [{"key": "k"}]}},
                    {"name": "b", "exactly": {"deviceClassName": "c", "allocationMode": "All"}},
                    {"name": "c", "firstAvailable": [{"name": "s", "deviceClassName": "c", "count": 3}]},
                ]
            }
        },
    }
    out = apply_defaults(claim)
    reqs = out["spec"]["devices"]["requests"]
    assert reqs[0]["exactly"] == {
        "deviceClassName": "c",
        "tolerations": [{"key": "k", "operator": "Equal"}],
        "allocationMode": "ExactCount",
        "count": 1,
    }
    assert reqs[1]["exactly"] == {"deviceClassName": "c", "allocationMode": "All"}
    assert (
        reqs[2]["firstAvailable"][0]["count"] == 3
        and reqs[2]["firstAvailable"][0]["allocationMode"] == "ExactCount"
    )
    assert "allocationMode" not in claim["spec"]["devices"]["requests"][0]["exactly"]  # input untouched
    slice_ = {
        "kind": "ResourceSlice",
        "spec": {
            "devices": [
                {
                    "name": "d",
                    "taints": [{"key": "k", "effect": "None"}],
                    "nodeAllocatableResourceMappings": {"cpu": {}},
                }
            ]
        },
    }
    device = apply_defaults(slice_, now=lambda: "2025-01-01T00:00:00Z")["spec"]["devices"][0]
    assert device["taints"][0]["timeAdded"] == "2025-01-01T00:00:00Z"
    assert device["nodeAllocatableResourceMappings"]["cpu"]["allocationMultiplier"] == "1"


def test_legacy_kinds_get_a_migration_hint() -> None:
    hint = check_legacy({"apiVersion": "resource.k8s.io/v1alpha2", "kind": "ResourceClass"})
    assert hint is not None and "DeviceClass" in hint and "removed in Kubernetes 1.31" in hint
    assert "nothing replaces" in str(
        check_legacy({"apiVersion": "resource.k8s.io/v1alpha3", "kind": "PodSchedulingContext"})
    )
    assert "opaque.parameters" in str(
        check_legacy({"apiVersion": "resource.k8s.io/v1alpha2", "kind": "ResourceClaimParameters"})
    )
    assert check_legacy({"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim"}) is None


def test_manifest_loading_reports_lines_and_keeps_timestamps_as_strings(tmp_path: Path) -> None:
    text = "a: 1\nkind: X\n---\n# comment\nkind: Y\nmetadata:\n  creationTimestamp: 2025-11-06T07:54:29Z\n---\nkind: [\n---\nkind: List\nitems: [{kind: A}, {kind: B}]\n"
    docs = load_text(text, "f.yaml")
    assert [(d.line, (d.obj or {}).get("kind"), d.error is not None) for d in docs] == [
        (1, "X", False),
        (5, "Y", False),
        (10, None, True),
        (11, "A", False),
        (11, "B", False),
    ]
    assert docs[1].obj is not None and docs[1].obj["metadata"]["creationTimestamp"] == "2025-11-06T07:54:29Z"
    assert docs[2].location == "f.yaml:10" and str(docs[2].error).startswith("malformed YAML")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.json").write_text('{"kind": "Z",\n "x": }')
    (tmp_path / "b.yml").write_text("kind: B\n")
    (tmp_path / "ignored.txt").write_text("kind: T\n")
    loaded = load_path(tmp_path)
    assert [(Path(d.source).name, d.error is None) for d in loaded] == [("b.yml", True), ("a.json", False)]
    assert loaded[1].line == 2


def test_feature_gates_disabled_set_follows_the_states() -> None:
    defaults = FeatureGates()
    assert defaults.disabled() == {n for n in KNOWN_GATES if not defaults.enabled(n)}
    off = next(n for n in KNOWN_GATES if defaults.enabled(n) and not KNOWN_GATES[n].locked)
    changed = defaults.with_overrides(**{off: False})
    assert off in changed.disabled() and off not in defaults.disabled()
