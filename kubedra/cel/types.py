"""Static CEL types for the checker: strings for simple types, tuples for parameterised ones.

``"dyn"`` and ``"any"`` accept everything (``any`` is how DRA declares attribute values when list-type
attributes are off); single upper-case letters are type parameters.
"""

from __future__ import annotations

from typing import Any, TypeAlias

Type: TypeAlias = str | tuple[Any, ...]

BOOL, INT, UINT, DOUBLE, STRING, BYTES, NULL = "bool", "int", "uint", "double", "string", "bytes", "null_type"
DYN, ANY, TYPE, ERROR = "dyn", "any", "type", "error"
QUANTITY, SEMVER, DEVICE = "kubernetes.Quantity", "kubernetes.Semver", "kubernetes.DRADevice"


def list_of(t: Type) -> Type:
    return ("list", t)


def map_of(k: Type, v: Type) -> Type:
    return ("map", k, v)


def opt_of(t: Type) -> Type:
    return ("optional_type", t)


def kind(t: Type) -> str:
    return t if isinstance(t, str) else t[0]


def is_dynlike(t: Type) -> bool:
    return t in (DYN, ANY, ERROR)


def is_param(t: Type) -> bool:
    return isinstance(t, str) and len(t) == 1 and t.isupper()


def fmt(t: Type) -> str:
    if isinstance(t, str):
        return "google.protobuf.Any" if t == ANY else t
    return f"{t[0]}(" + ", ".join(fmt(x) for x in t[1:]) + ")"


def subst(t: Type, binding: dict[str, Type]) -> Type:
    if isinstance(t, str):
        if is_param(t):
            return binding.get(t, DYN)
        return t
    return (t[0], *(subst(x, binding) for x in t[1:]))


def unify(param: Type, arg: Type, binding: dict[str, Type]) -> bool:
    """Whether an argument of static type ``arg`` can be passed as ``param`` (binding type params)."""
    if is_param(param):
        assert isinstance(param, str)
        bound = binding.get(param)
        if bound is None or is_dynlike(bound):
            binding[param] = arg
            return True
        if is_dynlike(arg):
            return True
        if unify(bound, arg, {}):
            return True
        return _numeric(bound) and _numeric(arg) and False
    if is_dynlike(param) or is_dynlike(arg):
        return True
    if isinstance(param, str) or isinstance(arg, str):
        if arg == NULL and kind(param) in ("optional_type",):
            return False
        return param == arg
    if param[0] != arg[0] or len(param) != len(arg):
        return False
    return all(unify(p, a, binding) for p, a in zip(param[1:], arg[1:], strict=True))


def _numeric(t: Type) -> bool:
    return t in (INT, UINT, DOUBLE)


def join(a: Type, b: Type) -> Type:
    """The common type of two branches/elements (dyn when they differ)."""
    if a == b:
        return a
    if is_dynlike(a) or is_dynlike(b):
        return DYN
    if isinstance(a, tuple) and isinstance(b, tuple) and a[0] == b[0] and len(a) == len(b):
        return (a[0], *(join(x, y) for x, y in zip(a[1:], b[1:], strict=True)))
    return DYN
