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

    ``window``: building an Allocator costs O(all slices) (it indexes them), which dominated a
    scheduling attempt on 500 nodes. Nodes are tried in order and the first fit wins, so the
    factory hands out a :class:`WindowedAllocator` that builds a real Allocator over the slices of
    the next ``window`` nodes only (all slices of their pools plus every non-node-local slice,
    see ``SchedulerCache.slices_for_nodes``): the allocator sees exactly what it would look at for
    those nodes, so results are the same. ``window=0`` builds one allocator over all slices.
    """

    def __init__(self, features: Features, window: int = 32) -> None:
        self.features = features
        self.window = window
        self.slice_cache = SliceCache()
        self._retained_version = -1

    def new(self, cache: SchedulerCache, node_order: list[str] | None = None) -> NodeAllocator:
        if cache.slices_version != self._retained_version:
            self.slice_cache.retain(cache.slice_list())
            self._retained_version = cache.slices_version
        if not self.window or node_order is None:
            return self._build(cache, cache.slice_list())
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
