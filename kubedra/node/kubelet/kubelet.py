"""The kubelet: wires node registration, the plugin watcher, the DRA manager and the pod workers.

Start-up order matters (node.md §5): the HTTP endpoint first (its port goes into the
Node), then the Node, then the wipe of this node's ResourceSlices (drivers must notice
and republish), then plugin registration and the pods. Pods bound to this node are
watched with a field selector; a periodic re-list catches deletions a broken watch
missed, and a reconcile loop unprepares claims whose pods are all gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import signal
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lightkube import ApiError, AsyncClient

from kubedra.api.features import RESOURCE_HEALTH_STATUS, FeatureGates
from kubedra.node.kubelet.apiclient import Pod, ResourceSlice, as_dict, client_from, meta
from kubedra.node.kubelet.containers import NodePaths
from kubedra.node.kubelet.dra_manager import DRAManager
from kubedra.node.kubelet.events import EventRecorder
from kubedra.node.kubelet.node_status import NodeStatusManager
from kubedra.node.kubelet.plugin_watcher import PluginWatcher
from kubedra.node.kubelet.plugins import PluginManager
from kubedra.node.kubelet.pod_worker import NodeServices, PodWorker
from kubedra.node.kubelet.resource_health import HealthManager
from kubedra.node.kubelet.runtime import LocalRuntime
from kubedra.node.kubelet.server import KubeletServer

log = logging.getLogger(__name__)

RESYNC_INTERVAL = 15.0
RECONCILE_INTERVAL = 60.0


@dataclass
class KubeletConfig:
    node_name: str
    root: Path
    kubeconfig: Path | None = None
    host_ip: str = "127.0.0.1"
    port: int = 0
    cdi_dirs: list[Path] = field(default_factory=list)  # default: [<root>/cdi]
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[dict[str, Any]] = field(default_factory=list)  # --register-with-taints
    slice_wipe_delay: float = 30.0
    feature_gates: FeatureGates = field(default_factory=FeatureGates)

    @property
    def registry_dir(self) -> Path:
        return self.root / "plugins_registry"

    @property
    def plugins_dir(self) -> Path:
        return self.root / "plugins"


# Unix socket paths are limited to 107 bytes. Plugins put theirs under <root>/plugins_registry and
# <root>/plugins/<driver>/; a root longer than this leaves too little room for a driver name.
MAX_SOCKET_ROOT = 40


def socket_root(root: Path) -> Path:
    """The path plugins are told to use for the kubelet root: ``root`` itself when short enough,
    else a short symlink to it under the temp dir (created here), so that a deep data directory
    (``kubedra up --data-dir /some/long/path``) still gives plugins valid socket paths."""
    if len(str(root)) <= MAX_SOCKET_ROOT:
        return root
    digest = hashlib.sha256(str(root).encode()).hexdigest()[:12]
    alias = Path(tempfile.gettempdir()) / f"kubedra-kubelet-{digest}"
    if alias.is_symlink() and alias.resolve() == root:
        return alias
    if alias.is_symlink() or alias.exists():
        alias.unlink()
    alias.symlink_to(root, target_is_directory=True)
    return alias


class Kubelet:
    def __init__(self, config: KubeletConfig, client: AsyncClient | None = None) -> None:
        self.config = config
        config.root = config.root.resolve()
        if not config.cdi_dirs:
            config.cdi_dirs = [config.root / "cdi"]
        for directory in (config.root, config.registry_dir, config.plugins_dir, *config.cdi_dirs):
            directory.mkdir(parents=True, exist_ok=True)
        self.client = client or client_from(config.kubeconfig)
        self.plugins = PluginManager(on_driver_gone=self._wipe_driver_slices, wipe_delay=config.slice_wipe_delay)
        self.socket_root = socket_root(config.root)
        self.watcher = PluginWatcher(self.socket_root / "plugins_registry", config.root, self.plugins)
        self.dra = DRAManager(config.root, self.client, self.plugins)
        self.health: HealthManager | None = None
        if config.feature_gates.enabled(RESOURCE_HEALTH_STATUS):
            self.health = HealthManager(self._health_changed)
            self.plugins.on_registered = self.health.plugin_registered
            self.plugins.on_deregistered = self.health.plugin_gone
        self.runtime = LocalRuntime(config.root)
        self.events = EventRecorder(self.client, config.node_name)
        self.server = KubeletServer(self.find_worker, host=config.host_ip, port=config.port)
        self.workers: dict[str, PodWorker] = {}
        self.services = NodeServices(
            client=self.client, node_name=config.node_name, host_ip=config.host_ip, dra=self.dra,
            runtime=self.runtime,
            paths=NodePaths(root=self.socket_root, cdi_dir=config.cdi_dirs[-1], kubeconfig=config.kubeconfig),
            cdi_dirs=config.cdi_dirs, events=self.events, health=self.health,
        )
        self.node_status: NodeStatusManager | None = None
        self.ready = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []

    # ---- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        leftovers = self.runtime.kill_leftovers()
        if leftovers:
            log.info("killed %d container process groups left by a previous kubelet", leftovers)
        port = await self.server.start()
        self.node_status = NodeStatusManager(self.client, self.config.node_name, self.config.host_ip, port,
                                             self.config.labels, self.config.taints)
        await self.node_status.register()
        await self._wipe_node_slices()
        self._tasks = [
            asyncio.create_task(self.node_status.heartbeat(), name="heartbeat"),
            asyncio.create_task(self.watcher.run(), name="plugin watcher"),
            asyncio.create_task(self._watch_pods(), name="pod watch"),
            asyncio.create_task(self._resync_loop(), name="pod resync"),
            asyncio.create_task(self._reconcile_loop(), name="claim reconcile"),
        ]
        log.info("kubelet for node %s ready (root %s, port %d)", self.config.node_name, self.config.root, port)
        self.ready.set()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        workers = [w.task for w in self.workers.values() if w.task is not None]
        for task in workers:
            task.cancel()
        await asyncio.gather(*self._tasks, *workers, return_exceptions=True)
        await self.server.stop()
        if self.health is not None:
            await self.health.close()
        await self.plugins.close()
        with contextlib.suppress(Exception):
            await self.client.close()

    async def run_forever(self, ready_file: Path | None = None) -> None:
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
        await self.start()
        if ready_file is not None:
            ready_file.parent.mkdir(parents=True, exist_ok=True)
            ready_file.touch()
        await stopping.wait()
        if ready_file is not None:
            ready_file.unlink(missing_ok=True)
        log.info("kubelet for node %s stopping", self.config.node_name)
        await self.stop()

    # ---- ResourceSlices ------------------------------------------------------------------------

    async def _delete_slices(self, driver: str | None) -> int:
        fields: dict[str, Any] = {"spec.nodeName": self.config.node_name}
        if driver is not None:
            fields["spec.driver"] = driver
        deleted = 0
        async for item in self.client.list(ResourceSlice, fields=fields):  # type: ignore[call-overload]
            data = as_dict(item)
            spec = data.get("spec") or {}
            # Filter here too: the selector is an optimisation, not a guarantee of every server.
            if spec.get("nodeName") != self.config.node_name or (driver is not None and spec.get("driver") != driver):
                continue
            try:
                await self.client.delete(ResourceSlice, meta(data)["name"])
                deleted += 1
            except ApiError as exc:
                if exc.status.code != 404:
                    raise
        return deleted

    async def _wipe_node_slices(self) -> None:
        delay = 1.0
        while True:
            try:
                count = await self._delete_slices(None)
                log.info("deleted %d ResourceSlices of node %s at start", count, self.config.node_name)
                return
            except Exception as exc:
                log.warning("deleting the node's ResourceSlices failed, retrying in %.0fs: %s", delay, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 300.0)

    async def _wipe_driver_slices(self, driver: str) -> None:
        count = await self._delete_slices(driver)
        log.info("driver %s gone for %.0fs: deleted %d ResourceSlices", driver, self.config.slice_wipe_delay, count)

    # ---- pods ----------------------------------------------------------------------------------

    def _health_changed(self) -> None:
        """Device health changed: every pod worker recomputes (and, if different, publishes) its status."""
        for worker in self.workers.values():
            if not worker.deleted:
                worker.update(worker.pod)

    def find_worker(self, namespace: str, name: str) -> PodWorker | None:
        for worker in self.workers.values():
            if worker.namespace == namespace and worker.name == name and not worker.finished.is_set():
                return worker
        return None

    def _handle(self, kind: str, pod: dict[str, Any]) -> None:
        pod_meta = meta(pod)
        uid = pod_meta.get("uid", "")
        if (pod.get("spec") or {}).get("nodeName") != self.config.node_name:
            return
        worker = self.workers.get(uid)
        if kind == "DELETED":
            if worker is not None:
                worker.update(None)
            return
        if worker is None:
            worker = PodWorker(self.services, pod)
            self.workers[uid] = worker
            worker.start()
            assert worker.task is not None
            worker.task.add_done_callback(functools.partial(self._retire, uid))
        else:
            worker.update(pod)

    def _retire(self, uid: str, _task: object = None) -> None:
        worker = self.workers.get(uid)
        if worker is not None and worker.finished.is_set():
            del self.workers[uid]

    async def _watch_pods(self) -> None:
        fields: dict[str, Any] = {"spec.nodeName": self.config.node_name}
        while True:
            try:
                async for kind, obj in self.client.watch(Pod, namespace="*", fields=fields):  # type: ignore[call-overload]
                    self._handle(kind, as_dict(obj))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("pod watch failed, restarting: %s", exc)
            await asyncio.sleep(1.0)

    async def _list_pods(self) -> list[dict[str, Any]]:
        fields: dict[str, Any] = {"spec.nodeName": self.config.node_name}
        return [as_dict(p) async for p in self.client.list(Pod, namespace="*", fields=fields)]  # type: ignore[call-overload]

    async def _resync_loop(self) -> None:
        while True:
            await asyncio.sleep(RESYNC_INTERVAL)
            try:
                pods = await self._list_pods()
            except Exception as exc:
                log.warning("pod re-list failed: %s", exc)
                continue
            present = {meta(p).get("uid") for p in pods}
            for uid, worker in list(self.workers.items()):
                if uid not in present:
                    worker.update(None)
            for pod in pods:
                self._handle("MODIFIED", pod)

    async def _reconcile_loop(self) -> None:
        while True:
            await asyncio.sleep(RECONCILE_INTERVAL)
            try:
                pods = await self._list_pods()
            except Exception as exc:
                log.warning("claim reconcile: pod list failed: %s", exc)
                continue
            active = {meta(p).get("uid", "") for p in pods} | set(self.workers)
            await self.dra.reconcile(active)
