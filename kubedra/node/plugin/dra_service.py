"""The DRAPlugin gRPC service (v1 and v1beta1, same logic) in front of :class:`ClaimState`.

Claims are fetched from the API server concurrently and BEFORE the serialisation
lock is taken, so a slow API server does not hold up other calls; a claim that is
missing, replaced (different UID) or not allocated gets its own error entry while
the other claims of the batch proceed. Every requested UID is answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import httpx2 as httpx
from lightkube import ApiError, AsyncClient

from kubedra.node.plugin.claims import Claim, ClaimError, ClaimRef, claim_from_object
from kubedra.node.plugin.device_status import DeviceStatusError, write_device_status
from kubedra.node.plugin.kubeapi import ResourceClaim, as_dict
from kubedra.node.plugin.proto import dra_v1_pb2, dra_v1_pb2_grpc, dra_v1beta1_pb2, dra_v1beta1_pb2_grpc
from kubedra.node.plugin.state import ClaimOutcome, ClaimState

log = logging.getLogger(__name__)


class DRAService:
    """Protocol-independent Prepare/Unprepare: fetch, lock, delegate to the claim state."""

    def __init__(
        self,
        state: ClaimState,
        client: AsyncClient | None,
        driver_name: str,
        *,
        serialize: bool = True,
        lock_file: Path | None = None,
    ) -> None:
        self.state = state
        self.client = client
        self.driver_name = driver_name
        self.serialize = serialize
        self.lock_file = lock_file  # flock shared with other instances (rolling update)
        self._lock = asyncio.Lock()

    async def fetch(self, ref: ClaimRef) -> Claim | str:
        if self.client is None:
            return f"claim {ref}: no Kubernetes client configured"
        try:
            obj = as_dict(await self.client.get(ResourceClaim, ref.name, namespace=ref.namespace))
            return claim_from_object(obj, ref, self.driver_name)
        except ClaimError as e:
            return str(e)
        except ApiError as e:
            if e.status.code == 404:
                return f"claim {ref} not found"
            return f"get resource claim {ref}: {e.status.message}"
        except httpx.HTTPStatusError as e:  # an error body lightkube did not recognise as a Status
            if e.response.status_code == 404:
                return f"claim {ref} not found"
            return f"get resource claim {ref}: HTTP {e.response.status_code}"
        except httpx.HTTPError as e:
            return f"get resource claim {ref}: {e}"

    @contextlib.asynccontextmanager
    async def _serialized(self) -> AsyncIterator[None]:
        if not self.serialize:
            yield
            return
        async with self._lock:
            if self.lock_file is None:
                yield
                return
            fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # releases the flock

    async def prepare(self, refs: list[ClaimRef]) -> dict[str, ClaimOutcome]:
        if not refs:
            return {}
        log.info("NodePrepareResources is called: number of claims: %d", len(refs))
        fetched = await asyncio.gather(*(self.fetch(r) for r in refs))
        out: dict[str, ClaimOutcome] = {}
        claims: list[Claim] = []
        for ref, got in zip(refs, fetched, strict=True):
            if isinstance(got, str):
                out[ref.uid] = ClaimOutcome(devices=[], error=got)
            else:
                claims.append(got)
        if claims:
            async with self._serialized():
                out.update(await asyncio.to_thread(self.state.prepare, claims))
            await asyncio.gather(*(self._write_status(c.ref, out[c.uid]) for c in claims if c.uid in out))
        for ref in refs:
            _log_outcome(ref, out.get(ref.uid))
        return out

    async def _write_status(self, ref: ClaimRef, outcome: ClaimOutcome) -> None:
        """Write the status.devices the driver returned; failing to is the claim's error (the kubelet retries)."""
        if outcome.error or not outcome.device_status or self.client is None:
            return
        try:
            await write_device_status(self.client, self.driver_name, ref, outcome.device_status)
        except (DeviceStatusError, httpx.HTTPError) as e:
            outcome.error = str(e)

    async def unprepare(self, refs: list[ClaimRef]) -> dict[str, str | None]:
        if not refs:
            return {}
        log.info("NodeUnprepareResources is called: number of claims: %d", len(refs))
        async with self._serialized():
            errors = await asyncio.to_thread(self.state.unprepare, refs)
        for ref in refs:
            if errors.get(ref.uid):
                log.warning("unpreparing claim %s/%s (%s) failed: %s", ref.namespace, ref.name, ref.uid,
                            errors[ref.uid])
            else:
                log.info("unprepared claim %s/%s (%s)", ref.namespace, ref.name, ref.uid)
        return errors


def _log_outcome(ref: ClaimRef, outcome: ClaimOutcome | None) -> None:
    """One line per claim, like dra-example-driver's: the devices and the CDI IDs handed back."""
    if outcome is None:
        return
    if outcome.error:
        log.warning("preparing claim %s/%s (%s) failed: %s", ref.namespace, ref.name, ref.uid, outcome.error)
        return
    devices = " ".join(f"{{{','.join(d.request_names)} {d.pool_name} {d.device_name} [{' '.join(d.cdi_device_ids)}]}}"
                       for d in outcome.devices)
    log.info("returning prepared devices for claim %s/%s (%s): [%s]", ref.namespace, ref.name, ref.uid, devices)


def _refs(request: Any) -> list[ClaimRef]:
    return [ClaimRef(namespace=c.namespace, name=c.name, uid=c.uid) for c in request.claims]


class _DRAServicer:
    """The DRAPlugin methods, written once for every served proto version.

    The versions differ only in their message module and in whether a device carries a
    ``share_id`` (v1 does, v1beta1 does not); subclasses name both.
    """

    _pb2: Any
    _share_id: bool

    def __init__(self, service: DRAService) -> None:
        self.service = service

    async def NodePrepareResources(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        outcomes = await self.service.prepare(_refs(request))
        response = self._pb2.NodePrepareResourcesResponse()
        for uid, outcome in outcomes.items():
            entry = response.claims[uid]
            if outcome.error:
                entry.error = outcome.error
                continue
            for d in outcome.devices:
                device = entry.devices.add(
                    request_names=d.request_names,
                    pool_name=d.pool_name,
                    device_name=d.device_name,
                    cdi_device_ids=d.cdi_device_ids,
                )
                if self._share_id and d.share_id:
                    device.share_id = d.share_id
        return response

    async def NodeUnprepareResources(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        errors = await self.service.unprepare(_refs(request))
        response = self._pb2.NodeUnprepareResourcesResponse()
        for uid, error in errors.items():
            response.claims[uid].error = error or ""
        return response


class DRAPluginV1(_DRAServicer, dra_v1_pb2_grpc.DRAPluginServicer):
    _pb2 = dra_v1_pb2
    _share_id = True


class DRAPluginV1beta1(_DRAServicer, dra_v1beta1_pb2_grpc.DRAPluginServicer):
    """v1beta1 is v1 without ``share_id``; kubelets 1.32 to 1.33 only speak this one."""

    _pb2 = dra_v1beta1_pb2
    _share_id = False
