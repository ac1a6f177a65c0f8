"""Kubernetes' list library and ext.Lists (v3), plus ext.Sets, as CEL functions on lists.

Hand-written because ordering is CEL's, not Python's: numbers of mixed types compare exactly, quantities
and semvers order by value, and a list mixing incomparable types is a ``no such overload`` error instead
of a Python TypeError.
"""

from __future__ import annotations

import functools
from typing import Any

from kubedra.api.quantity import Quantity
from kubedra.api.semver import Semver
from kubedra.cel import types as T
from kubedra.cel.errors import CELError
from kubedra.cel.library.operators import compare_numbers, in_list
from kubedra.cel.library.registry import checked_int, no_such_overload, register
from kubedra.cel.values import UInt, cel_equal

_ORDERABLE = (int, UInt, float, str, bytes, bool, Quantity, Semver)
_NUMBER_TYPES = (int, UInt, float)


def _check_comparable(lst: Any, fn: str) -> None:
    for x in lst:
        if not isinstance(x, _ORDERABLE):
            raise no_such_overload(fn, x)


def _lt(a: Any, b: Any) -> bool:
    if isinstance(a, Quantity) and isinstance(b, Quantity):
        return a < b
    if isinstance(a, Semver) and isinstance(b, Semver):
        return a < b
    if type(a) in _NUMBER_TYPES and type(b) in _NUMBER_TYPES:
        return compare_numbers(a, b) < 0
    if type(a) is not type(b):
        raise no_such_overload("_<_", a, b)
    return bool(a < b)


def _is_sorted(lst: Any) -> bool:
    _check_comparable(lst, "isSorted")
    return all(not _lt(lst[i + 1], lst[i]) for i in range(len(lst) - 1))


def _sum(lst: Any) -> Any:
    if not lst:
        return 0
    total = lst[0]
    for x in lst[1:]:
        if type(x) is not type(total):
            raise no_such_overload("sum", x)
        total = total.add(x) if isinstance(total, Quantity) else total + x
    if type(total) is int:
        checked_int(total)
    return total


def _extreme(name: str, lst: Any, better: Any) -> Any:
    """The element ``better(x, best)`` prefers over all others; the first one on ties, as upstream."""
    if not lst:
        raise CELError(f"{name} called on empty list")
    best = lst[0]
    for x in lst[1:]:
        if better(x, best):
            best = x
    return best


def _min(lst: Any) -> Any:
    return _extreme("min", lst, _lt)


def _max(lst: Any) -> Any:
    return _extreme("max", lst, lambda x, best: _lt(best, x))


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
        if not in_list(x, out):
            out.append(x)
    return out


def _sort(lst: Any) -> list[Any]:
    _check_comparable(lst, "sort")
    return sorted(lst, key=functools.cmp_to_key(lambda a, b: -1 if _lt(a, b) else (1 if _lt(b, a) else 0)))


LA = T.list_of("A")
register("list_is_sorted", "isSorted", (LA,), T.BOOL, _is_sorted, member=True)
register("list_sum", "sum", (LA,), "A", _sum, member=True)
register("list_min", "min", (LA,), "A", _min, member=True)
register("list_max", "max", (LA,), "A", _max, member=True)
register("list_index_of", "indexOf", (LA, "A"), T.INT, _list_index_of, member=True)
register("list_last_index_of", "lastIndexOf", (LA, "A"), T.INT, _list_last_index_of, member=True)
register("list_slice", "slice", (LA, T.INT, T.INT), LA, _slice, member=True)
register("list_flatten", "flatten", (T.list_of(T.list_of("A")),), LA, _flatten, member=True)
register("list_flatten_int", "flatten", (T.list_of(T.DYN), T.INT), T.list_of(T.DYN), _flatten, member=True)
register("lists_range", "lists.range", (T.INT,), T.list_of(T.INT), _range)
register("list_distinct", "distinct", (LA,), LA, _distinct, member=True)
register("list_reverse", "reverse", (LA,), LA, lambda lst: list(reversed(lst)), member=True)
register("list_sort", "sort", (LA,), LA, _sort, member=True)


def _contains_all(a: Any, b: Any) -> bool:
    return all(in_list(x, a) for x in b)


register("list_sets_contains_list", "sets.contains", (LA, LA), T.BOOL, _contains_all)
register("list_sets_equivalent_list", "sets.equivalent", (LA, LA), T.BOOL,
         lambda a, b: _contains_all(a, b) and _contains_all(b, a))  # fmt: skip
register("list_sets_intersects_list", "sets.intersects", (LA, LA), T.BOOL, lambda a, b: any(in_list(x, a) for x in b))
