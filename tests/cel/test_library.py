"""The Kubernetes and extension libraries of the DRA CEL environment."""

from __future__ import annotations

import pytest

from kubedra.api.semver import Semver, SemverError
from kubedra.cel import CELDevice, CELError, compile_selector

DEV = CELDevice("d.io", {"s": {"string": "some_example_value"}, "n": {"int": 7}, "v": {"version": "1.2.3"}},
                {"mem": {"value": "1536Mi"}})  # fmt: skip


def ev(expr: str) -> bool:
    return compile_selector(expr, environment="stored").matches(DEV)


@pytest.mark.parametrize(
    "expr",
    [
        # quantity
        'quantity("1.5Gi") == quantity("1536Mi")',
        'device.capacity["d.io"].mem.isLessThan(quantity("2Gi"))',
        'quantity("1k").asInteger() == 1000 && quantity("1k").isInteger() && !quantity("1500m").isInteger()',
        'quantity("1Gi").add(quantity("1Gi")) == quantity("2Gi") && quantity("2").sub(1) == quantity("1")',
        'quantity("-3").sign() == -1 && isQuantity("10Mi") && !isQuantity("10 MiB")',
        'quantity("1.5").asApproximateFloat() == 1.5',
        # semver
        'device.attributes["d.io"].v.isGreaterThan(semver("1.2.0")) && device.attributes["d.io"].v.major() == 1',
        'semver("v580.159.04", true) == semver("580.159.4") && isSemver("v1", true) && !isSemver("v1")',
        'semver("1.0.0-alpha").isLessThan(semver("1.0.0")) && semver("1.0.0").compareTo(semver("1.0.0")) == 0',
        # regex, strings
        'device.attributes["d.io"].s.find("[a-z]+") == "some" && "a1b22".findAll("[0-9]+") == ["1", "22"]',
        '"a1b22c333".findAll("[0-9]+", 2) == ["1", "22"]',
        'device.attributes["d.io"].s.split("_").size() == 3 && "A,b".lowerAscii() == "a,b"',
        '"hello".charAt(1) == "e" && "hello".indexOf("l") == 2 && "hello".lastIndexOf("l") == 3',
        '"hello".substring(1, 3) == "el" && " x ".trim() == "x" && "aaa".replace("a", "b", 2) == "bba"',
        '["a", "b"].join("-") == "a-b" && strings.quote("a\\"b") == "\\"a\\\\\\"b\\""',
        # lists (Kubernetes library and ext.Lists)
        "[1, 2, 3].isSorted() && [1, 2, 3].sum() == 6 && [3, 1].min() == 1 && [3, 1].max() == 3",
        "[1, 2, 1].indexOf(1) == 0 && [1, 2, 1].lastIndexOf(1) == 2",
        "[1, 2, 3, 4].slice(1, 3) == [2, 3] && [[1], [2, 3]].flatten() == [1, 2, 3]",
        "lists.range(3) == [0, 1, 2] && [1, 1, 2].distinct() == [1, 2] && [3, 1, 2].sort() == [1, 2, 3]",
        "[1, 2].reverse() == [2, 1]",
        # sets
        "sets.contains([1, 2, 3], [2]) && sets.equivalent([1, 2], [2, 1]) && sets.intersects([1], [1, 5])",
        # bind, optional, comprehensions
        'cel.bind(a, device.attributes["d.io"], a.n == 7 && a.s.startsWith("some"))',
        'device.attributes["d.io"].?nope.orValue(3) == 3 && device.attributes["d.io"].?n.value() == 7',
        "optional.of(1).hasValue() && !optional.none().hasValue() && {'a': 1}[?'b'].orValue(2) == 2",
        "[1, 2, 3].all(i, v, v > i) && {'a': 1}.exists(k, v, k == 'a' && v == 1)",
        "[1, 2, 3].existsOne(i, v, v == 2) && [1, 2].transformList(i, v, v * 2) == [2, 4]",
        "{'a': 1}.transformMap(k, v, v + 1) == {'a': 2}",
        "[1, 2, 3].map(x, x * 2).filter(x, x > 2) == [4, 6] && [1, 2].exists_one(x, x == 1)",
        "device.attributes.exists_one(d, d == 'd.io') && has(device.attributes.nope) == false",
        # numbers
        "dyn(1) == 1.0 && dyn(1u) == 1 && 2 > 1.5 && -7 / 2 == -3 && -7 % 2 == -1 && int('12') == 12",
        "string(1.5) == '1.5' && double(2) == 2.0 && uint(3) == 3u && 'x' + 'y' == 'xy'",
    ],
)
def test_true_expressions(expr: str) -> None:
    assert ev(expr) is True


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ('quantity("1 Gi") == quantity("1Gi")', "quantities must match the regular expression"),
        ('semver("01.0.0") == semver("1.0.0")', "leading zeroes"),
        ("9223372036854775807 + 1 > 0", "integer overflow"),
        ("1 / 0 == 1", "division by zero"),
        ('quantity("1Ei").asInteger() > 0', "cannot convert value to integer"),
        ('device.attributes["d.io"].n.exists(x, x > 0)', "expected iterable type"),
    ],
)
def test_runtime_errors(expr: str, message: str) -> None:
    with pytest.raises(CELError) as err:
        compile_selector(expr, environment="stored",
                         features=None if "exists" not in expr else __import__("kubedra.cel").cel.CELFeatures(
                             list_type_attributes=True)).matches(DEV)  # fmt: skip
    assert message in err.value.message


def test_semver_parse_and_order() -> None:
    assert Semver.parse("1.0.0-alpha.1") < Semver.parse("1.0.0-alpha.beta") < Semver.parse("1.0.0")
    assert Semver.parse("1.0.0+build") == Semver.parse("1.0.0")
    assert str(Semver.parse_normalized("v1.02")) == "1.2.0"
    for bad in ("", "1.0", "1.0.0-", "a.b.c", "1.0.0-01"):
        with pytest.raises(SemverError):
            Semver.parse(bad)
