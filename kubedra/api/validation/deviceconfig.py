"""Device selectors (CEL), opaque driver configuration and request references, shared by classes and claims.

CEL is only length-checked here unless the caller injects a compiler: kubedra.api sits below kubedra.cel.
"""

from __future__ import annotations

import json
from typing import Any

from kubedra.api import names
from kubedra.api.errors import FieldError, Path, forbidden, invalid, required, too_long
from kubedra.api.resource import DeviceSelector, OpaqueDeviceConfiguration
from kubedra.api.validation.common import (
    CEL_ENVIRONMENT_NEW,
    CEL_SELECTOR_EXPRESSION_MAX_LENGTH,
    DEVICE_SELECTORS_MAX_SIZE,
    OPAQUE_PARAMETERS_MAX_LENGTH,
    Context,
    validate_set,
    validate_slice,
)


def validate_selectors(
    selectors: list[DeviceSelector] | None, path: Path, ctx: Context, stored: bool = False
) -> list[FieldError]:
    def one(selector: DeviceSelector, p: Path) -> list[FieldError]:
        if selector.cel is None:
            return [required(p.child("cel"))]
        return validate_cel_expression(selector.cel.expression, p.child("cel", "expression"), ctx, stored)

    return validate_slice(selectors, DEVICE_SELECTORS_MAX_SIZE, one, path)


def validate_cel_expression(
    expression: str, path: Path, ctx: Context, stored: bool = False
) -> list[FieldError]:
    """Length always; compilation only with an injected compiler (kubedra.api may not import cel)."""
    if stored or ctx.stored:
        return []
    if len(expression.encode()) > CEL_SELECTOR_EXPRESSION_MAX_LENGTH:
        return [too_long(path, CEL_SELECTOR_EXPRESSION_MAX_LENGTH)]
    if not expression.strip():
        return (
            [required(path, "compilation failed: expression must not be empty")]
            if ctx.compile_cel
            else [required(path)]
        )
    if ctx.compile_cel is not None:
        problem = ctx.compile_cel(expression, CEL_ENVIRONMENT_NEW)
        if problem:
            if problem.startswith("too complex"):
                return [forbidden(path, problem)]
            return [invalid(path, expression, problem)]
    return []


def validate_opaque(
    config: OpaqueDeviceConfiguration | None, path: Path, ctx: Context, stored: bool
) -> list[FieldError]:
    opaque_path = path.child("opaque")
    if config is None:
        return [required(opaque_path)]
    errs = names.validate_driver_name(config.driver, opaque_path.child("driver"))
    errs.extend(
        validate_raw_json(
            config.parameters,
            opaque_path.child("parameters"),
            stored or ctx.stored,
            OPAQUE_PARAMETERS_MAX_LENGTH,
        )
    )
    return errs


def validate_raw_json(value: Any, path: Path, stored: bool, max_length: int) -> list[FieldError]:
    """A RawExtension: present, within the size limit on create, and a JSON object."""
    if value is None:
        return [required(path)]
    if isinstance(value, (bytes, str)):
        raw = value.encode() if isinstance(value, str) else value
        try:
            value = json.loads(raw)
        except ValueError as exc:
            return [invalid(path, "<value omitted>", f"error parsing data as JSON: {exc}")]
        if value is None:
            return [required(path)]
    else:
        raw = json.dumps(value, separators=(",", ":")).encode()
    if not stored and len(raw) > max_length:
        return [too_long(path, max_length)]
    if not isinstance(value, dict):
        return [invalid(path, "<value omitted>", "must be a valid JSON object")]
    return []


def validate_config_requests(
    requests: list[str] | None, path: Path, request_names: dict[str, set[str] | None], max_size: int = 32
) -> list[FieldError]:
    return validate_set(
        requests, max_size, lambda name, p: validate_request_ref(name, p, request_names), lambda s: s, path
    )


REQUEST_REF_MESSAGE = (
    "must be the name of a request in the claim or the name of a request and a subrequest separated by '/'"
)


def validate_request_ref(
    name: str, path: Path, request_names: dict[str, set[str] | None]
) -> list[FieldError]:
    segments = name.split("/")
    if len(segments) > 2:
        return [invalid(path, name, REQUEST_REF_MESSAGE)]
    errs: list[FieldError] = []
    for segment in segments:
        errs.extend(names.validate_dns1123_label(segment, path))
    if not has_request(request_names, name):
        errs.append(invalid(path, name, REQUEST_REF_MESSAGE))
    return errs


def has_request(request_names: dict[str, set[str] | None], ref: str) -> bool:
    segments = ref.split("/")
    if len(segments) > 2 or segments[0] not in request_names:
        return False
    if len(segments) == 1:
        return True
    subs = request_names[segments[0]]
    return subs is not None and segments[1] in subs
