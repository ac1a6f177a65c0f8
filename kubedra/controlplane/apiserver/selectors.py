"""Label and field selectors in the query-string syntax kubectl sends (``-l``, ``--field-selector``).

Label selectors: ``k=v``, ``k==v``, ``k!=v``, ``k in (a,b)``, ``k notin (a)``, ``k``, ``!k``,
joined by commas. Field selectors: ``f=v``, ``f==v``, ``f!=v`` on the fields a resource declares.
Parsed once per request into a predicate over (labels, fields) so matching never decodes objects.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

Predicate = Callable[[Mapping[str, str], Mapping[str, str]], bool]


class SelectorError(ValueError):
    pass


@dataclass(frozen=True)
class _Req:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!exists"
    values: frozenset[str]

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.op == "exists":
            return self.key in labels
        if self.op == "!exists":
            return self.key not in labels
        if self.op in ("=", "in"):
            return labels.get(self.key) in self.values
        # "!=" and "notin" match objects without the label too
        return labels.get(self.key) not in self.values


_SET_RE = re.compile(r"^\s*(?P<key>[^\s!=(),]+)\s+(?P<op>in|notin)\s+\((?P<values>[^()]*)\)\s*$")
_KEY_RE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?$")


def _split_top(text: str) -> list[str]:
    """Split on commas that are not inside ``( )``."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def _check_key(key: str, text: str) -> str:
    if not _KEY_RE.match(key):
        raise SelectorError(f"unable to parse requirement: invalid label key {key!r} in {text!r}")
    return key


def parse_label_selector(text: str | None) -> list[_Req]:
    if not text:
        return []
    reqs = []
    for part in _split_top(text):
        m = _SET_RE.match(part)
        if m:
            values = frozenset(v.strip() for v in m.group("values").split(",") if v.strip())
            reqs.append(_Req(_check_key(m.group("key"), text), m.group("op"), values))
        elif "!=" in part:
            key, value = part.split("!=", 1)
            reqs.append(_Req(_check_key(key.strip(), text), "!=", frozenset([value.strip()])))
        elif "=" in part:
            key, value = part.split("==", 1) if "==" in part else part.split("=", 1)
            reqs.append(_Req(_check_key(key.strip(), text), "=", frozenset([value.strip()])))
        elif part.startswith("!"):
            reqs.append(_Req(_check_key(part[1:].strip(), text), "!exists", frozenset()))
        else:
            reqs.append(_Req(_check_key(part, text), "exists", frozenset()))
    return reqs


def parse_field_selector(text: str | None, allowed: Collection[str]) -> list[_Req]:
    if not text:
        return []
    reqs = []
    for part in _split_top(text):
        if "!=" in part:
            key, value, op = *part.split("!=", 1), "!="
        elif "==" in part:
            key, value, op = *part.split("==", 1), "="
        elif "=" in part:
            key, value, op = *part.split("=", 1), "="
        else:
            raise SelectorError(f"invalid selector: {text!r}; can't understand {part!r}")
        key = key.strip()
        if key not in allowed:
            raise SelectorError(f'field label not supported: {key}')
        reqs.append(_Req(key, op, frozenset([value.strip()])))
    return reqs


def predicate(label_selector: str | None, field_selector: str | None, allowed_fields: Collection[str]) -> Predicate | None:
    """None when nothing is selected (the fast path)."""
    labels = parse_label_selector(label_selector)
    fields = parse_field_selector(field_selector, allowed_fields)
    if not labels and not fields:
        return None
    if len(labels) + len(fields) == 1 and (labels or fields)[0].op == "=":
        # One equality (``spec.nodeName=x``, ``app=y``): the common case, matched without the generic loop,
        # since a list scans every stored object of the resource.
        req = (labels or fields)[0]
        key, (value,) = req.key, req.values
        if labels:
            return lambda obj_labels, obj_fields: obj_labels.get(key) == value
        return lambda obj_labels, obj_fields: obj_fields.get(key) == value

    def match(obj_labels: Mapping[str, str], obj_fields: Mapping[str, str]) -> bool:
        return all(r.matches(obj_labels) for r in labels) and all(r.matches(obj_fields) for r in fields)

    return match


def match_label_selector_object(selector: Mapping[str, object] | None, labels: Mapping[str, str]) -> bool:
    """A ``metav1.LabelSelector`` object (matchLabels + matchExpressions), as used in specs."""
    if not selector:
        return True
    for k, v in (selector.get("matchLabels") or {}).items():  # type: ignore[attr-defined]
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:  # type: ignore[attr-defined]
        key, op, values = expr.get("key"), expr.get("operator"), set(expr.get("values") or [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def format_label_selector(selector: object, *, sort_values: bool = False) -> str:
    """A LabelSelector object in query form (``app=x,tier in (a,b)``); "" when empty or malformed.

    kubectl's tables keep the values in stored order; the Scale subresource's ``status.selector`` sorts them.
    """
    if not isinstance(selector, dict):
        return ""
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key", ""), expr.get("operator", ""), expr.get("values") or []
        if sort_values:
            values = sorted(values)
        if op == "In":
            parts.append(f"{key} in ({','.join(values)})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({','.join(values)})")
        elif op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts)
