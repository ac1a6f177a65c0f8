"""Deliberately broken inputs: the allocator answers with AllocatorError (upstream's text) or a
result, never with another exception. Inputs are upstream's cases mutated at random but
reproducibly (fixed seed): fields deleted, list entries duplicated (duplicate device, request,
slice names), strings and counts replaced by hostile values."""

from __future__ import annotations

import copy
import random
import time
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml

from kubedra.allocator import AllocatedState, Allocator, AllocatorError, Features
from kubedra.api import codec
from kubedra.api.core import Node
from kubedra.api.resource import DeviceClass, ResourceClaim, ResourceSlice

HERE = Path(__file__).resolve().parent
DIRS = [HERE.parents[1] / ".." / "shared" / "conformance" / "allocator", HERE / "upstream_extra"]

STRINGS = [
    "", "x", "future-mode", "All", "ExactCount", "1Zi", "-5", "1e1000", "0.0000000001n",
    "9999999999999999999999999Ei", "NaN", " 1", "driver-a/", "/x", "a/b/c", "device-1", "pool-1",
    "req-0/subReq-9", "req-0/", "Exists", "NoExecute", "1.0", "1.0.0-rc.1+b", "device.driver",
]  # fmt: skip
INTS = [-1, 0, 1, 33, 10**6, 2**63 - 1, -(2**63)]


def _cases() -> list[dict[str, Any]]:
    return [yaml.safe_load(p.read_text()) for d in DIRS if d.is_dir() for p in sorted(d.glob("*.yaml"))]


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for k, v in items:
        out.append((*prefix, k))
        out.extend(_paths(v, (*prefix, k)))
    return out


def _mutate(rng: random.Random, doc: dict[str, Any]) -> None:
    paths = _paths(doc)
    if not paths:
        return
    path = rng.choice(paths)
    parent: Any = doc
    for p in path[:-1]:
        parent = parent[p]
    value = parent[path[-1]]
    if isinstance(value, bool):
        parent[path[-1]] = not value
    elif isinstance(value, str):
        parent[path[-1]] = rng.choice(STRINGS)
    elif isinstance(value, int):
        parent[path[-1]] = rng.choice(INTS)
    elif isinstance(value, list) and value and rng.random() < 0.6:
        value.append(copy.deepcopy(rng.choice(value)))
    elif isinstance(value, (list, dict)) and rng.random() < 0.5:
        value.clear()
    elif isinstance(parent, dict):
        del parent[path[-1]]


def _allocate(case: dict[str, Any]) -> None:
    try:
        features = Features.from_names(case.get("features") or [])
        node = codec.decode(Node, {"metadata": case.get("node") or {}})
        classes = [codec.decode(DeviceClass, c) for c in case.get("classes") or []]
        slices = [codec.decode(ResourceSlice, s) for s in case.get("slices") or []]
        claims = [codec.decode(ResourceClaim, c) for c in case.get("claims") or []]
    except msgspec.ValidationError:
        return  # the API server would have rejected it; never reaches the allocator
    state = AllocatedState.build(
        case.get("allocatedDevices") or [],
        case.get("allocatedSharedDeviceIDs") or [],
        case.get("allocatedCapacity") or {},
    )
    allocator = Allocator(features, state, {c.metadata.name or "": c for c in classes}, slices)
    try:
        allocator.allocate(node, claims, deadline=time.monotonic() + 10)
    except AllocatorError as exc:
        assert str(exc), "an error must say what is wrong"


@pytest.mark.parametrize("seed", range(2))
def test_mutated_upstream_cases_never_crash(seed: int) -> None:
    cases = _cases()
    if not cases:
        pytest.skip("no fixtures")
    rng = random.Random(seed)
    for _ in range(100):
        case = copy.deepcopy(rng.choice(cases))
        doc = {k: case.get(k) or [] for k in ("classes", "slices", "claims")}
        for _ in range(rng.randint(1, 3)):
            _mutate(rng, doc)
        case.update(doc)
        _allocate(case)
