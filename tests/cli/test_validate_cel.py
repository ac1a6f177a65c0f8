"""`kubedra validate` compiles CEL selectors as the API server does on create (issue 2 item 6, issue 3)."""

from __future__ import annotations

import io
from importlib import resources
from pathlib import Path

from kubedra.api.features import FeatureGates
from kubedra.cli.main import main
from kubedra.cli.validate import run

ATTRS = 'device.attributes["gpu.example.com"]'
# Four nested loops over a map of unknown size: estimated cost above 1,000,000.
TOO_COSTLY = f"{ATTRS}.all(a, {ATTRS}.all(b, {ATTRS}.all(c, {ATTRS}.all(d, a == d))))"


def _claim(expressions: list[str]) -> str:
    selectors = "".join(f"        - cel:\n            expression: '{e}'\n" for e in expressions)
    return f"""\
apiVersion: resource.k8s.io/v1
kind: ResourceClaim
metadata:
  name: gpu
  namespace: dra-tutorial
spec:
  devices:
    requests:
    - name: gpu
      exactly:
        deviceClassName: gpu.example.com
        selectors:
{selectors}"""


def _class(expression: str) -> str:
    return f"""\
apiVersion: resource.k8s.io/v1
kind: DeviceClass
metadata:
  name: gpu.example.com
spec:
  selectors:
  - cel:
      expression: '{expression}'
"""


def _validate(text: str, gates: FeatureGates | None = None) -> tuple[int, list[str]]:
    out = io.StringIO()
    status = run(["-"], out, stdin=io.StringIO(text), gates=gates)
    return status, out.getvalue().splitlines()


def test_compile_errors_land_on_the_selector_field_path() -> None:
    status, lines = _validate(
        _claim(['device.driver == "gpu.example.com"', "device.driver > 1", "device.driver"])
    )
    assert status == 1
    assert lines[0] == "ResourceClaim dra-tutorial/gpu: invalid [<stdin>:1]"
    # Selector #0 compiles: no line for it.
    assert not any("selectors[0]" in line for line in lines)
    assert lines[1].startswith(
        "  spec.devices.requests[0].exactly.selectors[1].cel.expression: Invalid value: "
        '"device.driver > 1": compilation failed: '
    )
    assert "found no matching overload for '_>_'" in lines[1]
    assert lines[2] == (
        '  spec.devices.requests[0].exactly.selectors[2].cel.expression: Invalid value: "device.driver": '
        "must evaluate to bool or the unknown type, not string"
    )


def test_expression_over_the_cost_limit_is_forbidden() -> None:
    status, lines = _validate(_class(TOO_COSTLY))
    assert status == 1
    assert lines == [
        "DeviceClass gpu.example.com: invalid [<stdin>:1]",
        "  spec.selectors[0].cel.expression: Forbidden: too complex, exceeds cost limit",
    ]
    # One loop fewer stays under the limit.
    cheaper = f"{ATTRS}.all(a, {ATTRS}.all(b, {ATTRS}.all(c, a == c)))"
    assert _validate(_class(cheaper)) == (0, ["DeviceClass gpu.example.com: valid"])


def test_unknown_identifiers_and_gated_functions() -> None:
    status, lines = _validate(_claim(["devices.driver == 1"]))
    assert status == 1 and "undeclared reference to 'devices'" in lines[1]
    # `includes` (list-type attributes) exists only when the alpha gate DRAListTypeAttributes is on.
    listy = f'{ATTRS}.model.includes("x")'
    off, off_lines = _validate(_claim([listy]))
    assert off == 1 and "undeclared reference to 'includes'" in off_lines[1]
    assert _validate(_claim([listy]), FeatureGates({"DRAListTypeAttributes": True}))[0] == 0


def test_seed_tutorial_manifests_stay_valid(capsys: object) -> None:
    """Every manifest the tutorial applies (CEL included) is valid; the command line path too."""
    manifests = Path(str(resources.files("kubedra.cli.tutorial") / "manifests"))
    assert main(["validate", str(manifests)]) == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "ResourceClaim dra-tutorial/example-resource-claim: valid" in out
    assert "DeviceClass gpu.example.com: valid" in out
    assert "invalid" not in out
