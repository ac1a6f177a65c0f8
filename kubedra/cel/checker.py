"""Type checking: undeclared names, unknown fields, impossible overloads and the result type.

Mirrors what cel-go's checker reports for DRA selectors (the compile errors users see on a field
path), and records per node the static type and candidate overloads for the cost estimator and the
interpreter.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kubedra.cel import types as T
from kubedra.cel.ast import (
    Call,
    Comprehension,
    CreateList,
    CreateMap,
    Expr,
    Ident,
    Literal,
    Select,
)
from kubedra.cel.errors import CompileError
from kubedra.cel.library import FUNCTIONS, Overload
from kubedra.cel.values import UInt

__all__ = ["Checked", "check"]

_TYPE_IDENTS = {"int", "uint", "double", "string", "bool", "bytes", "list", "map", "null_type", "type"}


@dataclass
class Checked:
    types: dict[int, T.Type] = field(default_factory=dict)
    overloads: dict[int, list[Overload]] = field(default_factory=dict)
    # Member calls rewritten to namespaced global functions (``sets.contains(...)``).
    result: T.Type = T.DYN


class _Checker:
    def __init__(self, src: str, device_fields: dict[str, T.Type], gates: set[str]) -> None:
        self.src = src
        self.device_fields = device_fields
        self.gates = gates
        self.out = Checked()
        self.scopes: list[dict[str, T.Type]] = []

    def fail(self, e: Expr, msg: str) -> CompileError:
        line = self.src.count("\n", 0, e.pos) + 1
        col = e.pos - (self.src.rfind("\n", 0, e.pos) + 1) + 1
        return CompileError(f"ERROR: <input>:{line}:{col}: {msg}")

    def lookup(self, name: str) -> T.Type | None:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        if name == "device":
            return T.DEVICE
        return None

    def check(self, e: Expr) -> T.Type:
        t = self._check(e)
        self.out.types[e.id] = t
        return t

    def _check(self, e: Expr) -> T.Type:
        if isinstance(e, Literal):
            v = e.value
            if v is None:
                return T.NULL
            if isinstance(v, bool):
                return T.BOOL
            if isinstance(v, UInt):
                return T.UINT
            if isinstance(v, int):
                return T.INT
            if isinstance(v, float):
                return T.DOUBLE
            if isinstance(v, str):
                return T.STRING
            return T.BYTES
        if isinstance(e, Ident):
            t = self.lookup(e.name)
            if t is not None:
                return t
            if e.name in _TYPE_IDENTS:
                return T.TYPE
            raise self.fail(e, f"undeclared reference to '{e.name}' (in container '')")
        if isinstance(e, Select):
            return self._select(e)
        if isinstance(e, Call):
            return self._call(e)
        if isinstance(e, CreateList):
            elem: T.Type | None = None
            for i, x in enumerate(e.elements):
                xt = self.check(x)
                if i in e.optional_indices:
                    xt = xt[1] if T.kind(xt) == "optional_type" else T.DYN
                elem = self._homogeneous(x, elem, xt)
            return T.list_of(elem or T.DYN)
        if isinstance(e, CreateMap):
            kt: T.Type | None = None
            vt: T.Type | None = None
            for k, v, opt in e.entries:
                kt = self._homogeneous(k, kt, self.check(k))
                t = self.check(v)
                if opt:
                    t = t[1] if T.kind(t) == "optional_type" else T.DYN
                vt = self._homogeneous(v, vt, t)
            return T.map_of(kt or T.DYN, vt or T.DYN)
        if isinstance(e, Comprehension):
            return self._comprehension(e)
        raise self.fail(e, "unsupported expression")

    def _homogeneous(self, e: Expr, have: T.Type | None, t: T.Type) -> T.Type:
        if have is None:
            return t
        if T.is_dynlike(have) or T.is_dynlike(t) or have == t:
            return have if not T.is_dynlike(have) else t
        if t == T.NULL or have == T.NULL:
            return have
        raise self.fail(e, f"expected type '{T.fmt(have)}' but found '{T.fmt(t)}'")

    def _select(self, e: Select) -> T.Type:
        ot = self.check(e.operand)
        if T.kind(ot) == "optional_type" and e.optional:
            ot = ot[1]
        if ot == T.DEVICE:
            ft = self.device_fields.get(e.field)
            if ft is None:
                raise self.fail(e, f"undefined field '{e.field}'")
            res: T.Type = ft
        elif T.kind(ot) == "map":
            res = ot[2]
        elif T.is_dynlike(ot):
            res = T.DYN
        else:
            raise self.fail(e, f"type '{T.fmt(ot)}' does not support field selection")
        if e.test_only:
            return T.BOOL
        return T.opt_of(res) if e.optional else res

    def _call(self, e: Call) -> T.Type:
        fn = e.function
        if e.target is not None and isinstance(e.target, Ident) and self.lookup(e.target.name) is None:
            qualified = f"{e.target.name}.{fn}"
            if qualified in FUNCTIONS:
                e.function, e.target = qualified, None
                fn = qualified
        if fn in ("_&&_", "_||_"):
            for a in e.args:
                self._expect_bool(a, fn)
            return T.BOOL
        if fn == "_?_:_":
            self._expect_bool(e.args[0], fn)
            ta, tb = self.check(e.args[1]), self.check(e.args[2])
            return T.join(ta, tb) if ta != tb else ta
        target_t = self.check(e.target) if e.target is not None else None
        arg_ts = [self.check(a) for a in e.args]
        candidates = [o for o in FUNCTIONS.get(fn, ()) if o.gate is None or o.gate in self.gates]
        if not candidates:
            raise self.fail(e, f"undeclared reference to '{fn}' (in container '')")
        member = e.target is not None
        all_ts = ([target_t] if target_t is not None else []) + arg_ts
        matched: list[tuple[Overload, T.Type]] = []
        for o in candidates:
            if o.member != member or len(o.params) != len(all_ts):
                continue
            binding: dict[str, T.Type] = {}
            if all(T.unify(p, a, binding) for p, a in zip(o.params, all_ts, strict=True)):
                matched.append((o, T.subst(o.result, binding)))
        if not matched:
            shown = ", ".join(T.fmt(t) for t in arg_ts)
            applied = f"{T.fmt(target_t)}.({shown})" if target_t is not None else f"({shown})"
            raise self.fail(e, f"found no matching overload for '{fn}' applied to '{applied}'")
        self.out.overloads[e.id] = [o for o, _ in matched]
        result = matched[0][1]
        for _, r in matched[1:]:
            if r != result:
                result = T.DYN
        return result

    def _expect_bool(self, a: Expr, fn: str) -> None:
        t = self.check(a)
        if t != T.BOOL and not T.is_dynlike(t):
            raise self.fail(a, f"found no matching overload for '{fn}' applied to '({T.fmt(t)}, ...)'")

    def _comprehension(self, e: Comprehension) -> T.Type:
        rt = self.check(e.iter_range)
        k = T.kind(rt)
        if k == "list":
            v1, v2 = (rt[1], None) if e.iter_var2 is None else (T.INT, rt[1])
        elif k == "map":
            v1, v2 = (rt[1], None) if e.iter_var2 is None else (rt[1], rt[2])
        elif rt == T.DYN or rt == T.ERROR:
            v1, v2 = T.DYN, (None if e.iter_var2 is None else T.DYN)
        else:
            raise self.fail(
                e.iter_range,
                f"expression of type '{T.fmt(rt)}' cannot be the range of a comprehension "
                "(must be list, map, or dynamic)",
            )
        init_t = self.check(e.accu_init)
        accu_t = init_t
        scope: dict[str, T.Type] = {e.accu_var: accu_t}
        self.scopes.append(scope)
        try:
            if not e.is_bind:
                loop_scope: dict[str, T.Type] = {e.iter_var: v1}
                if e.iter_var2 is not None and v2 is not None:
                    loop_scope[e.iter_var2] = v2
                self.scopes.append(loop_scope)
                try:
                    self.check(e.cond)
                    step_t = self.check(e.step)
                finally:
                    self.scopes.pop()
                if init_t != step_t:
                    scope[e.accu_var] = T.join(init_t, step_t) if not _empty_literal(e.accu_init) else step_t
                    # re-check the step with the refined accumulator so node types are final
                    self.scopes.append(loop_scope)
                    try:
                        self.check(e.step)
                    finally:
                        self.scopes.pop()
            else:
                self.check(e.cond)
                self.check(e.step)
            return self.check(e.result)
        finally:
            self.scopes.pop()


def _empty_literal(e: Expr) -> bool:
    return (isinstance(e, CreateList) and not e.elements) or (isinstance(e, CreateMap) and not e.entries)


def check(src: str, e: Expr, device_fields: dict[str, T.Type], gates: set[str]) -> Checked:
    c = _Checker(src, device_fields, gates)
    c.out.result = c.check(e)
    return c.out
