"""Does a ResourceSlice (or one of its devices) apply to a node?

Hand-written because node-affinity matching lives in Go's component-helpers; the rules are small:
terms are ORed, requirements within a term ANDed, an empty term matches nothing, and ``matchFields``
knows only ``metadata.name``. A malformed selector is an error (fatal for the allocation).
"""

from __future__ import annotations

from kubedra.api.core import Node, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm


class NodeSelectorError(ValueError):
    """A node selector that cannot be evaluated (unknown operator, wrong number of values...)."""


def node_matches(node: Node, node_name: str, all_nodes: bool, selector: NodeSelector | None) -> bool:
    """upstream NodeMatches: name, then allNodes, then selector; none set -> no match."""
    if node_name:
        return node.metadata.name == node_name
    if all_nodes:
        return True
    if selector is not None:
        return selector_matches(node, selector)
    return False


def selector_matches(node: Node, selector: NodeSelector) -> bool:
    labels = node.metadata.labels or {}
    name = node.metadata.name or ""
    matched = False
    for i, term in enumerate(selector.node_selector_terms or []):
        # Every term is validated even after a match: a malformed selector is an error either way.
        if _term_matches(term, labels, name, i) and not matched:
            matched = True
    return matched


def _term_matches(term: NodeSelectorTerm, labels: dict[str, str], name: str, index: int) -> bool:
    exprs = term.match_expressions or []
    fields_ = term.match_fields or []
    if not exprs and not fields_:
        return False
    ok = True
    for j, req in enumerate(exprs):
        if not _label_requirement(req, labels, f"nodeSelectorTerms[{index}].matchExpressions[{j}]"):
            ok = False
    for j, req in enumerate(fields_):
        if not _field_requirement(req, name, f"nodeSelectorTerms[{index}].matchFields[{j}]"):
            ok = False
    return ok


def _label_requirement(req: NodeSelectorRequirement, labels: dict[str, str], path: str) -> bool:
    op = req.operator
    values = req.values or []
    if not req.key:
        raise NodeSelectorError(f"{path}.key: Required value")
    present = req.key in labels
    value = labels.get(req.key, "")
    if op in ("In", "NotIn"):
        if not values:
            raise NodeSelectorError(
                f"{path}.values: Required value: must be specified when `operator` is '{op}'"
            )
        found = present and value in values
        return found if op == "In" else not found
    if op in ("Exists", "DoesNotExist"):
        if values:
            raise NodeSelectorError(
                f"{path}.values: Forbidden: may not be specified when `operator` is '{op}'"
            )
        return present if op == "Exists" else not present
    if op in ("Gt", "Lt"):
        if len(values) != 1:
            raise NodeSelectorError(
                f"{path}.values: Required value: must be specified single value when `operator` is '{op}'"
            )
        try:
            bound = int(values[0])
        except ValueError:
            raise NodeSelectorError(
                f"{path}.values[0]: Invalid value: {values[0]!r}: must be an integer"
            ) from None
        if not present:
            return False
        try:
            actual = int(value)
        except ValueError:
            return False
        return actual > bound if op == "Gt" else actual < bound
    raise NodeSelectorError(f"{path}.operator: Invalid value: {op!r}: not a valid selector operator")


def _field_requirement(req: NodeSelectorRequirement, name: str, path: str) -> bool:
    if req.key != "metadata.name":
        raise NodeSelectorError(f"{path}.key: Invalid value: {req.key!r}: not a valid field selector key")
    values = req.values or []
    if req.operator not in ("In", "NotIn"):
        raise NodeSelectorError(
            f"{path}.operator: Invalid value: {req.operator!r}: not a valid selector operator"
        )
    if len(values) != 1:
        raise NodeSelectorError(
            f"{path}.values: Required value: must be only one value when `operator` is '{req.operator}' for node field selector"
        )
    return (name == values[0]) == (req.operator == "In")
