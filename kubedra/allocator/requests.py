"""Checking a pod's claims before the search and turning each (sub)request into search input.

Most checks do not depend on the node, so :func:`prepare_claims` runs once per set of claims and
records, per claim, the request data or the error upstream would raise at that point; only "All"
requests need the node's pools, which :func:`all_devices` handles per ``allocate`` call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from kubedra.allocator.constraints import Constraint, DistinctAttribute, MatchAttribute
from kubedra.allocator.features import Features
from kubedra.allocator.selectors import SelectorCompiler, SelectorSet
from kubedra.api.quantity import Quantity, QuantityError
from kubedra.api.resource import (
    ALLOCATION_MODE_ALL,
    ALLOCATION_MODE_EXACT_COUNT,
    DeviceClass,
    DeviceRequest,
    DeviceSelector,
    DeviceSubRequest,
    DeviceToleration,
    ExactDeviceRequest,
    ResourceClaim,
)

MAX_DEVICES_PER_CLAIM = 32  # resourceapi.AllocationResultsMaxSize

# (CEL environment, class expressions, request expressions) -> small int; one entry per distinct
# selector combination ever seen by this process (a handful in practice). setdefault is atomic
# under the GIL, so schedulers in several threads agree on the numbers.
_SIGNATURES: dict[tuple[object, ...], int] = {}


def claim_display(claim: ResourceClaim) -> str:
    """``namespace/name``, or just ``name`` without a namespace (klog.KObj)."""
    ns, name = claim.metadata.namespace, claim.metadata.name or ""
    return f"{ns}/{name}" if ns else name


@dataclass(eq=False)
class RequestData:
    """One request, or one subrequest of a firstAvailable request, ready for the search."""

    claim_index: int
    request_index: int
    sub_index: int
    name: str  # own name: the request's, or the subrequest's
    base: str  # the request's name
    sub: str  # the subrequest's name, "" for a plain request
    device_class: DeviceClass
    class_selectors: SelectorSet
    selectors: SelectorSet
    all_mode: bool
    count: int
    admin: bool
    tolerations: list[DeviceToleration] | None
    capacity_requests: dict[str, Quantity]

    @property
    def signature(self) -> int:
        """Identifies the combined class + request selectors: the key of their memoised results.

        An interned int rather than the tuple of expressions: it is looked up once per device
        tried, and a nested tuple is hashed again on every lookup."""
        try:
            return self._signature
        except AttributeError:
            full = (
                self.class_selectors.compiler.env_key,
                tuple(self.class_selectors.expressions),
                tuple(self.selectors.expressions),
            )
            self._signature: int = _SIGNATURES.setdefault(full, len(_SIGNATURES))
            return self._signature

    @property
    def full_name(self) -> str:
        return f"{self.base}/{self.sub}" if self.sub else self.base

    @property
    def key(self) -> tuple[int, int, int]:
        return (self.claim_index, self.request_index, self.sub_index)


@dataclass(eq=False)
class RequestEntry:
    """A claim's request: one RequestData, or one per subrequest (``parent`` = firstAvailable)."""

    request: DeviceRequest
    subs: list[RequestData]
    parent: bool


@dataclass(eq=False)
class ClaimPlan:
    """Everything about one claim that does not depend on the node.

    ``entries`` are valid up to ``error_at`` (exclusive); if ``error`` is set, preparing entry
    ``error_at`` (or, with ``error_at == len(entries)``, the claim-level checks) fails with it.
    """

    claim: ResourceClaim
    display: str
    entries: list[RequestEntry] = field(default_factory=list)
    error: str | None = None
    constraint_specs: list[tuple[str, str, list[str] | None]] = field(default_factory=list)

    @property
    def simple(self) -> bool:
        """No error and no "All" request: the claim's checks pass on every node alike."""
        try:
            return self._simple
        except AttributeError:
            self._simple: bool = (
                self.error is None
                and not any(rd.all_mode for e in self.entries for rd in e.subs)
                and all(kind != "empty" for kind, _, _ in self.constraint_specs)
                and sum(min(rd.count for rd in e.subs) for e in self.entries) <= MAX_DEVICES_PER_CLAIM
            )
            return self._simple

    def new_constraints(self, lists: bool) -> list[Constraint]:
        out: list[Constraint] = []
        for kind, attribute, requests in self.constraint_specs:
            cls = MatchAttribute if kind == "match" else DistinctAttribute
            out.append(cls(attribute, requests, lists))
        return out

    def fresh_constraints(self, lists: bool) -> list[Constraint]:
        """The claim's constraints, empty, for one search: built once per plan and reset on each
        call (a plan belongs to one Allocator, which runs one search at a time)."""
        cached: tuple[list[Constraint], bool] | None = getattr(self, "_constraints", None)
        if cached is None or cached[1] != lists:
            built = self.new_constraints(lists)
            self._constraints = (built, lists)
            return built
        for constraint in cached[0]:
            constraint.reset()
        return cached[0]


class _Fatal(Exception):
    pass


def prepare_claims(
    claims: Sequence[ResourceClaim],
    classes: Callable[[str], DeviceClass | None],
    features: Features,
    compiler: SelectorCompiler,
) -> list[ClaimPlan]:
    plans = []
    for ci, claim in enumerate(claims):
        plan = ClaimPlan(claim=claim, display=claim_display(claim))
        plans.append(plan)
        try:
            _prepare_claim(plan, ci, classes, features, compiler)
        except _Fatal as exc:
            plan.error = str(exc)
    return plans


def _prepare_claim(
    plan: ClaimPlan,
    ci: int,
    classes: Callable[[str], DeviceClass | None],
    features: Features,
    compiler: SelectorCompiler,
) -> None:
    c = plan.display
    devices = plan.claim.spec.devices
    for ri, request in enumerate((devices.requests if devices else None) or []):
        subs = request.first_available or []
        if subs and not features.prioritized_list:
            raise _Fatal(
                f"claim {c}, request {request.name}: has subrequests, but the DRAPrioritizedList feature is disabled"
            )
        if not features.consumable_capacity:
            if request.exactly is not None and request.exactly.capacity is not None:
                raise _Fatal(
                    f"claim {c}, request {request.name}: has capacity requests, but the DRAConsumableCapacity feature is disabled"
                )
            for sub in subs:
                if sub.capacity is not None:
                    raise _Fatal(
                        f"claim {c}, subrequest {sub.name}: has capacity requests, but the DRAConsumableCapacity feature is disabled"
                    )
        if subs:
            entry = RequestEntry(request=request, subs=[], parent=True)
            for si, sub in enumerate(subs):
                entry.subs.append(_validate(plan, ci, ri, si, request, sub, classes, features, compiler))
        else:
            entry = RequestEntry(request=request, subs=[], parent=False)
            entry.subs.append(
                _validate(plan, ci, ri, 0, request, request.exactly, classes, features, compiler)
            )
        plan.entries.append(entry)
    for i, constraint in enumerate((devices.constraints if devices else None) or []):
        if constraint.match_attribute is not None:
            plan.constraint_specs.append(("match", constraint.match_attribute, constraint.requests))
        elif constraint.distinct_attribute is not None:
            plan.constraint_specs.append(("distinct", constraint.distinct_attribute, constraint.requests))
        else:
            # Reported after the device-count check, as upstream; stored as a pseudo-spec.
            plan.constraint_specs.append(("empty", str(i), None))


def _validate(
    plan: ClaimPlan,
    ci: int,
    ri: int,
    si: int,
    request: DeviceRequest,
    spec: ExactDeviceRequest | DeviceSubRequest | None,
    classes: Callable[[str], DeviceClass | None],
    features: Features,
    compiler: SelectorCompiler,
) -> RequestData:
    c = plan.display
    is_sub = isinstance(spec, DeviceSubRequest)
    name = spec.name if isinstance(spec, DeviceSubRequest) else request.name
    selectors: list[DeviceSelector] = (spec.selectors if spec is not None else None) or []
    for i, sel in enumerate(selectors):
        if sel.cel is None:
            raise _Fatal(
                f"claim {c}, request {name}, selector #{i}: CEL expression empty (unsupported selector type?)"
            )
    admin_field = spec.admin_access if isinstance(spec, ExactDeviceRequest) else None
    if not features.admin_access and admin_field is not None:
        raise _Fatal(f"claim {c}, request {name}: admin access is requested, but the feature is disabled")
    class_name = spec.device_class_name if spec is not None else ""
    if not class_name:
        raise _Fatal(f"claim {c}, request {name}: missing device class name (unsupported request type?)")
    device_class = classes(class_name)
    if device_class is None:
        raise _Fatal(
            f"claim {c}, request {name}: could not retrieve device class {class_name}: "
            f'deviceclass.resource.k8s.io "{class_name}" not found'
        )
    assert spec is not None
    mode = spec.allocation_mode or ""
    if mode not in (ALLOCATION_MODE_EXACT_COUNT, ALLOCATION_MODE_ALL):
        raise _Fatal(f"claim {c}, request {name}: unsupported count mode {mode}")
    capacity_requests: dict[str, Quantity] = {}
    if spec.capacity is not None:
        for cap_name, text in (spec.capacity.requests or {}).items():
            try:
                capacity_requests[cap_name] = Quantity.parse(text)
            except QuantityError as exc:
                raise _Fatal(
                    f"claim {c}, request {name}: capacity.requests[{cap_name}]: {text!r}: {exc}"
                ) from None
    class_exprs = [s.cel.expression for s in device_class.spec.selectors or [] if s.cel is not None]
    return RequestData(
        claim_index=ci,
        request_index=ri,
        sub_index=si,
        name=name,
        base=request.name,
        sub=name if is_sub else "",
        device_class=device_class,
        class_selectors=SelectorSet(f"class {device_class.metadata.name}", class_exprs, compiler),
        selectors=SelectorSet(
            f"claim {c}", [s.cel.expression for s in selectors if s.cel is not None], compiler
        ),
        all_mode=mode == ALLOCATION_MODE_ALL,
        count=spec.count or 0 if mode == ALLOCATION_MODE_EXACT_COUNT else 0,
        admin=bool(admin_field),
        tolerations=spec.tolerations,
        capacity_requests=capacity_requests,
    )
