"""Static worst-case cost of a DRA selector, following cel-go's estimator and DRA's size bounds.

Upstream rejects new expressions whose estimate exceeds 1,000,000. The rules here are cel-go's
(identifier/select 1, call 1 + arguments, string traversal 0.1 per character, regex 0.25 per pattern
character, comprehension = range size x (condition + step)) with DRA's bounds: driver and domain
63 characters, ids 32, attribute values 64, at most 32 entries per map level, ``includes()`` 48.
"""

from __future__ import annotations

import math

from kubedra.cel import types as T
from kubedra.cel.ast import Call, Comprehension, CreateList, CreateMap, Expr, Ident, Literal, Select
from kubedra.cel.checker import Checked

__all__ = ["MAX_COST", "estimate"]

MAX_COST = (1 << 64) - 1
UNKNOWN = math.inf
STRING_FACTOR = 0.1
REGEX_FACTOR = 0.25
DRIVER_MAX, DOMAIN_MAX, ID_MAX, VALUE_MAX, MAP_MAX, INCLUDES_MAX = 63, 63, 32, 64, 32, 48


def _ceil(x: float) -> float:
    return x if math.isinf(x) else float(math.ceil(round(x, 9)))


class _Estimator:
    def __init__(self, checked: Checked) -> None:
        self.checked = checked
        # tag: what a node denotes on the device (for DRA's size bounds)
        self.tags: dict[int, str] = {}
        self.sizes: dict[int, float] = {}
        self.entry: dict[int, tuple[float, float]] = {}  # (key size, value size) of containers
        self.vars: list[dict[str, tuple[str | None, float | None, tuple[float, float] | None]]] = []

    def type_of(self, e: Expr) -> T.Type:
        return self.checked.types.get(e.id, T.DYN)

    def size(self, e: Expr) -> float:
        if e.id in self.sizes:
            return self.sizes[e.id]
        if isinstance(e, Literal) and isinstance(e.value, (str, bytes)):
            return float(len(e.value))
        if isinstance(e, CreateList):
            return float(len(e.elements))
        if isinstance(e, CreateMap):
            return float(len(e.entries))
        t = self.type_of(e)
        # Quantities and semvers are fixed-size values: Kubernetes accepts `memory == quantity("80Gi")`
        # in new expressions (its own docs and the seed tutorial create such claims).
        if t in (T.BOOL, T.INT, T.UINT, T.DOUBLE, T.NULL, T.QUANTITY, T.SEMVER):
            return 1.0
        if isinstance(e, Ident):
            v = self._var(e.name)
            if v is not None and v[1] is not None:
                return v[1]
        return UNKNOWN

    def entry_of(self, e: Expr) -> tuple[float, float] | None:
        if e.id in self.entry:
            return self.entry[e.id]
        if isinstance(e, CreateList):
            return (1.0, max((self.size(x) for x in e.elements), default=0.0))
        if isinstance(e, Ident):
            v = self._var(e.name)
            if v is not None:
                return v[2]
        return None

    def _var(self, name: str) -> tuple[str | None, float | None, tuple[float, float] | None] | None:
        for scope in reversed(self.vars):
            if name in scope:
                return scope[name]
        return None

    def _tag(self, e: Expr, tag: str) -> None:
        self.tags[e.id] = tag
        if tag == "driver":
            self.sizes[e.id] = DRIVER_MAX
        elif tag in ("attrs", "caps"):
            self.sizes[e.id] = MAP_MAX
            self.entry[e.id] = (DOMAIN_MAX, MAP_MAX)
        elif tag == "attrs_dom":
            self.sizes[e.id] = MAP_MAX
            self.entry[e.id] = (ID_MAX, VALUE_MAX)
        elif tag == "caps_dom":
            self.sizes[e.id] = MAP_MAX
            self.entry[e.id] = (ID_MAX, UNKNOWN)
        elif tag == "attr_val":
            self.sizes[e.id] = VALUE_MAX
            self.entry[e.id] = (1.0, VALUE_MAX)

    def tag_of(self, e: Expr) -> str | None:
        if isinstance(e, Ident):
            v = self._var(e.name)
            if v is not None:
                return v[0]
            return "device" if e.name == "device" else None
        return self.tags.get(e.id)

    def cost(self, e: Expr) -> float:
        if isinstance(e, Literal):
            return 0.0
        if isinstance(e, Ident):
            return 1.0
        if isinstance(e, Select):
            c = self.cost(e.operand)
            if e.test_only:
                return c
            ot = self.tag_of(e.operand)
            if ot == "device":
                self._tag(e, {"driver": "driver", "attributes": "attrs", "capacity": "caps"}.get(e.field, "other"))
            elif ot in ("attrs", "caps"):
                self._tag(e, "attrs_dom" if ot == "attrs" else "caps_dom")
            elif ot == "attrs_dom":
                self._tag(e, "attr_val")
            k = T.kind(self.type_of(e.operand))
            if k in ("map", T.DEVICE, "dyn", "any"):
                c += 1
            return c
        if isinstance(e, CreateList):
            return sum(self.cost(x) for x in e.elements) + 10
        if isinstance(e, CreateMap):
            return sum(self.cost(k) + self.cost(v) for k, v, _ in e.entries) + 30
        if isinstance(e, Comprehension):
            return self._comprehension(e)
        if isinstance(e, Call):
            return self._call(e)
        return 0.0

    def _comprehension(self, e: Comprehension) -> float:
        total = self.cost(e.iter_range) + self.cost(e.accu_init)
        accu = (self.tag_of(e.accu_init), self.size(e.accu_init), self.entry_of(e.accu_init))
        self.vars.append({e.accu_var: accu})
        try:
            if e.is_bind:
                total += self.cost(e.result)
                self.sizes[e.id] = self.size(e.result)
                ent = self.entry_of(e.result)
                if ent is not None:
                    self.entry[e.id] = ent
                if e.result.id in self.tags:
                    self.tags[e.id] = self.tags[e.result.id]
                return total
            rng = self.entry_of(e.iter_range)
            rtag = self.tag_of(e.iter_range)
            is_list = T.kind(self.type_of(e.iter_range)) == "list" or rtag == "attr_val"
            key_size = rng[0] if rng else None
            val_size = rng[1] if rng else None
            key_tag = {"attrs": "domain", "caps": "domain"}.get(rtag or "")
            val_tag = {"attrs": "attrs_dom", "caps": "caps_dom"}.get(rtag or "")
            loop: dict[str, tuple[str | None, float | None, tuple[float, float] | None]] = {}
            if e.iter_var2 is None:
                loop[e.iter_var] = (None, val_size, None) if is_list else (key_tag, key_size, None)
            else:
                loop[e.iter_var] = (None, 1.0, None) if is_list else (key_tag, key_size, None)
                loop[e.iter_var2] = (val_tag, val_size, None)
            self.vars.append(loop)
            try:
                per_iter = self.cost(e.cond) + self.cost(e.step)
            finally:
                self.vars.pop()
            total += self.cost(e.result)
            count = self.size(e.iter_range)
            total += count * per_iter if per_iter else 0.0
            return total
        finally:
            self.vars.pop()

    def _call(self, e: Call) -> float:
        fn = e.function
        target_cost = self.cost(e.target) if e.target is not None else 0.0
        arg_costs = [self.cost(a) for a in e.args]
        args = sum(arg_costs)
        if fn in ("_&&_", "_||_"):
            return arg_costs[0] + arg_costs[1]
        if fn == "_?_:_":
            return arg_costs[0] + max(arg_costs[1], arg_costs[2])
        if fn == "dyn":
            return 1 + args
        if fn == "_[_]":
            ot = self.tag_of(e.args[0])
            if ot in ("attrs", "caps"):
                self._tag(e, "attrs_dom" if ot == "attrs" else "caps_dom")
            elif ot == "attrs_dom":
                self._tag(e, "attr_val")
            else:
                ent = self.entry_of(e.args[0])
                if ent is not None:
                    self.sizes[e.id] = ent[1]
        overloads = self.checked.overloads.get(e.id, [])
        ids = {o.id for o in overloads}
        best = 0.0
        for oid in ids or {""}:
            best = max(best, self._fn_cost(e, fn, oid))
        return target_cost + args + best

    def _fn_cost(self, e: Call, fn: str, oid: str) -> float:
        a = e.args
        if fn in ("_==_", "_!=_") or (fn in ("_<_", "_<=_", "_>_", "_>=_") and oid.endswith(("string", "bytes"))):
            smallest = min(self.size(a[0]), self.size(a[1]))
            return _ceil(smallest * STRING_FACTOR)
        if oid == "in_list":
            return self.size(a[1])
        if oid == "dra_includes_dyn_dyn":
            return INCLUDES_MAX
        if fn in ("matches", "find", "findAll") and e.target is not None:
            s = _ceil((self.size(e.target) + 1) * STRING_FACTOR)
            return s * _ceil(self.size(a[0]) * REGEX_FACTOR)
        if fn == "matches" and len(a) == 2:
            return _ceil((self.size(a[0]) + 1) * STRING_FACTOR) * _ceil(self.size(a[1]) * REGEX_FACTOR)
        if fn == "contains" and e.target is not None:
            return _ceil(self.size(e.target) * STRING_FACTOR) * _ceil(self.size(a[0]) * STRING_FACTOR)
        if fn in ("startsWith", "endsWith"):
            return _ceil(self.size(a[0]) * STRING_FACTOR)
        if oid in ("add_string", "add_bytes"):
            total = self.size(a[0]) + self.size(a[1])
            self.sizes[e.id] = total
            return _ceil(total * STRING_FACTOR)
        if oid == "add_list":
            self.sizes[e.id] = self.size(a[0]) + self.size(a[1])
            return 1.0
        if e.target is not None and fn in ("split", "lowerAscii", "upperAscii", "replace", "trim", "substring",
                                           "indexOf", "lastIndexOf", "charAt", "join"):  # fmt: skip
            sz = self.size(e.target)
            if fn == "split":
                # Kubernetes' estimator: traverse the string, build a list of up to len(s) parts.
                self.sizes[e.id] = sz
                return _ceil(sz * STRING_FACTOR) + _ceil(sz * STRING_FACTOR) - 1 if not math.isinf(sz) else sz
            if fn in ("lowerAscii", "upperAscii", "trim", "replace", "substring"):
                self.sizes[e.id] = sz
            return _ceil(sz * STRING_FACTOR) if fn not in ("charAt",) else 1.0
        return 1.0


def estimate(e: Expr, checked: Checked) -> int:
    """The estimated worst-case cost, saturated at 2^64-1 like cel-go's uint64 arithmetic."""
    c = _Estimator(checked).cost(e)
    if math.isinf(c) or c > MAX_COST:
        return MAX_COST
    return int(c)
