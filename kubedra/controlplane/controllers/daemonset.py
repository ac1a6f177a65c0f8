"""The DaemonSet controller: one pod per eligible node, rolled when the template changes.

A node is eligible when it matches the template's nodeSelector / required node affinity and every
NoSchedule/NoExecute taint is tolerated (with the tolerations DaemonSet pods always get, so a
driver keeps running on not-ready or unschedulable nodes). Each pod is pinned with a
``matchFields metadata.name`` node affinity and left to the scheduler, as upstream does since
1.12, so DRA claims of daemon pods are allocated by the same code as every other pod.

RollingUpdate replaces outdated pods ``maxUnavailable`` (default 1) at a time; OnDelete leaves
them until someone deletes them. Status carries the counts ``kubectl get daemonset`` prints.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import logging
import threading
from collections import defaultdict
from typing import Any

from kubedra.api.codec import DecodeError, decode
from kubedra.api.core import Node, NodeSelector, Taint, Toleration
from kubedra.controlplane.client import Client, Conflict, NotFound
from kubedra.controlplane.controllers.base import Controller, split_key
from kubedra.controlplane.controllers.resourceclaim import obj_key
from kubedra.controlplane.scheduler.nodefit import AffinityError, first_untolerated, node_selector_matches

log = logging.getLogger(__name__)

REVISION_HASH_LABEL = "controller-revision-hash"
TEMPLATE_GENERATION_LABEL = "pod-template-generation"

# Tolerations every DaemonSet pod gets (upstream's util.AddOrUpdateDaemonPodTolerations).
DAEMON_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
]


def template_hash(template: dict[str, Any]) -> str:
    """A short stable hash of the pod template (the ``controller-revision-hash`` label)."""
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()
    return digest[:10]


def _pod_ready(pod: dict[str, Any]) -> bool:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


def _owned_by(obj: dict[str, Any], uid: str) -> bool:
    return any(r.get("uid") == uid and r.get("controller") for r in (obj.get("metadata") or {}).get("ownerReferences") or [])


def _pinned_node(pod: dict[str, Any]) -> str:
    """The node a daemon pod belongs to: spec.nodeName, else its matchFields pin."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return str(spec["nodeName"])
    terms = (
        ((spec.get("affinity") or {}).get("nodeAffinity") or {})
        .get("requiredDuringSchedulingIgnoredDuringExecution", {})
        .get("nodeSelectorTerms")
        or []
    )
    for term in terms:
        for req in term.get("matchFields") or []:
            if req.get("key") == "metadata.name" and req.get("operator") == "In" and req.get("values"):
                return str(req["values"][0])
    return ""


def node_should_run(template: dict[str, Any], node: Node) -> bool:
    spec = template.get("spec") or {}
    labels = node.metadata.labels or {}
    for k, v in (spec.get("nodeSelector") or {}).items():
        if labels.get(k) != v:
            return False
    required = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    )
    if required is not None:
        try:
            if not node_selector_matches(decode(NodeSelector, required), node):
                return False
        except (DecodeError, AffinityError):
            return False
    taints = node.spec.taints if node.spec else None
    if taints:
        tolerations = [decode(Toleration, t) for t in [*(spec.get("tolerations") or []), *DAEMON_TOLERATIONS]]
        if first_untolerated([t for t in taints if isinstance(t, Taint)], tolerations) is not None:
            return False
    return True


def pin_to_node(template_spec: dict[str, Any], node: str) -> dict[str, Any]:
    """Replace the required node affinity's terms with one ``metadata.name In [node]`` term."""
    spec = copy.deepcopy(template_spec)
    affinity = spec.setdefault("affinity", {})
    node_affinity = affinity.setdefault("nodeAffinity", {})
    node_affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {
        "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]
    }
    tolerations = list(spec.get("tolerations") or [])
    for t in DAEMON_TOLERATIONS:
        if t not in tolerations:
            tolerations.append(t)
    spec["tolerations"] = tolerations
    return spec


class DaemonSetController(Controller):
    name = "daemonset-controller"

    def __init__(self, client: Client, workers: int = 1) -> None:
        super().__init__(workers=workers)
        self.client = client
        self._lock = threading.Lock()
        self._sets: dict[str, dict[str, Any]] = {}
        self._nodes: dict[str, Node] = {}
        self._pods: dict[str, dict[str, Any]] = {}
        self._pods_by_owner: dict[str, set[str]] = defaultdict(set)

    def on_daemonset(self, obj: dict[str, Any], deleted: bool = False) -> None:
        key = obj_key(obj)
        with self._lock:
            if deleted:
                self._sets.pop(key, None)
            else:
                self._sets[key] = obj
        self.queue.add(key)

    def on_node(self, obj: dict[str, Any], deleted: bool = False) -> None:
        try:
            node = decode(Node, obj)
        except DecodeError:
            return
        with self._lock:
            if deleted:
                self._nodes.pop(node.metadata.name or "", None)
            else:
                self._nodes[node.metadata.name or ""] = node
            keys = list(self._sets)
        for k in keys:
            self.queue.add(k)

    def on_pod(self, obj: dict[str, Any], deleted: bool = False) -> None:
        key = obj_key(obj)
        owners = [
            r.get("uid") for r in (obj.get("metadata") or {}).get("ownerReferences") or []
            if r.get("kind") == "DaemonSet" and r.get("controller")
        ]
        if not owners:
            return
        with self._lock:
            if deleted:
                self._pods.pop(key, None)
                for uid in owners:
                    self._pods_by_owner[str(uid)].discard(key)
            else:
                self._pods[key] = obj
                for uid in owners:
                    self._pods_by_owner[str(uid)].add(key)
            ns = key.split("/", 1)[0]
            refs = [r for r in (obj.get("metadata") or {}).get("ownerReferences") or [] if r.get("kind") == "DaemonSet"]
            names = [f"{ns}/{r.get('name')}" for r in refs]
        for n in names:
            self.queue.add(n)

    def sync(self, key: str) -> None:
        with self._lock:
            ds = self._sets.get(key)
            if ds is None:
                return
            uid = str(ds["metadata"].get("uid", ""))
            pods = [self._pods[k] for k in self._pods_by_owner.get(uid, ()) if k in self._pods]
            nodes = list(self._nodes.values())
        ns, name = split_key(key)
        if ds["metadata"].get("deletionTimestamp"):
            return
        spec = ds.get("spec") or {}
        template = spec.get("template") or {}
        revision = template_hash(template)
        generation = str(ds["metadata"].get("generation", 1))
        by_node: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for pod in pods:
            if pod["metadata"].get("deletionTimestamp") or not _owned_by(pod, uid):
                continue
            by_node[_pinned_node(pod)].append(pod)
        wanted = {n.metadata.name or "" for n in nodes if node_should_run(template, n)}
        # Create missing pods.
        for node in sorted(wanted):
            if not by_node.get(node):
                self._create_pod(ds, ns, name, uid, template, node, revision, generation)
        # Delete pods on nodes that should not run one, duplicates and failed pods.
        for node, node_pods in by_node.items():
            extra = node_pods if node not in wanted else node_pods[1:]
            for pod in extra:
                self._delete(pod)
            for pod in node_pods[:1]:
                if (pod.get("status") or {}).get("phase") == "Failed" and node in wanted:
                    self._delete(pod)
        # Rolling update.
        strategy = spec.get("updateStrategy") or {}
        if strategy.get("type", "RollingUpdate") == "RollingUpdate":
            max_unavailable = _max_unavailable(strategy, len(wanted))
            current = [ps[0] for n, ps in by_node.items() if n in wanted and ps]
            outdated = [p for p in current if (p["metadata"].get("labels") or {}).get(REVISION_HASH_LABEL) != revision]
            unavailable = sum(1 for p in current if not _pod_ready(p)) + (len(wanted) - len(current))
            budget = max_unavailable - unavailable
            # Outdated pods that are not ready anyway can go at once; ready ones within the budget.
            for pod in outdated:
                if not _pod_ready(pod):
                    self._delete(pod)
                elif budget > 0:
                    budget -= 1
                    self._delete(pod)
        self._update_status(ds, ns, name, pods, wanted, revision)

    def _create_pod(
        self, ds: dict[str, Any], ns: str, name: str, uid: str, template: dict[str, Any], node: str,
        revision: str, generation: str,
    ) -> None:
        meta = copy.deepcopy(template.get("metadata") or {})
        labels = dict(meta.get("labels") or {})
        labels[REVISION_HASH_LABEL] = revision
        labels[TEMPLATE_GENERATION_LABEL] = generation
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                **{k: v for k, v in meta.items() if k in ("annotations",)},
                "generateName": f"{name}-",
                "namespace": ns,
                "labels": labels,
                "ownerReferences": [
                    {
                        "apiVersion": "apps/v1",
                        "kind": "DaemonSet",
                        "name": name,
                        "uid": uid,
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                ],
            },
            "spec": pin_to_node(template.get("spec") or {}, node),
        }
        created = self.client.create("pods", pod, namespace=ns)
        self.on_pod(created)

    def _delete(self, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        with contextlib.suppress(NotFound):
            self.client.delete("pods", meta["name"], namespace=meta.get("namespace"))

    def _update_status(
        self, ds: dict[str, Any], ns: str, name: str, pods: list[dict[str, Any]], wanted: set[str], revision: str
    ) -> None:
        live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
        scheduled = [p for p in live if (p.get("spec") or {}).get("nodeName")]
        on_wanted = [p for p in scheduled if _pinned_node(p) in wanted]
        ready = [p for p in on_wanted if _pod_ready(p)]
        updated = [p for p in on_wanted if (p["metadata"].get("labels") or {}).get(REVISION_HASH_LABEL) == revision]
        status = {
            "currentNumberScheduled": len({_pinned_node(p) for p in on_wanted}),
            "numberMisscheduled": len([p for p in scheduled if _pinned_node(p) not in wanted]),
            "desiredNumberScheduled": len(wanted),
            "numberReady": len(ready),
            "observedGeneration": ds["metadata"].get("generation", 1),
            "updatedNumberScheduled": len(updated),
            "numberAvailable": len(ready),
            # null removes the field in a merge patch: upstream omits a zero count.
            "numberUnavailable": max(0, len(wanted) - len(ready)) or None,
        }
        old = ds.get("status") or {}
        if all(old.get(k) == v for k, v in status.items()):
            return
        try:
            self.client.patch("daemonsets", name, {"status": status}, namespace=ns, subresource="status",
                              patch_type="merge")
        except (NotFound, Conflict):
            return


def _max_unavailable(strategy: dict[str, Any], desired: int) -> int:
    value = (strategy.get("rollingUpdate") or {}).get("maxUnavailable", 1)
    if isinstance(value, str) and value.endswith("%"):
        try:
            return max(1, desired * int(value[:-1]) // 100)
        except ValueError:
            return 1
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return 1
