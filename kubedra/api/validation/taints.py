"""Device taints and tolerations: the rules shared by ResourceSlice, DeviceTaintRule and ResourceClaim.

One definition for all three kinds, so a toleration that a claim may carry always matches what a
slice or rule may taint with.
"""

from __future__ import annotations

from kubedra.api import names
from kubedra.api.errors import FieldError, Path, invalid, not_supported, required
from kubedra.api.resource import DeviceTaint, DeviceToleration
from kubedra.api.validation.common import (
    DEVICE_TOLERATIONS_MAX_LENGTH,
    TAINT_EFFECTS,
    TOLERATION_OPERATORS,
    validate_slice,
)


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
