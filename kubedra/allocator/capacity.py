"""Consumable capacity (ConsumableCapacity feature): how much of a device a request consumes.

A device with ``allowMultipleAllocations`` can be shared until its capacities are used up; each
share consumes an amount derived from the request and the capacity's ``requestPolicy`` (default,
rounding up to ``validRange`` steps or to the next ``validValues`` entry). For a dedicated device
the same check only filters ("request <= value").
"""

from __future__ import annotations

from collections.abc import Mapping

from kubedra.allocator.devices import CapacityInfo
from kubedra.api.quantity import BINARY_SI, Quantity

NOT_DEFINED = "some requested capacity has not been defined"


def consumed_amount(requested: Quantity | None, cap: CapacityInfo) -> Quantity:
    """What one allocation takes from ``cap`` for a request of ``requested`` (None = not requested)."""
    if requested is None:
        return cap.default if cap.default is not None else cap.value
    if not cap.has_policy:
        return requested
    if cap.has_range and cap.min is not None:
        low = cap.min
        if requested < low:
            return low
        if cap.step is not None:
            r, m, s = requested.value(), low.value(), cap.step.value()
            if s <= 0:
                return requested
            steps = -((m - r) // s)  # ceil((r - m) / s)
            return Quantity.from_int(m + s * steps, BINARY_SI)
        return requested
    if cap.valid_values is not None:
        for v in cap.valid_values:
            if v >= requested:
                return v
        return requested
    return requested


def violates_policy(consumed: Quantity, cap: CapacityInfo) -> bool:
    if not cap.has_policy:
        return False
    if cap.default is not None and consumed == cap.default and consumed.format == cap.default.format:
        return False
    if cap.has_range:
        if cap.max is not None and consumed > cap.max:
            return True
        if cap.step is not None and cap.step.nano > 0:
            base = cap.min.nano if cap.min is not None else 0
            if (consumed.nano - base) % cap.step.nano != 0:
                return True
        return False
    if cap.valid_values is not None:
        return consumed not in cap.valid_values
    return False


def capacity_problem(
    requests: Mapping[str, Quantity],
    capacity: Mapping[str, CapacityInfo],
    allocated: Mapping[str, Quantity] | None,
    allocating: Mapping[str, int] | None,
) -> str:
    """ "" when the device can take this request now, else why not (for explain)."""
    for name in requests:
        if name not in capacity:
            return NOT_DEFINED
    for name, cap in capacity.items():
        consumed = consumed_amount(requests.get(name), cap)
        if violates_policy(consumed, cap):
            return f"capacity {name}: {consumed.canonical()} violates the request policy"
        total = consumed.nano
        if allocated is not None and name in allocated:
            total += allocated[name].nano
        if allocating is not None:
            total += allocating.get(name, 0)
        if total > cap.value.nano:
            return f"capacity {name}: {consumed.canonical()} requested, not enough left of {cap.value.canonical()}"
    return ""


def consumed_capacity(
    requests: Mapping[str, Quantity], capacity: Mapping[str, CapacityInfo]
) -> dict[str, Quantity]:
    """What one share of a multi-allocatable device consumes, for every capacity it has."""
    return {name: consumed_amount(requests.get(name), cap) for name, cap in capacity.items()}
