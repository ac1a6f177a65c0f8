"""Every object of the allocator conformance fixtures survives decode -> encode unchanged, and
survives conversion to every older version and back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kubedra.api import codec, versions
from kubedra.api.manifest import parse_yaml
from kubedra.api.resource import AllocationResult, DeviceClass, ResourceClaim, ResourceSlice

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "allocator"
MODELS = {"classes": DeviceClass, "slices": ResourceSlice, "claims": ResourceClaim}


def _objects() -> list[tuple[str, type[Any], dict[str, Any]]]:
    out: list[tuple[str, type[Any], dict[str, Any]]] = []
    for path in sorted(FIXTURES.glob("*.yaml")):
        case = parse_yaml(path.read_text())
        for section, model in MODELS.items():
            for i, obj in enumerate(case.get(section) or []):
                out.append((f"{path.stem}:{section}[{i}]", model, obj))
        for i, result in enumerate((case.get("expect") or {}).get("results") or []):
            if isinstance(result, dict) and result.get("allocation") is not None:
                out.append((f"{path.stem}:expect.results[{i}]", AllocationResult, result["allocation"]))
    return out


OBJECTS = _objects()


def test_fixtures_are_present() -> None:
    assert len(OBJECTS) > 500, "the conformance fixtures were not found next to the checkout"


@pytest.mark.parametrize("model_name", sorted({m.__name__ for _, m, _ in OBJECTS}))
def test_every_fixture_object_round_trips(model_name: str) -> None:
    failures = []
    for label, model, obj in OBJECTS:
        if model.__name__ != model_name:
            continue
        decoded = codec.decode(model, obj)
        if codec.to_dict(decoded) != obj:
            failures.append(label)
        # The JSON byte path gives the same result as the dict path.
        assert codec.to_dict(codec.decode(model, codec.to_json(decoded))) == obj, label
    assert not failures, f"{len(failures)} objects changed in a round trip, e.g. {failures[:5]}"


@pytest.mark.parametrize("target", [versions.V1BETA2, versions.V1BETA1, versions.V1ALPHA3])
def test_every_fixture_object_converts_to_older_versions_and_back(target: str) -> None:
    for label, model, obj in OBJECTS:
        if model is AllocationResult:
            continue
        try:
            older = versions.convert(obj, target)
        except versions.ConversionError as exc:
            # Only v1alpha3 lacks fields (it writes capacity as a bare quantity, no requestPolicy).
            assert target == versions.V1ALPHA3 and "requestPolicy" in exc.path, (label, exc)
            continue
        assert older["apiVersion"] == target
        assert versions.convert(older, versions.V1) == obj, label


def test_round_trip_keeps_explicit_empty_values_distinct_from_absent() -> None:
    text = """
apiVersion: resource.k8s.io/v1
kind: ResourceSlice
metadata: {name: s}
spec:
  driver: d
  pool: {name: p, generation: 2, resourceSliceCount: 1}
  nodeName: ""
  devices:
  - name: a
    attributes: {}
    capacity: {mem: {value: 4}}
"""
    obj = yaml.safe_load(text)
    decoded = codec.decode(ResourceSlice, obj)
    assert decoded.spec.node_name == ""
    # A bare number is accepted where a quantity is expected and written back as it came.
    assert codec.to_dict(decoded)["spec"]["devices"][0]["capacity"]["mem"]["value"] == "4"
    again = codec.to_dict(decoded)
    again["spec"]["devices"][0]["capacity"]["mem"]["value"] = 4
    assert again == obj


def test_unknown_fields_reports_only_undeclared_fields_whatever_their_value():
    from kubedra.api.codec import unknown_fields
    from kubedra.api.resource import ResourceSlice

    manifest = {
        "apiVersion": "resource.k8s.io/v1", "kind": "ResourceSlice", "metadata": {"name": "s"},
        "spec": {"driver": "d", "pool": {"name": "p", "generation": 0, "resourceSliceCount": 0},
                 "nodeName": "n", "typo": 0,
                 "devices": [{"name": "a", "allowMultipleAllocations": False, "colour": "red",
                              "capacity": {"memory": {"value": "1Gi", "extra": False}}}]},
    }
    assert unknown_fields(manifest, ResourceSlice) == [
        "spec.typo", "spec.devices[0].colour", "spec.devices[0].capacity[memory].extra"]
