"""Why a pod's claims do (not) fit: a per-request, per-node funnel over the allocator's own checks.

Kubernetes answers a failed allocation with "cannot allocate all claims" (kubernetes#125826 asks
for better). ``explain`` runs the real :class:`Allocator` on every node and, next to its verdict,
counts how many devices survive each step the allocator applies, in the allocator's order: devices
in usable pools, each class selector, each request selector, already allocated, tainted, out of
counters or capacity. A selector that leaves nothing gets its "nearest misses" (the values of the
attributes and capacities it reads, as seen on the devices it rejected). When devices are there but
the claim still does not fit, each constraint is dropped in turn to find the one that rejected them.

Pure: it reads a :class:`Snapshot` (built from manifests by the CLI, later from a live cluster by
the same code) and returns a :class:`Report`; rendering is separate (:func:`render`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import msgspec

from kubedra.allocator.constraints import lookup_attribute
from kubedra.allocator.counters import CounterTracker
from kubedra.allocator.devices import PreparedDevice
from kubedra.allocator.errors import AllocationAborted, AllocationError, FailedAllocationOnNode
from kubedra.allocator.features import Features
from kubedra.allocator.memo import SliceCache
from kubedra.allocator.nodes import NodeSelectorError, node_matches
from kubedra.allocator.requests import RequestData, claim_display
from kubedra.allocator.search import Allocator, Search
from kubedra.allocator.selectors import SelectorSet
from kubedra.allocator.state import AllocatedState, DeviceID, SharedDeviceID
from kubedra.allocator.taints import untolerated_taint
from kubedra.api import codec
from kubedra.api.core import Node
from kubedra.api.quantity import Quantity
from kubedra.api.resource import AllocationResult, DeviceClass, ResourceClaim, ResourceSlice

MAX_SEEN = 3
TIMES = "\u00d7"  # the multiplication sign in "40Gi x9"


@dataclass
class Snapshot:
    """The cluster state explain reads: plain objects, no client, no store."""

    classes: list[DeviceClass] = field(default_factory=list)
    slices: list[ResourceSlice] = field(default_factory=list)
    claims: list[ResourceClaim] = field(default_factory=list)  # with status: their allocations count as used
    nodes: list[Node] = field(default_factory=list)
    features: Features = field(default_factory=Features.defaults_1_36)

    def allocated_state(self, excluding: Sequence[ResourceClaim] = ()) -> AllocatedState:
        """Devices used by allocated claims (admin-access results do not count), as the scheduler builds it."""
        skip = {(c.metadata.namespace, c.metadata.name) for c in excluding}
        dedicated: set[DeviceID] = set()
        shared: set[SharedDeviceID] = set()
        capacity: dict[DeviceID, dict[str, Quantity]] = {}
        for claim in self.claims:
            if (claim.metadata.namespace, claim.metadata.name) in skip:
                continue
            allocation = claim.status.allocation if claim.status else None
            devices = allocation.devices if allocation else None
            for r in (devices.results if devices else None) or []:
                if r.admin_access:
                    continue
                did = DeviceID(r.driver, r.pool, r.device)
                if r.share_id is None:
                    dedicated.add(did)
                    continue
                shared.add(SharedDeviceID(r.driver, r.pool, r.device, r.share_id))
                used = capacity.setdefault(did, {})
                for name, value in (r.consumed_capacity or {}).items():
                    q = Quantity.parse(value)
                    used[name] = used[name].add(q) if name in used else q
        return AllocatedState(frozenset(dedicated), frozenset(shared), capacity)


@dataclass
class SelectorStep:
    source: str  # "class <name>" or "request"
    index: int
    expression: str
    matched: int
    of: int
    # Nearest misses: attribute/capacity name -> value -> how many rejected devices had it.
    seen: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass
class RequestReport:
    claim: str
    request: str  # "req" or "req/sub"
    device_class: str
    mode: str  # "ExactCount 2" or "All"
    in_pools: int = 0
    steps: list[SelectorStep] = field(default_factory=list)
    selectable: int = 0
    allocated: int = 0
    tainted: int = 0
    out_of_counters: int = 0
    out_of_capacity: int = 0
    available: int = 0
    cel_errors: list[str] = field(default_factory=list)


@dataclass
class NodeReport:
    node: str
    fits: bool
    verdict: str  # "fits", "cannot allocate all claims", or the allocator's error
    devices: list[str] = field(default_factory=list)  # on success: "claim: request -> driver/pool/device"
    incomplete_pools: list[str] = field(default_factory=list)
    invalid_pools: list[str] = field(default_factory=list)
    constraints: list[str] = field(default_factory=list)  # constraints whose removal would make it fit
    requests: list[RequestReport] = field(default_factory=list)


@dataclass
class Report:
    target: str
    claims: list[str]
    fits_on: list[str]
    chosen: NodeReport | None
    nodes: list[NodeReport]
    summary: list[str]
    fatal: str | None = None
    # Nodes a pod cannot use whatever its claims (taints, node selector, ...): node -> reason.
    excluded_nodes: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def explain(
    snapshot: Snapshot,
    claims: Sequence[ResourceClaim],
    target: str = "",
    excluded_nodes: dict[str, str] | None = None,
) -> Report:
    """Run the allocator for ``claims`` on every node of the snapshot and explain each outcome.

    ``excluded_nodes`` (node -> reason) are left out of the funnel and only reported: the caller
    knows why the pod cannot go there (kube-scheduler filters them before DRA is asked)."""
    excluded = dict(excluded_nodes or {})
    classes = {c.metadata.name or "": c for c in snapshot.classes}
    state = snapshot.allocated_state(excluding=claims)
    cache = SliceCache()
    allocator = Allocator(snapshot.features, state, classes, snapshot.slices, cache=cache)
    names = [claim_display(c) for c in claims]
    reports: list[NodeReport] = []
    fatal: str | None = None
    candidates = [n for n in snapshot.nodes if (n.metadata.name or "") not in excluded]
    for node in candidates:
        report = _node_report(allocator, node, claims, snapshot, state, classes)
        reports.append(report)
        if report.verdict.startswith("error: ") and fatal is None:
            fatal = report.verdict.removeprefix("error: ")
    fits = [r.node for r in reports if r.fits]
    chosen = next((r for r in reports if r.fits), None)
    return Report(
        target=target or ", ".join(names),
        claims=names,
        fits_on=fits,
        chosen=chosen,
        nodes=reports,
        summary=_summarise(reports, len(candidates)) if candidates or not excluded else ["no node is left to try"],
        fatal=fatal,
        excluded_nodes=excluded,
    )


def _node_report(
    allocator: Allocator,
    node: Node,
    claims: Sequence[ResourceClaim],
    snapshot: Snapshot,
    state: AllocatedState,
    classes: dict[str, DeviceClass],
) -> NodeReport:
    name = node.metadata.name or ""
    report = NodeReport(node=name, fits=False, verdict="")
    try:
        results = allocator.allocate(node, claims)
        if results is not None:
            report.fits, report.verdict = True, "fits"
            report.devices = _describe_results(claims, results)
        else:
            report.verdict = "cannot allocate all claims"
    except FailedAllocationOnNode as exc:
        report.verdict = str(exc)
    except (AllocationError, AllocationAborted) as exc:
        report.verdict = f"error: {exc}"
    try:
        pools = allocator.pools_for(node)
    except AllocationError as exc:
        report.verdict = f"error: {exc}"
        return report
    report.incomplete_pools = [p.id for p in pools if p.incomplete]
    report.invalid_pools = [f"{p.id}: {p.invalid_reason}" for p in pools if p.invalid]
    search = Search(allocator, node, claims, None)
    search.pools = pools
    for plan in allocator.plans(claims):
        for entry in plan.entries:
            for rd in entry.subs:
                report.requests.append(_funnel(search, plan.display, rd))
    if (
        not report.fits
        and not report.verdict.startswith("error")
        and all(r.available for r in report.requests)
    ):
        report.constraints = _blame_constraints(snapshot, state, classes, node, claims)
    return report


def _describe_results(claims: Sequence[ResourceClaim], results: list[AllocationResult]) -> list[str]:
    out = []
    for claim, result in zip(claims, results, strict=True):
        devices = result.devices
        for r in (devices.results if devices else None) or []:
            share = f" (share {r.share_id})" if r.share_id else ""
            out.append(f"{claim_display(claim)}: {r.request} -> {r.driver}/{r.pool}/{r.device}{share}")
    return out


def _funnel(search: Search, claim: str, rd: RequestData) -> RequestReport:
    mode = "All" if rd.all_mode else f"ExactCount {rd.count}"
    rep = RequestReport(
        claim=claim, request=rd.full_name, device_class=rd.device_class.metadata.name or "", mode=mode
    )
    candidates = [
        (dev, pool) for pool in search.pools if pool.usable() for s in pool.slices for dev in s.devices
    ]
    rep.in_pools = len(candidates)
    features = search.features
    if not features.device_binding_and_status:
        candidates = [(d, p) for d, p in candidates if not d.binding_conditions]
    for source, selectors in (("class " + rep.device_class, rd.class_selectors), ("request", rd.selectors)):
        for i, expression in enumerate(selectors.expressions):
            survivors = []
            rejected: list[PreparedDevice] = []
            for dev, pool in candidates:
                ok = _evaluate(selectors, i, dev, rep)
                (survivors.append((dev, pool)) if ok else rejected.append(dev))
            step = SelectorStep(source, i, expression, len(survivors), len(candidates))
            if not survivors and rejected:
                step.seen = _nearest_misses(expression, rejected)
            rep.steps.append(step)
            candidates = survivors
    node = search.node
    kept = []
    for dev, pool in candidates:
        if dev.slice.per_device_node_selection:
            try:
                if not node_matches(node, dev.node_name, dev.all_nodes, dev.node_selector):
                    continue
            except NodeSelectorError:
                continue
        kept.append((dev, pool))
    rep.selectable = len(kept)
    counters = CounterTracker(search.alloc.state, search.alloc.shared_ids, {})
    for dev, pool in kept:
        if not rd.admin and dev.id in search.allocated and not (features.consumable_capacity and dev.multi):
            rep.allocated += 1
        elif features.device_taints and dev.taints and untolerated_taint(dev.taints, rd.tolerations or []):
            rep.tainted += 1
        elif dev.consumes and (not features.partitionable_devices or counters.shortage(pool, dev)):
            rep.out_of_counters += 1
        elif features.consumable_capacity and _capacity_problem(search, rd, dev):
            rep.out_of_capacity += 1
        else:
            rep.available += 1
    return rep


def _evaluate(selectors: SelectorSet, i: int, dev: PreparedDevice, rep: RequestReport) -> bool:
    per_device = dev.slice.selector_results.get(selectors.keys[i])
    cached = per_device[dev.index] if per_device is not None else None
    if cached is not None:
        return cached
    try:
        return selectors.evaluate(i, dev, None)
    except AllocationError as exc:
        rep.cel_errors.append(f"{exc} (device {dev.id})")
        return False


def _capacity_problem(search: Search, rd: RequestData, dev: PreparedDevice) -> str:
    try:
        return search.capacity_problem(rd, dev)
    except AllocationError as exc:
        return str(exc)


_REFERENCE = re.compile(
    r"device\.(attributes|capacity)\[\s*[\"']([^\"']+)[\"']\s*\]\s*"
    r"(?:\.\s*([A-Za-z_][A-Za-z0-9_]*)|\[\s*[\"']([^\"']+)[\"']\s*\])"
)


def _nearest_misses(expression: str, devices: list[PreparedDevice]) -> dict[str, dict[str, int]]:
    """For each attribute/capacity the expression reads: how often each value occurs on ``devices``."""
    out: dict[str, dict[str, int]] = {}
    for kind, domain, ident_attr, ident_key in dict.fromkeys(_REFERENCE.findall(expression)):
        ident = ident_attr or ident_key
        values = out.setdefault(ident, {})
        for dev in devices:
            v = _value(dev, kind, domain, ident)
            values[v] = values.get(v, 0) + 1
    return out


def format_seen(seen: dict[str, dict[str, int]]) -> str:
    """``memory seen: 40Gi x9`` with a multiplication sign (the most common values first)."""
    parts = []
    for name, values in seen.items():
        common = Counter(values).most_common(MAX_SEEN)
        text = ", ".join(f"{v} {TIMES}{n}" for v, n in common)
        more = len(values) - len(common)
        parts.append(f"{name} seen: {text}" + (f" (+{more} more values)" if more > 0 else ""))
    return "; ".join(parts)


def _value(dev: PreparedDevice, kind: str, domain: str, ident: str) -> str:
    if kind == "attributes":
        attr = lookup_attribute(dev, f"{domain}/{ident}")
        if attr is None:
            return "(missing)"
        data = msgspec.to_builtins(attr)
        return ", ".join(str(v) for v in data.values()) if isinstance(data, dict) and data else "(empty)"
    cap = dev.capacity.get(f"{domain}/{ident}") or (
        dev.capacity.get(ident) if domain == dev.id.driver else None
    )
    return cap.value.canonical() if cap is not None else "(missing)"


def _blame_constraints(
    snapshot: Snapshot,
    state: AllocatedState,
    classes: dict[str, DeviceClass],
    node: Node,
    claims: Sequence[ResourceClaim],
) -> list[str]:
    """Constraints without which the claims would fit on ``node`` (each dropped on its own)."""
    blamed = []
    for ci, claim in enumerate(claims):
        devices = claim.spec.devices
        for i, constraint in enumerate((devices.constraints if devices else None) or []):
            assert devices is not None and devices.constraints is not None
            reduced = list(devices.constraints)
            del reduced[i]
            changed = msgspec.structs.replace(
                claim,
                spec=msgspec.structs.replace(
                    claim.spec, devices=msgspec.structs.replace(devices, constraints=reduced)
                ),
            )
            trial = list(claims)
            trial[ci] = changed
            try:
                fits = (
                    Allocator(snapshot.features, state, classes, snapshot.slices).allocate(node, trial)
                    is not None
                )
            except (AllocationError, FailedAllocationOnNode, AllocationAborted):
                fits = False
            if fits:
                what = codec.to_dict(constraint)
                blamed.append(f"claim {claim_display(claim)}, constraint #{i} {what}")
    return blamed


def _summarise(reports: list[NodeReport], total: int) -> list[str]:
    lines: list[str] = []
    fits = [r.node for r in reports if r.fits]
    if not reports:
        return ["no nodes in the snapshot"]
    if fits:
        chosen = reports[[r.node for r in reports].index(fits[0])]
        lines.append(f"fits on {len(fits)} of {total} nodes; the scheduler's first fit here is {fits[0]}:")
        lines.extend(f"  {d}" for d in chosen.devices)
        return lines
    lines.append(f"fits on 0 of {total} nodes")
    verdicts = Counter(r.verdict for r in reports)
    for verdict, n in verdicts.most_common():
        lines.append(f"  {n} node(s): {verdict}")
    # Aggregate each request's funnel over all nodes.
    by_request: dict[tuple[str, str], list[RequestReport]] = {}
    for r in reports:
        for rep in r.requests:
            by_request.setdefault((rep.claim, rep.request), []).append(rep)
    for (claim, request), reps in by_request.items():
        lines.append(f"claim {claim}, request {request} ({reps[0].mode}, class {reps[0].device_class}):")
        lines.append(f"  {sum(x.in_pools for x in reps)} devices in usable pools")
        for i, step in enumerate(reps[0].steps):
            matched = sum(x.steps[i].matched for x in reps if i < len(x.steps))
            of = sum(x.steps[i].of for x in reps if i < len(x.steps))
            line = f"  {step.source} selector #{step.index} `{step.expression}` matched {matched} of {of} devices"
            seen: dict[str, dict[str, int]] = {}
            for x in reps:
                if i < len(x.steps):
                    for name, values in x.steps[i].seen.items():
                        merged = seen.setdefault(name, {})
                        for value, count in values.items():
                            merged[value] = merged.get(value, 0) + count
            if matched == 0 and seen:
                line += "; " + format_seen(seen)
            lines.append(line)
        for label, attr in (
            ("already allocated", "allocated"),
            ("tainted (not tolerated)", "tainted"),
            ("out of counters", "out_of_counters"),
            ("out of capacity", "out_of_capacity"),
            ("available", "available"),
        ):
            n = sum(getattr(x, attr) for x in reps)
            if n or attr == "available":
                lines.append(f"  {n} {label}")
        errors = list(dict.fromkeys(e for x in reps for e in x.cel_errors))
        for e in errors[:MAX_SEEN]:
            lines.append(f"  CEL error: {e}")
    pools = list(dict.fromkeys(p for r in reports for p in r.incomplete_pools))
    if pools:
        lines.append(f"incomplete pools (being updated): {', '.join(pools)}")
    invalid = list(dict.fromkeys(p for r in reports for p in r.invalid_pools))
    if invalid:
        lines.append(f"invalid pools: {'; '.join(invalid)}")
    blamed = list(dict.fromkeys(c for r in reports for c in r.constraints))
    for c in blamed:
        lines.append(f"without {c} the claims would fit")
    return lines


def render(report: Report, per_node: bool = False) -> str:
    """Human-readable text: the summary, and with ``per_node`` each node's funnel."""
    lines = [f"explain {report.target}"]
    if report.fatal:
        lines.append(f"error (the scheduler aborts this pod's attempt): {report.fatal}")
    if report.excluded_nodes:
        lines.append(f"{len(report.excluded_nodes)} node(s) ruled out before DRA is asked:")
        lines.extend(f"  {node}: {reason}" for node, reason in report.excluded_nodes.items())
    lines.extend(report.summary)
    if per_node:
        for node in report.nodes:
            lines.append(f"node {node.node}: {node.verdict}")
            lines.extend(f"  {d}" for d in node.devices)
            for rep in node.requests:
                lines.append(f"  claim {rep.claim}, request {rep.request}: {rep.in_pools} in pools")
                for step in rep.steps:
                    seen = f"; {format_seen(step.seen)}" if step.seen else ""
                    lines.append(
                        f"    {step.source} selector #{step.index}: matched {step.matched} of {step.of}{seen}"
                    )
                lines.append(
                    f"    {rep.allocated} allocated, {rep.tainted} tainted, {rep.out_of_counters} out of counters, "
                    f"{rep.out_of_capacity} out of capacity, {rep.available} available"
                )
    return "\n".join(lines)
