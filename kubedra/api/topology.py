"""Node roles by name, as kind lays out a cluster.

The tutorial's cluster is kind's: ``kind-control-plane`` carries the control-plane role label and
a ``NoSchedule`` taint, so DaemonSets without a toleration (the example driver's) and ordinary pods
land on ``kind-worker`` only. kubedra follows the same convention for any node whose name ends in
``control-plane``, in every component that registers Nodes (``kubedra up --nodes`` and kubelets),
so a Node is never visible untainted.
"""

from __future__ import annotations

from typing import Any

CONTROL_PLANE_ROLE_LABEL = "node-role.kubernetes.io/control-plane"


def is_control_plane(node_name: str) -> bool:
    return node_name.endswith("control-plane")


def node_role_labels(node_name: str) -> dict[str, str]:
    return {CONTROL_PLANE_ROLE_LABEL: ""} if is_control_plane(node_name) else {}


def node_role_taints(node_name: str) -> list[dict[str, Any]]:
    if not is_control_plane(node_name):
        return []
    return [{"key": CONTROL_PLANE_ROLE_LABEL, "effect": "NoSchedule"}]
