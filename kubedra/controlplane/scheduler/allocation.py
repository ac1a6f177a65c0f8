"""The one place the scheduler builds allocators (kubedra.allocator's public API).

Kept apart so the scheduling loop depends on a two-method interface and the allocator's wiring
(features, slice cache, class lookup) lives in one file.
"""

from __future__ import annotations

from typing import Protocol

from kubedra.allocator import Allocator, Features, SliceCache
from kubedra.api.core import Node
from kubedra.api.resource import AllocationResult, ResourceClaim, ResourceSlice
from kubedra.controlplane.scheduler.cache import SchedulerCache


class NodeAllocator(Protocol):
    def allocate(
        self, node: Node, claims: list[ResourceClaim], deadline: float | None
    ) -> list[AllocationResult] | None: ...


class AllocatorFactory:
    """Builds the allocators of one scheduling attempt from the scheduler's cache.

    Building an Allocator used to cost O(all slices) (it indexed them) and dominated an attempt on
    500 nodes. The allocator now keeps its indexes per slice set in the long-lived ``SliceCache``
    and the factory passes the cache's slice version, so one allocator over all slices costs
    O(1) to build and its per-node pools stay cached across pods (``window=0``, the default).
    ``window>0`` is the earlier workaround, kept for comparison: a :class:`WindowedAllocator` that
    builds an Allocator over the slices of the next ``window`` nodes only (all slices of their
    pools plus every non-node-local slice, see ``SchedulerCache.slices_for_nodes``), with the
    same results.
    """

    def __init__(self, features: Features, window: int = 0) -> None:
        self.features = features
        self.window = window
        self.slice_cache = SliceCache()
        self._retained_version = -1

    @property
    def wants_node_order(self) -> bool:
        return bool(self.window)

    def new(self, cache: SchedulerCache, node_order: list[str] | None = None) -> NodeAllocator:
        if cache.slices_version != self._retained_version:
            self.slice_cache.retain(cache.slice_list())
            self._retained_version = cache.slices_version
        if not self.window or node_order is None:
            return Allocator(self.features, cache.allocated_state(), cache.classes, cache.slice_list(),
                             cache=self.slice_cache, slices_version=cache.slices_version)
        return WindowedAllocator(self, cache, node_order)

    def _build(self, cache: SchedulerCache, slices: list[ResourceSlice]) -> Allocator:
        return Allocator(self.features, cache.allocated_state(), cache.classes, slices, cache=self.slice_cache)


class WindowedAllocator:
    """An allocator per window of ``node_order``, built when a node of the window is first asked."""

    def __init__(self, factory: AllocatorFactory, cache: SchedulerCache, node_order: list[str]) -> None:
        self.factory = factory
        self.cache = cache
        self.order = node_order
        self.position = {name: i for i, name in enumerate(node_order)}
        self._window: set[str] = set()
        self._allocator: Allocator | None = None

    def allocate(
        self, node: Node, claims: list[ResourceClaim], deadline: float | None
    ) -> list[AllocationResult] | None:
        name = node.metadata.name or ""
        if self._allocator is None or name not in self._window:
            start = self.position.get(name, 0)
            names = self.order[start : start + self.factory.window] or [name]
            self._window = set(names)
            self._allocator = self.factory._build(self.cache, self.cache.slices_for_nodes(names))
        return self._allocator.allocate(node, claims, deadline)
