"""Decode Kubernetes protobuf request bodies (``application/vnd.kubernetes.protobuf``) into JSON dicts.

client-go's generated clientsets always send built-in kinds as protobuf and never
fall back to JSON (only CBOR has a 415 fallback). ``kubectl create namespace|
configmap|secret|serviceaccount`` and helm's release storage (Secrets) use them, so
the server must read these bodies. Responses stay JSON: those clients also accept it.

The wire format is small enough to read by hand: the ``k8s\\x00`` magic, a
``runtime.Unknown`` envelope (typeMeta, raw), then the object's message. Only the
kinds such clients write are described below (field numbers as in Kubernetes'
``generated.proto``); anything else raises ``ProtobufError`` and the caller
answers 415 as before. Empty scalars are dropped, as Go's ``omitempty`` does in JSON.
"""

from __future__ import annotations

import base64
import datetime
import json
from typing import Any

MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"

# message -> {field number: (json name, type)}; a type is a scalar name, "map:<value type>",
# "[]<type>" (repeated) or another message name. "?" suffix: keep zero values (pointer fields).
Message = dict[int, tuple[str, str]]
MESSAGES: dict[str, Message] = {
    "TypeMeta": {1: ("apiVersion", "string"), 2: ("kind", "string")},
    "ObjectMeta": {
        1: ("name", "string"), 2: ("generateName", "string"), 3: ("namespace", "string"),
        4: ("selfLink", "string"), 5: ("uid", "string"), 6: ("resourceVersion", "string"),
        7: ("generation", "int"), 8: ("creationTimestamp", "time"), 9: ("deletionTimestamp", "time"),
        10: ("deletionGracePeriodSeconds", "int?"), 11: ("labels", "map:string"),
        12: ("annotations", "map:string"), 13: ("ownerReferences", "[]OwnerReference"),
        14: ("finalizers", "[]string"), 17: ("managedFields", "[]ManagedFieldsEntry"),
    },
    "OwnerReference": {1: ("kind", "string"), 3: ("name", "string"), 4: ("uid", "string"),
                       5: ("apiVersion", "string"), 6: ("controller", "bool?"),
                       7: ("blockOwnerDeletion", "bool?")},
    "ManagedFieldsEntry": {1: ("manager", "string"), 2: ("operation", "string"), 3: ("apiVersion", "string"),
                           4: ("time", "time"), 6: ("fieldsType", "string"), 7: ("fieldsV1", "fieldsV1"),
                           8: ("subresource", "string")},
    "Secret": {1: ("metadata", "ObjectMeta"), 2: ("data", "map:bytes"), 3: ("type", "string"),
               4: ("stringData", "map:string"), 5: ("immutable", "bool?")},
    "ConfigMap": {1: ("metadata", "ObjectMeta"), 2: ("data", "map:string"), 3: ("binaryData", "map:bytes"),
                  4: ("immutable", "bool?")},
    "Namespace": {1: ("metadata", "ObjectMeta"), 2: ("spec", "NamespaceSpec"), 3: ("status", "NamespaceStatus")},
    "NamespaceSpec": {1: ("finalizers", "[]string")},
    "NamespaceStatus": {1: ("phase", "string")},
    "ServiceAccount": {1: ("metadata", "ObjectMeta"), 2: ("secrets", "[]ObjectReference"),
                       3: ("imagePullSecrets", "[]LocalObjectReference"),
                       4: ("automountServiceAccountToken", "bool?")},
    "ObjectReference": {1: ("kind", "string"), 2: ("namespace", "string"), 3: ("name", "string"),
                        4: ("uid", "string"), 5: ("apiVersion", "string"), 6: ("resourceVersion", "string"),
                        7: ("fieldPath", "string")},
    "LocalObjectReference": {1: ("name", "string")},
    "DeleteOptions": {1: ("gracePeriodSeconds", "int?"), 2: ("preconditions", "Preconditions"),
                      3: ("orphanDependents", "bool?"), 4: ("propagationPolicy", "string"),
                      5: ("dryRun", "[]string")},
    "Preconditions": {1: ("uid", "string"), 2: ("resourceVersion", "string")},
}
# (apiVersion, kind) -> message describing the object.
KINDS = {("v1", kind): kind for kind in ("Secret", "ConfigMap", "Namespace", "ServiceAccount", "DeleteOptions")}
KINDS[("meta.k8s.io/v1", "DeleteOptions")] = "DeleteOptions"


class ProtobufError(ValueError):
    """A body that is not a Kubernetes protobuf object of a kind we can read."""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ProtobufError("truncated or oversized varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, pos


def _fields(data: bytes) -> list[tuple[int, int | bytes]]:
    """(field number, value) pairs; varints as int, length-delimited as bytes."""
    out: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            out.append((number, value))
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise ProtobufError("truncated length-delimited field")
            out.append((number, data[pos:pos + length]))
            pos += length
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4  # fixed-width fields: none in the kinds we read
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
    return out


def _time(data: bytes) -> str | None:
    values = {n: v for n, v in _fields(data) if isinstance(v, int)}
    seconds = values.get(1, 0)
    if not seconds:
        return None  # Go's zero time: absent in JSON
    moment = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _scalar(kind: str, value: int | bytes) -> Any:
    if kind == "string":
        return value.decode("utf-8") if isinstance(value, bytes) else str(value)
    if kind == "bytes":
        return base64.b64encode(value).decode() if isinstance(value, bytes) else ""
    if kind == "int":
        return value - (1 << 64) if isinstance(value, int) and value >= 1 << 63 else value
    if kind == "bool":
        return bool(value)
    if kind == "time":
        return _time(value) if isinstance(value, bytes) else None
    if kind == "fieldsV1":
        raw = dict(_fields(value)).get(1, b"") if isinstance(value, bytes) else b""
        return json.loads(raw) if isinstance(raw, bytes) and raw else {}
    if not isinstance(value, bytes):
        raise ProtobufError(f"expected an embedded {kind} message")
    return decode_message(kind, value)


def decode_message(name: str, data: bytes) -> dict[str, Any]:
    """Decode one message of a described type into its JSON form."""
    spec = MESSAGES[name]
    out: dict[str, Any] = {}
    for number, value in _fields(data):
        if number not in spec:
            continue  # unknown or deprecated field
        field, kind = spec[number]
        keep_zero = kind.endswith("?")
        kind = kind.rstrip("?")
        if kind.startswith("map:"):
            entry = dict(_fields(value)) if isinstance(value, bytes) else {}
            key = _scalar("string", entry.get(1, b""))
            out.setdefault(field, {})[key] = _scalar(kind[4:], entry.get(2, b""))
        elif kind.startswith("[]"):
            out.setdefault(field, []).append(_scalar(kind[2:], value))
        else:
            decoded = _scalar(kind, value)
            if not keep_zero and (decoded in (None, "", 0, False) or decoded == {}):
                continue
            out[field] = decoded
    return out


def decode(body: bytes) -> dict[str, Any]:
    """A protobuf-encoded Kubernetes object as the equivalent JSON dict."""
    if not body.startswith(MAGIC):
        raise ProtobufError("the body does not start with the Kubernetes protobuf magic number")
    # runtime.Unknown: 1 typeMeta, 2 raw (the object), 3 contentEncoding, 4 contentType.
    envelope = dict(_fields(body[len(MAGIC):]))
    type_bytes, raw = envelope.get(1, b""), envelope.get(2, b"")
    if not isinstance(type_bytes, bytes) or not isinstance(raw, bytes):
        raise ProtobufError("malformed protobuf envelope")
    type_meta = decode_message("TypeMeta", type_bytes)
    api_version, kind = type_meta.get("apiVersion", ""), type_meta.get("kind", "")
    message = KINDS.get((api_version, kind))
    if message is None:
        raise ProtobufError(f"protobuf bodies are not supported for {kind or 'unknown kind'} "
                            f"({api_version or 'no apiVersion'}); send JSON")
    return {"apiVersion": api_version, "kind": kind, **decode_message(message, raw)}
