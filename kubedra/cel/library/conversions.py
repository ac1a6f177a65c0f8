"""CEL's ``size()`` and type conversions (``int``, ``uint``, ``double``, ``string``, ``bytes``, ``bool``, ``dyn``, ``type``).

Hand-written because the failure cases are CEL's own: range checks against int64/uint64 rather than
Python's unbounded ints, Go's strconv error messages, and Go's spelling of doubles (``+Inf``, ``1e+06``
is not what Python prints).
"""

from __future__ import annotations

import math
from typing import Any

from kubedra.api.quantity import Quantity
from kubedra.api.semver import Semver
from kubedra.cel import types as T
from kubedra.cel.errors import CELError
from kubedra.cel.library.registry import checked_int, checked_uint, register
from kubedra.cel.values import CELType, UInt, type_name

for _st in (T.STRING, T.BYTES, T.list_of("A"), T.map_of("K", "V")):
    register(f"size_{T.kind(_st)}", "size", (_st,), T.INT, len)
    register(f"{T.kind(_st)}_size", "size", (_st,), T.INT, len, member=True)


def _parse_decimal(v: str, parse: str) -> int:
    try:
        return int(v, 10)
    except ValueError:
        raise CELError(f"strconv.{parse}: parsing {v!r}: invalid syntax") from None


def _to_int(v: Any) -> int:
    if type(v) is float:
        if not math.isfinite(v) or not -(2.0**63) < v < 2.0**63:
            raise CELError("integer overflow")
        return int(v)
    return checked_int(_parse_decimal(v, "ParseInt") if type(v) is str else int(v))


def _to_uint(v: Any) -> UInt:
    if type(v) is float:
        if not math.isfinite(v) or not -1 < v < 2.0**64:
            raise CELError("unsigned integer overflow")
        return UInt(int(v))
    return checked_uint(_parse_decimal(v, "ParseUint") if type(v) is str else int(v))


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
    register(f"int64_{_t}", "int", (_t,), T.INT, _to_int)
    register(f"uint64_{_t}", "uint", (_t,), T.UINT, _to_uint)
    register(f"double_{_t}", "double", (_t,), T.DOUBLE, _to_double)
for _t in (T.INT, T.UINT, T.DOUBLE, T.STRING, T.BYTES, T.BOOL):
    register(f"string_{_t}", "string", (_t,), T.STRING, _to_string)
register("bytes_string", "bytes", (T.STRING,), T.BYTES, lambda s: s.encode("utf-8"))
register("bytes_bytes", "bytes", (T.BYTES,), T.BYTES, lambda b: b)


def _to_bool(v: Any) -> bool:
    if type(v) is bool:
        return v
    if v in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if v in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise CELError("Type conversion error from 'string' to 'bool'")


register("bool_bool", "bool", (T.BOOL,), T.BOOL, _to_bool)
register("bool_string", "bool", (T.STRING,), T.BOOL, _to_bool)
register("to_dyn", "dyn", ("A",), T.DYN, lambda v: v)
register("type", "type", ("A",), T.TYPE, lambda v: CELType(type_name(v)))
