"""Validation of ResourceSlice (api.md §4 and §11): node selection, pool, devices, counters, capacity.

Drivers publish slices, so these rules are what stops a broken inventory before the scheduler reads
it. Limits that depend on what a slice uses (64 devices instead of 128 once taints, counters or list
attributes appear) follow kube-apiserver exactly: a slice kubedra accepts must also be accepted by a
real cluster.
"""

from __future__ import annotations

import re

from kubedra.api import names
from kubedra.api.codec import to_dict
from kubedra.api.errors import FieldError, Path, forbidden, invalid, not_found, required, too_long
from kubedra.api.resource import (
    CounterSet,
    Device,
    DeviceAttribute,
    DeviceCapacity,
    DeviceCounterConsumption,
    DeviceTaint,
    NodeAllocatableResourceMapping,
    ResourceSlice,
    ResourceSliceSpec,
)
from kubedra.api.validation.common import (
    ATTRIBUTE_KEY_MAX_LENGTH,
    Context,
    immutable,
    parse_quantity,
    truncate_key,
    validate_map,
    validate_set,
    validate_slice,
)
from kubedra.api.validation.conditions import validate_binding_conditions
from kubedra.api.validation.identifiers import validate_node_name, validate_pool_name, validate_qualified_name
from kubedra.api.validation.nodeselector import validate_node_selector
from kubedra.api.validation.objectmeta import validate_object_meta, validate_object_meta_update
from kubedra.api.validation.requestpolicy import validate_request_policy
from kubedra.api.validation.taints import validate_taint

MAX_DEVICES = 128
MAX_DEVICES_WITH_ADVANCED_FEATURES = 64
MAX_COUNTER_SETS = 8
MAX_COUNTERS_PER_SET = 32
MAX_CONSUMPTIONS_PER_DEVICE = 2
MAX_COUNTERS_PER_CONSUMPTION = 32
MAX_ATTRIBUTES_AND_CAPACITIES = 32
MAX_ATTRIBUTE_VALUES = 48
MAX_TAINTS = 16
ATTRIBUTE_MAX_VALUE_LENGTH = 64

_NUMERIC = r"(0|[1-9]\d*)"
_PRERELEASE = r"(0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)"
_BUILD = r"[0-9a-zA-Z-]+"
SEMVER = re.compile(
    rf"^{_NUMERIC}\.{_NUMERIC}\.{_NUMERIC}(-{_PRERELEASE}(\.{_PRERELEASE})*)?(\+{_BUILD}(\.{_BUILD})*)?$"
)

_NODE_SELECTION = (
    "exactly one of `nodeName`, `nodeSelector`, `allNodes`, `perDeviceNodeSelection` is required"
)
_DEVICE_NODE_SELECTION = (
    "exactly one of `nodeName`, `nodeSelector`, or `allNodes` is required when `perDeviceNodeSelection` "
    "is set to true in the ResourceSlice spec"
)


def validate_resource_slice(obj: ResourceSlice, old: ResourceSlice | None, ctx: Context) -> list[FieldError]:
    meta_path = Path("metadata")
    if old is None:
        errs = validate_object_meta(obj.metadata, False, names.name_is_dns_subdomain, meta_path)
    else:
        errs = validate_object_meta_update(obj.metadata, old.metadata, meta_path)
    errs.extend(_validate_spec(obj.spec, old.spec if old else None, Path("spec")))
    return errs


def _validate_spec(spec: ResourceSliceSpec, old: ResourceSliceSpec | None, path: Path) -> list[FieldError]:
    errs = names.validate_driver_name(spec.driver, path.child("driver"))
    pool_path = path.child("pool")
    errs.extend(validate_pool_name(spec.pool.name, pool_path.child("name")))
    if spec.pool.resource_slice_count <= 0:
        errs.append(
            invalid(
                pool_path.child("resourceSliceCount"),
                spec.pool.resource_slice_count,
                "must be greater than zero",
            )
        )
    if spec.pool.generation < 0:
        errs.append(
            invalid(
                pool_path.child("generation"), spec.pool.generation, "must be greater than or equal to zero"
            )
        )
    if old is not None:
        errs.extend(immutable(spec.pool.name, old.pool.name, pool_path.child("name")))
        errs.extend(immutable(spec.driver, old.driver, path.child("driver")))
        errs.extend(immutable(spec.node_name, old.node_name, path.child("nodeName")))

    chosen: list[str] = []
    if spec.node_name is not None:
        if spec.node_name:
            chosen.append("`nodeName`")
            errs.extend(validate_node_name(spec.node_name, path.child("nodeName")))
        else:
            errs.append(
                invalid(path.child("nodeName"), "", "must be either unset or set to a non-empty string")
            )
    if spec.node_selector is not None:
        chosen.append("`nodeSelector`")
        errs.extend(validate_node_selector(spec.node_selector, path.child("nodeSelector")))
        terms = spec.node_selector.node_selector_terms or []
        if len(terms) != 1:
            errs.append(
                invalid(
                    path.child("nodeSelector", "nodeSelectorTerms"),
                    len(terms),
                    "must have exactly one node selector term",
                )
            )
    for flag, json_name in (
        (spec.all_nodes, "allNodes"),
        (spec.per_device_node_selection, "perDeviceNodeSelection"),
    ):
        if flag is None:
            continue
        if flag:
            chosen.append(f"`{json_name}`")
        else:
            errs.append(invalid(path.child(json_name), False, "must be either unset or set to true"))
    if not chosen:
        errs.append(required(path, _NODE_SELECTION))
    elif len(chosen) > 1:
        errs.append(
            invalid(path, "{" + ", ".join(chosen) + "}", _NODE_SELECTION + ", but multiple fields are set")
        )

    if spec.shared_counters is not None and spec.devices is not None:
        errs.append(invalid(path, "", "only one of `sharedCounters` or `devices` is allowed"))

    devices = spec.devices or []
    advanced = any(d.taints or d.consumes_counters or _has_list_attributes(d) for d in devices)
    max_devices = MAX_DEVICES_WITH_ADVANCED_FEATURES if advanced else MAX_DEVICES
    old_devices = {d.name: d for d in (old.devices or [])} if old else {}
    per_device = bool(spec.per_device_node_selection)
    errs.extend(
        validate_set(
            devices,
            max_devices,
            lambda d, p: _validate_device(d, old_devices.get(d.name), p, per_device),
            lambda d: d.name,
            path.child("devices"),
        )
    )
    errs.extend(
        validate_set(
            spec.shared_counters,
            MAX_COUNTER_SETS,
            _validate_counter_set,
            lambda c: c.name,
            path.child("sharedCounters"),
        )
    )
    return errs


def _has_list_attributes(device: Device) -> bool:
    return any(
        a.ints is not None or a.bools is not None or a.strings is not None or a.versions is not None
        for a in (device.attributes or {}).values()
    )


def _count_attribute_values(device: Device) -> int:
    total = 0
    for a in (device.attributes or {}).values():
        items = len(a.ints or []) + len(a.bools or []) + len(a.strings or []) + len(a.versions or [])
        total += items if items else 1
    return total


# Strings already found valid, per check. A 128-device slice repeats the same attribute names,
# device names and quantities across devices and slices; remembering them (instead of re-running
# the checks and building field paths that are only needed for an error) makes validating a slice
# several times faster. Bounded: cleared when full.
_KNOWN_VALID: set[tuple[str, str]] = set()
_KNOWN_VALID_MAX = 65_536


def _remember(check: str, value: str, errs: list[FieldError]) -> list[FieldError]:
    if not errs:
        if len(_KNOWN_VALID) >= _KNOWN_VALID_MAX:
            _KNOWN_VALID.clear()
        _KNOWN_VALID.add((check, value))
    return errs


def _simple_attribute_ok(attr: DeviceAttribute) -> bool:
    """True when ``_validate_attribute`` certainly finds nothing: one scalar value, within limits."""
    if attr.bools is not None or attr.ints is not None or attr.strings is not None or attr.versions is not None:
        return False
    set_count = (attr.bool_ is not None) + (attr.int_ is not None) + (attr.string is not None) + (
        attr.version is not None
    )
    if set_count != 1:
        return False
    if attr.string is not None:
        return len(attr.string) <= ATTRIBUTE_MAX_VALUE_LENGTH // 4 or len(attr.string.encode()) <= (
            ATTRIBUTE_MAX_VALUE_LENGTH
        )
    if attr.version is not None:
        return ("semver", attr.version) in _KNOWN_VALID
    return True


def _validate_device(device: Device, old: Device | None, path: Path, per_device: bool) -> list[FieldError]:
    errs: list[FieldError] = []
    if ("label", device.name) not in _KNOWN_VALID:
        errs = _remember("label", device.name, names.validate_dns1123_label(device.name, path.child("name")))
    attributes = device.attributes or {}
    capacity = device.capacity or {}
    size = len(attributes) + len(capacity)
    if size > MAX_ATTRIBUTES_AND_CAPACITIES:
        errs.append(
            invalid(
                path,
                size,
                f"the total number of attributes and capacities must not exceed {MAX_ATTRIBUTES_AND_CAPACITIES}",
            )
        )
    values = _count_attribute_values(device)
    if values > MAX_ATTRIBUTE_VALUES:
        errs.append(
            invalid(
                path, values, f"the total number of attribute values must not exceed {MAX_ATTRIBUTE_VALUES}"
            )
        )
    attributes_path = path.child("attributes") if attributes else path
    for key, attribute in attributes.items():
        if ("qualified", key) not in _KNOWN_VALID:
            errs.extend(_remember("qualified", key, validate_qualified_name(key, attributes_path)))
        if not _simple_attribute_ok(attribute):
            found = _validate_attribute(attribute, attributes_path.key(_trunc(key)))
            if attribute.version is not None and not found:
                _remember("semver", attribute.version, found)
            errs.extend(found)
    if capacity and (old is None or old.capacity != device.capacity):
        multi = bool(device.allow_multiple_allocations)
        capacity_path = path.child("capacity")
        for key, cap in capacity.items():
            if ("qualified", key) not in _KNOWN_VALID:
                errs.extend(_remember("qualified", key, validate_qualified_name(key, capacity_path)))
            if cap.request_policy is None and cap.value and ("quantity", cap.value) in _KNOWN_VALID:
                continue
            found = _validate_capacity(cap, multi, capacity_path.key(_trunc(key)))
            if cap.request_policy is None and cap.value:
                _remember("quantity", cap.value, found)
            errs.extend(found)
    if device.taints and (old is None or old.taints != device.taints):

        def taint(t: DeviceTaint, p: Path) -> list[FieldError]:
            return validate_taint(t, None, p)

        errs.extend(validate_slice(device.taints, MAX_TAINTS, taint, path.child("taints")))
    if device.consumes_counters:
        errs.extend(
            validate_set(
                device.consumes_counters,
                MAX_CONSUMPTIONS_PER_DEVICE,
                _validate_consumption,
                lambda c: c.counter_set,
                path.child("consumesCounters"),
            )
        )
    has_selection = (
        device.node_name is not None or device.node_selector is not None or device.all_nodes is not None
    )
    if per_device:
        chosen: list[str] = []
        if device.node_name is not None:
            if device.node_name:
                chosen.append("`nodeName`")
                errs.extend(validate_node_name(device.node_name, path.child("nodeName")))
            else:
                errs.append(invalid(path.child("nodeName"), "", "must not be empty"))
        if device.node_selector is not None:
            chosen.append("`nodeSelector`")
            errs.extend(validate_node_selector(device.node_selector, path.child("nodeSelector")))
        if device.all_nodes is not None:
            if device.all_nodes:
                chosen.append("`allNodes`")
            else:
                errs.append(invalid(path.child("allNodes"), False, "must be either unset or set to true"))
        if not chosen:
            errs.append(required(path, _DEVICE_NODE_SELECTION))
        elif len(chosen) > 1:
            errs.append(invalid(path, "{" + ", ".join(chosen) + "}", _DEVICE_NODE_SELECTION))
    elif has_selection:
        errs.append(
            invalid(
                path,
                None,
                "`nodeName`, `nodeSelector` and `allNodes` can only be set if `perDeviceNodeSelection` is set to true "
                "in the ResourceSlice spec",
            )
        )
    if device.binding_conditions or device.binding_failure_conditions:
        errs.extend(
            validate_binding_conditions(device.binding_conditions, device.binding_failure_conditions, path)
        )
    if device.node_allocatable_resource_mappings:
        errs.extend(_validate_allocatable_mappings(device.node_allocatable_resource_mappings, capacity, path))
    return errs


def _trunc(key: str) -> str:
    return truncate_key(key, ATTRIBUTE_KEY_MAX_LENGTH)


def _validate_attribute(attr: DeviceAttribute, path: Path) -> list[FieldError]:
    errs: list[FieldError] = []
    count = 0
    if attr.bool_ is not None:
        count += 1
    if attr.int_ is not None:
        count += 1
    if attr.string is not None:
        count += 1
        errs.extend(_string_value(attr.string, path.child("string")))
    if attr.version is not None:
        count += 1
        errs.extend(_version_value(attr.version, path.child("version")))
    for json_name, items in (
        ("bools", attr.bools),
        ("ints", attr.ints),
        ("strings", attr.strings),
        ("versions", attr.versions),
    ):
        if items is None:
            continue
        count += 1
        if not items:
            errs.append(invalid(path.child(json_name), [], "must not be empty if specified"))
        for i, item in enumerate(items):
            if json_name == "strings":
                errs.extend(_string_value(str(item), path.child(json_name).index(i)))
            elif json_name == "versions":
                errs.extend(_version_value(str(item), path.child(json_name).index(i)))
    if count == 0:
        errs.append(invalid(path, "", "exactly one value must be specified"))
    elif count > 1:
        errs.append(invalid(path, to_dict(attr), "exactly one value must be specified"))
    return errs


def _string_value(value: str, path: Path) -> list[FieldError]:
    if len(value.encode()) > ATTRIBUTE_MAX_VALUE_LENGTH:
        return [too_long(path, ATTRIBUTE_MAX_VALUE_LENGTH)]
    return []


def _version_value(value: str, path: Path) -> list[FieldError]:
    errs: list[FieldError] = []
    if not SEMVER.match(value):
        errs.append(invalid(path, value, "must be a string compatible with semver.org spec 2.0.0"))
    if len(value.encode()) > ATTRIBUTE_MAX_VALUE_LENGTH:
        errs.append(too_long(path, ATTRIBUTE_MAX_VALUE_LENGTH))
    return errs


def _validate_capacity(cap: DeviceCapacity, multi: bool, path: Path) -> list[FieldError]:
    errs: list[FieldError] = []
    if not cap.value:
        errs.append(required(path.child("value")))
        return errs
    value = parse_quantity(cap.value, path.child("value"), errs)
    if cap.request_policy is None:
        return errs
    if not multi:
        errs.append(forbidden(path.child("requestPolicy"), "allowMultipleAllocations must be true"))
        return errs
    if value is not None:
        errs.extend(validate_request_policy(value, cap.request_policy, path.child("requestPolicy")))
    return errs


def _validate_counters(counters: dict[str, object] | None, max_size: int, path: Path) -> list[FieldError]:
    if not counters:
        return [required(path)]

    def counter(c: object, p: Path) -> list[FieldError]:
        errs: list[FieldError] = []
        value = getattr(c, "value", "")
        if not value:
            return [required(p.child("value"))]
        parse_quantity(value, p.child("value"), errs)
        return errs

    return validate_map(
        counters, max_size, names.DNS1123_LABEL_MAX_LENGTH, names.validate_dns1123_label, counter, path
    )


def _validate_counter_set(counter_set: CounterSet, path: Path) -> list[FieldError]:
    errs: list[FieldError] = []
    if not counter_set.name:
        errs.append(required(path.child("name")))
    else:
        errs.extend(names.validate_dns1123_label(counter_set.name, path.child("name")))
    errs.extend(
        _validate_counters(dict(counter_set.counters or {}), MAX_COUNTERS_PER_SET, path.child("counters"))
    )
    return errs


def _validate_consumption(consumption: DeviceCounterConsumption, path: Path) -> list[FieldError]:
    errs: list[FieldError] = []
    if not consumption.counter_set:
        errs.append(required(path.child("counterSet")))
    else:
        errs.extend(names.validate_dns1123_label(consumption.counter_set, path.child("counterSet")))
    errs.extend(
        _validate_counters(
            dict(consumption.counters or {}), MAX_COUNTERS_PER_CONSUMPTION, path.child("counters")
        )
    )
    return errs


def _validate_allocatable_mappings(
    mappings: dict[str, NodeAllocatableResourceMapping] | None,
    capacity: dict[str, DeviceCapacity],
    path: Path,
) -> list[FieldError]:
    errs: list[FieldError] = []
    base = path.child("nodeAllocatableResourceMappings")
    for resource_name, mapping in (mappings or {}).items():
        key_path = base.key(resource_name)
        if "/" in resource_name and "kubernetes.io/" not in resource_name:
            errs.append(invalid(key_path, resource_name, "must be a node allocatable resource name"))
        else:
            errs.extend(invalid(key_path, resource_name, m) for m in names.is_qualified_name(resource_name))
        if mapping.capacity_key is not None:
            if not mapping.capacity_key:
                errs.append(
                    invalid(key_path.child("capacityKey"), "", "capacityKey must not be an empty string")
                )
            elif mapping.capacity_key not in capacity:
                errs.append(not_found(key_path.child("capacityKey"), mapping.capacity_key))
        multiplier = parse_quantity(
            mapping.allocation_multiplier, key_path.child("allocationMultiplier"), errs
        )
        if multiplier is not None and multiplier.sign() <= 0:
            errs.append(invalid(key_path.child("allocationMultiplier"), str(multiplier), "must be positive"))
    return errs
