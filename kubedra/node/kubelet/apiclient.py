"""The API resources the kubelet reads and writes, as lightkube generic (dict) resources.

The kubelet is an API client like the real one: it must work against any API server,
so it talks HTTP through lightkube with a kubeconfig and never imports the control
plane. Objects stay plain JSON dicts (nothing a newer server adds is dropped when the
kubelet writes a status back); typed views come from ``kubedra.api`` where useful.
The classes are not put into lightkube's global registry, so other code in the same
process may still use lightkube's typed classes. Resources a driver uses too (Node,
ResourceClaim, ResourceSlice) and the client constructor come from the SDK's
``kubedra.node.plugin.kubeapi``; the kubelet adds the ones only it needs.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

from lightkube import ApiError, AsyncClient
from lightkube.core import resource as res
from lightkube.generic_resource import (
    GenericGlobalStatus,
    GenericNamespacedResource,
    GenericNamespacedStatus,
    create_api_info,
)

from kubedra.node.plugin.kubeapi import Node, ResourceClaim, ResourceSlice, as_dict, async_client

__all__ = ["Event", "Node", "NodeStatus", "Pod", "PodStatus", "ResourceClaim", "ResourceSlice", "as_dict",
           "client_from", "is_not_found", "now"]

_VERBS = ["delete", "deletecollection", "get", "list", "patch", "post", "put", "watch",
          "global_list", "global_watch"]


def _status_info(parent: res.ApiInfo) -> res.ApiInfo:
    return res.ApiInfo(resource=parent.resource, parent=parent.resource, plural=parent.plural,
                       verbs=["get", "patch", "put"], action="status")


class Pod(GenericNamespacedResource):
    _api_info = create_api_info("", "v1", "Pod", "pods", verbs=_VERBS)


class PodStatus(GenericNamespacedStatus):
    _api_info = _status_info(Pod._api_info)


class NodeStatus(GenericGlobalStatus):
    _api_info = _status_info(Node._api_info)


class Event(GenericNamespacedResource):
    _api_info = create_api_info("", "v1", "Event", "events", verbs=_VERBS)


def client_from(kubeconfig: Path | None, timeout: float = 30.0) -> AsyncClient:
    """A client from ``kubeconfig``, else the usual in-cluster/``$KUBECONFIG`` discovery."""
    return async_client(kubeconfig, timeout, field_manager="kubelet")


def is_not_found(exc: BaseException) -> bool:
    return isinstance(exc, ApiError) and exc.status.code == 404


def now() -> str:
    """RFC 3339 timestamp with second precision, as metav1.Time serialises."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def meta(obj: dict[str, Any]) -> dict[str, Any]:
    value = obj.get("metadata")
    return value if isinstance(value, dict) else {}
