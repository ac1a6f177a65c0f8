"""core/v1 pieces that DRA touches: node selection, taints/tolerations, Node and Pod.

Only the fields kubedra's components read or write are typed; the API server stores whole
objects as JSON, so fields not modelled here are never lost.
"""

from __future__ import annotations

from typing import Any

import msgspec

from kubedra.api.meta import ABSENT, Condition, ListMeta, Model, ObjectMeta, fill_type_meta
from kubedra.api.quantity_field import QuantityStr

__all__ = [
    "Condition",
    "Container",
    "EnvVar",
    "ListMeta",
    "Node",
    "NodeSelector",
    "NodeSelectorRequirement",
    "NodeSelectorTerm",
    "Pod",
    "PodResourceClaim",
    "PodResourceClaimStatus",
    "ResourceClaimRef",
    "Taint",
    "Toleration",
]


class NodeSelectorRequirement(Model, kw_only=True):
    key: str = ABSENT
    operator: str = ABSENT
    values: list[str] | None = None


class NodeSelectorTerm(Model, kw_only=True):
    match_expressions: list[NodeSelectorRequirement] | None = None
    match_fields: list[NodeSelectorRequirement] | None = None


class NodeSelector(Model, kw_only=True):
    node_selector_terms: list[NodeSelectorTerm] | None = None


class Taint(Model, kw_only=True):
    """A node taint (core/v1)."""

    key: str = ABSENT
    value: str | None = None
    effect: str = ABSENT
    time_added: str | None = None


class Toleration(Model, kw_only=True):
    """A pod toleration of node taints (core/v1)."""

    key: str | None = None
    operator: str | None = None
    value: str | None = None
    effect: str | None = None
    toleration_seconds: int | None = None


class NodeSpec(Model, kw_only=True):
    taints: list[Taint] | None = None
    unschedulable: bool | None = None
    provider_id: str | None = msgspec.field(default=None, name="providerID")
    pod_cidr: str | None = msgspec.field(default=None, name="podCIDR")


class NodeAddress(Model, kw_only=True):
    type: str = ABSENT
    address: str = ABSENT


class NodeCondition(Model, kw_only=True):
    type: str = ABSENT
    status: str = ABSENT
    last_heartbeat_time: str | None = None
    last_transition_time: str | None = None
    reason: str | None = None
    message: str | None = None


class NodeStatus(Model, kw_only=True):
    conditions: list[NodeCondition] | None = None
    addresses: list[NodeAddress] | None = None
    capacity: dict[str, QuantityStr] | None = None
    allocatable: dict[str, QuantityStr] | None = None
    node_info: dict[str, Any] | None = None
    daemon_endpoints: dict[str, Any] | None = None


class Node(Model, kw_only=True):
    api_version: str = ABSENT
    kind: str = ABSENT
    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)
    spec: NodeSpec | None = None
    status: NodeStatus | None = None

    def __post_init__(self) -> None:
        fill_type_meta(self, "v1", "Node")


class EnvVar(Model, kw_only=True):
    name: str = ABSENT
    value: str | None = None
    value_from: dict[str, Any] | None = None


class ResourceClaimRef(Model, kw_only=True):
    """``containers[].resources.claims[]``: which pod claim (and optionally which request) a container uses."""

    name: str = ABSENT
    request: str | None = None


class ResourceRequirements(Model, kw_only=True):
    limits: dict[str, QuantityStr] | None = None
    requests: dict[str, QuantityStr] | None = None
    claims: list[ResourceClaimRef] | None = None


class Container(Model, kw_only=True):
    name: str = ABSENT
    image: str | None = None
    command: list[str] | None = None
    args: list[str] | None = None
    working_dir: str | None = None
    env: list[EnvVar] | None = None
    env_from: list[dict[str, Any]] | None = None
    resources: ResourceRequirements | None = None
    ports: list[dict[str, Any]] | None = None
    volume_mounts: list[dict[str, Any]] | None = None
    security_context: dict[str, Any] | None = None
    image_pull_policy: str | None = None
    restart_policy: str | None = None


class PodResourceClaim(Model, kw_only=True):
    """``pod.spec.resourceClaims[]``: exactly one of the two sources is set."""

    name: str = ABSENT
    resource_claim_name: str | None = None
    resource_claim_template_name: str | None = None


class PodSpec(Model, kw_only=True):
    node_name: str | None = None
    node_selector: dict[str, str] | None = None
    affinity: dict[str, Any] | None = None
    tolerations: list[Toleration] | None = None
    containers: list[Container] | None = None
    init_containers: list[Container] | None = None
    resource_claims: list[PodResourceClaim] | None = None
    priority_class_name: str | None = None
    priority: int | None = None
    scheduler_name: str | None = None
    restart_policy: str | None = None
    service_account_name: str | None = None
    termination_grace_period_seconds: int | None = None
    volumes: list[dict[str, Any]] | None = None
    host_network: bool | None = None


class PodResourceClaimStatus(Model, kw_only=True):
    name: str = ABSENT
    resource_claim_name: str | None = None


class ContainerResourceRequestMapping(Model, kw_only=True):
    container_name: str = ABSENT
    resource_name: str = ABSENT
    request_name: str = ABSENT


class PodExtendedResourceClaimStatus(Model, kw_only=True):
    resource_claim_name: str = ABSENT
    request_mappings: list[ContainerResourceRequestMapping] | None = None


class PodStatus(Model, kw_only=True):
    phase: str | None = None
    conditions: list[dict[str, Any]] | None = None
    message: str | None = None
    reason: str | None = None
    host_ip: str | None = msgspec.field(default=None, name="hostIP")
    pod_ip: str | None = msgspec.field(default=None, name="podIP")
    start_time: str | None = None
    nominated_node_name: str | None = None
    container_statuses: list[dict[str, Any]] | None = None
    init_container_statuses: list[dict[str, Any]] | None = None
    resource_claim_statuses: list[PodResourceClaimStatus] | None = None
    extended_resource_claim_status: PodExtendedResourceClaimStatus | None = None


class Pod(Model, kw_only=True):
    api_version: str = ABSENT
    kind: str = ABSENT
    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)
    spec: PodSpec | None = None
    status: PodStatus | None = None

    def __post_init__(self) -> None:
        fill_type_meta(self, "v1", "Pod")


Condition = Condition
ListMeta = ListMeta
