"""CEL optional types: ``optional.of``, ``optional.ofNonZeroValue``, ``optional.none`` and their methods.

Kubernetes enables optionals so selectors can probe attributes that may be absent (``?.`` / ``[?]``)
without a runtime error; the index operators that produce optionals are in ``operators``.
"""

from __future__ import annotations

from typing import Any

from kubedra.cel import types as T
from kubedra.cel.errors import CELError
from kubedra.cel.library.registry import register
from kubedra.cel.values import NONE, Optional, UInt


def _of_non_zero(v: Any) -> Optional:
    zero = v is None or v is False or (type(v) in (int, UInt, float) and v == 0) or (
        isinstance(v, (str, bytes, list, tuple, dict)) and len(v) == 0)  # fmt: skip
    return NONE if zero else Optional(v)


def _opt_value(o: Optional) -> Any:
    if not o.has_value():
        raise CELError("optional.none() dereference")
    return o.value


OA = T.opt_of("A")
register("optional_of", "optional.of", ("A",), OA, lambda v: Optional(v))
register("optional_ofNonZeroValue", "optional.ofNonZeroValue", ("A",), OA, _of_non_zero)
register("optional_none", "optional.none", (), T.opt_of(T.DYN), lambda: NONE)
register("optional_hasValue", "hasValue", (OA,), T.BOOL, lambda o: o.has_value(), member=True)
register("optional_value", "value", (OA,), "A", _opt_value, member=True)
register("optional_or_optional", "or", (OA, OA), OA, lambda a, b: a if a.has_value() else b, member=True)
register("optional_orValue_value", "orValue", (OA, "A"), "A", lambda a, b: a.value if a.has_value() else b, member=True)
