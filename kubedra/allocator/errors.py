"""The allocator's outcomes other than success, mirroring how kube-scheduler reacts to each.

* :class:`AllocationError` — a fatal input problem (CEL error, unknown class, disabled feature used...):
  the pod's scheduling attempt aborts with an Error status.
* :class:`FailedAllocationOnNode` — this node cannot be used and the reason is worth reporting
  (invalid resource pools); other nodes may still work.
* :class:`AllocationAborted` — the deadline passed while searching.

"No allocation on this node" is not an exception: ``allocate`` returns ``None``.
"""

from __future__ import annotations


class AllocatorError(Exception):
    """Base class of every error ``Allocator.allocate`` raises."""


class AllocationError(AllocatorError):
    """Fatal for the whole scheduling attempt; the message is upstream's text."""


class FailedAllocationOnNode(AllocatorError):
    """Allocation failed on this node only; ``invalid_pools`` holds ``driver/pool: reason`` entries."""

    def __init__(self, message: str, invalid_pools: list[str] | None = None) -> None:
        super().__init__(message)
        self.invalid_pools = invalid_pools or []


class AllocationAborted(AllocatorError):
    """The deadline passed (upstream: ``filter operation aborted: context deadline exceeded``)."""
