"""Writing a driver's ``status.devices[]`` entries of a ResourceClaim (conditions, data, networkData).

Several drivers may allocate devices in one claim and each owns only its own entries,
so the write is read-modify-write on the ``status`` subresource: GET the claim, keep
every entry that is not one of ours being replaced, PUT with the resourceVersion just
read, and start over on a conflict. The UID is checked so that a claim deleted and
re-created under the same name is never given another claim's status. An unchanged
status is not written again (a repeated Prepare costs one GET).
"""

from __future__ import annotations

import asyncio
import copy
from dataclasses import dataclass, field
from typing import Any

from lightkube import ApiError, AsyncClient

from kubedra.node.plugin.claims import ClaimRef
from kubedra.node.plugin.kubeapi import ResourceClaim, ResourceClaimStatus, as_dict

CONFLICT_RETRIES = 5


class DeviceStatusError(RuntimeError):
    """The status could not be written; the message names the claim."""


@dataclass(frozen=True)
class DeviceStatus:
    """One ``status.devices[]`` entry for a device this driver prepared (JSON field names as in the API)."""

    pool: str
    device: str
    share_id: str | None = None
    conditions: list[dict[str, Any]] = field(default_factory=list)  # metav1.Condition objects
    data: Any = None  # any JSON, at most 10 KiB
    network_data: dict[str, Any] | None = None  # {interfaceName, ips, hardwareAddress}

    def to_json(self, driver: str) -> dict[str, Any]:
        entry: dict[str, Any] = {"driver": driver, "pool": self.pool, "device": self.device}
        if self.share_id:
            entry["shareID"] = self.share_id
        if self.conditions:
            entry["conditions"] = copy.deepcopy(self.conditions)
        if self.data is not None:
            entry["data"] = copy.deepcopy(self.data)
        if self.network_data is not None:
            entry["networkData"] = copy.deepcopy(self.network_data)
        return entry


def _key(entry: dict[str, Any]) -> tuple[Any, ...]:
    return (entry.get("driver"), entry.get("pool"), entry.get("device"), entry.get("shareID") or None)


async def write_device_status(client: AsyncClient, driver: str, ref: ClaimRef,
                              entries: list[dict[str, Any]]) -> bool:
    """Set ``entries`` (``DeviceStatus.to_json`` dicts) in the claim's status; True if it was written."""
    for _ in range(CONFLICT_RETRIES):
        try:
            claim = as_dict(await client.get(ResourceClaim, ref.name, namespace=ref.namespace))
        except ApiError as e:
            raise DeviceStatusError(f"update status of claim {ref}: {e.status.message}") from None
        uid = (claim.get("metadata") or {}).get("uid")
        if uid != ref.uid:
            raise DeviceStatusError(f"update status of claim {ref}: claim got replaced: have UID {uid}, "
                                    f"want {ref.uid}")
        status = claim.setdefault("status", {})
        current = list(status.get("devices") or [])
        replaced = {_key(e) for e in entries}
        wanted = [e for e in current if _key(e) not in replaced] + entries
        if sorted(map(repr, wanted)) == sorted(map(repr, current)):
            return False
        status["devices"] = wanted
        try:
            await client.replace(ResourceClaimStatus(claim), ref.name, namespace=ref.namespace)  # type: ignore[call-overload]
            return True
        except ApiError as e:
            if e.status.code == 409:
                await asyncio.sleep(0.05)
                continue
            raise DeviceStatusError(f"update status of claim {ref}: {e.status.message}") from None
    raise DeviceStatusError(f"update status of claim {ref}: still conflicting after {CONFLICT_RETRIES} attempts")
