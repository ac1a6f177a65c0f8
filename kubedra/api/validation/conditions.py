"""metav1.Condition lists and the binding (failure) condition names a device can declare.

The condition reason format is checked with kube-apiserver's regular expression and message, since
controllers report conditions that users read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from kubedra.api import names
from kubedra.api.errors import FieldError, Path, duplicate, invalid, not_supported, required, too_long
from kubedra.api.validation.common import duplicates, validate_slice


def validate_binding_conditions(
    conditions: list[str] | None, failure_conditions: list[str] | None, path: Path
) -> list[FieldError]:
    conds = conditions or []
    failures = failure_conditions or []
    errs = validate_slice(conds, 4, names.validate_label_name, path.child("bindingConditions"))
    errs.extend(
        validate_slice(failures, 4, names.validate_label_name, path.child("bindingFailureConditions"))
    )
    errs.extend(duplicates(conds, path.child("bindingConditions")))
    errs.extend(duplicates(failures, path.child("bindingFailureConditions")))
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
