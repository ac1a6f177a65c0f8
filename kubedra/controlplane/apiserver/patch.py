"""PATCH bodies: JSON patch (RFC 6902), JSON merge patch (RFC 7386) and strategic merge patch.

Written by hand rather than with the ``jsonpatch`` package: the three formats
share JSON-pointer and deep-copy helpers, the error statuses must match what
kube-apiserver answers (400 for a malformed body, 422 for a patch that cannot be
applied, 409 never), and strategic merge patch has no Python library at all — it
needs our list-merge table (``_patch_schema``), the same one apply and OpenAPI use.

Server-side apply (``application/apply-patch+yaml``) lives in ``apply.py``.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import msgspec

from kubedra.controlplane.apiserver._patch_schema import list_meta

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH)

_encode = msgspec.json.encode
_decode = msgspec.json.decode
_encode_sorted = msgspec.json.Encoder(order="sorted").encode

_DIRECTIVE = "$patch"
_RETAIN_KEYS = "$retainKeys"
_SET_ORDER = "$setElementOrder/"
_DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"


class PatchError(Exception):
    """A patch that cannot be decoded (400), applied (422) or whose type is unknown (415)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    @property
    def reason(self) -> str:
        return {400: "BadRequest", 415: "UnsupportedMediaType", 422: "Invalid"}.get(self.status, "BadRequest")


def apply_patch(current: dict, body: bytes, content_type: str, *, kind: str, api_version: str) -> dict:
    """Return a new object: ``current`` with the PATCH ``body`` applied; ``current`` is untouched."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media not in PATCH_TYPES:
        raise PatchError(
            415, f"the body of the request was in an unknown format - accepted media types include: "
            f"{', '.join(PATCH_TYPES)}, application/apply-patch+yaml",
        )
    try:
        patch = json.loads(body) if body.strip() else None
    except (ValueError, UnicodeDecodeError) as exc:
        raise PatchError(400, f"error decoding patch: {exc}") from exc
    if media == JSON_PATCH:
        result = json_patch(current, patch)
    elif media == MERGE_PATCH:
        if not isinstance(patch, dict):
            raise PatchError(400, "a merge patch must be a JSON object")
        result = merge_patch(current, patch)
    else:
        if not isinstance(patch, dict):
            raise PatchError(400, "a strategic merge patch must be a JSON object")
        result = strategic_merge_patch(current, patch, kind=kind)
    if not isinstance(result, dict):
        raise PatchError(422, "the patched object is not a JSON object")
    return result


# --- RFC 6902 -----------------------------------------------------------------------------


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(422, f'JSON pointer "{path}" must start with "/"')
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _index(container: list, token: str, path: str, *, allow_end: bool) -> int:
    if token == "-" and allow_end:
        return len(container)
    if not token.isdigit() or (token.startswith("0") and token != "0"):
        raise PatchError(422, f'invalid array index "{token}" in path "{path}"')
    index = int(token)
    if index > len(container) or (index == len(container) and not allow_end):
        raise PatchError(422, f'array index {index} out of bounds in path "{path}"')
    return index


def _parent(doc: Any, tokens: list[str], path: str) -> Any:
    node = doc
    for token in tokens[:-1]:
        if isinstance(node, dict):
            if token not in node:
                raise PatchError(422, f'path "{path}" does not exist: missing "{token}"')
            node = node[token]
        elif isinstance(node, list):
            node = node[_index(node, token, path, allow_end=False)]
        else:
            raise PatchError(422, f'path "{path}" does not exist: "{token}" is inside a scalar')
    return node


def _get(doc: Any, path: str) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return doc
    parent = _parent(doc, tokens, path)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(422, f'path "{path}" does not exist')
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(parent, last, path, allow_end=False)]
    raise PatchError(422, f'path "{path}" does not exist')


def _add(doc: Any, path: str, value: Any) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return value
    parent = _parent(doc, tokens, path)
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, path, allow_end=True), value)
    else:
        raise PatchError(422, f'cannot add at "{path}": parent is not an object or array')
    return doc


def _remove(doc: Any, path: str) -> tuple[Any, Any]:
    tokens = _pointer(path)
    if not tokens:
        raise PatchError(422, "cannot remove the whole document")
    parent = _parent(doc, tokens, path)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(422, f'cannot remove "{path}": it does not exist')
        return doc, parent.pop(last)
    if isinstance(parent, list):
        return doc, parent.pop(_index(parent, last, path, allow_end=False))
    raise PatchError(422, f'cannot remove "{path}": parent is not an object or array')


def json_patch(document: Any, operations: Any) -> Any:
    """Apply an RFC 6902 operation list; all-or-nothing (the input is never modified)."""
    if not isinstance(operations, list):
        raise PatchError(400, "a JSON patch must be an array of operations")
    doc = json_copy(document)
    for number, op in enumerate(operations):
        if not isinstance(op, dict) or not isinstance(op.get("op"), str):
            raise PatchError(400, f"JSON patch operation {number} must be an object with an \"op\" string")
        name, path = op["op"], _member(op, "path", number)
        if name in ("add", "replace", "test") and "value" not in op:
            raise PatchError(400, f'JSON patch operation {number} ("{name}") has no "value"')
        if name == "add":
            doc = _add(doc, path, copy.deepcopy(op["value"]))
        elif name == "remove":
            doc, _ = _remove(doc, path)
        elif name == "replace":
            if not _pointer(path):
                doc = copy.deepcopy(op["value"])
                continue
            _get(doc, path)
            doc, _ = _remove(doc, path)
            doc = _add(doc, path, copy.deepcopy(op["value"]))
        elif name in ("move", "copy"):
            source = _member(op, "from", number)
            if name == "move" and path.startswith(source + "/"):
                raise PatchError(422, f'cannot move "{source}" into its own child "{path}"')
            if name == "move":
                doc, value = _remove(doc, source)
            else:
                value = copy.deepcopy(_get(doc, source))
            doc = _add(doc, path, value)
        elif name == "test":
            actual = _get(doc, path)
            if not json_equal(actual, op["value"]):
                raise PatchError(422, f'testing value {path} failed: test failed')
        else:
            raise PatchError(400, f'JSON patch operation {number} has unknown op "{name}"')
    return doc


def _member(op: dict, field: str, number: int) -> str:
    value = op.get(field)
    if not isinstance(value, str):
        raise PatchError(400, f'JSON patch operation {number} ("{op["op"]}") needs a string "{field}"')
    return value


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality: 1 == 1.0, but a boolean never equals a number."""
    if a is b:
        return True
    if a != b:  # Python's == is looser than JSON's only where booleans meet numbers
        return False
    if isinstance(a, str):
        return isinstance(b, str)
    return _encode_sorted(a) == _encode_sorted(b) or _structurally_equal(a, b)


def _structurally_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_structurally_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_structurally_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def json_copy(value: Any) -> Any:
    """A deep copy of JSON data (an encode/decode round trip is several times faster than deepcopy)."""
    return _decode(_encode(value))


# --- RFC 7386 -----------------------------------------------------------------------------


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, ``null`` deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = json_copy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# --- strategic merge patch ----------------------------------------------------------------


def strategic_merge_patch(current: dict, patch: dict, *, kind: str) -> dict:
    """Merge ``patch`` into ``current`` the way ``kubectl apply``/``kubectl patch`` expect.

    Keyed lists (containers by name, ...) merge item by item; other lists are
    replaced. Directives: ``$patch: replace|delete|merge`` (maps and list items),
    ``$retainKeys``, ``$setElementOrder/<list>`` and ``$deleteFromPrimitiveList/<list>``.
    """
    return _merge_map(json_copy(current), patch, kind, ())


def _merge_map(original: dict, patch: dict, kind: str, path: tuple[str, ...]) -> dict:
    directive = patch.get(_DIRECTIVE)
    if directive is not None and directive != "merge":
        if directive == "replace":
            return _merge_map({}, {k: v for k, v in patch.items() if k != _DIRECTIVE}, kind, path)
        if directive == "delete":
            return {}
        raise PatchError(422, f'unknown patch directive "{directive}" at {_dotted(path)}')
    retain = patch.get(_RETAIN_KEYS)
    if retain is not None:
        if not isinstance(retain, list) or not all(isinstance(k, str) for k in retain):
            raise PatchError(422, f"$retainKeys at {_dotted(path)} must be a list of field names")
        for key in [k for k in original if k not in retain]:
            del original[key]
    orders: dict[str, Any] = {}
    for key, value in patch.items():
        if key in (_DIRECTIVE, _RETAIN_KEYS):
            continue
        if key.startswith(_SET_ORDER):
            orders[key[len(_SET_ORDER):]] = value
            continue
        if key.startswith(_DELETE_PRIMITIVE):
            field = key[len(_DELETE_PRIMITIVE):]
            if not isinstance(value, list):
                raise PatchError(422, f"{key} at {_dotted(path)} must be a list")
            existing = original.get(field)
            if isinstance(existing, list):
                original[field] = [item for item in existing if item not in value]
            continue
        child = (*path, key)
        if value is None:
            original.pop(key, None)
        elif isinstance(value, dict):
            base = original.get(key)
            original[key] = _merge_map(base if isinstance(base, dict) else {}, value, kind, child)
        elif isinstance(value, list):
            base = original.get(key)
            original[key] = _merge_list(base if isinstance(base, list) else [], value, kind, child)
        else:
            original[key] = value
    for field, order in orders.items():
        if field in original and isinstance(original[field], list):
            original[field] = _order(original[field], order, kind, (*path, field))
    return original


def _merge_list(original: list, patch: list, kind: str, path: tuple[str, ...]) -> list:
    meta = list_meta(kind, path)
    if meta is None or meta.strategy is None or "merge" not in meta.strategy.split(","):
        return [_clean(item, kind, path) for item in patch if not _is_directive_item(item)]
    if meta.merge_key is None:
        merged = list(original)
        for item in patch:
            if item not in merged:
                merged.append(item)
        return merged
    key = meta.merge_key
    if any(_is_directive_item(item, "replace") for item in patch):
        return [_clean(item, kind, path) for item in patch if not _is_directive_item(item)]
    merged = list(original)
    for item in patch:
        if not isinstance(item, dict):
            raise PatchError(422, f"{_dotted(path)}: list items must be objects with merge key {key!r}")
        if key not in item:
            raise PatchError(
                422, f"{_dotted(path)}: item {json.dumps(item, sort_keys=True)} does not contain "
                f"declared merge key: {key}",
            )
        position = next((i for i, old in enumerate(merged) if isinstance(old, dict) and old.get(key) == item[key]),
                        None)
        if item.get(_DIRECTIVE) == "delete":
            merged = [old for old in merged if not (isinstance(old, dict) and old.get(key) == item[key])]
        elif position is None:
            merged.append(_merge_map({}, item, kind, path))
        else:
            merged[position] = _merge_map(merged[position], item, kind, path)
    return merged


def _is_directive_item(item: Any, directive: str | None = None) -> bool:
    if not isinstance(item, dict) or _DIRECTIVE not in item or len(item) != 1:
        return False
    return directive is None or item[_DIRECTIVE] == directive


def _clean(value: Any, kind: str, path: tuple[str, ...]) -> Any:
    """A patch value placed where nothing existed: drop directives and nulls."""
    if isinstance(value, dict):
        return _merge_map({}, value, kind, path)
    if isinstance(value, list):
        return _merge_list([], value, kind, path)
    return value


def _order(items: list, order: Any, kind: str, path: tuple[str, ...]) -> list:
    """``$setElementOrder``: listed items in the given order; unlisted ones stay after their old neighbour."""
    if not isinstance(order, list):
        raise PatchError(422, f"$setElementOrder/{path[-1]} at {_dotted(path[:-1])} must be a list")
    meta = list_meta(kind, path)
    key = meta.merge_key if meta else None

    def identity(item: Any) -> str:
        return json.dumps(item.get(key) if key and isinstance(item, dict) else item, sort_keys=True)

    rank = {identity(item): i for i, item in enumerate(order)}
    result = sorted((item for item in items if identity(item) in rank), key=lambda it: rank[identity(it)])
    head: list = []
    previous: Any = None
    for item in items:
        if identity(item) not in rank:
            if previous is None:
                head.append(item)
            else:
                result.insert(next(i for i, x in enumerate(result) if x is previous) + 1, item)
        if previous is not None or identity(item) in rank:
            previous = item
    return head + result


def _dotted(path: tuple[str, ...]) -> str:
    return "." + ".".join(path) if path else "the object root"
