"""What is already allocated in the cluster, as the scheduler hands it to the allocator."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from kubedra.api.quantity import Quantity


class DeviceID(NamedTuple):
    driver: str
    pool: str
    device: str

    def __str__(self) -> str:
        return f"{self.driver}/{self.pool}/{self.device}"

    @classmethod
    def parse(cls, text: str) -> DeviceID:
        """``driver/pool/device``; the pool name may itself contain slashes."""
        parts = text.split("/")
        if len(parts) < 3 or not all(parts):
            raise ValueError(f"device ID {text!r}: expected driver/pool/device")
        return cls(parts[0], "/".join(parts[1:-1]), parts[-1])


class SharedDeviceID(NamedTuple):
    driver: str
    pool: str
    device: str
    share_id: str

    def __str__(self) -> str:
        return f"{self.driver}/{self.pool}/{self.device}/{self.share_id}"

    @property
    def device_id(self) -> DeviceID:
        return DeviceID(self.driver, self.pool, self.device)

    @classmethod
    def parse(cls, text: str) -> SharedDeviceID:
        base, sep, share = text.rpartition("/")
        if not sep or not share:
            raise ValueError(f"shared device ID {text!r}: expected driver/pool/device/shareID")
        d = DeviceID.parse(base)
        return cls(d.driver, d.pool, d.device, share)


@dataclass(frozen=True)
class AllocatedState:
    """Devices in use by allocated or in-flight claims (admin-access results excluded).

    ``aggregated_capacity`` sums ``consumedCapacity`` of every share of a multi-allocatable device.
    """

    allocated_devices: frozenset[DeviceID] = frozenset()
    allocated_shared_device_ids: frozenset[SharedDeviceID] = frozenset()
    aggregated_capacity: Mapping[DeviceID, Mapping[str, Quantity]] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        allocated_devices: Iterable[DeviceID | str] = (),
        allocated_shared_device_ids: Iterable[SharedDeviceID | str] = (),
        aggregated_capacity: Mapping[DeviceID | str, Mapping[str, Quantity | str]] | None = None,
    ) -> AllocatedState:
        """Accept the ``driver/pool/device`` string forms too (fixtures, CLI snapshots)."""
        devs = frozenset(d if isinstance(d, DeviceID) else DeviceID.parse(d) for d in allocated_devices)
        shared = frozenset(
            s if isinstance(s, SharedDeviceID) else SharedDeviceID.parse(s)
            for s in allocated_shared_device_ids
        )
        caps: dict[DeviceID, dict[str, Quantity]] = {}
        for key, values in (aggregated_capacity or {}).items():
            did = key if isinstance(key, DeviceID) else DeviceID.parse(key)
            caps[did] = {
                n: v if isinstance(v, Quantity) else Quantity.parse(str(v)) for n, v in values.items()
            }
        return cls(devs, shared, caps)

    def shared_devices(self) -> frozenset[DeviceID]:
        return frozenset(s.device_id for s in self.allocated_shared_device_ids)

    def is_allocated(self, device: DeviceID, shared: frozenset[DeviceID] | None = None) -> bool:
        """Dedicated, any share, or capacity in use (upstream's IsDeviceAllocated)."""
        if device in self.allocated_devices or device in self.aggregated_capacity:
            return True
        return device in (shared if shared is not None else self.shared_devices())
