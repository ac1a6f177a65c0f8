"""Field-level validation errors in the shape of apimachinery's ``field.Error``.

Clients (kubectl users, tests, scripts) match on the exact text Kubernetes prints, e.g.
``spec.devices.requests[0].exactly.count: Invalid value: 0: must be greater than zero``, so the
error kinds, their names and the way a bad value is rendered follow apimachinery precisely.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any


class ErrorType(enum.Enum):
    """The machine-readable kind (``reason`` in a Status cause) and its human-readable name."""

    NOT_FOUND = ("FieldValueNotFound", "Not found")
    REQUIRED = ("FieldValueRequired", "Required value")
    DUPLICATE = ("FieldValueDuplicate", "Duplicate value")
    INVALID = ("FieldValueInvalid", "Invalid value")
    NOT_SUPPORTED = ("FieldValueNotSupported", "Unsupported value")
    FORBIDDEN = ("FieldValueForbidden", "Forbidden")
    TOO_LONG = ("FieldValueTooLong", "Too long")
    TOO_MANY = ("FieldValueTooMany", "Too many")
    INTERNAL = ("InternalError", "Internal error")
    TYPE_INVALID = ("FieldValueTypeInvalid", "Invalid value")

    @property
    def reason(self) -> str:
        return self.value[0]

    def __str__(self) -> str:
        return self.value[1]


class _Omit:
    """Marker for "do not print a value" (apimachinery's omitValue)."""

    def __repr__(self) -> str:
        return "<omitted>"


OMIT: Any = _Omit()

# Error kinds whose text never shows the offending value.
_VALUELESS = {ErrorType.REQUIRED, ErrorType.FORBIDDEN, ErrorType.TOO_LONG, ErrorType.INTERNAL}


def _render_value(value: Any) -> str:
    """Render a bad value the way Go's ``%v`` / ``%q`` print it in field errors."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return str(value)


@dataclass(frozen=True)
class FieldError:
    """One problem with one field; ``str()`` gives Kubernetes' text."""

    type: ErrorType
    field: str
    bad_value: Any = OMIT
    detail: str = ""

    def body(self) -> str:
        """The message without the field path (apimachinery's ``ErrorBody``)."""
        if self.type in _VALUELESS or self.bad_value is OMIT:
            text = str(self.type)
        else:
            text = f"{self.type}: {_render_value(self.bad_value)}"
        if self.detail:
            text += f": {self.detail}"
        return text

    def __str__(self) -> str:
        return f"{self.field}: {self.body()}"

    def with_prefix(self, prefix: str) -> FieldError:
        """The same error under another root path (used for templates: ``spec.spec...``)."""
        field = f"{prefix}.{self.field}" if self.field else prefix
        return FieldError(self.type, field, self.bad_value, self.detail)

    def to_cause(self) -> dict[str, str]:
        """A ``StatusCause`` as the API server returns it in a 422 response."""
        return {"reason": self.type.reason, "message": self.body(), "field": self.field}


ErrorList = list[FieldError]


class Path:
    """A field path built the way apimachinery's ``field.Path`` builds it.

    Validation builds a path for every field it visits but spells out only the few that end up
    in an error, so the text is composed lazily, on ``str()``, from the parent and one step.
    """

    __slots__ = ("_parent", "_step", "_text")

    def __init__(self, *names: str) -> None:
        self._text: str | None = ".".join(n for n in names if n)
        self._parent: Path | None = None
        self._step: tuple[str, ...] | str = ""

    def child(self, *names: str) -> Path:
        path = _new_path(Path)
        path._text = None
        path._parent = self
        path._step = names
        return path

    def index(self, i: int) -> Path:
        path = _new_path(Path)
        path._text = None
        path._parent = self
        path._step = f"[{i}]"
        return path

    def key(self, key: str) -> Path:
        path = _new_path(Path)
        path._text = None
        path._parent = self
        path._step = f"[{key}]"
        return path

    def __str__(self) -> str:
        text = self._text
        if text is None:
            assert self._parent is not None
            text = str(self._parent)
            step = self._step
            if isinstance(step, str):  # a subscript
                text += step
            else:
                for name in step:
                    text = f"{text}.{name}" if text else name
            self._text = text
        return text

    def __repr__(self) -> str:
        return f"Path({str(self)!r})"


_new_path = object.__new__


def required(path: Path | str, detail: str = "") -> FieldError:
    return FieldError(ErrorType.REQUIRED, str(path), OMIT, detail)


def invalid(path: Path | str, value: Any, detail: str) -> FieldError:
    return FieldError(ErrorType.INVALID, str(path), value, detail)


def forbidden(path: Path | str, detail: str) -> FieldError:
    return FieldError(ErrorType.FORBIDDEN, str(path), OMIT, detail)


def duplicate(path: Path | str, value: Any) -> FieldError:
    return FieldError(ErrorType.DUPLICATE, str(path), value)


def not_found(path: Path | str, value: Any) -> FieldError:
    return FieldError(ErrorType.NOT_FOUND, str(path), value)


def not_supported(path: Path | str, value: Any, valid: Sequence[str]) -> FieldError:
    detail = "supported values: " + ", ".join(json.dumps(v) for v in valid) if valid else ""
    return FieldError(ErrorType.NOT_SUPPORTED, str(path), value, detail)


def too_long(path: Path | str, max_length: int) -> FieldError:
    return FieldError(ErrorType.TOO_LONG, str(path), OMIT, f"must have at most {max_length} bytes")


def too_many(path: Path | str, actual: int, maximum: int) -> FieldError:
    detail = f"must have at most {maximum} item{'' if maximum == 1 else 's'}"
    return FieldError(ErrorType.TOO_MANY, str(path), actual if actual >= 0 else OMIT, detail)


def type_invalid(path: Path | str, value: Any, detail: str) -> FieldError:
    return FieldError(ErrorType.TYPE_INVALID, str(path), value, detail)


def internal(path: Path | str, detail: str) -> FieldError:
    return FieldError(ErrorType.INTERNAL, str(path), OMIT, detail)


def aggregate(errors: Iterable[FieldError]) -> str:
    """Join errors like ``utilerrors.NewAggregate``: one message, or ``[a, b, ...]``, deduplicated."""
    seen: list[str] = []
    for err in errors:
        text = str(err)
        if text not in seen:
            seen.append(text)
    if len(seen) == 1:
        return seen[0]
    return "[" + ", ".join(seen) + "]"
