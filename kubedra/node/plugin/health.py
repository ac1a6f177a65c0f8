"""gRPC liveness endpoint (``grpc.health.v1``) for a kubelet ``grpc`` liveness probe.

A process that is alive but whose sockets are gone or wedged is not healthy, so
Check answers SERVING only after a real GetInfo on the registration socket and an
empty NodePrepareResources on the DRA socket both succeed (like the Go example
driver). Service names ``""`` and ``"liveness"`` are known.
"""

from __future__ import annotations

import logging
from typing import Any

import grpc

from kubedra.node.plugin.proto import (
    dra_v1_pb2,
    dra_v1_pb2_grpc,
    health_pb2,
    health_pb2_grpc,
    pluginregistration_pb2,
    pluginregistration_pb2_grpc,
)

log = logging.getLogger(__name__)

SERVICES = ("", "liveness")


class HealthService(health_pb2_grpc.HealthServicer):
    def __init__(self, registration_socket: str, dra_socket: str, timeout: float = 5.0) -> None:
        self.registration_socket = registration_socket
        self.dra_socket = dra_socket
        self.timeout = timeout

    async def Check(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        if request.service not in SERVICES:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"unknown service {request.service!r}")
        status = health_pb2.HealthCheckResponse.SERVING
        try:
            async with grpc.aio.insecure_channel(f"unix://{self.registration_socket}") as channel:
                await pluginregistration_pb2_grpc.RegistrationStub(channel).GetInfo(
                    pluginregistration_pb2.InfoRequest(), timeout=self.timeout
                )
            async with grpc.aio.insecure_channel(f"unix://{self.dra_socket}") as channel:
                await dra_v1_pb2_grpc.DRAPluginStub(channel).NodePrepareResources(
                    dra_v1_pb2.NodePrepareResourcesRequest(), timeout=self.timeout
                )
        except grpc.aio.AioRpcError as e:
            log.warning("liveness check failed: %s", e.details())
            status = health_pb2.HealthCheckResponse.NOT_SERVING
        return health_pb2.HealthCheckResponse(status=status)
