"""Kubernetes' CEL semver library: ``semver()``, ``isSemver()`` and the Semver methods.

Parsing lives in ``kubedra.api.semver`` (shared with validation); this module adapts it to CEL with
Kubernetes' error message prefix.
"""

from __future__ import annotations

from kubedra.api.semver import Semver, SemverError
from kubedra.cel import types as T
from kubedra.cel.errors import CELError
from kubedra.cel.library.ordering import register_ordering
from kubedra.cel.library.registry import register

V = T.SEMVER


def _semver(s: str, normalize: bool = False) -> Semver:
    try:
        return Semver.parse_normalized(s) if normalize else Semver.parse(s)
    except SemverError as e:
        raise CELError(f"error parsing semver: {e}") from None


def _is_semver(s: str, normalize: bool = False) -> bool:
    try:
        _semver(s, normalize)
    except CELError:
        return False
    return True


register("string_to_semver", "semver", (T.STRING,), V, _semver)
register("string_bool_to_semver", "semver", (T.STRING, T.BOOL), V, _semver)
register("is_semver_string", "isSemver", (T.STRING,), T.BOOL, _is_semver)
register("is_semver_string_bool", "isSemver", (T.STRING, T.BOOL), T.BOOL, _is_semver)
register("semver_major", "major", (V,), T.INT, lambda v: v.major, member=True)
register("semver_minor", "minor", (V,), T.INT, lambda v: v.minor, member=True)
register("semver_patch", "patch", (V,), T.INT, lambda v: v.patch, member=True)
register_ordering(V, "semver")
