"""core/v1 NodeSelector rules, as used by ResourceSlice.spec.nodeSelector and allocation results.

Matches kube-apiserver's validation of node affinity, including the narrower rules for ``matchFields``.
"""

from __future__ import annotations

from kubedra.api import names
from kubedra.api.core import NodeSelector, NodeSelectorRequirement
from kubedra.api.errors import FieldError, Path, forbidden, not_supported, required

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
