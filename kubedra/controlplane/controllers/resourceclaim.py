"""The ResourceClaim controller: claims from templates, reservedFor cleanup, deallocation, deletion.

Pods: every ``spec.resourceClaims[]`` entry with a template gets its own claim (generateName
``<pod>-<claim>-``, the pod as controlling owner, the ``resource.kubernetes.io/pod-claim-name``
annotation) recorded in ``pod.status.resourceClaimStatuses``. A claim created before a crash but
not yet recorded is found again by owner + annotation, so a restart never creates a second one.

Claims: entries of ``status.reservedFor`` whose pod is gone, replaced (other uid) or finished are
removed; a claim nobody reserves any more is deallocated (allocation and device status cleared)
and loses the ``resource.kubernetes.io/delete-protection`` finalizer (only on the transition from
used to unused, or when the claim is being deleted: a claim allocated without consumers stays) — never earlier, so a claim
in use by a running pod cannot disappear under it. Template claims of finished pods are deleted.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import defaultdict
from typing import Any

import msgspec

from kubedra.api.codec import DecodeError, decode, to_dict
from kubedra.api.core import Pod, PodResourceClaimStatus
from kubedra.api.meta import ObjectMeta, OwnerReference
from kubedra.api.resource import (
    DELETE_PROTECTION_FINALIZER,
    POD_CLAIM_NAME_ANNOTATION,
    ResourceClaim,
    ResourceClaimTemplate,
)
from kubedra.controlplane.client import Client, Conflict, NotFound
from kubedra.controlplane.controllers.base import Controller, split_key
from kubedra.controlplane.controllers.claimnames import generate_name
from kubedra.controlplane.shared import decode_shared

log = logging.getLogger(__name__)


def obj_key(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace') or ''}/{meta.get('name') or ''}"


def pod_finished(pod: Pod) -> bool:
    phase = pod.status.phase if pod.status else None
    return phase in ("Succeeded", "Failed")


def controlling_pod(claim: ResourceClaim) -> OwnerReference | None:
    for ref in claim.metadata.owner_references or []:
        if ref.controller and ref.kind == "Pod" and ref.api_version == "v1":
            return ref
    return None


class ResourceClaimController(Controller):
    name = "resourceclaim-controller"

    def __init__(self, client: Client, workers: int = 2) -> None:
        super().__init__(workers=workers)
        self.client = client
        self._lock = threading.Lock()
        self._pods: dict[str, Pod] = {}
        self._claims: dict[str, ResourceClaim] = {}
        self._templates: dict[str, ResourceClaimTemplate] = {}
        # pod uid -> claim keys reserved for / owned by it; template key -> pods waiting for it.
        self._claims_by_pod: dict[str, set[str]] = defaultdict(set)
        self._pods_by_template: dict[str, set[str]] = defaultdict(set)

    # --- informer handlers ---------------------------------------------------------------------

    def on_pod(self, obj: dict[str, Any], deleted: bool = False) -> None:
        key = obj_key(obj)
        try:
            pod = decode_shared(Pod, obj)
        except DecodeError:
            return
        with self._lock:
            if deleted:
                self._pods.pop(key, None)
            else:
                self._pods[key] = pod
            related = set(self._claims_by_pod.get(pod.metadata.uid or "", ()))
            ns = pod.metadata.namespace or ""
            for pc in (pod.spec.resource_claims if pod.spec else None) or []:
                if pc.resource_claim_name:
                    related.add(f"{ns}/{pc.resource_claim_name}")
                elif pc.resource_claim_template_name:
                    self._pods_by_template[f"{ns}/{pc.resource_claim_template_name}"].add(key)
            statuses = _statuses(pod)
            for st in statuses:
                if st.resource_claim_name:
                    related.add(f"{ns}/{st.resource_claim_name}")
        # A pod sync only creates missing template claims; claims are revisited only when a
        # consumer may have stopped using them (pod gone, finished or being deleted), as upstream's
        # controller does. Each skipped key is a queue hand-off and a sync that would change nothing.
        if not deleted and _claims_to_create(pod, statuses):
            self.queue.add(f"pod:{key}")
        if deleted or pod.metadata.deletion_timestamp or pod_finished(pod):
            for ck in related:
                self.queue.add(f"claim:{ck}")

    def on_claim(self, obj: dict[str, Any], deleted: bool = False) -> None:
        key = obj_key(obj)
        try:
            claim = decode_shared(ResourceClaim, obj)
        except DecodeError:
            return
        owners: list[str] = []
        with self._lock:
            old = self._claims.pop(key, None)
            if old is not None:
                for uid in _pod_uids(old):
                    self._claims_by_pod[uid].discard(key)
            if not deleted:
                self._claims[key] = claim
                for uid in _pod_uids(claim):
                    self._claims_by_pod[uid].add(key)
            ref = controlling_pod(claim)
            if ref is not None:
                pk = f"{claim.metadata.namespace or ''}/{ref.name}"
                owner = self._pods.get(pk)
                # The owner's sync only creates missing claims: skip it when it has none to create.
                if owner is not None and _claims_to_create(owner, _statuses(owner)):
                    owners.append(pk)
            settled = not deleted and self._settled(claim)
        if not deleted and not settled:
            self.queue.add(f"claim:{key}")
        for pk in owners:
            self.queue.add(f"pod:{pk}")

    def _settled(self, claim: ResourceClaim) -> bool:
        """True when a claim sync would certainly change nothing: not being deleted, every pod in
        reservedFor known and active, and, when nobody reserves it, its owner pod known and active.
        Checked on the informer thread (caller holds the lock) from the cache alone, so a sync is
        queued only when it may have work; anything unknown is left to the sync."""
        if claim.metadata.deletion_timestamp:
            return False
        ns = claim.metadata.namespace or ""
        reserved = (claim.status.reserved_for if claim.status else None) or []
        for r in reserved:
            if r.resource == "pods" and not r.api_group and not self._active_in_cache(ns, r.name, r.uid):
                return False
        if not reserved:
            owner = controlling_pod(claim)
            if owner is not None and not self._active_in_cache(ns, owner.name, owner.uid):
                return False
        return True

    def _active_in_cache(self, ns: str, name: str, uid: str) -> bool:
        pod = self._pods.get(f"{ns}/{name}")
        return pod is not None and _consumer_state(pod, uid) == "active"

    def on_template(self, obj: dict[str, Any], deleted: bool = False) -> None:
        key = obj_key(obj)
        try:
            tmpl = decode(ResourceClaimTemplate, obj)
        except DecodeError:
            return
        with self._lock:
            if deleted:
                self._templates.pop(key, None)
            else:
                self._templates[key] = tmpl
            waiting = list(self._pods_by_template.get(key, ()))
        for pk in waiting:
            self.queue.add(f"pod:{pk}")

    # --- sync ----------------------------------------------------------------------------------

    def sync(self, key: str) -> None:
        kind, _, rest = key.partition(":")
        if kind == "pod":
            self._sync_pod(rest)
        elif kind == "claim":
            self._sync_claim(rest)

    def _sync_pod(self, key: str) -> None:
        with self._lock:
            pod = self._pods.get(key)
        if pod is None or pod.spec is None or pod.metadata.deletion_timestamp or pod_finished(pod):
            return
        ns = pod.metadata.namespace or ""
        statuses = list((pod.status.resource_claim_statuses if pod.status else None) or [])
        known = {s.name for s in statuses}
        added = False
        for pc in pod.spec.resource_claims or []:
            if not pc.resource_claim_template_name or pc.name in known:
                continue
            name = self._find_generated(pod, pc.name) or self._create_claim(pod, pc.name, pc.resource_claim_template_name)
            if name is None:
                continue  # template missing: the pod stays pending ("ResourceClaim not created yet")
            statuses.append(PodResourceClaimStatus(name=pc.name, resource_claim_name=name))
            added = True
        if added:
            patch = {"status": {"resourceClaimStatuses": to_dict(statuses)}}
            try:
                self.client.patch("pods", pod.metadata.name or "", patch, namespace=ns, subresource="status",
                                  patch_type="merge")
            except NotFound:
                return

    def _find_generated(self, pod: Pod, pod_claim: str) -> str | None:
        with self._lock:
            for ck in self._claims_by_pod.get(pod.metadata.uid or "", ()):
                claim = self._claims.get(ck)
                if claim is None:
                    continue
                ref = controlling_pod(claim)
                annotations = claim.metadata.annotations or {}
                if ref is not None and ref.uid == pod.metadata.uid and annotations.get(POD_CLAIM_NAME_ANNOTATION) == pod_claim:
                    return claim.metadata.name
        return None

    def _create_claim(self, pod: Pod, pod_claim: str, template_name: str) -> str | None:
        ns = pod.metadata.namespace or ""
        with self._lock:
            tmpl = self._templates.get(f"{ns}/{template_name}")
        if tmpl is None:
            try:
                tmpl = decode(ResourceClaimTemplate, self.client.get("resourceclaimtemplates", template_name, namespace=ns))
            except NotFound:
                log.info("pod %s/%s: resourceclaimtemplate %s not found", ns, pod.metadata.name, template_name)
                return None
        tmeta = tmpl.spec.metadata or ObjectMeta()
        annotations = dict(tmeta.annotations or {})
        annotations[POD_CLAIM_NAME_ANNOTATION] = pod_claim
        claim = ResourceClaim(
            metadata=ObjectMeta(
                generate_name=generate_name(pod.metadata.name or "", pod_claim),
                namespace=ns,
                labels=dict(tmeta.labels) if tmeta.labels else None,
                annotations=annotations,
                owner_references=[
                    OwnerReference(
                        api_version="v1",
                        kind="Pod",
                        name=pod.metadata.name or "",
                        uid=pod.metadata.uid or "",
                        controller=True,
                        block_owner_deletion=True,
                    )
                ],
            ),
            spec=tmpl.spec.spec,
        )
        created = self.client.create("resourceclaims", to_dict(claim), namespace=ns)
        # Remember it at once so a quick second sync of the pod does not create another one.
        self.on_claim(created)
        return str(created["metadata"]["name"])

    def _pod_state(self, ns: str, name: str, uid: str) -> str:
        """"active", "finished" or "gone" for a reservedFor / owner entry."""
        with self._lock:
            pod = self._pods.get(f"{ns}/{name}")
        if pod is None:
            # Not in the cache: it may just be too new for the informer. Ask the API server.
            try:
                pod = decode(Pod, self.client.get("pods", name, namespace=ns))
            except NotFound:
                return "gone"
        return _consumer_state(pod, uid)

    def _sync_claim(self, key: str) -> None:
        with self._lock:
            claim = self._claims.get(key)
        if claim is None:
            return
        ns, name = split_key(key)
        status = claim.status
        reserved = list((status.reserved_for if status else None) or [])
        valid = [
            r for r in reserved
            if r.resource != "pods" or r.api_group or self._pod_state(ns, r.name, r.uid) == "active"
        ]
        allocated = status is not None and status.allocation is not None
        # Deallocate on the transition "was used -> unused" (or when deleting), never a claim that
        # was allocated without consumers (drivers and tools may do that on purpose).
        deallocate = allocated and not valid and (len(valid) < len(reserved) or bool(claim.metadata.deletion_timestamp))
        if status is not None and (len(valid) != len(reserved) or deallocate):
            new_status = msgspec.structs.replace(status, reserved_for=valid or None)
            if deallocate:
                new_status = msgspec.structs.replace(new_status, allocation=None, devices=None)
            try:
                updated = self.client.update(
                    "resourceclaims", to_dict(msgspec.structs.replace(claim, status=new_status)), subresource="status"
                )
            except (Conflict, NotFound):
                self.queue.add(f"claim:{key}")  # re-read the newer copy from the informer
                return
            claim = decode(ResourceClaim, updated)
            allocated = claim.status is not None and claim.status.allocation is not None
        finalizers = claim.metadata.finalizers or []
        if DELETE_PROTECTION_FINALIZER in finalizers and not allocated and (deallocate or claim.metadata.deletion_timestamp):
            meta = msgspec.structs.replace(
                claim.metadata, finalizers=[f for f in finalizers if f != DELETE_PROTECTION_FINALIZER] or None
            )
            try:
                self.client.update("resourceclaims", to_dict(msgspec.structs.replace(claim, metadata=meta)))
            except Conflict:
                self.queue.add(f"claim:{key}")
                return
            except NotFound:
                return
        owner = controlling_pod(claim)
        if (
            owner is not None
            and not valid
            and not claim.metadata.deletion_timestamp
            and self._pod_state(ns, owner.name, owner.uid) != "active"
        ):
            with contextlib.suppress(NotFound):
                self.client.delete("resourceclaims", name, namespace=ns)


def _consumer_state(pod: Pod, uid: str) -> str:
    """"active", "finished" or "gone" for the pod a reservedFor or owner entry names by ``uid``."""
    if pod.metadata.uid != uid:
        return "gone"
    if pod_finished(pod):
        return "finished"
    if pod.metadata.deletion_timestamp and not (pod.spec and pod.spec.node_name):
        return "finished"  # deleted before it was ever scheduled: it will never run
    return "active"


def _statuses(pod: Pod) -> list[PodResourceClaimStatus]:
    return (pod.status.resource_claim_statuses if pod.status else None) or []


def _claims_to_create(pod: Pod, statuses: list[PodResourceClaimStatus]) -> bool:
    """Whether ``pod`` has a template claim whose generated name is not recorded yet."""
    known = {st.name for st in statuses}
    return any(
        pc.resource_claim_template_name and pc.name not in known
        for pc in (pod.spec.resource_claims if pod.spec else None) or []
    )


def _pod_uids(claim: ResourceClaim) -> set[str]:
    uids = {r.uid for r in (claim.status.reserved_for if claim.status else None) or [] if r.resource == "pods"}
    ref = controlling_pod(claim)
    if ref is not None:
        uids.add(ref.uid)
    return uids
