"""Which DRA features the allocator honours (the scheduler derives them from its feature gates).

Upstream picks one of three allocator variants (stable, incubating, experimental) from this set; kubedra
has a single implementation whose behaviour is switched by these flags, so the variant only matters
for error texts and is reported by :meth:`Features.variant`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields

# Fixture / upstream field name -> attribute name.
FEATURE_NAMES: dict[str, str] = {
    "AdminAccess": "admin_access",
    "PrioritizedList": "prioritized_list",
    "PartitionableDevices": "partitionable_devices",
    "DeviceTaints": "device_taints",
    "DeviceBindingAndStatus": "device_binding_and_status",
    "ConsumableCapacity": "consumable_capacity",
    "ListTypeAttributes": "list_type_attributes",
}

# Attribute name -> feature gate(s) that switch it on (all must be enabled).
FEATURE_GATES: dict[str, tuple[str, ...]] = {
    "admin_access": ("DRAAdminAccess",),
    "prioritized_list": ("DRAPrioritizedList",),
    "partitionable_devices": ("DRAPartitionableDevices",),
    "device_taints": ("DRADeviceTaints",),
    "device_binding_and_status": ("DRADeviceBindingConditions", "DRAResourceClaimDeviceStatus"),
    "consumable_capacity": ("DRAConsumableCapacity",),
    "list_type_attributes": ("DRAListTypeAttributes",),
}


@dataclass(frozen=True, slots=True)
class Features:
    admin_access: bool = False
    prioritized_list: bool = False
    partitionable_devices: bool = False
    device_taints: bool = False
    device_binding_and_status: bool = False
    consumable_capacity: bool = False
    list_type_attributes: bool = False

    @classmethod
    def from_names(cls, names: Iterable[str]) -> Features:
        """Build from upstream's field names (``PrioritizedList``, ...); unknown names raise ValueError."""
        values: dict[str, bool] = {}
        for name in names:
            attr = FEATURE_NAMES.get(name)
            if attr is None:
                raise ValueError(f"unknown allocator feature {name!r} (known: {', '.join(FEATURE_NAMES)})")
            values[attr] = True
        return cls(**values)

    @classmethod
    def from_gates(cls, enabled: Callable[[str], bool]) -> Features:
        """Derive the set from feature gates, e.g. ``Features.from_gates(gates.enabled)``."""
        return cls(**{attr: all(enabled(g) for g in gates) for attr, gates in FEATURE_GATES.items()})

    @classmethod
    def defaults_1_36(cls) -> Features:
        """What kube-scheduler 1.36 runs with default gates (the "incubating" set)."""
        return cls(
            admin_access=True,
            prioritized_list=True,
            partitionable_devices=True,
            device_taints=True,
            device_binding_and_status=True,
            consumable_capacity=True,
        )

    def names(self) -> list[str]:
        by_attr = {v: k for k, v in FEATURE_NAMES.items()}
        return [by_attr[f.name] for f in fields(self) if getattr(self, f.name)]

    def variant(self) -> str:
        """The upstream allocator variant this feature set selects."""
        if self.list_type_attributes:
            return "experimental"
        if self.device_binding_and_status or self.consumable_capacity:
            return "incubating"
        return "stable"
