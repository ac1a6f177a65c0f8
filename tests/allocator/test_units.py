"""Unit tests of the allocator's building blocks."""

from __future__ import annotations

import pytest

from kubedra.allocator.capacity import capacity_problem, consumed_amount
from kubedra.allocator.constraints import DistinctAttribute, MatchAttribute
from kubedra.allocator.devices import CapacityInfo, PreparedSlice
from kubedra.allocator.features import Features
from kubedra.allocator.nodes import NodeSelectorError, node_matches
from kubedra.allocator.state import AllocatedState, DeviceID, SharedDeviceID
from kubedra.api import codec
from kubedra.api.core import NodeSelector
from kubedra.api.quantity import Quantity

from .helpers import DRIVER, gpu, node, resource_slice


def selector(*terms: dict[str, object]) -> NodeSelector:
    return codec.decode(NodeSelector, {"nodeSelectorTerms": list(terms)})


def test_node_selection() -> None:
    n = node("node-1", {"zone": "a", "gpus": "4"})
    assert node_matches(n, "node-1", False, None)
    assert not node_matches(n, "node-2", True, None)  # the name wins over allNodes
    assert node_matches(n, "", True, None)
    assert not node_matches(n, "", False, None)
    zone_b = {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["b"]}]}
    many = {"matchExpressions": [{"key": "gpus", "operator": "Gt", "values": ["2"]}]}
    assert node_matches(n, "", False, selector(zone_b, many))  # terms are ORed
    assert not node_matches(n, "", False, selector(zone_b))
    assert not node_matches(n, "", False, selector({}))  # an empty term matches nothing
    by_name = {"matchFields": [{"key": "metadata.name", "operator": "NotIn", "values": ["node-2"]}]}
    assert node_matches(n, "", False, selector(by_name))
    with pytest.raises(NodeSelectorError, match="not a valid selector operator"):
        node_matches(
            n,
            "",
            False,
            selector({"matchExpressions": [{"key": "zone", "operator": "Near", "values": ["a"]}]}),
        )


def _devices(*devices: dict[str, object]) -> list[object]:
    return list(PreparedSlice(resource_slice("s", list(devices))).devices)


def test_match_attribute_keeps_the_first_value_and_counts() -> None:
    a1, a2, b = _devices(gpu("a1", model="a"), gpu("a2", model="a"), gpu("b", model="b"))
    c = MatchAttribute(f"{DRIVER}/model", None, lists=False)
    assert c.add("r", "", a1) and c.add("r", "", a2)  # type: ignore[arg-type]
    assert not c.add("r", "", b)  # type: ignore[arg-type]
    c.remove("r", "", a2)  # type: ignore[arg-type]
    c.remove("r", "", a1)  # type: ignore[arg-type]
    assert c.add("r", "", b)  # type: ignore[arg-type]
    scoped = MatchAttribute(f"{DRIVER}/model", ["other"], lists=False)
    assert scoped.add("r", "", a1) and scoped.add("r", "", b)  # type: ignore[arg-type]


def test_distinct_attribute_and_list_semantics() -> None:
    x, y, x2 = _devices(gpu("x", numa=0), gpu("y", numa=1), gpu("x2", numa=0))
    c = DistinctAttribute(f"{DRIVER}/numa", None, lists=False)
    assert c.add("r1", "", x) and c.add("r2", "", y)  # type: ignore[arg-type]
    assert not c.add("r3", "", x2)  # type: ignore[arg-type]
    lx, ly = _devices(
        {"name": "lx", "attributes": {"nets": {"strings": ["n1", "n2"]}}},
        {"name": "ly", "attributes": {"nets": {"strings": ["n2", "n3"]}}},
    )
    m = MatchAttribute(f"{DRIVER}/nets", None, lists=True)
    assert m.add("r", "", lx) and m.add("r", "", ly)  # type: ignore[arg-type]
    d = DistinctAttribute(f"{DRIVER}/nets", None, lists=True)
    assert d.add("r1", "", lx) and not d.add("r2", "", ly)  # type: ignore[arg-type]


def test_consumed_capacity_rounding() -> None:
    q = Quantity.parse
    stepped = CapacityInfo(value=q("10Gi"), min=q("1Gi"), step=q("1Gi"), has_policy=True, has_range=True)
    assert consumed_amount(q("1500Mi"), stepped) == q("2Gi")
    assert consumed_amount(q("100Mi"), stepped) == q("1Gi")
    listed = CapacityInfo(value=q("8"), valid_values=[q("2"), q("4"), q("8")], has_policy=True)
    assert consumed_amount(q("3"), listed) == q("4")
    assert consumed_amount(None, listed) == q("8")  # no default: the whole capacity
    assert (
        capacity_problem({"missing": q("1")}, {"memory": stepped}, None, None)
        == "some requested capacity has not been defined"
    )
    assert (
        capacity_problem({}, {"memory": stepped}, {"memory": q("1")}, None) != ""
    )  # whole 10Gi no longer free
    assert capacity_problem({"memory": q("1Gi")}, {"memory": stepped}, {"memory": q("9Gi")}, None) == ""


def test_state_and_features_parsing() -> None:
    state = AllocatedState.build(["d/p/x"], ["d/p/y/123"], {"d/pool/with/slash/z": {"mem": "1Gi"}})
    assert DeviceID("d", "p", "x") in state.allocated_devices
    assert SharedDeviceID("d", "p", "y", "123") in state.allocated_shared_device_ids
    assert DeviceID("d", "pool/with/slash", "z") in state.aggregated_capacity
    assert state.is_allocated(DeviceID("d", "p", "y"))
    assert Features.from_names(["PrioritizedList"]) == Features(prioritized_list=True)
    with pytest.raises(ValueError, match="unknown allocator feature"):
        Features.from_names(["Bogus"])
    gates = {"DRAPrioritizedList": True, "DRADeviceBindingConditions": True}
    assert Features.from_gates(lambda g: gates.get(g, False)) == Features(prioritized_list=True)
    assert Features.defaults_1_36().variant() == "incubating"
