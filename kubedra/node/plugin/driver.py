"""The interface a driver author implements, and the values it returns.

A driver only decides what preparing a device means. The SDK does the protocol,
fetching and checking claims, the checkpoint, writing CDI specs from the returned
container edits, idempotency and reconciliation. Both methods are called in a worker
thread (they may block), one call at a time unless the plugin was started with
``serialize=False``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from kubedra.node.plugin.cdi import ContainerEdits
from kubedra.node.plugin.claims import AllocatedDevice, Claim, ClaimRef
from kubedra.node.plugin.device_status import DeviceStatus


@dataclass
class PreparedDevice:
    """One device handed to the kubelet for a claim.

    ``edits`` become a CDI device ``<claimUID>-<device>[-<shareID>]`` in the claim's
    own spec file, whose ID is appended to ``cdi_device_ids`` (IDs of static specs,
    e.g. a ``common`` device written at start, go first).
    """

    pool: str
    device: str
    request_names: list[str]
    share_id: str | None = None
    edits: ContainerEdits | None = None
    cdi_device_ids: list[str] = field(default_factory=list)

    @classmethod
    def for_result(
        cls, result: AllocatedDevice, edits: ContainerEdits | None = None, cdi_device_ids: Sequence[str] = ()
    ) -> PreparedDevice:
        """The device for allocation ``result``, answering for its (base) request name."""
        return cls(
            pool=result.pool,
            device=result.device,
            request_names=[result.request_name],
            share_id=result.share_id,
            edits=edits,
            cdi_device_ids=list(cdi_device_ids),
        )


@dataclass
class PrepareResult:
    """The outcome for one claim: its devices, or an error for the kubelet to report.

    ``device_status`` entries are written to the claim's ``status.devices`` (this
    driver's entries only) before the kubelet gets the answer.
    """

    devices: list[PreparedDevice] = field(default_factory=list)
    error: str | None = None
    device_status: list[DeviceStatus] = field(default_factory=list)


class Driver(Protocol):
    def prepare(self, claims: Sequence[Claim]) -> Mapping[str, PrepareResult]:
        """Prepare ``claims`` (never already prepared ones); return a result per claim UID.

        It may be called again for a claim after a crash: make side effects idempotent.
        """
        ...

    def unprepare(self, claims: Sequence[ClaimRef]) -> Mapping[str, str | None]:
        """Undo prepare for ``claims``; return an error text per UID that failed (None = ok).

        Called for claims this node prepared or started preparing, possibly twice.
        """
        ...
