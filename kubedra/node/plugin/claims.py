"""What a driver is handed on Prepare: its own allocation results and configs of a claim.

The kubelet sends only ``{namespace, name, uid}``; the SDK fetches the ResourceClaim,
checks that it is still the same object (UID) and allocated, and reduces the
allocation to what concerns this driver: results whose ``driver`` is ours, and the
opaque configs for our driver in precedence order (all class configs, then all claim
configs; later wins). Problems are per claim and name the claim and field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class ClaimError(ValueError):
    """A claim cannot be prepared; the message is returned to the kubelet for that claim."""


@dataclass(frozen=True)
class ClaimRef:
    """A claim as the kubelet names it in NodePrepare/NodeUnprepareResources."""

    namespace: str
    name: str
    uid: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class OpaqueConfig:
    """One ``status.allocation.devices.config[]`` entry for this driver."""

    source: str  # FromClass | FromClaim
    requests: tuple[str, ...]  # empty = applies to all requests
    parameters: Any  # the decoded JSON of opaque.parameters

    def applies_to(self, request: str) -> bool:
        """True if this config covers ``request`` (``req`` or ``req/sub``).

        An entry may name the exact request or subrequest, or the parent request
        to cover all its subrequests.
        """
        return not self.requests or request in self.requests or base_request(request) in self.requests


@dataclass(frozen=True)
class AllocatedDevice:
    """One ``status.allocation.devices.results[]`` entry of this driver."""

    request: str  # as allocated, possibly "req/sub"
    pool: str
    device: str
    admin_access: bool = False
    share_id: str | None = None
    consumed_capacity: dict[str, str] = field(default_factory=dict)

    @property
    def request_name(self) -> str:
        """The base request name, which the kubelet matches container claims against."""
        return base_request(self.request)


@dataclass(frozen=True)
class Claim:
    """A ResourceClaim reduced to this driver's part of its allocation."""

    ref: ClaimRef
    devices: tuple[AllocatedDevice, ...]
    configs: tuple[OpaqueConfig, ...]  # lowest precedence first
    raw: dict[str, Any]  # the whole ResourceClaim as returned by the API server

    @property
    def uid(self) -> str:
        return self.ref.uid

    def configs_for(self, device: AllocatedDevice) -> list[OpaqueConfig]:
        """Configs that apply to ``device``, lowest precedence first."""
        return [c for c in self.configs if c.applies_to(device.request)]

    def config_for(self, device: AllocatedDevice) -> OpaqueConfig | None:
        """The highest-precedence config that applies to ``device``, if any."""
        matching = self.configs_for(device)
        return matching[-1] if matching else None


def base_request(request: str) -> str:
    return request.split("/", 1)[0]


def claim_from_object(obj: dict[str, Any], ref: ClaimRef, driver: str) -> Claim:
    """Check ``obj`` against ``ref`` and extract ``driver``'s results and configs."""
    meta = obj.get("metadata") or {}
    if meta.get("uid") != ref.uid:
        raise ClaimError(f"claim {ref} got replaced: have UID {meta.get('uid')}, want {ref.uid}")
    allocation = (obj.get("status") or {}).get("allocation")
    if not allocation:
        raise ClaimError(f"claim {ref} not allocated")
    devices = allocation.get("devices") or {}
    results = []
    for i, r in enumerate(devices.get("results") or []):
        if r.get("driver") != driver:
            continue
        where = f"ResourceClaim {ref}: status.allocation.devices.results[{i}]"
        for key in ("request", "pool", "device"):
            if not isinstance(r.get(key), str) or not r[key]:
                raise ClaimError(f"{where}.{key}: required")
        results.append(
            AllocatedDevice(
                request=r["request"],
                pool=r["pool"],
                device=r["device"],
                admin_access=bool(r.get("adminAccess")),
                share_id=r.get("shareID"),
                consumed_capacity=dict(r.get("consumedCapacity") or {}),
            )
        )
    return Claim(ref=ref, devices=tuple(results), configs=_configs(devices, ref, driver), raw=obj)


def _configs(devices: dict[str, Any], ref: ClaimRef, driver: str) -> tuple[OpaqueConfig, ...]:
    by_source: dict[str, list[OpaqueConfig]] = {"FromClass": [], "FromClaim": []}
    for i, c in enumerate(devices.get("config") or []):
        where = f"ResourceClaim {ref}: status.allocation.devices.config[{i}]"
        source = c.get("source")
        if source not in by_source:
            raise ClaimError(f"{where}.source: invalid config source: {source}")
        opaque = c.get("opaque")
        if not opaque:
            raise ClaimError(f"{where}: only opaque parameters are supported by this driver")
        if opaque.get("driver") != driver:
            continue
        by_source[source].append(
            OpaqueConfig(
                source=source, requests=tuple(c.get("requests") or ()), parameters=opaque.get("parameters")
            )
        )
    return (*by_source["FromClass"], *by_source["FromClaim"])
