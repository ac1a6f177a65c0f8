"""PreBind for devices with binding conditions (DRADeviceBindingConditions, KEP-5007).

A device may need work outside the node before a pod can use it (attaching a fabric GPU, say).
Its ResourceSlice entry names ``bindingConditions`` that someone (a driver's controller) sets True
in the claim's ``status.devices[].conditions`` once done, and ``bindingFailureConditions`` that say
it will never be. The scheduler writes the allocation (with ``allocationTimestamp``), then holds
the pod back from binding until every binding condition is True; a True failure condition or
``allocationTimestamp + bindingTimeout`` passing fails the attempt, the claim is deallocated and
the pod scheduled afresh.

kube-scheduler parks its binding goroutine in a 5 s poll. kubedra's binding workers are a small
pool, so a waiting pod must not occupy one: ``BindingWaiter`` keeps waiting pods aside, re-checks
a pod whenever the claim informer delivers one of its claims (no polling delay) and once at its
deadline, and then hands the pod back to a worker to bind or to undo.
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from kubedra.api.core import Pod
from kubedra.api.meta import Condition
from kubedra.api.resource import AllocatedDeviceStatus, DeviceRequestAllocationResult, ResourceClaim

ClaimKey = tuple[str, str]

# DynamicResourcesArgs.bindingTimeout default (DynamicResourcesBindingTimeoutDefault).
BINDING_TIMEOUT_DEFAULT = 600.0
PREBIND_PLUGIN = "DynamicResources"
# The Normal event kube-scheduler records when PreBind starts waiting.
PENDING_REASON = "BindingConditionsPending"


class BindingFailed(Exception):
    """A binding failure condition is True, or the binding timeout passed (upstream's texts)."""


def has_binding_conditions(claim: ResourceClaim | None) -> bool:
    allocation = claim.status.allocation if claim is not None and claim.status else None
    results = allocation.devices.results if allocation is not None and allocation.devices else None
    return any(r.binding_conditions for r in results or [])


def _device_status(claim: ResourceClaim, result: DeviceRequestAllocationResult) -> AllocatedDeviceStatus | None:
    """The status entry of ``result``'s device; matched on driver/pool/device like upstream (not shareID)."""
    for entry in (claim.status.devices if claim.status else None) or []:
        if (entry.driver, entry.pool, entry.device) == (result.driver, result.pool, result.device):
            return entry
    return None


def _condition(conditions: list[Condition] | None, type_: str) -> Condition | None:
    for c in conditions or []:
        if c.type == type_:
            return c
    return None


def ready_for_binding(claim: ResourceClaim) -> bool:
    """True when every binding condition of every allocated device is True (also: none exist).

    Raises ``BindingFailed`` when a failure condition of such a device is True.
    """
    allocation = claim.status.allocation if claim.status else None
    if allocation is None:
        return False
    for result in (allocation.devices.results if allocation.devices else None) or []:
        if not result.binding_conditions:
            continue
        status = _device_status(claim, result)
        if status is None:
            return False
        for type_ in result.binding_failure_conditions or []:
            failed = _condition(status.conditions, type_)
            if failed is not None and failed.status == "True":
                raise BindingFailed(
                    f'claim {claim.metadata.name} binding failed: reason={failed.reason or ""}, '
                    f'message="{failed.message or ""}"'
                )
        for type_ in result.binding_conditions:
            cond = _condition(status.conditions, type_)
            if cond is None or cond.status != "True":
                return False
    return True


def parse_time(value: str | None) -> datetime.datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


def binding_timed_out(claim: ResourceClaim, timeout: float, now: datetime.datetime | None = None) -> bool:
    """``allocationTimestamp + timeout`` has passed for a claim whose devices have binding conditions."""
    allocation = claim.status.allocation if claim.status else None
    if allocation is None or not has_binding_conditions(claim):
        return False
    stamp = parse_time(allocation.allocation_timestamp)
    if stamp is None:
        return False
    now = now or datetime.datetime.now(datetime.UTC)
    return stamp + datetime.timedelta(seconds=timeout) < now


def unavailable_for_binding(claim: ResourceClaim, timeout: float, now: datetime.datetime | None = None) -> bool:
    """Filter's test: an allocated claim whose binding failed or timed out must be deallocated first."""
    if claim.status is None or claim.status.allocation is None:
        return False
    try:
        ready = ready_for_binding(claim)
    except BindingFailed:
        return True
    return not ready and binding_timed_out(claim, timeout, now)


@dataclass
class _Waiting:
    key: str
    claims: list[ClaimKey]
    done: Callable[[str | None], None]
    timer: threading.Timer | None = field(default=None, repr=False)


class BindingWaiter:
    """Pods whose claims were written and whose binding conditions are not all True yet.

    Every method except the timer callback is called with ``lock`` (the scheduler's lock, which also
    guards ``lookup``'s cache) held. ``done(error)`` is called exactly once per pod, outside of any
    API call, with None (bind now) or the reason the binding failed; the caller runs its own work on
    a binding worker.
    """

    def __init__(
        self,
        lookup: Callable[[ClaimKey], ResourceClaim | None],
        lock: threading.Condition,
        timeout: float = BINDING_TIMEOUT_DEFAULT,
    ) -> None:
        self.lookup = lookup
        self.lock = lock
        self.timeout = timeout
        self._waiting: dict[str, _Waiting] = {}
        self._by_claim: dict[ClaimKey, set[str]] = {}

    def __len__(self) -> int:
        return len(self._waiting)

    def waiting(self, key: str) -> bool:
        return key in self._waiting

    def wait(self, key: str, claims: list[ClaimKey], done: Callable[[str | None], None]) -> bool:
        """Wait for ``claims``; when they are ready or failed already ``done`` is called right away.
        True if the pod now waits."""
        w = _Waiting(key, claims, done)
        outcome = self._evaluate(w, expired=False)
        if outcome != "pending":
            done(None if outcome == "ready" else outcome.removeprefix("failed:"))
            return False
        self._waiting[key] = w
        for ck in claims:
            self._by_claim.setdefault(ck, set()).add(key)
        timer = threading.Timer(self.timeout, self._expire, args=(key,))
        timer.daemon = True
        timer.name = f"prebind-{key}"
        w.timer = timer
        timer.start()
        return True

    def claim_changed(self, ck: ClaimKey) -> None:
        for key in list(self._by_claim.get(ck, ())):
            w = self._waiting.get(key)
            if w is None:
                continue
            outcome = self._evaluate(w, expired=False)
            if outcome != "pending":
                self._finish(w, outcome)

    def cancel(self, key: str) -> bool:
        """Stop waiting without calling ``done`` (the pod is gone); True if it was waiting."""
        w = self._remove(key)
        return w is not None

    def stop(self) -> None:
        for key in list(self._waiting):
            self._remove(key)

    def _expire(self, key: str) -> None:
        with self.lock:
            w = self._waiting.get(key)
            if w is None:
                return
            self._finish(w, self._evaluate(w, expired=True))

    def _evaluate(self, w: _Waiting, expired: bool) -> str:
        """``ready``, ``pending`` or ``failed:<message>``."""
        now = datetime.datetime.now(datetime.UTC)
        for ck in w.claims:
            claim = self.lookup(ck)
            if claim is None:
                return f'failed:resourceclaim "{ck[1]}" not found'
            if claim.status is None or claim.status.allocation is None:
                return f"failed:claim {ck[1]} got deallocated while waiting for its binding conditions"
            try:
                if ready_for_binding(claim):
                    continue
            except BindingFailed as exc:
                return f"failed:{exc}"
            if binding_timed_out(claim, self.timeout, now):
                return f"failed:claim {ck[1]} binding timeout"
            if expired:
                return "failed:device binding timeout"
            return "pending"
        return "ready"

    def _finish(self, w: _Waiting, outcome: str) -> None:
        self._remove(w.key)
        w.done(None if outcome == "ready" else outcome.removeprefix("failed:"))

    def _remove(self, key: str) -> _Waiting | None:
        w = self._waiting.pop(key, None)
        if w is None:
            return None
        if w.timer is not None:
            w.timer.cancel()
        for ck in w.claims:
            keys = self._by_claim.get(ck)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_claim[ck]
        return w


def prebind_error(message: str) -> str:
    """The text of a failed PreBind as kube-scheduler reports it (``Binding rejected: ...``)."""
    return f'running PreBind plugin "{PREBIND_PLUGIN}": {message}'


def deallocation_candidate(claims: list[ResourceClaim], pod: Pod) -> ResourceClaim | None:
    """PostFilter's choice: a claim nobody else has reserved (upstream picks one at random)."""
    for claim in claims:
        reserved = (claim.status.reserved_for if claim.status else None) or []
        if not reserved or (len(reserved) == 1 and reserved[0].uid == pod.metadata.uid):
            return claim
    return None
