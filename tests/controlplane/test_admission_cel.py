"""Admission compiles every CEL selector: errors come back as kube-apiserver's 422 on the field path."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubedra.api.features import FeatureGates
from kubedra.cli.binaries import kubectl_path
from kubedra.controlplane.apiserver import errors
from kubedra.controlplane.apiserver.registry import Registry
from kubedra.controlplane.apiserver.resources import by_name, index_fields
from kubedra.controlplane.store import Store
from tests.controlplane.test_apiserver_http import raw

# The "expensive" scenario of ../shared/conformance/cel: seven nested all() over ten-element lists.
_TEN = "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]"
EXPENSIVE = "".join(f"{_TEN}.all({v}, " for v in ("x", "y", "z", "z2", "z3", "z4", "z5")) + \
    "int('1'.find('[0-9]*')) < 100" + ")" * 7
CLAIMS = "/apis/resource.k8s.io/v1/namespaces/default/resourceclaims"


def claim(name: str, expression: str) -> dict[str, Any]:
    return {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim", "metadata": {"name": name},
            "spec": {"devices": {"requests": [{"name": "gpu", "exactly": {
                "deviceClassName": "gpu.example.com", "selectors": [{"cel": {"expression": expression}}]}}]}}}


def device_class(name: str, *expressions: str) -> dict[str, Any]:
    return {"apiVersion": "resource.k8s.io/v1", "kind": "DeviceClass", "metadata": {"name": name},
            "spec": {"selectors": [{"cel": {"expression": e}} for e in expressions]}}


def causes(status: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(c["reason"], c["field"], c["message"]) for c in status["details"]["causes"]]


def test_compile_error_is_422_on_the_field_path(apiserver: Any) -> None:
    status, _, body = raw(apiserver, "POST", CLAIMS, claim("bad", "device.driver == "))
    assert status == 422
    st = yaml.safe_load(body)
    [(reason, field, message)] = causes(st)
    assert (reason, field) == ("FieldValueInvalid", "spec.devices.requests[0].exactly.selectors[0].cel.expression")
    assert message.startswith('Invalid value: "device.driver == ": compilation failed: ERROR: <input>:1:18: '
                              "Syntax error:"), message
    assert st["message"].startswith('ResourceClaim.resource.k8s.io "bad" is invalid: '
                                    "spec.devices.requests[0].exactly.selectors[0].cel.expression: Invalid value:")


def test_too_expensive_is_forbidden(apiserver: Any) -> None:
    status, _, body = raw(apiserver, "POST", CLAIMS, claim("costly", EXPENSIVE))
    assert status == 422
    assert causes(yaml.safe_load(body)) == [
        ("FieldValueForbidden", "spec.devices.requests[0].exactly.selectors[0].cel.expression",
         "Forbidden: too complex, exceeds cost limit")]


def test_subrequests_templates_and_classes_are_compiled(apiserver: Any) -> None:
    sub = claim("sub", "true")
    sub["spec"]["devices"]["requests"] = [{"name": "gpu", "firstAvailable": [
        {"name": "big", "deviceClassName": "gpu.example.com", "selectors": [{"cel": {"expression": "true"}}]},
        {"name": "small", "deviceClassName": "gpu.example.com",
         "selectors": [{"cel": {"expression": "device.driver"}}]}]}]
    status, _, body = raw(apiserver, "POST", CLAIMS, sub)
    assert status == 422
    assert causes(yaml.safe_load(body)) == [(
        "FieldValueInvalid", "spec.devices.requests[0].firstAvailable[1].selectors[0].cel.expression",
        'Invalid value: "device.driver": must evaluate to bool or the unknown type, not string')]

    template = {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaimTemplate", "metadata": {"name": "t"},
                "spec": {"spec": claim("x", "undeclared.foo")["spec"]}}
    status, _, body = raw(apiserver, "POST", "/apis/resource.k8s.io/v1/namespaces/default/resourceclaimtemplates",
                          template)
    assert status == 422
    [(_, field, message)] = causes(yaml.safe_load(body))
    assert field == "spec.spec.devices.requests[0].exactly.selectors[0].cel.expression"
    assert "undeclared reference to 'undeclared'" in message

    status, _, body = raw(apiserver, "POST", "/apis/resource.k8s.io/v1/deviceclasses",
                          device_class("c", 'device.driver == "a"', EXPENSIVE))
    assert status == 422
    assert causes(yaml.safe_load(body)) == [
        ("FieldValueForbidden", "spec.selectors[1].cel.expression", "Forbidden: too complex, exceeds cost limit")]

    # A valid one is stored as sent.
    status, _, _ = raw(apiserver, "POST", CLAIMS, claim("good", 'device.attributes["gpu.example.com"].model == "a"'))
    assert status == 201


def test_unchanged_expressions_are_not_recompiled_on_update() -> None:
    """Ratcheting: a class stored before the cost limit existed stays editable; a changed selector is checked."""
    registry = Registry(Store(None, indexer=index_fields))
    classes = by_name("deviceclasses")
    stored = device_class("legacy", EXPENSIVE)
    stored["metadata"].update(uid="u", generation=1)
    registry.store.create(("deviceclasses.resource.k8s.io", "", "legacy"), stored)

    relabelled = registry.get(classes, None, "legacy").decode()
    relabelled["metadata"]["labels"] = {"team": "a"}
    assert registry.update(classes, None, "legacy", relabelled).decode()["metadata"]["labels"] == {"team": "a"}

    changed = registry.get(classes, None, "legacy").decode()
    changed["spec"]["selectors"].append({"cel": {"expression": EXPENSIVE + " && true"}})
    with pytest.raises(errors.APIError) as err:
        registry.update(classes, None, "legacy", changed)
    assert err.value.code == 422
    # Like kube-apiserver, any change to the list makes every selector in it "new" again.
    assert [c["field"] for c in err.value.status()["details"]["causes"]] == [
        "spec.selectors[0].cel.expression", "spec.selectors[1].cel.expression"]


def test_feature_gates_shape_the_cel_environment() -> None:
    """``allowMultipleAllocations`` is only declared with DRAConsumableCapacity."""
    expression = "device.allowMultipleAllocations"
    on = Registry(Store(None, indexer=index_fields))
    off = Registry(Store(None, indexer=index_fields), FeatureGates({"DRAConsumableCapacity": False}))
    classes = by_name("deviceclasses")
    on.create(classes, None, device_class("multi", expression))
    with pytest.raises(errors.APIError) as err:
        off.create(classes, None, device_class("multi", expression))
    assert "undefined field 'allowMultipleAllocations'" in err.value.message


@pytest.mark.slow
def test_kubectl_prints_the_compile_error(apiserver: Any, tmp_path: Path) -> None:
    manifest = tmp_path / "claim.yaml"
    manifest.write_text(yaml.safe_dump(claim("bad", EXPENSIVE)))
    proc = subprocess.run([str(kubectl_path()), f"--kubeconfig={apiserver.kubeconfig}",
                           f"--cache-dir={tmp_path / 'cache'}", "apply", "-n", "default", "-f", str(manifest)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 1
    assert ('The ResourceClaim "bad" is invalid: spec.devices.requests[0].exactly.selectors[0].cel.expression: '
            "Forbidden: too complex, exceeds cost limit") in proc.stderr, proc.stderr
