"""Selector semantics: domains, errors vs false, environments, cost limits, deadlines, cache."""

from __future__ import annotations

import time

import pytest

from kubedra.cel import CELDevice, CELError, CELFeatures, CompileError, compile_selector

LIST = CELFeatures(list_type_attributes=True)


def gpu(**attrs: object) -> CELDevice:
    return CELDevice(
        "gpu.example.com",
        {k: v for k, v in attrs.items()},  # type: ignore[misc]
        {"memory": {"value": "80Gi"}, "example.com/slots": {"value": "4"}},
    )


def match(expr: str, dev: CELDevice, features: CELFeatures | None = None, env: str = "stored") -> bool:
    return compile_selector(expr, environment=env, features=features).matches(dev)


def test_typical_selector() -> None:
    expr = (
        'device.driver == "gpu.example.com" && device.attributes["gpu.example.com"].model.startsWith("H")'
        ' && device.capacity["gpu.example.com"].memory.compareTo(quantity("40Gi")) >= 0'
    )
    assert match(expr, gpu(model={"string": "H100"}))
    assert not match(expr, gpu(model={"string": "A100"}))


def test_domains() -> None:
    d = gpu(model={"string": "H100"}, **{"other.io/x": {"int": 3}})
    assert match('device.attributes["other.io"].x == 3', d)
    assert match('device.capacity["example.com"].slots == quantity("4")', d)
    assert match('!("model" in device.attributes["nope.io"])', d)  # unknown domain: empty map
    assert match('"other.io" in device.attributes && !("nope.io" in device.attributes)', d)
    with pytest.raises(CELError, match="no such key: missing"):
        match('device.attributes["gpu.example.com"].missing == "x"', d)


def test_errors_are_not_false() -> None:
    d = gpu(model={"string": "H100"})
    with pytest.raises(CELError, match="no such key"):
        match('device.attributes["gpu.example.com"].nope', d)
    # ... but CEL's logical operators may absorb them, exactly like upstream.
    assert match('device.attributes["gpu.example.com"].nope || true', d)
    assert not match('false && device.attributes["gpu.example.com"].nope', d)
    with pytest.raises(CELError):
        match('device.attributes["gpu.example.com"].nope && true', d)


def test_semver_equality_with_string_is_an_error() -> None:
    d = gpu(driverVersion={"version": "1.2.3"})
    assert match('device.attributes["gpu.example.com"].driverVersion == semver("1.2.3")', d)
    with pytest.raises(CELError):
        match('device.attributes["gpu.example.com"].driverVersion == "1.2.3"', d)


def test_bad_attribute_fails_every_selector() -> None:
    d = gpu(v={"version": "01.0.0"})
    with pytest.raises(CELError, match="attribute v: parse semantic version: "):
        match("true", d)


def test_list_attributes_depend_on_the_feature() -> None:
    d = gpu(names={"strings": ["a", "b"]})
    with pytest.raises(CELError, match="attribute names: unsupported attribute value"):
        match("true", d)
    assert match('device.attributes["gpu.example.com"].names.includes("b")', d, LIST, env="new")
    long = gpu(names={"ints": list(range(49))})
    with pytest.raises(CELError, match="lists longer than 48 values"):
        match('device.attributes["gpu.example.com"].names.includes(1)', long, LIST, env="new")


def test_environments() -> None:
    with pytest.raises(CompileError, match="undefined field 'allowMultipleAllocations'"):
        compile_selector("device.allowMultipleAllocations", environment="new")
    compile_selector("device.allowMultipleAllocations", environment="stored")
    compile_selector("device.allowMultipleAllocations", features=CELFeatures(consumable_capacity=True))
    with pytest.raises(CompileError, match="undeclared reference to 'includes'"):
        compile_selector('device.attributes["a"].b.includes(1)', environment="new")


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("?!", "Syntax error"),
        ("1", "must evaluate to bool or the unknown type, not int"),
        ('device.driver + "x"', "not string"),
        ("nope == 1", "undeclared reference to 'nope'"),
        ('device.driver > 1', "found no matching overload for '_>_'"),
        ("[1, 'a'].size() > 0", "expected type 'int' but found 'string'"),
    ],
)
def test_compile_errors(expr: str, message: str) -> None:
    with pytest.raises(CompileError) as err:
        compile_selector(expr, environment="stored")
    assert message in err.value.message


def test_cost_limits() -> None:
    nested = "[1,2,3,4,5,6,7,8,9,10]"
    expr = f"{nested}.all(a, {nested}.all(b, {nested}.all(c, {nested}.all(d, {nested}.all(e, {nested}.all(f, a < 100))))))"
    with pytest.raises(CompileError) as err:
        compile_selector(expr, environment="new")
    assert err.value.reason == "Forbidden" and "exceeds cost limit" in err.value.message
    sel = compile_selector(expr, environment="stored")
    assert sel.estimated_cost > 1_000_000
    with pytest.raises(CELError, match="actual cost limit exceeded"):
        sel.matches(gpu())


def _many_ints() -> CELDevice:
    return CELDevice("dra.example.com", {f"a{i}": {"int": i} for i in range(1000)})


INTERRUPTIBLE = (
    'device.attributes["dra.example.com"].map(k, device.attributes["dra.example.com"][k])'
    ".filter(v, v >= 0).exists(v, v == -1)"
)


def test_expired_deadline_interrupts() -> None:
    sel = compile_selector(INTERRUPTIBLE, environment="stored")
    dev = _many_ints()
    assert sel.matches(dev) is False  # completes without a deadline
    with pytest.raises(CELError, match="operation interrupted"):
        sel.matches(dev, deadline=time.monotonic() - 1)


def test_cache_reuses_compiled_selectors_and_not_failures() -> None:
    a = compile_selector('device.driver == "x"', environment="stored")
    assert compile_selector('device.driver == "x"', environment="stored") is a
    assert compile_selector('device.driver == "x"', environment="new") is not a
    assert compile_selector('device.driver == "x"', environment="stored", features=LIST) is not a


def test_from_api_model() -> None:
    resource = pytest.importorskip("kubedra.api.resource")
    dev = resource.Device(
        name="gpu-0",
        attributes={"model": resource.DeviceAttribute(string="H100")},
        capacity={"memory": resource.DeviceCapacity(value="80Gi")},
    )
    cel_dev = CELDevice.from_api("gpu.example.com", dev)
    assert match('device.capacity["gpu.example.com"].memory.isGreaterThan(quantity("40Gi"))', cel_dev)
    assert match('device.attributes["gpu.example.com"].model == "H100"', cel_dev)
