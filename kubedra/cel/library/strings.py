"""CEL's string functions and the ext.Strings library (v2) that Kubernetes enables.

Written out because the semantics are Go's, not Python's: indexes are checked and out-of-range is an
error, ``lowerAscii`` touches ASCII only, ``split`` with a limit and ``trim`` follow Go's strings package.
"""

from __future__ import annotations

from typing import Any

from kubedra.cel import types as T
from kubedra.cel.errors import CELError
from kubedra.cel.library.registry import no_such_overload, register

S = T.STRING
register("contains_string", "contains", (S, S), T.BOOL, lambda s, x: x in s, member=True)
register("starts_with_string", "startsWith", (S, S), T.BOOL, lambda s, x: s.startswith(x), member=True)
register("ends_with_string", "endsWith", (S, S), T.BOOL, lambda s, x: s.endswith(x), member=True)


def _check_index(s: str, i: int) -> None:
    if not 0 <= i <= len(s):
        raise CELError(f"index out of range: {i}")


def _char_at(s: str, i: int) -> str:
    _check_index(s, i)
    return s[i : i + 1]


def _index_of(s: str, sub: str, start: int = 0) -> int:
    _check_index(s, start)
    return s.find(sub, start)


def _last_index_of(s: str, sub: str, end: int | None = None) -> int:
    if end is None:
        return s.rfind(sub)
    _check_index(s, end)
    return s.rfind(sub, 0, end + len(sub))


def _substring(s: str, start: int, end: int | None = None) -> str:
    if end is None:
        end = len(s)
    _check_index(s, start)
    _check_index(s, end)
    if start > end:
        raise CELError(f"invalid substring range. start: {start}, end: {end}")
    return s[start:end]


def _replace(s: str, old: str, new: str, n: int = -1) -> str:
    return s.replace(old, new, n if n >= 0 else -1)


def _split(s: str, sep: str, n: int = -1) -> list[str]:
    if n == 0:
        return []
    if sep == "":
        chars = list(s)
        if n > 0 and len(chars) > n:
            chars = [*chars[: n - 1], "".join(chars[n - 1 :])]
        return chars
    return s.split(sep, n - 1) if n > 0 else s.split(sep)


def _lower_ascii(s: str) -> str:
    return "".join(c.lower() if "A" <= c <= "Z" else c for c in s)


def _upper_ascii(s: str) -> str:
    return "".join(c.upper() if "a" <= c <= "z" else c for c in s)


def _join(lst: Any, sep: str = "") -> str:
    for x in lst:
        if type(x) is not str:
            raise no_such_overload("join", x)
    return sep.join(lst)


_QUOTE_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v",
                  "\\": "\\\\", '"': '\\"'}  # fmt: skip


def _quote(s: str) -> str:
    return '"' + "".join(_QUOTE_ESCAPES.get(c, c) for c in s) + '"'


register("string_char_at_int", "charAt", (S, T.INT), S, _char_at, member=True)
register("string_index_of_string", "indexOf", (S, S), T.INT, _index_of, member=True)
register("string_index_of_string_int", "indexOf", (S, S, T.INT), T.INT, _index_of, member=True)
register("string_last_index_of_string", "lastIndexOf", (S, S), T.INT, _last_index_of, member=True)
register("string_last_index_of_string_int", "lastIndexOf", (S, S, T.INT), T.INT, _last_index_of, member=True)
register("string_lower_ascii", "lowerAscii", (S,), S, _lower_ascii, member=True)
register("string_upper_ascii", "upperAscii", (S,), S, _upper_ascii, member=True)
register("string_replace_string_string", "replace", (S, S, S), S, _replace, member=True)
register("string_replace_string_string_int", "replace", (S, S, S, T.INT), S, _replace, member=True)
register("string_split_string", "split", (S, S), T.list_of(S), _split, member=True)
register("string_split_string_int", "split", (S, S, T.INT), T.list_of(S), _split, member=True)
register("string_substring_int", "substring", (S, T.INT), S, _substring, member=True)
register("string_substring_int_int", "substring", (S, T.INT, T.INT), S, _substring, member=True)
register("string_trim", "trim", (S,), S, lambda s: s.strip(" \t\n\v\f\r\x85\xa0"), member=True)
register("list_join", "join", (T.list_of(S),), S, _join, member=True)
register("list_join_string", "join", (T.list_of(S), S), S, _join, member=True)
register("strings_quote", "strings.quote", (S,), S, _quote)
