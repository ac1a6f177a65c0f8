"""resource.k8s.io/v1 (Kubernetes 1.36): DeviceClass, ResourceSlice, ResourceClaim, ResourceClaimTemplate.

Every field of 1.36 is present, alpha ones included (partitionable devices and counters,
consumable capacity and requestPolicy, taints and tolerations, binding conditions, list-type
attributes, extendedResourceName, device status and networkData). Whether a gated field may be
*used* is decided by validation and the allocator, not by the model: the model never drops data.
"""

from __future__ import annotations

from typing import Any

import msgspec

from kubedra.api.core import NodeSelector
from kubedra.api.meta import ABSENT, Condition, Model, ObjectMeta, fill_type_meta
from kubedra.api.quantity_field import QuantityStr

GROUP = "resource.k8s.io"
VERSION = "v1"
API_VERSION = f"{GROUP}/{VERSION}"

# Well-known strings (api.md §2).
DELETE_PROTECTION_FINALIZER = "resource.kubernetes.io/delete-protection"
POD_CLAIM_NAME_ANNOTATION = "resource.kubernetes.io/pod-claim-name"
EXTENDED_RESOURCE_CLAIM_ANNOTATION = "resource.kubernetes.io/extended-resource-claim"
ADMIN_ACCESS_NAMESPACE_LABEL = "resource.kubernetes.io/admin-access"
IMPLICIT_EXTENDED_RESOURCE_PREFIX = "deviceclass.resource.kubernetes.io/"

ALLOCATION_MODE_EXACT_COUNT = "ExactCount"
ALLOCATION_MODE_ALL = "All"


# --- shared pieces -------------------------------------------------------------------------------


class CELDeviceSelector(Model, kw_only=True):
    expression: str = ABSENT


class DeviceSelector(Model, kw_only=True):
    cel: CELDeviceSelector | None = None


class OpaqueDeviceConfiguration(Model, kw_only=True):
    driver: str = ABSENT
    parameters: Any = None


class Counter(Model, kw_only=True):
    value: QuantityStr = QuantityStr("")


# --- ResourceSlice -------------------------------------------------------------------------------


class ResourcePool(Model, kw_only=True):
    name: str = ABSENT
    generation: int = 0
    resource_slice_count: int = 0


class DeviceAttribute(Model, kw_only=True):
    """Exactly one member is set. The list members need the DRAListTypeAttributes gate."""

    int_: int | None = msgspec.field(default=None, name="int")
    bool_: bool | None = msgspec.field(default=None, name="bool")
    string: str | None = None
    version: str | None = None
    ints: list[int] | None = None
    bools: list[bool] | None = None
    strings: list[str] | None = None
    versions: list[str] | None = None


class CapacityRequestPolicyRange(Model, kw_only=True):
    min: QuantityStr | None = None
    max: QuantityStr | None = None
    step: QuantityStr | None = None


class CapacityRequestPolicy(Model, kw_only=True):
    default: QuantityStr | None = None
    valid_values: list[QuantityStr] | None = None
    valid_range: CapacityRequestPolicyRange | None = None


class DeviceCapacity(Model, kw_only=True):
    value: QuantityStr = QuantityStr("")
    request_policy: CapacityRequestPolicy | None = None


class DeviceCounterConsumption(Model, kw_only=True):
    counter_set: str = ABSENT
    counters: dict[str, Counter] | None = None


class CounterSet(Model, kw_only=True):
    name: str = ABSENT
    counters: dict[str, Counter] | None = None


class DeviceTaint(Model, kw_only=True):
    key: str = ABSENT
    value: str | None = None
    effect: str = ABSENT
    time_added: str | None = None


class NodeAllocatableResourceMapping(Model, kw_only=True):
    capacity_key: str | None = None
    allocation_multiplier: QuantityStr | None = None


class Device(Model, kw_only=True):
    name: str = ABSENT
    attributes: dict[str, DeviceAttribute] | None = None
    capacity: dict[str, DeviceCapacity] | None = None
    consumes_counters: list[DeviceCounterConsumption] | None = None
    node_name: str | None = None
    node_selector: NodeSelector | None = None
    all_nodes: bool | None = None
    taints: list[DeviceTaint] | None = None
    binds_to_node: bool | None = None
    binding_conditions: list[str] | None = None
    binding_failure_conditions: list[str] | None = None
    allow_multiple_allocations: bool | None = None
    node_allocatable_resource_mappings: dict[str, NodeAllocatableResourceMapping] | None = None


class ResourceSliceSpec(Model, kw_only=True):
    driver: str = ABSENT
    pool: ResourcePool = msgspec.field(default_factory=ResourcePool)
    node_name: str | None = None
    node_selector: NodeSelector | None = None
    all_nodes: bool | None = None
    devices: list[Device] | None = None
    per_device_node_selection: bool | None = None
    shared_counters: list[CounterSet] | None = None


class ResourceSlice(Model, kw_only=True):
    api_version: str = ABSENT
    kind: str = ABSENT
    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)
    spec: ResourceSliceSpec = msgspec.field(default_factory=ResourceSliceSpec)

    def __post_init__(self) -> None:
        fill_type_meta(self, API_VERSION, "ResourceSlice")


# --- DeviceClass ---------------------------------------------------------------------------------


class DeviceClassConfiguration(Model, kw_only=True):
    opaque: OpaqueDeviceConfiguration | None = None


class DeviceClassSpec(Model, kw_only=True):
    selectors: list[DeviceSelector] | None = None
    config: list[DeviceClassConfiguration] | None = None
    extended_resource_name: str | None = None


class DeviceClass(Model, kw_only=True):
    api_version: str = ABSENT
    kind: str = ABSENT
    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)
    spec: DeviceClassSpec = msgspec.field(default_factory=DeviceClassSpec)

    def __post_init__(self) -> None:
        fill_type_meta(self, API_VERSION, "DeviceClass")


# --- ResourceClaim spec --------------------------------------------------------------------------


class DeviceToleration(Model, kw_only=True):
    key: str | None = None
    operator: str | None = None
    value: str | None = None
    effect: str | None = None
    toleration_seconds: int | None = None


class CapacityRequirements(Model, kw_only=True):
    requests: dict[str, QuantityStr] | None = None


class ExactDeviceRequest(Model, kw_only=True):
    device_class_name: str = ABSENT
    selectors: list[DeviceSelector] | None = None
    allocation_mode: str | None = None
    count: int | None = None
    admin_access: bool | None = None
    tolerations: list[DeviceToleration] | None = None
    capacity: CapacityRequirements | None = None


class DeviceSubRequest(Model, kw_only=True):
    name: str = ABSENT
    device_class_name: str = ABSENT
    selectors: list[DeviceSelector] | None = None
    allocation_mode: str | None = None
    count: int | None = None
    tolerations: list[DeviceToleration] | None = None
    capacity: CapacityRequirements | None = None


class DeviceRequest(Model, kw_only=True):
    name: str = ABSENT
    exactly: ExactDeviceRequest | None = None
    first_available: list[DeviceSubRequest] | None = None


class DeviceConstraint(Model, kw_only=True):
    requests: list[str] | None = None
    match_attribute: str | None = None
    distinct_attribute: str | None = None


class DeviceClaimConfiguration(Model, kw_only=True):
    requests: list[str] | None = None
    opaque: OpaqueDeviceConfiguration | None = None


class DeviceClaim(Model, kw_only=True):
    requests: list[DeviceRequest] | None = None
    constraints: list[DeviceConstraint] | None = None
    config: list[DeviceClaimConfiguration] | None = None


class ResourceClaimSpec(Model, kw_only=True):
    devices: DeviceClaim | None = None


# --- ResourceClaim status ------------------------------------------------------------------------


class DeviceRequestAllocationResult(Model, kw_only=True):
    request: str = ABSENT
    driver: str = ABSENT
    pool: str = ABSENT
    device: str = ABSENT
    admin_access: bool | None = None
    tolerations: list[DeviceToleration] | None = None
    binding_conditions: list[str] | None = None
    binding_failure_conditions: list[str] | None = None
    share_id: str | None = msgspec.field(default=None, name="shareID")
    consumed_capacity: dict[str, QuantityStr] | None = None


class DeviceAllocationConfiguration(Model, kw_only=True):
    source: str = ABSENT
    requests: list[str] | None = None
    opaque: OpaqueDeviceConfiguration | None = None


class DeviceAllocationResult(Model, kw_only=True):
    results: list[DeviceRequestAllocationResult] | None = None
    config: list[DeviceAllocationConfiguration] | None = None


class AllocationResult(Model, kw_only=True):
    devices: DeviceAllocationResult | None = None
    node_selector: NodeSelector | None = None
    allocation_timestamp: str | None = None


class ResourceClaimConsumerReference(Model, kw_only=True):
    api_group: str | None = None
    resource: str = ABSENT
    name: str = ABSENT
    uid: str = ABSENT


class NetworkDeviceData(Model, kw_only=True):
    interface_name: str | None = None
    ips: list[str] | None = None
    hardware_address: str | None = None


class AllocatedDeviceStatus(Model, kw_only=True):
    driver: str = ABSENT
    pool: str = ABSENT
    device: str = ABSENT
    share_id: str | None = msgspec.field(default=None, name="shareID")
    conditions: list[Condition] | None = None
    data: Any = None
    network_data: NetworkDeviceData | None = None


class ResourceClaimStatus(Model, kw_only=True):
    allocation: AllocationResult | None = None
    reserved_for: list[ResourceClaimConsumerReference] | None = None
    devices: list[AllocatedDeviceStatus] | None = None


class ResourceClaim(Model, kw_only=True):
    api_version: str = ABSENT
    kind: str = ABSENT
    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)
    spec: ResourceClaimSpec = msgspec.field(default_factory=ResourceClaimSpec)
    status: ResourceClaimStatus | None = None

    def __post_init__(self) -> None:
        fill_type_meta(self, API_VERSION, "ResourceClaim")


# --- ResourceClaimTemplate -----------------------------------------------------------------------


class ResourceClaimTemplateSpec(Model, kw_only=True):
    metadata: ObjectMeta | None = None
    spec: ResourceClaimSpec = msgspec.field(default_factory=ResourceClaimSpec)


class ResourceClaimTemplate(Model, kw_only=True):
    api_version: str = ABSENT
    kind: str = ABSENT
    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)
    spec: ResourceClaimTemplateSpec = msgspec.field(default_factory=ResourceClaimTemplateSpec)

    def __post_init__(self) -> None:
        fill_type_meta(self, API_VERSION, "ResourceClaimTemplate")


# --- DeviceTaintRule (v1beta2 / v1alpha3 in 1.36; modelled here for the allocator) ----------------


class DeviceTaintSelector(Model, kw_only=True):
    driver: str | None = None
    pool: str | None = None
    device: str | None = None


class DeviceTaintRuleSpec(Model, kw_only=True):
    device_selector: DeviceTaintSelector | None = None
    taint: DeviceTaint = msgspec.field(default_factory=DeviceTaint)


class DeviceTaintRuleStatus(Model, kw_only=True):
    conditions: list[Condition] | None = None


class DeviceTaintRule(Model, kw_only=True):
    api_version: str = ABSENT
    kind: str = ABSENT
    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)
    spec: DeviceTaintRuleSpec = msgspec.field(default_factory=DeviceTaintRuleSpec)
    status: DeviceTaintRuleStatus | None = None

    def __post_init__(self) -> None:
        fill_type_meta(self, f"{GROUP}/v1beta2", "DeviceTaintRule")


def device_id(driver: str, pool: str, device: str) -> str:
    """The ``driver/pool/device`` identity used for allocated-device bookkeeping."""
    return f"{driver}/{pool}/{device}"
