"""Building blocks shared by the per-kind validators: object metadata, bounded lists and maps,
node selectors, CEL selectors, opaque configuration, taints and tolerations, qualified names.

Messages and field paths follow kube-apiserver (api.md §11) because clients match on them.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from kubedra.api import names
from kubedra.api.core import NodeSelector, NodeSelectorRequirement
from kubedra.api.errors import (
    FieldError,
    Path,
    duplicate,
    forbidden,
    invalid,
    not_supported,
    required,
    too_long,
    too_many,
)
from kubedra.api.features import DEFAULT_GATES, FeatureGates
from kubedra.api.meta import ObjectMeta
from kubedra.api.quantity import Quantity, QuantityError
from kubedra.api.resource import (
    DeviceSelector,
    DeviceTaint,
    DeviceToleration,
    OpaqueDeviceConfiguration,
)

T = TypeVar("T")

# Limits (api.md §9).
DEVICE_MAX_DOMAIN_LENGTH = 63
DEVICE_MAX_ID_LENGTH = 32
POOL_NAME_MAX_LENGTH = 253
CEL_SELECTOR_EXPRESSION_MAX_LENGTH = 10 * 1024
OPAQUE_PARAMETERS_MAX_LENGTH = 10 * 1024
DEVICE_SELECTORS_MAX_SIZE = 32
DEVICE_CONFIG_MAX_SIZE = 32
DEVICE_TOLERATIONS_MAX_LENGTH = 16
TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024
ATTRIBUTE_KEY_MAX_LENGTH = DEVICE_MAX_DOMAIN_LENGTH + 1 + DEVICE_MAX_ID_LENGTH

TAINT_EFFECTS = ("NoExecute", "NoSchedule", "None")
TOLERATION_OPERATORS = ("Equal", "Exists")
FIELD_IMMUTABLE = "field is immutable"

# The CEL environment a selector is compiled in (injected compiler; see Context.compile_cel).
CEL_ENVIRONMENT_NEW = "new"
CEL_ENVIRONMENT_STORED = "stored"

CompileCEL = Callable[[str, str], "str | None"]


@dataclass
class Context:
    """What a validation run depends on besides the object itself."""

    gates: FeatureGates = field(default_factory=lambda: DEFAULT_GATES)
    compile_cel: CompileCEL | None = None
    namespace_labels: dict[str, str] | None = None
    # Objects already stored are trusted: CEL is not recompiled, raw parameters are not re-measured.
    stored: bool = False


# --- generic shapes ------------------------------------------------------------------------------


def validate_slice(
    items: Sequence[T] | None,
    max_size: int,
    validate_item: Callable[[T, Path], list[FieldError]],
    path: Path,
) -> list[FieldError]:
    """A bounded list: TooMany short-circuits (no per-item errors for oversized input)."""
    if not items:
        return []
    if 0 <= max_size < len(items):
        return [too_many(path, len(items), max_size)]
    errs: list[FieldError] = []
    for i, item in enumerate(items):
        errs.extend(validate_item(item, path.index(i)))
    return errs


def validate_set(
    items: Sequence[T] | None,
    max_size: int,
    validate_item: Callable[[T, Path], list[FieldError]],
    key: Callable[[T], Hashable],
    path: Path,
) -> list[FieldError]:
    """A bounded list whose keys must be unique: Duplicate on the later occurrence."""
    if not items:
        return []
    errs = validate_slice(items, max_size, validate_item, path)
    if 0 <= max_size < len(items):
        return errs
    seen: set[Hashable] = set()
    for i, item in enumerate(items):
        k = key(item)
        if k in seen:
            errs.append(duplicate(path.index(i), k))
        else:
            seen.add(k)
    return errs


def truncate_key(key: str, max_len: int) -> str:
    """Long map keys are shortened in the middle inside error paths, as upstream does."""
    max_len = max(max_len, 16)
    if len(key) <= max_len:
        return key
    remaining = max_len - 3
    return key[: (remaining + 1) // 2] + "..." + key[len(key) - remaining // 2 :]


def validate_map(
    items: dict[str, T] | None,
    max_size: int,
    truncate_len: int,
    validate_key: Callable[[str, Path], list[FieldError]],
    validate_item: Callable[[T, Path], list[FieldError]],
    path: Path,
) -> list[FieldError]:
    if not items:
        return []
    if 0 <= max_size < len(items):
        return [too_many(path, len(items), max_size)]
    errs: list[FieldError] = []
    for k, item in items.items():
        errs.extend(validate_key(k, path))
        errs.extend(validate_item(item, path.key(truncate_key(k, truncate_len))))
    return errs


def immutable(new: Any, old: Any, path: Path) -> list[FieldError]:
    if new != old:
        return [invalid(path, new, FIELD_IMMUTABLE)]
    return []


def parse_quantity(value: str | None, path: Path, errs: list[FieldError]) -> Quantity | None:
    """Parse a quantity field; a malformed one is reported at its path (upstream: a decode error)."""
    if value is None:
        return None
    try:
        return Quantity.parse(str(value))
    except QuantityError as exc:
        errs.append(invalid(path, str(value), str(exc)))
        return None


# --- metadata ------------------------------------------------------------------------------------


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


# --- names used by DRA ---------------------------------------------------------------------------


def validate_pool_name(name: str, path: Path) -> list[FieldError]:
    if not name:
        return [required(path)]
    errs: list[FieldError] = []
    if len(name) > POOL_NAME_MAX_LENGTH:
        errs.append(too_long(path, POOL_NAME_MAX_LENGTH))
    for part in name.split("/"):
        errs.extend(names.validate_dns1123_subdomain(part, path))
    return errs


def validate_c_identifier(value: str, path: Path) -> list[FieldError]:
    errs: list[FieldError] = []
    if len(value) > DEVICE_MAX_ID_LENGTH:
        errs.append(too_long(path, DEVICE_MAX_ID_LENGTH))
    errs.extend(invalid(path, value, msg) for msg in names.is_c_identifier(value))
    return errs


def validate_qualified_name(name: str, path: Path) -> list[FieldError]:
    """Attribute/capacity names: ``id`` or ``domain/id`` (api.md §4 "Names")."""
    parts = name.split("/")
    if len(parts) == 1:
        return validate_c_identifier(parts[0], path)
    if len(parts) > 2:
        return [invalid(path, name, "must not contain more than one slash")]
    errs: list[FieldError] = []
    domain, ident = parts
    if not domain:
        errs.append(invalid(path, "", "the domain must not be empty"))
    else:
        errs.extend(names.validate_driver_name(domain, path))
    if not ident:
        errs.append(invalid(path, "", "the name must not be empty"))
    else:
        errs.extend(validate_c_identifier(ident, path))
    return errs


def validate_fully_qualified_name(name: str, path: Path) -> list[FieldError]:
    errs = validate_qualified_name(name, path)
    if "/" not in name:
        errs.append(
            invalid(path, name, "a fully qualified name must be a domain and a name separated by a slash")
        )
    return errs


def validate_uid(uid: str, path: Path) -> list[FieldError]:
    try:
        uuid.UUID(uid)
    except ValueError:
        return [invalid(path, uid, f"error validating uid: invalid UUID format: {uid!r}")]
    if len(uid) != 36 or uid != uid.lower():
        return [
            invalid(
                path,
                uid,
                "uid must be in RFC 4122 normalized form, `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` "
                "with lowercase hexadecimal characters",
            )
        ]
    return []


def validate_node_name(name: str, path: Path) -> list[FieldError]:
    return [invalid(path, name, msg) for msg in names.is_dns1123_subdomain(name)]


# --- node selectors ------------------------------------------------------------------------------

_SELECTOR_OPERATORS = ("DoesNotExist", "Exists", "Gt", "In", "Lt", "NotIn")
_FIELD_SELECTOR_KEYS = ("metadata.name",)


def validate_node_selector(selector: NodeSelector, path: Path) -> list[FieldError]:
    errs: list[FieldError] = []
    terms = selector.node_selector_terms
    terms_path = path.child("nodeSelectorTerms")
    if not terms:
        return [required(terms_path, "must have at least one node selector term")]
    for i, term in enumerate(terms):
        term_path = terms_path.index(i)
        for j, req in enumerate(term.match_expressions or []):
            errs.extend(
                _validate_selector_requirement(req, term_path.child("matchExpressions").index(j), False)
            )
        for j, req in enumerate(term.match_fields or []):
            errs.extend(_validate_selector_requirement(req, term_path.child("matchFields").index(j), True))
    return errs


def _validate_selector_requirement(
    req: NodeSelectorRequirement, path: Path, is_field: bool
) -> list[FieldError]:
    errs: list[FieldError] = []
    values = req.values or []
    if req.operator in ("In", "NotIn"):
        if not values:
            errs.append(
                required(path.child("values"), "must be specified when `operator` is 'In' or 'NotIn'")
            )
    elif req.operator in ("Exists", "DoesNotExist"):
        if values:
            errs.append(
                forbidden(
                    path.child("values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
                )
            )
    elif req.operator in ("Gt", "Lt") and not is_field:
        if len(values) != 1:
            errs.append(
                required(
                    path.child("values"), "must be specified single value when `operator` is 'Lt' or 'Gt'"
                )
            )
    else:
        valid = ("In", "NotIn") if is_field else _SELECTOR_OPERATORS
        errs.append(not_supported(path.child("operator"), req.operator, valid))
    if is_field:
        if req.key not in _FIELD_SELECTOR_KEYS:
            errs.append(not_supported(path.child("key"), req.key, _FIELD_SELECTOR_KEYS))
        elif req.operator in ("In", "NotIn") and len(values) != 1:
            errs.append(
                required(
                    path.child("values"),
                    "must be only one value when `operator` is 'In' or 'NotIn' for node field selector",
                )
            )
    else:
        errs.extend(names.validate_label_name(req.key, path.child("key")))
    return errs


# --- selectors, configuration, taints, tolerations -----------------------------------------------


def validate_selectors(
    selectors: list[DeviceSelector] | None, path: Path, ctx: Context, stored: bool = False
) -> list[FieldError]:
    def one(selector: DeviceSelector, p: Path) -> list[FieldError]:
        if selector.cel is None:
            return [required(p.child("cel"))]
        return validate_cel_expression(selector.cel.expression, p.child("cel", "expression"), ctx, stored)

    return validate_slice(selectors, DEVICE_SELECTORS_MAX_SIZE, one, path)


def validate_cel_expression(
    expression: str, path: Path, ctx: Context, stored: bool = False
) -> list[FieldError]:
    """Length always; compilation only with an injected compiler (kubedra.api may not import cel)."""
    if stored or ctx.stored:
        return []
    if len(expression.encode()) > CEL_SELECTOR_EXPRESSION_MAX_LENGTH:
        return [too_long(path, CEL_SELECTOR_EXPRESSION_MAX_LENGTH)]
    if not expression.strip():
        return (
            [required(path, "compilation failed: expression must not be empty")]
            if ctx.compile_cel
            else [required(path)]
        )
    if ctx.compile_cel is not None:
        problem = ctx.compile_cel(expression, CEL_ENVIRONMENT_NEW)
        if problem:
            if problem.startswith("too complex"):
                return [forbidden(path, problem)]
            return [invalid(path, expression, problem)]
    return []


def validate_opaque(
    config: OpaqueDeviceConfiguration | None, path: Path, ctx: Context, stored: bool
) -> list[FieldError]:
    opaque_path = path.child("opaque")
    if config is None:
        return [required(opaque_path)]
    errs = names.validate_driver_name(config.driver, opaque_path.child("driver"))
    errs.extend(
        validate_raw_json(
            config.parameters,
            opaque_path.child("parameters"),
            stored or ctx.stored,
            OPAQUE_PARAMETERS_MAX_LENGTH,
        )
    )
    return errs


def validate_raw_json(value: Any, path: Path, stored: bool, max_length: int) -> list[FieldError]:
    """A RawExtension: present, within the size limit on create, and a JSON object."""
    if value is None:
        return [required(path)]
    if isinstance(value, (bytes, str)):
        raw = value.encode() if isinstance(value, str) else value
        try:
            value = json.loads(raw)
        except ValueError as exc:
            return [invalid(path, "<value omitted>", f"error parsing data as JSON: {exc}")]
        if value is None:
            return [required(path)]
    else:
        raw = json.dumps(value, separators=(",", ":")).encode()
    if not stored and len(raw) > max_length:
        return [too_long(path, max_length)]
    if not isinstance(value, dict):
        return [invalid(path, "<value omitted>", "must be a valid JSON object")]
    return []


def validate_config_requests(
    requests: list[str] | None, path: Path, request_names: dict[str, set[str] | None], max_size: int = 32
) -> list[FieldError]:
    return validate_set(
        requests, max_size, lambda name, p: validate_request_ref(name, p, request_names), lambda s: s, path
    )


REQUEST_REF_MESSAGE = (
    "must be the name of a request in the claim or the name of a request and a subrequest separated by '/'"
)


def validate_request_ref(
    name: str, path: Path, request_names: dict[str, set[str] | None]
) -> list[FieldError]:
    segments = name.split("/")
    if len(segments) > 2:
        return [invalid(path, name, REQUEST_REF_MESSAGE)]
    errs: list[FieldError] = []
    for segment in segments:
        errs.extend(names.validate_dns1123_label(segment, path))
    if not has_request(request_names, name):
        errs.append(invalid(path, name, REQUEST_REF_MESSAGE))
    return errs


def has_request(request_names: dict[str, set[str] | None], ref: str) -> bool:
    segments = ref.split("/")
    if len(segments) > 2 or segments[0] not in request_names:
        return False
    if len(segments) == 1:
        return True
    subs = request_names[segments[0]]
    return subs is not None and segments[1] in subs


def validate_taint(taint: DeviceTaint, old: DeviceTaint | None, path: Path) -> list[FieldError]:
    errs = names.validate_label_name(taint.key, path.child("key"))
    if taint.value:
        errs.extend(names.validate_label_value(taint.value, path.child("value")))
    if old is None or old.effect != taint.effect:
        if not taint.effect:
            errs.append(required(path.child("effect")))
        elif taint.effect not in TAINT_EFFECTS:
            errs.append(not_supported(path.child("effect"), taint.effect, TAINT_EFFECTS))
    return errs


def validate_tolerations(tolerations: list[DeviceToleration] | None, path: Path) -> list[FieldError]:
    return validate_slice(tolerations, DEVICE_TOLERATIONS_MAX_LENGTH, validate_toleration, path)


def validate_toleration(toleration: DeviceToleration, path: Path) -> list[FieldError]:
    errs: list[FieldError] = []
    if toleration.key:
        errs.extend(names.validate_label_name(toleration.key, path.child("key")))
    operator = toleration.operator or ""
    value = toleration.value or ""
    if operator == "Exists":
        if value:
            errs.append(invalid(path.child("value"), value, "must be empty for operator `Exists`"))
    elif operator == "Equal":
        errs.extend(names.validate_label_value(value, path.child("value")))
    elif operator == "":
        errs.append(required(path.child("operator")))
    else:
        errs.append(not_supported(path.child("operator"), operator, TOLERATION_OPERATORS))
    if toleration.effect and toleration.effect not in TAINT_EFFECTS:
        errs.append(not_supported(path.child("effect"), toleration.effect, TAINT_EFFECTS))
    return errs


def validate_binding_conditions(
    conditions: list[str] | None, failure_conditions: list[str] | None, path: Path
) -> list[FieldError]:
    conds = conditions or []
    failures = failure_conditions or []
    errs = validate_slice(conds, 4, names.validate_label_name, path.child("bindingConditions"))
    errs.extend(
        validate_slice(failures, 4, names.validate_label_name, path.child("bindingFailureConditions"))
    )
    errs.extend(_duplicates(conds, path.child("bindingConditions")))
    errs.extend(_duplicates(failures, path.child("bindingFailureConditions")))
    cond_set = set(conds)
    for i, cond in enumerate(failures):
        if cond in cond_set:
            errs.append(
                invalid(
                    path.child("bindingFailureConditions").index(i),
                    cond,
                    "bindingFailureConditions must not overlap with bindingConditions",
                )
            )
    if not conds and failures:
        errs.append(
            invalid(
                path.child("bindingConditions"),
                [],
                "bindingConditions are required to use bindingFailureConditions",
            )
        )
    if not failures and conds:
        errs.append(
            invalid(
                path.child("bindingFailureConditions"),
                [],
                "bindingFailureConditions are required to use bindingConditions",
            )
        )
    return errs


def _duplicates(values: Iterable[str], path: Path) -> list[FieldError]:
    seen: set[str] = set()
    errs: list[FieldError] = []
    for i, value in enumerate(values):
        if value in seen:
            errs.append(duplicate(path.index(i), value))
        seen.add(value)
    return errs


_CONDITION_STATUSES = ("False", "True", "Unknown")
_CONDITION_REASON = re.compile(r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")


def validate_conditions(conditions: Sequence[Any] | None, path: Path) -> list[FieldError]:
    """metav1.Condition lists: unique type, qualified-name type, known status, reason format."""
    errs: list[FieldError] = []
    seen: set[str] = set()
    for i, cond in enumerate(conditions or []):
        p = path.index(i)
        if not cond.type:
            errs.append(required(p.child("type"), "must be set"))
        else:
            errs.extend(invalid(p.child("type"), cond.type, m) for m in names.is_qualified_name(cond.type))
            if cond.type in seen:
                errs.append(duplicate(p.child("type"), cond.type))
            seen.add(cond.type)
        if cond.status not in _CONDITION_STATUSES:
            errs.append(not_supported(p.child("status"), cond.status, _CONDITION_STATUSES))
        if cond.observed_generation is not None and cond.observed_generation < 0:
            errs.append(
                invalid(
                    p.child("observedGeneration"),
                    cond.observed_generation,
                    "must be greater than or equal to zero",
                )
            )
        if not cond.last_transition_time:
            errs.append(required(p.child("lastTransitionTime"), "must be set"))
        if not cond.reason:
            errs.append(required(p.child("reason"), "must be set"))
        else:
            if not _CONDITION_REASON.match(cond.reason):
                errs.append(
                    invalid(
                        p.child("reason"),
                        cond.reason,
                        names.regex_error(
                            "a condition reason must start with alphabetic character, optionally followed by a string of "
                            "alphanumeric characters or '_,:', and must end with an alphanumeric character or '_'",
                            "[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?",
                            "my_name",
                            "MY_NAME",
                            "MyName",
                            "ReasonA,ReasonB",
                            "ReasonA:ReasonB",
                        ),
                    )
                )
            if len(cond.reason) > 1024:
                errs.append(too_long(p.child("reason"), 1024))
        if cond.message and len(cond.message) > 32768:
            errs.append(too_long(p.child("message"), 32768))
    return errs
