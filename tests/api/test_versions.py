"""Conversion between v1, v1beta2, v1beta1 and v1alpha3 (api.md §13), with property-based round trips."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubedra.api import codec, versions
from kubedra.api.resource import ResourceClaim, ResourceSlice

V1BETA1_CLAIM = {
    "apiVersion": "resource.k8s.io/v1beta1",
    "kind": "ResourceClaim",
    "metadata": {"name": "c"},
    "spec": {
        "devices": {
            "requests": [
                {
                    "name": "a",
                    "deviceClassName": "gpu",
                    "count": 2,
                    "selectors": [{"cel": {"expression": "true"}}],
                },
                {"name": "b", "firstAvailable": [{"name": "x", "deviceClassName": "gpu"}]},
            ]
        }
    },
}
V1_CLAIM = {
    "apiVersion": "resource.k8s.io/v1",
    "kind": "ResourceClaim",
    "metadata": {"name": "c"},
    "spec": {
        "devices": {
            "requests": [
                {
                    "name": "a",
                    "exactly": {
                        "deviceClassName": "gpu",
                        "count": 2,
                        "selectors": [{"cel": {"expression": "true"}}],
                    },
                },
                {"name": "b", "firstAvailable": [{"name": "x", "deviceClassName": "gpu"}]},
            ]
        }
    },
}


def test_v1beta1_request_fields_move_under_exactly() -> None:
    assert versions.convert(V1BETA1_CLAIM, versions.V1) == V1_CLAIM
    assert versions.convert(V1_CLAIM, versions.V1BETA1) == V1BETA1_CLAIM
    assert V1BETA1_CLAIM["apiVersion"] == "resource.k8s.io/v1beta1"  # input untouched


def test_template_specs_convert_too() -> None:
    template = {
        "apiVersion": "resource.k8s.io/v1beta1",
        "kind": "ResourceClaimTemplate",
        "spec": {"spec": V1BETA1_CLAIM["spec"]},
    }
    assert versions.convert(template, versions.V1)["spec"]["spec"] == V1_CLAIM["spec"]


def test_basic_device_wrapper_and_alpha_capacity() -> None:
    alpha = {
        "apiVersion": "resource.k8s.io/v1alpha3",
        "kind": "ResourceSlice",
        "spec": {
            "driver": "d",
            "nodeName": "",
            "allNodes": True,
            "devices": [
                {"name": "g", "basic": {"attributes": {"a": {"int": 1}}, "capacity": {"mem": "1Gi"}}}
            ],
        },
    }
    v1 = versions.convert(alpha, versions.V1)
    assert v1["spec"] == {
        "driver": "d",
        "allNodes": True,
        "devices": [{"name": "g", "attributes": {"a": {"int": 1}}, "capacity": {"mem": {"value": "1Gi"}}}],
    }
    beta1 = versions.convert(v1, versions.V1BETA1)
    assert beta1["spec"]["devices"][0] == {
        "name": "g",
        "basic": {"attributes": {"a": {"int": 1}}, "capacity": {"mem": {"value": "1Gi"}}},
    }
    assert versions.convert(beta1, versions.V1ALPHA3)["spec"]["devices"][0]["basic"]["capacity"] == {
        "mem": "1Gi"
    }


def test_unrepresentable_fields_are_errors_not_dropped() -> None:
    v1 = {
        "apiVersion": "resource.k8s.io/v1",
        "kind": "ResourceSlice",
        "spec": {
            "devices": [{"name": "g", "capacity": {"mem": {"value": "1", "requestPolicy": {"default": "1"}}}}]
        },
    }
    with pytest.raises(versions.ConversionError) as exc:
        versions.convert(v1, versions.V1ALPHA3)
    assert exc.value.path == "spec.devices[0].capacity[mem].requestPolicy"
    with pytest.raises(versions.ConversionError, match=r"spec\.allNodes"):
        versions.convert(
            {"apiVersion": versions.V1, "kind": "ResourceSlice", "spec": {"allNodes": False}},
            versions.V1BETA1,
        )
    with pytest.raises(versions.ConversionError, match="DeviceTaintRule exists only"):
        versions.convert({"apiVersion": versions.V1BETA2, "kind": "DeviceTaintRule", "spec": {}}, versions.V1)
    with pytest.raises(versions.ConversionError, match="deviceClassName"):
        versions.convert(
            {
                "apiVersion": versions.V1ALPHA3,
                "kind": "DeviceTaintRule",
                "spec": {"deviceSelector": {"deviceClassName": "x"}},
            },
            versions.V1BETA2,
        )
    with pytest.raises(versions.ConversionError, match="unsupported version"):
        versions.convert({"apiVersion": "resource.k8s.io/v1alpha2", "kind": "ResourceClaim"}, versions.V1)


def test_served_versions() -> None:
    assert versions.is_served(versions.V1, "ResourceClaim")
    assert not versions.is_served(versions.V1ALPHA3, "DeviceClass")
    assert versions.is_served(versions.V1ALPHA3, "DeviceTaintRule")


# --- property-based: any v1 claim/slice converts to every version and back unchanged --------------

names = st.from_regex(r"[a-z][a-z0-9-]{0,10}[a-z0-9]", fullmatch=True)
quantities = st.builds(
    lambda n, s: f"{n}{s}", st.integers(0, 10**6), st.sampled_from(["", "m", "k", "Mi", "Gi"])
)
selectors = st.lists(st.builds(lambda e: {"cel": {"expression": e}}, st.text(max_size=20)), max_size=2)
bodies = st.fixed_dictionaries(
    {"deviceClassName": names},
    optional={
        "selectors": selectors,
        "allocationMode": st.sampled_from(["ExactCount", "All"]),
        "count": st.integers(0, 8),
        "adminAccess": st.booleans(),
        "tolerations": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "key": names,
                    "operator": st.sampled_from(["Equal", "Exists"]),
                    "effect": st.sampled_from(["NoSchedule", "None"]),
                },
            ),
            max_size=2,
        ),
        "capacity": st.fixed_dictionaries({"requests": st.dictionaries(names, quantities, max_size=2)}),
    },
)
requests = st.one_of(
    st.builds(lambda n, b: {"name": n, "exactly": b}, names, bodies),
    st.builds(
        lambda n, subs: {"name": n, "firstAvailable": subs},
        names,
        st.lists(
            st.builds(
                lambda n, b: {"name": n, **{k: v for k, v in b.items() if k != "adminAccess"}}, names, bodies
            ),
            min_size=1,
            max_size=3,
        ),
    ),
)
claims = st.builds(
    lambda reqs: {
        "apiVersion": versions.V1,
        "kind": "ResourceClaim",
        "metadata": {"name": "c"},
        "spec": {"devices": {"requests": reqs}},
    },
    st.lists(requests, max_size=4),
)
attributes = st.dictionaries(
    names,
    st.one_of(
        st.builds(lambda v: {"int": v}, st.integers(-(2**63), 2**63 - 1)),
        st.builds(lambda v: {"bool": v}, st.booleans()),
        st.builds(lambda v: {"string": v}, st.text(max_size=10)),
        st.builds(lambda v: {"version": v}, st.sampled_from(["1.0.0", "2.3.4-rc.1"])),
        st.builds(lambda v: {"strings": v}, st.lists(st.text(max_size=5), min_size=1, max_size=3)),
    ),
    max_size=4,
)
devices = st.builds(
    lambda n, a, c, t: {
        k: v for k, v in {"name": n, "attributes": a, "capacity": c, "taints": t}.items() if v is not None
    },
    names,
    st.one_of(st.none(), attributes),
    st.one_of(st.none(), st.dictionaries(names, st.builds(lambda q: {"value": q}, quantities), max_size=3)),
    st.one_of(
        st.none(),
        st.lists(
            st.fixed_dictionaries({"key": names, "effect": st.sampled_from(["NoSchedule", "NoExecute"])}),
            max_size=2,
        ),
    ),
)
slices = st.builds(
    lambda devs, node: {
        "apiVersion": versions.V1,
        "kind": "ResourceSlice",
        "metadata": {"name": "s"},
        "spec": {
            "driver": "d.example.com",
            "pool": {"name": "p", "generation": 1, "resourceSliceCount": 1},
            **node,
            "devices": devs,
        },
    },
    st.lists(devices, max_size=4),
    st.sampled_from([{"nodeName": "n"}, {"allNodes": True}]),
)


@settings(max_examples=60, deadline=None)
@given(claims)
def test_claims_round_trip_through_every_version_and_the_model(obj: dict[str, Any]) -> None:
    for target in (versions.V1BETA2, versions.V1BETA1, versions.V1ALPHA3):
        assert versions.convert(versions.convert(obj, target), versions.V1) == obj
    assert codec.to_dict(codec.decode(ResourceClaim, obj)) == obj
    assert codec.to_dict(codec.decode(ResourceClaim, codec.to_json(codec.decode(ResourceClaim, obj)))) == obj


@settings(max_examples=60, deadline=None)
@given(slices)
def test_slices_round_trip_through_every_version_and_the_model(obj: dict[str, Any]) -> None:
    for target in (versions.V1BETA2, versions.V1BETA1, versions.V1ALPHA3):
        assert versions.convert(versions.convert(obj, target), versions.V1) == obj
    assert codec.to_dict(codec.decode(ResourceSlice, obj)) == obj
