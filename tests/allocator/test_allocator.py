"""Behaviour of the allocator beyond upstream's fixtures: API contract, memoisation, deadlines."""

from __future__ import annotations

import threading
import time

import msgspec
import pytest

from kubedra.allocator import (
    AllocatedState,
    AllocationAborted,
    AllocationError,
    Allocator,
    DeviceID,
    FailedAllocationOnNode,
    Features,
    SliceCache,
)
from kubedra.api import codec
from kubedra.api.quantity import Quantity

from .helpers import DRIVER, claim, device_class, gpu, node, request, resource_slice

PLAIN = {"gpu": device_class("gpu")}  # no selectors: no CEL involved


def picked(results: list[object] | None) -> list[list[str]]:
    assert results is not None
    out = []
    for r in results:
        data = codec.to_dict(r)
        out.append([f"{x['request']}:{x['pool']}/{x['device']}" for x in data["devices"]["results"]])
    return out


def test_first_solution_in_pool_slice_device_order() -> None:
    slices = [
        resource_slice("b-slice", [gpu("d1"), gpu("d0")], pool="pool-b"),
        resource_slice("a-slice-2", [gpu("x")], pool="pool-a", count=2),
        resource_slice("a-slice-1", [gpu("y")], pool="pool-a", count=2),
    ]
    alloc = Allocator(Features(), AllocatedState(), PLAIN, slices)
    results = alloc.allocate(node(), [claim("c", [request("r", count=4)])])
    # Pools sorted by name, slices sorted by name, devices in slice order.
    assert picked(results) == [["r:pool-a/y", "r:pool-a/x", "r:pool-b/d1", "r:pool-b/d0"]]
    assert results is not None
    selector = codec.to_dict(results[0])["nodeSelector"]
    assert selector == {
        "nodeSelectorTerms": [
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["node-1"]}]}
        ]
    }


def test_allocated_and_allocating_devices_are_not_reused() -> None:
    slices = [resource_slice("s", [gpu("d0"), gpu("d1"), gpu("d2")])]
    state = AllocatedState(allocated_devices=frozenset({DeviceID(DRIVER, "s", "d0")}))
    alloc = Allocator(Features(), state, PLAIN, slices)
    claims = [claim("a", [request("r")]), claim("b", [request("r")])]
    assert picked(alloc.allocate(node(), claims)) == [["r:s/d1"], ["r:s/d2"]]
    assert alloc.allocate(node(), [*claims, claim("c", [request("r")])]) is None


def test_other_nodes_slices_are_not_used() -> None:
    slices = [resource_slice("s", [gpu("d0")], node_name="node-2")]
    alloc = Allocator(Features(), AllocatedState(), PLAIN, slices)
    assert alloc.allocate(node("node-1"), [claim("c", [request("r")])]) is None
    assert picked(alloc.allocate(node("node-2"), [claim("c", [request("r")])])) == [["r:s/d0"]]


def test_inputs_are_never_modified() -> None:
    slices = [resource_slice("s", [gpu("d0", model="a"), gpu("d1", model="a")])]
    claims = [
        claim(
            "c",
            [request("r", count=2, tolerations=[{"operator": "Exists"}])],
            constraints=[{"matchAttribute": f"{DRIVER}/model"}],
        )
    ]
    before = [codec.to_json(o) for o in (*slices, *claims)]
    alloc = Allocator(Features.defaults_1_36(), AllocatedState(), PLAIN, slices)
    results = alloc.allocate(node(), claims)
    assert results is not None
    # Mutating the result must not reach back into the claim either.
    data = results[0].devices
    assert data is not None and data.results is not None
    assert data.results[0].tolerations is not None
    data.results[0].tolerations[0].operator = "Equal"
    assert [codec.to_json(o) for o in (*slices, *claims)] == before


def test_invalid_pool_fails_on_this_node_only_when_nothing_else_fits() -> None:
    bad = resource_slice("bad", [gpu("d0"), gpu("d0")], pool="bad")
    good = resource_slice("good", [gpu("d0")], pool="good")
    one = [claim("c", [request("r")])]
    assert picked(Allocator(Features(), AllocatedState(), PLAIN, [bad, good]).allocate(node(), one)) == [
        ["r:good/d0"]
    ]
    with pytest.raises(FailedAllocationOnNode) as info:
        Allocator(Features(), AllocatedState(), PLAIN, [bad]).allocate(node(), one)
    assert str(info.value) == "invalid resource pools were encountered"
    assert info.value.invalid_pools == [f"{DRIVER}/bad: duplicate device name d0"]


def test_fatal_errors_carry_upstream_text() -> None:
    slices = [resource_slice("s", [gpu("d0")])]
    alloc = Allocator(Features(), AllocatedState(), PLAIN, slices)
    with pytest.raises(AllocationError, match="could not retrieve device class nope"):
        alloc.allocate(node(), [claim("c", [request("r", cls="nope")])])
    with pytest.raises(
        AllocationError, match="claim default/c: number of requested devices 33 exceeds the claim limit of 32"
    ):
        alloc.allocate(node(), [claim("c", [request("r", count=33)])])
    with pytest.raises(AllocationError, match="admin access is requested, but the feature is disabled"):
        alloc.allocate(node(), [claim("c", [request("r", adminAccess=False)])])


def test_expired_deadline_aborts() -> None:
    slices = [resource_slice("s", [gpu("d0")])]
    alloc = Allocator(Features(), AllocatedState(), PLAIN, slices)
    with pytest.raises(AllocationAborted, match="filter operation aborted"):
        alloc.allocate(node(), [claim("c", [request("r")])], deadline=time.monotonic() - 1)


def test_deadline_expiring_mid_search_aborts() -> None:
    # req "a" takes 10 of 20 devices in every combination before "b" (which can never be satisfied)
    # fails each time: C(20, 10) combinations, seconds of work, far longer than the deadline.
    slices = [resource_slice("s", [gpu(f"d{i}") for i in range(20)])]
    claims = [
        claim(
            "c",
            [request("a", count=10), request("b")],
            constraints=[{"requests": ["b"], "matchAttribute": f"{DRIVER}/missing"}],
        )
    ]
    alloc = Allocator(Features(), AllocatedState(), PLAIN, slices)
    with pytest.raises(AllocationAborted, match=r"^filter operation aborted: context deadline exceeded$"):
        alloc.allocate(node(), claims, deadline=time.monotonic() + 0.05)
    assert alloc.stats.num_allocate_one_invocations > 100  # it was searching, not refused up front


def test_no_solution_without_deadline_is_no_allocation_not_an_error() -> None:
    # upstream's "interrupt/off": 6 devices asked of 5
    slices = [resource_slice("s", [gpu(f"d{i}") for i in range(5)])]
    alloc = Allocator(Features(), AllocatedState(), PLAIN, slices)
    assert alloc.allocate(node(), [claim("c", [request("r", count=6)])]) is None


def test_many_claims_of_many_devices_do_not_exhaust_python_recursion() -> None:
    # the search recurses per device slot: 40 claims x 32 devices is deeper than Python's default limit
    slices = [resource_slice("s", [gpu(f"d{i}") for i in range(40 * 32)])]
    claims = [claim(f"c{k}", [request("r", count=32)]) for k in range(40)]
    found: list[object] = []

    def work() -> None:  # in a thread, as the scheduler runs it
        found.append(Allocator(Features(), AllocatedState(), PLAIN, slices).allocate(node(), claims))

    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    results = found[0]
    assert isinstance(results, list) and len(results) == 40
    devices = {r.device for a in results for r in a.devices.results or []}
    assert len(devices) == 40 * 32


def test_slice_cache_reuses_prepared_slices_until_the_object_changes() -> None:
    cache = SliceCache()
    s1 = resource_slice("s", [gpu("d0")])
    Allocator(Features(), AllocatedState(), PLAIN, [s1], cache=cache)
    first = cache.prepare(s1)
    Allocator(Features(), AllocatedState(), PLAIN, [s1], cache=cache)
    assert cache.prepare(s1) is first
    s2 = msgspec.structs.replace(s1)  # an informer delivers a new object on update
    Allocator(Features(), AllocatedState(), PLAIN, [s2], cache=cache)
    cache.retain([s2])
    assert len(cache) == 1 and cache.prepare(s2) is not first


def test_partitionable_devices_share_counters_across_claims() -> None:
    counters = resource_slice(
        "counters",
        [],
        pool="p",
        count=2,
        sharedCounters=[{"name": "mem", "counters": {"memory": {"value": "8Gi"}}}],
    )
    parts = resource_slice(
        "parts",
        [
            {
                "name": f"part-{i}",
                "consumesCounters": [{"counterSet": "mem", "counters": {"memory": {"value": "4Gi"}}}],
            }
            for i in range(3)
        ],
        pool="p",
        count=2,
    )
    features = Features(partitionable_devices=True)
    alloc = Allocator(features, AllocatedState(), PLAIN, [counters, parts])
    two = [claim("a", [request("r")]), claim("b", [request("r")])]
    assert picked(alloc.allocate(node(), two)) == [["r:p/part-0"], ["r:p/part-1"]]
    assert alloc.allocate(node(), [*two, claim("c", [request("r")])]) is None
    # Counters consumed by an allocated partition count against the pool.
    state = AllocatedState(allocated_devices=frozenset({DeviceID(DRIVER, "p", "part-2")}))
    assert Allocator(features, state, PLAIN, [counters, parts]).allocate(node(), two) is None


def test_consumable_capacity_shares_a_device_until_full() -> None:
    shared = resource_slice(
        "s",
        [
            {
                "name": "nic",
                "allowMultipleAllocations": True,
                "capacity": {
                    "bandwidth": {
                        "value": "10G",
                        "requestPolicy": {"default": "1G", "validRange": {"min": "1G", "step": "1G"}},
                    }
                },
            }
        ],
    )
    features = Features(consumable_capacity=True)
    ids = iter(["share-1", "share-2", "share-3"])
    alloc = Allocator(features, AllocatedState(), PLAIN, [shared], share_id=lambda: next(ids))
    ask = {"capacity": {"requests": {"bandwidth": "2500M"}}}
    results = alloc.allocate(node(), [claim("a", [request("r", **ask)]), claim("b", [request("r", **ask)])])
    assert results is not None
    got = [codec.to_dict(r)["devices"]["results"][0] for r in results]
    # 2500M rounds up to the next 1G step; the step result is a BinarySI quantity, as upstream.
    assert [(g["shareID"], Quantity.parse(g["consumedCapacity"]["bandwidth"])) for g in got] == [
        ("share-1", Quantity.parse("3G")),
        ("share-2", Quantity.parse("3G")),
    ]
    state = AllocatedState.build(aggregated_capacity={f"{DRIVER}/s/nic": {"bandwidth": "9G"}})
    assert (
        Allocator(features, state, PLAIN, [shared]).allocate(node(), [claim("a", [request("r", **ask)])])
        is None
    )


def test_taints_block_unless_tolerated() -> None:
    tainted = resource_slice("s", [{"name": "d0", "taints": [{"key": "broken", "effect": "NoSchedule"}]}])
    features = Features(device_taints=True)
    alloc = Allocator(features, AllocatedState(), PLAIN, [tainted])
    assert alloc.allocate(node(), [claim("c", [request("r")])]) is None
    tolerating = [claim("c", [request("r", tolerations=[{"key": "broken", "operator": "Exists"}])])]
    assert picked(alloc.allocate(node(), tolerating)) == [["r:s/d0"]]
    # Without the feature taints are ignored.
    assert picked(
        Allocator(Features(), AllocatedState(), PLAIN, [tainted]).allocate(
            node(), [claim("c", [request("r")])]
        )
    )


def test_prioritized_list_takes_the_first_subrequest_that_fits() -> None:
    slices = [resource_slice("s", [gpu("d0"), gpu("d1")])]
    features = Features(prioritized_list=True)
    alloc = Allocator(features, AllocatedState(), PLAIN, slices)
    req = {
        "name": "r",
        "firstAvailable": [
            {"name": "big", "deviceClassName": "gpu", "allocationMode": "ExactCount", "count": 3},
            {"name": "small", "deviceClassName": "gpu", "allocationMode": "ExactCount", "count": 2},
        ],
    }
    assert picked(alloc.allocate(node(), [claim("c", [req])])) == [["r/small:s/d0", "r/small:s/d1"]]
    with pytest.raises(
        AllocationError, match="has subrequests, but the DRAPrioritizedList feature is disabled"
    ):
        Allocator(Features(), AllocatedState(), PLAIN, slices).allocate(node(), [claim("c", [req])])
