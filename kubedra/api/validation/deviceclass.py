"""Validation of DeviceClass and DeviceTaintRule (api.md §3, §15).

A DeviceClass spec is mutable; CEL is ratcheted: selectors deep-equal to the stored ones are not
compiled again, so a class that compiled under an older CEL environment stays updatable.
"""

from __future__ import annotations

from kubedra.api import names
from kubedra.api.codec import to_dict
from kubedra.api.errors import FieldError, Path, invalid, too_many
from kubedra.api.resource import DeviceClass, DeviceClassConfiguration, DeviceTaintRule
from kubedra.api.validation.common import Context, validate_slice
from kubedra.api.validation.conditions import validate_conditions
from kubedra.api.validation.deviceconfig import validate_opaque, validate_selectors
from kubedra.api.validation.identifiers import validate_pool_name
from kubedra.api.validation.objectmeta import validate_object_meta, validate_object_meta_update
from kubedra.api.validation.taints import validate_taint

DEVICE_CONFIG_MAX = 32
TAINT_RULE_MAX_CONDITIONS = 8


def validate_device_class(obj: DeviceClass, old: DeviceClass | None, ctx: Context) -> list[FieldError]:
    meta_path = Path("metadata")
    errs = validate_object_meta(obj.metadata, False, names.name_is_dns_subdomain, meta_path)
    if old is not None:
        errs.extend(validate_object_meta_update(obj.metadata, old.metadata, meta_path))
    spec = obj.spec
    path = Path("spec")
    selectors_stored = old is not None and to_dict(old.spec.selectors) == to_dict(spec.selectors)
    errs.extend(validate_selectors(spec.selectors, path.child("selectors"), ctx, stored=selectors_stored))
    config_stored = old is not None and to_dict(old.spec.config) == to_dict(spec.config)

    def config(c: DeviceClassConfiguration, p: Path) -> list[FieldError]:
        return validate_opaque(c.opaque, p, ctx, config_stored)

    errs.extend(validate_slice(spec.config, DEVICE_CONFIG_MAX, config, path.child("config")))
    if spec.extended_resource_name is not None and not names.is_extended_resource_name(
        spec.extended_resource_name
    ):
        errs.append(
            invalid(
                path.child("extendedResourceName"),
                spec.extended_resource_name,
                "must be a valid extended resource name",
            )
        )
    return errs


def validate_device_taint_rule(
    obj: DeviceTaintRule, old: DeviceTaintRule | None, ctx: Context
) -> list[FieldError]:
    meta_path = Path("metadata")
    if old is None:
        errs = validate_object_meta(obj.metadata, False, names.name_is_dns_subdomain, meta_path)
    else:
        errs = validate_object_meta_update(obj.metadata, old.metadata, meta_path)
    path = Path("spec")
    selector = obj.spec.device_selector
    if selector is not None:
        sp = path.child("deviceSelector")
        if selector.driver is not None:
            errs.extend(names.validate_driver_name(selector.driver, sp.child("driver")))
        if selector.pool is not None:
            errs.extend(validate_pool_name(selector.pool, sp.child("pool")))
        if selector.device is not None:
            errs.extend(names.validate_dns1123_label(selector.device, sp.child("device")))
    errs.extend(validate_taint(obj.spec.taint, old.spec.taint if old else None, path.child("taint")))
    return errs


def validate_device_taint_rule_status(obj: DeviceTaintRule, old: DeviceTaintRule | None) -> list[FieldError]:
    errs: list[FieldError] = []
    if old is not None:
        errs.extend(validate_object_meta_update(obj.metadata, old.metadata, Path("metadata")))
    conditions = obj.status.conditions if obj.status else None
    path = Path("status", "conditions")
    errs.extend(validate_conditions(conditions, path))
    if conditions and len(conditions) > TAINT_RULE_MAX_CONDITIONS:
        errs.append(too_many(path, len(conditions), TAINT_RULE_MAX_CONDITIONS))
    return errs
