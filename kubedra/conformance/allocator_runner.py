"""Runs upstream's allocator test cases (``../shared/conformance/allocator/*.yaml``) against kubedra.

Fixture format and comparison rules: ``conformance/README.md`` next to the fixtures. Each case is
decoded as-is (no validation or defaulting), allocated on the given node with exactly the listed
features, and compared: errors by substring, results either as a matcher (device results as a
multiset, no config, nodeSelector order-free) or exactly, quantities by value, share IDs masked.
A failing case prints a unified diff of expected against actual.
"""

from __future__ import annotations

import difflib
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import yaml

from kubedra.allocator import AllocatedState, Allocator, AllocatorError, Features
from kubedra.api import codec
from kubedra.api.core import Node
from kubedra.api.quantity import Quantity, QuantityError
from kubedra.api.resource import DeviceClass, ResourceClaim, ResourceSlice

MASKED_SHARE_ID = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"


@dataclass
class CaseResult:
    name: str
    passed: bool
    problems: list[str] = field(default_factory=list)
    invocations: int | None = None
    expected_invocations: int | None = None


def run(directory: Path, out: TextIO, pattern: str | None = None, verbose: bool = False) -> int:
    passed = failed = 0
    for path in sorted(directory.glob("*.yaml")):
        if pattern and pattern not in path.stem:
            continue
        result = run_case(path)
        if result.passed:
            passed += 1
            if verbose:
                extra = ""
                if result.expected_invocations is not None:
                    extra = (
                        f" (allocateOne calls {result.invocations}, upstream {result.expected_invocations})"
                    )
                print(f"PASS {result.name}{extra}", file=out)
        else:
            failed += 1
            print(f"FAIL {result.name}", file=out)
            for problem in result.problems:
                print("    " + problem.replace("\n", "\n    "), file=out)
    print(f"{passed} passed, {failed} failed", file=out)
    return 1 if failed else 0


def run_case(path: Path) -> CaseResult:
    case = yaml.safe_load(path.read_text())
    name = str(case.get("name") or path.stem)
    try:
        return _run(name, case)
    except Exception:  # a crash is a failing case with its traceback, never an aborted run
        return CaseResult(name, False, ["crashed:\n" + traceback.format_exc()])


def _run(name: str, case: dict[str, Any]) -> CaseResult:
    features = Features.from_names(case.get("features") or [])
    node = codec.decode(Node, {"metadata": case.get("node") or {}})
    classes = [codec.decode(DeviceClass, c) for c in case.get("classes") or []]
    slices = [codec.decode(ResourceSlice, s) for s in case.get("slices") or []]
    claims = [codec.decode(ResourceClaim, c) for c in case.get("claims") or []]
    state = AllocatedState.build(
        case.get("allocatedDevices") or [],
        case.get("allocatedSharedDeviceIDs") or [],
        case.get("allocatedCapacity") or {},
    )
    before = [codec.to_json(o) for o in (*classes, *slices, *claims)]
    by_name = {c.metadata.name or "": c for c in classes}
    expect = case.get("expect") or {}
    result = CaseResult(name, True, expected_invocations=expect.get("numAllocateOneInvocations"))

    allocator = Allocator(features, state, by_name, slices)
    error: str | None = None
    actual: list[Any] | None = None
    try:
        allocations = allocator.allocate(node, claims)
        actual = [codec.to_dict(a) for a in allocations] if allocations is not None else None
    except AllocatorError as exc:
        error = str(exc)
    result.invocations = allocator.stats.num_allocate_one_invocations

    problems = result.problems
    if [codec.to_json(o) for o in (*classes, *slices, *claims)] != before:
        problems.append("the allocator modified its inputs")
    want_error = expect.get("error")
    if want_error is None and error is not None:
        problems.append(f"unexpected error: {error}")
    elif want_error is not None and error is None:
        problems.append(f"expected an error containing {want_error!r}, got none")
    elif want_error not in (None, "any") and error is not None and str(want_error) not in error:
        problems.append(f"error mismatch:\n  expected substring: {want_error}\n  actual: {error}")
    expected_results = expect.get("results") or []
    if error is None:
        problems.extend(compare_results(expected_results, actual))
    result.passed = not problems
    return result


def compare_results(expected: list[dict[str, Any]], actual: list[Any] | None) -> list[str]:
    if not expected:
        if actual:
            return ["expected no allocation, got:\n" + _dump(actual)]
        return []
    if actual is None:
        return ["expected an allocation, got none (cannot allocate on this node)"]
    if len(actual) != len(expected):
        return [f"expected {len(expected)} allocation results, got {len(actual)}:\n" + _dump(actual)]
    remaining = list(actual)
    problems: list[str] = []
    for want in expected:
        matcher = want.get("compare", "matcher") == "matcher"
        allocation = want.get("allocation") or {}
        found = next((a for a in remaining if _equal(allocation, a, matcher)), None)
        if found is not None:
            remaining.remove(found)
            continue
        closest = remaining[0] if len(remaining) == 1 else remaining
        problems.append(
            f"no actual result matches the expected one ({'matcher' if matcher else 'exact'} comparison):\n"
            + _diff(_normal(allocation, matcher), _normal(closest, matcher))
        )
    return problems


def _equal(expected: dict[str, Any], actual: Any, matcher: bool) -> bool:
    return bool(_normal(expected, matcher) == _normal(actual, matcher))


def _normal(allocation: Any, matcher: bool) -> Any:
    """A canonical form: share IDs masked, quantities as values, None dropped; sorted for matchers."""
    if isinstance(allocation, list):
        return [_normal(a, matcher) for a in allocation]
    data = _strip(allocation)
    devices = data.get("devices") or {}
    results = [_result(r) for r in devices.get("results") or []]
    out: dict[str, Any] = dict(data)
    if matcher:
        out["devices"] = {
            "results": sorted(results, key=repr),
            "config": devices.get("config") or [],
        }
        out["nodeSelector"] = _selector_set(data.get("nodeSelector"))
    else:
        new_devices = dict(devices)
        if "results" in devices:
            new_devices["results"] = results
        out["devices"] = new_devices
    return out


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _result(r: dict[str, Any]) -> dict[str, Any]:
    r = dict(r)
    if r.get("shareID") is not None:
        r["shareID"] = MASKED_SHARE_ID
    if isinstance(r.get("consumedCapacity"), dict):
        r["consumedCapacity"] = {k: _quantity(v) for k, v in r["consumedCapacity"].items()}
    return r


def _quantity(v: Any) -> Any:
    try:
        return ("quantity", Quantity.parse(str(v)).nano)
    except QuantityError:
        return v


def _selector_set(selector: Any) -> Any:
    if not selector:
        return None
    terms = []
    for term in selector.get("nodeSelectorTerms") or []:
        reqs = []
        for kind in ("matchExpressions", "matchFields"):
            for req in term.get(kind) or []:
                reqs.append(
                    (kind, req.get("key"), req.get("operator"), tuple(sorted(req.get("values") or [])))
                )
        terms.append(tuple(sorted(reqs)))
    return sorted(terms)


def _dump(value: Any) -> str:
    return yaml.safe_dump(_plain(value), sort_keys=True, default_flow_style=False).rstrip()


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _diff(expected: Any, actual: Any) -> str:
    lines: Iterable[str] = difflib.unified_diff(
        _dump(expected).splitlines(), _dump(actual).splitlines(), "expected", "actual", lineterm=""
    )
    return "\n".join(lines)
