"""Field paths and field sets for server-side apply (the ``FieldsV1`` format).

A field path names one owned thing inside an object: a map field (``f:name``),
an item of a keyed list (``k:{"name":"c"}``), a value of a set list
(``v:"x"``). A field set is a Python ``set`` of such paths; ``FieldsV1`` is the
trie form stored in ``metadata.managedFields``, where ``"."`` marks a node that
is itself a member. Which lists are keyed or sets comes from ``_patch_schema``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import msgspec

from kubedra.controlplane.apiserver._patch_schema import ListMeta, list_meta

Element = tuple[str, Any]  # ("f", name) | ("k", canonical key JSON) | ("v", canonical value JSON) | ("i", index)
Path = tuple[Element, ...]
FieldSet = set[Path]

# Identity and server-owned fields: never owned by a manager (kube resets them too).
IGNORED_TOP = frozenset({"apiVersion", "kind"})
IGNORED_META = frozenset({
    "name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp",
    "deletionGracePeriodSeconds", "managedFields", "selfLink",
})
_encode_sorted = msgspec.json.Encoder(order="sorted").encode
# Key fields that kube's schema defaults, so an item that omits them still has an identity.
KEY_DEFAULTS = {"protocol": "TCP"}


class FieldPathError(ValueError):
    """An object or a FieldsV1 value that cannot be turned into a field set."""


def canonical(value: Any) -> str:
    """Compact JSON with sorted keys: the identity of a key or set value inside FieldsV1."""
    return _encode_sorted(value).decode()


def item_key(item: dict, meta: ListMeta) -> str | None:
    """Canonical key JSON of a keyed-list item, or None if it lacks a key field."""
    key: dict[str, Any] = {}
    for field in meta.keys:
        if field in item:
            key[field] = item[field]
        elif field in KEY_DEFAULTS:
            key[field] = KEY_DEFAULTS[field]
    return canonical(key) if key else None


def _names(path: Path) -> tuple[str, ...]:
    return tuple(value for kind, value in path if kind == "f")


def object_fields(obj: dict, kind: str) -> FieldSet:
    """Every owned path of ``obj``: leaves, keyed-list items and set values."""
    return set(object_values(obj, kind))


def object_values(obj: dict, kind: str) -> dict[Path, Any]:
    """Every owned path of ``obj`` with the value found there (one walk, for fast comparisons)."""
    fields: dict[Path, Any] = {}
    for key, value in obj.items():
        if key in IGNORED_TOP:
            continue
        if key == "metadata" and isinstance(value, dict):
            for mkey, mvalue in value.items():
                if mkey not in IGNORED_META and mvalue is not None:
                    _walk(mvalue, (("f", "metadata"), ("f", mkey)), kind, fields)
        elif value is not None:
            _walk(value, (("f", key),), kind, fields)
    return fields


def _walk(value: Any, path: Path, kind: str, fields: dict[Path, Any]) -> None:
    if isinstance(value, dict):
        if not value:
            fields[path] = value
        for key, child in value.items():
            if child is not None:
                _walk(child, (*path, ("f", key)), kind, fields)
        return
    if isinstance(value, list) and value:
        meta = list_meta(kind, _names(path))
        if meta is not None and meta.list_type == "set":
            for item in value:
                fields[(*path, ("v", canonical(item)))] = item
            return
        if meta is not None and meta.list_type == "map" and all(isinstance(i, dict) for i in value):
            for item in value:
                key = item_key(item, meta)
                if key is None:
                    raise FieldPathError(
                        f"{format_path(path)}: an item has none of the key fields {', '.join(meta.keys)}")
                item_path = (*path, ("k", key))
                if item_path in fields:
                    raise FieldPathError(f"{format_path(path)}: duplicate entries for key {key}")
                fields[item_path] = item
                for field, child in item.items():
                    if child is not None:
                        _walk(child, (*item_path, ("f", field)), kind, fields)
            return
    fields[path] = value


def resolve(obj: Any, path: Path, kind: str) -> tuple[bool, Any]:
    """The value at ``path`` in ``obj`` and whether it exists."""
    node = obj
    for i, (element, value) in enumerate(path):
        if element == "f":
            if not isinstance(node, dict) or value not in node or node[value] is None:
                return False, None
            node = node[value]
            continue
        if not isinstance(node, list):
            return False, None
        index = _find(node, path[: i + 1], kind)
        if index is None:
            return False, None
        node = node[index]
    return True, node


def _find(items: list, path: Path, kind: str) -> int | None:
    element, value = path[-1]
    if element == "i":
        return value if isinstance(value, int) and 0 <= value < len(items) else None
    if element == "v":
        return next((i for i, item in enumerate(items) if canonical(item) == value), None)
    meta = list_meta(kind, _names(path[:-1]))
    if meta is None or meta.list_type != "map":
        return None
    return next((i for i, item in enumerate(items) if isinstance(item, dict) and item_key(item, meta) == value),
                None)


def remove(obj: Any, path: Path, kind: str) -> bool:
    """Delete the field, list item or set value at ``path``; False if it was not there."""
    found, parent = resolve(obj, path[:-1], kind)
    if not found:
        return False
    element, value = path[-1]
    if element == "f":
        if isinstance(parent, dict) and value in parent:
            del parent[value]
            return True
        return False
    if isinstance(parent, list):
        index = _find(parent, path, kind)
        if index is not None:
            del parent[index]
            return True
    return False


def to_fields_v1(fields: Iterable[Path]) -> dict:
    """Encode a field set as the ``fieldsV1`` trie."""
    root: dict = {}
    for path in fields:
        node = root
        for element in path:
            node = node.setdefault(_encode(element), {})
    # A member that also has members below it is marked with ".".
    for path in fields:
        node = root
        for element in path:
            node = node[_encode(element)]
        if node and "." not in node:
            node["."] = {}
    return _sorted(root)


def _sorted(node: dict) -> dict:
    return {key: _sorted(node[key]) for key in sorted(node, key=lambda k: (k != ".", k))}


def _encode(element: Element) -> str:
    kind, value = element
    return f"{kind}:{value}"


def from_fields_v1(trie: Any, prefix: Path = ()) -> FieldSet:
    """Decode a ``fieldsV1`` trie; raises FieldPathError on malformed input."""
    if not isinstance(trie, dict):
        raise FieldPathError(f"fieldsV1 node at {format_path(prefix)} must be an object")
    fields: FieldSet = set()
    if not trie and prefix:
        fields.add(prefix)
    for key, child in trie.items():
        if key == ".":
            fields.add(prefix)
            continue
        fields |= from_fields_v1(child, (*prefix, _decode(key, prefix)))
    return fields


def _decode(key: Any, prefix: Path) -> Element:
    if not isinstance(key, str) or len(key) < 2 or key[1] != ":" or key[0] not in "fkvi":
        raise FieldPathError(f"fieldsV1 key {key!r} at {format_path(prefix)} is not f:, k:, v: or i:")
    kind, rest = key[0], key[2:]
    if kind == "f":
        return ("f", rest)
    try:
        value = json.loads(rest)
    except ValueError as exc:
        raise FieldPathError(f"fieldsV1 key {key!r} at {format_path(prefix)} is not valid JSON") from exc
    if kind == "i":
        if not isinstance(value, int):
            raise FieldPathError(f"fieldsV1 key {key!r} at {format_path(prefix)} needs an integer index")
        return ("i", value)
    return (kind, canonical(value))


def format_path(path: Path) -> str:
    """A path the way kube prints it in conflict messages: ``.spec.containers[name="c"].image``."""
    out = []
    for kind, value in path:
        if kind == "f":
            out.append(f".{value}")
        elif kind == "k":
            key = json.loads(value)
            out.append("[" + ",".join(f"{k}={json.dumps(v)}" for k, v in key.items()) + "]")
        elif kind == "v":
            out.append(f"[={value}]")
        else:
            out.append(f"[{value}]")
    return "".join(out) or "."


def is_prefix(prefix: Path, path: Path) -> bool:
    return len(prefix) <= len(path) and path[: len(prefix)] == prefix


def descendants(path: Path, fields: Iterable[Path]) -> Iterator[Path]:
    return (other for other in fields if len(other) > len(path) and other[: len(path)] == path)
