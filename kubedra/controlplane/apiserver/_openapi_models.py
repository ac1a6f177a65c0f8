"""OpenAPI v3 component schemas, derived from Python models instead of being written by hand.

resource.k8s.io v1/v1beta2 schemas come from kubedra's own msgspec models (so
``kubectl explain`` shows exactly what kubedra stores), with descriptions from
``_openapi_descriptions``. Every other kind (core, apps, batch, rbac, ...,
and resource.k8s.io/v1beta1, whose shape differs) comes from the msgspec models of
``lightkube-models``, a runtime dependency that mirrors the upstream types field
for field; we take only their structure, never their prose.

kubectl needs complete property trees: when it builds a strategic merge patch
from OpenAPI it fails on any field the schema does not list.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import Any

import msgspec
import msgspec.inspect as mi

from kubedra.api.quantity_field import QuantityStr

Schemas = dict[str, dict]

QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
META_PREFIX = "io.k8s.apimachinery.pkg.apis.meta.v1"
TIME: dict = {"type": "string", "format": "date-time"}
INT_OR_STRING: dict = {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]}
FREE_FORM: dict = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
QUANTITY_SCHEMA: dict = {
    "type": "string",
    "description": "A fixed-point number with an optional suffix (binary Ki Mi Gi ..., decimal k M G ..., "
                   "or an exponent), for example 80Gi, 1500m or 4. Also accepted as a bare JSON number.",
}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def component_name(module: str, cls_name: str) -> str:
    """Upstream-style schema name for a lightkube model class (``apps_v1``, ``DaemonSet``)."""
    if module == "meta_v1":
        return f"{META_PREFIX}.{cls_name}"
    group, _, version = module.rpartition("_")
    return f"io.k8s.api.{group}.{version}.{cls_name}"


def lightkube_module(group: str, version: str) -> str:
    return f"{group.split('.')[0] if group else 'core'}_{version}"


def lightkube_class(group: str, version: str, kind: str) -> type | None:
    try:
        module = importlib.import_module(f"lightkube.models.{lightkube_module(group, version)}")
    except ImportError:
        return None
    cls = getattr(module, kind, None)
    return cls if isinstance(cls, type) and issubclass(cls, msgspec.Struct) else None


def lightkube_schema(cls: type, out: Schemas) -> str:
    """Add the schema of a lightkube model class (and everything it uses) to ``out``; return its name."""
    return msgspec_schema(cls, "", out, {})


# Our partial copies of shared types are published as the complete upstream ones.
_SHARED = {
    "kubedra.api.meta.ObjectMeta": ("meta_v1", "ObjectMeta"),
    "kubedra.api.meta.Condition": ("meta_v1", "Condition"),
    "kubedra.api.meta.OwnerReference": ("meta_v1", "OwnerReference"),
    "kubedra.api.core.NodeSelector": ("core_v1", "NodeSelector"),
    "kubedra.api.core.NodeSelectorTerm": ("core_v1", "NodeSelectorTerm"),
    "kubedra.api.core.NodeSelectorRequirement": ("core_v1", "NodeSelectorRequirement"),
}


def _type(t: mi.Type, prefix: str, out: Schemas, descriptions: dict[str, str]) -> dict:
    if isinstance(t, mi.UnionType):
        kept = [x for x in t.types if not isinstance(x, mi.NoneType)]
        if len(kept) == 1:
            return _type(kept[0], prefix, out, descriptions)
        return dict(INT_OR_STRING)  # the only multi-type union in the Kubernetes API
    if isinstance(t, mi.ListType):
        return {"type": "array", "items": _type(t.item_type, prefix, out, descriptions)}
    if isinstance(t, mi.DictType):
        if isinstance(t.value_type, mi.AnyType):
            return dict(FREE_FORM)
        return {"type": "object", "additionalProperties": _type(t.value_type, prefix, out, descriptions)}
    if isinstance(t, mi.StrType):
        return {"type": "string"}
    if isinstance(t, mi.IntType):
        return {"type": "integer", "format": "int64"}
    if isinstance(t, mi.BoolType):
        return {"type": "boolean"}
    if isinstance(t, mi.FloatType):
        return {"type": "number", "format": "double"}
    if isinstance(t, mi.DateTimeType):
        return dict(TIME)
    if isinstance(t, mi.CustomType) and issubclass(t.cls, QuantityStr):
        out.setdefault(QUANTITY, dict(QUANTITY_SCHEMA))
        return ref(QUANTITY)
    if isinstance(t, mi.AnyType):
        return dict(FREE_FORM)
    if isinstance(t, mi.StructType):
        return ref(_struct_schema(t, prefix, out, descriptions))
    raise TypeError(f"no OpenAPI mapping for {t!r}")


def _name(cls: type, prefix: str) -> str:
    module = cls.__module__
    if module.startswith("lightkube.models."):
        return component_name(module.rsplit(".", 1)[1], cls.__name__)
    return f"{prefix}.{cls.__name__}"


def msgspec_schema(cls: type, prefix: str, out: Schemas, descriptions: dict[str, str]) -> str:
    """Add the schema of a msgspec model to ``out`` (kubedra's as ``prefix.<Class>``); return its name."""
    name = _name(cls, prefix)
    if name in out:
        return name
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    return _struct_schema(info, prefix, out, descriptions)


def _struct_schema(info: mi.StructType, prefix: str, out: Schemas, descriptions: dict[str, str]) -> str:
    # Nested StructType info is complete: inspecting each class again would be quadratic.
    cls = info.cls
    qualified = f"{cls.__module__}.{cls.__name__}"
    if qualified in _SHARED:
        module, shared = _SHARED[qualified]
        return lightkube_schema(getattr(importlib.import_module(f"lightkube.models.{module}"), shared), out)
    name = _name(cls, prefix)
    if name in out:
        return name
    schema: dict[str, Any] = {"type": "object", "properties": {}}
    if cls.__name__ in descriptions:
        schema["description"] = descriptions[cls.__name__]
    out[name] = schema
    required = list(REQUIRED.get(cls.__name__, ())) if descriptions else []
    for f in info.fields:
        prop = _wrap(_type(f.type, prefix, out, descriptions))
        text = descriptions.get(f"{cls.__name__}.{f.encode_name}")
        if text:
            prop["description"] = text
        schema["properties"][f.encode_name] = prop
        if f.required and f.encode_name not in required:
            required.append(f.encode_name)
    required = [r for r in required if r in schema["properties"]]
    if required:
        schema["required"] = required
    return name


def _wrap(schema: dict) -> dict:
    """A property that refers to a component gets kube's ``allOf`` wrapper so it can carry a description."""
    if "$ref" in schema:
        return {"allOf": [schema], "default": {}}
    for inner in ("items", "additionalProperties"):
        if isinstance(schema.get(inner), dict) and "$ref" in schema[inner]:
            schema[inner] = {"allOf": [schema[inner]], "default": {}}
    return schema


# Fields resource.k8s.io validation requires (api.md §11); shown as "-required-" by kubectl explain.
REQUIRED: dict[str, tuple[str, ...]] = {
    "DeviceClass": ("spec",),
    "ResourceSlice": ("spec",),
    "ResourceClaim": ("spec",),
    "ResourceClaimTemplate": ("spec",),
    "ResourceClaimTemplateSpec": ("spec",),
    "ResourceSliceSpec": ("driver", "pool"),
    "ResourcePool": ("name", "generation", "resourceSliceCount"),
    "Device": ("name",),
    "DeviceRequest": ("name",),
    "ExactDeviceRequest": ("deviceClassName",),
    "DeviceSubRequest": ("name", "deviceClassName"),
    "CELDeviceSelector": ("expression",),
    "OpaqueDeviceConfiguration": ("driver", "parameters"),
    "DeviceRequestAllocationResult": ("request", "driver", "pool", "device"),
    "ResourceClaimConsumerReference": ("resource", "name", "uid"),
    "AllocatedDeviceStatus": ("driver", "pool", "device"),
    "DeviceTaint": ("key", "effect"),
    "CounterSet": ("name", "counters"),
    "Counter": ("value",),
    "DeviceCounterConsumption": ("counterSet", "counters"),
    "DeviceAllocationConfiguration": ("source",),
}


@cache
def dra_model(kind: str) -> type | None:
    """kubedra's msgspec model for a resource.k8s.io kind, if there is one."""
    from kubedra.api import resource

    cls = getattr(resource, kind, None)
    return cls if isinstance(cls, type) and issubclass(cls, msgspec.Struct) else None

