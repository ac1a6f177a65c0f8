"""The resources kubedra serves: names, scope, versions, subresources and selectable fields.

Discovery, routing, storage keys and field selectors are all derived from this one table, so a new
kind is one entry here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]

# Fields every resource can be selected by (metadata.namespace only for namespaced ones).
_COMMON_FIELDS = ("metadata.name", "metadata.namespace")


@dataclass(frozen=True)
class Resource:
    group: str  # "" = core
    plural: str
    kind: str
    namespaced: bool
    versions: tuple[str, ...] = ("v1",)
    storage_version: str = "v1"
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    # Field selector labels beyond metadata.name/namespace.
    fields: tuple[str, ...] = ()
    # Whether create ignores the client's status (resources whose status only controllers write).
    reset_status_on_create: bool = False
    # Status assigned on create (namespaces start Active, pods Pending).
    initial_status: dict[str, Any] | None = field(default=None, hash=False, compare=False)

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def key(self) -> str:
        """Storage key prefix: ``pods``, ``resourceclaims.resource.k8s.io``."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def qualified(self) -> str:
        """What error messages call it: ``pods``, ``resourceclaims.resource.k8s.io``."""
        return self.key

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources

    def api_version(self, version: str | None = None) -> str:
        v = version or self.storage_version
        return f"{self.group}/{v}" if self.group else v

    def selectable_fields(self) -> tuple[str, ...]:
        common = _COMMON_FIELDS if self.namespaced else _COMMON_FIELDS[:1]
        return common + self.fields


_DRA_VERSIONS = ("v1", "v1beta2", "v1beta1")

RESOURCES: tuple[Resource, ...] = (
    # core/v1
    Resource("", "namespaces", "Namespace", False, short_names=("ns",), subresources=("status", "finalize"),
             fields=("status.phase",), initial_status={"phase": "Active"}),
    Resource("", "nodes", "Node", False, short_names=("no",), subresources=("status",),
             fields=("spec.unschedulable",)),
    Resource("", "pods", "Pod", True, short_names=("po",), categories=("all",),
             subresources=("status", "log", "binding"),
             fields=("spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
                     "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"),
             reset_status_on_create=True, initial_status={"phase": "Pending"}),
    Resource("", "services", "Service", True, short_names=("svc",), categories=("all",), subresources=("status",)),
    Resource("", "serviceaccounts", "ServiceAccount", True, short_names=("sa",)),
    Resource("", "configmaps", "ConfigMap", True, short_names=("cm",)),
    Resource("", "secrets", "Secret", True, fields=("type",)),
    Resource("", "events", "Event", True, short_names=("ev",),
             fields=("involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
                     "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
                     "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type")),
    # apps/v1, batch/v1
    Resource("apps", "daemonsets", "DaemonSet", True, short_names=("ds",), categories=("all",),
             subresources=("status",), reset_status_on_create=True),
    Resource("apps", "deployments", "Deployment", True, short_names=("deploy",), categories=("all",),
             subresources=("status", "scale"), reset_status_on_create=True),
    Resource("batch", "jobs", "Job", True, categories=("all",), subresources=("status",),
             fields=("status.successful",), reset_status_on_create=True),
    # coordination.k8s.io/v1: node heartbeats and leader election
    Resource("coordination.k8s.io", "leases", "Lease", True),
    # rbac.authorization.k8s.io/v1
    Resource("rbac.authorization.k8s.io", "roles", "Role", True),
    Resource("rbac.authorization.k8s.io", "rolebindings", "RoleBinding", True),
    Resource("rbac.authorization.k8s.io", "clusterroles", "ClusterRole", False),
    Resource("rbac.authorization.k8s.io", "clusterrolebindings", "ClusterRoleBinding", False),
    # scheduling.k8s.io/v1
    Resource("scheduling.k8s.io", "priorityclasses", "PriorityClass", False, short_names=("pc",)),
    # admissionregistration.k8s.io/v1
    Resource("admissionregistration.k8s.io", "validatingadmissionpolicies", "ValidatingAdmissionPolicy", False,
             subresources=("status",)),
    Resource("admissionregistration.k8s.io", "validatingadmissionpolicybindings",
             "ValidatingAdmissionPolicyBinding", False),
    # resource.k8s.io: stored as v1, also served as v1beta2 and v1beta1
    Resource("resource.k8s.io", "deviceclasses", "DeviceClass", False, versions=_DRA_VERSIONS),
    Resource("resource.k8s.io", "resourceslices", "ResourceSlice", False, versions=_DRA_VERSIONS,
             fields=("spec.nodeName", "spec.driver")),
    Resource("resource.k8s.io", "resourceclaims", "ResourceClaim", True, versions=_DRA_VERSIONS,
             subresources=("status",), reset_status_on_create=True),
    Resource("resource.k8s.io", "resourceclaimtemplates", "ResourceClaimTemplate", True, versions=_DRA_VERSIONS),
)

# Preferred version first; v1beta1 of resource.k8s.io is served but listed last.
GROUP_VERSIONS: dict[str, tuple[str, ...]] = {}
for _r in RESOURCES:
    _known = GROUP_VERSIONS.setdefault(_r.group, ())
    GROUP_VERSIONS[_r.group] = _known + tuple(v for v in _r.versions if v not in _known)


class ResourceNotFound(KeyError):
    pass


_BY_GV_PLURAL: dict[tuple[str, str, str], Resource] = {
    (r.group, v, r.plural): r for r in RESOURCES for v in r.versions
}
_BY_PLURAL: dict[str, Resource] = {}
for _r in RESOURCES:
    _BY_PLURAL.setdefault(_r.plural, _r)
    _BY_PLURAL.setdefault(_r.key, _r)


def lookup(group: str, version: str, plural: str) -> Resource | None:
    return _BY_GV_PLURAL.get((group, version, plural))


def by_name(name: str) -> Resource:
    """``pods``, ``resourceclaims`` or ``resourceclaims.resource.k8s.io`` (what in-process clients say)."""
    try:
        return _BY_PLURAL[name]
    except KeyError:
        raise ResourceNotFound(f"the server doesn't have a resource type {name!r}") from None


def by_kind(api_version: str, kind: str) -> Resource | None:
    group, _, version = api_version.rpartition("/")
    for r in RESOURCES:
        if r.group == group and r.kind == kind and version in r.versions:
            return r
    return None


def resources_in(group: str, version: str) -> list[Resource]:
    return [r for r in RESOURCES if r.group == group and version in r.versions]


def field_value(obj: dict[str, Any], path: str) -> str:
    """The string a field selector compares against (missing = "", booleans lower-case)."""
    return _field_text(path, _lookup(obj, path.split(".")))


def _lookup(obj: dict[str, Any], parts: tuple[str, ...] | list[str]) -> Any:
    value: Any = obj
    for part in parts:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _field_text(path: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict) and path == "source":
        return str(value.get("component", ""))
    return str(value)


# resource key -> (field, its path split): the store indexes every write, so the split is done once.
_INDEX_PLANS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {}


def index_fields(key: str, obj: dict[str, Any]) -> dict[str, str]:
    """The store's field indexer: every selectable field of the object, computed at write time."""
    plan = _INDEX_PLANS.get(key)
    if plan is None:
        resource = _BY_PLURAL.get(key)
        if resource is None:
            return {}
        plan = _INDEX_PLANS[key] = tuple((f, tuple(f.split("."))) for f in resource.selectable_fields())
    return {f: _field_text(f, _lookup(obj, parts)) for f, parts in plan}
