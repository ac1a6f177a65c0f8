"""Runs the scheduler and the controllers against one API client (in-process or HTTPS).

One informer per resource feeds every component that needs it, so ``kubedra up`` (in the API
server process, through ``LocalClient``) and a standalone ``python -m kubedra.controlplane.manager
--kubeconfig ...`` (through ``HTTPClient``) run identical code.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kubedra.allocator.features import Features
from kubedra.api.topology import node_role_labels, node_role_taints
from kubedra.controlplane import process
from kubedra.controlplane.client import AlreadyExists, Client, HTTPClient, Informer
from kubedra.controlplane.controllers.daemonset import DaemonSetController
from kubedra.controlplane.controllers.devicetaint import DeviceTaintEvictionController
from kubedra.controlplane.controllers.job import JobController
from kubedra.controlplane.controllers.resourceclaim import ResourceClaimController
from kubedra.controlplane.shared import one_event

if TYPE_CHECKING:
    from kubedra.controlplane.scheduler.scheduler import Scheduler

log = logging.getLogger(__name__)

Sink = Callable[[dict[str, Any], bool], None]


class Manager:
    """Scheduler + ResourceClaim, DaemonSet, Job and device taint eviction controllers sharing informers."""

    def __init__(
        self,
        client: Client,
        *,
        scheduler: bool = True,
        controllers: bool = True,
        features: Features | None = None,
        scheduler_options: dict[str, Any] | None = None,
    ) -> None:
        self.client = client
        self.scheduler: Scheduler | None = None
        if scheduler:
            # Imported here: the controllers run without the allocator (and its CEL engine) loaded.
            from kubedra.controlplane.scheduler.scheduler import Scheduler

            self.scheduler = Scheduler(client, features=features, **(scheduler_options or {}))
        self.claims = ResourceClaimController(client) if controllers else None
        self.daemonsets = DaemonSetController(client) if controllers else None
        self.jobs = JobController(client) if controllers else None
        taints = (features or Features.defaults_1_36()).device_taints
        self.device_taints = DeviceTaintEvictionController(client) if controllers and taints else None
        sinks: dict[str, list[Sink]] = {}

        def add(resource: str, sink: Sink) -> None:
            sinks.setdefault(resource, []).append(sink)

        if self.scheduler is not None:
            add("pods", self._scheduler_pod)
            add("resourceclaims", self.scheduler.on_claim)
            add("resourceslices", self.scheduler.on_slice)
            add("deviceclasses", self.scheduler.on_class)
            add("nodes", self.scheduler.on_node)
            add("priorityclasses", self.scheduler.on_priority_class)
        if self.claims is not None:
            add("pods", self.claims.on_pod)
            add("resourceclaims", self.claims.on_claim)
            add("resourceclaimtemplates", self.claims.on_template)
        if self.daemonsets is not None:
            add("daemonsets", self.daemonsets.on_daemonset)
            add("nodes", self.daemonsets.on_node)
            add("pods", self.daemonsets.on_pod)
        if self.jobs is not None:
            add("jobs", self.jobs.on_job)
            add("pods", self.jobs.on_pod)
        if self.device_taints is not None:
            add("resourceslices", self.device_taints.on_slice)
            add("resourceclaims", self.device_taints.on_claim)
            add("pods", self.device_taints.on_pod)
        # Resources whose handlers must have run before the scheduler decides (classes, slices, ...)
        # come first so the first scheduling attempts see a complete picture.
        order = ["priorityclasses", "deviceclasses", "nodes", "resourceslices", "resourceclaimtemplates",
                 "resourceclaims", "daemonsets", "jobs", "pods"]
        self.informers = [
            Informer(client, resource, handler=_fan_out(sinks[resource])) for resource in order if resource in sinks
        ]

    def _scheduler_pod(self, obj: dict[str, Any], deleted: bool) -> None:
        assert self.scheduler is not None
        self.scheduler.on_pod(obj, deleted=deleted)

    def start(self, timeout: float = 30.0) -> Manager:
        for informer in self.informers:
            informer.start()
            informer.wait_synced(timeout)
        for c in (self.claims, self.daemonsets, self.jobs, self.device_taints):
            if c is not None:
                c.start()
        if self.scheduler is not None:
            self.scheduler.start()
        return self

    def stop(self, informer_timeout: float = 6.0) -> None:
        """Stop everything; informers blocked in a watch read are given ``informer_timeout`` seconds
        (their threads are daemons, so a process that exits does not wait for them)."""
        if self.scheduler is not None:
            self.scheduler.stop()
        for c in (self.claims, self.daemonsets, self.jobs, self.device_taints):
            if c is not None:
                c.stop()
        # Each stop may wait for a blocked watch read to notice; stop them side by side.
        stoppers = [threading.Thread(target=i.stop, daemon=True) for i in self.informers]
        for t in stoppers:
            t.start()
        deadline = time.monotonic() + informer_timeout
        for t in stoppers:
            t.join(timeout=max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> Manager:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _fan_out(sinks: list[Sink]) -> Callable[[str, dict[str, Any], dict[str, Any] | None], None]:
    def handler(event_type: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        deleted = event_type == "DELETED"
        with one_event(obj):  # each model is decoded once for all sinks
            for sink in sinks:
                try:
                    sink(obj, deleted)
                except Exception:
                    log.exception("handling %s %s", event_type, (obj.get("metadata") or {}).get("name"))

    return handler


def register_nodes(client: Client, names: list[str]) -> list[str]:
    """Create Ready Node objects that do not exist yet (``kubedra up --nodes a,b``): scheduling can
    then be exercised with hand-made ResourceSlices before any kubelet runs. Returns the created."""
    created = []
    for name in names:
        labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", **node_role_labels(name)}
        body: dict[str, Any] = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels}}
        if taints := node_role_taints(name):
            body["spec"] = {"taints": taints}
        try:
            client.create("nodes", body)
        except AlreadyExists:
            continue
        client.patch("nodes", name, {"status": {"conditions": [
            {"type": "Ready", "status": "True", "reason": "KubedraRegistered",
             "message": "registered by kubedra up --nodes"}]}}, subresource="status", patch_type="merge")
        created.append(name)
    return created


def main(argv: list[str] | None = None) -> int:
    """Standalone: ``python -m kubedra.controlplane.manager --kubeconfig PATH``."""
    parser = argparse.ArgumentParser(prog="python -m kubedra.controlplane.manager")
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--nodes", default="", help="comma-separated Node objects to register (Ready)")
    parser.add_argument("--ready-file", default=None, help="touched once informers are synced")
    parser.add_argument("--no-scheduler", action="store_true")
    parser.add_argument("--no-controllers", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    process.tune_collector()
    client = HTTPClient.from_kubeconfig(args.kubeconfig)
    nodes = [n.strip() for n in args.nodes.split(",") if n.strip()]
    if nodes:
        log.info("registered nodes: %s", ", ".join(register_nodes(client, nodes)) or "(all existed)")
    manager = Manager(client, scheduler=not args.no_scheduler, controllers=not args.no_controllers)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    manager.start()
    if args.ready_file:
        Path(args.ready_file).write_text("ready\n")
    log.info("scheduler and controllers running")
    stop.wait()
    manager.stop(informer_timeout=1.0)
    if args.ready_file:
        Path(args.ready_file).unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
