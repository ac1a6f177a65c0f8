"""``isGreaterThan``, ``isLessThan`` and ``compareTo``, which Kubernetes' quantity and semver libraries both define.

One helper registers them for either type, so the two libraries cannot drift apart.
"""

from __future__ import annotations

from kubedra.cel import types as T
from kubedra.cel.library.registry import register


def register_ordering(t: T.Type, prefix: str) -> None:
    register(f"{prefix}_is_greater_than", "isGreaterThan", (t, t), T.BOOL, lambda a, b: a > b, member=True)
    register(f"{prefix}_is_less_than", "isLessThan", (t, t), T.BOOL, lambda a, b: a < b, member=True)
    register(f"{prefix}_compare_to", "compareTo", (t, t), T.INT, lambda a, b: (a > b) - (a < b), member=True)
