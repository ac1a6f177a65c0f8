"""Extended resources backed by DRA (KEP-5004, gate DRAExtendedResource, beta and on in 1.36).

A container asking ``nvidia.com/gpu: 1`` is served by a DeviceClass whose
``spec.extendedResourceName`` is ``nvidia.com/gpu`` (or, implicitly, by class ``c`` for the name
``deviceclass.resource.kubernetes.io/c``) on every node that does not advertise the resource in
``status.allocatable`` (there a device plugin serves it). The scheduler builds one claim per pod
with a request per container and resource (``container-<i>-request-<j>``), allocates it together
with the pod's other claims and, at bind time, creates it (annotation
``resource.kubernetes.io/extended-resource-claim: "true"``, owned by the pod) and records it in
``pod.status.extendedResourceClaimStatus``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kubedra.api.core import ContainerResourceRequestMapping, Node, Pod
from kubedra.api.meta import ObjectMeta, OwnerReference
from kubedra.api.quantity import Quantity, QuantityError
from kubedra.api.resource import (
    EXTENDED_RESOURCE_CLAIM_ANNOTATION,
    IMPLICIT_EXTENDED_RESOURCE_PREFIX,
    DeviceClaim,
    DeviceClass,
    DeviceRequest,
    ExactDeviceRequest,
    ResourceClaim,
    ResourceClaimSpec,
)

EXTENDED_CLAIM_SUFFIX = "-extended-resources-"


def is_extended_resource_name(name: str) -> bool:
    """Not a native resource (cpu, memory, ``*.kubernetes.io/*``, hugepages) and domain-qualified."""
    if "/" not in name:
        return False
    domain = name.split("/", 1)[0]
    if domain == "kubernetes.io" or domain.endswith(".kubernetes.io"):
        return name.startswith(IMPLICIT_EXTENDED_RESOURCE_PREFIX)
    return not name.startswith("requests.")


@dataclass
class ExtendedRequest:
    container: str
    container_index: int
    resource: str
    count: int


@dataclass
class ExtendedResources:
    """The pod's extended-resource asks and the class serving each resource name."""

    requests: list[ExtendedRequest] = field(default_factory=list)
    classes: dict[str, str] = field(default_factory=dict)  # resource name -> DeviceClass name

    def amount(self, resource: str) -> int:
        return sum(r.count for r in self.requests if r.resource == resource)


def pod_extended_requests(pod: Pod) -> list[ExtendedRequest]:
    out: list[ExtendedRequest] = []
    for i, container in enumerate((pod.spec.containers if pod.spec else None) or []):
        res = container.resources
        if res is None:
            continue
        asked = dict(res.limits or {})
        asked.update(res.requests or {})
        for name in sorted(asked):
            if not is_extended_resource_name(name):
                continue
            try:
                count = Quantity.parse(asked[name]).value()
            except QuantityError:
                continue
            if count > 0:
                out.append(ExtendedRequest(container.name, i, name, count))
    return out


def class_for_resource(resource: str, classes: dict[str, DeviceClass]) -> str | None:
    """The class serving ``resource``: the explicit name wins (newest class, then the first name);
    else the implicit ``deviceclass.resource.kubernetes.io/<class>``."""
    explicit = [c for c in classes.values() if c.spec.extended_resource_name == resource]
    if explicit:
        newest = max(c.metadata.creation_timestamp or "" for c in explicit)
        return sorted(c.metadata.name or "" for c in explicit if (c.metadata.creation_timestamp or "") == newest)[0]
    if resource.startswith(IMPLICIT_EXTENDED_RESOURCE_PREFIX):
        name = resource[len(IMPLICIT_EXTENDED_RESOURCE_PREFIX):]
        if name in classes:
            return name
    return None


def resolve(pod: Pod, classes: dict[str, DeviceClass]) -> ExtendedResources | None:
    requests = pod_extended_requests(pod)
    if not requests:
        return None
    out = ExtendedResources(requests=requests)
    for r in requests:
        cls = class_for_resource(r.resource, classes)
        if cls is not None:
            out.classes[r.resource] = cls
    return out


def node_allocatable(node: Node, resource: str) -> int | None:
    allocatable = (node.status.allocatable if node.status else None) or {}
    if resource not in allocatable:
        return None
    try:
        return Quantity.parse(allocatable[resource]).value()
    except QuantityError:
        return 0


def claim_for(pod: Pod, ext: ExtendedResources, dra_resources: list[str]) -> tuple[ResourceClaim, list[ContainerResourceRequestMapping]]:
    """The special claim for the resources served by DRA on the chosen node (not yet created)."""
    requests: list[DeviceRequest] = []
    mappings: list[ContainerResourceRequestMapping] = []
    per_container: dict[int, int] = {}
    for r in ext.requests:
        if r.resource not in dra_resources:
            continue
        j = per_container.get(r.container_index, 0)
        per_container[r.container_index] = j + 1
        name = f"container-{r.container_index}-request-{j}"
        requests.append(DeviceRequest(name=name, exactly=ExactDeviceRequest(
            device_class_name=ext.classes[r.resource], allocation_mode="ExactCount", count=r.count)))
        mappings.append(ContainerResourceRequestMapping(container_name=r.container, resource_name=r.resource,
                                                        request_name=name))
    claim = ResourceClaim(
        metadata=ObjectMeta(
            name=f"{pod.metadata.name}{EXTENDED_CLAIM_SUFFIX}",  # placeholder until the API server names it
            generate_name=f"{pod.metadata.name}{EXTENDED_CLAIM_SUFFIX}",
            namespace=pod.metadata.namespace,
            annotations={EXTENDED_RESOURCE_CLAIM_ANNOTATION: "true"},
            owner_references=[OwnerReference(api_version="v1", kind="Pod", name=pod.metadata.name or "",
                                             uid=pod.metadata.uid or "", controller=True, block_owner_deletion=True)],
        ),
        spec=ResourceClaimSpec(devices=DeviceClaim(requests=requests)),
    )
    return claim, mappings
