"""The few Kubernetes API resources the SDK touches, as lightkube generic (dict) resources.

Drivers must run against a real cluster, so the SDK talks HTTP through lightkube
and never imports kubedra's control plane. Generic resources keep the objects as
plain JSON dicts: nothing a newer API server adds is dropped, and a claim field the
typed models do not know yet (``shareID``, ``consumedCapacity`` …) stays visible.
The classes are deliberately NOT put into lightkube's global resource registry, so
other code in the same process may still use lightkube's typed classes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx2 as httpx
from lightkube import AsyncClient, KubeConfig
from lightkube.core.resource import ApiInfo, ResourceDef
from lightkube.generic_resource import (
    GenericGlobalResource,
    GenericNamespacedResource,
    GenericNamespacedStatus,
    create_api_info,
)

_VERBS = ["delete", "deletecollection", "get", "list", "patch", "post", "put", "watch", "global_list",
          "global_watch"]


class ResourceClaim(GenericNamespacedResource):
    _api_info = create_api_info("resource.k8s.io", "v1", "ResourceClaim", "resourceclaims", verbs=_VERBS)


class ResourceClaimStatus(GenericNamespacedStatus):
    """The ``status`` subresource, for drivers that report device status."""

    _api_info = ApiInfo(
        resource=ResourceDef("resource.k8s.io", "v1", "ResourceClaim"),
        parent=ResourceDef("resource.k8s.io", "v1", "ResourceClaim"),
        plural="resourceclaims",
        verbs=["get", "patch", "put"],
        action="status",
    )


class ResourceSlice(GenericGlobalResource):
    _api_info = create_api_info("resource.k8s.io", "v1", "ResourceSlice", "resourceslices", verbs=_VERBS)


class Node(GenericGlobalResource):
    _api_info = create_api_info("", "v1", "Node", "nodes", verbs=_VERBS)


def as_dict(obj: Any) -> dict[str, Any]:
    """The JSON form of a generic resource returned by lightkube."""
    data: dict[str, Any] = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
    return data


def async_client(kubeconfig: Path | None = None, timeout: float = 30.0,
                 field_manager: str | None = None) -> AsyncClient:
    """A client from ``kubeconfig``, else the usual in-cluster/``$KUBECONFIG`` discovery.

    Shared by drivers and the kubelet, the node side's two API clients."""
    if kubeconfig is not None:
        return AsyncClient(config=KubeConfig.from_file(str(kubeconfig)), timeout=httpx.Timeout(timeout),
                           field_manager=field_manager)
    return AsyncClient(timeout=httpx.Timeout(timeout), field_manager=field_manager)
