"""The kubelet's DRA manager: prepare a pod's claims before its containers start, unprepare after.

Follows node.md §5: claims are fetched from the API server and checked (ownership for
template claims, the pod in ``reservedFor``, allocated, drivers registered); a cache
keyed by ``namespace/name`` (checkpointed) records which pods use which claim, so a
claim shared by several pods is prepared once and unprepared only when the last of
them is gone; one NodePrepareResources call per driver carries all of a pod's claims
for that driver. Error texts are the kubelet's, because users search for them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from lightkube import ApiError, AsyncClient

from kubedra.node.kubelet import checkpoint
from kubedra.node.kubelet.apiclient import ResourceClaim, as_dict, meta
from kubedra.node.kubelet.checkpoint import ClaimState, PreparedDevice
from kubedra.node.kubelet.plugins import ClaimRef, PluginError, PluginManager

log = logging.getLogger(__name__)


class PrepareError(RuntimeError):
    """Preparing (or unpreparing) a pod's claims failed; the message is shown in the pod's event."""


NOT_CREATED = ""  # a template claim the controller has not created yet


def pod_claim_names(pod: dict[str, Any]) -> dict[str, str | None]:
    """``pod.spec.resourceClaims[].name`` -> ResourceClaim name.

    For a template claim the name comes from ``status.resourceClaimStatuses``: no entry
    yet is ``NOT_CREATED``; an entry without a name (None) means no claim is needed.
    """
    spec = pod.get("spec") or {}
    statuses = {s.get("name"): s.get("resourceClaimName")
                for s in (pod.get("status") or {}).get("resourceClaimStatuses") or []}
    names: dict[str, str | None] = {}
    for entry in spec.get("resourceClaims") or []:
        name = entry.get("name", "")
        if entry.get("resourceClaimName"):
            names[name] = entry["resourceClaimName"]
        else:
            names[name] = statuses.get(name, NOT_CREATED)
    return names


class DRAManager:
    """Claim cache + prepare/unprepare for the pods of this node."""

    def __init__(self, root: Path, client: AsyncClient, plugins: PluginManager) -> None:
        self.root = root
        self.client = client
        self.plugins = plugins
        self.claims: dict[str, ClaimState] = {f"{c.namespace}/{c.name}": c for c in checkpoint.load(root)}
        self._locks: dict[str, asyncio.Lock] = {}

    def _save(self) -> None:
        checkpoint.store(self.root, list(self.claims.values()))

    def _lock(self, key: str) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    # ---- prepare -------------------------------------------------------------------------------

    async def _fetch_claims(self, pod: dict[str, Any]) -> list[dict[str, Any]]:
        pod_meta = meta(pod)
        namespace, pod_name, pod_uid = pod_meta.get("namespace", "default"), pod_meta.get("name"), pod_meta.get("uid")
        templated = {e.get("name") for e in (pod.get("spec") or {}).get("resourceClaims") or []
                     if not e.get("resourceClaimName")}
        claims = []
        for pod_claim, claim_name in pod_claim_names(pod).items():
            if claim_name is None:
                continue
            if claim_name == NOT_CREATED:
                raise PrepareError(f'pod "{namespace}/{pod_name}": ResourceClaim for pod claim "{pod_claim}" '
                                   "not created yet")
            try:
                claim = as_dict(await self.client.get(ResourceClaim, claim_name, namespace=namespace))
            except ApiError as exc:
                raise PrepareError(f"failed to fetch ResourceClaim {claim_name} referenced by pod "
                                   f"{namespace}/{pod_name}: {exc.status.message}") from None
            claim_meta = meta(claim)
            if pod_claim in templated and not any(
                ref.get("uid") == pod_uid and ref.get("controller") for ref in claim_meta.get("ownerReferences") or []
            ):
                raise PrepareError(f"PodResourceClaim {pod_claim}: ResourceClaim {claim_name} was not created "
                                   f"for the pod")
            status = claim.get("status") or {}
            if not any(r.get("uid") == pod_uid for r in status.get("reservedFor") or []):
                raise PrepareError(f"pod {pod_name} ({pod_uid}) is not allowed to use ResourceClaim "
                                   f"{claim_name} ({claim_meta.get('uid')})")
            if not status.get("allocation"):
                raise PrepareError(f"claim {claim_name}: not allocated")
            claims.append(claim)
        return claims

    async def prepare_resources(self, pod: dict[str, Any]) -> None:
        """Make every claim of ``pod`` prepared on its drivers; raises PrepareError."""
        pod_uid = meta(pod).get("uid", "")
        claims = await self._fetch_claims(pod)
        keys = sorted({f"{meta(c).get('namespace')}/{meta(c).get('name')}" for c in claims})
        locks = [self._lock(k) for k in keys]
        for lock in locks:
            await lock.acquire()
        try:
            await self._prepare_locked(pod_uid, claims)
        finally:
            for lock in reversed(locks):
                lock.release()

    async def _prepare_locked(self, pod_uid: str, claims: list[dict[str, Any]]) -> None:
        pending: dict[str, list[ClaimState]] = {}
        for claim in claims:
            claim_meta = meta(claim)
            key = f"{claim_meta.get('namespace')}/{claim_meta.get('name')}"
            allocation = (claim.get("status") or {}).get("allocation") or {}
            results = (allocation.get("devices") or {}).get("results") or []
            drivers = sorted({r.get("driver", "") for r in results if r.get("driver")})
            for driver in drivers:
                try:
                    self.plugins.get(driver)
                except PluginError as exc:
                    raise PrepareError(str(exc)) from None
            state = self.claims.get(key)
            if state is not None and state.uid != claim_meta.get("uid"):
                raise PrepareError(f"old ResourceClaim with same name {claim_meta.get('name')} and different "
                                   f"UID {state.uid} still exists (previous pod force-deleted?)")
            if state is None:
                state = ClaimState(namespace=claim_meta.get("namespace", ""), name=claim_meta.get("name", ""),
                                   uid=claim_meta.get("uid", ""))
                self.claims[key] = state
            state.drivers = sorted(set(state.drivers) | set(drivers))
            if pod_uid not in state.pod_uids:
                state.pod_uids.append(pod_uid)
            if not state.prepared:
                for driver in drivers:
                    pending.setdefault(driver, []).append(state)
        # Record the pod and drivers BEFORE calling: a crash after the call must still unprepare.
        self._save()
        if not pending:
            return
        errors: list[str] = []
        results = await asyncio.gather(*(self._prepare_driver(d, s) for d, s in pending.items()),
                                       return_exceptions=True)
        for outcome in results:
            if isinstance(outcome, BaseException):
                errors.append(str(outcome))
        prepared_everywhere = {id(s) for states in pending.values() for s in states}
        for driver, states in pending.items():
            for state in states:
                if driver not in state.devices:
                    prepared_everywhere.discard(id(state))
        for states in pending.values():
            for state in states:
                if id(state) in prepared_everywhere:
                    state.prepared = True
        self._save()
        if errors:
            raise PrepareError("; ".join(errors))

    async def _prepare_driver(self, driver: str, states: list[ClaimState]) -> None:
        try:
            plugin = self.plugins.get(driver)
            answers = await plugin.prepare([ClaimRef(s.namespace, s.name, s.uid) for s in states])
        except PluginError as exc:
            raise PrepareError(str(exc)) from None
        errors = []
        skipped = 0
        for state in states:
            answer = answers.get(state.uid)
            if answer is None:
                skipped += 1
            elif answer.error:
                errors.append(f"NodePrepareResources failed for ResourceClaim {state.name}: {answer.error}")
            else:
                state.devices[driver] = answer.devices
        if skipped:
            errors.append(f"NodePrepareResources skipped {skipped} ResourceClaims")
        if errors:
            raise PrepareError("; ".join(errors))

    # ---- unprepare -----------------------------------------------------------------------------

    async def unprepare_resources(self, pod_uid: str) -> None:
        """Drop ``pod_uid`` from its claims and unprepare those no other pod uses; raises PrepareError."""
        errors = []
        for key in sorted(k for k, s in self.claims.items() if pod_uid in s.pod_uids):
            async with self._lock(key):
                state = self.claims.get(key)
                if state is None or pod_uid not in state.pod_uids:
                    continue
                if len(state.pod_uids) > 1:
                    state.pod_uids.remove(pod_uid)
                    self._save()
                    continue
                try:
                    await self._unprepare_claim(state)
                except PrepareError as exc:
                    errors.append(str(exc))
                    continue
                del self.claims[key]
                self._save()
        if errors:
            raise PrepareError("; ".join(errors))

    async def _unprepare_claim(self, state: ClaimState) -> None:
        for driver in state.drivers:
            try:
                plugin = self.plugins.get(driver)
                answers = await plugin.unprepare([ClaimRef(state.namespace, state.name, state.uid)])
            except PluginError as exc:
                raise PrepareError(str(exc)) from None
            if answers.get(state.uid):
                raise PrepareError(f"NodeUnprepareResources failed for ResourceClaim {state.name}: "
                                   f"{answers[state.uid]}")
            state.devices.pop(driver, None)
        state.prepared = False

    async def reconcile(self, active_pod_uids: Iterable[str]) -> None:
        """Unprepare claims whose pods are all gone (the safety net after a crash or a missed event)."""
        active = set(active_pod_uids)
        for pod_uid in sorted({u for s in self.claims.values() for u in s.pod_uids} - active):
            try:
                await self.unprepare_resources(pod_uid)
            except PrepareError as exc:
                log.warning("reconcile: unprepare for pod %s failed: %s", pod_uid, exc)

    # ---- container view ------------------------------------------------------------------------

    def cdi_device_ids(self, pod: dict[str, Any], container: dict[str, Any]) -> list[str]:
        """The CDI device IDs a container gets: devices of its claims, filtered by request name."""
        names = pod_claim_names(pod)
        namespace = meta(pod).get("namespace", "default")
        ids: list[str] = []
        for ref in (container.get("resources") or {}).get("claims") or []:
            claim_name = names.get(ref.get("name", ""))
            state = self.claims.get(f"{namespace}/{claim_name}") if claim_name else None
            if state is None:
                continue
            request = ref.get("request")
            for devices in state.devices.values():
                for device in devices:
                    if _serves(device, request):
                        ids.extend(device.cdi_device_ids)
        return list(dict.fromkeys(ids))

    def container_devices(self, pod: dict[str, Any], container: dict[str, Any]
                          ) -> list[tuple[str, list[tuple[str, PreparedDevice]]]]:
        """Per ``resources.claims[]`` entry of ``container``: its status name and (driver, device) pairs.

        The name is ``claim:<podClaim>`` or ``claim:<podClaim>/<request>``, as in
        ``containerStatuses[].allocatedResourcesStatus``.
        """
        names = pod_claim_names(pod)
        namespace = meta(pod).get("namespace", "default")
        out: list[tuple[str, list[tuple[str, PreparedDevice]]]] = []
        for ref in (container.get("resources") or {}).get("claims") or []:
            pod_claim = ref.get("name", "")
            request = ref.get("request")
            claim_name = names.get(pod_claim)
            state = self.claims.get(f"{namespace}/{claim_name}") if claim_name else None
            if state is None:
                continue
            devices = [(driver, d) for driver, ds in sorted(state.devices.items()) for d in ds if _serves(d, request)]
            out.append((f"claim:{pod_claim}" + (f"/{request}" if request else ""), devices))
        return out

    def claims_of_pod(self, pod_uid: str) -> list[ClaimState]:
        return [s for s in self.claims.values() if pod_uid in s.pod_uids]

    def pod_uids(self, where: Callable[[ClaimState], bool] = lambda s: True) -> set[str]:
        return {u for s in self.claims.values() if where(s) for u in s.pod_uids}


def _serves(device: PreparedDevice, request: str | None) -> bool:
    return request is None or not device.request_names or request in device.request_names
