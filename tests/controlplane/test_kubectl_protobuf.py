"""Protobuf request bodies, as kubectl's and helm's typed clients send them."""

from __future__ import annotations

import base64
import json

import pytest

from kubedra.controlplane.apiserver import protobuf

# Bodies captured from the real kubectl 1.34 (`kubectl create namespace x`, `create secret generic s -n x
# --from-literal=a=b --type=helm.sh/release.v1`, `create serviceaccount sa1 -n x`).
CAPTURED = {
    "namespace": "azhzAAoPCgJ2MRIJTmFtZXNwYWNlEhkKEQoBeBIAGgAiACoAMgA4AEIAEgAaAgoAGgAiAA==",
    "secret": "azhzAAoMCgJ2MRIGU2VjcmV0EjAKEgoBcxIAGgF4IgAqADIAOABCABIGCgFhEgFiGhJoZWxtLnNoL3JlbGVhc2UudjEaACIA",
    "serviceaccount": "azhzAAoUCgJ2MRIOU2VydmljZUFjY291bnQSFgoUCgNzYTESABoBeCIAKgAyADgAQgAaACIA",
}


def test_captured_kubectl_bodies():
    assert protobuf.decode(base64.b64decode(CAPTURED["namespace"])) == {
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}
    assert protobuf.decode(base64.b64decode(CAPTURED["secret"])) == {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "x"},
        "data": {"a": base64.b64encode(b"b").decode()}, "type": "helm.sh/release.v1"}
    assert protobuf.decode(base64.b64decode(CAPTURED["serviceaccount"])) == {
        "apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "sa1", "namespace": "x"}}


# A minimal encoder, only for building test inputs.
def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number: int, value: int | bytes | str) -> bytes:
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    data = value.encode() if isinstance(value, str) else value
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def entry(number: int, key: str, value: str | bytes) -> bytes:
    return field(number, field(1, key) + field(2, value))


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    return b"k8s\x00" + field(1, field(1, api_version) + field(2, kind)) + field(2, raw)


def test_full_object_metadata_round_trip():
    fields_v1 = json.dumps({"f:data": {"f:release": {}}}).encode()
    meta = (field(1, "sh.helm.release.v1.demo.v1") + field(3, "demo") + field(5, "uid-1") + field(6, "42")
            + field(7, 3) + field(8, field(1, 1762415669)) + field(10, 0)
            + entry(11, "owner", "helm") + entry(11, "status", "deployed") + entry(12, "note", "x")
            + field(13, field(1, "Pod") + field(3, "p") + field(4, "u") + field(5, "v1") + field(6, 1))
            + field(14, "a/b") + field(14, "c/d")
            + field(17, field(1, "helm") + field(2, "Update") + field(3, "v1") + field(4, field(1, 1762415669))
                    + field(6, "FieldsV1") + field(7, field(1, fields_v1))))
    body = envelope("v1", "Secret", field(1, meta) + entry(2, "release", b"\x00\xffdata") + field(3, "helm.sh/release.v1")
                    + field(5, 0))
    obj = protobuf.decode(body)
    assert obj["metadata"] == {
        "name": "sh.helm.release.v1.demo.v1", "namespace": "demo", "uid": "uid-1", "resourceVersion": "42",
        "generation": 3, "creationTimestamp": "2025-11-06T07:54:29Z", "deletionGracePeriodSeconds": 0,
        "labels": {"owner": "helm", "status": "deployed"}, "annotations": {"note": "x"},
        "ownerReferences": [{"kind": "Pod", "name": "p", "uid": "u", "apiVersion": "v1", "controller": True}],
        "finalizers": ["a/b", "c/d"],
        "managedFields": [{"manager": "helm", "operation": "Update", "apiVersion": "v1",
                           "time": "2025-11-06T07:54:29Z", "fieldsType": "FieldsV1",
                           "fieldsV1": {"f:data": {"f:release": {}}}}],
    }
    assert obj["data"] == {"release": base64.b64encode(b"\x00\xffdata").decode()}
    assert obj["immutable"] is False  # a pointer field: an explicit false is kept


def test_configmap_and_delete_options():
    cm = protobuf.decode(envelope("v1", "ConfigMap", field(1, field(1, "c")) + entry(2, "k", "v")
                                  + entry(3, "bin", b"\x01")))
    assert cm == {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"},
                  "binaryData": {"bin": "AQ=="}}
    options = protobuf.decode(envelope("meta.k8s.io/v1", "DeleteOptions", field(1, 0) + field(4, "Background")
                                       + field(2, field(1, "uid-9")) + field(5, "All")))
    assert options == {"apiVersion": "meta.k8s.io/v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0,
                       "propagationPolicy": "Background", "preconditions": {"uid": "uid-9"}, "dryRun": ["All"]}


@pytest.mark.parametrize("body, fragment", [
    (b'{"kind": "Secret"}', "magic"),
    (envelope("apps/v1", "Deployment", b""), "Deployment (apps/v1)"),
    (b"k8s\x00" + b"\x0a\x05ab", "truncated"),
    (b"k8s\x00" + b"\x0b", "wire type"),
])
def test_bad_bodies_raise_protobuf_error(body, fragment):
    with pytest.raises(protobuf.ProtobufError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        protobuf.decode(body)
