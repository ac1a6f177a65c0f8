"""The device taint eviction controller (DRADeviceTaints): pods using a device with a NoExecute taint
are deleted, at once or after the ``tolerationSeconds`` of the allocation's tolerations.

For every allocated device of a pod's claims the eviction time is ``taint.timeAdded`` plus the
smallest ``tolerationSeconds`` among the tolerations (copied into the allocation result) that
tolerate the taint: no tolerating toleration means at once, a tolerating one without seconds means
never. The pod goes at the earliest such time. Eviction marks the pod ``DisruptionTarget`` and
deletes it, with upstream's reasons and events (``DeviceTaintManagerEviction``); a pod whose
taint disappears before its time gets ``Cancelling deletion``.

NoSchedule taints need nothing here: the allocator never hands out a device whose NoSchedule or
NoExecute taint the request does not tolerate. DeviceTaintRule objects (gate DRADeviceTaintRules,
off by default) are not applied: only taints published in ResourceSlices count.
"""

from __future__ import annotations

import datetime
import logging
import threading
from typing import Any

from kubedra.allocator.taints import tolerates
from kubedra.api.codec import DecodeError, decode
from kubedra.api.core import Pod
from kubedra.api.resource import DeviceTaint, ResourceClaim, ResourceSlice
from kubedra.controlplane.client import Client, NotFound
from kubedra.controlplane.controllers.base import Controller
from kubedra.controlplane.controllers.claimnames import ClaimNameError, claim_name
from kubedra.controlplane.shared import decode_shared

log = logging.getLogger(__name__)

COMPONENT = "device-taint-eviction"
EVENT_REASON = "DeviceTaintManagerEviction"
CONDITION_REASON = "DeletionByDeviceTaintManager"
CONDITION_MESSAGE = "Device Taint manager: deleting due to NoExecute taint"
DeviceKey = tuple[str, str, str]  # driver, pool, device


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _rfc3339(t: datetime.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(value: str | None) -> datetime.datetime | None:
    if not value:
        return None
    try:
        t = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=datetime.UTC)


def eviction_time(claim: ResourceClaim, taints: dict[DeviceKey, list[DeviceTaint]],
                  now: datetime.datetime) -> datetime.datetime | None:
    """When pods using ``claim`` must go, or None. The API server stamps ``timeAdded``; a taint
    without one (written before the defaulting existed) counts from ``now``."""
    allocation = claim.status.allocation if claim.status else None
    results = allocation.devices.results if allocation is not None and allocation.devices else None
    earliest: datetime.datetime | None = None
    for result in results or []:
        for taint in taints.get((result.driver, result.pool, result.device), []):
            if taint.effect != "NoExecute":
                continue
            matching = [t for t in result.tolerations or [] if tolerates(t, taint)]
            if matching and any(t.toleration_seconds is None for t in matching):
                continue  # tolerated forever
            seconds = min((max(t.toleration_seconds or 0, 0) for t in matching), default=0)
            at = (_parse(taint.time_added) or now) + datetime.timedelta(seconds=seconds)
            if earliest is None or at < earliest:
                earliest = at
    return earliest


class DeviceTaintEvictionController(Controller):
    name = COMPONENT

    def __init__(self, client: Client, workers: int = 1) -> None:
        super().__init__(workers=workers)
        self.client = client
        self._lock = threading.Lock()
        self._pods: dict[str, Pod] = {}
        self._claims: dict[str, ResourceClaim] = {}
        self._slices: dict[str, ResourceSlice] = {}
        self._taints: dict[DeviceKey, list[DeviceTaint]] = {}
        # Indexes: claim key -> pod keys using it; device -> claim keys allocated it.
        self._pods_by_claim: dict[str, set[str]] = {}
        self._claims_by_device: dict[DeviceKey, set[str]] = {}
        self._claims_of_pod: dict[str, list[str]] = {}
        self._devices_of_claim: dict[str, list[DeviceKey]] = {}
        self._scheduled: dict[str, datetime.datetime] = {}  # pod key -> planned eviction
        self.evicted = 0

    # --- informer handlers ---------------------------------------------------------------------

    def on_pod(self, obj: dict[str, Any], deleted: bool = False) -> None:
        pod = _decode(Pod, obj)
        if pod is None:
            return
        key = f"{pod.metadata.namespace or ''}/{pod.metadata.name or ''}"
        with self._lock:
            for ck in self._claims_of_pod.pop(key, []):
                _discard(self._pods_by_claim, ck, key)
            if deleted:
                self._pods.pop(key, None)
            else:
                self._pods[key] = pod
                self._claims_of_pod[key] = _claim_keys(pod)
                for ck in self._claims_of_pod[key]:
                    self._pods_by_claim.setdefault(ck, set()).add(key)
            # With no taint anywhere and no eviction planned, a sync would find nothing to do:
            # the common case, which saves a queue hand-off per pod event.
            relevant = bool(self._taints) or key in self._scheduled
        if relevant:
            self.queue.add(key)

    def on_claim(self, obj: dict[str, Any], deleted: bool = False) -> None:
        claim = _decode(ResourceClaim, obj)
        if claim is None:
            return
        key = f"{claim.metadata.namespace or ''}/{claim.metadata.name or ''}"
        with self._lock:
            for device in self._devices_of_claim.pop(key, []):
                _discard(self._claims_by_device, device, key)
            if deleted:
                self._claims.pop(key, None)
            else:
                self._claims[key] = claim
                self._devices_of_claim[key] = _devices(claim)
                for device in self._devices_of_claim[key]:
                    self._claims_by_device.setdefault(device, set()).add(key)
            pods = set(self._pods_by_claim.get(key, ()))
            if not self._taints:
                pods = {p for p in pods if p in self._scheduled}
        for pod_key in pods:
            self.queue.add(pod_key)

    def on_slice(self, obj: dict[str, Any], deleted: bool = False) -> None:
        s = _decode(ResourceSlice, obj)
        if s is None:
            return
        with self._lock:
            old = self._slices.pop(s.metadata.name or "", None)
            if not deleted:
                self._slices[s.metadata.name or ""] = s
            touched = {(old.spec.driver, old.spec.pool.name)} if old is not None else set()
            touched.add((s.spec.driver, s.spec.pool.name))
            before = {d: t for d, t in self._taints.items() if d[:2] in touched}
            self._rebuild_taints(touched)
            if before == {d: t for d, t in self._taints.items() if d[:2] in touched}:
                return  # the common case: a slice update that changes no taint
            pods: set[str] = set()
            for ck, devices in self._devices_of_claim.items():
                if any(d[:2] in touched for d in devices):
                    pods |= self._pods_by_claim.get(ck, set())
        for pod_key in pods:
            self.queue.add(pod_key)

    def _rebuild_taints(self, pools: set[tuple[str, str]]) -> None:
        """Taints of the newest generation of each touched pool (older slices are outdated)."""
        for stale in [d for d in self._taints if d[:2] in pools]:
            del self._taints[stale]
        newest: dict[tuple[str, str], int] = {}
        for s in self._slices.values():
            pool = (s.spec.driver, s.spec.pool.name)
            if pool in pools:
                newest[pool] = max(newest.get(pool, s.spec.pool.generation), s.spec.pool.generation)
        for s in self._slices.values():
            pool = (s.spec.driver, s.spec.pool.name)
            if pool not in pools or s.spec.pool.generation != newest[pool]:
                continue
            for device in s.spec.devices or []:
                if device.taints:
                    self._taints[(pool[0], pool[1], device.name)] = list(device.taints)

    # --- reconcile -----------------------------------------------------------------------------

    def sync(self, key: str) -> None:
        with self._lock:
            pod = self._pods.get(key)
            when = self._eviction_time(pod) if pod is not None else None
            planned = self._scheduled.pop(key, None)
        if pod is None:
            return
        if when is None:
            if planned is not None:
                self._event(pod, "Cancelling deletion")
            return
        delay = (when - _now()).total_seconds()
        if delay > 0:
            with self._lock:
                self._scheduled[key] = when
            self.queue.add_after(key, delay)
            return
        self._evict(pod)

    def _eviction_time(self, pod: Pod) -> datetime.datetime | None:
        if pod.metadata.deletion_timestamp or (pod.status and pod.status.phase in ("Succeeded", "Failed")):
            return None
        earliest: datetime.datetime | None = None
        now = _now()
        for ck in _claim_keys(pod):
            claim = self._claims.get(ck)
            if claim is None:
                continue
            at = eviction_time(claim, self._taints, now)
            if at is not None and (earliest is None or at < earliest):
                earliest = at
        return earliest

    def _evict(self, pod: Pod) -> None:
        ns, name = pod.metadata.namespace or "", pod.metadata.name or ""
        try:
            current = decode(Pod, self.client.get("pods", name, namespace=ns))
        except NotFound:
            return
        if current.metadata.uid != pod.metadata.uid or current.metadata.deletion_timestamp:
            return  # gone, replaced by a namesake, or already going
        self._event(pod, "Marking for deletion")
        condition = {"type": "DisruptionTarget", "status": "True", "reason": CONDITION_REASON,
                     "message": CONDITION_MESSAGE, "lastTransitionTime": _rfc3339(_now())}
        try:
            self.client.patch("pods", name, {"status": {"conditions": [condition]}}, namespace=ns,
                              subresource="status", patch_type="strategic")
            self.client.delete("pods", name, namespace=ns)
        except NotFound:
            return
        log.info("evicted pod %s/%s: a device it uses has a NoExecute taint", ns, name)
        self.evicted += 1

    def _event(self, pod: Pod, message: str) -> None:
        ts = _rfc3339(_now())
        body = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"generateName": f"{pod.metadata.name}.", "namespace": pod.metadata.namespace},
            "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": pod.metadata.name,
                               "namespace": pod.metadata.namespace, "uid": pod.metadata.uid},
            "type": "Normal", "reason": EVENT_REASON, "message": message,
            "source": {"component": COMPONENT}, "reportingComponent": COMPONENT,
            "firstTimestamp": ts, "lastTimestamp": ts, "count": 1,
        }
        try:
            self.client.create("events", body, namespace=pod.metadata.namespace)
        except Exception as exc:  # events are best effort
            log.debug("event for %s/%s not recorded: %s", pod.metadata.namespace, pod.metadata.name, exc)


def _discard(index: dict[Any, set[str]], key: Any, value: str) -> None:
    values = index.get(key)
    if values is not None:
        values.discard(value)
        if not values:
            del index[key]


def _claim_keys(pod: Pod) -> list[str]:
    ns = pod.metadata.namespace or ""
    keys = []
    for pc in (pod.spec.resource_claims if pod.spec else None) or []:
        try:
            name, _ = claim_name(pod, pc)
        except ClaimNameError:
            continue
        if name:
            keys.append(f"{ns}/{name}")
    extended = pod.status.extended_resource_claim_status if pod.status else None
    if extended is not None and extended.resource_claim_name:
        keys.append(f"{ns}/{extended.resource_claim_name}")
    return keys


def _devices(claim: ResourceClaim) -> list[DeviceKey]:
    allocation = claim.status.allocation if claim.status else None
    results = allocation.devices.results if allocation is not None and allocation.devices else None
    return [(r.driver, r.pool, r.device) for r in results or []]


def _decode(model: type[Any], obj: dict[str, Any]) -> Any:
    try:
        return decode_shared(model, obj)
    except DecodeError:
        return None

