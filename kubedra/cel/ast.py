"""The CEL syntax tree shared by the parser, type checker, cost estimator and interpreter.

Macros (``all``, ``exists``, ``cel.bind``, ...) are expanded by the parser into ``Comprehension``
nodes exactly as cel-go expands them, because upstream's cost estimates are defined on that form.
"""

from __future__ import annotations

from typing import Any

ACCU = "@result"


class Expr:
    __slots__ = ("id", "pos")

    def __init__(self, pos: int) -> None:
        self.pos = pos
        self.id = 0


class Literal(Expr):
    __slots__ = ("value",)

    def __init__(self, pos: int, value: Any) -> None:
        super().__init__(pos)
        self.value = value


class Ident(Expr):
    __slots__ = ("name",)

    def __init__(self, pos: int, name: str) -> None:
        super().__init__(pos)
        self.name = name


class Select(Expr):
    """``operand.field``; ``test_only`` is ``has(operand.field)``; ``optional`` is ``operand.?field``."""

    __slots__ = ("field", "operand", "optional", "test_only")

    def __init__(self, pos: int, operand: Expr, field: str, test_only: bool = False, optional: bool = False):
        super().__init__(pos)
        self.operand, self.field, self.test_only, self.optional = operand, field, test_only, optional


class Call(Expr):
    """A global (``target is None``) or member function call; operators are calls too (``_&&_``)."""

    __slots__ = ("args", "function", "target")

    def __init__(self, pos: int, function: str, args: list[Expr], target: Expr | None = None) -> None:
        super().__init__(pos)
        self.function, self.args, self.target = function, args, target


class CreateList(Expr):
    __slots__ = ("elements", "optional_indices")

    def __init__(self, pos: int, elements: list[Expr], optional_indices: frozenset[int] = frozenset()):
        super().__init__(pos)
        self.elements, self.optional_indices = elements, optional_indices


class CreateMap(Expr):
    __slots__ = ("entries",)

    def __init__(self, pos: int, entries: list[tuple[Expr, Expr, bool]]) -> None:
        super().__init__(pos)
        self.entries = entries


class Comprehension(Expr):
    __slots__ = ("accu_init", "accu_var", "cond", "iter_range", "iter_var", "iter_var2", "result", "step")

    def __init__(
        self,
        pos: int,
        iter_var: str,
        iter_var2: str | None,
        iter_range: Expr,
        accu_var: str,
        accu_init: Expr,
        cond: Expr,
        step: Expr,
        result: Expr,
    ) -> None:
        super().__init__(pos)
        self.iter_var, self.iter_var2, self.iter_range = iter_var, iter_var2, iter_range
        self.accu_var, self.accu_init = accu_var, accu_init
        self.cond, self.step, self.result = cond, step, result

    @property
    def is_bind(self) -> bool:
        return (
            isinstance(self.iter_range, CreateList)
            and not self.iter_range.elements
            and isinstance(self.cond, Literal)
            and self.cond.value is False
            and self.accu_var != ACCU
        )


def children(e: Expr) -> list[Expr]:
    if isinstance(e, Select):
        return [e.operand]
    if isinstance(e, Call):
        return ([e.target] if e.target is not None else []) + list(e.args)
    if isinstance(e, CreateList):
        return list(e.elements)
    if isinstance(e, CreateMap):
        return [x for k, v, _ in e.entries for x in (k, v)]
    if isinstance(e, Comprehension):
        return [e.iter_range, e.accu_init, e.cond, e.step, e.result]
    return []
