"""``pods/exec``: the API server relays a WebSocket exec session to the kubelet running the pod.

kubectl ≥ 1.30 opens ``/api/v1/namespaces/{ns}/pods/{name}/exec?command=…`` as a WebSocket
(``v5.channel.k8s.io`` first). The API server resolves pod → node → kubelet endpoint (the
same ``LogSource`` lookup as ``pods/log``), opens ``/exec/{ns}/{pod}/{container}`` on the
kubelet offering the client's subprotocols, and only then accepts the client with the
subprotocol the kubelet chose; frames are relayed unchanged both ways. Errors before the
upgrade are ordinary API errors (404 pod, 400 container not running).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import aiohttp
from aiohttp import WSMsgType, web

from kubedra.controlplane.apiserver import errors
from kubedra.controlplane.apiserver.logs import LogSource, select_container
from kubedra.controlplane.apiserver.registry import Registry
from kubedra.controlplane.apiserver.resources import by_name

_FORWARDED = ("command", "stdin", "stdout", "stderr", "tty")


async def serve_exec(request: web.Request, registry: Registry, source: LogSource, namespace: str,
                     name: str) -> web.StreamResponse:
    pod = registry.get(by_name("pods"), namespace, name).decode()
    container = select_container(pod, request.query.get("container"), init_containers=False)
    node = (pod.get("spec") or {}).get("nodeName")
    if not node or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed", "Pending", None):
        raise errors.BadRequest(f"cannot exec into a container in a completed or not running pod; "
                                f"current phase is {(pod.get('status') or {}).get('phase') or 'Pending'}")
    if request.headers.get("Upgrade", "").lower() != "websocket":
        raise errors.BadRequest("pods/exec needs a WebSocket upgrade (v5.channel.k8s.io); SPDY is not supported")
    url = f"{source.kubelet_url(node)}/exec/{namespace}/{name}/{container}"
    params = [(k, v) for k, v in request.query.items() if k in _FORWARDED]
    protocols = tuple(p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip())
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_connect=5))
    try:
        try:
            upstream = await session.ws_connect(url, params=params, protocols=protocols, max_msg_size=0)
        except aiohttp.WSServerHandshakeError as exc:
            raise errors.APIError(exc.message or f"kubelet answered {exc.status}", code=exc.status,
                                  reason="BadRequest" if exc.status < 500 else "InternalError") from None
        except aiohttp.ClientError as exc:
            raise errors.ServiceUnavailable(f'cannot reach the kubelet on node "{node}": {exc}') from None
        client = web.WebSocketResponse(protocols=(upstream.protocol,) if upstream.protocol else (), max_msg_size=0)
        await client.prepare(request)

        async def relay(source_ws: Any, sink: Any) -> None:
            async for message in source_ws:
                if message.type == WSMsgType.BINARY:
                    await sink.send_bytes(message.data)
                elif message.type == WSMsgType.TEXT:
                    await sink.send_str(message.data)
            await sink.close()

        tasks = [asyncio.create_task(relay(upstream, client)), asyncio.create_task(relay(client, upstream))]
        _, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        # The kubelet closing ends the session; let the last frames reach the client first.
        with contextlib.suppress(asyncio.TimeoutError, ConnectionError):
            await asyncio.wait_for(asyncio.gather(*pending, return_exceptions=True), 1.0)
        for task in pending:
            task.cancel()
        await upstream.close()
        await client.close()
        return client
    finally:
        await session.close()
