"""The one place the scheduler builds allocators (kubedra.allocator's public API).

Kept apart so the scheduling loop depends on a two-method interface and the allocator's wiring
(features, slice cache, class lookup) lives in one file.
"""

from __future__ import annotations

from typing import Protocol

from kubedra.allocator import Allocator, Features, SliceCache
from kubedra.api.core import Node
from kubedra.api.resource import AllocationResult, ResourceClaim
from kubedra.controlplane.scheduler.cache import SchedulerCache


class NodeAllocator(Protocol):
    def allocate(
        self, node: Node, claims: list[ResourceClaim], deadline: float | None
    ) -> list[AllocationResult] | None: ...


class AllocatorFactory:
    """Builds one allocator per scheduling attempt from the scheduler's cache."""

    def __init__(self, features: Features) -> None:
        self.features = features
        self.slice_cache = SliceCache()
        self._retained_version = -1

    def new(self, cache: SchedulerCache) -> NodeAllocator:
        if cache.slices_version != self._retained_version:
            self.slice_cache.retain(cache.slice_list())
            self._retained_version = cache.slices_version
        return Allocator(
            self.features, cache.allocated_state(), cache.classes, cache.slice_list(), cache=self.slice_cache
        )
