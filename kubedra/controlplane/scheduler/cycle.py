"""One scheduling attempt for one pod: filter nodes, pick one, decide the claim updates.

Pure with respect to the API (reads the cache only); the scheduler loop applies the decision.
Nodes are tried from a rotating start index and the search stops at the first feasible node
unless a claim uses ``firstAvailable`` (then up to ``score_nodes`` feasible nodes are scored by
the index of the chosen subrequest, like upstream's DynamicResources Score). kube-scheduler
also stops early (``percentageOfNodesToScore``); kubedra scores nothing else, so the first fit
is as good as any and saves the allocator calls on the remaining nodes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec

from kubedra.api.core import ContainerResourceRequestMapping, Node, NodeSelector, Pod
from kubedra.api.resource import (
    AllocationResult,
    ResourceClaim,
    ResourceClaimConsumerReference,
    ResourceClaimStatus,
)
from kubedra.controlplane.scheduler.allocation import AllocatorFactory
from kubedra.controlplane.scheduler.cache import SchedulerCache
from kubedra.controlplane.scheduler.dra import (
    REASON_NOT_AVAILABLE,
    DRAPodState,
    FailureMemo,
    SchedulingError,
    Unschedulable,
    deadline_after,
)
from kubedra.controlplane.scheduler.nodefit import (
    AffinityError,
    check_node,
    fit_error_message,
    required_node_affinity,
)
from kubedra.controlplane.scheduler.prebind import deallocation_candidate, unavailable_for_binding


@dataclass
class ClaimUpdate:
    """What the scheduler will write for one claim: the allocation (new claims only) and the pod."""

    claim: ResourceClaim
    allocation: AllocationResult | None  # None: already allocated, only add the pod to reservedFor
    # Set for the extended-resource claim, which the binder must create first.
    extended_mappings: list[ContainerResourceRequestMapping] | None = None


@dataclass
class Decision:
    node: str
    updates: list[ClaimUpdate] = field(default_factory=list)


@dataclass
class FitFailure:
    """No node fits: the message for the event/condition and whether a cluster change can help."""

    message: str
    unschedulable: bool = True
    quiet: bool = False
    first_failed_claim: ResourceClaim | None = None
    reasons: dict[str, int] = field(default_factory=dict)
    # PostFilter: an allocated claim to free first (its binding failed or timed out).
    deallocate: ResourceClaim | None = None


def consumer_ref(pod: Pod) -> ResourceClaimConsumerReference:
    return ResourceClaimConsumerReference(
        resource="pods", name=pod.metadata.name or "", uid=pod.metadata.uid or ""
    )


def with_reservation(claim: ResourceClaim, pod: Pod, allocation: AllocationResult | None) -> ResourceClaim:
    """The claim as it will look once the scheduler's write for ``pod`` succeeded."""
    status = claim.status or ResourceClaimStatus()
    reserved = list(status.reserved_for or [])
    if not any(r.uid == pod.metadata.uid for r in reserved):
        reserved.append(consumer_ref(pod))
    new_status = msgspec.structs.replace(
        status,
        allocation=allocation if allocation is not None else status.allocation,
        reserved_for=reserved,
    )
    return msgspec.structs.replace(claim, status=new_status)


class Cycle:
    """Holds the rotating start index between attempts (like kube-scheduler's nextStartNodeIndex)."""

    def __init__(
        self,
        factory: AllocatorFactory,
        cache: SchedulerCache,
        filter_timeout: float | None = 10.0,
        score_nodes: int = 10,
        memo: bool = True,
        extended_resources: bool = True,
        binding_timeout: float | None = None,
    ) -> None:
        self.factory = factory
        # Set when binding conditions are on: allocated claims whose binding failed/timed out are unusable.
        self.binding_timeout = binding_timeout
        self.extended_resources = extended_resources
        self.filter_timeout = filter_timeout
        self.score_nodes = score_nodes
        self.memo = FailureMemo(cache) if memo else None
        self._next_start = 0

    def schedule(
        self, pod: Pod, cache: SchedulerCache, in_flight: set[tuple[str, str]]
    ) -> Decision | FitFailure:
        nodes = list(cache.nodes.values())
        if not nodes:
            return FitFailure(fit_error_message(0, {}) + " no nodes available to schedule pods")
        n = len(nodes)
        start = self._next_start % n
        # Only a windowed allocator needs the try order up front (O(nodes) per pod otherwise).
        order = [nodes[(start + i) % n].metadata.name or "" for i in range(n)] if self.factory.wants_node_order else None
        try:
            state = DRAPodState.prepare(pod, cache, self.factory, in_flight, self.extended_resources, order)
        except Unschedulable as exc:
            return FitFailure(fit_error_message(len(nodes), {}, prefilter=str(exc)), quiet=exc.quiet)
        except SchedulingError as exc:
            return FitFailure(str(exc), unschedulable=False)
        try:
            required = required_node_affinity(pod)
        except AffinityError as exc:
            return FitFailure(str(exc), unschedulable=True)
        if self.binding_timeout is not None:
            unusable = binding_failures(pod, state.claims, nodes, required, self.binding_timeout)
            if unusable is not None:
                return unusable

        reasons: dict[str, int] = {}
        feasible: list[str] = []
        want = self.score_nodes if _uses_first_available(state) else 1
        checked = 0
        for i in range(n):
            node = nodes[(start + i) % n]
            checked += 1
            reason = check_node(pod, node, required)
            if reason is None and (state.has_claims or state.extended is not None):
                try:
                    reason = state.filter(node, deadline_after(self.filter_timeout), self.memo)
                except SchedulingError as exc:
                    return FitFailure(str(exc), unschedulable=False)
            if reason is None:
                feasible.append(node.metadata.name or "")
                if len(feasible) >= want:
                    break
            else:
                reasons[reason] = reasons.get(reason, 0) + 1
        self._next_start = (start + checked) % n
        if not feasible:
            failed = state.pending_claims()[0] if state.pending else None
            return FitFailure(fit_error_message(n, reasons), first_failed_claim=failed, reasons=reasons)
        chosen = _best(state, feasible)
        results = state.results.get(chosen)
        updates: list[ClaimUpdate] = []
        pending = {id(c): k for k, c in enumerate(state.pending_claims())}
        for claim in state.claims:
            index = pending.get(id(claim))
            updates.append(ClaimUpdate(claim, results[index] if results is not None and index is not None else None))
        special = state.extended_claims.get(chosen)
        if special is not None and results is not None:
            updates.append(ClaimUpdate(special[0], results[-1], extended_mappings=special[1]))
        return Decision(node=chosen, updates=updates)


def binding_failures(
    pod: Pod, claims: list[ResourceClaim], nodes: list[Node], required: NodeSelector | None, timeout: float
) -> FitFailure | None:
    """Filter + PostFilter for claims whose binding failed or timed out: no node can use them (the
    reason is node-independent), so the attempt fails and one such claim is deallocated."""
    stale = [c for c in claims if unavailable_for_binding(c, timeout)]
    if not stale:
        return None
    reasons: dict[str, int] = {}
    for node in nodes:
        reason = check_node(pod, node, required) or REASON_NOT_AVAILABLE
        reasons[reason] = reasons.get(reason, 0) + 1
    return FitFailure(fit_error_message(len(nodes), reasons), reasons=reasons,
                      deallocate=deallocation_candidate(stale, pod))


def _uses_first_available(state: DRAPodState) -> bool:
    for claim in state.pending_claims():
        devices = claim.spec.devices
        if devices and any(r.first_available for r in devices.requests or []):
            return True
    return False


def _best(state: DRAPodState, feasible: list[str]) -> str:
    """Highest DRA score wins (8 - index of the chosen subrequest, summed); ties keep node order."""
    if len(feasible) == 1:
        return feasible[0]

    def score(node: str) -> int:
        total = 0
        for result in state.results.get(node) or []:
            seen: set[str] = set()
            for r in (result.devices.results if result.devices else None) or []:
                parent, _, sub = r.request.partition("/")
                if not sub or parent in seen:
                    continue
                seen.add(parent)
                total += 8 - _sub_index(state, parent, sub)
        return total

    return max(feasible, key=lambda n: (score(n), -feasible.index(n)))


def _sub_index(state: DRAPodState, parent: str, sub: str) -> int:
    for claim in state.pending_claims():
        for r in (claim.spec.devices.requests if claim.spec.devices else None) or []:
            if r.name == parent:
                for i, s in enumerate(r.first_available or []):
                    if s.name == sub:
                        return i
    return 0
