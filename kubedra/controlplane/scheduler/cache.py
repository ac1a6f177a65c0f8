"""The scheduler's view of the cluster: informer objects plus its own not-yet-confirmed decisions.

Why an "assumed" layer: the scheduler writes a claim's allocation and then moves on to the next
pod before the watch event for that write arrives. Until the informer catches up, the claim as
the scheduler wrote it (the *assumed* claim) overrides the informer copy, so the next pod never
gets the same devices (no double allocation). The override is dropped as soon as the informer
delivers a resourceVersion at least as new as the write, or when the write fails.

The index of allocated devices is maintained incrementally (a claim event touches only that
claim's devices), so building the allocator's input costs O(allocated devices) set copies and
not a walk over every claim and result for every pod.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import cast

from kubedra.allocator.state import AllocatedState, DeviceID, SharedDeviceID
from kubedra.api.core import Node, Pod
from kubedra.api.quantity import Quantity, QuantityError
from kubedra.api.resource import DeviceClass, ResourceClaim, ResourceSlice

ClaimKey = tuple[str, str]  # (namespace, name)


def claim_key(claim: ResourceClaim) -> ClaimKey:
    return (claim.metadata.namespace or "", claim.metadata.name or "")


def rv_int(rv: str | None) -> int:
    try:
        return int(rv or 0)
    except ValueError:
        return 0


@dataclass
class _Contribution:
    dedicated: list[DeviceID] = field(default_factory=list)
    shared: list[SharedDeviceID] = field(default_factory=list)
    capacity: list[tuple[DeviceID, str, Quantity]] = field(default_factory=list)


def _contribution(claim: ResourceClaim) -> _Contribution | None:
    allocation = claim.status.allocation if claim.status else None
    if allocation is None or allocation.devices is None:
        return None
    out = _Contribution()
    for result in allocation.devices.results or []:
        if result.admin_access:
            continue
        did = DeviceID(result.driver, result.pool, result.device)
        if result.share_id:
            out.shared.append(SharedDeviceID(result.driver, result.pool, result.device, result.share_id))
            for name, amount in (result.consumed_capacity or {}).items():
                try:
                    out.capacity.append((did, name, Quantity.parse(amount)))
                except QuantityError:
                    continue
        else:
            out.dedicated.append(did)
    return out


class SchedulerCache:
    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self.slices: dict[str, ResourceSlice] = {}
        self.classes: dict[str, DeviceClass] = {}
        self.priority_classes: dict[str, int] = {}
        self.default_priority = 0
        self._informer_claims: dict[ClaimKey, ResourceClaim] = {}
        # key -> (assumed claim, resourceVersion the write produced or 0 while the write is in flight)
        self._assumed: dict[ClaimKey, tuple[ResourceClaim, int]] = {}
        self._contrib: dict[ClaimKey, _Contribution] = {}
        self._dedicated: Counter[DeviceID] = Counter()
        self._shared: Counter[SharedDeviceID] = Counter()
        self._capacity: dict[DeviceID, dict[str, Quantity]] = {}
        # Bumped on every change that can alter allocation outcomes (see Scheduler's failure memo).
        self.generation = 0
        # Per node: bumped when a slice of the node, a claim using its devices, or the node changes;
        # shared: bumped for classes, node-less slices and their devices (see allocation_generation).
        self.node_generation: dict[str, int] = {}
        self.shared_generation = 0
        self._pool_nodes: dict[tuple[str, str], set[str]] = {}
        self._shared_pools: set[tuple[str, str]] = set()
        self._slices_by_pool_name: dict[str, set[str]] = {}
        self._pool_names_by_node: dict[str, set[str]] = {}
        self._everywhere_slices: set[str] = set()
        self._slices_version = 0
        self._slice_list: list[ResourceSlice] | None = None

    # --- claims --------------------------------------------------------------------------------

    def claim(self, namespace: str, name: str) -> ResourceClaim | None:
        key = (namespace, name)
        assumed = self._assumed.get(key)
        if assumed is not None:
            return assumed[0]
        return self._informer_claims.get(key)

    def informer_claim(self, namespace: str, name: str) -> ResourceClaim | None:
        return self._informer_claims.get((namespace, name))

    def is_assumed(self, key: ClaimKey) -> bool:
        return key in self._assumed

    def claims(self) -> list[ResourceClaim]:
        keys = set(self._informer_claims) | set(self._assumed)
        out = []
        for key in keys:
            c = self.claim(*key)
            if c is not None:
                out.append(c)
        return out

    def set_claim(self, claim: ResourceClaim) -> None:
        key = claim_key(claim)
        self._informer_claims[key] = claim
        assumed = self._assumed.get(key)
        if assumed is not None:
            written_rv = assumed[1]
            if written_rv and rv_int(claim.metadata.resource_version) >= written_rv:
                del self._assumed[key]
            else:
                return  # the assumed copy still rules
        self._reindex(key)

    def delete_claim(self, namespace: str, name: str) -> None:
        key = (namespace, name)
        self._informer_claims.pop(key, None)
        self._assumed.pop(key, None)
        self._reindex(key)

    def assume(self, claim: ResourceClaim) -> None:
        """Record a decision before it is written (resourceVersion unknown yet)."""
        key = claim_key(claim)
        self._assumed[key] = (claim, 0)
        self._reindex(key)

    def confirm(self, claim: ResourceClaim) -> None:
        """The write succeeded; ``claim`` is the server's answer (with its new resourceVersion)."""
        key = claim_key(claim)
        seen = self._informer_claims.get(key)
        rv = rv_int(claim.metadata.resource_version)
        if seen is not None and rv_int(seen.metadata.resource_version) >= rv:
            self._assumed.pop(key, None)  # the informer already has it (or something newer)
        else:
            self._assumed[key] = (claim, max(rv, 1))
        self._reindex(key)

    def forget(self, namespace: str, name: str) -> None:
        """The write failed: fall back to the informer's copy."""
        key = (namespace, name)
        if self._assumed.pop(key, None) is not None:
            self._reindex(key)

    def _reindex(self, key: ClaimKey) -> None:
        old = self._contrib.pop(key, None)
        if old is not None:
            self._apply(old, -1)
        claim = self.claim(*key)
        new = _contribution(claim) if claim is not None else None
        if new is not None:
            self._contrib[key] = new
            self._apply(new, +1)
        if old is not None or new is not None:
            self.generation += 1
            self._touch_pools({(d.driver, d.pool) for c in (old, new) if c is not None for d in c.dedicated}
                              | {(d.driver, d.pool) for c in (old, new) if c is not None for d in c.shared})

    def _touch_pools(self, pools: set[tuple[str, str]]) -> None:
        """Bump the allocation generation of every node these pools live on (or the shared one)."""
        for pool in pools:
            nodes = self._pool_nodes.get(pool)
            if not nodes or pool in self._shared_pools:
                self.shared_generation += 1
                continue
            for n in nodes:
                self.node_generation[n] = self.node_generation.get(n, 0) + 1

    def allocation_generation(self, node: str) -> tuple[int, int]:
        """Changes whenever anything that can alter an allocation on ``node`` changes (failure memo)."""
        return (self.node_generation.get(node, 0), self.shared_generation)

    def _apply(self, c: _Contribution, sign: int) -> None:
        for d in c.dedicated:
            self._dedicated[d] += sign
            if self._dedicated[d] <= 0:
                del self._dedicated[d]
        for s in c.shared:
            self._shared[s] += sign
            if self._shared[s] <= 0:
                del self._shared[s]
        for did, name, amount in c.capacity:
            per = self._capacity.setdefault(did, {})
            cur = per.get(name, Quantity.from_int(0))
            per[name] = cur + amount if sign > 0 else cur - amount
            if per[name].is_zero():
                del per[name]
            if not per:
                del self._capacity[did]

    def allocated_state(self) -> AllocatedState:
        """The allocator's input, as live views of the index (no copy of thousands of IDs per pod).

        Valid for one scheduling attempt: the scheduler holds its lock while the allocator runs,
        so the index cannot change underneath it; the next attempt builds a new state.
        """
        return AllocatedState(
            allocated_devices=cast(frozenset[DeviceID], self._dedicated.keys()),
            allocated_shared_device_ids=cast(frozenset[SharedDeviceID], self._shared.keys()),
            aggregated_capacity=self._capacity,
        )

    # --- slices, classes, nodes ----------------------------------------------------------------

    def set_slice(self, s: ResourceSlice) -> None:
        name = s.metadata.name or ""
        old = self.slices.get(name)
        self._slice_touched(old)
        self._unindex_slice(old)
        self.slices[name] = s
        self._slice_touched(s)
        self._index_slice(s)
        self._slices_changed()

    def delete_slice(self, name: str) -> None:
        old = self.slices.pop(name, None)
        self._slice_touched(old)
        self._unindex_slice(old)
        self._slices_changed()

    # Index for node-local allocators: node -> pool names with a slice there; pool name -> slices;
    # slices every node may see (no nodeName, counters, per-device node selection).
    def _index_slice(self, s: ResourceSlice) -> None:
        name = s.metadata.name or ""
        self._slices_by_pool_name.setdefault(s.spec.pool.name, set()).add(name)
        if s.spec.node_name and not s.spec.shared_counters and not s.spec.per_device_node_selection:
            self._pool_names_by_node.setdefault(s.spec.node_name, set()).add(s.spec.pool.name)
        else:
            self._everywhere_slices.add(name)

    def _unindex_slice(self, s: ResourceSlice | None) -> None:
        if s is None:
            return
        name = s.metadata.name or ""
        self._slices_by_pool_name.get(s.spec.pool.name, set()).discard(name)
        self._everywhere_slices.discard(name)
        if s.spec.node_name:
            pools = self._pool_names_by_node.get(s.spec.node_name)
            if pools is not None and not any(
                self.slices[n].spec.node_name == s.spec.node_name
                for n in self._slices_by_pool_name.get(s.spec.pool.name, ())
                if n in self.slices and n != name
            ):
                pools.discard(s.spec.pool.name)

    def slices_for_nodes(self, nodes: list[str]) -> list[ResourceSlice]:
        """Every slice the allocator can look at for these nodes: all slices of every pool (by pool
        name, which is how upstream keys counters) that has a slice on one of them, plus the slices
        that are not node-local. Same order as ``slice_list``."""
        names = set(self._everywhere_slices)
        for node in nodes:
            for pool in self._pool_names_by_node.get(node, ()):
                names |= self._slices_by_pool_name.get(pool, set())
        for pool_name in {self.slices[n].spec.pool.name for n in list(names) if n in self.slices}:
            names |= self._slices_by_pool_name.get(pool_name, set())
        return [self.slices[n] for n in sorted(names) if n in self.slices]

    def _slice_touched(self, s: ResourceSlice | None) -> None:
        if s is None:
            return
        pool = (s.spec.driver, s.spec.pool.name)
        node = s.spec.node_name
        if node and not s.spec.shared_counters:
            self._pool_nodes.setdefault(pool, set()).add(node)
            self.node_generation[node] = self.node_generation.get(node, 0) + 1
        else:
            self._shared_pools.add(pool)
            self.shared_generation += 1

    def _slices_changed(self) -> None:
        self._slice_list = None
        self._slices_version += 1
        self.generation += 1

    def slice_list(self) -> list[ResourceSlice]:
        """All slices in a stable order (the allocator sorts pools itself; the list is cached)."""
        if self._slice_list is None:
            self._slice_list = [self.slices[k] for k in sorted(self.slices)]
        return self._slice_list

    @property
    def slices_version(self) -> int:
        return self._slices_version

    def set_class(self, c: DeviceClass) -> None:
        self.classes[c.metadata.name or ""] = c
        self.generation += 1
        self.shared_generation += 1

    def delete_class(self, name: str) -> None:
        self.classes.pop(name, None)
        self.generation += 1
        self.shared_generation += 1

    def set_node(self, n: Node) -> None:
        name = n.metadata.name or ""
        self.nodes[name] = n
        self.generation += 1
        self.node_generation[name] = self.node_generation.get(name, 0) + 1

    def delete_node(self, name: str) -> None:
        self.nodes.pop(name, None)
        self.generation += 1
        self.node_generation[name] = self.node_generation.get(name, 0) + 1

    def pod_priority(self, pod: Pod) -> int:
        if pod.spec is None:
            return self.default_priority
        if pod.spec.priority is not None:
            return pod.spec.priority
        if pod.spec.priority_class_name:
            return self.priority_classes.get(pod.spec.priority_class_name, self.default_priority)
        return self.default_priority
