"""Register this kubelet's Node and keep its status (Ready condition, heartbeat) current.

The Node carries what other components need from a kubelet: the
``kubernetes.io/hostname`` label (node selectors, DRA node selectors), a Ready
condition whose ``lastHeartbeatTime`` moves every ``HEARTBEAT`` seconds, and where the
kubelet's HTTP endpoint is (``addresses`` + ``daemonEndpoints.kubeletEndpoint.Port``)
so the API server can proxy logs and exec.
"""

from __future__ import annotations

import asyncio
import logging
import os
import platform
from typing import Any

from lightkube import ApiError, AsyncClient
from lightkube.types import PatchType

from kubedra.api.topology import node_role_labels, node_role_taints
from kubedra.node.kubelet.apiclient import Node, NodeStatus, as_dict, is_not_found, now

log = logging.getLogger(__name__)

HEARTBEAT = 10.0
KUBELET_VERSION = "v1.36.0-kubedra"


def _arch() -> str:
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


class NodeStatusManager:
    def __init__(self, client: AsyncClient, node_name: str, host_ip: str, kubelet_port: int,
                 labels: dict[str, str] | None = None, taints: list[dict[str, Any]] | None = None) -> None:
        self.client = client
        self.node_name = node_name
        self.host_ip = host_ip
        self.kubelet_port = kubelet_port
        self.labels = {
            "kubernetes.io/hostname": node_name,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": _arch(),
            **node_role_labels(node_name),
            **(labels or {}),
        }
        self.taints = list(taints or [])
        self.uid: str | None = None
        self._ready_since = now()

    async def register(self) -> dict[str, Any]:
        """Create the Node, or adopt an existing one (adding our labels and missing taints); then
        post the status. Taints come from ``--register-with-taints`` and, as in kind, from the
        control-plane role of the node's name."""
        taints = self.taints + [t for t in node_role_taints(self.node_name) if t not in self.taints]
        body = {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": self.node_name, "labels": self.labels}, "spec": {"taints": taints}}
        try:
            node = as_dict(await self.client.create(Node(body)))  # type: ignore[call-overload]
        except ApiError as exc:
            if exc.status.code != 409:
                raise
            existing = as_dict(await self.client.get(Node, self.node_name))
            have = (existing.get("spec") or {}).get("taints") or []
            missing = [t for t in taints if not any(h.get("key") == t["key"] and h.get("effect") == t["effect"]
                                                    for h in have)]
            patch: dict[str, Any] = {"metadata": {"labels": self.labels}}
            if missing:
                patch["spec"] = {"taints": have + missing}
            node = as_dict(await self.client.patch(Node, self.node_name, patch, patch_type=PatchType.MERGE))
        self.uid = (node.get("metadata") or {}).get("uid")
        await self.post_status()
        return node

    def status(self) -> dict[str, Any]:
        stamp = now()
        return {
            "conditions": [
                {"type": "Ready", "status": "True", "reason": "KubeletReady",
                 "message": "kubelet is posting ready status", "lastHeartbeatTime": stamp,
                 "lastTransitionTime": self._ready_since},
                *({"type": kind, "status": "False", "reason": reason, "message": message,
                   "lastHeartbeatTime": stamp, "lastTransitionTime": self._ready_since}
                  for kind, reason, message in (
                      ("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                      ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                      ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"))),
            ],
            "addresses": [{"type": "InternalIP", "address": self.host_ip},
                          {"type": "Hostname", "address": self.node_name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": self.kubelet_port}},
            "capacity": {"cpu": str(os.cpu_count() or 1), "memory": f"{_memory_kib()}Ki", "pods": "110"},
            "allocatable": {"cpu": str(os.cpu_count() or 1), "memory": f"{_memory_kib()}Ki", "pods": "110"},
            "nodeInfo": {"kubeletVersion": KUBELET_VERSION, "kubeProxyVersion": "",
                         "operatingSystem": "linux", "architecture": _arch(),
                         "containerRuntimeVersion": "kubedra-local://1", "osImage": platform.platform(),
                         "kernelVersion": platform.release(), "machineID": "", "systemUUID": "", "bootID": ""},
        }

    async def post_status(self) -> None:
        await self.client.patch(NodeStatus, self.node_name, {"status": self.status()},
                                patch_type=PatchType.MERGE)

    async def heartbeat(self, interval: float = HEARTBEAT) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.post_status()
            except ApiError as exc:
                if is_not_found(exc):  # someone deleted the Node: register again, as a kubelet does
                    log.warning("node %s was deleted; registering again", self.node_name)
                    try:
                        await self.register()
                    except Exception as again:
                        log.warning("re-registering node %s failed: %s", self.node_name, again)
                else:
                    log.warning("node status update failed: %s", exc)
            except Exception as exc:
                log.warning("node status update failed: %s", exc)


def _memory_kib() -> int:
    try:
        with open("/proc/meminfo") as info:
            for line in info:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0
