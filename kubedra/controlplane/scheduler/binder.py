"""The scheduler's writes: claim finalizer, claim status (allocation + reservedFor), pod binding,
FailedScheduling events and the PodScheduled condition.

Every claim write is optimistic: it carries the resourceVersion the decision was based on; on a
409 Conflict the claim is read again and the decision re-checked (an allocation someone else
wrote meanwhile is kept only if it is usable on the chosen node; a claim deleted or replaced —
new uid — fails the attempt). That is what makes concurrent scheduling of pods sharing one
claim, and a restart in the middle of a write, safe.
"""

from __future__ import annotations

import contextlib
import logging

import msgspec

from kubedra.api.codec import decode, to_dict
from kubedra.api.core import Node, Pod
from kubedra.api.defaults import now_rfc3339
from kubedra.api.resource import DELETE_PROTECTION_FINALIZER, ResourceClaim, ResourceClaimStatus
from kubedra.controlplane.client import Client, Conflict, NotFound
from kubedra.controlplane.scheduler.cycle import ClaimUpdate, consumer_ref
from kubedra.controlplane.scheduler.nodefit import node_selector_matches

log = logging.getLogger(__name__)

SCHEDULER_NAME = "default-scheduler"
CONFLICT_RETRIES = 16


class BindError(Exception):
    """The decision cannot be applied (claim gone/replaced/allocated elsewhere, pod gone)."""


class Binder:
    def __init__(self, client: Client, stamp_allocations: bool = False) -> None:
        self.client = client
        # DRADeviceBindingConditions + DRAResourceClaimDeviceStatus: record when a claim was
        # allocated (the binding timeout counts from there), as kube-scheduler does for every claim.
        self.stamp_allocations = stamp_allocations

    # --- claims --------------------------------------------------------------------------------

    def _get_claim(self, ns: str, name: str) -> ResourceClaim:
        try:
            return decode(ResourceClaim, self.client.get("resourceclaims", name, namespace=ns))
        except NotFound:
            raise BindError(f'resourceclaim "{name}" not found') from None

    def create_extended_claim(self, update: ClaimUpdate, pod: Pod) -> ClaimUpdate:
        """Create the extended-resource claim (with the finalizer) and record it in the pod status."""
        body = to_dict(update.claim)
        meta = body["metadata"]
        meta.pop("name", None)
        meta["finalizers"] = [DELETE_PROTECTION_FINALIZER]
        created = decode(ResourceClaim, self.client.create("resourceclaims", body, namespace=pod.metadata.namespace))
        status = {"resourceClaimName": created.metadata.name,
                  "requestMappings": to_dict(update.extended_mappings or [])}
        try:
            self.client.patch("pods", pod.metadata.name or "", {"status": {"extendedResourceClaimStatus": status}},
                              namespace=pod.metadata.namespace, subresource="status", patch_type="merge")
        except NotFound:
            with contextlib.suppress(NotFound):
                self.client.delete("resourceclaims", created.metadata.name or "", namespace=pod.metadata.namespace)
            raise BindError(f'pod "{pod.metadata.namespace}/{pod.metadata.name}" not found') from None
        return ClaimUpdate(created, update.allocation)

    def reserve(self, update: ClaimUpdate, pod: Pod, node: Node) -> ResourceClaim:
        """Finalizer first (so the claim cannot vanish while allocated), then status."""
        claim = update.claim
        ns = claim.metadata.namespace or ""
        name = claim.metadata.name or ""
        uid = claim.metadata.uid
        for _attempt in range(CONFLICT_RETRIES):
            if claim.metadata.uid != uid:
                raise BindError(f'resourceclaim "{name}" was replaced while scheduling')
            if claim.metadata.deletion_timestamp:
                raise BindError(f'resourceclaim "{name}" is being deleted')
            try:
                if DELETE_PROTECTION_FINALIZER not in (claim.metadata.finalizers or []):
                    meta = msgspec.structs.replace(
                        claim.metadata, finalizers=[*(claim.metadata.finalizers or []), DELETE_PROTECTION_FINALIZER]
                    )
                    claim = decode(
                        ResourceClaim,
                        self.client.update("resourceclaims", to_dict(msgspec.structs.replace(claim, metadata=meta))),
                    )
                status = claim.status or ResourceClaimStatus()
                allocation = status.allocation
                if allocation is None:
                    if update.allocation is None:
                        raise BindError(f'resourceclaim "{name}" was deallocated while scheduling')
                    allocation = update.allocation
                elif (
                    update.allocation is not None
                    and allocation != update.allocation
                    and not node_selector_matches(allocation.node_selector, node)
                ):
                    # Someone else allocated it meanwhile: usable only if it fits our node.
                    raise BindError(f'resourceclaim "{name}" was allocated for another node')
                if self.stamp_allocations and allocation.allocation_timestamp is None:
                    allocation = msgspec.structs.replace(allocation, allocation_timestamp=now_rfc3339())
                reserved = list(status.reserved_for or [])
                if not any(r.uid == pod.metadata.uid for r in reserved):
                    reserved.append(consumer_ref(pod))
                new = msgspec.structs.replace(
                    claim, status=msgspec.structs.replace(status, allocation=allocation, reserved_for=reserved)
                )
                return decode(
                    ResourceClaim, self.client.update("resourceclaims", to_dict(new), subresource="status")
                )
            except Conflict:
                claim = self._get_claim(ns, name)
            except NotFound:
                raise BindError(f'resourceclaim "{name}" not found') from None
        raise BindError(f'resourceclaim "{name}": too many conflicting updates')

    def unreserve(self, claim: ResourceClaim, pod: Pod, allocated_by_us: bool) -> None:
        """Undo ``reserve`` after a failed bind: drop the pod, and our allocation if nobody else uses it."""
        ns = claim.metadata.namespace or ""
        name = claim.metadata.name or ""
        for _attempt in range(CONFLICT_RETRIES):
            try:
                current = self._get_claim(ns, name)
            except BindError:
                return
            if current.metadata.uid != claim.metadata.uid or current.status is None:
                return
            reserved = [r for r in current.status.reserved_for or [] if r.uid != pod.metadata.uid]
            status = msgspec.structs.replace(current.status, reserved_for=reserved or None)
            if not reserved and allocated_by_us:
                status = msgspec.structs.replace(status, allocation=None, devices=None)
            try:
                self.client.update(
                    "resourceclaims", to_dict(msgspec.structs.replace(current, status=status)), subresource="status"
                )
                return
            except Conflict:
                continue
            except NotFound:
                return

    def deallocate(self, claim: ResourceClaim, pod: Pod) -> bool:
        """PostFilter: free a claim that cannot be used (binding failed or timed out) so the pod can
        get other devices; only while nobody but ``pod`` has it reserved. True if it was freed."""
        ns = claim.metadata.namespace or ""
        name = claim.metadata.name or ""
        for _attempt in range(CONFLICT_RETRIES):
            try:
                current = self._get_claim(ns, name)
            except BindError:
                return False
            status = current.status
            if current.metadata.uid != claim.metadata.uid or status is None or status.allocation is None:
                return False
            reserved = status.reserved_for or []
            if reserved and (len(reserved) > 1 or reserved[0].uid != pod.metadata.uid):
                return False
            freed = msgspec.structs.replace(status, reserved_for=None, allocation=None, devices=None)
            try:
                self.client.update(
                    "resourceclaims", to_dict(msgspec.structs.replace(current, status=freed)), subresource="status"
                )
                return True
            except Conflict:
                continue
            except NotFound:
                return False
        return False

    # --- pods ----------------------------------------------------------------------------------

    def bind(self, pod: Pod, node: str) -> None:
        binding = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": pod.metadata.name, "namespace": pod.metadata.namespace, "uid": pod.metadata.uid},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node},
        }
        try:
            self.client.create("pods", binding, namespace=pod.metadata.namespace, subresource="binding",
                               name=pod.metadata.name)
        except NotFound:
            raise BindError(f'pod "{pod.metadata.namespace}/{pod.metadata.name}" not found') from None
        except Conflict as exc:
            raise BindError(str(exc)) from None

    def unschedulable(self, pod: Pod, message: str, reason: str = "Unschedulable") -> None:
        """The PodScheduled=False condition (what ``kubectl describe pod`` shows) plus the event."""
        condition = {
            "type": "PodScheduled",
            "status": "False",
            "reason": reason,
            "message": message,
            "lastTransitionTime": now_rfc3339(),
        }
        try:
            self.client.patch(
                "pods",
                pod.metadata.name or "",
                {"status": {"conditions": [condition]}},
                namespace=pod.metadata.namespace,
                subresource="status",
                patch_type="strategic",
            )
        except NotFound:
            return
        self.event(pod, "Warning", "FailedScheduling", message)

    def event(self, pod: Pod, type_: str, reason: str, message: str) -> None:
        ts = now_rfc3339()
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": f"{pod.metadata.name}.", "namespace": pod.metadata.namespace},
            "involvedObject": {
                "apiVersion": "v1",
                "kind": "Pod",
                "name": pod.metadata.name,
                "namespace": pod.metadata.namespace,
                "uid": pod.metadata.uid,
            },
            "type": type_,
            "reason": reason,
            "message": message,
            "source": {"component": SCHEDULER_NAME},
            "reportingComponent": SCHEDULER_NAME,
            "firstTimestamp": ts,
            "lastTimestamp": ts,
            "count": 1,
        }
        try:
            self.client.create("events", body, namespace=pod.metadata.namespace)
        except Exception as exc:  # events are best effort, like upstream's recorder
            log.debug("event for %s/%s not recorded: %s", pod.metadata.namespace, pod.metadata.name, exc)
