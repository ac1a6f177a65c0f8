"""Server-side apply and field ownership (``metadata.managedFields``).

``kubectl apply --server-side`` and helm 4 send the whole desired object as
``application/apply-patch+yaml``; the server merges it, records which manager
owns which field (FieldsV1), refuses to overwrite another manager's field with a
409 unless ``force``, and removes fields a manager stopped applying. Ordinary
writes (create, update, patch) also move ownership, through
``update_managed_fields``, so later applies see who set what.

Kubernetes does this with structured-merge-diff (Go); there is no Python
implementation, so this is ours, built on the list table in ``_patch_schema``.
The caller converts ``current`` to the applied apiVersion first; identity
fields (name, uid, resourceVersion, ...) of ``current`` are never changed here.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from kubedra.controlplane.apiserver._patch_fieldpath import (
    IGNORED_META,
    IGNORED_TOP,
    FieldPathError,
    FieldSet,
    Path,
    canonical,
    format_path,
    from_fields_v1,
    is_prefix,
    item_key,
    object_values,
    remove,
    resolve,
)
from kubedra.controlplane.apiserver._patch_schema import list_meta
from kubedra.controlplane.apiserver.patch import json_copy, json_equal

APPLY = "Apply"
UPDATE = "Update"
BEFORE_FIRST_APPLY = "before-first-apply"


class ApplyError(Exception):
    """An apply request that cannot be processed (400 malformed, 422 invalid)."""

    status = 422
    reason = "Invalid"

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
            self.reason = "BadRequest" if status == 400 else self.reason


class ApplyConflict(ApplyError):
    """Applied fields that other managers own with different values (409 Conflict).

    ``conflicts`` holds ``(manager description, field path)`` pairs; ``causes``
    is the ``details.causes`` list of the kube Status (type FieldManagerConflict).
    """

    status = 409
    reason = "Conflict"

    def __init__(self, conflicts: list[tuple[str, str]]) -> None:
        self.conflicts = conflicts
        self.causes = [{"type": "FieldManagerConflict", "message": f"conflict with {who}", "field": path}
                       for who, path in conflicts]
        super().__init__(_conflict_message(conflicts))


def _conflict_message(conflicts: list[tuple[str, str]]) -> str:
    if len(conflicts) == 1:
        who, path = conflicts[0]
        return f"Apply failed with 1 conflict: conflict with {who}: {path}"
    by_manager: dict[str, list[str]] = {}
    for who, path in conflicts:
        by_manager.setdefault(who, []).append(path)
    lines = []
    for who in sorted(by_manager):
        lines.append(f"conflicts with {who}:")
        lines.extend(f"- {path}" for path in by_manager[who])
    return f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)


@dataclass
class ManagedFieldsEntry:
    manager: str
    operation: str
    api_version: str
    time: str | None
    fields: FieldSet = field(default_factory=set)
    subresource: str | None = None
    # As decoded from the stored object: its FieldsV1 trie and the field set it stands for. An
    # entry whose fields did not change on this write (most entries of most writes) is written
    # back with that trie instead of building one again. The trie belongs to the decoded old
    # object, which the write owns and then discards.
    stored_v1: Any = field(default=None, repr=False, compare=False)
    stored_fields: frozenset[Path] | None = field(default=None, repr=False, compare=False)

    def identity(self) -> tuple[str, str, str, str]:
        # Apply entries are one per manager; Update entries are one per manager and apiVersion.
        version = self.api_version if self.operation == UPDATE else ""
        return (self.manager, self.operation, self.subresource or "", version)

    def describe(self) -> str:
        """How kube names the manager in conflict messages."""
        text = f'"{self.manager}"'
        if self.subresource:
            text += f' with subresource "{self.subresource}"'
        if self.operation == UPDATE:
            text += f" using {self.api_version}"
            if self.time:
                text += f" at {self.time}"
        return text

    def encode(self) -> dict:
        out: dict[str, Any] = {"manager": self.manager, "operation": self.operation, "apiVersion": self.api_version}
        if self.time:
            out["time"] = self.time
        out["fieldsType"] = "FieldsV1"
        if self.stored_v1 is not None and self.stored_fields is not None and self.fields == self.stored_fields:
            out["fieldsV1"] = self.stored_v1
        else:
            out["fieldsV1"] = _cached_to_fields_v1(self.fields)
        if self.subresource:
            out["subresource"] = self.subresource
        return out


# Every ordinary write decodes the stored entries and re-encodes them, and most entries are the
# same few field sets over and over (every pod of a workload has the same owners for the same
# fields), so both directions are memoised by content: a FieldsV1 trie by its JSON bytes, a
# field set by itself. Results are identical to the uncached calls; each cache is bounded and
# simply cleared when full.
_CACHE_LIMIT = 1024
_decoded: dict[bytes, frozenset[Path]] = {}
_encoded: dict[frozenset[Path], bytes] = {}
_json_encode = msgspec.json.encode
_json_decode = msgspec.json.decode


def _cached_from_fields_v1(trie: Any) -> FieldSet:
    return set(_decode_entry_fields(trie)[0])


def _decode_entry_fields(trie: Any) -> tuple[frozenset[Path], dict | None]:
    """A stored entry's field set, and the trie itself when it is exactly what the encoder makes of
    that set (then an unchanged entry is written back as is); one JSON encode answers both. The
    second answer is known only while the encoder's cache holds the set."""
    try:
        key = _json_encode(trie)
    except (TypeError, ValueError, OverflowError):
        return frozenset(from_fields_v1(trie)), None
    fields = _decoded.get(key)
    if fields is None:
        fields = frozenset(from_fields_v1(trie))  # raises before anything is cached
        if len(_decoded) >= _CACHE_LIMIT:
            _decoded.clear()
        _decoded[key] = fields
    canonical = trie if isinstance(trie, dict) and _encoded.get(fields) == key else None
    return fields, canonical


def _cached_to_fields_v1(fields: FieldSet) -> dict:
    key = frozenset(fields)
    encoded = _encoded.get(key)
    if encoded is not None:
        return _json_decode(encoded)  # a fresh dict each time: callers may change what they get
    trie = _fields_v1_trie(key)
    encoded = _json_encode(trie)
    if len(_encoded) >= _CACHE_LIMIT:
        _encoded.clear()
    _encoded[key] = encoded
    if () not in key:
        # Our paths have canonical k:/v: values, so this trie decodes back to exactly ``key``: the
        # next write of this object finds its stored entry already decoded.
        if len(_decoded) >= _CACHE_LIMIT:
            _decoded.clear()
        _decoded[encoded] = key
    return trie


_names: dict[Path, tuple[str, ...]] = {}  # a path's FieldsV1 keys: paths recur across objects


def _trie_names(path: Path) -> tuple[str, ...]:
    names = _names.get(path)
    if names is None:
        names = tuple(f"{kind}:{value}" for kind, value in path)
        if len(_names) >= 8 * _CACHE_LIMIT:
            _names.clear()
        _names[path] = names
    return names


def _fields_v1_trie(fields: frozenset[Path]) -> dict:
    """``to_fields_v1(fields)`` in one pass: in sorted order a member comes before its children and
    siblings arrive in key order, so dict insertion order is already the wanted order."""
    root: dict = {}
    members = []
    for names in sorted(map(_trie_names, fields)):
        node = root
        for name in names:
            child = node.get(name)
            if child is None:
                child = node[name] = {}
            node = child
        node["."] = {}
        members.append(node)
    for node in members:
        if len(node) == 1:
            del node["."]
    return root


def decode_managed_fields(obj: dict | None) -> list[ManagedFieldsEntry]:
    """The entries of ``obj``'s managedFields; raises ApplyError naming the bad entry."""
    raw = ((obj or {}).get("metadata") or {}).get("managedFields") or []
    if not isinstance(raw, list):
        raise ApplyError("metadata.managedFields: must be a list")
    entries = []
    for i, item in enumerate(raw):
        where = f"metadata.managedFields[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("manager", ""), str):
            raise ApplyError(f"{where}: must be an object with a manager string")
        if item.get("operation") not in (APPLY, UPDATE):
            raise ApplyError(f'{where}.operation: must be "Apply" or "Update"')
        if item.get("fieldsType", "FieldsV1") != "FieldsV1":
            raise ApplyError(f'{where}.fieldsType: must be "FieldsV1"')
        trie = item.get("fieldsV1") or {}
        try:
            frozen, stored = _decode_entry_fields(trie)
        except FieldPathError as exc:
            raise ApplyError(f"{where}.fieldsV1: {exc}") from exc
        entries.append(ManagedFieldsEntry(
            manager=item.get("manager", ""), operation=item["operation"], api_version=item.get("apiVersion", ""),
            time=item.get("time"), fields=set(frozen), subresource=item.get("subresource") or None,
            stored_v1=stored, stored_fields=frozen))
    return entries


def _encode_all(entries: Iterable[ManagedFieldsEntry]) -> list[dict]:
    """Non-empty entries, Apply first, then oldest first (kube's order)."""
    kept = [e for e in entries if e.fields]
    kept.sort(key=lambda e: (e.operation, e.time or "", e.manager, e.api_version, e.subresource or ""))
    return [e.encode() for e in kept]


def _set_managed_fields(obj: dict, entries: Iterable[ManagedFieldsEntry]) -> None:
    encoded = _encode_all(entries)
    metadata = obj.setdefault("metadata", {})
    if encoded:
        metadata["managedFields"] = encoded
    else:
        metadata.pop("managedFields", None)


def _values_of(obj: dict, kind: str, what: str) -> dict[Path, Any]:
    """``object_values(obj, kind)``, assembled from memoised top-level fields (same paths, same order)."""
    values: dict[Path, Any] = {}
    for _, unit in _units_of(obj, kind, what).values():
        values.update(unit)
    return values


Unit = tuple[str, str | None]  # a top-level field, or a field of metadata: ("metadata", "labels")


def _units_of(obj: dict, kind: str, what: str) -> dict[Unit, tuple[bytes | None, dict[Path, Any]]]:
    """Per top-level field (metadata per key): its JSON bytes (None if not encodable) and values.
    Every path of a unit starts with the unit's own names, so two objects can be compared unit
    by unit, skipping those whose bytes are equal."""
    units: dict[Unit, tuple[bytes | None, dict[Path, Any]]] = {}
    try:
        for key, value in obj.items():
            if key in IGNORED_TOP:
                continue
            if key == "metadata" and isinstance(value, dict):
                for mkey, mvalue in value.items():
                    if mkey not in IGNORED_META and mvalue is not None:
                        units[(key, mkey)] = _unit_values(kind, key, mkey, mvalue)
            elif value is not None:
                units[(key, None)] = _unit_values(kind, key, None, value)
    except FieldPathError as exc:
        raise ApplyError(f"{what}: {exc}") from exc
    return units


# Most writes change one or two fields of an object: the walk of every other top-level field
# (``spec``, ``metadata.labels``, ...) is memoised by its JSON bytes, so an unchanged field costs
# one C-level encode instead of a Python walk. The values kept are a private decoded copy, so a
# caller changing its object later cannot change what the cache answers.
_units: dict[tuple[str, str, str | None, bytes], dict[Path, Any]] = {}


def _unit_values(kind: str, key: str, mkey: str | None, value: Any) -> tuple[bytes | None, dict[Path, Any]]:
    def walk(data: Any) -> dict[Path, Any]:
        return object_values({key: {mkey: data}} if mkey is not None else {key: data}, kind)

    try:
        data = _json_encode(value)
    except (TypeError, ValueError, OverflowError):
        return None, walk(value)
    cache_key = (kind, key, mkey, data)
    values = _units.get(cache_key)
    if values is None:
        values = walk(_json_decode(data))  # raises (nothing cached) for a malformed field
        if len(_units) >= _CACHE_LIMIT:
            _units.clear()
        _units[cache_key] = values
    return data, values


def _fields_of(obj: dict, kind: str, what: str) -> FieldSet:
    return set(_values_of(obj, kind, what))


def _leaves(fields: FieldSet) -> FieldSet:
    inner = {path[:i] for path in fields for i in range(1, len(path))}
    return fields - inner


def _prefixes(fields: Iterable[Path]) -> set[Path]:
    return {path[:i] for path in fields for i in range(1, len(path))}


def server_side_apply(current: dict | None, applied: dict, *, manager: str, force: bool, now: str,
                      subresource: str | None = None, reset_fields: Iterable[str] = ()) -> dict:
    """Apply ``applied`` for ``manager``; return the new object with updated managedFields.

    ``current`` is None for a create. ``reset_fields`` names top-level fields the
    caller ignores on this endpoint (``status`` for the main resource).
    Raises ApplyConflict (409) or ApplyError (400/422).
    """
    if not isinstance(applied, dict):
        raise ApplyError("the applied configuration must be an object", status=400)
    for required in ("apiVersion", "kind"):
        if not isinstance(applied.get(required), str) or not applied[required]:
            raise ApplyError(f"{required}: Required value: the applied configuration must set {required}",
                             status=400)
    if (applied.get("metadata") or {}).get("managedFields") is not None:
        raise ApplyError("metadata.managedFields must be nil", status=400)
    if not manager:
        raise ApplyError("PATCH requests with apply must set fieldManager", status=400)
    kind = applied["kind"]
    applied = {k: v for k, v in applied.items() if k not in set(reset_fields)}
    applied_values = _values_of(applied, kind, "the applied configuration")
    applied_fields = set(applied_values)
    me = ManagedFieldsEntry(manager, APPLY, applied["apiVersion"], now, applied_fields, subresource)
    if current is None:
        result = _merge_into({}, applied, kind, (), creating=True)
        _set_managed_fields(result, [me])
        return result

    entries = decode_managed_fields(current)
    if not entries:
        # An object nobody tracked yet: whoever wrote it owns everything it has.
        entries = [ManagedFieldsEntry(BEFORE_FIRST_APPLY, UPDATE, current.get("apiVersion", ""), now,
                                      _fields_of(current, kind, "the stored object"))]
    previous = next((e for e in entries if e.identity() == me.identity()), None)
    others = [e for e in entries if e is not previous]

    current_values = _values_of(current, kind, "the stored object")
    conflicts: list[tuple[ManagedFieldsEntry, Path]] = []
    for path in sorted(_leaves(applied_fields)):
        exists, old = (True, current_values[path]) if path in current_values else resolve(current, path, kind)
        if not exists or json_equal(old, applied_values[path]):
            continue
        for other in others:
            if isinstance(old, dict | list):  # the applied leaf replaces a whole subtree
                conflicts.extend((other, owned) for owned in sorted(other.fields) if is_prefix(path, owned))
            elif path in other.fields:
                conflicts.append((other, path))
    if conflicts and not force:
        raise ApplyConflict([(other.describe(), format_path(path)) for other, path in conflicts])
    for other, path in conflicts:
        other.fields.discard(path)

    result = _merge_into(json_copy(current), applied, kind, (), creating=False)
    other_owned: FieldSet = set().union(*(o.fields for o in others))
    keep_below = _prefixes(other_owned)
    stale = (previous.fields if previous else set()) - applied_fields - other_owned
    for path in sorted(stale, key=len):
        if path in keep_below or _is_key_field(path):
            continue
        if remove(result, path, kind):
            _prune_empty_parents(result, path, kind, applied_fields | other_owned)
    present = _values_of(result, kind, "the merged object")
    for other in others:
        other.fields = {path for path in other.fields if path in present or resolve(result, path, kind)[0]}
    _set_managed_fields(result, [me, *others])
    return result


def _is_key_field(path: Path) -> bool:
    """A key field of a keyed-list item: it goes only with its item, never alone."""
    return len(path) >= 2 and path[-2][0] == "k" and path[-1][0] == "f" and path[-1][1] in json.loads(path[-2][1])


def _merge_into(target: dict, applied: dict, kind: str, names: tuple[str, ...], *, creating: bool) -> dict:
    for key, value in applied.items():
        if not creating and ((not names and key in IGNORED_TOP) or (names == ("metadata",) and key in IGNORED_META)):
            continue
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge_into(target[key], value, kind, (*names, key), creating=creating)
        elif isinstance(value, list) and isinstance(target.get(key), list):
            target[key] = _merge_list(target[key], value, kind, (*names, key))
        else:
            target[key] = _without_nulls(value)
    return target


def _merge_list(current: list, applied: list, kind: str, names: tuple[str, ...]) -> list:
    meta = list_meta(kind, names)
    if meta is not None and meta.list_type == "set":
        present = {canonical(item) for item in current}
        return current + [copy.deepcopy(i) for i in applied if canonical(i) not in present]
    if meta is None or meta.list_type != "map" or not all(isinstance(i, dict) for i in current + applied):
        return _without_nulls(applied)
    merged = current
    for item in applied:
        key = item_key(item, meta)
        index = next((i for i, old in enumerate(merged) if item_key(old, meta) == key), None)
        if index is None:
            merged.append(_without_nulls(item))
        else:
            _merge_into(merged[index], item, kind, names, creating=True)
    return merged


def _without_nulls(value: Any) -> Any:
    """A copy of ``value`` with null members dropped (an explicit null means "not set")."""
    copied = json_copy(value)
    return _strip_nulls(copied) if isinstance(copied, dict | list) and _has_null(copied) else copied


def _has_null(value: Any) -> bool:
    if isinstance(value, dict):
        return any(v is None or _has_null(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_null(v) for v in value)
    return False


def _strip_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_nulls(v) for v in value]
    return value


def _prune_empty_parents(obj: dict, path: Path, kind: str, owned: FieldSet) -> None:
    """After removing ``path``, drop map fields it left empty unless someone owns them."""
    parent = path[:-1]
    while len(parent) > 1 and parent[-1][0] == "f" and parent not in owned:
        exists, value = resolve(obj, parent, kind)
        if not exists or value not in ({}, []):
            return
        remove(obj, parent, kind)
        parent = parent[:-1]


def update_managed_fields(old: dict | None, new: dict, *, manager: str, now: str,
                          subresource: str | None = None) -> dict:
    """Record an ordinary write (create/update/patch) by ``manager``; returns ``new`` updated in place.

    The manager gains every field whose value it changed; other managers lose
    those fields. If the request itself rewrote ``metadata.managedFields`` (as
    kubectl does when it upgrades client-side apply to server-side apply), the
    written value is kept as is; an explicit empty list clears ownership.
    """
    kind = new.get("kind") or (old or {}).get("kind") or ""
    old_raw = ((old or {}).get("metadata") or {}).get("managedFields")
    new_meta = new.setdefault("metadata", {})
    new_raw = new_meta.get("managedFields")
    if new_raw is not None and new_raw != old_raw:
        decode_managed_fields(new)  # validate
        if not new_raw:
            new_meta.pop("managedFields", None)
        return new
    entries = decode_managed_fields(old)
    new_units = _units_of(new, kind, "the object")
    new_values: dict[Path, Any] = {}
    for _, unit in new_units.values():
        new_values.update(unit)
    if old is None:
        changed = set(new_values)
    else:
        # Compared unit by unit: a field whose JSON did not change (most of them) changed nothing.
        old_units = _units_of(old, kind, "the stored object")
        changed = set()
        for name, (data, unit) in new_units.items():
            before = old_units.get(name)
            if before is not None and data is not None and before[0] == data:
                continue
            old_unit = before[1] if before is not None else {}
            unit_fields = set(unit)
            changed |= unit_fields - old_unit.keys()
            for path in _leaves(unit_fields) & old_unit.keys():
                if not json_equal(old_unit[path], unit[path]):
                    changed.add(path)
    api_version = new.get("apiVersion", "")
    me = ManagedFieldsEntry(manager, UPDATE, api_version, now, set(), subresource)
    mine = next((e for e in entries if e.identity() == me.identity()), None)
    for entry in entries:
        if entry is not mine:
            entry.fields = {p for p in entry.fields - changed if p in new_values or resolve(new, p, kind)[0]}
    if mine is None:
        mine = me
        entries.append(mine)
    mine.fields = {p for p in mine.fields if p in new_values or resolve(new, p, kind)[0]} | changed
    if changed:
        mine.time = now
    _set_managed_fields(new, entries)
    return new
