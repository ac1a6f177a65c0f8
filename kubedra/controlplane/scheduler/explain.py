"""The kubedra explain summary appended to FailedScheduling events (upstream only says
``cannot allocate all claims``; users then dump slices and evaluate CEL by hand).

Thin glue: builds :class:`kubedra.allocator.explain.Snapshot` from the scheduler cache and turns
the report's summary for the first claim that could not be allocated into one event-sized line.
"""

from __future__ import annotations

import logging

from kubedra.allocator import Features
from kubedra.allocator.explain import Snapshot, explain
from kubedra.api.core import Node
from kubedra.api.resource import ResourceClaim
from kubedra.controlplane.scheduler.cache import SchedulerCache

log = logging.getLogger(__name__)

# Event messages are shown whole by kubectl describe; keep them readable.
MAX_SUMMARY = 900


def explain_failure(claim: ResourceClaim, cache: SchedulerCache, nodes: list[Node], features: Features) -> str:
    snapshot = Snapshot(
        classes=list(cache.classes.values()),
        slices=cache.slice_list(),
        claims=cache.claims(),
        nodes=nodes,
        features=features,
    )
    try:
        report = explain(snapshot, [claim])
    except Exception as exc:  # an explanation must never break scheduling
        log.warning("explain for claim %s failed: %s", claim.metadata.name, exc)
        return ""
    lines = [line.strip() for line in report.summary if line.strip()]
    if report.fatal:
        lines.insert(0, f"error: {report.fatal}")
    text = "kubedra explain:"
    for i, line in enumerate(lines):
        text += (" " if i == 0 or lines[i - 1].endswith(":") else "; ") + line
    if len(text) > MAX_SUMMARY:
        text = text[: MAX_SUMMARY - 3] + "..."
    return text
