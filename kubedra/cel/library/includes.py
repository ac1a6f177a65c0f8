"""DRA's ``includes()``: membership that works on both scalar and list-typed device attributes.

Gated on list-typed attributes (``gate="list"``) because it only exists in clusters with that feature;
the length cap keeps the cost estimate bounded, as upstream.
"""

from __future__ import annotations

from typing import Any

from kubedra.cel import types as T
from kubedra.cel.errors import CELError
from kubedra.cel.library.registry import register
from kubedra.cel.values import cel_equal

MAX_INCLUDES_LIST = 48


def _includes(target: Any, arg: Any) -> bool:
    if isinstance(target, (list, tuple)):
        if len(target) > MAX_INCLUDES_LIST:
            raise CELError(f"'includes' function cannot be applied to lists longer than {MAX_INCLUDES_LIST} values")
        return any(cel_equal(x, arg) for x in target)
    return cel_equal(target, arg)


register("dra_includes_dyn_dyn", "includes", (T.DYN, T.DYN), T.BOOL, _includes, member=True, gate="list")
