"""Which resource pools a node can use, in the deterministic order the search walks them (1.36).

A pool is the set of slices of one ``(driver, pool name)`` at its newest generation. Only slices that
apply to the node are searched; the others are consulted to tell "incomplete" (a slice of the
current generation is missing) from "obsolete" (a newer generation exists elsewhere), and, with
partitionable devices, for counters that devices on other nodes consume.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from kubedra.allocator.devices import PreparedSlice
from kubedra.allocator.errors import AllocationError
from kubedra.allocator.features import Features
from kubedra.allocator.nodes import NodeSelectorError, node_matches
from kubedra.api.core import Node
from kubedra.api.quantity import Quantity

PoolKey = tuple[str, str]


class Pool:
    __slots__ = (
        "counter_sets",
        "driver",
        "has_binding_conditions",
        "incomplete",
        "invalid",
        "invalid_reason",
        "other_slices",
        "pool",
        "slices",
    )

    def __init__(self, driver: str, pool: str) -> None:
        self.driver = driver
        self.pool = pool
        # Device slices targeting the node, sorted by name (the search order).
        self.slices: list[PreparedSlice] = []
        # Device slices of the same generation that target other nodes (counter accounting only).
        self.other_slices: list[PreparedSlice] = []
        self.counter_sets: dict[str, dict[str, Quantity]] = {}
        self.incomplete = False
        self.invalid = False
        self.invalid_reason = ""
        self.has_binding_conditions = False

    @property
    def id(self) -> str:
        return f"{self.driver}/{self.pool}"

    def usable(self) -> bool:
        return not (self.incomplete or self.invalid)

    def __repr__(self) -> str:
        state = (
            "incomplete" if self.incomplete else f"invalid: {self.invalid_reason}" if self.invalid else "ok"
        )
        return f"Pool({self.id}, {len(self.slices)} slices, {state})"


def split_by_node(
    slices: Sequence[PreparedSlice],
) -> tuple[dict[str, list[PreparedSlice]], list[PreparedSlice]]:
    """Slices pinned to one node (and without counters) vs. all others, as upstream's NewAllocator does."""
    on_node: dict[str, list[PreparedSlice]] = {}
    shared: list[PreparedSlice] = []
    for s in slices:
        if s.node_name and not s.has_shared_counters:
            on_node.setdefault(s.node_name, []).append(s)
        else:
            shared.append(s)
    return on_node, shared


def index_by_pool(slices: Sequence[PreparedSlice]) -> dict[PoolKey, list[PreparedSlice]]:
    by_pool: dict[PoolKey, list[PreparedSlice]] = {}
    for s in slices:
        by_pool.setdefault((s.driver, s.pool), []).append(s)
    return by_pool


def _relevant(s: PreparedSlice, node: Node, features: Features) -> bool:
    if not features.partitionable_devices and (s.per_device_set or s.has_shared_counters):
        return False
    if s.has_shared_counters:
        return True
    try:
        if s.node_name or s.all_nodes or s.node_selector is not None:
            return node_matches(node, s.node_name, s.all_nodes, s.node_selector)
        if s.per_device_node_selection:
            for d in s.devices:
                try:
                    if node_matches(node, d.node_name, d.all_nodes, d.node_selector):
                        return True
                except NodeSelectorError as exc:
                    raise AllocationError(
                        f"gather pool information: failed to perform node selection for device {d.name} "
                        f"in slice {s.name}: failed to parse node selector: {exc}"
                    ) from None
            return False
    except NodeSelectorError as exc:
        raise AllocationError(
            f"gather pool information: failed to perform node selection for slice {s.name}: "
            f"failed to parse node selector: {exc}"
        ) from None
    return False  # some future node-selection field kubedra does not know


def _add(gathered: dict[PoolKey, list[PreparedSlice]], s: PreparedSlice) -> None:
    """Keep only the newest generation of each pool (older slices are ignored, newer replace)."""
    key = (s.driver, s.pool)
    current = gathered.get(key)
    if current is None or s.generation > current[0].generation:
        gathered[key] = [s]
    elif s.generation == current[0].generation:
        current.append(s)


def _static_relevance(s: PreparedSlice, features: Features) -> bool | None:
    """True/False when a shared slice's relevance is the same on every node, None when it depends."""
    if not features.partitionable_devices and (s.per_device_set or s.has_shared_counters):
        return False
    if s.has_shared_counters:
        return True
    if s.node_name or s.node_selector is not None:
        return None
    if s.all_nodes:
        return True
    return None if s.per_device_node_selection else False


class SharedPools:
    """The node-independent part of pool gathering, computed once per set of slices.

    Counter-set slices and ``allNodes`` slices apply to every node; with many nodes publishing
    counter sets, re-gathering them per node made the first pass over a 500-node cluster quadratic
    (seconds). Their pools are built once here and reused unless a node contributes slices of the
    same pool, in which case that pool is rebuilt for the node exactly as upstream would.
    """

    def __init__(
        self,
        shared: Sequence[PreparedSlice],
        features: Features,
        all_by_pool: Mapping[PoolKey, list[PreparedSlice]],
    ) -> None:
        self.dynamic: list[PreparedSlice] = []
        self.groups: dict[PoolKey, list[PreparedSlice]] = {}
        for s in shared:
            relevant = _static_relevance(s, features)
            if relevant is None:
                self.dynamic.append(s)
            elif relevant:
                _add(self.groups, s)
        self.pools: dict[PoolKey, Pool | None] = {
            key: _finish(key, group, features, all_by_pool) for key, group in self.groups.items()
        }


def gather_pools(
    slices_for_node: Sequence[PreparedSlice],
    node: Node,
    features: Features,
    all_by_pool: Mapping[PoolKey, list[PreparedSlice]],
    shared: SharedPools | None = None,
) -> list[Pool]:
    """The pools available on ``node``: sorted by (driver, pool), binding-condition pools last.

    ``slices_for_node`` are the node's own slices plus, without ``shared``, all shared slices.
    """
    gathered: dict[PoolKey, list[PreparedSlice]] = {}
    candidates = list(slices_for_node) + (shared.dynamic if shared is not None else [])
    for s in candidates:
        if _relevant(s, node, features):
            _add(gathered, s)
    pools: list[Pool | None] = []
    if shared is not None:
        for key, group in shared.groups.items():
            if key in gathered:
                for s in group:
                    _add(gathered, s)
            else:
                pools.append(shared.pools[key])
    pools.extend(_finish(key, group, features, all_by_pool) for key, group in gathered.items())
    normal = [p for p in pools if p is not None and not p.has_binding_conditions]
    binding = [p for p in pools if p is not None and p.has_binding_conditions]
    normal.sort(key=lambda p: (p.driver, p.pool))
    binding.sort(key=lambda p: (p.driver, p.pool))
    return normal + binding


def _finish(
    key: PoolKey,
    pool_slices: list[PreparedSlice],
    features: Features,
    all_by_pool: Mapping[PoolKey, list[PreparedSlice]],
) -> Pool | None:
    """Complete, incomplete, obsolete (None) or invalid: the pool made of the relevant slices."""
    first = pool_slices[0]
    if len(pool_slices) == first.count:
        return _build_pool(key, pool_slices, None, features)
    everything = all_by_pool.get(key, [])
    if any(o.generation > first.generation for o in everything):
        return None  # obsolete: a newer generation exists, none of it for this node
    same_generation = [o for o in everything if o.generation == first.generation]
    if len(same_generation) != first.count:
        pool = Pool(*key)
        pool.incomplete = True
        return pool
    return _build_pool(key, pool_slices, same_generation, features)


def _invalid(pool: Pool, reason: str) -> Pool:
    pool.invalid = True
    pool.invalid_reason = reason
    pool.slices = []
    pool.other_slices = []
    return pool


def _build_pool(
    key: PoolKey,
    pool_slices: list[PreparedSlice],
    all_for_pool: list[PreparedSlice] | None,
    features: Features,
) -> Pool:
    pool = Pool(*key)
    ordered = sorted(pool_slices, key=lambda s: s.name)
    if features.partitionable_devices:
        counter_slices = [s for s in ordered if s.has_shared_counters]
        device_slices = [s for s in ordered if not s.has_shared_counters]
    else:
        counter_slices, device_slices = [], ordered
    pool.has_binding_conditions = any(s.has_binding_conditions for s in device_slices)
    seen: set[str] = set()
    for s in device_slices:
        if s.invalid:
            return _invalid(pool, s.invalid)
        for d in s.devices:
            if d.name in seen:
                return _invalid(pool, f"duplicate device name {d.name}")
            seen.add(d.name)
    pool.slices = device_slices
    if not features.partitionable_devices:
        return pool
    for s in counter_slices:
        if s.invalid:
            return _invalid(pool, s.invalid)
        for name, counters in s.counter_sets:
            if name in pool.counter_sets:
                return _invalid(pool, f"duplicate counter set name {name}")
            pool.counter_sets[name] = counters
    reason = _check_consumption(device_slices, pool.counter_sets)
    if reason:
        return _invalid(pool, reason)
    if all_for_pool is not None:
        known = {id(s) for s in pool_slices}
        others = sorted(
            (s for s in all_for_pool if id(s) not in known and not s.has_shared_counters),
            key=lambda s: s.name,
        )
        reason = _check_consumption(others, pool.counter_sets)
        if reason:
            return _invalid(pool, reason)
        pool.other_slices = others
    return pool


def _check_consumption(slices: list[PreparedSlice], counter_sets: dict[str, dict[str, Quantity]]) -> str:
    for s in slices:
        for d in s.devices:
            if d.invalid:
                return d.invalid
            for set_name, counters in d.consumes:
                available = counter_sets.get(set_name)
                if available is None:
                    return f"counter set {set_name} not found"
                for counter in counters:
                    if counter not in available:
                        return f"counter {counter} not found in counter set {set_name}"
    return ""
