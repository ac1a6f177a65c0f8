"""The allocator: a depth-first, first-solution-wins search over claims, requests and devices.

The order of decisions and every check follow kube-scheduler 1.36 (dynamic-resource-allocation
v0.36.2, "incubating"/"experimental" variants) so that kubedra picks the same devices Kubernetes
would: claims in order, requests in order, firstAvailable subrequests in order, then candidates
pool by pool (sorted), slice by slice (sorted by name), device by device; within one request only
combinations are tried, never permutations.
"""

from __future__ import annotations

import sys
import time
import uuid
from bisect import bisect_left
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass

from kubedra.allocator.capacity import capacity_problem, consumed_capacity
from kubedra.allocator.constraints import Constraint
from kubedra.allocator.counters import CounterSets, CounterTracker, PoolID
from kubedra.allocator.devices import PreparedDevice, PreparedSlice
from kubedra.allocator.errors import AllocationAborted, AllocationError, FailedAllocationOnNode
from kubedra.allocator.features import Features
from kubedra.allocator.memo import SliceCache
from kubedra.allocator.nodes import NodeSelectorError, node_matches
from kubedra.allocator.pools import Pool, PoolKey, SharedPools, gather_pools, index_by_pool, split_by_node
from kubedra.allocator.requests import MAX_DEVICES_PER_CLAIM, ClaimPlan, RequestData, prepare_claims
from kubedra.allocator.results import Pick, build_allocation
from kubedra.allocator.selectors import ABORTED, SelectorCompiler
from kubedra.allocator.state import AllocatedState, DeviceID
from kubedra.allocator.taints import untolerated_taint
from kubedra.api.core import Node
from kubedra.api.quantity import Quantity
from kubedra.api.resource import AllocationResult, DeviceClass, ResourceClaim, ResourceSlice

FAIL, OK, MAX_SIZE = 0, 1, 2
INVALID_POOLS = "invalid resource pools were encountered"

# What ``Search.release`` needs to undo one ``allocate_device``: claim index, request, device, pool,
# whether counters were taken, the capacity consumed from a multi-allocatable device, picks before.
_Taken = tuple[int, RequestData, PreparedDevice, Pool, bool, "dict[str, Quantity] | None", int]


@dataclass
class Stats:
    num_allocate_one_invocations: int = 0


def _new_share_id() -> str:
    return str(uuid.uuid4())


_FEATURE_KEYS: dict[Features, str] = {}


def _features_key(features: Features) -> str:
    key = _FEATURE_KEYS.get(features)
    if key is None:
        key = _FEATURE_KEYS[features] = repr(features.names())
    return key


def _add_to_constraints(constraints: list[Constraint], base: str, sub: str, dev: PreparedDevice) -> bool:
    """Add ``dev`` to every constraint or to none: on the first refusal the earlier ones let go."""
    for i, constraint in enumerate(constraints):
        if not constraint.add(base, sub, dev):
            for earlier in constraints[:i]:
                earlier.remove(base, sub, dev)
            return False
    return True


class _SliceIndex:
    """Read-only indexes of one slice set, shared by every allocator built over that set."""

    def __init__(self, prepared: list[PreparedSlice]) -> None:
        self.prepared = prepared
        self.on_node, self.shared = split_by_node(prepared)
        self.by_pool: dict[PoolKey, list[PreparedSlice]] = index_by_pool(prepared)


class Allocator:
    """Allocates devices for the claims of one pod; build once per pod, call per node.

    ``allocated`` is what other claims already use; ``classes`` looks up a DeviceClass by name (a
    mapping or a ``get``-like callable returning None when missing); ``slices`` are all ResourceSlices
    in the cluster. Pass a long-lived ``cache`` to reuse prepared slices and selector results
    across pods; the slice indexes are then built once per slice set, and ``slices_version`` (a value
    the caller changes whenever ``slices`` changes) saves even comparing the list. Inputs are never
    modified. Not thread-safe (one ``allocate`` at a time).
    """

    def __init__(
        self,
        features: Features,
        allocated: AllocatedState,
        classes: Mapping[str, DeviceClass] | Callable[[str], DeviceClass | None],
        slices: Sequence[ResourceSlice],
        *,
        cache: SliceCache | None = None,
        share_id: Callable[[], str] = _new_share_id,
        slices_version: Hashable | None = None,
    ) -> None:
        self.features = features
        self.features_key = _features_key(features)
        self.state = state = allocated
        self.classes: Callable[[str], DeviceClass | None] = (
            classes.get if isinstance(classes, Mapping) else classes
        )
        self.cache = cache if cache is not None else SliceCache()
        # The slice indexes depend on the slice set only: a scheduler building one allocator per
        # pod over an unchanged set reuses them (indexing 500 slices cost more than a search).
        self.slice_set = self.cache.slice_set_token(slices, slices_version)
        index: _SliceIndex = self.cache.per_slice_set(
            self.slice_set, "slice-index", lambda: _SliceIndex(self.cache.prepare_all(slices))
        )
        self.prepared: list[PreparedSlice] = index.prepared
        self.on_node, self.shared_slices = index.on_node, index.shared
        self.by_pool: dict[PoolKey, list[PreparedSlice]] = index.by_pool
        self.shared_ids = state.shared_devices()
        self.available_counters: dict[PoolID, CounterSets] = {}
        self.compiler = SelectorCompiler(features)
        self.share_id = share_id
        self.stats = Stats()
        self._plans_key: tuple[int, ...] | None = None
        self._plans: list[ClaimPlan] = []
        self._plans_claims: Sequence[ResourceClaim] = ()

    def pools_for(self, node: Node) -> list[Pool]:
        """The pools the search would walk on ``node`` (raises AllocationError on bad node selectors).

        Pools are immutable once gathered, so they are shared through the cache by every allocator
        that sees the same slices.
        """

        return self.node_pools(node)[0]

    def node_pools(self, node: Node) -> tuple[list[Pool], list[int]]:
        """The pools, and the indices of those the search can take devices from (usable, non-empty)."""

        def gather() -> tuple[list[Pool], list[int]]:
            slices = self.on_node.get(node.metadata.name or "", [])
            shared = self.cache.per_slice_set(
                self.slice_set,
                ("shared-pools", self.features_key),
                lambda: SharedPools(self.shared_slices, self.features, self.by_pool),
            )
            pools = gather_pools(slices, node, self.features, self.by_pool, shared)
            return pools, [i for i, p in enumerate(pools) if p.usable() and any(s.devices for s in p.slices)]

        found: tuple[list[Pool], list[int]] = self.cache.pools(
            self.slice_set, node, self.features_key, gather
        )
        return found

    def plans(self, claims: Sequence[ResourceClaim]) -> list[ClaimPlan]:
        key = tuple(id(c) for c in claims)
        if key != self._plans_key:
            self._plans = prepare_claims(claims, self.classes, self.features, self.compiler)
            self._plans_key = key
            self._plans_claims = list(claims)  # keeps ids stable while cached
        return self._plans

    def allocate(
        self, node: Node, claims: Sequence[ResourceClaim], deadline: float | None = None
    ) -> list[AllocationResult] | None:
        """One AllocationResult per claim (same order), or None when the claims do not fit on ``node``.

        Raises AllocationError (fatal), FailedAllocationOnNode (invalid pools, nothing else fits),
        AllocationAborted (``deadline``, a ``time.monotonic()`` value, passed).
        """
        search = Search(self, node, claims, deadline)
        return search.run()


class Search:
    """The state of one ``allocate`` call."""

    def __init__(
        self, alloc: Allocator, node: Node, claims: Sequence[ResourceClaim], deadline: float | None
    ) -> None:
        self.alloc = alloc
        self.features = alloc.features
        self.node = node
        self.node_name = node.metadata.name or ""
        self.claims = claims
        self.deadline = deadline
        self.pools: list[Pool] = []
        self.searchable: list[int] = []
        self.plans: list[ClaimPlan] = []
        self.all_devices: dict[tuple[int, int, int], list[tuple[PreparedDevice, Pool]]] = {}
        self.constraints: list[list[Constraint]] = []
        self.allocated = alloc.state.allocated_devices
        self.aggregated = alloc.state.aggregated_capacity
        self.allocating: dict[DeviceID, set[int]] = {}
        self.allocating_capacity: dict[DeviceID, dict[str, int]] = {}
        self.allocating_shares: dict[DeviceID, int] = {}
        self.counters = CounterTracker(alloc.state, alloc.shared_ids, alloc.available_counters)
        self.picks: list[list[Pick]] = []
        self.selected: list[list[int]] = []
        self.invocations = 0  # allocate_one calls, added to the allocator's stats at the end

    # ------------------------------------------------------------------ preparation

    def prepare(self) -> None:
        """Pools for the node, then every claim's checks in upstream's order."""
        self.pools, self.searchable = self.alloc.node_pools(self.node)
        self.plans = self.alloc.plans(self.claims)
        lists = self.features.list_type_attributes
        for plan in self.plans:
            if plan.simple:  # no "All" request, no error: nothing depends on the node
                self.constraints.append(plan.fresh_constraints(lists) if plan.constraint_specs else [])
                self.picks.append([])
                self.selected.append([0] * len(plan.entries))
                continue
            min_devices = 0
            for entry in plan.entries:
                best = None
                for rd in entry.subs:
                    n = self._prepare_all(rd, plan) if rd.all_mode else rd.count
                    best = n if best is None else min(best, n)
                min_devices += best or 0
            if plan.error:
                raise AllocationError(plan.error)
            if min_devices > MAX_DEVICES_PER_CLAIM:
                raise AllocationError(
                    f"claim {plan.display}: number of requested devices {min_devices} exceeds the claim limit of {MAX_DEVICES_PER_CLAIM}"
                )
            for kind, what, _ in plan.constraint_specs:
                if kind == "empty":
                    raise AllocationError(
                        f"claim {plan.display}, constraint #{what}: empty constraint (unsupported constraint type?)"
                    )
            self.constraints.append(plan.fresh_constraints(lists))
            self.picks.append([])
            self.selected.append([0] * len(plan.entries))

    def _prepare_all(self, rd: RequestData, plan: ClaimPlan) -> int:
        devices: list[tuple[PreparedDevice, Pool]] = []
        for pool in self.pools:
            if pool.incomplete:
                raise AllocationError(
                    f"claim {plan.display}, request {rd.name}: asks for all devices, but resource pool {pool.id} is currently being updated"
                )
            if pool.invalid:
                raise AllocationError(
                    f"claim {plan.display}, request {rd.name}: asks for all devices, but resource pool {pool.id} is currently invalid"
                )
            for s in pool.slices:
                for dev in s.devices:
                    if not self.selectable(rd, dev):
                        continue
                    if self.features.consumable_capacity and self.capacity_problem(rd, dev):
                        continue
                    devices.append((dev, pool))
        self.all_devices[rd.key] = devices
        return len(devices)

    # ------------------------------------------------------------------ checks

    def selectable(self, rd: RequestData, dev: PreparedDevice) -> bool:
        if dev.binding_conditions and not self.features.device_binding_and_status:
            return False
        # Class and request selectors together, memoised on the slice under the request's signature.
        memo = dev.slice.selector_results
        per_device = memo.get(rd.signature)
        if per_device is None:
            per_device = memo[rd.signature] = [None] * len(dev.slice.devices)
        ok = per_device[dev.index]
        if ok is None:
            ok = per_device[dev.index] = (
                not rd.class_selectors.keys or rd.class_selectors.matches(dev, self.deadline)
            ) and (not rd.selectors.keys or rd.selectors.matches(dev, self.deadline))
        if not ok:
            return False
        if dev.slice.per_device_node_selection:
            try:
                return node_matches(self.node, dev.node_name, dev.all_nodes, dev.node_selector)
            except NodeSelectorError as exc:
                raise AllocationError(f"failed to parse node selector: {exc}") from None
        return True

    def capacity_problem(self, rd: RequestData, dev: PreparedDevice) -> str:
        if dev.invalid:
            raise AllocationError(dev.invalid)
        did = dev.id
        if (
            not rd.capacity_requests
            and not dev.has_policy
            and did not in self.allocating_capacity
            and did not in self.aggregated
        ):
            return ""  # every capacity is consumed whole and nothing is in use: always fits
        return capacity_problem(
            rd.capacity_requests, dev.capacity, self.aggregated.get(did), self.allocating_capacity.get(did)
        )

    def _ensure_recursion_depth(self) -> None:
        """``allocate_one`` recurses once per device slot, request and claim: a pod with many claims
        of 32 devices each needs more than Python's default 1000 frames. The limit is only ever
        raised (other threads may be searching too); since 3.11 Python-to-Python calls do not use
        the C stack, so a higher limit is safe."""
        frames = 0
        for plan in self.plans:
            frames += 3
            for entry in plan.entries:
                widest = 0
                for rd in entry.subs:
                    n = len(self.all_devices.get(rd.key, ())) if rd.all_mode else rd.count
                    widest = max(widest, min(n, 10_000))
                frames += 3 + widest
        needed = frames + 1000  # the caller's own frames
        if sys.getrecursionlimit() < needed:
            sys.setrecursionlimit(needed)

    def capacity_in_use(self, did: DeviceID) -> bool:
        return did in self.aggregated or did in self.allocating_shares

    # ------------------------------------------------------------------ search

    def run(self) -> list[AllocationResult] | None:
        self.prepare()
        self._ensure_recursion_depth()
        try:
            outcome = self.allocate_one(0, 0, 0, 0, False, 0, 0, 0)
        finally:
            self.alloc.stats.num_allocate_one_invocations += self.invocations
        if outcome != OK:
            invalid = [f"{p.id}: {p.invalid_reason}" for p in self.pools if p.invalid]
            if invalid:
                raise FailedAllocationOnNode(INVALID_POOLS, invalid)
            return None
        binding = self.features.device_binding_and_status
        return [
            build_allocation(
                plan.claim, plan.entries, self.selected[ci], self.picks[ci], self.node_name, binding
            )
            for ci, plan in enumerate(self.plans)
        ]

    def allocate_one(
        self, ci: int, ri: int, si: int, slot: int, in_sub: bool, sp: int, ss: int, sd: int
    ) -> int:
        self.invocations += 1
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise AllocationAborted(ABORTED)
        if ci == len(self.plans):
            return OK
        entries = self.plans[ci].entries
        if ri == len(entries):
            outcome = self.allocate_one(ci + 1, 0, 0, 0, False, 0, 0, 0)
            return FAIL if outcome == MAX_SIZE else outcome
        entry = entries[ri]
        if entry.parent and not in_sub:
            all_exceeded = True
            for sub_index in range(len(entry.subs)):
                outcome = self.allocate_one(ci, ri, sub_index, 0, True, 0, 0, 0)
                if outcome == MAX_SIZE:
                    continue
                all_exceeded = False
                if outcome == OK:
                    self.selected[ci][ri] = sub_index
                    return OK
            return MAX_SIZE if all_exceeded else FAIL
        rd = entry.subs[si]
        if rd.all_mode:
            all_devices = self.all_devices[rd.key]
            if not all_devices:
                return FAIL
            needed = len(all_devices)
        else:
            needed = rd.count
        if slot >= needed:
            return self.allocate_one(ci, ri + 1, 0, 0, False, 0, 0, 0)
        picks = self.picks[ci]
        if len(picks) + needed - slot > MAX_DEVICES_PER_CLAIM:
            return MAX_SIZE
        if rd.all_mode:
            dev, pool = all_devices[slot]
            taken = self.allocate_device(ci, rd, dev, pool, True)
            if taken is None:
                return FAIL
            outcome = self.allocate_one(ci, ri, si, slot + 1, in_sub, 0, 0, 0)
            if outcome != OK:
                self.release(taken)
            return outcome

        pools = self.pools
        allocated = self.allocated
        allocating = self.allocating
        aggregated = self.aggregated
        admin = rd.admin
        consumable = self.features.consumable_capacity
        searchable = self.searchable
        signature = rd.signature
        # Fast path: a plain request (no admin access, no capacity asked) taking a plain device
        # (whole, no counters, taints or policy) that nobody consumes capacity of needs none of
        # allocate_device's checks beyond the constraints; done inline, it saves two calls per device.
        fast = not admin and not rd.capacity_requests
        constraints = self.constraints[ci]
        base, sub = rd.base, rd.sub
        for pi in searchable[bisect_left(searchable, sp) :] if sp else searchable:
            pool = pools[pi]
            slices = pool.slices
            for sli in range(ss if pi == sp else 0, len(slices)):
                prepared = slices[sli]
                devices = prepared.devices
                # Memoised selector results read inline: ``selectable`` runs only for a device not
                # evaluated yet or one whose slice needs more than the selectors (node selection,
                # binding conditions), which keeps a function call off the per-device path.
                memo = prepared.selector_results.get(signature)
                shortcut = not prepared.per_device_node_selection and not prepared.has_binding_conditions
                for di in range(sd if (pi == sp and sli == ss) else 0, len(devices)):
                    dev = devices[di]
                    did = dev.id
                    users = allocating.get(did)
                    if admin:
                        if users and ci in users:
                            continue
                    elif users or did in allocated:
                        continue
                    known = memo[di] if memo is not None else None
                    if known is False:
                        continue
                    if not (known and shortcut) and not self.selectable(rd, dev):
                        continue
                    if memo is None:
                        memo = prepared.selector_results.get(signature)
                    if fast and dev.plain and did not in aggregated:
                        if constraints and not _add_to_constraints(constraints, base, sub, dev):
                            continue
                        allocating[did] = {ci}
                        count = len(picks)
                        picks.append(Pick(rd, dev, pool))
                        outcome = self.allocate_one(ci, ri, si, slot + 1, in_sub, pi, sli, di + 1)
                        if outcome == OK:
                            return OK
                        for constraint in constraints:
                            constraint.remove(base, sub, dev)
                        del allocating[did]
                        del picks[count:]
                        if outcome == MAX_SIZE:
                            return MAX_SIZE
                        continue
                    if (
                        consumable
                        and (rd.capacity_requests or dev.has_policy or dev.multi or dev.id in self.aggregated)
                        and self.capacity_problem(rd, dev)
                    ):
                        continue
                    taken = self.allocate_device(ci, rd, dev, pool, False)
                    if taken is None:
                        continue
                    outcome = self.allocate_one(ci, ri, si, slot + 1, in_sub, pi, sli, di + 1)
                    if outcome == OK:
                        return OK
                    self.release(taken)
                    if outcome == MAX_SIZE:
                        return MAX_SIZE
        return FAIL

    def allocate_device(
        self, ci: int, rd: RequestData, dev: PreparedDevice, pool: Pool, must: bool
    ) -> _Taken | None:
        """Tentatively take ``dev`` for ``rd``; returns what ``release`` needs to give it back, or
        None if the device cannot be used. A record rather than an undo closure: this runs once per
        device tried, and building a closure over a dozen cells cost more than the checks."""
        features = self.features
        multi = features.consumable_capacity and dev.multi
        did = dev.id
        users = self.allocating.get(did)
        if rd.admin:
            if not multi and users and ci in users:
                return None
        elif users or did in self.allocated:
            return None
        took_counters = False
        if dev.consumes:
            if not features.partitionable_devices:
                return None
            if not (multi and self.capacity_in_use(did)):
                if not self.counters.take(pool, dev):
                    return None
                took_counters = True
        if features.device_taints and dev.taints and untolerated_taint(dev.taints, rd.tolerations or []):
            if took_counters:
                self.counters.release(pool, dev)
            return None
        constraints = self.constraints[ci]
        if constraints and not _add_to_constraints(constraints, rd.base, rd.sub, dev):
            if must:
                raise AllocationError(
                    f"claim {self.plans[ci].display}, request {rd.name}: cannot add device {did} "
                    "because a claim constraint would not be satisfied"
                )
            if took_counters:
                self.counters.release(pool, dev)
            return None
        share_id: str | None = None
        consumed: dict[str, Quantity] | None = None
        if features.consumable_capacity:
            if (
                rd.capacity_requests or dev.has_policy or multi or did in self.aggregated
            ) and self.capacity_problem(rd, dev):
                for constraint in constraints:
                    constraint.remove(rd.base, rd.sub, dev)
                if took_counters:
                    self.counters.release(pool, dev)
                return None
            if multi:
                consumed = consumed_capacity(rd.capacity_requests, dev.capacity)
                share_id = self.alloc.share_id()
                current = self.allocating_capacity.setdefault(did, {})
                for name, q in consumed.items():
                    current[name] = current.get(name, 0) + q.nano
                self.allocating_shares[did] = self.allocating_shares.get(did, 0) + 1
        if not multi:
            if users is None:
                self.allocating[did] = {ci}
            else:
                users.add(ci)
        picks = self.picks[ci]
        count = len(picks)
        picks.append(Pick(rd, dev, pool, share_id, consumed or None))
        return (ci, rd, dev, pool, took_counters, consumed if multi else None, count)

    def release(self, taken: _Taken) -> None:
        """Give back a device taken by ``allocate_device`` (backtracking)."""
        ci, rd, dev, pool, took_counters, consumed, count = taken
        constraints = self.constraints[ci]
        if constraints:
            base, sub = rd.base, rd.sub
            for constraint in constraints:
                constraint.remove(base, sub, dev)
        did = dev.id
        if consumed is not None:
            current = self.allocating_capacity[did]
            for name, q in consumed.items():
                current[name] -= q.nano
            left = self.allocating_shares[did] - 1
            if left:
                self.allocating_shares[did] = left
            else:
                del self.allocating_shares[did]
                del self.allocating_capacity[did]
        else:
            holders = self.allocating.get(did)
            if holders is not None:
                holders.discard(ci)
                if not holders:
                    del self.allocating[did]
        if took_counters:
            self.counters.release(pool, dev)
        del self.picks[ci][count:]
