"""The non-DRA node filters of kube-scheduler that kubedra needs: name, selector, affinity, taints.

Each filter returns ``None`` when the node fits or the reason string kube-scheduler puts in its
``0/N nodes are available: ...`` message, so that users see the texts they already search for.
Pure functions over the typed models; no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable

from kubedra.api.codec import DecodeError, decode
from kubedra.api.core import (
    Node,
    NodeSelector,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    Pod,
    Taint,
    Toleration,
)

REASON_NODE_NAME = "node(s) didn't match the requested node name"
REASON_AFFINITY = "node(s) didn't match Pod's node affinity/selector"
REASON_UNSCHEDULABLE = "node(s) were unschedulable"
UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"

# Effects that keep a pod off a node at scheduling time (PreferNoSchedule only scores).
_FILTER_EFFECTS = ("NoSchedule", "NoExecute")


class AffinityError(ValueError):
    """The pod's node affinity cannot be evaluated (bad operator, non-integer Gt/Lt value)."""


def node_labels(node: Node) -> dict[str, str]:
    return node.metadata.labels or {}


def _requirement_matches(req: NodeSelectorRequirement, value: str | None, path: str) -> bool:
    values = req.values or []
    op = req.operator
    if op == "In":
        return value is not None and value in values
    if op == "NotIn":
        return value is None or value not in values
    if op == "Exists":
        return value is not None
    if op == "DoesNotExist":
        return value is None
    if op in ("Gt", "Lt"):
        if value is None:
            return False
        if len(values) != 1:
            raise AffinityError(f"{path}.values: Required value: must be specified single value when `operator` is '{op}'")
        try:
            wanted = int(values[0])
            have = int(value)
        except ValueError:
            return False
        return have > wanted if op == "Gt" else have < wanted
    raise AffinityError(f"{path}.operator: Unsupported value: {op!r}")


def term_matches(term: NodeSelectorTerm, node: Node, path: str = "nodeSelectorTerms[0]") -> bool:
    """All requirements of one term hold; a term without requirements matches no node."""
    exprs = term.match_expressions or []
    fields = term.match_fields or []
    if not exprs and not fields:
        return False
    labels = node_labels(node)
    for i, req in enumerate(exprs):
        if not _requirement_matches(req, labels.get(req.key), f"{path}.matchExpressions[{i}]"):
            return False
    for i, req in enumerate(fields):
        if req.key != "metadata.name":
            return False
        if not _requirement_matches(req, node.metadata.name, f"{path}.matchFields[{i}]"):
            return False
    return True


def node_selector_matches(selector: NodeSelector | None, node: Node) -> bool:
    """Terms are ORed; ``None`` (no selector) matches every node."""
    if selector is None:
        return True
    return any(
        term_matches(term, node, f"nodeSelectorTerms[{i}]")
        for i, term in enumerate(selector.node_selector_terms or [])
    )


def required_node_affinity(pod: Pod) -> NodeSelector | None:
    """``spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution`` as a typed selector."""
    affinity = pod.spec.affinity if pod.spec else None
    if not affinity:
        return None
    required = (affinity.get("nodeAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution")
    if required is None:
        return None
    try:
        return decode(NodeSelector, required)
    except DecodeError as exc:
        raise AffinityError(
            f"spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.{exc.path}: {exc.message}"
        ) from None


def check_node_name(pod: Pod, node: Node) -> str | None:
    wanted = pod.spec.node_name if pod.spec else None
    if wanted and wanted != node.metadata.name:
        return REASON_NODE_NAME
    return None


def check_affinity(pod: Pod, node: Node, required: NodeSelector | None) -> str | None:
    """``spec.nodeSelector`` (all labels equal) AND the required node affinity."""
    selector = pod.spec.node_selector if pod.spec else None
    if selector:
        labels = node_labels(node)
        if any(labels.get(k) != v for k, v in selector.items()):
            return REASON_AFFINITY
    if required is not None and not node_selector_matches(required, node):
        return REASON_AFFINITY
    return None


def tolerates(toleration: Toleration, taint: Taint) -> bool:
    if toleration.effect and toleration.effect != taint.effect:
        return False
    operator = toleration.operator or "Equal"
    if operator == "Exists":
        return not toleration.key or toleration.key == taint.key
    if operator == "Equal":
        return toleration.key == taint.key and (toleration.value or "") == (taint.value or "")
    return False


def first_untolerated(taints: Iterable[Taint], tolerations: list[Toleration]) -> Taint | None:
    for taint in taints:
        if taint.effect not in _FILTER_EFFECTS:
            continue
        if not any(tolerates(t, taint) for t in tolerations):
            return taint
    return None


def check_taints(pod: Pod, node: Node) -> str | None:
    taints = node.spec.taints if node.spec else None
    if not taints:
        return None
    tolerations = (pod.spec.tolerations if pod.spec else None) or []
    taint = first_untolerated(taints, tolerations)
    if taint is None:
        return None
    return f"node(s) had untolerated taint {{{taint.key}: {taint.value or ''}}}"


def check_unschedulable(pod: Pod, node: Node) -> str | None:
    if not (node.spec and node.spec.unschedulable):
        return None
    tolerations = (pod.spec.tolerations if pod.spec else None) or []
    taint = Taint(key=UNSCHEDULABLE_TAINT, effect="NoSchedule")
    if any(tolerates(t, taint) for t in tolerations):
        return None
    return REASON_UNSCHEDULABLE


def check_node(pod: Pod, node: Node, required: NodeSelector | None) -> str | None:
    """All non-DRA filters in kube-scheduler's order; the first failing one names the reason."""
    return (
        check_unschedulable(pod, node)
        or check_node_name(pod, node)
        or check_taints(pod, node)
        or check_affinity(pod, node, required)
    )


def fit_error_message(num_nodes: int, reasons: dict[str, int], prefilter: str | None = None) -> str:
    """``0/N nodes are available: <count> <reason>, ...`` with reasons sorted like kube-scheduler."""
    message = f"0/{num_nodes} nodes are available:"
    if prefilter:
        return f"{message} {prefilter}."
    parts = sorted(f"{count} {reason}" for reason, count in reasons.items())
    if parts:
        message += f" {', '.join(parts)}."
    return message
