"""compile_selector(): expression + environment + features → a reusable, cached Selector.

Environments as in Kubernetes: ``stored`` (expressions already in the cluster; every library is
declared, no cost limit at compile time) and ``new`` (expressions being created or changed;
feature-gated declarations only with their gate, estimated cost must stay within 1,000,000).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from kubedra.cel import types as T
from kubedra.cel.ast import Call, Comprehension, Expr, Ident, Select, children
from kubedra.cel.checker import check
from kubedra.cel.cost import estimate
from kubedra.cel.device import CELDevice
from kubedra.cel.errors import CELError, CompileError
from kubedra.cel.interpreter import EvalState, compile_tree
from kubedra.cel.parser import parse
from kubedra.cel.values import type_name

__all__ = ["CACHE_SIZE", "COST_LIMIT", "CELFeatures", "Selector", "compile_selector"]

COST_LIMIT = 1_000_000  # CELSelectorExpressionMaxCost
CACHE_SIZE = 256
ENVIRONMENTS = ("stored", "new")


@dataclass(frozen=True)
class CELFeatures:
    """Feature gates that change the environment: DRAConsumableCapacity, DRAListTypeAttributes."""

    consumable_capacity: bool = False
    list_type_attributes: bool = False


class Selector:
    """A compiled device selector. Thread-safe and reusable; ``matches`` never returns a quiet false
    for an error."""

    __slots__ = ("_fn", "_list", "_tracked", "cost_limit", "environment", "estimated_cost", "expression", "features")

    def __init__(self, expression: str, environment: str, features: CELFeatures, fn: Any, estimated_cost: int,
                 tracked: bool, cost_limit: int) -> None:  # fmt: skip
        self.expression = expression
        self.environment = environment
        self.features = features
        self.estimated_cost = estimated_cost
        self.cost_limit = cost_limit
        self._fn = fn
        self._tracked = tracked
        self._list = features.list_type_attributes

    def matches(self, device: CELDevice, *, deadline: float | None = None) -> bool:
        """Evaluate against one device. ``deadline`` is a ``time.monotonic()`` instant."""
        err = device.error_list if self._list else device.error_scalar
        if err is not None:
            raise CELError(err)
        act: dict[str, Any] = {"device": device}
        if self._tracked:
            act["#st"] = EvalState(self.cost_limit, deadline)
        result = self._fn(act)
        if result is True or result is False:
            return result
        raise CELError(f"CEL result of type {type_name(result)} could not be converted to bool")

    def __repr__(self) -> str:
        return f"Selector({self.expression!r}, environment={self.environment!r})"


def _device_fields(environment: str, features: CELFeatures) -> dict[str, T.Type]:
    attr: T.Type = T.DYN if features.list_type_attributes else T.ANY
    fields: dict[str, T.Type] = {
        "driver": T.STRING,
        "attributes": T.map_of(T.STRING, T.map_of(T.STRING, attr)),
        "capacity": T.map_of(T.STRING, T.map_of(T.STRING, T.QUANTITY)),
    }
    if environment == "stored" or features.consumable_capacity:
        fields["allowMultipleAllocations"] = T.BOOL
    return fields


def _local_cost(e: Expr) -> int:
    """Operations evaluated per iteration, nested comprehensions excluded (they charge their own)."""
    if isinstance(e, Comprehension):
        return 1
    n = 1 if isinstance(e, (Ident, Call)) or (isinstance(e, Select) and not e.test_only) else 0
    return n + sum(_local_cost(c) for c in children(e))


def _comprehensions(e: Expr) -> list[Comprehension]:
    out = [e] if isinstance(e, Comprehension) and not e.is_bind else []
    for c in children(e):
        out.extend(_comprehensions(c))
    return out


@functools.lru_cache(maxsize=CACHE_SIZE)
def _compile(expression: str, environment: str, features: CELFeatures, cost_limit: int) -> Selector:
    try:
        tree = parse(expression)
        gates = {"list"} if (environment == "stored" or features.list_type_attributes) else set()
        checked = check(expression, tree, _device_fields(environment, features), gates)
    except CompileError as e:
        raise CompileError(f"compilation failed: {e.message}") from None
    except RecursionError:
        raise CompileError("compilation failed: expression nested too deeply") from None
    out = checked.result
    allowed = {T.BOOL, T.ANY} | ({T.DYN} if features.list_type_attributes else set())
    if out not in allowed:
        raise CompileError(f"must evaluate to bool or the unknown type, not {T.fmt(out)}")
    cost = estimate(tree, checked)
    if environment == "new" and cost > cost_limit:
        raise CompileError("too complex, exceeds cost limit", reason="Forbidden")
    loops = _comprehensions(tree)
    per_iteration = {c.id: _local_cost(c.cond) + _local_cost(c.step) for c in loops}
    fn = compile_tree(tree, checked, per_iteration, tracked=bool(loops))
    return Selector(expression, environment, features, fn, cost, bool(loops), cost_limit)


def compile_selector(
    expression: str,
    *,
    environment: str = "new",
    features: CELFeatures | None = None,
    cost_limit: int = COST_LIMIT,
) -> Selector:
    """Compile (or fetch from the LRU cache) a DRA device selector.

    Raises CompileError with Kubernetes' wording; failed compilations are not cached.
    """
    if environment not in ENVIRONMENTS:
        raise ValueError(f"environment must be one of {ENVIRONMENTS}, not {environment!r}")
    return _compile(expression, environment, features or CELFeatures(), cost_limit)
