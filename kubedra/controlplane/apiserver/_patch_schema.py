"""How each list field of the served kinds merges, for patch, apply and OpenAPI.

Strategic merge patch, server-side apply and ``kubectl apply`` all need to know
which lists are keyed (containers by ``name``, ports by ``containerPort``), which
are sets (finalizers) and which are replaced whole (tolerations). Kubernetes keeps
that knowledge in Go struct tags; we keep it here, in one table, so the patch
code, the apply code and the OpenAPI document (which kubectl reads to build its
own patches) can never disagree.

Paths are tuples of JSON field names from the object root; list items are
transparent (``("spec", "containers", "env")`` is the env list of every container).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class ListMeta:
    """Merge behaviour of one list field.

    ``strategy`` and ``merge_key`` drive strategic merge patch (``None`` strategy:
    the patch replaces the list). ``list_type`` and ``keys`` drive server-side
    apply: ``atomic`` lists are owned whole, ``set`` lists per value, ``map``
    lists per item identified by ``keys``.
    """

    strategy: str | None = None
    merge_key: str | None = None
    list_type: str = "atomic"
    keys: tuple[str, ...] = ()


Table = dict[tuple[str, ...], ListMeta]

ATOMIC = ListMeta()
SET = ListMeta(strategy="merge", list_type="set")


def _keyed(key: str, *ssa_keys: str, strategy: str | None = "merge") -> ListMeta:
    return ListMeta(strategy=strategy, merge_key=key if strategy else None, list_type="map", keys=ssa_keys or (key,))


def _under(prefix: tuple[str, ...], table: Table) -> Table:
    return {prefix + path: meta for path, meta in table.items()}


OBJECT_META: Table = {
    ("finalizers",): SET,
    ("ownerReferences",): _keyed("uid"),
    ("managedFields",): ATOMIC,
}

CONDITIONS: Table = {("conditions",): _keyed("type")}

CONTAINER: Table = {
    ("ports",): ListMeta(strategy="merge", merge_key="containerPort", list_type="map",
                         keys=("containerPort", "protocol")),
    ("env",): _keyed("name"),
    ("envFrom",): ATOMIC,
    ("volumeMounts",): _keyed("mountPath"),
    ("volumeDevices",): _keyed("devicePath"),
    ("resources", "claims"): _keyed("name", strategy=None),
    ("resizePolicy",): ListMeta(list_type="atomic"),
    ("command",): ATOMIC,
    ("args",): ATOMIC,
}

POD_SPEC: Table = {
    **_under(("containers",), CONTAINER),
    ("containers",): _keyed("name"),
    **_under(("initContainers",), CONTAINER),
    ("initContainers",): _keyed("name"),
    **_under(("ephemeralContainers",), CONTAINER),
    ("ephemeralContainers",): _keyed("name"),
    ("volumes",): _keyed("name", strategy="merge,retainKeys"),
    ("imagePullSecrets",): _keyed("name"),
    ("hostAliases",): _keyed("ip"),
    ("tolerations",): ATOMIC,
    ("resourceClaims",): _keyed("name", strategy="merge,retainKeys"),
    ("schedulingGates",): _keyed("name"),
    ("topologySpreadConstraints",): ListMeta(strategy="merge", merge_key="topologyKey", list_type="map",
                                             keys=("topologyKey", "whenUnsatisfiable")),
    ("readinessGates",): ATOMIC,
}

POD_TEMPLATE: Table = {**_under(("metadata",), OBJECT_META), **_under(("spec",), POD_SPEC)}

POD_STATUS: Table = {
    **CONDITIONS,
    ("podIPs",): _keyed("ip"),
    ("hostIPs",): _keyed("ip"),
    ("containerStatuses",): ATOMIC,
    ("initContainerStatuses",): ATOMIC,
    ("resourceClaimStatuses",): _keyed("name"),
}

_WORKLOAD: Table = {
    **_under(("spec", "template"), POD_TEMPLATE),
    **_under(("status",), CONDITIONS),
}

KINDS: dict[str, Table] = {
    "Pod": {**_under(("spec",), POD_SPEC), **_under(("status",), POD_STATUS)},
    "Node": {
        ("spec", "podCIDRs"): SET,
        ("spec", "taints"): ATOMIC,
        ("status", "conditions"): _keyed("type"),
        ("status", "addresses"): ListMeta(strategy="merge", merge_key="type", list_type="atomic"),
        ("status", "images"): ATOMIC,
    },
    "Service": {
        ("spec", "ports"): ListMeta(strategy="merge", merge_key="port", list_type="map", keys=("port", "protocol")),
        ("spec", "clusterIPs"): ATOMIC,
        ("status", "conditions"): _keyed("type"),
    },
    "ServiceAccount": {("secrets",): _keyed("name"), ("imagePullSecrets",): ATOMIC},
    "Namespace": {("status", "conditions"): _keyed("type")},
    "Deployment": _WORKLOAD,
    "DaemonSet": _WORKLOAD,
    "ReplicaSet": _WORKLOAD,
    "StatefulSet": _WORKLOAD,
    "Job": _WORKLOAD,
    "CronJob": _under(("spec", "jobTemplate", "spec", "template"), POD_TEMPLATE),
    "PodTemplate": _under(("template",), POD_TEMPLATE),
    "ClusterRole": {("rules",): ATOMIC},
    "Role": {("rules",): ATOMIC},
    "ClusterRoleBinding": {("subjects",): ATOMIC},
    "RoleBinding": {("subjects",): ATOMIC},
    "ResourceClaim": {
        ("status", "reservedFor"): _keyed("uid"),
        ("status", "devices"): ListMeta(list_type="map", keys=("driver", "device", "pool", "shareID")),
        ("status", "devices", "conditions"): _keyed("type"),
        ("spec", "devices", "requests"): ATOMIC,
        ("spec", "devices", "constraints"): ATOMIC,
        ("spec", "devices", "config"): ATOMIC,
    },
    "ResourceSlice": {("spec", "devices"): ATOMIC, ("spec", "sharedCounters"): ATOMIC},
    "DeviceClass": {("spec", "selectors"): ATOMIC, ("spec", "config"): ATOMIC},
    "ResourceClaimTemplate": {
        ("spec", "spec", "devices", "requests"): ATOMIC,
        **_under(("spec", "metadata"), OBJECT_META),
    },
}


@cache
def kind_lists(kind: str) -> Table:
    """Every list field with known behaviour for ``kind`` (metadata included)."""
    return {**_under(("metadata",), OBJECT_META), **KINDS.get(kind, {})}


def list_meta(kind: str, path: tuple[str, ...]) -> ListMeta | None:
    """Behaviour of the list at ``path`` in ``kind``; ``None`` means "replace/atomic"."""
    return kind_lists(kind).get(path)
