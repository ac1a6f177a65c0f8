"""API errors as Kubernetes ``Status`` objects, shared by the HTTP server and every client.

kubectl, helm and client libraries branch on ``reason`` and ``code`` (``IsNotFound``,
``IsConflict``, ``IsAlreadyExists``) and print ``message`` verbatim, so the wording follows
kube-apiserver. The same exception classes are raised in-process and re-created from HTTP
responses, so callers handle both transports with one ``except``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class APIError(Exception):
    """An error with its Status body; subclasses select on reason."""

    code = 500
    reason = "InternalError"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None,
                 code: int | None = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if code is not None:
            self.code = code
        if reason is not None:
            self.reason = reason

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            body["details"] = self.details
        return body


class BadRequest(APIError):
    code, reason = 400, "BadRequest"


class Unauthorized(APIError):
    code, reason = 401, "Unauthorized"


class Forbidden(APIError):
    code, reason = 403, "Forbidden"


class NotFound(APIError):
    code, reason = 404, "NotFound"


class MethodNotAllowed(APIError):
    code, reason = 405, "MethodNotAllowed"


class Conflict(APIError):
    """Optimistic-concurrency failure: re-read and retry."""

    code, reason = 409, "Conflict"


class AlreadyExists(APIError):
    code, reason = 409, "AlreadyExists"


class Gone(APIError):
    """The requested resourceVersion is older than the retained history: re-list."""

    code, reason = 410, "Expired"


class Invalid(APIError):
    code, reason = 422, "Invalid"


class UnsupportedMediaType(APIError):
    code, reason = 415, "UnsupportedMediaType"


class NotAcceptable(APIError):
    code, reason = 406, "NotAcceptable"


class InternalError(APIError):
    code, reason = 500, "InternalError"


class ServiceUnavailable(APIError):
    code, reason = 503, "ServiceUnavailable"


_BY_REASON: dict[str, type[APIError]] = {
    cls.reason: cls
    for cls in (BadRequest, Unauthorized, Forbidden, NotFound, MethodNotAllowed, Conflict, AlreadyExists,
                Gone, Invalid, UnsupportedMediaType, NotAcceptable, InternalError, ServiceUnavailable)
}


def from_status(body: dict[str, Any], http_code: int) -> APIError:
    """Rebuild the exception a Status body describes (for HTTP clients)."""
    reason = str(body.get("reason") or "")
    message = str(body.get("message") or f"HTTP {http_code}")
    cls = _BY_REASON.get(reason)
    if cls is None:
        cls = {404: NotFound, 409: Conflict, 410: Gone, 422: Invalid, 400: BadRequest}.get(http_code, APIError)
    return cls(message, details=body.get("details"), code=int(body.get("code") or http_code), reason=reason or None)


# --- constructors with kube-apiserver's wording -------------------------------------------------


def _details(qualified: str, name: str) -> dict[str, Any]:
    plural, _, group = qualified.partition(".")
    details: dict[str, Any] = {"name": name, "kind": plural}
    if group:
        details["group"] = group
    return details


def not_found(qualified: str, name: str) -> NotFound:
    return NotFound(f'{qualified} "{name}" not found', details=_details(qualified, name))


def already_exists(qualified: str, name: str) -> AlreadyExists:
    return AlreadyExists(f'{qualified} "{name}" already exists', details=_details(qualified, name))


def conflict(qualified: str, name: str, why: str) -> Conflict:
    return Conflict(f'Operation cannot be fulfilled on {qualified} "{name}": {why}',
                    details=_details(qualified, name))


MODIFIED = "the object has been modified; please apply your changes to the latest version and try again"


def invalid(kind: str, group: str, name: str, causes: Sequence[dict[str, str]]) -> Invalid:
    """422 with one cause per field error; ``causes`` are ``{reason, message, field}``."""
    qualified_kind = f"{kind}.{group}" if group else kind
    texts = [f"{c['field']}: {c['message']}" if c.get("field") else c["message"] for c in causes]
    joined = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    details: dict[str, Any] = {"name": name, "kind": kind, "causes": list(causes)}
    if group:
        details["group"] = group
    return Invalid(f'{qualified_kind} "{name}" is invalid: {joined}', details=details)


def gone(message: str) -> Gone:
    return Gone(message)
