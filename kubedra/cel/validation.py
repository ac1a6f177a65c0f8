"""The ``compile_cel`` callback that ``kubedra.api.validation`` takes, built on this package's compiler.

kubedra.api sits below kubedra.cel and cannot import it, so the API server and ``kubedra validate``
inject this instead; one definition keeps their verdicts on an expression identical.
"""

from __future__ import annotations

import functools

from kubedra.api.features import DRA_CONSUMABLE_CAPACITY, DRA_LIST_TYPE_ATTRIBUTES, FeatureGates
from kubedra.api.validation import CompileCEL
from kubedra.cel.errors import CompileError
from kubedra.cel.selector import CELFeatures, compile_selector


@functools.lru_cache(maxsize=16)
def _compiler(consumable_capacity: bool, list_type_attributes: bool) -> CompileCEL:
    features = CELFeatures(consumable_capacity=consumable_capacity, list_type_attributes=list_type_attributes)

    def compile_cel(expression: str, environment: str) -> str | None:
        try:
            compile_selector(expression, environment=environment, features=features)
        except CompileError as exc:
            return exc.message
        return None

    return compile_cel


def compiler_for(gates: FeatureGates) -> CompileCEL:
    """None when the expression compiles, else the problem in Kubernetes' words (a message starting
    ``too complex`` becomes Forbidden on the field path). Compiled selectors land in the selector
    cache, so the allocator reuses them."""
    return _compiler(gates.enabled(DRA_CONSUMABLE_CAPACITY), gates.enabled(DRA_LIST_TYPE_ATTRIBUTES))
