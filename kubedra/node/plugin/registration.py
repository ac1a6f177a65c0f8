"""The plugin registration service the kubelet's plugin watcher talks to.

The kubelet dials ``<registry>/<driver>-reg.sock``, asks GetInfo (1 s timeout, and
periodically again in newer kubelets, so it must stay cheap) and reports the
outcome with NotifyRegistrationStatus.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import grpc

from kubedra.node.plugin.proto import pluginregistration_pb2, pluginregistration_pb2_grpc

log = logging.getLogger(__name__)

DRA_PLUGIN_TYPE = "DRAPlugin"


class RegistrationService(pluginregistration_pb2_grpc.RegistrationServicer):
    def __init__(self, driver_name: str, endpoint: str, supported_versions: list[str]) -> None:
        self.info = pluginregistration_pb2.PluginInfo(
            type=DRA_PLUGIN_TYPE, name=driver_name, endpoint=endpoint, supported_versions=supported_versions
        )
        self.registered: bool | None = None  # None until the kubelet reported
        self.error = ""
        self.changed = asyncio.Event()

    async def GetInfo(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        return self.info

    async def NotifyRegistrationStatus(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        self.registered = request.plugin_registered
        self.error = request.error
        self.changed.set()
        if not request.plugin_registered:
            log.error("kubelet rejected plugin %s: %s", self.info.name, request.error)
            await context.abort(grpc.StatusCode.UNKNOWN, f"failed registration process: {request.error}")
        log.info("plugin %s registered with the kubelet", self.info.name)
        return pluginregistration_pb2.RegistrationStatusResponse()
