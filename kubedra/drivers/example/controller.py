"""gpu.example.com's controller: satisfies the binding conditions of allocated devices.

dra-example-driver v0.4.0 splits binding conditions in two: the kubelet plugin with
``--binding-conditions`` publishes every device with ``bindingConditions: [BindingConditions]`` and
``bindingFailureConditions: [BindingFailureConditions]``; a separate controller
(``dra-example-controller --plugins=BindingConditions``) watches ResourceClaims and, for each allocated
device of its driver, sets the ``BindingConditions`` condition True in ``status.devices[]`` (reason
``Ready``, message ``Device is ready``), after which the scheduler binds the pod. It cannot be the
kubelet plugin's Prepare that does it: Prepare only runs once the pod is bound to the node.
A real driver would attach or check the device here first.

Talks HTTP through lightkube like the kubelet plugin, so it runs against any cluster.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

import httpx2 as httpx
from lightkube import ApiError, AsyncClient

from kubedra.drivers.example.driver import DRIVER_NAME
from kubedra.node.plugin.kubeapi import ResourceClaim, ResourceClaimStatus, as_dict, async_client

log = logging.getLogger(__name__)

PLUGIN_BINDING_CONDITIONS = "BindingConditions"
PLUGINS = (PLUGIN_BINDING_CONDITIONS,)
CONFLICT_RETRIES = 5


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def satisfy(claim: dict[str, Any], driver: str, now: str | None = None) -> bool:
    """Set every unmet binding condition of ``driver``'s allocated devices True, in place.
    False when there is nothing to change (an unallocated claim, other drivers, all True already)."""
    status = claim.get("status") or {}
    allocation = status.get("allocation")
    if not allocation:
        return False
    entries: list[dict[str, Any]] = list(status.get("devices") or [])
    changed = False
    for result in (allocation.get("devices") or {}).get("results") or []:
        if result.get("driver") != driver or not result.get("bindingConditions"):
            continue
        ident = (result.get("driver"), result.get("pool"), result.get("device"))
        entry = next((e for e in entries if (e.get("driver"), e.get("pool"), e.get("device")) == ident), None)
        if entry is None:
            entry = {"driver": ident[0], "pool": ident[1], "device": ident[2]}
            if result.get("shareID"):
                entry["shareID"] = result["shareID"]
            entries.append(entry)
        conditions: list[dict[str, Any]] = entry.setdefault("conditions", [])
        for type_ in result["bindingConditions"]:
            current = next((c for c in conditions if c.get("type") == type_), None)
            if current is not None and current.get("status") == "True":
                continue
            ready = {"type": type_, "status": "True", "reason": "Ready", "message": "Device is ready",
                     "lastTransitionTime": now or _now()}
            if current is None:
                conditions.append(ready)
            else:
                current.update(ready)
            changed = True
            log.info("set binding condition %s of device %s/%s/%s in claim %s/%s", type_, *ident,
                     claim["metadata"].get("namespace"), claim["metadata"].get("name"))
    if changed:
        claim.setdefault("status", {})["devices"] = entries
    return changed


class BindingConditionsController:
    """Watches all ResourceClaims and satisfies ``driver``'s binding conditions (level-triggered)."""

    def __init__(self, client: AsyncClient, driver: str) -> None:
        self.client = client
        self.driver = driver
        self.updated = 0

    async def reconcile(self, claim: dict[str, Any]) -> None:
        meta = claim.get("metadata") or {}
        name, ns = meta.get("name", ""), meta.get("namespace", "")
        for _ in range(CONFLICT_RETRIES):
            if not satisfy(claim, self.driver):
                return
            try:
                await self.client.replace(ResourceClaimStatus(claim), name, namespace=ns)  # type: ignore[call-overload]
                self.updated += 1
                return
            except ApiError as e:
                if e.status.code == 404:
                    return
                if e.status.code != 409:
                    raise
            claim = as_dict(await self.client.get(ResourceClaim, name, namespace=ns))
        log.warning("claim %s/%s: status kept conflicting, will retry on its next change", ns, name)

    async def run(self, ready: asyncio.Event | None = None) -> None:
        """List, then watch; every claim seen is reconciled. Restarts the watch on errors."""
        backoff = 0.5
        while True:
            try:
                async for obj in self.client.list(ResourceClaim, namespace="*"):  # type: ignore[call-overload]
                    await self._safe_reconcile(as_dict(obj))
                if ready is not None:
                    ready.set()
                async for event, obj in self.client.watch(ResourceClaim, namespace="*"):  # type: ignore[call-overload]
                    backoff = 0.5
                    if event != "DELETED":
                        await self._safe_reconcile(as_dict(obj))
            except (ApiError, httpx.HTTPError, OSError) as e:
                log.warning("ResourceClaim watch failed, restarting in %.1fs: %s", backoff, e)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 10.0)

    async def _safe_reconcile(self, claim: dict[str, Any]) -> None:
        try:
            await self.reconcile(claim)
        except (ApiError, httpx.HTTPError, OSError) as e:
            meta = claim.get("metadata") or {}
            log.warning("claim %s/%s: %s", meta.get("namespace"), meta.get("name"), e)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--driver-name", default=os.environ.get("DRIVER_NAME", DRIVER_NAME),
                        help="driver whose devices this controller handles [DRIVER_NAME]")
    parser.add_argument("--plugins", default=os.environ.get("PLUGINS", ""),
                        help=f"comma-separated controller plugins to run: {', '.join(PLUGINS)} [PLUGINS]")
    parser.add_argument("--kubeconfig", type=Path, default=os.environ.get("KUBECONFIG"), help="[KUBECONFIG]")
    parser.add_argument("-v", "--verbose", action="store_true")


def run_from_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    plugins = [p.strip() for p in args.plugins.split(",") if p.strip()]
    unknown = [p for p in plugins if p not in PLUGINS]
    if unknown:
        parser.error(f"--plugins: unknown plugin {unknown[0]!r} (known: {', '.join(PLUGINS)})")
    if not plugins:
        parser.error(f"--plugins: name at least one plugin ({', '.join(PLUGINS)})")
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx2").setLevel(logging.DEBUG if args.verbose else logging.WARNING)

    async def main() -> None:
        client = async_client(args.kubeconfig)
        controller = BindingConditionsController(client, args.driver_name)
        task = asyncio.create_task(controller.run())
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):
            loop.add_signal_handler(sig, stop.set)
        log.info("controller for %s running plugins: %s", args.driver_name, ", ".join(plugins))
        await stop.wait()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await client.close()

    asyncio.run(main())
    return 0


if __name__ == "__main__":
    _parser = argparse.ArgumentParser(prog="python -m kubedra.drivers.example.controller",
                                      description="gpu.example.com controller (binding conditions)")
    add_arguments(_parser)
    sys.exit(run_from_args(_parser, _parser.parse_args()))
