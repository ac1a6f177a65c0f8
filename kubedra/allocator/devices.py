"""ResourceSlices pre-digested for the search: device IDs, parsed quantities, flags.

Parsing quantities and building IDs once per slice (instead of once per candidate and node, as a
direct port would) is most of what makes ``allocate`` cheap; :mod:`kubedra.allocator.memo` keeps these
objects alive across allocators for as long as the slice object is unchanged. Nothing here mutates
the slice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubedra.allocator.state import DeviceID
from kubedra.api.core import NodeSelector
from kubedra.api.quantity import Quantity, QuantityError
from kubedra.api.resource import Device, DeviceAttribute, DeviceTaint, ResourceSlice


@dataclass(slots=True)
class CapacityInfo:
    value: Quantity
    default: Quantity | None = None
    valid_values: list[Quantity] | None = None
    min: Quantity | None = None
    max: Quantity | None = None
    step: Quantity | None = None
    has_policy: bool = False
    has_range: bool = False


class PreparedDevice:
    __slots__ = (
        "all_nodes",
        "attributes",
        "binding_conditions",
        "binding_failure_conditions",
        "binds_to_node",
        "capacity",
        "cel_inputs",
        "consumes",
        "device",
        "has_policy",
        "id",
        "index",
        "invalid",
        "multi",
        "name",
        "node_name",
        "node_selector",
        "plain",
        "slice",
        "taints",
    )

    device: Device
    index: int
    name: str
    id: DeviceID
    slice: PreparedSlice
    attributes: dict[str, DeviceAttribute]
    binding_conditions: list[str] | None
    binding_failure_conditions: list[str] | None
    binds_to_node: bool
    consumes: list[tuple[str, dict[str, Quantity]]]
    capacity: dict[str, CapacityInfo]
    taints: list[DeviceTaint]
    multi: bool
    node_name: str
    all_nodes: bool
    node_selector: NodeSelector | None
    invalid: str | None
    cel_inputs: dict[Any, Any]
    has_policy: bool
    plain: bool

    def __init__(self, prepared_slice: PreparedSlice, index: int, device: Device) -> None:
        self.device = device
        self.index = index
        self.name = device.name
        self.slice = prepared_slice
        self.id = DeviceID(prepared_slice.driver, prepared_slice.pool, device.name)
        self.attributes = device.attributes or {}
        self.binding_conditions = device.binding_conditions
        self.binding_failure_conditions = device.binding_failure_conditions
        self.binds_to_node = bool(device.binds_to_node)
        self.taints = device.taints or []
        self.multi = bool(device.allow_multiple_allocations)
        self.node_name = device.node_name or ""
        self.all_nodes = bool(device.all_nodes)
        self.node_selector = device.node_selector
        self.invalid = None
        self.cel_inputs = {}
        self.consumes = []
        self.capacity = {}
        path = f"spec.devices[{index}]"
        try:
            for i, c in enumerate(device.consumes_counters or []):
                counters: dict[str, Quantity] = {}
                for name, counter in (c.counters or {}).items():
                    counters[name] = _parse(
                        counter.value, f"{path}.consumesCounters[{i}].counters[{name}].value"
                    )
                self.consumes.append((c.counter_set, counters))
            for name, cap in (device.capacity or {}).items():
                self.capacity[name] = _capacity(cap, f"{path}.capacity[{name}]")
        except QuantityError as exc:
            self.invalid = f"ResourceSlice {prepared_slice.name}: {exc}"
        self.has_policy = any(c.has_policy for c in self.capacity.values())
        # Taken whole, no counters, no taints, no capacity policy: the search's fast path applies.
        self.plain = not (self.consumes or self.taints or self.multi or self.has_policy)

    @property
    def has_binding_conditions(self) -> bool:
        return bool(self.binding_conditions)


class PreparedSlice:
    __slots__ = (
        "all_nodes",
        "count",
        "counter_sets",
        "devices",
        "driver",
        "generation",
        "has_binding_conditions",
        "has_shared_counters",
        "invalid",
        "name",
        "node_name",
        "node_selector",
        "per_device_node_selection",
        "per_device_set",
        "pool",
        "selector_results",
        "slice",
    )

    slice: ResourceSlice
    name: str
    driver: str
    pool: str
    generation: int
    count: int
    node_name: str
    all_nodes: bool
    node_selector: NodeSelector | None
    per_device_set: bool
    per_device_node_selection: bool
    has_shared_counters: bool
    counter_sets: list[tuple[str, dict[str, Quantity]]]
    devices: list[PreparedDevice]
    has_binding_conditions: bool
    invalid: str | None
    selector_results: dict[Any, list[bool | None]]

    def __init__(self, s: ResourceSlice) -> None:
        spec = s.spec
        self.slice = s
        self.name = s.metadata.name or ""
        self.driver = spec.driver
        self.pool = spec.pool.name
        self.generation = spec.pool.generation
        self.count = spec.pool.resource_slice_count
        self.node_name = spec.node_name or ""
        self.all_nodes = bool(spec.all_nodes)
        self.node_selector = spec.node_selector
        self.per_device_set = spec.per_device_node_selection is not None
        self.per_device_node_selection = bool(spec.per_device_node_selection)
        self.has_shared_counters = bool(spec.shared_counters)
        self.invalid = None
        self.counter_sets = []
        try:
            for i, cs in enumerate(spec.shared_counters or []):
                counters = {
                    n: _parse(c.value, f"spec.sharedCounters[{i}].counters[{n}].value")
                    for n, c in (cs.counters or {}).items()
                }
                self.counter_sets.append((cs.name, counters))
        except QuantityError as exc:
            self.invalid = f"ResourceSlice {self.name}: {exc}"
        self.devices = [PreparedDevice(self, i, d) for i, d in enumerate(spec.devices or [])]
        self.has_binding_conditions = any(d.binding_conditions for d in self.devices)
        self.selector_results = {}


def _parse(text: str, path: str) -> Quantity:
    try:
        return Quantity.parse(text)
    except QuantityError as exc:
        raise QuantityError(f"{path}: {text!r}: {exc}") from None


def _capacity(cap: Any, path: str) -> CapacityInfo:
    info = CapacityInfo(value=_parse(cap.value, f"{path}.value"))
    policy = cap.request_policy
    if policy is None:
        return info
    info.has_policy = True
    if policy.default is not None:
        info.default = _parse(policy.default, f"{path}.requestPolicy.default")
    if policy.valid_values is not None:
        info.valid_values = [
            _parse(v, f"{path}.requestPolicy.validValues[{i}]") for i, v in enumerate(policy.valid_values)
        ]
    r = policy.valid_range
    if r is not None:
        info.has_range = True
        if r.min is not None:
            info.min = _parse(r.min, f"{path}.requestPolicy.validRange.min")
        if r.max is not None:
            info.max = _parse(r.max, f"{path}.requestPolicy.validRange.max")
        if r.step is not None:
            info.step = _parse(r.step, f"{path}.requestPolicy.validRange.step")
    return info
