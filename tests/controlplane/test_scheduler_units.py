"""Pure parts of the scheduler: node filters, fit messages, the queue, claim names."""

from __future__ import annotations

import pytest

from kubedra.api.codec import decode
from kubedra.api.core import Node, Pod
from kubedra.controlplane.controllers.claimnames import ClaimNameError, claim_name, generate_name
from kubedra.controlplane.scheduler import nodefit
from kubedra.controlplane.scheduler.queue import SchedulingQueue


def node(name: str, labels: dict[str, str] | None = None, taints: list[dict] | None = None, **spec) -> Node:
    return decode(Node, {"metadata": {"name": name, "labels": labels or {}}, "spec": {"taints": taints or [], **spec}})


def pod(spec: dict, status: dict | None = None) -> Pod:
    return decode(Pod, {"metadata": {"name": "p", "namespace": "ns", "uid": "u1"}, "spec": spec, "status": status or {}})


def test_node_selector_and_affinity() -> None:
    p = pod({"nodeSelector": {"gpu": "yes"}})
    assert nodefit.check_node(p, node("a", {"gpu": "yes"}), None) is None
    assert nodefit.check_node(p, node("b"), None) == nodefit.REASON_AFFINITY
    aff = pod({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["z1", "z2"]},
                              {"key": "size", "operator": "Gt", "values": ["4"]}]},
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["special"]}]},
    ]}}}})
    required = nodefit.required_node_affinity(aff)
    assert nodefit.check_node(aff, node("x", {"zone": "z1", "size": "8"}), required) is None
    assert nodefit.check_node(aff, node("x", {"zone": "z1", "size": "2"}), required) == nodefit.REASON_AFFINITY
    assert nodefit.check_node(aff, node("special"), required) is None
    assert nodefit.check_node(aff, node("other", {"zone": "z3"}), required) == nodefit.REASON_AFFINITY


def test_bad_affinity_names_the_field() -> None:
    bad = pod({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": "oops"}}}})
    with pytest.raises(nodefit.AffinityError, match=r"requiredDuringSchedulingIgnoredDuringExecution\.nodeSelectorTerms"):
        nodefit.required_node_affinity(bad)


def test_taints_and_tolerations() -> None:
    tainted = node("t", taints=[{"key": "gpu", "value": "true", "effect": "NoSchedule"},
                                {"key": "soft", "effect": "PreferNoSchedule"}])
    assert nodefit.check_node(pod({}), tainted, None) == "node(s) had untolerated taint {gpu: true}"
    assert nodefit.check_node(pod({"tolerations": [{"key": "gpu", "value": "true"}]}), tainted, None) is None
    assert nodefit.check_node(pod({"tolerations": [{"key": "gpu", "operator": "Exists"}]}), tainted, None) is None
    assert nodefit.check_node(pod({"tolerations": [{"operator": "Exists"}]}), tainted, None) is None
    wrong_effect = pod({"tolerations": [{"key": "gpu", "operator": "Exists", "effect": "NoExecute"}]})
    assert nodefit.check_node(wrong_effect, tainted, None) is not None
    cordoned = node("c", unschedulable=True)
    assert nodefit.check_node(pod({}), cordoned, None) == nodefit.REASON_UNSCHEDULABLE
    assert nodefit.check_node(pod({"nodeName": "other"}), node("a"), None) == nodefit.REASON_NODE_NAME


def test_fit_error_message_matches_kube_scheduler() -> None:
    msg = nodefit.fit_error_message(2, {nodefit.REASON_AFFINITY: 1, "cannot allocate all claims": 1})
    assert msg == ("0/2 nodes are available: 1 cannot allocate all claims, "
                   "1 node(s) didn't match Pod's node affinity/selector.")
    assert nodefit.fit_error_message(3, {}, prefilter='resourceclaim "x" not found') == (
        '0/3 nodes are available: resourceclaim "x" not found.')


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_queue_priority_then_fifo() -> None:
    q = SchedulingQueue(clock=Clock())
    q.add("ns/low", 0)
    q.add("ns/high", 1000)
    q.add("ns/low2", 0)
    assert [q.pop(), q.pop(), q.pop(), q.pop()] == ["ns/high", "ns/low", "ns/low2", None]


def test_queue_unschedulable_waits_for_event_then_backoff() -> None:
    clock = Clock()
    q = SchedulingQueue(clock=clock)
    q.add("ns/p", 0)
    assert q.pop() == "ns/p"
    q.failed("ns/p", unschedulable=True, event_generation=q.current_event_generation())
    clock.t += 60
    assert q.pop() is None  # no cluster event yet
    q.move_all()
    assert q.pop() == "ns/p"  # backoff (1 s) long over
    q.failed("ns/p", unschedulable=True, event_generation=q.current_event_generation())
    q.move_all()
    assert q.pop() is None  # second failure: 2 s backoff
    clock.t += 2.1
    assert q.pop() == "ns/p"


def test_queue_event_during_attempt_means_retry() -> None:
    clock = Clock()
    q = SchedulingQueue(clock=clock)
    q.add("ns/p", 0)
    gen = q.current_event_generation()
    assert q.pop() == "ns/p"
    q.move_all()  # e.g. a slice appeared while the attempt ran
    q.failed("ns/p", unschedulable=True, event_generation=gen)
    clock.t += 1.1
    assert q.pop() == "ns/p"


def test_claim_names() -> None:
    p = pod({"resourceClaims": [{"name": "gpu", "resourceClaimTemplateName": "t"}]})
    with pytest.raises(ClaimNameError, match='pod "ns/p": ResourceClaim not created yet'):
        claim_name(p, p.spec.resource_claims[0])  # type: ignore[union-attr,index]
    p2 = pod({"resourceClaims": [{"name": "gpu", "resourceClaimTemplateName": "t"}]},
             {"resourceClaimStatuses": [{"name": "gpu", "resourceClaimName": "p-gpu-abcde"}]})
    assert claim_name(p2, p2.spec.resource_claims[0]) == ("p-gpu-abcde", True)  # type: ignore[union-attr,index]
    assert generate_name("pod", "gpu") == "pod-gpu-"
    long = generate_name("p" * 60, "c" * 20)
    assert long == "p" * 41 + "-" + "c" * 13  # 60*57//82 and 20*57//82: both parts keep their share


def test_queue_gated_pods_wait_for_their_own_event() -> None:
    clock = Clock()
    q = SchedulingQueue(clock=clock)
    q.gate("ns/waiting", 0)
    q.add("ns/waiting", 0)  # a resync of the unchanged pod does not release it
    q.move_all()  # a freed device cannot help a pod whose claim does not exist yet
    assert q.pop() is None
    q.move(["ns/waiting"])  # its claim appeared
    assert q.pop() == "ns/waiting"  # no backoff: gating was not an attempt
    q.failed("ns/waiting", unschedulable=True, event_generation=q.current_event_generation(), gated=True)
    q.pod_changed("ns/waiting")
    assert q.pop() == "ns/waiting"


def test_windowed_allocators_decide_like_one_allocator_over_all_slices() -> None:
    """The window only drops slices the allocator never looks at for those nodes."""
    from kubedra.allocator import Features
    from kubedra.api.resource import DeviceClass, ResourceClaim, ResourceSlice
    from kubedra.controlplane.scheduler.allocation import AllocatorFactory
    from kubedra.controlplane.scheduler.cache import SchedulerCache
    from kubedra.controlplane.scheduler.cycle import Cycle, Decision, with_reservation

    def build(window: int) -> tuple[SchedulerCache, Cycle]:
        cache = SchedulerCache()
        cache.set_class(decode(DeviceClass, {"metadata": {"name": "c"}, "spec": {}}))
        for i in range(12):
            cache.set_node(node(f"n{i:02d}", {"rack": str(i % 3)}))
            # Pool of two slices on the same node, and one device each (plus an all-nodes pool below).
            for part in range(2):
                cache.set_slice(decode(ResourceSlice, {"metadata": {"name": f"n{i:02d}-{part}"}, "spec": {
                    "driver": "d", "nodeName": f"n{i:02d}",
                    "pool": {"name": f"p{i:02d}", "generation": 1, "resourceSliceCount": 2},
                    "devices": [{"name": f"dev-{part}"}]}}))
        cache.set_slice(decode(ResourceSlice, {"metadata": {"name": "shared"}, "spec": {
            "driver": "d", "nodeSelector": {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": "rack", "operator": "In", "values": ["1"]}]}]},
            "pool": {"name": "rack-1", "generation": 1, "resourceSliceCount": 1},
            "devices": [{"name": f"net-{k}"} for k in range(4)]}}))
        return cache, Cycle(AllocatorFactory(Features.defaults_1_36(), window=window), cache)

    def claim(i: int) -> tuple[Pod, ResourceClaim]:
        c = decode(ResourceClaim, {"metadata": {"name": f"c{i}", "namespace": "ns", "uid": f"cu{i}"}, "spec": {
            "devices": {"requests": [{"name": "r", "exactly": {"deviceClassName": "c", "allocationMode": "ExactCount",
                                                              "count": 1 + i % 3}}]}}})
        p = decode(Pod, {"metadata": {"name": f"p{i}", "namespace": "ns", "uid": f"u{i}"},
                         "spec": {"resourceClaims": [{"name": "r", "resourceClaimName": f"c{i}"}]}})
        return p, c

    outcomes = []
    for window in (0, 4):
        cache, cycle = build(window)
        seen = []
        for i in range(30):
            p, c = claim(i)
            cache.set_claim(c)
            d = cycle.schedule(p, cache, set())
            if isinstance(d, Decision):
                for u in d.updates:
                    cache.assume(with_reservation(u.claim, p, u.allocation))
                seen.append((d.node, [(r.pool, r.device) for u in d.updates for r in
                                      (u.allocation.devices.results if u.allocation and u.allocation.devices else [])]))
            else:
                seen.append((d.message, []))
        outcomes.append(seen)
    assert outcomes[0] == outcomes[1]
    assert any("rack-1" in str(o) for o in outcomes[0])  # the all-nodes pool was used too


def test_claims_with_quantities_in_their_spec_are_scheduled() -> None:
    """Quantities are str subclasses in the models: the memo key must encode them (regression)."""
    from kubedra.allocator import Features
    from kubedra.api.resource import DeviceClass, ResourceClaim, ResourceSlice
    from kubedra.controlplane.scheduler.allocation import AllocatorFactory
    from kubedra.controlplane.scheduler.cache import SchedulerCache
    from kubedra.controlplane.scheduler.cycle import Cycle, Decision

    cache = SchedulerCache()
    cache.set_class(decode(DeviceClass, {"metadata": {"name": "c"}, "spec": {}}))
    cache.set_node(node("n0"))
    cache.set_slice(decode(ResourceSlice, {"metadata": {"name": "s"}, "spec": {
        "driver": "d", "nodeName": "n0", "pool": {"name": "p", "generation": 1, "resourceSliceCount": 1},
        "devices": [{"name": "g", "capacity": {"memory": {"value": "80Gi"}}}]}}))
    cache.set_claim(decode(ResourceClaim, {"metadata": {"name": "c", "namespace": "ns", "uid": "cu"}, "spec": {
        "devices": {"requests": [{"name": "r", "exactly": {"deviceClassName": "c", "allocationMode": "ExactCount",
                                                          "count": 1, "capacity": {"requests": {"memory": "10Gi"}}}}]}}}))
    p = decode(Pod, {"metadata": {"name": "p", "namespace": "ns", "uid": "u"},
                     "spec": {"resourceClaims": [{"name": "r", "resourceClaimName": "c"}]}})
    decision = Cycle(AllocatorFactory(Features.defaults_1_36()), cache).schedule(p, cache, set())
    assert isinstance(decision, Decision) and decision.node == "n0"


def test_allocators_share_slice_indexes_until_the_slices_change() -> None:
    """One allocator per pod is O(1) to build: the slice indexes are kept per slice set, and a
    changed slice is seen by the next allocator (never a stale index)."""
    from kubedra.allocator import Features
    from kubedra.api.resource import DeviceClass, ResourceClaim, ResourceSlice
    from kubedra.controlplane.scheduler.allocation import AllocatorFactory
    from kubedra.controlplane.scheduler.cache import SchedulerCache

    def slice_of(node_name: str, devices: list[str], generation: int = 1) -> ResourceSlice:
        return decode(ResourceSlice, {"metadata": {"name": node_name}, "spec": {
            "driver": "d", "nodeName": node_name,
            "pool": {"name": node_name, "generation": generation, "resourceSliceCount": 1},
            "devices": [{"name": d} for d in devices]}})

    cache = SchedulerCache()
    cache.set_class(decode(DeviceClass, {"metadata": {"name": "c"}, "spec": {}}))
    for i in range(3):
        cache.set_node(node(f"n{i}"))
        cache.set_slice(slice_of(f"n{i}", ["a"]))
    claim = decode(ResourceClaim, {"metadata": {"name": "x", "namespace": "ns", "uid": "u"}, "spec": {
        "devices": {"requests": [{"name": "r", "exactly": {"deviceClassName": "c", "allocationMode": "ExactCount",
                                                          "count": 2}}]}}})
    factory = AllocatorFactory(Features.defaults_1_36())
    first, second = factory.new(cache), factory.new(cache)
    assert first.by_pool is second.by_pool  # type: ignore[attr-defined]
    assert first.allocate(cache.nodes["n1"], [claim], None) is None  # one device only
    cache.set_slice(slice_of("n1", ["a", "b"], generation=2))
    third = factory.new(cache)
    assert third.by_pool is not first.by_pool  # type: ignore[attr-defined]
    results = third.allocate(cache.nodes["n1"], [claim], None)
    assert results is not None
    assert [r.device for r in results[0].devices.results] == ["a", "b"]  # type: ignore[union-attr]


def test_binding_workers_follow_the_transport() -> None:
    from kubedra.controlplane.client import HTTPClient, LocalClient
    from kubedra.controlplane.scheduler.scheduler import default_binding_workers

    local = LocalClient.__new__(LocalClient)
    remote = HTTPClient.__new__(HTTPClient)
    assert default_binding_workers(local) == 1  # CPU-bound under one interpreter lock
    assert default_binding_workers(remote) == 8  # network-bound: overlap the round trips
