"""The memoised managed-fields bookkeeping gives exactly what the plain computation gives.

``apply.py`` memoises FieldsV1 decoding/encoding and the per-field walks; here every write of
randomized chains of pod writes (several managers, status subresource, keyed and set lists,
1 vs 1.0 vs true, malformed keyed lists, rewritten managedFields, server-side applies) runs
twice: through the module as shipped, and with the memoised helpers swapped for the plain
``from_fields_v1`` / ``to_fields_v1`` / ``object_values``. Results (bytes) and errors must match.
"""

from __future__ import annotations

import copy
from typing import Any
from unittest import mock

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubedra.controlplane.apiserver import apply
from kubedra.controlplane.apiserver._patch_fieldpath import (
    FieldPathError,
    FieldSet,
    from_fields_v1,
    object_values,
    to_fields_v1,
)

T = ["2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z", "2026-01-01T00:00:02Z"]
MANAGERS = ["kubectl", "scheduler", "controller"]


def _plain_values_of(obj: dict, kind: str, what: str) -> dict:
    try:
        return object_values(obj, kind)
    except FieldPathError as exc:
        raise apply.ApplyError(f"{what}: {exc}") from exc


def _plain_units_of(obj: dict, kind: str, what: str) -> dict:
    """One unit holding every value and no bytes: the reference compares every field."""
    return {("all", None): (None, _plain_values_of(obj, kind, what))}


def _reference() -> Any:
    return mock.patch.multiple(apply, _cached_from_fields_v1=from_fields_v1, _cached_to_fields_v1=to_fields_v1,
                               _values_of=_plain_values_of, _units_of=_plain_units_of,
                               _decode_entry_fields=lambda trie: (frozenset(from_fields_v1(trie)), None))


scalars = st.sampled_from([1, 1.0, True, False, "a", "b", 0, None])
names = st.sampled_from(["c1", "c2", "c3"])
container = st.fixed_dictionaries({"name": names}, optional={
    "image": st.sampled_from(["img:1", "img:2"]),
    "args": st.lists(scalars, max_size=2),
    "ports": st.lists(st.fixed_dictionaries({"containerPort": st.sampled_from([80, 81])},
                                            optional={"protocol": st.sampled_from(["TCP", "UDP"])}), max_size=2),
    "env": st.lists(st.fixed_dictionaries({}, optional={"name": names, "value": scalars}), max_size=2),
})
pod = st.fixed_dictionaries(
    {"apiVersion": st.just("v1"), "kind": st.just("Pod"),
     "metadata": st.fixed_dictionaries({"name": st.just("p"), "namespace": st.just("ns")}, optional={
         "labels": st.dictionaries(st.sampled_from(["app", "tier", "x"]), st.sampled_from(["a", "b"]), max_size=3),
         "annotations": st.dictionaries(st.sampled_from(["n1", "n2"]), st.sampled_from(["1", "2"]), max_size=2),
         "finalizers": st.lists(st.sampled_from(["f1", "f2", "f3"]), max_size=3),
         "resourceVersion": st.sampled_from(["1", "2"]),
     })},
    optional={
        "spec": st.fixed_dictionaries({}, optional={
            "containers": st.lists(container, max_size=3),
            "nodeName": st.sampled_from(["n1", "n2", None]),
            "tolerations": st.lists(st.fixed_dictionaries({"key": st.sampled_from(["a", "b"])}), max_size=2),
            "priority": scalars,
            "resourceClaims": st.lists(st.fixed_dictionaries({"name": names}), max_size=2),
        }),
        "status": st.fixed_dictionaries({}, optional={
            "phase": st.sampled_from(["Pending", "Running"]),
            "conditions": st.lists(st.fixed_dictionaries(
                {"type": st.sampled_from(["Ready", "PodScheduled"])},
                optional={"status": st.sampled_from(["True", "False"]), "reason": scalars}), max_size=2),
            "resourceClaimStatuses": st.lists(st.fixed_dictionaries(
                {"name": names}, optional={"resourceClaimName": st.sampled_from(["x", "y"])}), max_size=2),
        }),
    },
)
step = st.tuples(
    st.sampled_from(["update", "update", "update", "status", "apply", "rewrite"]),
    st.sampled_from(MANAGERS), pod, st.booleans())


def _run(kind: str, old: dict | None, new: dict, manager: str, force: bool, now: str) -> tuple[str, bytes]:
    try:
        if kind == "apply":
            applied = {k: v for k, v in new.items() if k != "status"}
            result = apply.server_side_apply(old, applied, manager=manager, force=force, now=now,
                                             reset_fields=("status",))
        else:
            result = apply.update_managed_fields(old, new, manager=manager, now=now,
                                                 subresource="status" if kind == "status" else None)
    except apply.ApplyError as exc:
        return (type(exc).__name__, f"{exc.status} {exc.message}".encode())
    return ("ok", msgspec.json.encode(result))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step, min_size=1, max_size=5))
def test_memoised_bookkeeping_matches_plain_computation(steps: list) -> None:
    old: dict | None = None
    for i, (kind, manager, new, force) in enumerate(steps):
        now = T[i % len(T)]
        if kind == "rewrite" and old is not None:
            # kubectl's client-side-apply upgrade rewrites managedFields in the request itself.
            entries = copy.deepcopy((old.get("metadata") or {}).get("managedFields") or [])
            new["metadata"]["managedFields"] = entries[:1] if force else []
        got = _run(kind, copy.deepcopy(old), copy.deepcopy(new), manager, force, now)
        with _reference():
            want = _run(kind, copy.deepcopy(old), copy.deepcopy(new), manager, force, now)
        assert got == want
        if got[0] == "ok":
            old = msgspec.json.decode(got[1])


def test_trie_encoder_matches_to_fields_v1() -> None:
    """The one-pass encoder orders keys and places "." members exactly as ``to_fields_v1``."""
    cases: list[FieldSet] = [set(), {()}, {(), (("f", "a"),)}, {(("f", "a"),), (("f", "a"), ("f", "b"))},
             {(("f", "spec"), ("f", "containers"), ("k", '{"name":"c"}')),
              (("f", "spec"), ("f", "containers"), ("k", '{"name":"c"}'), ("f", "image")),
              (("f", "spec"), ("f", "containers"), ("k", '{"name":"b"}'), ("f", "image")),
              (("f", "metadata"), ("f", "finalizers"), ("v", '"x"')), (("f", "a:b"),), (("i", 10),), (("i", 2),)}]
    for fields in cases:
        want = msgspec.json.encode(to_fields_v1(fields))
        assert msgspec.json.encode(apply._fields_v1_trie(frozenset(fields))) == want
        # and through the cache, twice (miss, then hit), with the decode side seeded consistently
        assert msgspec.json.encode(apply._cached_to_fields_v1(set(fields))) == want
        assert msgspec.json.encode(apply._cached_to_fields_v1(set(fields))) == want
        assert apply._cached_from_fields_v1(msgspec.json.decode(want)) == from_fields_v1(msgspec.json.decode(want))


def test_cached_results_are_private_copies() -> None:
    """A caller that changes what it got back cannot change the next answer."""
    fields: FieldSet = {(("f", "spec"), ("f", "x"))}
    first = apply._cached_to_fields_v1(fields)
    first["f:spec"]["f:y"] = {}
    assert apply._cached_to_fields_v1(fields) == {"f:spec": {"f:x": {}}}
    decoded = apply._cached_from_fields_v1({"f:spec": {"f:x": {}}})
    decoded.add((("f", "z"),))
    assert apply._cached_from_fields_v1({"f:spec": {"f:x": {}}}) == fields
