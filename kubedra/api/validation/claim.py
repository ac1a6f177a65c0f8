"""Validation of ResourceClaim and ResourceClaimTemplate specs (api.md §5, §7, §11).

Both specs are immutable: on update only immutability is checked, because re-validating a stored
spec against newer, tighter rules would make objects that were accepted impossible to update.
"""

from __future__ import annotations

from kubedra.api import names
from kubedra.api.codec import to_dict
from kubedra.api.errors import FieldError, Path, forbidden, invalid, not_supported, required
from kubedra.api.resource import (
    ADMIN_ACCESS_NAMESPACE_LABEL,
    CapacityRequirements,
    DeviceClaim,
    DeviceClaimConfiguration,
    DeviceConstraint,
    DeviceRequest,
    DeviceSubRequest,
    ExactDeviceRequest,
    ResourceClaim,
    ResourceClaimSpec,
    ResourceClaimTemplate,
)
from kubedra.api.validation.common import Context, immutable, parse_quantity, validate_set, validate_slice
from kubedra.api.validation.deviceconfig import validate_config_requests, validate_opaque, validate_selectors
from kubedra.api.validation.identifiers import validate_fully_qualified_name, validate_qualified_name
from kubedra.api.validation.objectmeta import (
    validate_object_meta,
    validate_object_meta_update,
    validate_template_object_meta,
)
from kubedra.api.validation.taints import validate_tolerations

DEVICE_REQUESTS_MAX = 32
FIRST_AVAILABLE_MAX = 8
DEVICE_CONSTRAINTS_MAX = 32
DEVICE_CONFIG_MAX = 32
ALLOCATION_MODES = ("All", "ExactCount")

ADMIN_ACCESS_MESSAGE = "admin access to devices requires the `resource.kubernetes.io/admin-access: true` label on the containing namespace"

RequestNames = dict[str, "set[str] | None"]


def validate_resource_claim(obj: ResourceClaim, old: ResourceClaim | None, ctx: Context) -> list[FieldError]:
    meta_path = Path("metadata")
    errs = validate_object_meta(obj.metadata, True, names.name_is_dns_subdomain, meta_path)
    if old is not None:
        errs.extend(validate_object_meta_update(obj.metadata, old.metadata, meta_path))
        errs.extend(immutable(to_dict(obj.spec), to_dict(old.spec), Path("spec")))
        return errs
    errs.extend(validate_claim_spec(obj.spec, Path("spec"), ctx))
    errs.extend(validate_admin_access(obj.spec, ctx))
    return errs


def validate_resource_claim_template(
    obj: ResourceClaimTemplate, old: ResourceClaimTemplate | None, ctx: Context
) -> list[FieldError]:
    meta_path = Path("metadata")
    if old is not None:
        errs = validate_object_meta_update(obj.metadata, old.metadata, meta_path)
        errs.extend(immutable(to_dict(obj.spec), to_dict(old.spec), Path("spec")))
        return errs
    errs = validate_object_meta(obj.metadata, True, names.name_is_dns_subdomain, meta_path)
    errs.extend(validate_template_object_meta(obj.spec.metadata, Path("spec", "metadata")))
    errs.extend(validate_claim_spec(obj.spec.spec, Path("spec", "spec"), ctx))
    errs.extend(validate_admin_access(obj.spec.spec, ctx, Path("spec", "spec")))
    return errs


def gather_request_names(claim: DeviceClaim | None) -> RequestNames:
    out: RequestNames = {}
    for request in (claim.requests if claim else None) or []:
        if request.first_available:
            out[request.name] = {sub.name for sub in request.first_available}
        else:
            out[request.name] = None
    return out


def validate_claim_spec(spec: ResourceClaimSpec, path: Path, ctx: Context) -> list[FieldError]:
    devices = spec.devices or DeviceClaim()
    dpath = path.child("devices")
    request_names = gather_request_names(devices)
    errs = validate_set(
        devices.requests,
        DEVICE_REQUESTS_MAX,
        lambda r, p: _validate_request(r, p, ctx),
        lambda r: r.name,
        dpath.child("requests"),
    )
    errs.extend(
        validate_slice(
            devices.constraints,
            DEVICE_CONSTRAINTS_MAX,
            lambda c, p: _validate_constraint(c, p, request_names, ctx),
            dpath.child("constraints"),
        )
    )

    def config(c: DeviceClaimConfiguration, p: Path) -> list[FieldError]:
        out = validate_config_requests(c.requests, p.child("requests"), request_names)
        out.extend(validate_opaque(c.opaque, p, ctx, False))
        return out

    errs.extend(validate_slice(devices.config, DEVICE_CONFIG_MAX, config, dpath.child("config")))
    return errs


def _validate_request(request: DeviceRequest, path: Path, ctx: Context) -> list[FieldError]:
    errs = names.validate_dns1123_label(request.name, path.child("name"))
    has_first = bool(request.first_available)
    has_exactly = request.exactly is not None
    if not has_first and not has_exactly:
        errs.append(required(path, "exactly one of `exactly` or `firstAvailable` is required"))
    elif has_first and has_exactly:
        errs.append(
            invalid(
                path,
                None,
                "exactly one of `exactly` or `firstAvailable` is required, but multiple fields are set",
            )
        )
    elif has_first:
        errs.extend(
            validate_set(
                request.first_available,
                FIRST_AVAILABLE_MAX,
                lambda s, p: _validate_subrequest(s, p, ctx),
                lambda s: s.name,
                path.child("firstAvailable"),
            )
        )
    else:
        assert request.exactly is not None
        errs.extend(_validate_exact(request.exactly, path.child("exactly"), ctx))
    return errs


def _validate_body(body: ExactDeviceRequest | DeviceSubRequest, path: Path, ctx: Context) -> list[FieldError]:
    if not body.device_class_name:
        errs = [required(path.child("deviceClassName"))]
    else:
        errs = names.validate_dns1123_subdomain(body.device_class_name, path.child("deviceClassName"))
    errs.extend(validate_selectors(body.selectors, path.child("selectors"), ctx))
    errs.extend(validate_allocation_mode(body.allocation_mode or "", body.count or 0, path))
    errs.extend(validate_tolerations(body.tolerations, path.child("tolerations")))
    errs.extend(_validate_capacity_requests(body.capacity, path.child("capacity")))
    return errs


def _validate_exact(body: ExactDeviceRequest, path: Path, ctx: Context) -> list[FieldError]:
    return _validate_body(body, path, ctx)


def _validate_subrequest(body: DeviceSubRequest, path: Path, ctx: Context) -> list[FieldError]:
    errs = names.validate_dns1123_label(body.name, path.child("name"))
    errs.extend(_validate_body(body, path, ctx))
    return errs


def validate_allocation_mode(mode: str, count: int, path: Path) -> list[FieldError]:
    if mode == "All":
        if count != 0:
            return [invalid(path.child("count"), count, "must not be specified when allocationMode is 'All'")]
    elif mode == "ExactCount":
        if count <= 0:
            return [invalid(path.child("count"), count, "must be greater than zero")]
    else:
        return [not_supported(path.child("allocationMode"), mode, ALLOCATION_MODES)]
    return []


def _validate_capacity_requests(capacity: CapacityRequirements | None, path: Path) -> list[FieldError]:
    errs: list[FieldError] = []
    if capacity is None:
        return errs
    for key, value in (capacity.requests or {}).items():
        errs.extend(validate_qualified_name(key, path.child("requests")))
        q = parse_quantity(value, path.child("requests").key(key), errs)
        if q is not None and q.sign() < 0:
            errs.append(
                invalid(path.child("requests").key(key), str(value), "must be greater than or equal to 0")
            )
    return errs


def _validate_constraint(
    constraint: DeviceConstraint, path: Path, request_names: RequestNames, ctx: Context
) -> list[FieldError]:
    errs = validate_config_requests(constraint.requests, path.child("requests"), request_names)
    if constraint.match_attribute is not None:
        errs.extend(validate_fully_qualified_name(constraint.match_attribute, path.child("matchAttribute")))
    elif constraint.distinct_attribute is not None:
        errs.extend(
            validate_fully_qualified_name(constraint.distinct_attribute, path.child("distinctAttribute"))
        )
    elif ctx.gates.enabled("DRAConsumableCapacity"):
        errs.append(
            required(
                path,
                'exactly one of "matchAttribute" or "distinctAttribute" is required, but multiple fields are set',
            )
        )
    else:
        errs.append(required(path.child("matchAttribute")))
    if constraint.match_attribute is not None and constraint.distinct_attribute is not None:
        errs.append(
            invalid(
                path,
                None,
                'exactly one of "matchAttribute" or "distinctAttribute" is required, but multiple fields are set',
            )
        )
    return errs


def validate_admin_access(
    spec: ResourceClaimSpec, ctx: Context, path: Path | None = None
) -> list[FieldError]:
    """The registry's namespace check; skipped when the caller does not know the namespace's labels."""
    if ctx.namespace_labels is None or not spec.devices:
        return []
    if ctx.namespace_labels.get(ADMIN_ACCESS_NAMESPACE_LABEL) == "true":
        return []
    errs: list[FieldError] = []
    for i, request in enumerate(spec.devices.requests or []):
        if request.exactly is not None and request.exactly.admin_access:
            request_path = (path or Path("spec")).child("devices", "requests").index(i)
            errs.append(forbidden(request_path.child("adminAccess"), ADMIN_ACCESS_MESSAGE))
    return errs
