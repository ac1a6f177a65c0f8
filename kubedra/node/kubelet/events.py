"""core/v1 Events about pods, as the kubelet reports them (``kubectl describe pod`` shows them).

An identical event (same object, reason and message) is not recorded twice: a pod
whose claims fail to prepare retries every few seconds and must not flood the API.
A failure to record an event is logged and never stops the kubelet.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from lightkube import ApiError, AsyncClient

from kubedra.node.kubelet.apiclient import Event, meta, now

log = logging.getLogger(__name__)


class EventRecorder:
    def __init__(self, client: AsyncClient, node_name: str) -> None:
        self.client = client
        self.node_name = node_name
        self._seen: set[tuple[str, str, str]] = set()

    async def record(self, pod: dict[str, Any], event_type: str, reason: str, message: str) -> None:
        pod_meta = meta(pod)
        key = (str(pod_meta.get("uid")), reason, message)
        if key in self._seen:
            return
        self._seen.add(key)
        namespace = pod_meta.get("namespace") or "default"
        stamp = now()
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": f"{pod_meta.get('name')}.{secrets.token_hex(8)}", "namespace": namespace},
            "involvedObject": {"apiVersion": "v1", "kind": "Pod", "namespace": namespace,
                               "name": pod_meta.get("name"), "uid": pod_meta.get("uid")},
            "reason": reason,
            "message": message,
            "type": event_type,
            "source": {"component": "kubelet", "host": self.node_name},
            "reportingComponent": "kubelet",
            "reportingInstance": self.node_name,
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
        }
        try:
            await self.client.create(Event(body), namespace=namespace)  # type: ignore[call-overload]
        except (ApiError, OSError) as exc:
            log.warning("cannot record event %s for pod %s/%s: %s", reason, namespace, pod_meta.get("name"), exc)
        except Exception as exc:  # httpx transport errors
            log.warning("cannot record event %s: %s", reason, exc)

    def forget(self, pod_uid: str) -> None:
        self._seen = {k for k in self._seen if k[0] != pod_uid}
