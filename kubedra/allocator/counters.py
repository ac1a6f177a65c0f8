"""Shared counters of partitionable devices (PartitionableDevices feature).

Values are kept as exact integers of nano units (``Quantity.nano``): no float, no Quantity objects
in the hot path.

Deliberate differences from v0.36.2, both fixed upstream after 1.36 and both pinned by cases in
``tests/allocator/upstream_extra``:
* counters reserved for a device that is then rejected (taint, constraint, capacity) or backtracked
  are always given back. v0.36.2 leaks them in those paths (kubernetes issue #140436, fixed by PR
  #140431); the leak can only make allocation fail where it should succeed, never the reverse;
* both stores are keyed by pool ID (driver and pool name). v0.36.2 keys them by pool name only, so
  two drivers with a pool of the same name read each other's counter sets: a device can then be
  handed out although its own counters are exhausted (an over-allocation).
"""

from __future__ import annotations

from kubedra.allocator.devices import PreparedDevice
from kubedra.allocator.pools import Pool
from kubedra.allocator.state import AllocatedState, DeviceID

CounterSets = dict[str, dict[str, int]]
PoolID = tuple[str, str]  # (driver, pool name)


def available_counters(pool: Pool, state: AllocatedState, shared: frozenset[DeviceID]) -> CounterSets:
    """The pool's counter sets minus what already-allocated devices (on any node) consume."""
    available: CounterSets = {
        name: {c: q.nano for c, q in counters.items()} for name, counters in pool.counter_sets.items()
    }
    for s in (*pool.slices, *pool.other_slices):
        for d in s.devices:
            if not d.consumes or not state.is_allocated(d.id, shared):
                continue
            for set_name, counters in d.consumes:
                target = available.get(set_name)
                if target is None:
                    continue
                for c, q in counters.items():
                    if c in target:
                        target[c] -= q.nano  # may go negative: "nothing left"
    return available


class CounterTracker:
    """Counters consumed by the devices tentatively picked in one ``allocate`` call."""

    __slots__ = ("_available", "_consumed", "_shared", "_state")

    def __init__(
        self, state: AllocatedState, shared: frozenset[DeviceID], available: dict[PoolID, CounterSets]
    ) -> None:
        self._state = state
        self._shared = shared
        self._available = available  # per-Allocator cache, filled lazily
        self._consumed: dict[PoolID, CounterSets] = {}

    def available_for(self, pool: Pool) -> CounterSets:
        key = (pool.driver, pool.pool)
        avail = self._available.get(key)
        if avail is None:
            avail = self._available[key] = available_counters(pool, self._state, self._shared)
        return avail

    def take(self, pool: Pool, device: PreparedDevice) -> bool:
        """Reserve the device's consumption; False (and nothing reserved) if any counter would go short."""
        avail = self.available_for(pool)
        consumed = self._consumed.setdefault((pool.driver, pool.pool), {})
        for set_name, counters in device.consumes:
            target = consumed.setdefault(set_name, {})
            for c, q in counters.items():
                target[c] = target.get(c, 0) + q.nano
        for set_name, limits in avail.items():
            used = consumed.get(set_name)
            if not used:
                continue
            for c, value in limits.items():
                if value < used.get(c, 0):
                    self.release(pool, device)
                    return False
        return True

    def release(self, pool: Pool, device: PreparedDevice) -> None:
        consumed = self._consumed[(pool.driver, pool.pool)]
        for set_name, counters in device.consumes:
            target = consumed[set_name]
            for c, q in counters.items():
                target[c] -= q.nano

    def shortage(self, pool: Pool, device: PreparedDevice) -> str:
        """For explain: which counter the device would overdraw right now ("" if none)."""
        avail = self.available_for(pool)
        consumed = self._consumed.get((pool.driver, pool.pool), {})
        for set_name, counters in device.consumes:
            for c, q in counters.items():
                left = avail.get(set_name, {}).get(c, 0) - consumed.get(set_name, {}).get(c, 0)
                if q.nano > left:
                    return f"counter {set_name}/{c}"
        return ""
