"""The functions of the DRA CEL environment: declarations for the checker plus their implementations.

One table serves both, so a function cannot type-check without also running. Covered: CEL's standard
operators and conversions, ext.Strings v2, Kubernetes' quantity, semver, regex and list libraries,
ext.Lists v3, ext.Sets, optional types and DRA's ``includes()``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from kubedra.api.quantity import Quantity, QuantityError
from kubedra.api.semver import Semver, SemverError
from kubedra.cel import types as T
from kubedra.cel.errors import CELError
from kubedra.cel.values import _MISSING as MISSING
from kubedra.cel.values import (
    INT64_MAX,
    INT64_MIN,
    NONE,
    UINT64_MAX,
    CELType,
    Optional,
    UInt,
    cel_equal,
    type_name,
)
from kubedra.cel.values import _lookup as map_lookup

__all__ = ["FUNCTIONS", "Overload", "no_such_overload"]

MAX_INCLUDES_LIST = 48


class Overload:
    __slots__ = ("gate", "id", "impl", "member", "name", "params", "result")

    def __init__(self, oid: str, name: str, member: bool, params: tuple[T.Type, ...], result: T.Type,
                 impl: Callable[..., Any], gate: str | None = None) -> None:  # fmt: skip
        self.id, self.name, self.member, self.params, self.result = oid, name, member, params, result
        self.impl, self.gate = impl, gate


FUNCTIONS: dict[str, list[Overload]] = {}


def _reg(oid: str, name: str, params: tuple[T.Type, ...], result: T.Type, impl: Callable[..., Any],
         member: bool = False, gate: str | None = None) -> None:  # fmt: skip
    FUNCTIONS.setdefault(name, []).append(Overload(oid, name, member, params, result, impl, gate))


def no_such_overload(name: str, *args: Any) -> CELError:
    return CELError(f"no such overload: {name}({', '.join(type_name(a) for a in args)})")


def _int(v: int) -> int:
    if not INT64_MIN <= v <= INT64_MAX:
        raise CELError("integer overflow")
    return v


def _uint(v: int) -> UInt:
    if not 0 <= v <= UINT64_MAX:
        raise CELError("unsigned integer overflow")
    return UInt(v)


def _truncdiv(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _truncmod(a: int, b: int) -> int:
    return a - b * _truncdiv(a, b)


# ----------------------------------------------------------------------------- operators
def _div_int(a: int, b: int) -> int:
    if b == 0:
        raise CELError("division by zero")
    return _int(_truncdiv(a, b))


def _mod_int(a: int, b: int) -> int:
    if b == 0:
        raise CELError("modulus by zero")
    return _int(_truncmod(a, b))


def _div_uint(a: int, b: int) -> UInt:
    if b == 0:
        raise CELError("division by zero")
    return UInt(a // b)


def _mod_uint(a: int, b: int) -> UInt:
    if b == 0:
        raise CELError("modulus by zero")
    return UInt(a % b)


def _div_double(a: float, b: float) -> float:
    try:
        return a / b
    except ZeroDivisionError:
        if a == 0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)


for _t, _w in ((T.INT, _int), (T.UINT, _uint)):
    _reg(f"add_{_t}", "_+_", (_t, _t), _t, lambda a, b, w=_w: w(a + b))
    _reg(f"subtract_{_t}", "_-_", (_t, _t), _t, lambda a, b, w=_w: w(a - b))
    _reg(f"multiply_{_t}", "_*_", (_t, _t), _t, lambda a, b, w=_w: w(a * b))
_reg("divide_int64", "_/_", (T.INT, T.INT), T.INT, _div_int)
_reg("modulo_int64", "_%_", (T.INT, T.INT), T.INT, _mod_int)
_reg("divide_uint64", "_/_", (T.UINT, T.UINT), T.UINT, _div_uint)
_reg("modulo_uint64", "_%_", (T.UINT, T.UINT), T.UINT, _mod_uint)
_reg("add_double", "_+_", (T.DOUBLE, T.DOUBLE), T.DOUBLE, lambda a, b: a + b)
_reg("subtract_double", "_-_", (T.DOUBLE, T.DOUBLE), T.DOUBLE, lambda a, b: a - b)
_reg("multiply_double", "_*_", (T.DOUBLE, T.DOUBLE), T.DOUBLE, lambda a, b: a * b)
_reg("divide_double", "_/_", (T.DOUBLE, T.DOUBLE), T.DOUBLE, _div_double)
_reg("add_string", "_+_", (T.STRING, T.STRING), T.STRING, lambda a, b: a + b)
_reg("add_bytes", "_+_", (T.BYTES, T.BYTES), T.BYTES, lambda a, b: a + b)
_reg("add_list", "_+_", (T.list_of("A"), T.list_of("A")), T.list_of("A"), lambda a, b: [*a, *b])
_reg("negate_int64", "-_", (T.INT,), T.INT, lambda a: _int(-a))
_reg("negate_double", "-_", (T.DOUBLE,), T.DOUBLE, lambda a: -a)
_reg("logical_not", "!_", (T.BOOL,), T.BOOL, lambda a: not a)
_reg("not_strictly_false", "@not_strictly_false", (T.BOOL,), T.BOOL, lambda a: a is not False)
_reg("equals", "_==_", ("A", "A"), T.BOOL, cel_equal)
_reg("not_equals", "_!=_", ("A", "A"), T.BOOL, lambda a, b: not cel_equal(a, b))


def _cmp_num(a: Any, b: Any) -> int:
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


class _NaNCompare(Exception):
    pass


_NaN = _NaNCompare()


def _relop(test: Callable[[int], bool]) -> Callable[[Any, Any], bool]:
    def f(a: Any, b: Any) -> bool:
        try:
            return test(_cmp_num(a, b))
        except _NaNCompare:
            return False

    return f


_NUMS = (T.INT, T.UINT, T.DOUBLE)
for _op, _test in (("_<_", lambda c: c < 0), ("_<=_", lambda c: c <= 0), ("_>_", lambda c: c > 0),
                   ("_>=_", lambda c: c >= 0)):  # fmt: skip
    for _a in _NUMS:
        for _b in _NUMS:
            _reg(f"{_op}_{_a}_{_b}", _op, (_a, _b), T.BOOL, _relop(_test))
    for _s in (T.STRING, T.BYTES, T.BOOL):
        _reg(f"{_op}_{_s}", _op, (_s, _s), T.BOOL, lambda a, b, t=_test: t((a > b) - (a < b)))


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


_reg("index_list", "_[_]", (T.list_of("A"), T.INT), "A", _index_list)
_reg("index_list_uint", "_[_]", (T.list_of("A"), T.UINT), "A", _index_list)
_reg("index_list_double", "_[_]", (T.list_of("A"), T.DOUBLE), "A", _index_list)
_reg("index_map", "_[_]", (T.map_of("K", "V"), "K"), "V", _index_map)


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


_reg("optional_list_index_int", "_[?_]", (T.list_of("A"), T.INT), T.opt_of("A"), _opt_index_list)
_reg("optional_map_index_value", "_[?_]", (T.map_of("K", "V"), "K"), T.opt_of("V"), _opt_index_map)
_reg("optional_index_optional", "_[?_]", (T.opt_of(T.DYN), T.DYN), T.opt_of(T.DYN), _opt_index_opt)


def _in_list(x: Any, lst: Any) -> bool:
    return any(cel_equal(x, y) for y in lst)


def _in_map(x: Any, m: Any) -> bool:
    return map_lookup(m, x) is not MISSING


_reg("in_list", "@in", ("A", T.list_of("A")), T.BOOL, _in_list)
_reg("in_map", "@in", ("K", T.map_of("K", "V")), T.BOOL, _in_map)


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


_reg("cel_@mapInsert_map_key_value", "cel.@mapInsert", (T.map_of("K", "V"), "K", "V"), T.map_of("K", "V"), _map_insert)
_reg("cel_@mapInsert_map_map", "cel.@mapInsert", (T.map_of("K", "V"), T.map_of("K", "V")), T.map_of("K", "V"), _map_insert)

# ----------------------------------------------------------------------------- size and conversions
for _st in (T.STRING, T.BYTES, T.list_of("A"), T.map_of("K", "V")):
    _reg(f"size_{T.kind(_st)}", "size", (_st,), T.INT, len)
    _reg(f"{T.kind(_st)}_size", "size", (_st,), T.INT, len, member=True)


def _to_int(v: Any) -> int:
    if type(v) is float:
        if not math.isfinite(v) or not -(2.0**63) < v < 2.0**63:
            raise CELError("integer overflow")
        return int(v)
    if type(v) is str:
        try:
            return _int(int(v, 10))
        except ValueError:
            raise CELError(f"strconv.ParseInt: parsing {v!r}: invalid syntax") from None
    return _int(int(v))


def _to_uint(v: Any) -> UInt:
    if type(v) is float:
        if not math.isfinite(v) or not -1 < v < 2.0**64:
            raise CELError("unsigned integer overflow")
        return UInt(int(v))
    if type(v) is str:
        try:
            return _uint(int(v, 10))
        except ValueError:
            raise CELError(f"strconv.ParseUint: parsing {v!r}: invalid syntax") from None
    return _uint(int(v))


def _to_double(v: Any) -> float:
    if type(v) is str:
        try:
            return float(v)
        except ValueError:
            raise CELError(f"strconv.ParseFloat: parsing {v!r}: invalid syntax") from None
    return float(v)


def _fmt_double(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    r = repr(v)
    if r.endswith(".0"):
        r = r[:-2]
    return r


def _to_string(v: Any) -> str:
    t = type(v)
    if t is str:
        return v
    if t is bool:
        return "true" if v else "false"
    if t is float:
        return _fmt_double(v)
    if t is bytes:
        try:
            return v.decode("utf-8")
        except UnicodeDecodeError:
            raise CELError("invalid UTF-8 in bytes, cannot convert to string") from None
    if t is Quantity or t is Semver:
        return str(v)
    return str(int(v))


for _t in (T.INT, T.UINT, T.DOUBLE, T.STRING):
    _reg(f"int64_{_t}", "int", (_t,), T.INT, _to_int)
    _reg(f"uint64_{_t}", "uint", (_t,), T.UINT, _to_uint)
    _reg(f"double_{_t}", "double", (_t,), T.DOUBLE, _to_double)
for _t in (T.INT, T.UINT, T.DOUBLE, T.STRING, T.BYTES, T.BOOL):
    _reg(f"string_{_t}", "string", (_t,), T.STRING, _to_string)
_reg("bytes_string", "bytes", (T.STRING,), T.BYTES, lambda s: s.encode("utf-8"))
_reg("bytes_bytes", "bytes", (T.BYTES,), T.BYTES, lambda b: b)


def _to_bool(v: Any) -> bool:
    if type(v) is bool:
        return v
    if v in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if v in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise CELError("Type conversion error from 'string' to 'bool'")


_reg("bool_bool", "bool", (T.BOOL,), T.BOOL, _to_bool)
_reg("bool_string", "bool", (T.STRING,), T.BOOL, _to_bool)
_reg("to_dyn", "dyn", ("A",), T.DYN, lambda v: v)
_reg("type", "type", ("A",), T.TYPE, lambda v: CELType(type_name(v)))

# ----------------------------------------------------------------------------- strings
_regex_cache: dict[str, re.Pattern[str]] = {}


def _regex(pattern: str) -> re.Pattern[str]:
    rx = _regex_cache.get(pattern)
    if rx is None:
        try:
            rx = re.compile(_re2_to_python(pattern))
        except re.error as e:
            raise CELError(f"error parsing regexp: {e}") from None
        if len(_regex_cache) > 256:
            _regex_cache.clear()
        _regex_cache[pattern] = rx
    return rx


def _re2_to_python(p: str) -> str:
    """RE2 and Python agree on the syntax CEL users write; translate the few spellings that differ."""
    return p.replace("(?P<", "(?P<").replace(r"\z", r"\Z")


_reg("matches_string", "matches", (T.STRING, T.STRING), T.BOOL, lambda s, p: _regex(p).search(s) is not None, member=True)
_reg("matches", "matches", (T.STRING, T.STRING), T.BOOL, lambda s, p: _regex(p).search(s) is not None)
_reg("contains_string", "contains", (T.STRING, T.STRING), T.BOOL, lambda s, x: x in s, member=True)
_reg("starts_with_string", "startsWith", (T.STRING, T.STRING), T.BOOL, lambda s, x: s.startswith(x), member=True)
_reg("ends_with_string", "endsWith", (T.STRING, T.STRING), T.BOOL, lambda s, x: s.endswith(x), member=True)


def _find(s: str, p: str) -> str:
    m = _regex(p).search(s)
    return m.group(0) if m else ""


def _find_all(s: str, p: str, n: int = -1) -> list[str]:
    if n == 0:
        return []
    out = [m.group(0) for m in _regex(p).finditer(s)]
    return out if n < 0 else out[:n]


_reg("find", "find", (T.STRING, T.STRING), T.STRING, _find, member=True)
_reg("findAll", "findAll", (T.STRING, T.STRING), T.list_of(T.STRING), _find_all, member=True)
_reg("findAllN", "findAll", (T.STRING, T.STRING, T.INT), T.list_of(T.STRING), _find_all, member=True)


def _char_at(s: str, i: int) -> str:
    if not 0 <= i <= len(s):
        raise CELError(f"index out of range: {i}")
    return s[i : i + 1]


def _index_of(s: str, sub: str, start: int = 0) -> int:
    if not 0 <= start <= len(s):
        raise CELError(f"index out of range: {start}")
    return s.find(sub, start)


def _last_index_of(s: str, sub: str, end: int | None = None) -> int:
    if end is None:
        return s.rfind(sub)
    if not 0 <= end <= len(s):
        raise CELError(f"index out of range: {end}")
    return s.rfind(sub, 0, end + len(sub))


def _substring(s: str, start: int, end: int | None = None) -> str:
    if end is None:
        end = len(s)
    if not 0 <= start <= len(s):
        raise CELError(f"index out of range: {start}")
    if not 0 <= end <= len(s):
        raise CELError(f"index out of range: {end}")
    if start > end:
        raise CELError(f"invalid substring range. start: {start}, end: {end}")
    return s[start:end]


def _replace(s: str, old: str, new: str, n: int = -1) -> str:
    return s.replace(old, new, n if n >= 0 else -1)


def _split(s: str, sep: str, n: int = -1) -> list[str]:
    if n == 0:
        return []
    if sep == "":
        chars = list(s)
        if n > 0 and len(chars) > n:
            chars = [*chars[: n - 1], "".join(chars[n - 1 :])]
        return chars
    return s.split(sep, n - 1) if n > 0 else s.split(sep)


def _lower_ascii(s: str) -> str:
    return "".join(c.lower() if "A" <= c <= "Z" else c for c in s)


def _upper_ascii(s: str) -> str:
    return "".join(c.upper() if "a" <= c <= "z" else c for c in s)


def _join(lst: Any, sep: str = "") -> str:
    for x in lst:
        if type(x) is not str:
            raise no_such_overload("join", x)
    return sep.join(lst)


def _quote(s: str) -> str:
    out = ['"']
    esc = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v",
           "\\": "\\\\", '"': '\\"'}  # fmt: skip
    for c in s:
        out.append(esc.get(c, c))
    out.append('"')
    return "".join(out)


S = T.STRING
_reg("string_char_at_int", "charAt", (S, T.INT), S, _char_at, member=True)
_reg("string_index_of_string", "indexOf", (S, S), T.INT, _index_of, member=True)
_reg("string_index_of_string_int", "indexOf", (S, S, T.INT), T.INT, _index_of, member=True)
_reg("string_last_index_of_string", "lastIndexOf", (S, S), T.INT, _last_index_of, member=True)
_reg("string_last_index_of_string_int", "lastIndexOf", (S, S, T.INT), T.INT, _last_index_of, member=True)
_reg("string_lower_ascii", "lowerAscii", (S,), S, _lower_ascii, member=True)
_reg("string_upper_ascii", "upperAscii", (S,), S, _upper_ascii, member=True)
_reg("string_replace_string_string", "replace", (S, S, S), S, _replace, member=True)
_reg("string_replace_string_string_int", "replace", (S, S, S, T.INT), S, _replace, member=True)
_reg("string_split_string", "split", (S, S), T.list_of(S), _split, member=True)
_reg("string_split_string_int", "split", (S, S, T.INT), T.list_of(S), _split, member=True)
_reg("string_substring_int", "substring", (S, T.INT), S, _substring, member=True)
_reg("string_substring_int_int", "substring", (S, T.INT, T.INT), S, _substring, member=True)
_reg("string_trim", "trim", (S,), S, lambda s: s.strip(" \t\n\v\f\r\x85\xa0"), member=True)
_reg("list_join", "join", (T.list_of(S),), S, _join, member=True)
_reg("list_join_string", "join", (T.list_of(S), S), S, _join, member=True)
_reg("strings_quote", "strings.quote", (S,), S, _quote)

# ----------------------------------------------------------------------------- lists
_ORDERABLE = (int, UInt, float, str, bytes, bool)


def _check_comparable(lst: Any, fn: str) -> None:
    for x in lst:
        if not isinstance(x, _ORDERABLE) and not isinstance(x, (Quantity, Semver)):
            raise no_such_overload(fn, x)


def _sort_key(x: Any) -> Any:
    return x


def _is_sorted(lst: Any) -> bool:
    _check_comparable(lst, "isSorted")
    return all(not _lt(lst[i + 1], lst[i]) for i in range(len(lst) - 1))


def _lt(a: Any, b: Any) -> bool:
    if isinstance(a, Quantity) and isinstance(b, Quantity):
        return a < b
    if isinstance(a, Semver) and isinstance(b, Semver):
        return a < b
    if type(a) in (int, UInt, float) and type(b) in (int, UInt, float):
        return _cmp_num(a, b) < 0
    if type(a) is not type(b):
        raise no_such_overload("_<_", a, b)
    return bool(a < b)


def _sum(lst: Any) -> Any:
    if not lst:
        return 0
    total = lst[0]
    for x in lst[1:]:
        if type(x) is not type(total):
            raise no_such_overload("sum", x)
        total = total.add(x) if isinstance(total, Quantity) else total + x
    if type(total) is int:
        _int(total)
    return total


def _min(lst: Any) -> Any:
    if not lst:
        raise CELError("min called on empty list")
    best = lst[0]
    for x in lst[1:]:
        if _lt(x, best):
            best = x
    return best


def _max(lst: Any) -> Any:
    if not lst:
        raise CELError("max called on empty list")
    best = lst[0]
    for x in lst[1:]:
        if _lt(best, x):
            best = x
    return best


def _list_index_of(lst: Any, x: Any) -> int:
    for i, y in enumerate(lst):
        if cel_equal(x, y):
            return i
    return -1


def _list_last_index_of(lst: Any, x: Any) -> int:
    for i in range(len(lst) - 1, -1, -1):
        if cel_equal(x, lst[i]):
            return i
    return -1


def _slice(lst: Any, start: int, end: int) -> list[Any]:
    if start < 0 or end < 0:
        raise CELError(f"cannot slice({start}, {end}), negative indexes not supported")
    if start > end:
        raise CELError(f"cannot slice({start}, {end}), start index must be less than or equal to end index")
    if end > len(lst):
        raise CELError(f"cannot slice({start}, {end}), list is length {len(lst)}")
    return list(lst[start:end])


def _flatten(lst: Any, depth: int = 1) -> list[Any]:
    if depth < 0:
        raise CELError("level must be non-negative")
    out: list[Any] = []
    for x in lst:
        if isinstance(x, (list, tuple)) and depth > 0:
            out.extend(_flatten(x, depth - 1))
        else:
            out.append(x)
    return out


def _range(n: int) -> list[int]:
    return list(range(n))


def _distinct(lst: Any) -> list[Any]:
    out: list[Any] = []
    for x in lst:
        if not any(cel_equal(x, y) for y in out):
            out.append(x)
    return out


def _sort(lst: Any) -> list[Any]:
    _check_comparable(lst, "sort")
    import functools

    return sorted(lst, key=functools.cmp_to_key(lambda a, b: -1 if _lt(a, b) else (1 if _lt(b, a) else 0)))


LA = T.list_of("A")
_reg("list_is_sorted", "isSorted", (LA,), T.BOOL, _is_sorted, member=True)
_reg("list_sum", "sum", (LA,), "A", _sum, member=True)
_reg("list_min", "min", (LA,), "A", _min, member=True)
_reg("list_max", "max", (LA,), "A", _max, member=True)
_reg("list_index_of", "indexOf", (LA, "A"), T.INT, _list_index_of, member=True)
_reg("list_last_index_of", "lastIndexOf", (LA, "A"), T.INT, _list_last_index_of, member=True)
_reg("list_slice", "slice", (LA, T.INT, T.INT), LA, _slice, member=True)
_reg("list_flatten", "flatten", (T.list_of(T.list_of("A")),), LA, _flatten, member=True)
_reg("list_flatten_int", "flatten", (T.list_of(T.DYN), T.INT), T.list_of(T.DYN), _flatten, member=True)
_reg("lists_range", "lists.range", (T.INT,), T.list_of(T.INT), _range)
_reg("list_distinct", "distinct", (LA,), LA, _distinct, member=True)
_reg("list_reverse", "reverse", (LA,), LA, lambda lst: list(reversed(lst)), member=True)
_reg("list_sort", "sort", (LA,), LA, _sort, member=True)

# sets
_reg("list_sets_contains_list", "sets.contains", (LA, LA), T.BOOL,
     lambda a, b: all(_in_list(x, a) for x in b))  # fmt: skip
_reg("list_sets_equivalent_list", "sets.equivalent", (LA, LA), T.BOOL,
     lambda a, b: all(_in_list(x, a) for x in b) and all(_in_list(x, b) for x in a))  # fmt: skip
_reg("list_sets_intersects_list", "sets.intersects", (LA, LA), T.BOOL,
     lambda a, b: any(_in_list(x, a) for x in b))  # fmt: skip

# ----------------------------------------------------------------------------- quantity
Q = T.QUANTITY


def _quantity(s: str) -> Quantity:
    try:
        return Quantity.parse(s)
    except QuantityError as e:
        raise CELError(str(e)) from None


def _is_quantity(s: str) -> bool:
    try:
        Quantity.parse(s)
    except QuantityError:
        return False
    return True


def _q_add(a: Quantity, b: Any) -> Quantity:
    return a.add(b if type(b) is Quantity else Quantity.from_int(b))


def _q_sub(a: Quantity, b: Any) -> Quantity:
    return a.sub(b if type(b) is Quantity else Quantity.from_int(b))


def _q_as_integer(q: Quantity) -> int:
    v = q.as_int64()
    if v is None:
        raise CELError("cannot convert value to integer")
    return v


_reg("quantity", "quantity", (S,), Q, _quantity)
_reg("isQuantity", "isQuantity", (S,), T.BOOL, _is_quantity)
_reg("quantity_sign", "sign", (Q,), T.INT, lambda q: q.sign(), member=True)
_reg("quantity_is_integer", "isInteger", (Q,), T.BOOL, lambda q: q.as_int64() is not None, member=True)
_reg("quantity_as_integer", "asInteger", (Q,), T.INT, _q_as_integer, member=True)
_reg("quantity_as_float", "asApproximateFloat", (Q,), T.DOUBLE, lambda q: q.as_approximate_float(), member=True)
_reg("quantity_add", "add", (Q, Q), Q, _q_add, member=True)
_reg("quantity_add_int", "add", (Q, T.INT), Q, _q_add, member=True)
_reg("quantity_sub", "sub", (Q, Q), Q, _q_sub, member=True)
_reg("quantity_sub_int", "sub", (Q, T.INT), Q, _q_sub, member=True)

# ----------------------------------------------------------------------------- semver
V = T.SEMVER


def _semver(s: str, normalize: bool = False) -> Semver:
    try:
        return Semver.parse_normalized(s) if normalize else Semver.parse(s)
    except SemverError as e:
        raise CELError(f"error parsing semver: {e}") from None


def _is_semver(s: str, normalize: bool = False) -> bool:
    try:
        _semver(s, normalize)
    except CELError:
        return False
    return True


_reg("string_to_semver", "semver", (S,), V, _semver)
_reg("string_bool_to_semver", "semver", (S, T.BOOL), V, _semver)
_reg("is_semver_string", "isSemver", (S,), T.BOOL, _is_semver)
_reg("is_semver_string_bool", "isSemver", (S, T.BOOL), T.BOOL, _is_semver)
_reg("semver_major", "major", (V,), T.INT, lambda v: v.major, member=True)
_reg("semver_minor", "minor", (V,), T.INT, lambda v: v.minor, member=True)
_reg("semver_patch", "patch", (V,), T.INT, lambda v: v.patch, member=True)

# Comparisons shared by quantity and semver (Kubernetes registers one dispatching overload per name).
for _t, _n in ((Q, "quantity"), (V, "semver")):
    _reg(f"{_n}_is_greater_than", "isGreaterThan", (_t, _t), T.BOOL, lambda a, b: a > b, member=True)
    _reg(f"{_n}_is_less_than", "isLessThan", (_t, _t), T.BOOL, lambda a, b: a < b, member=True)
    _reg(f"{_n}_compare_to", "compareTo", (_t, _t), T.INT, lambda a, b: (a > b) - (a < b), member=True)

# ----------------------------------------------------------------------------- optional
_reg("optional_of", "optional.of", ("A",), T.opt_of("A"), lambda v: Optional(v))


def _of_non_zero(v: Any) -> Optional:
    zero = v is None or v is False or (type(v) in (int, UInt, float) and v == 0) or (
        isinstance(v, (str, bytes, list, tuple, dict)) and len(v) == 0)  # fmt: skip
    return NONE if zero else Optional(v)


def _opt_value(o: Optional) -> Any:
    if not o.has_value():
        raise CELError("optional.none() dereference")
    return o.value


_reg("optional_ofNonZeroValue", "optional.ofNonZeroValue", ("A",), T.opt_of("A"), _of_non_zero)
_reg("optional_none", "optional.none", (), T.opt_of(T.DYN), lambda: NONE)
_reg("optional_hasValue", "hasValue", (T.opt_of("A"),), T.BOOL, lambda o: o.has_value(), member=True)
_reg("optional_value", "value", (T.opt_of("A"),), "A", _opt_value, member=True)
_reg("optional_or_optional", "or", (T.opt_of("A"), T.opt_of("A")), T.opt_of("A"),
     lambda a, b: a if a.has_value() else b, member=True)  # fmt: skip
_reg("optional_orValue_value", "orValue", (T.opt_of("A"), "A"), "A",
     lambda a, b: a.value if a.has_value() else b, member=True)  # fmt: skip


# ----------------------------------------------------------------------------- DRA includes()
def _includes(target: Any, arg: Any) -> bool:
    if isinstance(target, (list, tuple)):
        if len(target) > MAX_INCLUDES_LIST:
            raise CELError(f"'includes' function cannot be applied to lists longer than {MAX_INCLUDES_LIST} values")
        return any(cel_equal(x, arg) for x in target)
    return cel_equal(target, arg)


_reg("dra_includes_dyn_dyn", "includes", (T.DYN, T.DYN), T.BOOL, _includes, member=True, gate="list")
