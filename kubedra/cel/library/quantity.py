"""Kubernetes' CEL quantity library: ``quantity()``, ``isQuantity()`` and the Quantity methods.

The arithmetic lives in ``kubedra.api.quantity`` (shared with validation and the allocator); this
module only adapts it to CEL, turning parse failures into CEL errors with Kubernetes' messages.
"""

from __future__ import annotations

from typing import Any

from kubedra.api.quantity import Quantity, QuantityError
from kubedra.cel import types as T
from kubedra.cel.errors import CELError
from kubedra.cel.library.ordering import register_ordering
from kubedra.cel.library.registry import register

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


def _as_quantity(b: Any) -> Quantity:
    return b if type(b) is Quantity else Quantity.from_int(b)


def _as_integer(q: Quantity) -> int:
    v = q.as_int64()
    if v is None:
        raise CELError("cannot convert value to integer")
    return v


register("quantity", "quantity", (T.STRING,), Q, _quantity)
register("isQuantity", "isQuantity", (T.STRING,), T.BOOL, _is_quantity)
register("quantity_sign", "sign", (Q,), T.INT, lambda q: q.sign(), member=True)
register("quantity_is_integer", "isInteger", (Q,), T.BOOL, lambda q: q.as_int64() is not None, member=True)
register("quantity_as_integer", "asInteger", (Q,), T.INT, _as_integer, member=True)
register("quantity_as_float", "asApproximateFloat", (Q,), T.DOUBLE, lambda q: q.as_approximate_float(), member=True)
register("quantity_add", "add", (Q, Q), Q, lambda a, b: a.add(_as_quantity(b)), member=True)
register("quantity_add_int", "add", (Q, T.INT), Q, lambda a, b: a.add(_as_quantity(b)), member=True)
register("quantity_sub", "sub", (Q, Q), Q, lambda a, b: a.sub(_as_quantity(b)), member=True)
register("quantity_sub_int", "sub", (Q, T.INT), Q, lambda a, b: a.sub(_as_quantity(b)), member=True)
register_ordering(Q, "quantity")
