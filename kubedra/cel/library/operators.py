"""CEL's standard operators: arithmetic, comparison, indexing, ``in`` and map insertion.

Written out because CEL's semantics differ from Python's in the places that matter for selectors:
int64 overflow is an error, integer division truncates toward zero, and numbers of different types
compare exactly (an int is never rounded to a double first).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from kubedra.cel import types as T
from kubedra.cel.errors import CELError
from kubedra.cel.library.registry import checked_int, checked_uint, no_such_overload, register
from kubedra.cel.values import _MISSING as MISSING
from kubedra.cel.values import NONE, Optional, UInt, cel_equal
from kubedra.cel.values import _lookup as map_lookup

__all__ = ["compare_numbers", "in_list"]


def _truncdiv(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _nonzero(b: int, what: str) -> None:
    if b == 0:
        raise CELError(f"{what} by zero")


def _div_int(a: int, b: int) -> int:
    _nonzero(b, "division")
    return checked_int(_truncdiv(a, b))


def _mod_int(a: int, b: int) -> int:
    _nonzero(b, "modulus")
    return checked_int(a - b * _truncdiv(a, b))


def _div_uint(a: int, b: int) -> UInt:
    _nonzero(b, "division")
    return UInt(a // b)


def _mod_uint(a: int, b: int) -> UInt:
    _nonzero(b, "modulus")
    return UInt(a % b)


def _div_double(a: float, b: float) -> float:
    try:
        return a / b
    except ZeroDivisionError:
        if a == 0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)


for _t, _w in ((T.INT, checked_int), (T.UINT, checked_uint)):
    register(f"add_{_t}", "_+_", (_t, _t), _t, lambda a, b, w=_w: w(a + b))
    register(f"subtract_{_t}", "_-_", (_t, _t), _t, lambda a, b, w=_w: w(a - b))
    register(f"multiply_{_t}", "_*_", (_t, _t), _t, lambda a, b, w=_w: w(a * b))
register("divide_int64", "_/_", (T.INT, T.INT), T.INT, _div_int)
register("modulo_int64", "_%_", (T.INT, T.INT), T.INT, _mod_int)
register("divide_uint64", "_/_", (T.UINT, T.UINT), T.UINT, _div_uint)
register("modulo_uint64", "_%_", (T.UINT, T.UINT), T.UINT, _mod_uint)
register("add_double", "_+_", (T.DOUBLE, T.DOUBLE), T.DOUBLE, lambda a, b: a + b)
register("subtract_double", "_-_", (T.DOUBLE, T.DOUBLE), T.DOUBLE, lambda a, b: a - b)
register("multiply_double", "_*_", (T.DOUBLE, T.DOUBLE), T.DOUBLE, lambda a, b: a * b)
register("divide_double", "_/_", (T.DOUBLE, T.DOUBLE), T.DOUBLE, _div_double)
register("add_string", "_+_", (T.STRING, T.STRING), T.STRING, lambda a, b: a + b)
register("add_bytes", "_+_", (T.BYTES, T.BYTES), T.BYTES, lambda a, b: a + b)
register("add_list", "_+_", (T.list_of("A"), T.list_of("A")), T.list_of("A"), lambda a, b: [*a, *b])
register("negate_int64", "-_", (T.INT,), T.INT, lambda a: checked_int(-a))
register("negate_double", "-_", (T.DOUBLE,), T.DOUBLE, lambda a: -a)
register("logical_not", "!_", (T.BOOL,), T.BOOL, lambda a: not a)
register("not_strictly_false", "@not_strictly_false", (T.BOOL,), T.BOOL, lambda a: a is not False)
register("equals", "_==_", ("A", "A"), T.BOOL, cel_equal)
register("not_equals", "_!=_", ("A", "A"), T.BOOL, lambda a, b: not cel_equal(a, b))


class _NaNCompare(Exception):
    """Raised by compare_numbers: every ordering with NaN is false, which no three-way result can say."""


_NaN = _NaNCompare()


def compare_numbers(a: Any, b: Any) -> int:
    """Compare int/uint/double exactly (an int is never rounded to a double first)."""
    if type(a) is float or type(b) is float:
        fa, fb = float(a), float(b)
        if math.isnan(fa) or math.isnan(fb):
            raise _NaN
        if (type(a) is float and type(b) is float) or math.isinf(fa) or math.isinf(fb):
            return (fa > fb) - (fa < fb)
        x, y = Fraction(a), Fraction(b)
        return (x > y) - (x < y)
    return (a > b) - (a < b)


def _relop(test: Callable[[int], bool]) -> Callable[[Any, Any], bool]:
    def f(a: Any, b: Any) -> bool:
        try:
            return test(compare_numbers(a, b))
        except _NaNCompare:
            return False

    return f


_NUMS = (T.INT, T.UINT, T.DOUBLE)
for _op, _test in (("_<_", lambda c: c < 0), ("_<=_", lambda c: c <= 0), ("_>_", lambda c: c > 0),
                   ("_>=_", lambda c: c >= 0)):  # fmt: skip
    for _a in _NUMS:
        for _b in _NUMS:
            register(f"{_op}_{_a}_{_b}", _op, (_a, _b), T.BOOL, _relop(_test))
    for _s in (T.STRING, T.BYTES, T.BOOL):
        register(f"{_op}_{_s}", _op, (_s, _s), T.BOOL, lambda a, b, t=_test: t((a > b) - (a < b)))


def _index_list(lst: Any, i: Any) -> Any:
    if type(i) is float:
        if i != int(i):
            raise CELError(f"unsupported index value {i}")
        i = int(i)
    if not 0 <= i < len(lst):
        raise CELError(f"index out of bounds: {i}")
    return lst[i]


def _index_map(m: Any, k: Any) -> Any:
    v = map_lookup(m, k)
    if v is MISSING:
        raise CELError(f"no such key: {k}")
    return v


register("index_list", "_[_]", (T.list_of("A"), T.INT), "A", _index_list)
register("index_list_uint", "_[_]", (T.list_of("A"), T.UINT), "A", _index_list)
register("index_list_double", "_[_]", (T.list_of("A"), T.DOUBLE), "A", _index_list)
register("index_map", "_[_]", (T.map_of("K", "V"), "K"), "V", _index_map)


def _opt_index_list(lst: Any, i: Any) -> Optional:
    try:
        return Optional(_index_list(lst, i))
    except CELError:
        return NONE


def _opt_index_map(m: Any, k: Any) -> Optional:
    v = map_lookup(m, k)
    return NONE if v is MISSING else Optional(v)


def _opt_index_opt(o: Optional, k: Any) -> Optional:
    if not o.has_value():
        return NONE
    v = o.value
    if isinstance(v, dict):
        return _opt_index_map(v, k)
    if isinstance(v, (list, tuple)):
        return _opt_index_list(v, k)
    raise no_such_overload("_[?_]", v, k)


register("optional_list_index_int", "_[?_]", (T.list_of("A"), T.INT), T.opt_of("A"), _opt_index_list)
register("optional_map_index_value", "_[?_]", (T.map_of("K", "V"), "K"), T.opt_of("V"), _opt_index_map)
register("optional_index_optional", "_[?_]", (T.opt_of(T.DYN), T.DYN), T.opt_of(T.DYN), _opt_index_opt)


def in_list(x: Any, lst: Any) -> bool:
    return any(cel_equal(x, y) for y in lst)


def _in_map(x: Any, m: Any) -> bool:
    return map_lookup(m, x) is not MISSING


register("in_list", "@in", ("A", T.list_of("A")), T.BOOL, in_list)
register("in_map", "@in", ("K", T.map_of("K", "V")), T.BOOL, _in_map)


def _map_insert(m: Any, *args: Any) -> dict[Any, Any]:
    if len(args) == 1:
        entries = args[0]
        if not isinstance(entries, dict):
            raise no_such_overload("cel.@mapInsert", m, entries)
        items = list(entries.items())
    else:
        items = [(args[0], args[1])]
    out = dict(m)
    for k, v in items:
        if map_lookup(out, k) is not MISSING:
            raise CELError(f"insert failed: key {k} already exists")
        out[k] = v
    return out


_KV = T.map_of("K", "V")
register("cel_@mapInsert_map_key_value", "cel.@mapInsert", (_KV, "K", "V"), _KV, _map_insert)
register("cel_@mapInsert_map_map", "cel.@mapInsert", (_KV, _KV), _KV, _map_insert)
