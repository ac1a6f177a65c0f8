"""Watch ``<root>/plugins_registry`` and register the plugins whose sockets appear there.

The directory is scanned twice a second instead of using inotify: the standard library
has no inotify binding, a scan of a handful of entries costs microseconds, and polling
also sees sockets that existed before the kubelet started (which inotify alone would
miss). A socket is identified by path and inode, so a plugin that restarts and
re-creates its socket is registered again. Registration follows node.md §2: dial
(10 s), GetInfo (1 s), validation and version choice, NotifyRegistrationStatus (5 s);
any failure is retried with back-off while the socket exists.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import stat
from pathlib import Path

import grpc

from kubedra.node.kubelet.plugins import MAX_ENDPOINT_BYTES, PLUGIN_TYPE, PluginError, PluginManager
from kubedra.node.plugin.proto import pluginregistration_pb2, pluginregistration_pb2_grpc

log = logging.getLogger(__name__)

SCAN_INTERVAL = 0.5
DIAL_TIMEOUT = 10.0
GET_INFO_TIMEOUT = 1.0
NOTIFY_TIMEOUT = 5.0


class PluginWatcher:
    """Keeps :class:`PluginManager` in sync with the sockets in the registration directory."""

    def __init__(self, registry_dir: Path, kubelet_root: Path, manager: PluginManager,
                 scan_interval: float = SCAN_INTERVAL) -> None:
        self.registry_dir = registry_dir
        self.kubelet_root = kubelet_root
        self.manager = manager
        self.scan_interval = scan_interval
        self._sockets: dict[str, tuple[int, asyncio.Task[None]]] = {}  # path -> (inode, registration task)
        self._endpoints: dict[str, str] = {}  # registration socket path -> DRA endpoint

    async def run(self) -> None:
        self.registry_dir.mkdir(parents=True, exist_ok=True)
        try:
            while True:
                await self.scan()
                await asyncio.sleep(self.scan_interval)
        finally:
            for _, task in self._sockets.values():
                task.cancel()

    async def scan(self) -> None:
        present: dict[str, int] = {}
        with contextlib.suppress(FileNotFoundError):
            for entry in os.scandir(self.registry_dir):
                if entry.name.startswith("."):
                    continue
                try:
                    info = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                if stat.S_ISSOCK(info.st_mode):
                    present[entry.path] = info.st_ino
        for path, (inode, task) in list(self._sockets.items()):
            if present.get(path) != inode:
                task.cancel()
                del self._sockets[path]
                await self._forget(path)
        for path, inode in present.items():
            if path not in self._sockets:
                self._sockets[path] = (inode, asyncio.create_task(self._register(path)))

    async def _forget(self, socket_path: str) -> None:
        endpoint = self._endpoints.pop(socket_path, None)
        if endpoint is not None:
            await self.manager.deregister(endpoint)

    async def _register(self, socket_path: str) -> None:
        delay = 1.0
        while True:
            try:
                await self._register_once(socket_path)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("registration of plugin at %s failed, retrying in %.0fs: %s", socket_path, delay, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)

    async def _register_once(self, socket_path: str) -> None:
        async with grpc.aio.insecure_channel(f"unix:{socket_path}") as channel:
            await asyncio.wait_for(channel.channel_ready(), DIAL_TIMEOUT)
            stub = pluginregistration_pb2_grpc.RegistrationStub(channel)
            info = await stub.GetInfo(pluginregistration_pb2.InfoRequest(), timeout=GET_INFO_TIMEOUT)

            async def notify(ok: bool, error: str = "") -> None:
                status = pluginregistration_pb2.RegistrationStatus(plugin_registered=ok, error=error)
                await stub.NotifyRegistrationStatus(status, timeout=NOTIFY_TIMEOUT)

            if info.type != PLUGIN_TYPE:
                await notify(False, f"no handler registered for plugin type: {info.type} at socket {socket_path}")
                return  # not ours: do not retry
            endpoint = info.endpoint or socket_path
            try:
                self._validate(info.name, endpoint)
                plugin = self.manager.register(info.name, endpoint, list(info.supported_versions))
            except PluginError as exc:
                await notify(False, f"RegisterPlugin error -- plugin validation failed with err: {exc}")
                raise
            try:
                await notify(True)
            except BaseException:
                await self.manager.deregister(plugin.endpoint)
                raise
            self._endpoints[socket_path] = plugin.endpoint

    def _validate(self, name: str, endpoint: str) -> None:
        if not name:
            raise PluginError("driver name is empty")
        if len(name) > 63:
            raise PluginError(f"driver name {name!r} is longer than 63 characters")
        if not os.path.isabs(endpoint):
            raise PluginError(f"endpoint {endpoint!r} is not an absolute path")
        if len(endpoint.encode()) > MAX_ENDPOINT_BYTES:
            raise PluginError(f"endpoint {endpoint} is longer than {MAX_ENDPOINT_BYTES} bytes")
        clean = os.path.normpath(endpoint)
        root = os.path.normpath(os.path.realpath(self.kubelet_root))
        if not (clean.startswith(root + os.sep) or os.path.realpath(clean).startswith(root + os.sep)):
            raise PluginError(f"endpoint {endpoint} is not inside the kubelet root directory {root}")
