"""Validation of ResourceClaim status updates (api.md §6, §11): allocation, reservedFor, device status.

A stored allocation is immutable and is never re-validated (rules for new results are tighter than
they used to be); only a newly set allocation is checked in depth.
"""

from __future__ import annotations

import ipaddress

from kubedra.api import names
from kubedra.api.codec import to_dict
from kubedra.api.errors import (
    FieldError,
    Path,
    forbidden,
    invalid,
    not_supported,
    required,
    too_long,
    too_many,
)
from kubedra.api.resource import (
    AllocatedDeviceStatus,
    AllocationResult,
    DeviceAllocationConfiguration,
    DeviceRequestAllocationResult,
    NetworkDeviceData,
    ResourceClaim,
    ResourceClaimConsumerReference,
)
from kubedra.api.validation.claim import gather_request_names
from kubedra.api.validation.common import Context, parse_quantity, validate_set, validate_slice
from kubedra.api.validation.conditions import validate_binding_conditions, validate_conditions
from kubedra.api.validation.deviceconfig import (
    validate_config_requests,
    validate_opaque,
    validate_raw_json,
    validate_request_ref,
)
from kubedra.api.validation.identifiers import validate_pool_name, validate_uid
from kubedra.api.validation.nodeselector import validate_node_selector
from kubedra.api.validation.objectmeta import validate_object_meta_update
from kubedra.api.validation.taints import validate_toleration

RESERVED_FOR_MAX = 256
RESULTS_MAX = 32
ALLOCATION_CONFIG_MAX = 64
DEVICE_STATUS_MAX_CONDITIONS = 8
DEVICE_STATUS_DATA_MAX = 10 * 1024
NETWORK_MAX_IPS = 16
NETWORK_INTERFACE_NAME_MAX = 256
NETWORK_HARDWARE_ADDRESS_MAX = 128
CONFIG_SOURCES = ("FromClaim", "FromClass")

RequestNames = dict[str, "set[str] | None"]


def validate_claim_status(obj: ResourceClaim, old: ResourceClaim | None, ctx: Context) -> list[FieldError]:
    """``old`` is None for a claim created with a status (e.g. ``kubedra validate`` of a dumped claim)."""
    errs: list[FieldError] = []
    if old is not None:
        errs.extend(validate_object_meta_update(obj.metadata, old.metadata, Path("metadata")))
    status = obj.status
    if status is None:
        return errs
    old_status = old.status if old else None
    path = Path("status")
    request_names = gather_request_names(obj.spec.devices)
    errs.extend(
        validate_set(
            status.reserved_for,
            RESERVED_FOR_MAX,
            _validate_consumer,
            lambda r: r.uid,
            path.child("reservedFor"),
        )
    )
    allocated = _allocated_ids(status.allocation)
    errs.extend(
        validate_set(
            status.devices,
            -1,
            lambda d, p: _validate_device_status(d, p, allocated),
            lambda d: (d.driver, d.pool, d.device, d.share_id),
            path.child("devices"),
        )
    )
    if status.reserved_for:
        if status.allocation is None:
            errs.append(
                forbidden(path.child("reservedFor"), "may not be specified when `allocated` is not set")
            )
        elif obj.metadata.deletion_timestamp:
            old_uids = {r.uid for r in ((old_status.reserved_for if old_status else None) or [])}
            if any(r.uid not in old_uids for r in status.reserved_for):
                errs.append(
                    forbidden(
                        path.child("reservedFor"),
                        "new entries may not be added while `deallocationRequested` or `deletionTimestamp` are set",
                    )
                )
    old_allocation = old_status.allocation if old_status else None
    if old_allocation is not None and status.allocation is not None:
        if to_dict(old_allocation) != to_dict(status.allocation):
            errs.append(invalid(path.child("allocation"), to_dict(status.allocation), "field is immutable"))
    elif status.allocation is not None:
        errs.extend(_validate_allocation(status.allocation, path.child("allocation"), request_names, ctx))
    return errs


def _validate_consumer(ref: ResourceClaimConsumerReference, path: Path) -> list[FieldError]:
    errs: list[FieldError] = []
    if not ref.resource:
        errs.append(required(path.child("resource")))
    if not ref.name:
        errs.append(required(path.child("name")))
    if not ref.uid:
        errs.append(required(path.child("uid")))
    return errs


def _allocated_ids(allocation: AllocationResult | None) -> set[tuple[str, str, str, str | None]]:
    if allocation is None or allocation.devices is None:
        return set()
    return {(r.driver, r.pool, r.device, r.share_id) for r in allocation.devices.results or []}


def _validate_allocation(
    allocation: AllocationResult, path: Path, request_names: RequestNames, ctx: Context
) -> list[FieldError]:
    errs: list[FieldError] = []
    devices = allocation.devices
    dpath = path.child("devices")
    if devices is not None:
        errs.extend(
            validate_slice(
                devices.results,
                RESULTS_MAX,
                lambda r, p: _validate_result(r, p, request_names),
                dpath.child("results"),
            )
        )

        def config(c: DeviceAllocationConfiguration, p: Path) -> list[FieldError]:
            out: list[FieldError] = []
            if not c.source:
                out.append(required(p.child("source")))
            elif c.source not in CONFIG_SOURCES:
                out.append(not_supported(p.child("source"), c.source, CONFIG_SOURCES))
            out.extend(validate_config_requests(c.requests, p.child("requests"), request_names))
            out.extend(validate_opaque(c.opaque, p, ctx, False))
            return out

        errs.extend(validate_slice(devices.config, ALLOCATION_CONFIG_MAX, config, dpath.child("config")))
    if allocation.node_selector is not None:
        errs.extend(validate_node_selector(allocation.node_selector, path.child("nodeSelector")))
    return errs


def _validate_result(
    result: DeviceRequestAllocationResult, path: Path, request_names: RequestNames
) -> list[FieldError]:
    errs = validate_request_ref(result.request, path.child("request"), request_names)
    errs.extend(names.validate_driver_name(result.driver, path.child("driver")))
    errs.extend(validate_pool_name(result.pool, path.child("pool")))
    errs.extend(names.validate_dns1123_label(result.device, path.child("device")))
    errs.extend(
        validate_binding_conditions(result.binding_conditions, result.binding_failure_conditions, path)
    )
    for i, toleration in enumerate(result.tolerations or []):
        errs.extend(validate_toleration(toleration, path.child("tolerations").index(i)))
    if result.share_id is not None:
        errs.extend(validate_uid(result.share_id, path.child("shareID")))
    for key, value in (result.consumed_capacity or {}).items():
        parse_quantity(value, path.child("consumedCapacity").key(key), errs)
    return errs


def _validate_device_status(
    device: AllocatedDeviceStatus, path: Path, allocated: set[tuple[str, str, str, str | None]]
) -> list[FieldError]:
    errs = names.validate_driver_name(device.driver, path.child("driver"))
    errs.extend(validate_pool_name(device.pool, path.child("pool")))
    errs.extend(names.validate_dns1123_label(device.device, path.child("device")))
    if device.share_id is not None:
        errs.extend(validate_uid(device.share_id, path.child("shareID")))
    if (device.driver, device.pool, device.device, device.share_id) not in allocated:
        shown = f"{device.driver}/{device.pool}/{device.device}"
        if device.share_id:
            shown += f"/{device.share_id}"
        errs.append(invalid(path, shown, "must be an allocated device in the claim"))
    conditions = device.conditions or []
    if len(conditions) > DEVICE_STATUS_MAX_CONDITIONS:
        errs.append(too_many(path.child("conditions"), len(conditions), DEVICE_STATUS_MAX_CONDITIONS))
    errs.extend(validate_conditions(conditions, path.child("conditions")))
    if device.data is not None:
        errs.extend(validate_raw_json(device.data, path.child("data"), False, DEVICE_STATUS_DATA_MAX))
    errs.extend(_validate_network_data(device.network_data, path.child("networkData")))
    return errs


def _validate_network_data(data: NetworkDeviceData | None, path: Path) -> list[FieldError]:
    if data is None:
        return []
    errs: list[FieldError] = []
    if data.interface_name and len(data.interface_name.encode()) > NETWORK_INTERFACE_NAME_MAX:
        errs.append(too_long(path.child("interfaceName"), NETWORK_INTERFACE_NAME_MAX))
    if data.hardware_address and len(data.hardware_address.encode()) > NETWORK_HARDWARE_ADDRESS_MAX:
        errs.append(too_long(path.child("hardwareAddress"), NETWORK_HARDWARE_ADDRESS_MAX))
    errs.extend(
        validate_set(data.ips, NETWORK_MAX_IPS, _validate_interface_address, lambda s: s, path.child("ips"))
    )
    return errs


def _validate_interface_address(address: str, path: Path) -> list[FieldError]:
    """An IP with prefix length in canonical form (``10.0.0.1/24``, ``2001:db8::1/64``)."""
    try:
        iface = ipaddress.ip_interface(address)
    except ValueError:
        return [
            invalid(
                path, address, "must be a valid address in CIDR form, (e.g. 10.9.8.7/24 or 2001:db8::1/64)"
            )
        ]
    if "/" not in address:
        return [
            invalid(
                path, address, "must be a valid address in CIDR form, (e.g. 10.9.8.7/24 or 2001:db8::1/64)"
            )
        ]
    canonical = f"{iface.ip}/{iface.network.prefixlen}"
    if canonical != address:
        return [invalid(path, address, f"must be in canonical form ({canonical!r})".replace("'", '"'))]
    return []
