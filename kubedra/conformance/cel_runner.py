"""Runs upstream's DRA CEL scenarios (``../shared/conformance/cel/*.yaml``) against kubedra.cel.

Each scenario: compile for its environment and features, compare the compile error, then evaluate
against the device and compare the match result or runtime error. A scenario whose ``features``
list a flag as ``[false, true]`` runs once per value. Upstream's estimated cost is compared
separately and reported as "cost parity" (it is not a pass criterion, see the fixtures' README),
except that an estimate above 1,000,000 must make a new expression fail to compile.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any, TextIO

import yaml

from kubedra.cel import COST_LIMIT, CELDevice, CELError, CELFeatures, CompileError, compile_selector

__all__ = ["run", "run_case"]


def _variants(features: dict[str, Any]) -> list[CELFeatures]:
    def values(v: Any) -> list[bool]:
        return [bool(x) for x in v] if isinstance(v, list) else [bool(v)]

    cc = values(features.get("consumableCapacity", False))
    lt = values(features.get("listTypeAttributes", False))
    return [CELFeatures(consumable_capacity=a, list_type_attributes=b) for a, b in itertools.product(cc, lt)]


def _error_problems(stage: str, message: str, want: str | None) -> list[str]:
    """An error was raised at ``stage``: fine only if the case expects one containing ``want``."""
    if not want:
        return [f"unexpected {stage} error: {message}"]
    if want not in message:
        return [f"{stage} error {message!r} does not contain {want!r}"]
    return []


def run_case(case: dict[str, Any], features: CELFeatures) -> tuple[list[str], int | None]:
    """Problems found (empty = pass) and the estimated cost (None if it did not compile)."""
    expect = case.get("expect") or {}
    problems: list[str] = []
    try:
        sel = compile_selector(case["expression"], environment=case.get("environment", "stored"), features=features)
    except CompileError as e:
        problems.extend(_error_problems("compile", e.message, expect.get("compileError")))
        return problems, None
    if expect.get("compileError"):
        problems.append(f"expected compile error containing {expect['compileError']!r}, compiled fine")
        return problems, sel.estimated_cost
    want_cost = expect.get("cost")
    if want_cost is not None and want_cost > COST_LIMIT:
        try:
            compile_selector(case["expression"], environment="new", features=features)
            problems.append(f"estimate {want_cost} > {COST_LIMIT} upstream, but the new environment accepted it")
        except CompileError as e:
            if "exceeds cost limit" not in e.message and "compilation failed" not in e.message:
                problems.append(f"new environment rejected it with an unexpected error: {e.message}")
    d = case.get("device") or {}
    device = CELDevice(d.get("driver") or "", d.get("attributes"), d.get("capacity"), d.get("allowMultipleAllocations"))
    try:
        got = sel.matches(device)
    except CELError as e:
        problems.extend(_error_problems("runtime", e.message, expect.get("matchError")))
        return problems, sel.estimated_cost
    if expect.get("matchError"):
        problems.append(f"expected runtime error containing {expect['matchError']!r}, got match={got}")
    elif got != bool(expect.get("match")):
        problems.append(f"match: got {got}, want {bool(expect.get('match'))}")
    return problems, sel.estimated_cost


def run(directory: Path, out: TextIO, pattern: str | None = None, verbose: bool = False) -> int:
    passed = failed = parity = cost_cases = 0
    for path in sorted(directory.glob("*.yaml")):
        case = yaml.safe_load(path.read_text())
        if not isinstance(case, dict) or "expression" not in case:
            continue
        name = str(case.get("name") or path.stem)
        if pattern and pattern not in name:
            continue
        want_cost = (case.get("expect") or {}).get("cost")
        same_cost = True
        case_problems: list[str] = []
        for features in _variants(case.get("features") or {}):
            problems, cost = run_case(case, features)
            label = f"list={'on' if features.list_type_attributes else 'off'}"
            case_problems.extend(f"[{label}] {p}" for p in problems)
            if want_cost is not None and cost != want_cost:
                same_cost = False
                if verbose:
                    print(f"  cost {name} [{label}]: estimated {cost}, upstream {want_cost}", file=out)
        if want_cost is not None:
            cost_cases += 1
            parity += same_cost
        if case_problems:
            failed += 1
            print(f"FAIL {name} ({path.name})", file=out)
            for p in case_problems:
                print(f"  {p}", file=out)
        else:
            passed += 1
            if verbose:
                print(f"ok   {name}", file=out)
    print(f"cost parity {parity}/{cost_cases}", file=out)
    print(f"{passed} passed, {failed} failed", file=out)
    return 1 if failed else 0
