"""CEL's ``matches()`` and Kubernetes' regex library (``find``, ``findAll``).

Uses Python's ``re`` rather than an RE2 binding (no extra native dependency): the two agree on the
syntax selectors use, and the few spellings that differ are translated. Compiled patterns are cached
because a selector runs the same pattern once per device.
"""

from __future__ import annotations

import re

from kubedra.cel import types as T
from kubedra.cel.errors import CELError
from kubedra.cel.library.registry import register

_CACHE_SIZE = 256
_regex_cache: dict[str, re.Pattern[str]] = {}


def _regex(pattern: str) -> re.Pattern[str]:
    rx = _regex_cache.get(pattern)
    if rx is None:
        try:
            rx = re.compile(_re2_to_python(pattern))
        except re.error as e:
            raise CELError(f"error parsing regexp: {e}") from None
        if len(_regex_cache) > _CACHE_SIZE:
            _regex_cache.clear()
        _regex_cache[pattern] = rx
    return rx


def _re2_to_python(p: str) -> str:
    """RE2 and Python agree on the syntax CEL users write; translate the few spellings that differ."""
    return p.replace(r"\z", r"\Z")


def _matches(s: str, p: str) -> bool:
    return _regex(p).search(s) is not None


def _find(s: str, p: str) -> str:
    m = _regex(p).search(s)
    return m.group(0) if m else ""


def _find_all(s: str, p: str, n: int = -1) -> list[str]:
    if n == 0:
        return []
    out = [m.group(0) for m in _regex(p).finditer(s)]
    return out if n < 0 else out[:n]


S = T.STRING
register("matches_string", "matches", (S, S), T.BOOL, _matches, member=True)
register("matches", "matches", (S, S), T.BOOL, _matches)
register("find", "find", (S, S), S, _find, member=True)
register("findAll", "findAll", (S, S), T.list_of(S), _find_all, member=True)
register("findAllN", "findAll", (S, S, T.INT), T.list_of(S), _find_all, member=True)
