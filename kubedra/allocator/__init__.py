"""The structured-parameters allocator: which devices a pod's ResourceClaims get on a node.

A pure function of its inputs (no HTTP, no store, no clock except the deadline passed in), shared
by the scheduler, ``kubedra explain`` and the benchmarks::

    from kubedra.allocator import Allocator, AllocatedState, Features, SliceCache

    cache = SliceCache()                                  # keep one for the process's lifetime
    alloc = Allocator(Features.defaults_1_36(), state, classes_by_name, slices, cache=cache)
    for node in nodes:                                    # one Allocator per pod, one call per node
        try:
            results = alloc.allocate(node, claims, deadline=time.monotonic() + 10)
        except FailedAllocationOnNode as exc:             # invalid pools on this node: try others
            ...
        # AllocationError: fatal for the pod's attempt; AllocationAborted: deadline passed
        if results is not None:                           # one AllocationResult per claim
            break

Semantics (search order, checks, error texts) are kube-scheduler 1.36's; see
``docs/decisions/allocator.md`` for the few deliberate differences.
"""

from kubedra.allocator.errors import (
    AllocationAborted,
    AllocationError,
    AllocatorError,
    FailedAllocationOnNode,
)
from kubedra.allocator.features import Features
from kubedra.allocator.memo import SliceCache
from kubedra.allocator.search import Allocator, Stats
from kubedra.allocator.state import AllocatedState, DeviceID, SharedDeviceID

__all__ = [
    "AllocatedState",
    "AllocationAborted",
    "AllocationError",
    "Allocator",
    "AllocatorError",
    "DeviceID",
    "FailedAllocationOnNode",
    "Features",
    "SharedDeviceID",
    "SliceCache",
    "Stats",
]
