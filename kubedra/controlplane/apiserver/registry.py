"""Kubernetes API semantics on top of the store: what create, update, delete, list and watch *mean*.

The HTTP server and the in-process client both call this class, so a controller running inside
``kubedra up`` and kubectl over HTTPS see identical behaviour: generateName, uid,
creationTimestamp, generation bumped only on spec changes, optimistic concurrency (409), status
subresources that ignore everything but status, finalizers and deletionTimestamp, graceful pod
deletion, deletion propagation (the garbage collector in ``lifecycle.py`` finishes it).

Objects go in and out in the storage version; version conversion is the caller's job
(``admission.from_storage``). Every read-modify-write happens under the store lock, so there is no
window between the precondition check and the write.
"""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from kubedra.api.defaults import now_rfc3339
from kubedra.api.features import FeatureGates
from kubedra.controlplane.apiserver import admission, errors
from kubedra.controlplane.apiserver.listwatch import (
    ListResult,
    list_objects,
    parse_resource_version,
    start_watch,
)
from kubedra.controlplane.apiserver.resources import Resource, by_name
from kubedra.controlplane.apiserver.selectors import Predicate, SelectorError, predicate
from kubedra.controlplane.apiserver.watch import WatchStream
from kubedra.controlplane.store import (
    KeyExists,
    KeyNotFound,
    ObjectList,
    RevisionConflict,
    Store,
    StoredObject,
)

FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"
NAMESPACE_FINALIZER = "kubernetes"
PROPAGATION_POLICIES = ("Background", "Foreground", "Orphan")
DEFAULT_POD_GRACE_SECONDS = 30
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")

_encode = msgspec.json.Encoder().encode
_GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
# UIDs and generated-name suffixes must be unique, not secret: a generator seeded once from the OS
# replaces a getrandom() system call per object (``uuid4`` and ``secrets`` took ~25 us each).
_RANDOM = random.Random(int.from_bytes(os.urandom(32), "big"))


def new_uid() -> str:
    """A random (version 4) UUID, as the API server assigns to every new object."""
    return str(uuid.UUID(int=_RANDOM.getrandbits(128), version=4))




def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    if meta is None:
        meta = obj["metadata"] = {}
    elif not isinstance(meta, dict):
        raise errors.BadRequest("metadata: must be an object")
    return meta


def _spec_part(resource: Resource, obj: dict[str, Any]) -> dict[str, Any]:
    """What a generation bump looks at: everything but metadata (and status, if it is a subresource)."""
    skip = {"metadata", "status"} if resource.has_status else {"metadata"}
    return {k: v for k, v in obj.items() if k not in skip and k not in ("apiVersion", "kind")}


@dataclass
class WriteOptions:
    dry_run: bool = False
    field_manager: str | None = None


class Registry:
    def __init__(self, store: Store, gates: FeatureGates | None = None,
                 managed_fields: Callable[..., dict[str, Any]] | None = None) -> None:
        self.store = store
        self.gates = gates or FeatureGates()
        # Records field ownership on ordinary writes (apply.update_managed_fields); None = keep as sent.
        self.managed_fields = managed_fields

    # --- helpers ---------------------------------------------------------------------------------

    @staticmethod
    def resource(name: str) -> Resource:
        return by_name(name)

    def _key(self, resource: Resource, namespace: str | None, name: str) -> tuple[str, str, str]:
        if resource.namespaced and not namespace:
            raise errors.BadRequest(f"{resource.plural} is namespaced: a namespace is required")
        return (resource.key, (namespace or "") if resource.namespaced else "", name)

    def _get_or_404(self, resource: Resource, namespace: str | None, name: str) -> StoredObject:
        current = self.store.get(self._key(resource, namespace, name))
        if current is None:
            raise errors.not_found(resource.qualified, name)
        return current

    def _check_namespace(self, resource: Resource, namespace: str, creating: bool, name: str = "") -> dict[str, Any]:
        """The namespace must exist (404) and, for creates, not be terminating (403)."""
        if not resource.namespaced:
            return {}
        ns = self.store.get(("namespaces", "", namespace))
        if ns is None:
            raise errors.not_found("namespaces", namespace)
        if creating and ns.deleting:
            raise errors.Forbidden(
                f'{resource.plural} "{name}" is forbidden: unable to create new content in namespace '
                f"{namespace} because it is being terminated",
                details={"kind": resource.plural, "causes": [{"reason": "NamespaceTerminating",
                                                              "message": f"namespace {namespace} is being terminated",
                                                              "field": "metadata.namespace"}]},
            )
        labels: dict[str, str] = dict(ns.labels)
        return labels

    def _record_manager(self, old: dict[str, Any] | None, new: dict[str, Any], opts: WriteOptions,
                        subresource: str | None = None) -> None:
        if self.managed_fields is not None and opts.field_manager:
            self.managed_fields(old, new, manager=opts.field_manager, now=now_rfc3339(), subresource=subresource)

    def _commit_update(self, resource: Resource, key: tuple[str, str, str], new: dict[str, Any],
                       current: StoredObject, dry_run: bool) -> StoredObject:
        meta = new["metadata"]
        pending = (
            meta.get("finalizers")
            or (resource.plural == "namespaces" and (new.get("spec") or {}).get("finalizers"))
            or (meta.get("deletionGracePeriodSeconds") or 0) > 0  # a pod still being stopped
        )
        if meta.get("deletionTimestamp") and not pending:
            # The last finalizer is gone: the object goes away now.
            if dry_run:
                return current
            self.store.update(key, new, expected_rv=current.rv)
            return self.store.delete(key)
        if dry_run:
            meta["resourceVersion"] = str(current.rv)
            return StoredObject(key, current.rv, _encode(new), current.labels, current.fields)
        return self.store.update(key, new, expected_rv=current.rv)

    # --- reads -----------------------------------------------------------------------------------

    def get(self, resource: Resource, namespace: str | None, name: str) -> StoredObject:
        return self._get_or_404(resource, namespace, name)

    def selector(self, resource: Resource, label_selector: str | None, field_selector: str | None) -> Predicate | None:
        try:
            return predicate(label_selector, field_selector, resource.selectable_fields())
        except SelectorError as exc:
            raise errors.BadRequest(str(exc)) from None

    def list(
        self,
        resource: Resource,
        namespace: str | None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> ListResult:
        match = self.selector(resource, label_selector, field_selector)
        return list_objects(self.store, resource, namespace, match, limit, continue_token)

    def watch(
        self,
        resource: Resource,
        namespace: str | None,
        *,
        resource_version: str | None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        send_initial: bool | None = None,
    ) -> WatchStream:
        match = self.selector(resource, label_selector, field_selector)
        return start_watch(self.store, resource, namespace, match, resource_version, send_initial)

    # --- create ----------------------------------------------------------------------------------

    def create(self, resource: Resource, namespace: str | None, body: dict[str, Any],
               opts: WriteOptions | None = None) -> StoredObject:
        opts = opts or WriteOptions()
        if not isinstance(body, dict):
            raise errors.BadRequest("the body of the request must be a JSON or YAML object")
        self._check_kind(resource, body)
        obj = admission.to_storage(resource, body)
        obj["kind"] = resource.kind
        meta = _meta(obj)
        if resource.namespaced:
            body_ns = meta.get("namespace")
            if body_ns and namespace and body_ns != namespace:
                raise errors.BadRequest("the namespace of the provided object does not match the namespace "
                                        "sent on the request")
            namespace = namespace or body_ns
            if not namespace:
                raise errors.BadRequest(f"{resource.plural}: a namespace is required")
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        generate = not meta.get("name") and meta.get("generateName")
        with self.store.lock:
            ns_labels = self._check_namespace(resource, namespace or "", creating=True,
                                              name=str(meta.get("name") or meta.get("generateName") or ""))
            # ``obj`` was decoded for this request alone: drop and default in place, no copies.
            obj = admission.drop_disabled_fields(resource, obj, None, self.gates, in_place=True)
            obj = admission.default(resource, obj, in_place=True)
            meta = obj["metadata"]
            for attempt in range(8):
                if generate:
                    suffix = "".join(_RANDOM.choices(_GENERATE_ALPHABET, k=5))
                    meta["name"] = f"{meta['generateName']}{suffix}"[:253]
                elif attempt:
                    break
                key = self._key(resource, namespace, str(meta.get("name") or ""))
                if self.store.get(key) is None:
                    break
            self._prepare_create(resource, obj)
            admission.validate(resource, obj, None, self.gates, namespace_labels=ns_labels)
            self._record_manager(None, obj, opts)
            key = self._key(resource, namespace, meta["name"])
            if self.store.get(key) is not None:
                raise errors.already_exists(resource.qualified, meta["name"])
            if opts.dry_run:
                meta["resourceVersion"] = ""
                return StoredObject(key, 0, _encode(obj), meta.get("labels") or {}, {})
            try:
                return self.store.create(key, obj)
            except KeyExists:
                raise errors.already_exists(resource.qualified, meta["name"]) from None

    def _check_kind(self, resource: Resource, body: dict[str, Any]) -> None:
        kind = body.get("kind")
        if kind and kind != resource.kind:
            raise errors.BadRequest(f"the kind in the body ({kind}) does not match the kind of the "
                                    f"resource ({resource.kind})")
        api_version = body.get("apiVersion")
        if api_version and api_version not in {resource.api_version(v) for v in resource.versions}:
            raise errors.BadRequest(f"the API version in the data ({api_version}) does not match the expected "
                                    f"API version ({resource.api_version()})")
        if not api_version:
            body["apiVersion"] = resource.api_version()

    def _prepare_create(self, resource: Resource, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        for field in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
            meta.pop(field, None)
        meta["uid"] = new_uid()
        meta["creationTimestamp"] = now_rfc3339()
        meta["generation"] = 1
        if resource.reset_status_on_create:
            obj.pop("status", None)
        if resource.initial_status:
            status = obj.setdefault("status", {})
            for k, v in resource.initial_status.items():
                status.setdefault(k, v)
        if resource.plural == "namespaces":
            spec = obj.setdefault("spec", {})
            spec.setdefault("finalizers", [NAMESPACE_FINALIZER])
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta.get("name")

    # --- update ----------------------------------------------------------------------------------

    def update(self, resource: Resource, namespace: str | None, name: str, body: dict[str, Any],
               *, subresource: str | None = None, opts: WriteOptions | None = None) -> StoredObject:
        opts = opts or WriteOptions()
        if not isinstance(body, dict):
            raise errors.BadRequest("the body of the request must be a JSON or YAML object")
        self._check_subresource(resource, subresource, ("status", "finalize"))
        self._check_kind(resource, body)
        obj = admission.to_storage(resource, body)
        obj["kind"] = resource.kind
        meta = _meta(obj)
        if meta.get("name") and meta["name"] != name:
            raise errors.BadRequest(f"the name of the object ({meta['name']}) does not match the name on the URL ({name})")
        if resource.namespaced and meta.get("namespace") and meta["namespace"] != namespace:
            raise errors.BadRequest("the namespace of the provided object does not match the namespace sent on the request")
        want_rv = parse_resource_version(meta.get("resourceVersion"), "metadata.resourceVersion")
        with self.store.lock:
            current = self._get_or_404(resource, namespace, name)
            if want_rv is not None and want_rv != current.rv:
                raise errors.conflict(resource.qualified, name, errors.MODIFIED)
            if meta.get("uid") and meta["uid"] != current.uid:
                raise errors.conflict(resource.qualified, name,
                                      f"Precondition failed: UID in precondition: {meta['uid']}, "
                                      f"UID in object meta: {current.uid}")
            old = current.decode()
            new = self._merge_update(resource, old, obj, subresource)
            if subresource is None:
                # ``new`` was built for this request (its body, and ``old`` decoded afresh): no copies.
                new = admission.drop_disabled_fields(resource, new, old, self.gates, in_place=True)
                new = admission.default(resource, new, in_place=True)
                # Compared after defaulting: re-sending what was stored is not a spec change.
                if _spec_part(resource, new) != _spec_part(resource, old):
                    new["metadata"]["generation"] = int(old["metadata"].get("generation") or 1) + 1
            if _unchanged(new, old):
                return current  # a no-op write: no new resourceVersion, no watch event
            ns_labels = self._check_namespace(resource, namespace or "", creating=False)
            admission.validate(resource, new, old, self.gates, status_only=subresource == "status",
                               namespace_labels=ns_labels)
            self._record_manager(old, new, opts, subresource)
            key = self._key(resource, namespace, name)
            try:
                return self._commit_update(resource, key, new, current, opts.dry_run)
            except RevisionConflict:
                raise errors.conflict(resource.qualified, name, errors.MODIFIED) from None

    def _check_subresource(self, resource: Resource, subresource: str | None, allowed: tuple[str, ...]) -> None:
        if subresource is None:
            return
        if subresource not in resource.subresources or subresource not in allowed:
            raise errors.NotFound(f"the server could not find the requested resource ({resource.plural}/{subresource})")

    def _merge_update(self, resource: Resource, old: dict[str, Any], obj: dict[str, Any],
                      subresource: str | None) -> dict[str, Any]:
        """The object to store: immutable metadata from ``old``; spec or status from the request."""
        old_meta = old["metadata"]
        if subresource == "status":
            new = dict(old)
            if "status" in obj:
                new["status"] = obj["status"]
            else:
                new.pop("status", None)
            new["metadata"] = dict(old_meta)
            return new
        if subresource == "finalize":  # namespaces/finalize writes spec.finalizers only
            new = dict(old)
            new["spec"] = {**(old.get("spec") or {}), "finalizers": (obj.get("spec") or {}).get("finalizers") or []}
            new["metadata"] = dict(old_meta)
            return new
        new = dict(obj)
        if resource.has_status:
            if "status" in old:
                new["status"] = old["status"]
            else:
                new.pop("status", None)
        meta = dict(obj["metadata"])
        for field in ("uid", "creationTimestamp", "namespace", "name", "deletionTimestamp",
                      "deletionGracePeriodSeconds"):
            if field in old_meta:
                meta[field] = old_meta[field]
            else:
                meta.pop(field, None)
        if "managedFields" not in meta and "managedFields" in old_meta:
            meta["managedFields"] = old_meta["managedFields"]  # omitted = kept, as kube's field manager does
        if resource.plural == "namespaces":
            new["spec"] = old.get("spec") or {}
            meta["labels"] = {**(meta.get("labels") or {}), "kubernetes.io/metadata.name": old_meta["name"]}
        meta["generation"] = int(old_meta.get("generation") or 1)  # bumped by update() after defaulting
        if old_meta.get("deletionTimestamp"):
            # Finalizers may only be removed from an object that is being deleted.
            added = set(meta.get("finalizers") or ()) - set(old_meta.get("finalizers") or ())
            if added:
                raise errors.invalid(resource.kind, resource.group, old_meta["name"], [{
                    "reason": "FieldValueForbidden",
                    "message": "Forbidden: no new finalizers can be added if the object is being deleted, "
                               f"found new finalizers {sorted(added)!r}",
                    "field": "metadata.finalizers",
                }])
        new["metadata"] = meta
        return new

    def read_modify_write(self, resource: Resource, namespace: str | None, name: str,
                          mutate: Callable[[dict[str, Any]], dict[str, Any]], *, subresource: str | None = None,
                          opts: WriteOptions | None = None) -> StoredObject:
        """Apply ``mutate`` to the current object and write the result atomically (PATCH)."""
        with self.store.lock:
            current = self._get_or_404(resource, namespace, name)
            new = mutate(current.decode())
            meta = _meta(new)
            if meta.get("resourceVersion") in (None, ""):
                meta["resourceVersion"] = str(current.rv)
            return self.update(resource, namespace, name, new, subresource=subresource, opts=opts)

    # --- delete ----------------------------------------------------------------------------------

    def delete(
        self,
        resource: Resource,
        namespace: str | None,
        name: str,
        *,
        propagation: str | None = None,
        grace_period: int | None = None,
        preconditions: dict[str, Any] | None = None,
        dry_run: bool = False,
    ) -> tuple[StoredObject, bool]:
        """Delete or start deleting; returns (object, finished). Not finished = finalizers pending."""
        if propagation is not None and propagation not in PROPAGATION_POLICIES:
            raise errors.BadRequest(f'propagationPolicy: Unsupported value: "{propagation}": supported values: '
                                    '"Foreground", "Background", "Orphan"')
        with self.store.lock:
            current = self._get_or_404(resource, namespace, name)
            pre = preconditions or {}
            if pre.get("uid") and pre["uid"] != current.uid:
                raise errors.conflict(resource.qualified, name, f"Precondition failed: UID in precondition: "
                                                                 f"{pre['uid']}, UID in object meta: {current.uid}")
            want_rv = parse_resource_version(pre.get("resourceVersion"), "preconditions.resourceVersion")
            if want_rv is not None and want_rv != current.rv:
                raise errors.conflict(resource.qualified, name, errors.MODIFIED)
            obj = current.decode()
            meta = obj["metadata"]
            finalizers = list(meta.get("finalizers") or [])
            extra = {"Foreground": FOREGROUND, "Orphan": ORPHAN}.get(propagation or "")
            if extra and extra not in finalizers:
                finalizers.append(extra)
            other = {"Foreground": ORPHAN, "Orphan": FOREGROUND}.get(propagation or "")
            if other in finalizers:
                finalizers.remove(other)
            graceful = self._grace_seconds(resource, obj, grace_period)
            if resource.plural == "namespaces":
                if not (obj.get("spec") or {}).get("finalizers") and not finalizers:
                    return self._delete_now(resource, current, dry_run), True
                obj.setdefault("status", {})["phase"] = "Terminating"
            elif not finalizers and not graceful:
                return self._delete_now(resource, current, dry_run), True
            if meta.get("deletionTimestamp") and finalizers == list(meta.get("finalizers") or []):
                if graceful == 0 and resource.plural == "pods" and not finalizers:
                    return self._delete_now(resource, current, dry_run), True
                return current, False
            if not meta.get("deletionTimestamp"):
                meta["deletionTimestamp"] = now_rfc3339(graceful or 0)
                meta["deletionGracePeriodSeconds"] = graceful or 0
            if finalizers:
                meta["finalizers"] = finalizers
            if dry_run:
                return current, False
            return self.store.update(current.key, obj, expected_rv=current.rv), False

    def _grace_seconds(self, resource: Resource, obj: dict[str, Any], requested: int | None) -> int:
        """Pods bound to a node are deleted gracefully: the kubelet stops them, then deletes with 0."""
        if resource.plural != "pods" or not (obj.get("spec") or {}).get("nodeName"):
            return 0
        if requested is not None:
            return max(0, requested)
        meta = obj["metadata"]
        if meta.get("deletionGracePeriodSeconds") is not None:
            return int(meta["deletionGracePeriodSeconds"])
        spec_grace = (obj.get("spec") or {}).get("terminationGracePeriodSeconds")
        return int(spec_grace) if isinstance(spec_grace, int) else DEFAULT_POD_GRACE_SECONDS

    def _delete_now(self, resource: Resource, current: StoredObject, dry_run: bool) -> StoredObject:
        if dry_run:
            return current
        try:
            return self.store.delete(current.key, expected_rv=current.rv)
        except (KeyNotFound, RevisionConflict):
            raise errors.conflict(resource.qualified, current.key[2], errors.MODIFIED) from None

    def delete_collection(self, resource: Resource, namespace: str | None, *, label_selector: str | None = None,
                          field_selector: str | None = None, propagation: str | None = None,
                          grace_period: int | None = None, dry_run: bool = False) -> ObjectList:
        listed = self.list(resource, namespace, label_selector=label_selector, field_selector=field_selector)
        out = []
        for obj in listed.items:
            try:
                deleted, _ = self.delete(resource, obj.key[1] or None, obj.key[2], propagation=propagation,
                                         grace_period=grace_period, dry_run=dry_run)
                out.append(deleted)
            except errors.NotFound:
                continue
        return out

    # --- pods/binding ----------------------------------------------------------------------------

    def bind(self, namespace: str, name: str, binding: dict[str, Any]) -> StoredObject:
        """``POST pods/{name}/binding``: set spec.nodeName once (409 if already bound)."""
        pods = by_name("pods")
        target = (binding.get("target") or {}).get("name")
        if not target:
            raise errors.invalid("Binding", "", name, [{"reason": "FieldValueRequired",
                                                         "message": "Required value", "field": "target.name"}])
        with self.store.lock:
            current = self._get_or_404(pods, namespace, name)
            uid = (binding.get("metadata") or {}).get("uid")
            if uid and uid != current.uid:
                raise errors.conflict("pods/binding", name, f"Precondition failed: UID in precondition: {uid}, "
                                                             f"UID in object meta: {current.uid}")
            pod = current.decode()
            if pod["metadata"].get("deletionTimestamp"):
                raise errors.conflict("pods/binding", name, f"pod {name} is being deleted, cannot be assigned to a host")
            spec = pod.setdefault("spec", {})
            if spec.get("nodeName"):
                raise errors.conflict("pods/binding", name,
                                      f'pod {name} is already assigned to node "{spec["nodeName"]}"')
            spec["nodeName"] = target
            status = pod.setdefault("status", {})
            conditions = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
            conditions.append({"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                               "lastTransitionTime": now_rfc3339()})
            status["conditions"] = conditions
            return self.store.update(current.key, pod, expected_rv=current.rv)

    # --- bootstrap -------------------------------------------------------------------------------

    def ensure_system_namespaces(self) -> None:
        namespaces = by_name("namespaces")
        for name in SYSTEM_NAMESPACES:
            if self.store.get(("namespaces", "", name)) is None:
                self.create(namespaces, None, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


def _meta_without_rv(obj: dict[str, Any]) -> dict[str, Any]:
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k != "resourceVersion"}
    managed = meta.get("managedFields")
    if isinstance(managed, list):
        # Field managers stamp the time of every write; a write that changes nothing else is still a no-op.
        meta["managedFields"] = [{k: v for k, v in e.items() if k != "time"} if isinstance(e, dict) else e
                                 for e in managed]
    return meta


_ABSENT = object()


def _unchanged(new: dict[str, Any], old: dict[str, Any]) -> bool:
    """kube-apiserver's no-op rule: equal but for resourceVersion and managedFields timestamps.
    The other top-level fields are compared first: most writes change spec or status, and then the
    metadata copies are never built."""
    for key in new.keys() | old.keys():
        if key != "metadata" and new.get(key, _ABSENT) != old.get(key, _ABSENT):
            return False
    return _meta_without_rv(new) == _meta_without_rv(old)
