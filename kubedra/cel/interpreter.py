"""Checked CEL tree → a tree of Python closures, evaluated against an activation dict.

Why closures instead of a library engine: selectors are evaluated per device on the allocator's hot
path, and closures specialised by static type (literal folding, direct ``device.attributes[...]``
lookups, overloads bound at compile time) run close to a hand-written predicate while keeping CEL's
semantics: errors are values that ``&&``/``||`` may absorb, missing keys are errors, comprehensions
charge runtime cost and honour a deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from kubedra.cel import types as T
from kubedra.cel.ast import Call, Comprehension, CreateList, CreateMap, Expr, Ident, Literal, Select
from kubedra.cel.checker import Checked
from kubedra.cel.errors import CELError, CostLimitError, InterruptedError_
from kubedra.cel.library import FUNCTIONS, Overload, no_such_overload
from kubedra.cel.values import _MISSING as MISSING
from kubedra.cel.values import NONE, Optional, UInt, cel_equal, go_type_name, type_name
from kubedra.cel.values import _lookup as map_lookup

__all__ = ["EMPTY_MAP", "DomainMap", "EvalState", "compile_tree"]

Fn = Callable[[dict[str, Any]], Any]
_FATAL = (CostLimitError, InterruptedError_)
CHECK_FREQUENCY = 100


class DomainMap(dict):  # type: ignore[type-arg]
    """``device.attributes`` / ``device.capacity``: an unknown domain reads as an empty map."""

    __slots__ = ()


EMPTY_MAP: dict[str, Any] = {}


class EvalState:
    """Runtime cost and deadline of one evaluation (only used by expressions with comprehensions)."""

    __slots__ = ("cost", "deadline", "iterations", "limit")

    def __init__(self, limit: int, deadline: float | None) -> None:
        self.cost = 0
        self.limit = limit
        self.deadline = deadline
        self.iterations = 0


def _rt_match(param: T.Type, v: Any) -> bool:
    k = T.kind(param)
    if T.is_dynlike(param) or T.is_param(param):
        return True
    t = type(v)
    if k == "int":
        return t is int
    if k == "uint":
        return t is UInt
    if k == "double":
        return t is float
    if k == "bool":
        return t is bool
    if k == "string":
        return t is str
    if k == "bytes":
        return t is bytes
    if k == "null_type":
        return v is None
    if k == "list":
        return t is list or t is tuple
    if k == "map":
        return isinstance(v, dict)
    if k == "optional_type":
        return t is Optional
    return type_name(v) == k


class _Compiler:
    def __init__(self, checked: Checked, per_iteration: dict[int, int], tracked: bool) -> None:
        self.checked = checked
        self.per_iteration = per_iteration
        self.tracked = tracked

    def type_of(self, e: Expr) -> T.Type:
        return self.checked.types.get(e.id, T.DYN)

    def compile(self, e: Expr) -> Fn:
        if isinstance(e, Literal):
            v = e.value
            return lambda act: v
        if isinstance(e, Ident):
            name = e.name
            if name in ("int", "uint", "double", "string", "bool", "bytes", "list", "map", "null_type", "type"):
                from kubedra.cel.values import CELType

                tv = CELType(name)
                return lambda act: act.get(name, tv)
            return lambda act: act[name]
        if isinstance(e, Select):
            return self._select(e)
        if isinstance(e, Call):
            return self._call(e)
        if isinstance(e, CreateList):
            return self._list(e)
        if isinstance(e, CreateMap):
            return self._map(e)
        if isinstance(e, Comprehension):
            return self._comprehension(e)
        raise CELError("unsupported expression")

    # ------------------------------------------------------------------ select
    def _select(self, e: Select) -> Fn:
        operand = self.compile(e.operand)
        name = e.field
        if self.type_of(e.operand) == T.DEVICE:
            attr = {"driver": "driver", "attributes": "attributes", "capacity": "capacity",
                    "allowMultipleAllocations": "allow_multiple_allocations"}[name]  # fmt: skip
            if e.test_only:
                return lambda act: True
            return lambda act: getattr(operand(act), attr)
        if e.test_only:

            def has(act: dict[str, Any]) -> bool:
                m = operand(act)
                if isinstance(m, dict):
                    return name in m
                raise CELError(f"invalid type for field selection: {type_name(m)}")

            return has
        if e.optional:

            def opt_select(act: dict[str, Any]) -> Any:
                m = operand(act)
                if type(m) is Optional:
                    if not m.has_value():
                        return NONE
                    m = m.value
                if isinstance(m, dict):
                    v = m.get(name, MISSING)
                    return NONE if v is MISSING else Optional(v)
                raise CELError(f"invalid type for field selection: {type_name(m)}")

            return opt_select

        def select(act: dict[str, Any]) -> Any:
            m = operand(act)
            try:
                return m[name]
            except KeyError:
                if type(m) is DomainMap:
                    return EMPTY_MAP
                raise CELError(f"no such key: {name}") from None
            except TypeError:
                raise CELError(f"invalid type for field selection: {type_name(m)}") from None

        return select

    # ------------------------------------------------------------------ literals
    def _list(self, e: CreateList) -> Fn:
        elems = [self.compile(x) for x in e.elements]
        opt = e.optional_indices
        if not elems:
            return lambda act: []
        if not opt:
            return lambda act: [f(act) for f in elems]

        def build(act: dict[str, Any]) -> list[Any]:
            out = []
            for i, f in enumerate(elems):
                v = f(act)
                if i in opt:
                    if type(v) is not Optional:
                        raise no_such_overload("optional element", v)
                    if v.has_value():
                        out.append(v.value)
                else:
                    out.append(v)
            return out

        return build

    def _map(self, e: CreateMap) -> Fn:
        entries = [(self.compile(k), self.compile(v), o) for k, v, o in e.entries]

        def build(act: dict[str, Any]) -> dict[Any, Any]:
            out: dict[Any, Any] = {}
            for kf, vf, o in entries:
                k = kf(act)
                v = vf(act)
                if type(k) not in (str, int, UInt, bool):
                    raise CELError(f"unsupported key type: {type_name(k)}")
                if map_lookup(out, k) is not MISSING:
                    raise CELError(f"Failed with repeated key: {k}")
                if o:
                    if type(v) is not Optional:
                        raise no_such_overload("optional entry", v)
                    if not v.has_value():
                        continue
                    v = v.value
                out[k] = v
            return out

        return build

    # ------------------------------------------------------------------ calls
    def _call(self, e: Call) -> Fn:
        fn = e.function
        if fn == "_&&_":
            return _and(self.compile(e.args[0]), self.compile(e.args[1]))
        if fn == "_||_":
            return _or(self.compile(e.args[0]), self.compile(e.args[1]))
        if fn == "_?_:_":
            c, a, b = (self.compile(x) for x in e.args)

            def cond(act: dict[str, Any]) -> Any:
                v = c(act)
                if v is True:
                    return a(act)
                if v is False:
                    return b(act)
                raise no_such_overload("_?_:_", v)

            return cond
        if fn == "@not_strictly_false":
            inner = self.compile(e.args[0])

            def nsf(act: dict[str, Any]) -> bool:
                try:
                    return inner(act) is not False
                except _FATAL:
                    raise
                except CELError:
                    return True

            return nsf
        if fn == "_[_]" and self._domain_index(e):
            target = self.compile(e.args[0])
            key = e.args[1].value  # type: ignore[attr-defined]
            return lambda act: target(act).get(key, EMPTY_MAP)
        overloads = self.checked.overloads.get(e.id) or FUNCTIONS.get(fn, [])
        operands = ([e.target] if e.target is not None else []) + list(e.args)
        fns = [self.compile(x) for x in operands]
        static = [self.type_of(x) for x in operands]
        folded = self._fold(overloads, operands)
        if folded is not MISSING:
            return lambda act: folded
        if fn == "_[_]" and len(overloads) >= 1:
            return _index(fns[0], fns[1])
        if fn in ("_==_", "_!=_"):
            eq = _equality(operands, fns, static)
            if fn == "_==_":
                return eq
            return lambda act: not eq(act)
        exact = len(overloads) == 1 and all(not T.is_dynlike(t) and not _has_dyn(t) for t in static)
        if exact:
            if fn in _PY_RELOPS and static[0] == static[1] and static[0] in (T.INT, T.STRING):
                return _relop_same_type(fn, operands, fns)
            impl = overloads[0].impl
            return _direct(impl, fns, operands)
        return _dispatch(fn, overloads, fns)

    def _domain_index(self, e: Call) -> bool:
        lit = e.args[1]
        if not (isinstance(lit, Literal) and isinstance(lit.value, str)):
            return False
        t = e.args[0]
        return (
            isinstance(t, Select)
            and t.field in ("attributes", "capacity")
            and not t.test_only
            and self.type_of(t.operand) == T.DEVICE
        )

    def _fold(self, overloads: list[Overload], operands: list[Expr]) -> Any:
        """Evaluate pure calls on literal arguments once (``quantity("40Gi")``, ``semver("1.0.0")``)."""
        if len(overloads) != 1 or not operands or not all(isinstance(x, Literal) for x in operands):
            return MISSING
        o = overloads[0]
        args = [x.value for x in operands]  # type: ignore[attr-defined]
        if not all(_rt_match(p, v) for p, v in zip(o.params, args, strict=True)):
            return MISSING
        try:
            return o.impl(*args)
        except CELError:
            return MISSING

    # ------------------------------------------------------------------ comprehensions
    def _comprehension(self, e: Comprehension) -> Fn:
        rng = self.compile(e.iter_range)
        init = self.compile(e.accu_init)
        result = self.compile(e.result)
        accu = e.accu_var
        if e.is_bind:

            def bind(act: dict[str, Any]) -> Any:
                saved = act.get(accu, MISSING)
                act[accu] = init(act)
                try:
                    return result(act)
                finally:
                    if saved is MISSING:
                        del act[accu]
                    else:
                        act[accu] = saved

            return bind
        cond = self.compile(e.cond)
        step = self.compile(e.step)
        v1, v2 = e.iter_var, e.iter_var2
        charge = max(1, self.per_iteration.get(e.id, 1))
        tracked = self.tracked

        def loop(act: dict[str, Any]) -> Any:
            r = rng(act)
            if type(r) is list or type(r) is tuple:
                pairs: Any = enumerate(r) if v2 is not None else ((x, None) for x in r)
            elif isinstance(r, dict):
                pairs = r.items() if v2 is not None else ((k, None) for k in r)
            else:
                raise CELError(f"got '{go_type_name(r)}', expected iterable type")
            names = (accu, v1) if v2 is None else (accu, v1, v2)
            saved = [act.get(n, MISSING) for n in names]
            st: EvalState | None = act.get("#st") if tracked else None
            try:
                act[accu] = init(act)
                for a, b in pairs:
                    if st is not None:
                        st.cost += charge
                        if st.cost > st.limit:
                            raise CostLimitError("operation cancelled: actual cost limit exceeded")
                        st.iterations += 1
                        if (
                            st.deadline is not None
                            and st.iterations % CHECK_FREQUENCY == 0
                            and time.monotonic() >= st.deadline
                        ):
                            raise InterruptedError_("operation interrupted")
                    act[v1] = a
                    if v2 is not None:
                        act[v2] = b
                    if cond(act) is False:
                        break
                    act[accu] = step(act)
                return result(act)
            finally:
                for n, s in zip(names, saved, strict=True):
                    if s is MISSING:
                        act.pop(n, None)
                    else:
                        act[n] = s

        return loop


def _has_dyn(t: T.Type) -> bool:
    if isinstance(t, str):
        return T.is_dynlike(t)
    return any(_has_dyn(x) for x in t[1:])


def _logical(a: Fn, b: Fn, decisive: bool, op: str) -> Fn:
    """``&&`` (decisive False) and ``||`` (decisive True): commutative, so an error on one side is
    absorbed when the other side alone decides the result, as CEL specifies."""
    other = not decisive

    def f(act: dict[str, Any]) -> Any:
        try:
            left = a(act)
        except _FATAL:
            raise
        except CELError as err:
            left = err
        if left is decisive:
            return decisive
        try:
            right = b(act)
        except _FATAL:
            raise
        except CELError as err:
            right = err
        if right is decisive:
            return decisive
        if left is other and right is other:
            return other
        for side in (left, right):
            if isinstance(side, CELError):
                raise side
        raise no_such_overload(op, left, right)

    return f


def _and(a: Fn, b: Fn) -> Fn:
    return _logical(a, b, False, "_&&_")


def _or(a: Fn, b: Fn) -> Fn:
    return _logical(a, b, True, "_||_")


def _index(target: Fn, key: Fn) -> Fn:
    def f(act: dict[str, Any]) -> Any:
        m = target(act)
        k = key(act)
        tm = type(m)
        if tm is DomainMap:
            if type(k) is not str:
                raise CELError(f"no such key: {k}")
            return m.get(k, EMPTY_MAP)
        if tm is dict:
            v = map_lookup(m, k)
            if v is MISSING:
                raise CELError(f"no such key: {k}")
            return v
        if tm is list or tm is tuple:
            tk = type(k)
            if tk is float:
                if k != int(k):
                    raise CELError(f"unsupported index value {k}")
                k = int(k)
            elif tk is not int and tk is not UInt:
                raise no_such_overload("_[_]", m, k)
            if not 0 <= k < len(m):
                raise CELError(f"index out of bounds: {k}")
            return m[k]
        raise no_such_overload("_[_]", m, k)

    return f


_PY_RELOPS = {"_<_": "lt", "_<=_": "le", "_>_": "gt", "_>=_": "ge"}


def _relop_same_type(fn: str, operands: list[Expr], fns: list[Fn]) -> Fn:
    """``<``/``>``... on two ints or two strings: Python's operator has CEL's meaning."""
    import operator

    op = getattr(operator, _PY_RELOPS[fn])
    a, b = fns
    if isinstance(operands[1], Literal):
        lit = operands[1].value
        return lambda act: op(a(act), lit)
    return lambda act: op(a(act), b(act))


def _equality(operands: list[Expr], fns: list[Fn], static: list[T.Type]) -> Fn:
    """``==`` specialised for a string/int literal on one side (the common selector shape)."""
    a, b = fns
    for lit_side, other, other_t in ((1, a, static[0]), (0, b, static[1])):
        lit_e = operands[lit_side]
        if isinstance(lit_e, Literal) and type(lit_e.value) in (str, int):
            same = other_t == (T.STRING if type(lit_e.value) is str else T.INT)
            return _eq_literal(other, lit_e.value, same)
    return lambda act: cel_equal(a(act), b(act))


def _eq_literal(other: Fn, lit: Any, statically_same_type: bool) -> Fn:
    if statically_same_type:
        return lambda act: bool(other(act) == lit)
    lt = type(lit)

    def eq_lit(act: dict[str, Any]) -> bool:
        v = other(act)
        if type(v) is lt:
            return bool(v == lit)
        return cel_equal(v, lit)

    return eq_lit


def _direct(impl: Callable[..., Any], fns: list[Fn], operands: list[Expr]) -> Fn:
    if len(fns) == 0:
        return lambda act: impl()
    if len(fns) == 1:
        (a,) = fns
        return lambda act: impl(a(act))
    if len(fns) == 2:
        a, b = fns
        if isinstance(operands[1], Literal):
            lit = operands[1].value
            return lambda act: impl(a(act), lit)
        return lambda act: impl(a(act), b(act))
    return lambda act: impl(*[f(act) for f in fns])


_PY_TYPES: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "uint": (UInt,),
    "double": (float,),
    "bool": (bool,),
    "string": (str,),
    "bytes": (bytes,),
    "null_type": (type(None),),
    "list": (list, tuple),
    "map": (dict, DomainMap),
    "optional_type": (Optional,),
}


def _py_types(param: T.Type) -> tuple[type, ...] | None:
    """The Python types a parameter accepts at runtime (None: anything)."""
    if T.is_dynlike(param) or T.is_param(param):
        return None
    k = T.kind(param)
    if k in _PY_TYPES:
        return _PY_TYPES[k]
    from kubedra.api.quantity import Quantity
    from kubedra.api.semver import Semver

    return {T.QUANTITY: (Quantity,), T.SEMVER: (Semver,)}.get(k, (object,))


def _dispatch(name: str, overloads: list[Overload], fns: list[Fn]) -> Fn:
    """Pick the overload by the runtime types of the arguments (static types were dyn or ambiguous)."""
    n = len(fns)
    cands = [(o.impl, [_py_types(p) for p in o.params]) for o in overloads if len(o.params) == n]

    def f(act: dict[str, Any]) -> Any:
        args = [g(act) for g in fns]
        for impl, checks in cands:
            for v, allowed in zip(args, checks, strict=True):
                if allowed is not None and type(v) not in allowed:
                    break
            else:
                return impl(*args)
        raise no_such_overload(name, *args)

    return f


def compile_tree(e: Expr, checked: Checked, per_iteration: dict[int, int], tracked: bool) -> Fn:
    return _Compiler(checked, per_iteration, tracked).compile(e)
