"""The overload table shared by the checker and the interpreter.

One table serves both, so a function cannot type-check without also running; each library module
adds its overloads here when the package is imported.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kubedra.cel import types as T
from kubedra.cel.errors import CELError
from kubedra.cel.values import INT64_MAX, INT64_MIN, UINT64_MAX, UInt, type_name

__all__ = ["FUNCTIONS", "Overload", "checked_int", "checked_uint", "no_such_overload", "register"]


class Overload:
    __slots__ = ("gate", "id", "impl", "member", "name", "params", "result")

    def __init__(self, oid: str, name: str, member: bool, params: tuple[T.Type, ...], result: T.Type,
                 impl: Callable[..., Any], gate: str | None = None) -> None:  # fmt: skip
        self.id, self.name, self.member, self.params, self.result = oid, name, member, params, result
        self.impl, self.gate = impl, gate


FUNCTIONS: dict[str, list[Overload]] = {}


def register(oid: str, name: str, params: tuple[T.Type, ...], result: T.Type, impl: Callable[..., Any],
             member: bool = False, gate: str | None = None) -> None:  # fmt: skip
    """Add one overload; the order of registration is the order the checker tries them in."""
    FUNCTIONS.setdefault(name, []).append(Overload(oid, name, member, params, result, impl, gate))


def no_such_overload(name: str, *args: Any) -> CELError:
    return CELError(f"no such overload: {name}({', '.join(type_name(a) for a in args)})")


def checked_int(v: int) -> int:
    """Python ints never overflow; CEL's int is int64 and overflow is an error, not a wrap."""
    if not INT64_MIN <= v <= INT64_MAX:
        raise CELError("integer overflow")
    return v


def checked_uint(v: int) -> UInt:
    if not 0 <= v <= UINT64_MAX:
        raise CELError("unsigned integer overflow")
    return UInt(v)
