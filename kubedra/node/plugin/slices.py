"""ResourceSlice publisher: keeps the API server's slices equal to what the driver offers.

A driver describes pools of devices; this module splits each pool into slices within
the API limits, writes them with the conventions consumers rely on (``nodeName``, an
owner reference to the Node so they are garbage-collected with it, one pool
generation across all slices, ``resourceSliceCount``) and puts them back when
someone deletes them (the kubelet wipes its node's slices at start). Syncs are
coalesced and rate-limited so a burst of watch events costs one round of writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx2 as httpx
from lightkube import ApiError, AsyncClient

from kubedra.api.codec import to_dict
from kubedra.node.plugin.kubeapi import Node, ResourceSlice, as_dict

log = logging.getLogger(__name__)

MAX_DEVICES = 128
MAX_DEVICES_ADVANCED = 64  # a slice with any device using taints or consumesCounters
MAX_COUNTER_SETS = 8

_INDEX = re.compile(r"^([0-9a-f]{5,})-")


@dataclass
class SliceContent:
    """The devices and/or counter sets of one slice, for drivers that split pools themselves."""

    devices: Sequence[Any] = ()
    shared_counters: Sequence[Any] = ()


@dataclass
class Pool:
    """A pool of devices (``kubedra.api.resource.Device`` structs or JSON dicts).

    Without ``slices`` the publisher splits: counter sets first (≤8 per slice), then
    devices (≤128 per slice, ≤64 when a slice holds taints or counter consumption).
    A ``generation`` above the published one is used as is.
    """

    devices: Sequence[Any] = ()
    shared_counters: Sequence[Any] = ()
    slices: Sequence[SliceContent] | None = None
    generation: int = 0


@dataclass
class DriverResources:
    pools: Mapping[str, Pool] = field(default_factory=dict)


def _json(obj: Any) -> Any:
    return obj if isinstance(obj, dict) else to_dict(obj)


def split_pool(pool: Pool) -> list[dict[str, Any]]:
    """The ``spec`` fragments (``devices`` / ``sharedCounters``) of each slice of ``pool``."""
    if pool.slices is not None:
        return [_fragment(s.devices, s.shared_counters) for s in pool.slices]
    fragments: list[dict[str, Any]] = []
    counters = [_json(c) for c in pool.shared_counters]
    for i in range(0, len(counters), MAX_COUNTER_SETS):
        fragments.append({"sharedCounters": counters[i : i + MAX_COUNTER_SETS]})
    chunk: list[dict[str, Any]] = []
    advanced = False
    for device in (_json(d) for d in pool.devices):
        is_advanced = bool(device.get("taints") or device.get("consumesCounters"))
        limit = MAX_DEVICES_ADVANCED if advanced or is_advanced else MAX_DEVICES
        if len(chunk) + 1 > limit:
            fragments.append({"devices": chunk})
            chunk, advanced = [], False
        chunk.append(device)
        advanced = advanced or is_advanced
    if chunk or not fragments:
        fragments.append({"devices": chunk})
    return fragments


def _fragment(devices: Sequence[Any], counters: Sequence[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if devices:
        out["devices"] = [_json(d) for d in devices]
    if counters:
        out["sharedCounters"] = [_json(c) for c in counters]
    return out


def _content(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A spec minus the pool bookkeeping, for comparing desired with stored slices."""
    out = {k: v for k, v in spec.items() if k != "pool" and v not in (None, [], {})}
    return out


class SlicePublisher:
    """Publishes one driver's pools for one node; :meth:`run` until cancelled."""

    def __init__(
        self,
        client: AsyncClient,
        driver: str,
        node_name: str,
        *,
        min_interval: float = 0.5,
        resync_period: float = 30.0,
    ) -> None:
        if not node_name:
            raise ValueError("no NodeName was set to publish resources")
        self.client = client
        self.driver = driver
        self.node_name = node_name
        self.min_interval = min_interval
        self.resync_period = resync_period
        self.syncs = 0  # completed sync rounds (for tests and metrics)
        self.writes = 0  # API create/update/delete calls made
        self._desired = DriverResources()
        self._generations: dict[str, int] = {}
        self._written: set[str] = set()  # resourceVersions this publisher produced
        self._trigger = asyncio.Event()
        self._synced = asyncio.Event()
        self._node_uid: str | None = None

    def update(self, resources: DriverResources) -> None:
        """Replace what is offered; the next sync (rate-limited) writes it."""
        self._desired = resources
        self._synced.clear()
        self._trigger.set()

    async def wait_synced(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self._synced.wait(), timeout)

    async def run(self) -> None:
        watch = asyncio.create_task(self._watch_loop())
        try:
            await self._sync_loop()
        finally:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch

    async def _sync_loop(self) -> None:
        loop = asyncio.get_running_loop()
        backoff = 0.5
        last = -1e9
        self._trigger.set()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._trigger.wait(), self.resync_period)
            self._trigger.clear()
            wait = last + self.min_interval - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
                self._trigger.clear()
            last = loop.time()
            try:
                await self.sync()
                backoff = 0.5
                if not self._trigger.is_set():
                    self._synced.set()
            except (ApiError, httpx.HTTPError, OSError) as e:
                log.warning(
                    "ResourceSlice sync for driver %s failed, retrying in %.1fs: %s", self.driver, backoff, e
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
                self._trigger.set()

    async def _watch_loop(self) -> None:
        backoff = 0.5
        while True:
            try:
                async for _event, obj in self.client.watch(ResourceSlice, fields=self._fields()):
                    backoff = 0.5
                    data = as_dict(obj)
                    if not self._mine(data):
                        continue
                    if (
                        data.get("metadata", {}).get("resourceVersion") not in self._written
                        or _event == "DELETED"
                    ):
                        self._synced.clear()
                        self._trigger.set()
            except (ApiError, httpx.HTTPError, OSError) as e:
                log.debug("ResourceSlice watch for %s ended: %s", self.driver, e)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 10.0)
            self._trigger.set()  # events may have been missed

    def _fields(self) -> dict[str, Any]:
        return {"spec.driver": self.driver, "spec.nodeName": self.node_name}

    def _mine(self, data: Mapping[str, Any]) -> bool:
        spec = data.get("spec") or {}
        return bool(spec.get("driver") == self.driver and spec.get("nodeName") == self.node_name)

    async def _owner(self) -> dict[str, Any]:
        if self._node_uid is None:
            node = as_dict(await self.client.get(Node, self.node_name))
            self._node_uid = node["metadata"]["uid"]
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "name": self.node_name,
            "uid": self._node_uid,
            "controller": True,
        }

    async def sync(self) -> None:
        """One reconcile round: delete obsolete slices, then update, then create."""
        existing = [as_dict(o) async for o in self.client.list(ResourceSlice, fields=self._fields())]
        existing = [s for s in existing if self._mine(s)]
        owner = await self._owner()
        by_pool: dict[str, list[dict[str, Any]]] = {}
        for s in existing:
            by_pool.setdefault(s["spec"].get("pool", {}).get("name", ""), []).append(s)
        deletes: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        creates: list[dict[str, Any]] = []
        desired = dict(self._desired.pools)
        for name, slices in by_pool.items():
            if name not in desired:
                deletes.extend(slices)
        for name, pool in desired.items():
            d, u, c = self._plan_pool(name, pool, by_pool.get(name, []), owner)
            deletes += d
            updates += u
            creates += c
        for s in deletes:
            with contextlib.suppress(ApiError):
                self.writes += 1
                await self.client.delete(ResourceSlice, s["metadata"]["name"])
        for s in updates:
            self.writes += 1
            result = as_dict(await self.client.replace(ResourceSlice(**s)))
            self._written.add(result["metadata"].get("resourceVersion", ""))
        for s in creates:
            self.writes += 1
            result = as_dict(await self.client.create(ResourceSlice(**s)))
            self._written.add(result["metadata"].get("resourceVersion", ""))
        self.syncs += 1

    def _plan_pool(
        self, name: str, pool: Pool, existing: list[dict[str, Any]], owner: dict[str, Any]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        fragments = split_pool(pool)
        count = len(fragments)
        obsolete: list[dict[str, Any]] = []
        by_index: dict[int, dict[str, Any]] = {}
        for s in existing:
            m = _INDEX.match(s["metadata"].get("name", ""))
            index = int(m.group(1), 16) if m else -1
            if index < 0 or index >= count or index in by_index:
                obsolete.append(s)
            else:
                by_index[index] = s
        current = max(
            [self._generations.get(name, 0)] + [s["spec"]["pool"].get("generation", 0) for s in existing]
        )
        desired_specs = [self._spec(name, f, count) for f in fragments]
        changed = [
            i
            for i, s in by_index.items()
            if _content(s["spec"]) != _content(desired_specs[i])
            or s["spec"]["pool"].get("resourceSliceCount") != count
            or owner not in (s["metadata"].get("ownerReferences") or [])
        ]
        missing = [i for i in range(count) if i not in by_index]
        if pool.generation > current:
            generation = pool.generation
        elif not missing and not obsolete and len(changed) <= 1:
            generation = current
        else:
            generation = current + 1
        self._generations[name] = generation
        updates = []
        for i, s in sorted(by_index.items()):
            if i in changed or s["spec"]["pool"].get("generation") != generation:
                spec = desired_specs[i]
                spec["pool"]["generation"] = generation
                meta = dict(s["metadata"])
                meta["ownerReferences"] = [owner]
                updates.append(_object(meta, spec))
        digits = max(5, len(f"{count - 1:x}"))
        creates = []
        for i in missing:
            spec = desired_specs[i]
            spec["pool"]["generation"] = generation
            meta = {
                "generateName": f"{i:0{digits}x}-{self.driver}-{self.node_name}-",
                "ownerReferences": [owner],
            }
            creates.append(_object(meta, spec))
        return obsolete, updates, creates

    def _spec(self, pool: str, fragment: dict[str, Any], count: int) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "driver": self.driver,
            "pool": {"name": pool, "generation": 0, "resourceSliceCount": count},
            "nodeName": self.node_name,
        }
        spec.update(fragment)
        return spec


def _object(meta: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceSlice", "metadata": meta, "spec": spec}
