"""Turning the devices picked for a claim into a v1 AllocationResult (results, config, nodeSelector)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import msgspec

from kubedra.allocator.devices import PreparedDevice
from kubedra.allocator.errors import AllocationError
from kubedra.allocator.pools import Pool
from kubedra.allocator.requests import RequestData, RequestEntry
from kubedra.api.core import NodeSelector, NodeSelectorRequirement, NodeSelectorTerm
from kubedra.api.quantity import Quantity
from kubedra.api.resource import (
    AllocationResult,
    DeviceAllocationConfiguration,
    DeviceAllocationResult,
    DeviceRequestAllocationResult,
    OpaqueDeviceConfiguration,
    ResourceClaim,
)


@dataclass(slots=True, eq=False)
class Pick:
    """One device chosen for one (sub)request slot."""

    request: RequestData
    device: PreparedDevice
    pool: Pool
    share_id: str | None = None
    consumed: dict[str, Quantity] | None = None


def _copy(values: list[str] | None) -> list[str] | None:
    return list(values) if values is not None else None


def device_result(pick: Pick, binding: bool) -> DeviceRequestAllocationResult:
    rd, dev = pick.request, pick.device
    tolerations = [msgspec.structs.replace(t) for t in rd.tolerations] if rd.tolerations else None
    result = DeviceRequestAllocationResult(
        request=rd.full_name,
        driver=dev.id.driver,
        pool=dev.id.pool,
        device=dev.name,
        admin_access=True if rd.admin else None,
        tolerations=tolerations,
        share_id=pick.share_id,
        consumed_capacity={k: v.canonical() for k, v in pick.consumed.items()} if pick.consumed else None,  # type: ignore[misc]
    )
    if binding:
        result.binding_conditions = _copy(dev.binding_conditions)
        result.binding_failure_conditions = _copy(dev.binding_failure_conditions)
    return result


def build_allocation(
    claim: ResourceClaim,
    entries: Sequence[RequestEntry],
    selected: Sequence[int],
    picks: Sequence[Pick],
    node_name: str,
    binding: bool,
) -> AllocationResult:
    results = [device_result(p, binding) for p in picks]
    config = _configs(claim, entries, selected)
    try:
        node_selector = _node_selector(picks, node_name)
    except ValueError as exc:
        raise AllocationError(f"create NodeSelector for claim {claim.metadata.name}: {exc}") from None
    return AllocationResult(
        devices=DeviceAllocationResult(results=results, config=config or None),
        node_selector=node_selector,
    )


def _configs(
    claim: ResourceClaim, entries: Sequence[RequestEntry], selected: Sequence[int]
) -> list[DeviceAllocationConfiguration]:
    out: list[DeviceAllocationConfiguration] = []
    by_class: dict[str, tuple[int, int]] = {}
    chosen: list[RequestData] = [e.subs[selected[i]] for i, e in enumerate(entries)]
    for rd in chosen:
        cls = rd.device_class
        cls_name = cls.metadata.name or ""
        span = by_class.get(cls_name)
        if span is not None:
            for i in range(*span):
                reqs = out[i].requests
                assert reqs is not None
                reqs.append(rd.full_name)
            continue
        start = len(out)
        for class_cfg in cls.spec.config or []:
            out.append(
                DeviceAllocationConfiguration(
                    source="FromClass", requests=[rd.full_name], opaque=_opaque(class_cfg.opaque)
                )
            )
        by_class[cls_name] = (start, len(out))
    devices = claim.spec.devices
    for cfg in (devices.config if devices else None) or []:
        opaque = cfg.opaque
        if not cfg.requests:
            out.append(
                DeviceAllocationConfiguration(
                    source="FromClaim", requests=_copy(cfg.requests), opaque=_opaque(opaque)
                )
            )
            continue
        # Once per config however many of its requests were picked: v0.36.2 appended it once per
        # matching request (a driver then saw the same config twice); fixed upstream after 1.36
        # (case with-claim-config-for-two-requests). Configs naming only unselected subrequests drop.
        for entry, rd in zip(entries, chosen, strict=True):
            if entry.request.name in cfg.requests or (entry.parent and rd.full_name in cfg.requests):
                out.append(
                    DeviceAllocationConfiguration(
                        source="FromClaim", requests=list(cfg.requests), opaque=_opaque(opaque)
                    )
                )
                break
    return out


def _opaque(opaque: OpaqueDeviceConfiguration | None) -> OpaqueDeviceConfiguration | None:
    return msgspec.structs.replace(opaque) if opaque is not None else None


def _node_selector(picks: Sequence[Pick], node_name: str) -> NodeSelector | None:
    fields: list[NodeSelectorRequirement] = []
    exprs: list[NodeSelectorRequirement] = []
    for pick in picks:
        dev, s = pick.device, pick.device.slice
        if s.per_device_node_selection:
            name, selector = dev.node_name, dev.node_selector
        else:
            name, selector = s.node_name, s.node_selector
        if name or dev.binds_to_node:
            return NodeSelector(
                node_selector_terms=[
                    NodeSelectorTerm(
                        match_fields=[
                            NodeSelectorRequirement(key="metadata.name", operator="In", values=[node_name])
                        ]
                    )
                ]
            )
        if selector is None:
            continue
        terms = selector.node_selector_terms or []
        if len(terms) > 1:
            raise ValueError(f"unsupported ResourceSlice.NodeSelector with {len(terms)} terms")
        if terms:
            _merge(terms[0].match_fields or [], fields)
            _merge(terms[0].match_expressions or [], exprs)
    if not fields and not exprs:
        return None
    return NodeSelector(
        node_selector_terms=[NodeSelectorTerm(match_expressions=exprs or None, match_fields=fields or None)]
    )


def _merge(source: list[NodeSelectorRequirement], target: list[NodeSelectorRequirement]) -> None:
    for req in source:
        values = set(req.values or [])
        if any(
            t.key == req.key and t.operator == req.operator and set(t.values or []) == values for t in target
        ):
            continue
        target.append(msgspec.structs.replace(req, values=_copy(req.values)))
