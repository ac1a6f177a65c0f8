"""The DynamicResources part of a scheduling attempt: resolve a pod's claims, then per node decide
whether they are (or can be) allocated there.

PreFilter (``DRAPodState.prepare``): every claim must exist, not be in deletion, belong to the pod
when generated from a template, not be in the middle of another pod's allocation write, and name
only existing DeviceClasses. Filter (``DRAPodState.filter``): allocated claims must be usable on the
node (their ``allocation.nodeSelector``); the others are handed together to the allocator, which
sees every allocated and in-flight device as taken (``SchedulerCache.allocated_state``).
Messages are upstream's texts so users can search for them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from kubedra.allocator.errors import AllocationAborted, AllocationError, FailedAllocationOnNode
from kubedra.api.codec import to_json
from kubedra.api.core import ContainerResourceRequestMapping, Node, Pod
from kubedra.api.resource import AllocationResult, ResourceClaim
from kubedra.controlplane.controllers.claimnames import ClaimNameError, check_owner, claim_name
from kubedra.controlplane.scheduler.allocation import AllocatorFactory, NodeAllocator
from kubedra.controlplane.scheduler.cache import SchedulerCache
from kubedra.controlplane.scheduler.extended import ExtendedResources, node_allocatable
from kubedra.controlplane.scheduler.extended import claim_for as extended_claim_for
from kubedra.controlplane.scheduler.extended import resolve as resolve_extended
from kubedra.controlplane.scheduler.nodefit import node_selector_matches

RESERVED_FOR_MAX = 256
REASON_CANNOT_ALLOCATE = "cannot allocate all claims"
REASON_NOT_AVAILABLE = "resourceclaim not available on the node"


class Unschedulable(Exception):
    """The pod cannot be scheduled now; retried when the cluster changes.

    ``quiet``: a transient wait that is no news to the user (the ResourceClaim controller is about to
    create the pod's claim); like upstream's PreEnqueue it produces no event.
    """

    def __init__(self, message: str, quiet: bool = False) -> None:
        super().__init__(message)
        self.quiet = quiet


class SchedulingError(Exception):
    """The attempt failed for a reason other than fit (fatal allocator input, timeout): back off."""


def claim_display(claim: ResourceClaim) -> str:
    return f"{claim.metadata.namespace}/{claim.metadata.name}"


def is_reserved_for(claim: ResourceClaim, pod: Pod) -> bool:
    reserved = claim.status.reserved_for if claim.status else None
    return any(r.uid == pod.metadata.uid for r in reserved or [])


@dataclass
class DRAPodState:
    """Per-attempt state, built by ``prepare`` and used for every node."""

    pod: Pod
    claims: list[ResourceClaim] = field(default_factory=list)
    # Indices into ``claims`` of the claims this attempt must allocate.
    pending: list[int] = field(default_factory=list)
    allocator: NodeAllocator | None = None
    # Identity of the pending claims' specs: pods from one template share it (failure memo key).
    signature: tuple[tuple[str, bytes], ...] = ()
    # Extended resources (nvidia.com/gpu: 1) and, per node, the special claim built for them.
    extended: ExtendedResources | None = None
    extended_claims: dict[str, tuple[ResourceClaim, list[ContainerResourceRequestMapping]]] = field(
        default_factory=dict
    )
    # First claim that could not be allocated anywhere (for the explain summary).
    results: dict[str, list[AllocationResult]] = field(default_factory=dict)

    @property
    def has_claims(self) -> bool:
        return bool(self.claims)

    @classmethod
    def prepare(
        cls,
        pod: Pod,
        cache: SchedulerCache,
        factory: AllocatorFactory,
        in_flight: set[tuple[str, str]],
        extended_resources: bool = True,
        node_order: list[str] | None = None,
    ) -> DRAPodState:
        state = cls(pod=pod)
        if extended_resources:
            state.extended = resolve_extended(pod, cache.classes)
        ns = pod.metadata.namespace or ""
        for pod_claim in (pod.spec.resource_claims if pod.spec else None) or []:
            try:
                name, must_own = claim_name(pod, pod_claim)
            except ClaimNameError as exc:
                raise Unschedulable(str(exc), quiet=bool(pod_claim.resource_claim_template_name)) from None
            if name is None:
                continue
            claim = cache.claim(ns, name)
            if claim is None:
                # A generated claim may reach the pod's status before the claim informer delivers it.
                raise Unschedulable(f'resourceclaim "{name}" not found', quiet=must_own)
            if claim.metadata.deletion_timestamp:
                raise Unschedulable(f'resourceclaim "{name}" is being deleted')
            if must_own:
                try:
                    check_owner(pod, claim)
                except ClaimNameError as exc:
                    raise Unschedulable(str(exc)) from None
            if (ns, name) in in_flight:
                raise Unschedulable(f"resource claim {ns}/{name} is in the process of being allocated")
            allocated = claim.status is not None and claim.status.allocation is not None
            if allocated:
                reserved = (claim.status.reserved_for if claim.status else None) or []
                if not is_reserved_for(claim, pod) and len(reserved) >= RESERVED_FOR_MAX:
                    raise Unschedulable(f'resourceclaim "{name}" in use')
            else:
                _check_classes(claim, cache)
                state.pending.append(len(state.claims))
            state.claims.append(claim)
        if state.pending or (state.extended is not None and state.extended.classes):
            state.allocator = factory.new(cache, node_order)
            state.signature = tuple(
                (c.metadata.namespace or "", to_json(c.spec)) for c in state.pending_claims()
            )
        return state

    def filter(self, node: Node, deadline: float | None, memo: FailureMemo | None = None) -> str | None:
        """None when the pod's claims fit on ``node`` (results kept in ``results``); else the reason."""
        for claim in self.claims:
            allocation = claim.status.allocation if claim.status else None
            if allocation is not None and not node_selector_matches(allocation.node_selector, node):
                return REASON_NOT_AVAILABLE
        dra_resources: list[str] = []
        if self.extended is not None:
            for resource in dict.fromkeys(r.resource for r in self.extended.requests):
                have = node_allocatable(node, resource)
                if have is not None:  # a device plugin serves it on this node
                    if have < self.extended.amount(resource):
                        return f"Insufficient {resource}"
                elif resource in self.extended.classes:
                    dra_resources.append(resource)
                else:
                    return f"Insufficient {resource}"
        if (not self.pending and not dra_resources) or self.allocator is None:
            return None
        if not dra_resources and memo is not None and memo.known_failure(self.signature, node.metadata.name or ""):
            return REASON_CANNOT_ALLOCATE
        to_allocate = [self.claims[i] for i in self.pending]
        if dra_resources:
            assert self.extended is not None
            special = extended_claim_for(self.pod, self.extended, dra_resources)
            self.extended_claims[node.metadata.name or ""] = special
            to_allocate.append(special[0])
            memo = None  # the memo key covers the pod's own claims only
        try:
            results = self.allocator.allocate(node, to_allocate, deadline)
        except FailedAllocationOnNode as exc:
            return str(exc)
        except AllocationAborted:
            raise SchedulingError(f"node {node.metadata.name}: timed out trying to allocate devices") from None
        except AllocationError as exc:
            raise SchedulingError(str(exc)) from None
        if results is None or len(results) != len(to_allocate):
            if memo is not None:
                memo.record_failure(self.signature, node.metadata.name or "")
            return REASON_CANNOT_ALLOCATE
        self.results[node.metadata.name or ""] = results
        return None

    def pending_claims(self) -> list[ResourceClaim]:
        return [self.claims[i] for i in self.pending]


class FailureMemo:
    """"These claim specs do not fit on this node" while nothing relevant changed there.

    When a cluster is nearly full, every pod of a template is tried against hundreds of full
    nodes; the answer cannot change until a claim on that node is (de)allocated, one of its slices
    or the node changes, or a class or node-less slice changes (``allocation_generation``). The
    memo turns those repeated allocator calls into dictionary lookups. Only negative answers are
    kept: a success is always recomputed, so results are never stale.
    """

    MAX_ENTRIES = 200_000

    def __init__(self, cache: SchedulerCache) -> None:
        self.cache = cache
        self._failed: dict[tuple[tuple[tuple[str, bytes], ...], str], tuple[int, int]] = {}
        self.hits = 0

    def known_failure(self, signature: tuple[tuple[str, bytes], ...], node: str) -> bool:
        gen = self._failed.get((signature, node))
        if gen is not None and gen == self.cache.allocation_generation(node):
            self.hits += 1
            return True
        return False

    def record_failure(self, signature: tuple[tuple[str, bytes], ...], node: str) -> None:
        if len(self._failed) >= self.MAX_ENTRIES:
            self._failed.clear()
        self._failed[(signature, node)] = self.cache.allocation_generation(node)


def _check_classes(claim: ResourceClaim, cache: SchedulerCache) -> None:
    devices = claim.spec.devices
    for request in (devices.requests if devices else None) or []:
        if request.exactly is not None:
            cls_name = request.exactly.device_class_name
            if not cls_name:
                raise SchedulingError(f"request {request.name}: unsupported request type")
            if cls_name not in cache.classes:
                raise Unschedulable(
                    f'resourceclaim "{claim.metadata.name}": request {request.name}: '
                    f"device class {cls_name} does not exist"
                )
        # firstAvailable: a subrequest whose class is missing is only one alternative that cannot
        # be satisfied (scheduler_perf's FirstAvailable workload relies on it); the allocator decides.


def deadline_after(seconds: float | None) -> float | None:
    """The allocator's deadline (monotonic clock) for one Filter call; None disables it."""
    if not seconds:
        return None
    return time.monotonic() + seconds
