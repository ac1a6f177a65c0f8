"""ObjectMeta rules (names, namespace, labels, annotations, owner references, finalizers) on create and update.

Kept with DRA validation rather than a general library: kubedra stores only DRA kinds, and the messages
must be kube-apiserver's word for word.
"""

from __future__ import annotations

from collections.abc import Callable

from kubedra.api import names
from kubedra.api.errors import FieldError, Path, forbidden, invalid, required, too_long
from kubedra.api.meta import ObjectMeta
from kubedra.api.validation.common import TOTAL_ANNOTATION_SIZE_LIMIT, immutable


def validate_object_meta(
    meta: ObjectMeta, namespaced: bool, name_check: Callable[[str, bool], list[str]], path: Path
) -> list[FieldError]:
    """ObjectMeta on create. A missing namespace is accepted: the request URL supplies it."""
    errs: list[FieldError] = []
    if meta.generate_name:
        for msg in name_check(meta.generate_name, True):
            errs.append(invalid(path.child("generateName"), meta.generate_name, msg))
    if not meta.name:
        if not meta.generate_name:
            errs.append(required(path.child("name"), "name or generateName is required"))
    else:
        for msg in name_check(meta.name, False):
            errs.append(invalid(path.child("name"), meta.name, msg))
    if namespaced:
        if meta.namespace:
            for msg in names.is_dns1123_label(meta.namespace):
                errs.append(invalid(path.child("namespace"), meta.namespace, msg))
    elif meta.namespace:
        errs.append(forbidden(path.child("namespace"), "not allowed on this type"))
    if meta.generation is not None and meta.generation < 0:
        errs.append(invalid(path.child("generation"), meta.generation, "must be greater than or equal to 0"))
    errs.extend(validate_labels(meta.labels, path.child("labels")))
    errs.extend(validate_annotations(meta.annotations, path.child("annotations")))
    for i, ref in enumerate(meta.owner_references or []):
        ref_path = path.child("ownerReferences").index(i)
        if not ref.api_version:
            errs.append(invalid(ref_path.child("apiVersion"), ref.api_version, "version must not be empty"))
        if not ref.kind:
            errs.append(invalid(ref_path.child("kind"), ref.kind, "must not be empty"))
        if not ref.name:
            errs.append(invalid(ref_path.child("name"), ref.name, "must not be empty"))
        if not ref.uid:
            errs.append(invalid(ref_path.child("uid"), ref.uid, "must not be empty"))
    finalizers = meta.finalizers or []
    for i, finalizer in enumerate(finalizers):
        for msg in names.is_qualified_name(finalizer):
            errs.append(invalid(path.child("finalizers").index(i), finalizer, msg))
    return errs


def validate_object_meta_update(new: ObjectMeta, old: ObjectMeta, path: Path) -> list[FieldError]:
    errs: list[FieldError] = []
    errs.extend(immutable(new.name, old.name, path.child("name")))
    errs.extend(immutable(new.namespace, old.namespace, path.child("namespace")))
    if old.uid:
        errs.extend(immutable(new.uid, old.uid, path.child("uid")))
    if old.creation_timestamp:
        errs.extend(
            immutable(new.creation_timestamp, old.creation_timestamp, path.child("creationTimestamp"))
        )
    return errs


def validate_labels(labels: dict[str, str] | None, path: Path) -> list[FieldError]:
    errs: list[FieldError] = []
    for key, value in (labels or {}).items():
        errs.extend(names.validate_label_name(key, path))
        errs.extend(names.validate_label_value(value, path))
    return errs


def validate_annotations(annotations: dict[str, str] | None, path: Path) -> list[FieldError]:
    errs: list[FieldError] = []
    total = 0
    for key, value in (annotations or {}).items():
        for msg in names.is_qualified_name(key.lower()):
            errs.append(invalid(path, key, msg))
        total += len(key) + len(value)
    if total > TOTAL_ANNOTATION_SIZE_LIMIT:
        errs.append(too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT))
    return errs


def validate_template_object_meta(meta: ObjectMeta | None, path: Path) -> list[FieldError]:
    """``ResourceClaimTemplate.spec.metadata``: only labels and annotations may be set."""
    if meta is None:
        return []
    errs = validate_annotations(meta.annotations, path.child("annotations"))
    errs.extend(validate_labels(meta.labels, path.child("labels")))
    for json_name in sorted(meta.__struct_encode_fields__):
        if json_name in ("labels", "annotations"):
            continue
        attr = meta.__struct_fields__[meta.__struct_encode_fields__.index(json_name)]
        if getattr(meta, attr) is not None:
            errs.append(forbidden(path.child(json_name), "cannot be set for a template"))
    return errs
