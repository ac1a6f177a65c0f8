"""``pods/log``: the API server streams container logs from the kubelet that runs the pod.

Same contract as Kubernetes: the kubelet publishes where it listens in its Node object
(``status.daemonEndpoints.kubeletEndpoint.Port`` plus an ``InternalIP`` in ``status.addresses``;
kubedra kubelets listen on loopback over plain HTTP) and serves
``GET /containerLogs/{namespace}/{pod}/{container}`` with the same query parameters as
``pods/log`` (follow, tailLines, sinceSeconds, sinceTime, timestamps, limitBytes, previous).
The API server resolves pod → node → endpoint and proxies the byte stream, so ``kubectl logs -f``
works unchanged. ``LogSource`` is the seam: tests or other runtimes can plug in their own.
"""

from __future__ import annotations

from typing import Any, Protocol

import aiohttp
from aiohttp import web

from kubedra.controlplane.apiserver import errors
from kubedra.controlplane.apiserver.registry import Registry
from kubedra.controlplane.apiserver.resources import by_name

_FORWARDED_PARAMS = ("follow", "tailLines", "sinceSeconds", "sinceTime", "timestamps", "limitBytes", "previous")


class LogSource(Protocol):
    def kubelet_url(self, node_name: str) -> str:
        """Base URL of the kubelet on ``node_name`` (raises an APIError if unknown)."""
        ...


class NodeLogSource:
    """Finds the kubelet through the Node object, like kube-apiserver does."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def kubelet_url(self, node_name: str) -> str:
        try:
            node = self.registry.get(by_name("nodes"), None, node_name).decode()
        except errors.NotFound:
            raise errors.NotFound(f'nodes "{node_name}" not found') from None
        status = node.get("status") or {}
        port = ((status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}).get("Port")
        if not port:
            raise errors.BadRequest(f'node "{node_name}" publishes no kubelet endpoint '
                                    "(status.daemonEndpoints.kubeletEndpoint.Port)")
        address = next((a.get("address") for a in status.get("addresses") or []
                        if a.get("type") == "InternalIP" and a.get("address")), "127.0.0.1")
        host = f"[{address}]" if ":" in address else address
        return f"http://{host}:{int(port)}"


def select_container(pod: dict[str, Any], requested: str | None, *, init_containers: bool) -> str:
    """The container a pods/log or pods/exec request means: the named one, or the only one.

    Logs may name an init container; exec may not (kube-apiserver's rule for both).
    """
    name = pod["metadata"]["name"]
    containers = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
    if requested:
        init = [c.get("name") for c in (pod.get("spec") or {}).get("initContainers") or []] if init_containers else []
        if requested not in containers and requested not in init:
            raise errors.BadRequest(f"container {requested} is not valid for pod {name}")
        return requested
    if len(containers) == 1:
        return str(containers[0])
    raise errors.BadRequest(f"a container name must be specified for pod {name}, choose one of: "
                            f"[{' '.join(str(c) for c in containers)}]")


async def serve_log(request: web.Request, registry: Registry, source: LogSource, namespace: str,
                    name: str) -> web.StreamResponse:
    pod = registry.get(by_name("pods"), namespace, name).decode()
    container = select_container(pod, request.query.get("container"), init_containers=True)
    node = (pod.get("spec") or {}).get("nodeName")
    if not node:
        raise errors.BadRequest(f'container "{container}" in pod "{name}" is waiting to start: '
                                "pod is not scheduled to a node yet")
    url = f"{source.kubelet_url(node)}/containerLogs/{namespace}/{name}/{container}"
    params = {k: v for k, v in request.query.items() if k in _FORWARDED_PARAMS}
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=5)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url, params=params) as upstream:
            if upstream.status != 200:
                text = (await upstream.text())[:2000]
                raise errors.APIError(text or f"kubelet answered {upstream.status}", code=upstream.status,
                                      reason="BadRequest" if upstream.status < 500 else "InternalError")
            response = web.StreamResponse(headers={"Content-Type": "text/plain"})
            await response.prepare(request)
            async for chunk in upstream.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response
    except aiohttp.ClientError as exc:
        raise errors.ServiceUnavailable(f'cannot reach the kubelet on node "{node}": {exc}') from None
