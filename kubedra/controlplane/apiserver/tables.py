"""Server-side printing: ``meta.k8s.io/v1`` Tables for ``kubectl get``.

kubectl asks for ``as=Table`` and prints whatever columns the server sends, so
the columns users know (``kubectl get resourceclaims`` → NAME STATE AGE, pods →
READY STATUS RESTARTS AGE) must be computed here, from the stored objects.
Column names and cell conventions (``<none>``, ``<unknown>``, the AGE format)
follow kube-apiserver so output matches the tutorials; the code is ours.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from kubedra.controlplane.apiserver.selectors import format_label_selector

Row = list[Any]
Column = tuple[str, str, int, str]  # name, type, priority (0 always shown, 1 with -o wide), description
Printer = tuple[list[Column], Callable[[dict, datetime], Row]]

NONE = "<none>"
UNKNOWN = "<unknown>"


def human_duration(seconds: float) -> str:
    """kubectl's compact duration: 45s, 2m17s, 5m, 3h20m, 2d5h, 400d, 3y12d."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if hours < 24 * 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    if hours < 24 * 365 * 2:
        return f"{days}d"
    if hours < 24 * 365 * 8:
        return f"{days // 365}y{days % 365}d" if days % 365 else f"{days // 365}y"
    return f"{days // 365}y"


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp (``Z`` or offset, optional fraction) or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def since(value: Any, now: datetime) -> str:
    moment = parse_time(value)
    return human_duration((now - moment).total_seconds()) if moment else UNKNOWN


def _age(obj: dict, now: datetime) -> str:
    return since(obj.get("metadata", {}).get("creationTimestamp"), now)


def _get(obj: Any, *path: str, default: Any = None) -> Any:
    for key in path:
        if not isinstance(obj, dict) or key not in obj:
            return default
        obj = obj[key]
    return obj


def _name(obj: dict) -> str:
    return str(_get(obj, "metadata", "name", default=""))


def _pairs(mapping: Any) -> str:
    if not isinstance(mapping, dict) or not mapping:
        return NONE
    return ",".join(f"{k}={v}" for k, v in sorted(mapping.items()))


def label_selector(selector: Any) -> str:
    """A LabelSelector as kubectl writes it: ``app=x,tier in (a,b)``; ``<none>`` when empty."""
    return format_label_selector(selector) or NONE


def _count(value: Any) -> int:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else 0


# --- core ---------------------------------------------------------------------------------


def _pod_row(pod: dict, now: datetime) -> Row:
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    statuses = status.get("containerStatuses") or []
    init_specs = spec.get("initContainers") or []
    sidecars = {c.get("name") for c in init_specs if c.get("restartPolicy") == "Always"}
    total = len(spec.get("containers") or []) + len(sidecars)
    ready = sum(1 for c in statuses if c.get("ready"))
    reason = status.get("reason") or status.get("phase") or "Pending"
    restarts = 0
    last_restart: datetime | None = None

    def note_restart(c: dict) -> None:
        nonlocal restarts, last_restart
        restarts += _count(c.get("restartCount"))
        finished = parse_time(_get(c, "lastState", "terminated", "finishedAt"))
        if finished and (last_restart is None or finished > last_restart):
            last_restart = finished

    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"
    initializing = False
    for i, c in enumerate(status.get("initContainerStatuses") or []):
        note_restart(c)
        state = c.get("state") or {}
        terminated, waiting = state.get("terminated"), state.get("waiting")
        if c.get("name") in sidecars:
            ready += 1 if c.get("ready") else 0
            if c.get("started"):
                continue
        if terminated and _count(terminated.get("exitCode")) == 0:
            continue
        if terminated:
            reason = "Init:" + (terminated.get("reason") or _exit(terminated))
        elif waiting and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        initializing = True
        break
    if not initializing:
        running = False
        for c in reversed(statuses):
            note_restart(c)
            state = c.get("state") or {}
            if _get(state, "waiting", "reason"):
                reason = state["waiting"]["reason"]
            elif state.get("terminated"):
                reason = state["terminated"].get("reason") or _exit(state["terminated"])
            elif state.get("running") and c.get("ready"):
                running = True
        if reason == "Completed" and running:
            ready_cond = any(cond.get("type") == "Ready" and cond.get("status") == "True"
                             for cond in status.get("conditions") or [])
            reason = "Running" if ready_cond else "NotReady"
    if _get(pod, "metadata", "deletionTimestamp"):
        reason = "Unknown" if status.get("reason") == "NodeLost" else "Terminating"
    restarts_cell = str(restarts)
    if restarts and last_restart:
        restarts_cell += f" ({human_duration((now - last_restart).total_seconds())} ago)"
    gates = spec.get("readinessGates") or []
    if gates:
        true_types = {c.get("type") for c in status.get("conditions") or [] if c.get("status") == "True"}
        gates_cell = f"{sum(1 for g in gates if g.get('conditionType') in true_types)}/{len(gates)}"
    else:
        gates_cell = NONE
    return [_name(pod), f"{ready}/{total}", reason, restarts_cell, _age(pod, now),
            status.get("podIP") or NONE, spec.get("nodeName") or NONE,
            status.get("nominatedNodeName") or NONE, gates_cell]


def _exit(terminated: dict) -> str:
    signal = _count(terminated.get("signal"))
    return f"Signal:{signal}" if signal else f"ExitCode:{_count(terminated.get('exitCode'))}"


def _node_row(node: dict, now: datetime) -> Row:
    ready = next((c for c in _get(node, "status", "conditions", default=[]) or [] if c.get("type") == "Ready"), None)
    state = {"True": "Ready", "False": "NotReady"}.get(ready.get("status") if ready else "", "Unknown")
    if _get(node, "spec", "unschedulable"):
        state += ",SchedulingDisabled"
    roles = set()
    for key, value in (_get(node, "metadata", "labels") or {}).items():
        if key.startswith("node-role.kubernetes.io/") and key.split("/", 1)[1]:
            roles.add(key.split("/", 1)[1])
        elif key == "kubernetes.io/role" and value:
            roles.add(value)
    addresses = _get(node, "status", "addresses", default=[]) or []

    def address(kind: str) -> str:
        return next((a.get("address", NONE) for a in addresses if a.get("type") == kind), NONE)

    info = _get(node, "status", "nodeInfo") or {}
    return [_name(node), state, ",".join(sorted(roles)) or NONE, _age(node, now),
            info.get("kubeletVersion", ""), address("InternalIP"), address("ExternalIP"),
            info.get("osImage") or UNKNOWN, info.get("kernelVersion") or UNKNOWN,
            info.get("containerRuntimeVersion") or UNKNOWN]


def _service_row(svc: dict, now: datetime) -> Row:
    spec = svc.get("spec") or {}
    kind = spec.get("type") or "ClusterIP"
    external = list(spec.get("externalIPs") or [])
    if kind == "LoadBalancer":
        for ingress in _get(svc, "status", "loadBalancer", "ingress", default=[]) or []:
            external.append(ingress.get("ip") or ingress.get("hostname") or "")
        external_cell = ",".join(external) or "<pending>"
    elif kind == "ExternalName":
        external_cell = spec.get("externalName") or NONE
    else:
        external_cell = ",".join(external) or NONE
    ports = []
    for port in spec.get("ports") or []:
        text = str(port.get("port", ""))
        if port.get("nodePort"):
            text += f":{port['nodePort']}"
        ports.append(f"{text}/{port.get('protocol') or 'TCP'}")
    return [_name(svc), kind, spec.get("clusterIP") or NONE, external_cell, ",".join(ports) or NONE,
            _age(svc, now), _pairs(spec.get("selector"))]


def _event_row(event: dict, now: datetime) -> Row:
    first = event.get("firstTimestamp") or event.get("eventTime") or _get(event, "series", "lastObservedTime")
    last = event.get("lastTimestamp") or _get(event, "series", "lastObservedTime") or event.get("eventTime")
    count = _count(event.get("count")) or _count(_get(event, "series", "count"))
    last_seen = since(last, now)
    if count > 1:
        last_seen = f"{last_seen} (x{count} over {since(first, now)})"
    involved = event.get("involvedObject") or event.get("regarding") or {}
    source = event.get("source") or {}
    component = source.get("component") or event.get("reportingComponent") or ""
    host = source.get("host") or event.get("reportingInstance") or ""
    return [last_seen, event.get("type") or "", event.get("reason") or "",
            f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}",
            involved.get("fieldPath") or "", ", ".join(p for p in (component, host) if p),
            (event.get("message") or event.get("note") or "").strip(), since(first, now), count or 1,
            _name(event)]


# --- apps, batch --------------------------------------------------------------------------


def _pod_template_cells(obj: dict) -> Row:
    containers = _get(obj, "spec", "template", "spec", "containers", default=[]) or []
    return [",".join(c.get("name", "") for c in containers), ",".join(c.get("image", "") for c in containers),
            label_selector(_get(obj, "spec", "selector"))]


def _daemonset_row(ds: dict, now: datetime) -> Row:
    status = ds.get("status") or {}
    return [_name(ds), *(_count(status.get(f)) for f in (
        "desiredNumberScheduled", "currentNumberScheduled", "numberReady", "updatedNumberScheduled",
        "numberAvailable")), _pairs(_get(ds, "spec", "template", "spec", "nodeSelector")), _age(ds, now),
        *_pod_template_cells(ds)]


def _deployment_row(deploy: dict, now: datetime) -> Row:
    status = deploy.get("status") or {}
    replicas = _get(deploy, "spec", "replicas", default=1)
    return [_name(deploy), f"{_count(status.get('readyReplicas'))}/{_count(replicas)}",
            _count(status.get("updatedReplicas")), _count(status.get("availableReplicas")), _age(deploy, now),
            *_pod_template_cells(deploy)]


def _replicaset_row(rs: dict, now: datetime) -> Row:
    status = rs.get("status") or {}
    return [_name(rs), _count(_get(rs, "spec", "replicas", default=1)), _count(status.get("replicas")),
            _count(status.get("readyReplicas")), _age(rs, now), *_pod_template_cells(rs)]


def _job_status(job: dict) -> str:
    conditions = {c.get("type"): c.get("status") for c in _get(job, "status", "conditions", default=[]) or []}
    if conditions.get("Complete") == "True":
        return "Complete"
    if conditions.get("Failed") == "True":
        return "Failed"
    if _get(job, "metadata", "deletionTimestamp"):
        return "Terminating"
    for state in ("SuccessCriteriaMet", "FailureTarget", "Suspended"):
        if conditions.get(state) == "True":
            return state
    return "Running"


def _job_row(job: dict, now: datetime) -> Row:
    spec, status = job.get("spec") or {}, job.get("status") or {}
    succeeded = _count(status.get("succeeded"))
    completions, parallelism = spec.get("completions"), _count(spec.get("parallelism", 1))
    if completions is not None:
        done = f"{succeeded}/{completions}"
    else:
        done = f"{succeeded}/1 of {parallelism}" if parallelism > 1 else f"{succeeded}/1"
    start, end = parse_time(status.get("startTime")), parse_time(status.get("completionTime"))
    duration = human_duration(((end or now) - start).total_seconds()) if start else ""
    return [_name(job), _job_status(job), done, duration, _age(job, now), *_pod_template_cells(job)]


# --- rbac, scheduling, admission ----------------------------------------------------------


def _created_at(obj: dict) -> str:
    moment = parse_time(_get(obj, "metadata", "creationTimestamp"))
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else UNKNOWN


def _binding_row(binding: dict, now: datetime) -> Row:
    subjects = binding.get("subjects") or []

    def names(kind: str) -> str:
        found = [(f"{s.get('namespace')}/" if kind == "ServiceAccount" else "") + s.get("name", "")
                 for s in subjects if s.get("kind") == kind]
        return ", ".join(found)

    role = binding.get("roleRef") or {}
    return [_name(binding), f"{role.get('kind', '')}/{role.get('name', '')}", _age(binding, now),
            names("User"), names("Group"), names("ServiceAccount")]


def _priorityclass_row(pc: dict, now: datetime) -> Row:
    return [_name(pc), _count(pc.get("value")), bool(pc.get("globalDefault")), _age(pc, now),
            pc.get("preemptionPolicy") or "PreemptLowerPriority"]


# --- resource.k8s.io ----------------------------------------------------------------------


def resource_claim_state(claim: dict) -> str:
    """STATE of a ResourceClaim: deleted, pending, allocated, reserved — joined with commas."""
    parts = []
    allocated = bool(_get(claim, "status", "allocation"))
    deleted = bool(_get(claim, "metadata", "deletionTimestamp"))
    if deleted:
        parts.append("deleted")
    if not allocated and not deleted:
        parts.append("pending")
    if allocated:
        parts.append("allocated")
        if _get(claim, "status", "reservedFor"):
            parts.append("reserved")
    return ",".join(parts)


def _slice_row(rs: dict, now: datetime) -> Row:
    spec = rs.get("spec") or {}
    return [_name(rs), spec.get("nodeName") or NONE, spec.get("driver", ""), _get(spec, "pool", "name", default=""),
            _age(rs, now)]


# --- the table of printers -----------------------------------------------------------------

NAME_COL: Column = ("Name", "string", 0, "Name must be unique within a namespace; it identifies the object.")
AGE_COL: Column = ("Age", "string", 0, "Time since the object was created (metadata.creationTimestamp).")
_WORKLOAD_WIDE: list[Column] = [
    ("Containers", "string", 1, "Names of the containers in the pod template."),
    ("Images", "string", 1, "Images of the containers in the pod template."),
    ("Selector", "string", 1, "Label selector that picks the pods this object manages."),
]


def _simple(*cells: Callable[[dict], Any]) -> Callable[[dict, datetime], Row]:
    def row(obj: dict, now: datetime) -> Row:
        return [_name(obj), *(cell(obj) for cell in cells), _age(obj, now)]
    return row


def _cols(*middle: Column) -> list[Column]:
    return [NAME_COL, *middle, AGE_COL]


PRINTERS: dict[tuple[str, str], Printer] = {
    ("", "pods"): ([
        NAME_COL,
        ("Ready", "string", 0, "Ready containers out of all containers of the pod."),
        ("Status", "string", 0, "Pod phase, or the reason a container is not running."),
        ("Restarts", "string", 0, "Container restarts, and how long ago the last one was."),
        AGE_COL,
        ("IP", "string", 1, "IP address of the pod (status.podIP)."),
        ("Node", "string", 1, "Node the pod is bound to (spec.nodeName)."),
        ("Nominated Node", "string", 1, "Node nominated by preemption (status.nominatedNodeName)."),
        ("Readiness Gates", "string", 1, "Readiness gates that are true out of all gates."),
    ], _pod_row),
    ("", "nodes"): ([
        NAME_COL,
        ("Status", "string", 0, "Ready condition of the node, and whether scheduling is disabled."),
        ("Roles", "string", 0, "Roles from node-role.kubernetes.io/* labels."),
        AGE_COL,
        ("Version", "string", 0, "Kubelet version reported by the node."),
        ("Internal-IP", "string", 1, "First InternalIP address of the node."),
        ("External-IP", "string", 1, "First ExternalIP address of the node."),
        ("OS-Image", "string", 1, "Operating system image reported by the node."),
        ("Kernel-Version", "string", 1, "Kernel version reported by the node."),
        ("Container-Runtime", "string", 1, "Container runtime name and version."),
    ], _node_row),
    ("", "namespaces"): (_cols(("Status", "string", 0, "Namespace phase: Active or Terminating.")),
                         _simple(lambda o: _get(o, "status", "phase", default="Active"))),
    ("", "services"): ([
        NAME_COL,
        ("Type", "string", 0, "How the service is exposed."),
        ("Cluster-IP", "string", 0, "Virtual IP inside the cluster."),
        ("External-IP", "string", 0, "Addresses reachable from outside the cluster."),
        ("Port(s)", "string", 0, "Ports the service exposes (port[:nodePort]/protocol)."),
        AGE_COL,
        ("Selector", "string", 1, "Labels of the pods the service sends traffic to."),
    ], _service_row),
    ("", "serviceaccounts"): (_cols(("Secrets", "integer", 0, "Number of secrets listed on the account.")),
                              _simple(lambda o: len(o.get("secrets") or []))),
    ("", "configmaps"): (_cols(("Data", "integer", 0, "Number of keys in data and binaryData.")),
                         _simple(lambda o: len(o.get("data") or {}) + len(o.get("binaryData") or {}))),
    ("", "secrets"): (_cols(("Type", "string", 0, "Secret type."),
                            ("Data", "integer", 0, "Number of keys in data.")),
                      _simple(lambda o: o.get("type") or "Opaque", lambda o: len(o.get("data") or {}))),
    ("", "events"): ([
        ("Last Seen", "string", 0, "Time since the event was last observed, with its count."),
        ("Type", "string", 0, "Normal or Warning."),
        ("Reason", "string", 0, "Short machine-readable reason."),
        ("Object", "string", 0, "The object the event is about."),
        ("Subobject", "string", 1, "Part of the object the event is about (involvedObject.fieldPath)."),
        ("Source", "string", 1, "Component and host that reported the event."),
        ("Message", "string", 0, "Human-readable description."),
        ("First Seen", "string", 1, "Time since the event was first observed."),
        ("Count", "integer", 1, "How many times the event was observed."),
        ("Name", "string", 1, "Name of the Event object."),
    ], _event_row),
    ("apps", "daemonsets"): ([
        NAME_COL,
        ("Desired", "integer", 0, "Nodes that should run a daemon pod."),
        ("Current", "integer", 0, "Nodes running at least one daemon pod."),
        ("Ready", "integer", 0, "Nodes with a ready daemon pod."),
        ("Up-to-date", "integer", 0, "Nodes running the latest pod template."),
        ("Available", "integer", 0, "Nodes with an available daemon pod."),
        ("Node Selector", "string", 0, "Node selector of the pod template."),
        AGE_COL, *_WORKLOAD_WIDE,
    ], _daemonset_row),
    ("apps", "deployments"): ([
        NAME_COL,
        ("Ready", "string", 0, "Ready replicas out of desired replicas."),
        ("Up-to-date", "integer", 0, "Replicas running the latest pod template."),
        ("Available", "integer", 0, "Replicas available to serve."),
        AGE_COL, *_WORKLOAD_WIDE,
    ], _deployment_row),
    ("apps", "replicasets"): ([
        NAME_COL,
        ("Desired", "integer", 0, "Desired replicas."),
        ("Current", "integer", 0, "Current replicas."),
        ("Ready", "integer", 0, "Ready replicas."),
        AGE_COL, *_WORKLOAD_WIDE,
    ], _replicaset_row),
    ("batch", "jobs"): ([
        NAME_COL,
        ("Status", "string", 0, "Complete, Failed, Running, Suspended or Terminating."),
        ("Completions", "string", 0, "Succeeded pods out of the required completions."),
        ("Duration", "string", 0, "Time the job ran (or has been running)."),
        AGE_COL, *_WORKLOAD_WIDE,
    ], _job_row),
    ("rbac.authorization.k8s.io", "roles"): (
        [NAME_COL, ("Created At", "date", 0, "Creation time (metadata.creationTimestamp).")],
        lambda o, now: [_name(o), _created_at(o)]),
    ("rbac.authorization.k8s.io", "clusterroles"): (
        [NAME_COL, ("Created At", "date", 0, "Creation time (metadata.creationTimestamp).")],
        lambda o, now: [_name(o), _created_at(o)]),
    ("scheduling.k8s.io", "priorityclasses"): ([
        NAME_COL,
        ("Value", "integer", 0, "Priority of pods using this class."),
        ("Global-Default", "boolean", 0, "Whether pods without a class get this one."),
        AGE_COL,
        ("PreemptionPolicy", "string", 0, "Whether pods of this class preempt lower-priority pods."),
    ], _priorityclass_row),
    ("admissionregistration.k8s.io", "validatingadmissionpolicies"): (
        _cols(("Validations", "integer", 0, "Number of validation expressions."),
              ("ParamKind", "string", 0, "Kind of the parameter resource, if any.")),
        _simple(lambda o: len(_get(o, "spec", "validations", default=[]) or []),
                lambda o: "{apiVersion}/{kind}".format(**_get(o, "spec", "paramKind"))
                if _get(o, "spec", "paramKind") else NONE)),
    ("admissionregistration.k8s.io", "validatingadmissionpolicybindings"): (
        _cols(("PolicyName", "string", 0, "Policy this binding applies."),
              ("ParamRef", "string", 0, "Parameter resource reference, if any.")),
        _simple(lambda o: _get(o, "spec", "policyName", default=""),
                lambda o: NONE if not _get(o, "spec", "paramRef") else
                "/".join(p for p in (_get(o, "spec", "paramRef", "namespace"),
                                     _get(o, "spec", "paramRef", "name")) if p) or "*")),
    ("resource.k8s.io", "resourceclaims"): (
        _cols(("State", "string", 0, "pending, allocated, reserved (in use by pods) or deleted.")),
        _simple(resource_claim_state)),
    ("resource.k8s.io", "resourceslices"): ([
        NAME_COL,
        ("Node", "string", 0, "Node whose devices the slice publishes (spec.nodeName)."),
        ("Driver", "string", 0, "DRA driver that owns the slice."),
        ("Pool", "string", 0, "Pool the devices belong to."),
        AGE_COL,
    ], _slice_row),
}
_BINDING: Printer = ([
    NAME_COL,
    ("Role", "string", 0, "The (Cluster)Role this binding grants."),
    AGE_COL,
    ("Users", "string", 1, "Users the role is granted to."),
    ("Groups", "string", 1, "Groups the role is granted to."),
    ("ServiceAccounts", "string", 1, "Service accounts (namespace/name) the role is granted to."),
], _binding_row)
PRINTERS[("rbac.authorization.k8s.io", "rolebindings")] = _BINDING
PRINTERS[("rbac.authorization.k8s.io", "clusterrolebindings")] = _BINDING
DEFAULT_PRINTER: Printer = ([NAME_COL, AGE_COL], lambda o, now: [_name(o), _age(o, now)])


def column_definitions(resource: str, group: str) -> list[dict]:
    columns, _ = PRINTERS.get((group, resource), DEFAULT_PRINTER)
    return [{"name": name, "type": kind, "format": "name" if (name, kind, prio, desc) == NAME_COL else "",
             "description": desc, "priority": prio} for name, kind, prio, desc in columns]


def _partial_metadata(obj: dict) -> dict:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata", {})}


def to_table(resource: str, group: str, objects: list[dict], *, now: datetime, include_object: str) -> dict:
    """A ``meta.k8s.io/v1`` Table of ``objects``; ``include_object`` is None, Metadata or Object.

    The caller fills ``metadata`` (resourceVersion, continue) as for a list.
    """
    if include_object not in ("None", "Metadata", "Object"):
        raise ValueError(f'includeObject must be one of None, Metadata, Object; got "{include_object}"')
    _, make_row = PRINTERS.get((group, resource), DEFAULT_PRINTER)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    rows = []
    for obj in objects:
        row: dict[str, Any] = {"cells": make_row(obj, now)}
        if include_object == "Object":
            row["object"] = obj
        elif include_object == "Metadata":
            row["object"] = _partial_metadata(obj)
        rows.append(row)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {},
            "columnDefinitions": column_definitions(resource, group), "rows": rows}
