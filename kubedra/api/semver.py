"""Semantic versions as Kubernetes' CEL semver library and DRA ``version`` attributes read them.

Hand-written: Kubernetes parses with blang/semver (strict SemVer 2.0.0: no ``v`` prefix, no leading
zeros, all three numbers required) and offers a normalising mode for CEL's ``semver(s, true)``. The
error texts mirror blang's so users see the same messages as on a real cluster.
"""

from __future__ import annotations

import re
from functools import total_ordering

__all__ = ["Semver", "SemverError"]

_ALNUM_HYPHEN = re.compile(r"[0-9A-Za-z-]+")


class SemverError(ValueError):
    """Not a semantic version; the message follows blang/semver."""


def _parse_number(part: str, what: str) -> int:
    if not part.isdigit() or not part.isascii():
        raise SemverError(f'Invalid character(s) found in {what} number "{part}"')
    if len(part) > 1 and part[0] == "0":
        raise SemverError(f'{what.capitalize()} number must not contain leading zeroes "{part}"')
    return int(part)


def _parse_pre(part: str) -> int | str:
    if not part:
        raise SemverError("Prerelease is empty")
    if part.isdigit() and part.isascii():
        if len(part) > 1 and part[0] == "0":
            raise SemverError(f'Numeric PreRelease version must not contain leading zeroes "{part}"')
        return int(part)
    if not _ALNUM_HYPHEN.fullmatch(part):
        raise SemverError(f'Invalid character(s) found in prerelease "{part}"')
    return part


@total_ordering
class Semver:
    """major.minor.patch[-pre][+build]; ordering and equality follow SemVer 2.0.0 (build is ignored)."""

    __slots__ = ("build", "major", "minor", "patch", "pre")

    def __init__(
        self, major: int, minor: int, patch: int, pre: tuple[int | str, ...] = (), build: tuple[str, ...] = ()
    ) -> None:
        self.major, self.minor, self.patch, self.pre, self.build = major, minor, patch, pre, build

    @classmethod
    def parse(cls, text: str) -> Semver:
        """Strict parse, like blang's semver.Parse."""
        if not text:
            raise SemverError("Version string empty")
        parts = text.split(".", 2)
        if len(parts) != 3:
            raise SemverError("No Major.Minor.Patch elements found")
        major = _parse_number(parts[0], "major")
        minor = _parse_number(parts[1], "minor")
        rest = parts[2]
        build: tuple[str, ...] = ()
        pre: tuple[int | str, ...] = ()
        if "+" in rest:
            rest, b = rest.split("+", 1)
            items = b.split(".")
            for item in items:
                if not item:
                    raise SemverError("Build meta data is empty")
                if not _ALNUM_HYPHEN.fullmatch(item):
                    raise SemverError(f'Invalid character(s) found in build meta data "{item}"')
            build = tuple(items)
        if "-" in rest:
            rest, p = rest.split("-", 1)
            pre = tuple(_parse_pre(item) for item in p.split("."))
        patch = _parse_number(rest, "patch")
        return cls(major, minor, patch, pre, build)

    @classmethod
    def parse_normalized(cls, text: str) -> Semver:
        """Kubernetes' lenient form: strip ``v``, add missing minor/patch, drop leading zeros."""
        s = text[1:] if text.startswith("v") else text
        core, sep, tail = s, "", ""
        for i, ch in enumerate(s):
            if ch in "-+":
                core, sep, tail = s[:i], ch, s[i + 1 :]
                break
        numbers = core.split(".")
        if len(numbers) > 3:
            raise SemverError("No Major.Minor.Patch elements found")
        while len(numbers) < 3:
            numbers.append("0")
        numbers = [n.lstrip("0") or "0" if n.isdigit() else n for n in numbers]
        return cls.parse(".".join(numbers) + (sep + tail if sep else ""))

    def compare(self, other: Semver) -> int:
        a = (self.major, self.minor, self.patch)
        b = (other.major, other.minor, other.patch)
        if a != b:
            return -1 if a < b else 1
        if self.pre == other.pre:
            return 0
        if not self.pre:
            return 1
        if not other.pre:
            return -1
        for x, y in zip(self.pre, other.pre, strict=False):
            if x == y:
                continue
            if isinstance(x, int) and isinstance(y, int):
                return -1 if x < y else 1
            if isinstance(x, int):
                return -1  # numeric identifiers sort before alphanumeric ones
            if isinstance(y, int):
                return 1
            return -1 if x < y else 1
        return -1 if len(self.pre) < len(other.pre) else (1 if len(self.pre) > len(other.pre) else 0)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Semver):
            return NotImplemented
        return self.compare(other) == 0

    def __lt__(self, other: Semver) -> bool:
        return self.compare(other) < 0

    def __hash__(self) -> int:
        return hash((self.major, self.minor, self.patch, self.pre))

    def __str__(self) -> str:
        s = f"{self.major}.{self.minor}.{self.patch}"
        if self.pre:
            s += "-" + ".".join(str(p) for p in self.pre)
        if self.build:
            s += "+" + ".".join(self.build)
        return s

    def __repr__(self) -> str:
        return f"Semver({str(self)!r})"
