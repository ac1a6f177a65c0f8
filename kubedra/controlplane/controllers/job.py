"""The Job controller (batch/v1): run pods until ``completions`` succeeded, at most ``parallelism``
at a time, give up after ``backoffLimit`` failures.

Each pod is created from the template as is, so a template with ``resourceClaimTemplateName``
gives every pod its own claim (the ResourceClaim controller creates it, and deletes it when the
pod finishes). Indexed jobs get ``batch.kubernetes.io/job-completion-index``. Finished counts
never go down when finished pods are deleted (kept in status), standing in for upstream's
pod-tracking finalizers.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import logging
import threading
from collections import defaultdict
from typing import Any

from kubedra.controlplane.client import Client, Conflict, NotFound
from kubedra.controlplane.controllers.base import Controller, split_key
from kubedra.controlplane.controllers.resourceclaim import obj_key

log = logging.getLogger(__name__)

JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
CONTROLLER_UID_LABEL = "batch.kubernetes.io/controller-uid"
LEGACY_JOB_NAME_LABEL = "job-name"
LEGACY_CONTROLLER_UID_LABEL = "controller-uid"
COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"
DEFAULT_BACKOFF_LIMIT = 6


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _phase(pod: dict[str, Any]) -> str:
    return str((pod.get("status") or {}).get("phase") or "Pending")


def _has_condition(status: dict[str, Any], ctype: str) -> bool:
    return any(c.get("type") == ctype and c.get("status") == "True" for c in status.get("conditions") or [])


def _ready(pod: dict[str, Any]) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in (pod.get("status") or {}).get("conditions") or []
    )


class JobController(Controller):
    name = "job-controller"

    def __init__(self, client: Client, workers: int = 1) -> None:
        super().__init__(workers=workers)
        self.client = client
        self._lock = threading.Lock()
        self._jobs: dict[str, dict[str, Any]] = {}
        self._pods: dict[str, dict[str, Any]] = {}
        self._pods_by_owner: dict[str, set[str]] = defaultdict(set)

    def on_job(self, obj: dict[str, Any], deleted: bool = False) -> None:
        key = obj_key(obj)
        with self._lock:
            if deleted:
                self._jobs.pop(key, None)
            else:
                self._jobs[key] = obj
        self.queue.add(key)

    def on_pod(self, obj: dict[str, Any], deleted: bool = False) -> None:
        key = obj_key(obj)
        refs = [
            r for r in (obj.get("metadata") or {}).get("ownerReferences") or []
            if r.get("kind") == "Job" and r.get("controller")
        ]
        if not refs:
            return
        with self._lock:
            for r in refs:
                if deleted:
                    self._pods_by_owner[str(r.get("uid"))].discard(key)
                else:
                    self._pods_by_owner[str(r.get("uid"))].add(key)
            if deleted:
                self._pods.pop(key, None)
            else:
                self._pods[key] = obj
        ns = key.split("/", 1)[0]
        for r in refs:
            self.queue.add(f"{ns}/{r.get('name')}")

    def sync(self, key: str) -> None:
        with self._lock:
            job = self._jobs.get(key)
            if job is None:
                return
            uid = str(job["metadata"].get("uid", ""))
            pods = [self._pods[k] for k in self._pods_by_owner.get(uid, ()) if k in self._pods]
        ns, name = split_key(key)
        spec = job.get("spec") or {}
        old = job.get("status") or {}
        if job["metadata"].get("deletionTimestamp"):
            return
        if _has_condition(old, "Complete") or _has_condition(old, "Failed"):
            return
        parallelism = int(spec.get("parallelism", 1))
        completions = spec.get("completions")
        if completions is None and "parallelism" not in spec:
            completions = 1
        backoff_limit = int(spec.get("backoffLimit", DEFAULT_BACKOFF_LIMIT))
        indexed = spec.get("completionMode") == "Indexed"

        live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
        active = [p for p in live if _phase(p) not in ("Succeeded", "Failed")]
        succeeded_pods = [p for p in pods if _phase(p) == "Succeeded"]
        succeeded = max(int(old.get("succeeded") or 0), len(succeeded_pods))
        failed = max(int(old.get("failed") or 0), len([p for p in pods if _phase(p) == "Failed"]))
        status: dict[str, Any] = {"startTime": old.get("startTime") or _now()}
        conditions = list(old.get("conditions") or [])

        if failed > backoff_limit:
            for pod in active:
                self._delete(pod)
            now = _now()
            conditions += [
                {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded",
                 "message": "Job has reached the specified backoff limit", "lastProbeTime": now, "lastTransitionTime": now},
                {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                 "message": "Job has reached the specified backoff limit", "lastProbeTime": now, "lastTransitionTime": now},
            ]
            status.update(active=None, ready=0, conditions=conditions)
        elif (completions is not None and succeeded >= int(completions)) or (
            completions is None and succeeded > 0 and not active
        ):
            now = _now()
            conditions += [
                {"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached",
                 "message": "Reached expected number of succeeded pods", "lastProbeTime": now, "lastTransitionTime": now},
                {"type": "Complete", "status": "True", "reason": "CompletionsReached",
                 "message": "Reached expected number of succeeded pods", "lastProbeTime": now, "lastTransitionTime": now},
            ]
            status.update(active=None, ready=0, conditions=conditions, completionTime=now)
        elif not spec.get("suspend"):
            if completions is None:
                want = parallelism if succeeded == 0 else 0
            else:
                want = min(parallelism, int(completions) - succeeded)
            missing = want - len(active)
            if indexed:
                done = {(p["metadata"].get("annotations") or {}).get(COMPLETION_INDEX) for p in succeeded_pods}
                busy = {(p["metadata"].get("annotations") or {}).get(COMPLETION_INDEX) for p in active}
                free = [i for i in range(int(completions or 0)) if str(i) not in done and str(i) not in busy]
                for index in free[: max(0, missing)]:
                    active.append(self._create_pod(job, ns, name, uid, index))
            else:
                for _ in range(max(0, missing)):
                    active.append(self._create_pod(job, ns, name, uid, None))
            status.update(active=len(active) or None, ready=sum(1 for p in active if _ready(p)))
        status.update(succeeded=succeeded or None, failed=failed or None)
        if indexed:
            idx = sorted(
                int(i) for i in {(p["metadata"].get("annotations") or {}).get(COMPLETION_INDEX) for p in succeeded_pods}
                if i is not None and str(i).isdigit()
            )
            status["completedIndexes"] = ",".join(str(i) for i in idx) or None
        if all(old.get(k) == v for k, v in status.items() if k != "startTime") and old.get("startTime"):
            return
        try:
            self.client.patch("jobs", name, {"status": status}, namespace=ns, subresource="status", patch_type="merge")
        except (NotFound, Conflict):
            return

    def _create_pod(self, job: dict[str, Any], ns: str, name: str, uid: str, index: int | None) -> dict[str, Any]:
        template = copy.deepcopy((job.get("spec") or {}).get("template") or {})
        meta = template.get("metadata") or {}
        labels = dict(meta.get("labels") or {})
        labels.update({
            JOB_NAME_LABEL: name, CONTROLLER_UID_LABEL: uid, LEGACY_JOB_NAME_LABEL: name, LEGACY_CONTROLLER_UID_LABEL: uid,
        })
        annotations = dict(meta.get("annotations") or {})
        spec = template.get("spec") or {}
        generate = f"{name}-"
        if index is not None:
            annotations[COMPLETION_INDEX] = str(index)
            labels[COMPLETION_INDEX] = str(index)
            generate = f"{name}-{index}-"
            spec.setdefault("hostname", f"{name}-{index}")
        metadata: dict[str, Any] = {
            "generateName": generate,
            "namespace": ns,
            "labels": labels,
            "ownerReferences": [
                {"apiVersion": "batch/v1", "kind": "Job", "name": name, "uid": uid,
                 "controller": True, "blockOwnerDeletion": True}
            ],
        }
        if annotations:
            metadata["annotations"] = annotations
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}
        created = self.client.create("pods", pod, namespace=ns)
        self.on_pod(created)
        return created

    def _delete(self, pod: dict[str, Any]) -> None:
        with contextlib.suppress(NotFound):
            self.client.delete("pods", pod["metadata"]["name"], namespace=pod["metadata"].get("namespace"))
