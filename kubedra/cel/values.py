"""CEL runtime values that Python has no exact equivalent for, and CEL's equality.

Mapping: bool→bool, int→int (checked to int64), uint→UInt, double→float, string→str, bytes→bytes,
null→None, list→list/tuple, map→dict, Kubernetes Quantity/Semver→kubedra.api types, optional→Optional.
"""

from __future__ import annotations

import math
from typing import Any

from kubedra.api.quantity import Quantity
from kubedra.api.semver import Semver
from kubedra.cel.errors import CELError

__all__ = ["NONE", "Optional", "UInt", "cel_equal", "go_type_name", "type_name"]

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
UINT64_MAX = (1 << 64) - 1


class UInt(int):
    """A CEL ``uint`` (distinct from ``int`` at runtime, as in CEL)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"{int(self)}u"


class CELType:
    """A CEL type value (``type(x)``, ``int``)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CELType) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("type", self.name))

    def __repr__(self) -> str:
        return self.name


class Optional:
    """CEL ``optional_type``: ``optional.of(v)`` / ``optional.none()``."""

    __slots__ = ("value",)
    _EMPTY: Any = object()

    def __init__(self, value: Any = _EMPTY) -> None:
        self.value = value

    def has_value(self) -> bool:
        return self.value is not Optional._EMPTY

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Optional):
            return False
        if not self.has_value() or not other.has_value():
            return self.has_value() == other.has_value()
        return cel_equal(self.value, other.value)

    __hash__ = None  # type: ignore[assignment]


NONE = Optional()


def type_name(v: Any) -> str:
    """The CEL type name of a runtime value (used in ``no such overload`` messages)."""
    t = type(v)
    if t is bool:
        return "bool"
    if t is int:
        return "int"
    if t is UInt:
        return "uint"
    if t is float:
        return "double"
    if t is str:
        return "string"
    if t is bytes:
        return "bytes"
    if v is None:
        return "null_type"
    if t is list or t is tuple:
        return "list"
    if t is dict or isinstance(v, dict):
        return "map"
    if t is Quantity:
        return "kubernetes.Quantity"
    if t is Semver:
        return "kubernetes.Semver"
    if t is Optional:
        return "optional_type"
    if t is CELType:
        return "type"
    return t.__name__


_GO_NAMES = {
    "bool": "types.Bool",
    "int": "types.Int",
    "uint": "types.Uint",
    "double": "types.Double",
    "string": "types.String",
    "bytes": "types.Bytes",
    "null_type": "types.Null",
    "kubernetes.Quantity": "cel.Quantity",
    "kubernetes.Semver": "cel.Semver",
    "optional_type": "*types.Optional",
    "type": "*types.Type",
}


def go_type_name(v: Any) -> str:
    """The Go type name cel-go prints in runtime errors (``got 'types.Int', expected iterable type``)."""
    n = type_name(v)
    return _GO_NAMES.get(n, n)


def _num(v: Any) -> bool:
    t = type(v)
    return t is int or t is float or t is UInt


def cel_equal(a: Any, b: Any) -> bool:
    """CEL ``==``: numbers compare across int/uint/double, other kinds must match (else false).

    Kubernetes' Quantity and Semver refuse comparison with any other type (an error, not false).
    """
    ta, tb = type(a), type(b)
    if ta is tb and ta is not list and ta is not tuple and ta is not dict and ta is not float:
        return bool(a == b)
    if ta is Quantity or ta is Semver or tb is Quantity or tb is Semver:
        raise CELError(f"no such overload: {type_name(a)} == {type_name(b)}")
    if _num(a) and _num(b):
        if ta is float or tb is float:
            fa, fb = float(a), float(b)
            if math.isnan(fa) or math.isnan(fb):
                return False
            if ta is float and tb is float:
                return fa == fb
            # Exact mixed comparison: an int is not rounded to a double first.
            x, y = (a, b) if ta is float else (b, a)
            if math.isinf(x):
                return False
            return bool(int(x) == y and x == int(x))
        return int(a) == int(b)
    if (ta is list or ta is tuple) and (tb is list or tb is tuple):
        if len(a) != len(b):
            return False
        return all(cel_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        if len(a) != len(b):
            return False
        for k, v in a.items():
            found = _lookup(b, k)
            if found is _MISSING or not cel_equal(v, found):
                return False
        return True
    return False


_MISSING: Any = object()


def _lookup(m: dict[Any, Any], k: Any) -> Any:
    """Map lookup with CEL's numeric key equivalence (1, 1u and 1.0 are one key)."""
    tk = type(k)
    if tk is bool:
        for key, v in m.items():
            if type(key) is bool and key == k:
                return v
        return _MISSING
    if tk is int or tk is UInt or tk is float:
        if tk is float and k != int(k) if math.isfinite(k) else True:
            return _MISSING
        ik = int(k)
        for key, v in m.items():
            tkey = type(key)
            if (tkey is int or tkey is UInt) and key == ik:
                return v
        return _MISSING
    v = m.get(k, _MISSING)
    return v
