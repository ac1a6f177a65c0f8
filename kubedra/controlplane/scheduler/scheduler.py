"""kubedra's scheduler: informer events in, one scheduling loop, a pool of binding workers.

Threads, not asyncio: a scheduling attempt is CPU work (node filters and the allocator), and the
writes that follow are I/O that should overlap with the next attempt, as kube-scheduler's
binding goroutines do. The loop thread owns decisions; binding workers only write and then
report back. One lock guards the cache and the queue.

Double allocation is impossible by construction: a decision is *assumed* in the cache before the
loop moves on, and pods whose claims are still being written wait (``in the process of being
allocated``) instead of deciding on stale state. After a restart everything is rebuilt from
the API, where allocations are written before pods are bound.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kubedra.allocator.features import Features
from kubedra.api.codec import DecodeError, to_json
from kubedra.api.core import Node, Pod
from kubedra.api.resource import EXTENDED_RESOURCE_CLAIM_ANNOTATION, DeviceClass, ResourceClaim, ResourceSlice
from kubedra.controlplane.client import Client, LocalClient
from kubedra.controlplane.scheduler.allocation import AllocatorFactory
from kubedra.controlplane.scheduler.binder import SCHEDULER_NAME, Binder, BindError
from kubedra.controlplane.scheduler.cache import ClaimKey, SchedulerCache, claim_key
from kubedra.controlplane.scheduler.cycle import ClaimUpdate, Cycle, Decision, FitFailure, with_reservation
from kubedra.controlplane.scheduler.explain import explain_failure
from kubedra.controlplane.scheduler.prebind import (
    BINDING_TIMEOUT_DEFAULT,
    PENDING_REASON,
    BindingWaiter,
    has_binding_conditions,
    prebind_error,
)
from kubedra.controlplane.scheduler.queue import SchedulingQueue
from kubedra.controlplane.shared import decode_shared

log = logging.getLogger(__name__)

# Do not repeat an identical FailedScheduling event/condition for a pod more often than this.
EVENT_REPEAT_SECONDS = 30.0


def pod_key(pod: Pod) -> str:
    return f"{pod.metadata.namespace}/{pod.metadata.name}"


def _terminal(pod: Pod) -> bool:
    phase = pod.status.phase if pod.status else None
    return phase in ("Succeeded", "Failed")


def _schedulable_fingerprint(pod: Pod) -> bytes:
    """The parts of a pod whose change may make a failed attempt succeed (status conditions the
    scheduler itself writes are not among them, so its own updates do not retrigger the pod)."""
    statuses = pod.status.resource_claim_statuses if pod.status else None
    return to_json((pod.spec, statuses, pod.metadata.labels))


def default_binding_workers(client: Client) -> int:
    """Binding writes (claim finalizer, claim status, binding) run off the scheduling loop. Over
    HTTP they wait on the network, so several workers overlap them; in the API server's own
    process they are pure CPU under the same interpreter lock, where extra workers only contend
    for it and for the store lock (measured: 1 worker 368-377 pods/s, 4 workers 282-327 on the
    template benchmark, docs/performance/scheduler.md)."""
    return 1 if isinstance(client, LocalClient) else 8


class Scheduler:
    def __init__(
        self,
        client: Client,
        features: Features | None = None,
        binding_workers: int | None = None,
        filter_timeout: float | None = 10.0,
        explain: bool = True,
        initial_backoff: float = 1.0,
        max_backoff: float = 10.0,
        extended_resources: bool = True,
        binding_timeout: float = BINDING_TIMEOUT_DEFAULT,
    ) -> None:
        self.client = client
        self.features = features or Features.defaults_1_36()
        self.cache = SchedulerCache()
        self.queue = SchedulingQueue(initial_backoff=initial_backoff, max_backoff=max_backoff)
        binding_conditions = self.features.device_binding_and_status
        self.cycle = Cycle(
            AllocatorFactory(self.features),
            self.cache,
            filter_timeout=filter_timeout,
            extended_resources=extended_resources,
            binding_timeout=binding_timeout if binding_conditions else None,
        )
        self.binder = Binder(client, stamp_allocations=binding_conditions)
        self.explain = explain
        self._lock = threading.Condition()
        # PreBind: pods whose devices' binding conditions are not all True yet.
        self.prebind = BindingWaiter(lambda ck: self.cache.claim(*ck), self._lock, binding_timeout)
        self._pods: dict[str, Pod] = {}
        self._fingerprints: dict[str, bytes] = {}
        # Pods handed to a binding worker (or bound) whose informer copy may still say "pending".
        self._binding: dict[str, str] = {}
        self._in_flight: set[ClaimKey] = set()
        self._last_failure: dict[str, tuple[str, float]] = {}
        # Queueing hints: pending pods by the claims they reference (namespace, name).
        self._pods_by_claim: dict[ClaimKey, set[str]] = {}
        self._claims_of_pod: dict[str, set[ClaimKey]] = {}
        self._stop = threading.Event()
        self.binding_workers = binding_workers or default_binding_workers(client)
        self._workers = ThreadPoolExecutor(max_workers=self.binding_workers, thread_name_prefix="bind")
        self._thread: threading.Thread | None = None
        self.scheduled = 0
        self.attempts = 0

    # --- informer handlers (called from the client's watch threads) ----------------------------

    def on_pod(self, obj: dict[str, Any] | None, deleted: bool = False, key: str | None = None) -> None:
        with self._lock:
            before = self.queue.ready_at()
            pod = _decode(Pod, obj) if obj is not None else None
            k = key or (pod_key(pod) if pod else "")
            if deleted or pod is None or pod.spec is None or pod.metadata.deletion_timestamp or _terminal(pod) or pod.spec.node_name:
                self._forget_pod(k)
            elif (pod.spec.scheduler_name or SCHEDULER_NAME) != SCHEDULER_NAME:
                return
            elif self._binding.get(k) == pod.metadata.uid:
                return  # we bound it; the informer has not seen the binding yet
            else:
                self._binding.pop(k, None)
                self._pods[k] = pod
                self._index_claims(k, pod)
                fp = _schedulable_fingerprint(pod)
                changed = self._fingerprints.get(k) != fp
                self._fingerprints[k] = fp
                if self._waits_for_claims(pod):
                    self.queue.gate(k, self.cache.pod_priority(pod))
                else:
                    self.queue.add(k, self.cache.pod_priority(pod))
                    if changed:
                        self.queue.pod_changed(k)
            self._wake_if_sooner(before)

    def _wake_if_sooner(self, before: float | None) -> None:
        """Wake the scheduling loop only if a pod became ready earlier than it planned to look
        again: most informer events change nothing it waits for, and each wake-up is a switch."""
        after = self.queue.ready_at()
        if after is not None and (before is None or after < before):
            self._lock.notify_all()

    def _waits_for_claims(self, pod: Pod) -> bool:
        """PreEnqueue: a template claim not created yet, or not yet seen by the claim informer."""
        if pod.spec is None or not pod.spec.resource_claims:
            return False
        ns = pod.metadata.namespace or ""
        statuses = {s.name: s.resource_claim_name for s in (pod.status.resource_claim_statuses if pod.status else None) or []}
        for pc in pod.spec.resource_claims:
            if not pc.resource_claim_template_name:
                continue
            if pc.name not in statuses:
                return True
            name = statuses[pc.name]
            if name and self.cache.claim(ns, name) is None:
                return True
        return False

    def _index_claims(self, k: str, pod: Pod) -> None:
        ns = pod.metadata.namespace or ""
        names = {pc.resource_claim_name for pc in (pod.spec.resource_claims if pod.spec else None) or []}
        names |= {st.resource_claim_name for st in (pod.status.resource_claim_statuses if pod.status else None) or []}
        keys = {(ns, n) for n in names if n}
        for old in self._claims_of_pod.get(k, set()) - keys:
            self._pods_by_claim.get(old, set()).discard(k)
        for ck in keys:
            self._pods_by_claim.setdefault(ck, set()).add(k)
        self._claims_of_pod[k] = keys

    def _forget_pod(self, k: str) -> None:
        # A pod deleted while waiting for binding conditions: the claim controller frees its claims.
        self.prebind.cancel(k)
        for ck in self._claims_of_pod.pop(k, set()):
            waiting = self._pods_by_claim.get(ck)
            if waiting is not None:
                waiting.discard(k)
                if not waiting:
                    del self._pods_by_claim[ck]
        self._pods.pop(k, None)
        self._fingerprints.pop(k, None)
        self._binding.pop(k, None)
        self._last_failure.pop(k, None)
        self.queue.delete(k)

    def on_claim(self, obj: dict[str, Any], deleted: bool = False) -> None:
        """Queueing hint: a claim event retries the pods that use the claim; only freeing devices
        (deallocation, deletion of an allocated claim) can help every other unschedulable pod."""
        claim = _decode(ResourceClaim, obj)
        if claim is None:
            return
        with self._lock:
            ready_before = self.queue.ready_at()
            key = claim_key(claim)
            before = self.cache.claim(*key)
            was_allocated = before is not None and before.status is not None and before.status.allocation is not None
            if deleted:
                self.cache.delete_claim(*key)
            else:
                self.cache.set_claim(claim)
            after = self.cache.claim(*key)
            allocated = after is not None and after.status is not None and after.status.allocation is not None
            if was_allocated and not allocated:
                self.queue.move_all()
            else:
                self.queue.move(self._pods_by_claim.get(key, set()))
            self.prebind.claim_changed(key)
            self._wake_if_sooner(ready_before)

    def on_slice(self, obj: dict[str, Any], deleted: bool = False) -> None:
        self._on_cluster_object(ResourceSlice, obj, deleted, self.cache.set_slice, self.cache.delete_slice)

    def on_class(self, obj: dict[str, Any], deleted: bool = False) -> None:
        self._on_cluster_object(DeviceClass, obj, deleted, self.cache.set_class, self.cache.delete_class)

    def on_node(self, obj: dict[str, Any], deleted: bool = False) -> None:
        self._on_cluster_object(Node, obj, deleted, self.cache.set_node, self.cache.delete_node)

    def _on_cluster_object(self, model: type[Any], obj: dict[str, Any], deleted: bool,
                           store: Callable[[Any], None], forget: Callable[[str], None]) -> None:
        """A slice, class or node changed: update the cache and retry every pending pod (any of
        them may fit now, or fail differently)."""
        decoded = _decode(model, obj)
        if decoded is None:
            return
        with self._lock:
            if deleted:
                forget(decoded.metadata.name or "")
            else:
                store(decoded)
            self.queue.move_all()
            self._lock.notify_all()

    def on_priority_class(self, obj: dict[str, Any], deleted: bool = False) -> None:
        name = str((obj.get("metadata") or {}).get("name", ""))
        with self._lock:
            if deleted:
                self.cache.priority_classes.pop(name, None)
            else:
                self.cache.priority_classes[name] = int(obj.get("value") or 0)

    # --- running -------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            self.prebind.stop()
            self._lock.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._workers.shutdown(wait=True, cancel_futures=False)

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                key = self.queue.pop()
                if key is None:
                    wait = self.queue.next_ready_in()
                    self._lock.wait(timeout=1.0 if wait is None else min(max(wait, 0.01), 1.0))
                    continue
                try:
                    self._attempt(key)
                except Exception:  # never let one pod kill the loop
                    log.exception("scheduling %s failed", key)
                    self.queue.failed(key, unschedulable=False, event_generation=-1)

    def run_once(self) -> bool:
        """One attempt if a pod is ready (for tests and benchmarks that drive the loop)."""
        with self._lock:
            key = self.queue.pop()
            if key is None:
                return False
            self._attempt(key)
            return True

    def _attempt(self, key: str) -> None:
        pod = self._pods.get(key)
        if pod is None:
            self.queue.done(key)
            return
        self.attempts += 1
        generation = self.queue.current_event_generation()
        outcome = self.cycle.schedule(pod, self.cache, self._in_flight)
        if isinstance(outcome, FitFailure):
            if outcome.deallocate is not None:
                self._workers.submit(self.binder.deallocate, outcome.deallocate, pod)
            self.queue.failed(
                key, unschedulable=outcome.unschedulable, event_generation=generation, gated=outcome.quiet
            )
            if not outcome.quiet:
                self._report_failure(key, pod, outcome)
            return
        self._assume(key, pod, outcome)

    def _assume(self, key: str, pod: Pod, decision: Decision) -> None:
        for update in decision.updates:
            self.cache.assume(with_reservation(update.claim, pod, update.allocation))
            if update.allocation is not None:
                self._in_flight.add(claim_key(update.claim))
        self._binding[key] = pod.metadata.uid or ""
        self._pods.pop(key, None)
        self.queue.done(key)
        node = self.cache.nodes[decision.node]
        self._workers.submit(self._bind, key, pod, node, decision)

    def _bind(self, key: str, pod: Pod, node: Node, decision: Decision) -> None:
        written: list[tuple[ResourceClaim, bool]] = []
        confirmed_claims: list[ResourceClaim] = []
        extra: list[ClaimUpdate] = []  # claims created while binding (extended resources)
        error: str | None = None
        try:
            for update in decision.updates:
                if update.extended_mappings is not None:
                    placeholder = claim_key(update.claim)
                    update = self.binder.create_extended_claim(update, pod)
                    written.append((update.claim, True))
                    with self._lock:
                        # The API server named it: move the assumption to the real key.
                        self.cache.forget(*placeholder)
                        self._in_flight.discard(placeholder)
                        self.cache.assume(with_reservation(update.claim, pod, update.allocation))
                        self._in_flight.add(claim_key(update.claim))
                        extra.append(update)
                confirmed = self.binder.reserve(update, pod, node)
                confirmed_claims.append(confirmed)
                written.append((update.claim, update.allocation is not None))
                with self._lock:
                    self.cache.confirm(confirmed)
                    if update.allocation is not None:
                        ck = claim_key(update.claim)
                        self._in_flight.discard(ck)
                        # Pods sharing the claim waited for this write; the informer event may
                        # already have come and gone, so retry them here.
                        before = self.queue.ready_at()
                        self.queue.move(self._pods_by_claim.get(ck, set()))
                        self._wake_if_sooner(before)
            if self.features.device_binding_and_status and any(map(has_binding_conditions, confirmed_claims)):
                self._wait_for_binding_conditions(key, pod, decision, written, extra, confirmed_claims)
                return
            self.binder.bind(pod, decision.node)
        except BindError as exc:
            error = str(exc)
        except Exception as exc:
            log.exception("binding %s to %s", key, decision.node)
            error = f"binding failed: {exc}"
        self._complete(key, pod, decision, written, extra, error)

    def _wait_for_binding_conditions(
        self, key: str, pod: Pod, decision: Decision, written: list[tuple[ResourceClaim, bool]],
        extra: list[ClaimUpdate], claims: list[ResourceClaim],
    ) -> None:
        """PreBind with binding conditions: park the pod (not this worker) until they are all True."""
        self.binder.event(pod, "Normal", PENDING_REASON,
                          f"waiting for binding conditions for device on node {decision.node}")

        def done(error: str | None) -> None:
            with contextlib.suppress(RuntimeError):  # the scheduler is stopping
                self._workers.submit(self._after_prebind, key, pod, decision, written, extra, error)

        with self._lock:
            self.prebind.wait(key, list(dict.fromkeys(claim_key(c) for c in claims)), done)

    def _after_prebind(
        self, key: str, pod: Pod, decision: Decision, written: list[tuple[ResourceClaim, bool]],
        extra: list[ClaimUpdate], error: str | None,
    ) -> None:
        if error is not None:
            error = prebind_error(error)
        else:
            try:
                self.binder.bind(pod, decision.node)
            except BindError as exc:
                error = str(exc)
            except Exception as exc:
                log.exception("binding %s to %s", key, decision.node)
                error = f"binding failed: {exc}"
        self._complete(key, pod, decision, written, extra, error)

    def _complete(
        self, key: str, pod: Pod, decision: Decision, written: list[tuple[ResourceClaim, bool]],
        extra: list[ClaimUpdate], error: str | None,
    ) -> None:
        """Count a bound pod, or undo the claim writes and queue the pod again."""
        if error is None:
            with self._lock:
                self.scheduled += 1
            return
        for claim, allocated_by_us in written:
            self.binder.unreserve(claim, pod, allocated_by_us)
            if claim.metadata.annotations and EXTENDED_RESOURCE_CLAIM_ANNOTATION in claim.metadata.annotations:
                with contextlib.suppress(Exception):
                    self.client.delete("resourceclaims", claim.metadata.name or "", namespace=claim.metadata.namespace)
        with self._lock:
            for update in [*decision.updates, *extra]:
                ck = claim_key(update.claim)
                self._in_flight.discard(ck)
                self.cache.forget(*ck)
            if self._binding.get(key) == pod.metadata.uid:
                del self._binding[key]
                self._pods[key] = pod
                self.queue.add(key, self.cache.pod_priority(pod))
            self.queue.move_all()
            self._lock.notify_all()
        self.binder.event(pod, "Warning", "FailedScheduling", f"Binding rejected: {error}")

    def _report_failure(self, key: str, pod: Pod, outcome: FitFailure) -> None:
        """PodScheduled=False + FailedScheduling event, not repeated while nothing changed."""
        now = time.monotonic()
        last = self._last_failure.get(key)
        if last is not None and last[0] == outcome.message and now - last[1] < EVENT_REPEAT_SECONDS:
            return
        self._last_failure[key] = (outcome.message, now)
        message = outcome.message
        if outcome.first_failed_claim is not None and self.explain:
            summary = explain_failure(
                outcome.first_failed_claim, self.cache, list(self.cache.nodes.values()), self.cycle.factory.features
            )
            if summary:
                message = f"{message} {summary}"
        reason = "Unschedulable" if outcome.unschedulable else "SchedulerError"
        self._workers.submit(self.binder.unschedulable, pod, message, reason)

    # --- introspection -------------------------------------------------------------------------

    def pending(self) -> int:
        with self._lock:
            return len(self.queue)


def _decode(model: type[Any], obj: dict[str, Any]) -> Any:
    try:
        return decode_shared(model, obj)
    except DecodeError as exc:
        meta = obj.get("metadata") or {}
        log.warning("ignoring %s %s/%s: %s", obj.get("kind"), meta.get("namespace"), meta.get("name"), exc)
        return None
