"""Validation of resource.k8s.io/v1 objects: the rules kube-apiserver enforces (api.md §11).

Entry points take plain v1 dicts (what the API server stores). The object is first decoded into
the typed model, so a wrong JSON type is reported at its field path, then checked rule by rule.
CEL expressions are only length-checked unless the caller injects ``compile_cel``: kubedra.api
sits below kubedra.cel in the layering and must not import it.
"""

from __future__ import annotations

from typing import Any

from kubedra.api import resource
from kubedra.api.codec import DecodeError, decode
from kubedra.api.errors import ErrorType, FieldError, Path, forbidden, invalid, not_supported
from kubedra.api.features import DEFAULT_GATES, DRA_DEVICE_TAINT_RULES, FeatureGates
from kubedra.api.validation.claim import validate_resource_claim, validate_resource_claim_template
from kubedra.api.validation.claim_status import validate_claim_status
from kubedra.api.validation.common import CompileCEL, Context
from kubedra.api.validation.deviceclass import (
    validate_device_class,
    validate_device_taint_rule,
    validate_device_taint_rule_status,
)
from kubedra.api.validation.gates import disabled_field_errors, drop_disabled_fields
from kubedra.api.validation.resourceslice import validate_resource_slice

__all__ = [
    "DRA_KINDS",
    "CompileCEL",
    "Context",
    "FieldError",
    "drop_disabled_fields",
    "validate",
    "validate_status",
]

DRA_KINDS: dict[str, type[Any]] = {
    "DeviceClass": resource.DeviceClass,
    "ResourceSlice": resource.ResourceSlice,
    "ResourceClaim": resource.ResourceClaim,
    "ResourceClaimTemplate": resource.ResourceClaimTemplate,
    "DeviceTaintRule": resource.DeviceTaintRule,
}
_TAINT_RULE_VERSIONS = (f"{resource.GROUP}/v1beta2", f"{resource.GROUP}/v1alpha3")


def _context(
    gates: FeatureGates | None, compile_cel: CompileCEL | None, namespace_labels: dict[str, str] | None
) -> Context:
    return Context(gates=gates or DEFAULT_GATES, compile_cel=compile_cel, namespace_labels=namespace_labels)


def _decode(obj: dict[str, Any], check_version: bool = True) -> tuple[Any, list[FieldError]]:
    """The typed model of a DRA object, or the errors that prevent building it."""
    kind = obj.get("kind")
    model = DRA_KINDS.get(str(kind))
    if model is None:
        return None, [not_supported(Path("kind"), kind, sorted(DRA_KINDS))]
    if check_version:
        api_version = obj.get("apiVersion")
        allowed = _TAINT_RULE_VERSIONS if kind == "DeviceTaintRule" else (resource.API_VERSION,)
        if api_version not in allowed:
            return None, [
                invalid(
                    Path("apiVersion"),
                    api_version,
                    f"must be {' or '.join(allowed)} (convert other versions first)",
                )
            ]
    try:
        return decode(model, obj), []
    except DecodeError as exc:
        detail = exc.message.replace(" | null", "")  # absent and null mean the same to the user
        return None, [FieldError(ErrorType.TYPE_INVALID, exc.path or "<root>", detail=detail)]


def _decode_update(obj: dict[str, Any], old: dict[str, Any] | None) -> tuple[Any, Any, list[FieldError]]:
    """(model, old model, errors); a None model means the errors are all there is to say.

    A stored object that no longer decodes is reported as such, so the user is not told to fix a
    field of the request.
    """
    model, errs = _decode(obj)
    if model is None or old is None:
        return model, None, errs
    old_model, old_errs = _decode(old, check_version=False)
    if old_model is None:
        return None, None, [FieldError(e.type, f"<stored object> {e.field}", e.bad_value, e.detail) for e in old_errs]
    return model, old_model, errs


def validate(
    obj: dict[str, Any],
    old: dict[str, Any] | None = None,
    *,
    gates: FeatureGates | None = None,
    compile_cel: CompileCEL | None = None,
    namespace_labels: dict[str, str] | None = None,
) -> list[FieldError]:
    """Errors for a create (``old`` None) or update of a v1 DRA object; empty means valid.

    Status is not checked here (the API server ignores status on create and on main-resource
    updates); use ``validate_status`` for the status subresource.
    """
    ctx = _context(gates, compile_cel, namespace_labels)
    model, old_model, errs = _decode_update(obj, old)
    if model is None:
        return errs
    if isinstance(model, resource.DeviceTaintRule) and not ctx.gates.enabled(DRA_DEVICE_TAINT_RULES):
        return [
            forbidden(
                Path("kind"),
                f"DeviceTaintRule requires the feature gate {DRA_DEVICE_TAINT_RULES}, which is disabled",
            )
        ]
    errs.extend(disabled_field_errors(_without_status(obj) or obj, _without_status(old), ctx.gates))
    if isinstance(model, resource.DeviceClass):
        errs.extend(validate_device_class(model, old_model, ctx))
    elif isinstance(model, resource.ResourceSlice):
        errs.extend(validate_resource_slice(model, old_model, ctx))
    elif isinstance(model, resource.ResourceClaim):
        errs.extend(validate_resource_claim(model, old_model, ctx))
    elif isinstance(model, resource.ResourceClaimTemplate):
        errs.extend(validate_resource_claim_template(model, old_model, ctx))
    elif isinstance(model, resource.DeviceTaintRule):
        errs.extend(validate_device_taint_rule(model, old_model, ctx))
    return errs


def validate_status(
    obj: dict[str, Any],
    old: dict[str, Any] | None = None,
    *,
    gates: FeatureGates | None = None,
    compile_cel: CompileCEL | None = None,
    namespace_labels: dict[str, str] | None = None,
) -> list[FieldError]:
    """Errors for a write of the ``status`` subresource (ResourceClaim, DeviceTaintRule)."""
    ctx = _context(gates, compile_cel, namespace_labels)
    model, old_model, errs = _decode_update(obj, old)
    if model is None:
        return errs
    status = obj.get("status")
    old_status = old.get("status") if old else None
    if isinstance(status, dict):
        errs.extend(
            disabled_field_errors(
                {"kind": obj.get("kind"), "spec": {}, "status": status},
                {"kind": obj.get("kind"), "spec": {}, "status": old_status}
                if isinstance(old_status, dict)
                else None,
                ctx.gates,
            )
        )
    if isinstance(model, resource.ResourceClaim):
        errs.extend(validate_claim_status(model, old_model, ctx))
    elif isinstance(model, resource.DeviceTaintRule):
        errs.extend(validate_device_taint_rule_status(model, old_model))
    return errs


def _without_status(obj: dict[str, Any] | None) -> dict[str, Any] | None:
    if obj is None or "status" not in obj:
        return obj
    return {k: v for k, v in obj.items() if k != "status"}
