"""Feature gates of Kubernetes 1.36 that change DRA behaviour (api.md §12).

Every component (validation, API server, scheduler, kubelet) receives one ``FeatureGates`` value
so that ``--feature-gates=DRAListTypeAttributes=true`` means the same thing everywhere. Gates that
upstream has locked (GA and no longer switchable) reject an attempt to turn them off, as
kube-apiserver does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class GateSpec:
    default: bool
    stage: str  # "ALPHA" | "BETA" | "GA"
    locked: bool = False


DYNAMIC_RESOURCE_ALLOCATION = "DynamicResourceAllocation"
DRA_ADMIN_ACCESS = "DRAAdminAccess"
DRA_PRIORITIZED_LIST = "DRAPrioritizedList"
DRA_RESOURCE_CLAIM_DEVICE_STATUS = "DRAResourceClaimDeviceStatus"
DRA_SCHEDULER_FILTER_TIMEOUT = "DRASchedulerFilterTimeout"
DRA_PARTITIONABLE_DEVICES = "DRAPartitionableDevices"
DRA_DEVICE_TAINTS = "DRADeviceTaints"
DRA_DEVICE_TAINT_RULES = "DRADeviceTaintRules"
DRA_CONSUMABLE_CAPACITY = "DRAConsumableCapacity"
DRA_DEVICE_BINDING_CONDITIONS = "DRADeviceBindingConditions"
DRA_EXTENDED_RESOURCE = "DRAExtendedResource"
DRA_LIST_TYPE_ATTRIBUTES = "DRAListTypeAttributes"
DRA_NODE_ALLOCATABLE_RESOURCES = "DRANodeAllocatableResources"
DRA_WORKLOAD_RESOURCE_CLAIMS = "DRAWorkloadResourceClaims"
DRA_RESOURCE_POOL_STATUS = "DRAResourcePoolStatus"
RESOURCE_HEALTH_STATUS = "ResourceHealthStatus"

KNOWN_GATES: dict[str, GateSpec] = {
    DYNAMIC_RESOURCE_ALLOCATION: GateSpec(True, "GA", locked=True),
    DRA_ADMIN_ACCESS: GateSpec(True, "GA", locked=True),
    DRA_PRIORITIZED_LIST: GateSpec(True, "GA"),
    DRA_RESOURCE_CLAIM_DEVICE_STATUS: GateSpec(True, "BETA"),
    DRA_SCHEDULER_FILTER_TIMEOUT: GateSpec(True, "BETA"),
    DRA_PARTITIONABLE_DEVICES: GateSpec(True, "BETA"),
    DRA_DEVICE_TAINTS: GateSpec(True, "BETA"),
    DRA_DEVICE_TAINT_RULES: GateSpec(False, "BETA"),
    DRA_CONSUMABLE_CAPACITY: GateSpec(True, "BETA"),
    DRA_DEVICE_BINDING_CONDITIONS: GateSpec(True, "BETA"),
    DRA_EXTENDED_RESOURCE: GateSpec(True, "BETA"),
    DRA_LIST_TYPE_ATTRIBUTES: GateSpec(False, "ALPHA"),
    DRA_NODE_ALLOCATABLE_RESOURCES: GateSpec(False, "ALPHA"),
    DRA_WORKLOAD_RESOURCE_CLAIMS: GateSpec(False, "ALPHA"),
    DRA_RESOURCE_POOL_STATUS: GateSpec(False, "ALPHA"),
    RESOURCE_HEALTH_STATUS: GateSpec(False, "ALPHA"),
}


class FeatureGateError(ValueError):
    """A ``--feature-gates`` value that kube-apiserver would refuse to start with."""


class FeatureGates:
    """An immutable set of gate states: the 1.36 defaults plus explicit overrides."""

    __slots__ = ("_disabled", "_states")

    def __init__(self, overrides: Mapping[str, bool] | None = None) -> None:
        states = {name: spec.default for name, spec in KNOWN_GATES.items()}
        for name, value in (overrides or {}).items():
            spec = KNOWN_GATES.get(name)
            if spec is None:
                raise FeatureGateError(f"unrecognized feature gate: {name}")
            if spec.locked and value != spec.default:
                raise FeatureGateError(
                    f"cannot set feature gate {name} to {str(value).lower()}, feature is locked to "
                    f"{str(spec.default).lower()}"
                )
            states[name] = bool(value)
        self._states = states
        self._disabled = frozenset(n for n, on in states.items() if not on)

    @classmethod
    def parse(cls, text: str, base: FeatureGates | None = None) -> FeatureGates:
        """Parse ``A=true,B=false`` (the kube-apiserver flag syntax) on top of ``base``."""
        overrides: dict[str, bool] = dict(base.overrides()) if base else {}
        for item in text.split(","):
            item = item.strip()
            if not item:
                continue
            name, sep, raw = item.partition("=")
            name = name.strip()
            if not sep:
                raise FeatureGateError(f"missing bool value for {name}")
            value = raw.strip().lower()
            if value not in ("true", "false"):
                raise FeatureGateError(f"invalid value of {name}={raw.strip()}, err: invalid syntax")
            overrides[name] = value == "true"
        return cls(overrides)

    def enabled(self, name: str) -> bool:
        try:
            return self._states[name]
        except KeyError:
            raise FeatureGateError(f"feature {name!r} is not registered in FeatureGates") from None

    def disabled(self) -> frozenset[str]:
        """Every gate that is off (the set is immutable, so this is computed once)."""
        return self._disabled

    def overrides(self) -> dict[str, bool]:
        """Gates whose state differs from the 1.36 default."""
        return {n: v for n, v in self._states.items() if v != KNOWN_GATES[n].default}

    def with_overrides(self, **states: bool) -> FeatureGates:
        merged = self.overrides()
        merged.update(states)
        return FeatureGates(merged)

    def as_dict(self) -> dict[str, bool]:
        return dict(self._states)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FeatureGates) and other._states == self._states

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._states.items())))

    def __repr__(self) -> str:
        text = ",".join(f"{n}={str(v).lower()}" for n, v in sorted(self.overrides().items()))
        return f"FeatureGates({text})"


DEFAULT_GATES = FeatureGates()
