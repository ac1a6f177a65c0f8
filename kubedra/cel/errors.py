"""Errors of the CEL layer. Their messages are what users see, so they follow Kubernetes' wording."""

from __future__ import annotations

__all__ = ["CELError", "CompileError", "CostLimitError", "InterruptedError_"]


class CompileError(Exception):
    """An expression that does not compile; ``message`` is what validation reports on the field path."""

    def __init__(self, message: str, reason: str = "Invalid") -> None:
        super().__init__(message)
        self.message = message
        # How API validation reports it: "Invalid" (field.Invalid), "Forbidden" (cost), "Internal".
        self.reason = reason


class CELError(Exception):
    """An evaluation error (missing key, overflow, cost limit, interruption, ...). Never a quiet false."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CostLimitError(CELError):
    """The runtime cost passed the limit; not absorbed by ``||``/``&&`` (evaluation stops)."""


class InterruptedError_(CELError):
    """The deadline passed during evaluation; not absorbed by ``||``/``&&`` (evaluation stops)."""
