"""Assembling and running one API server: store + registry + lifecycle + HTTPS listener.

``run_forever`` is what ``kubedra up`` runs in the background process; ``ServerThread`` runs the
same thing in a thread of the current process, for tests and for components that want the
in-process client next to a real HTTPS endpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from kubedra.api.features import FeatureGates
from kubedra.controlplane.apiserver import certs
from kubedra.controlplane.apiserver.lifecycle import Lifecycle
from kubedra.controlplane.apiserver.registry import Registry
from kubedra.controlplane.apiserver.server import APIServer, ServerOptions, ssl_context
from kubedra.controlplane.store import Store, open_store

log = logging.getLogger(__name__)


@dataclass
class Config:
    data_dir: Path
    port: int = 6443  # 0 = any free port
    host: str = "127.0.0.1"
    storage: str = "sqlite"
    bookmark_interval: float = 10.0
    feature_gates: FeatureGates = field(default_factory=FeatureGates)
    history_size: int = 10_000


class PortInUse(RuntimeError):
    pass


def _managed_fields_recorder() -> object | None:
    try:
        from kubedra.controlplane.apiserver.apply import update_managed_fields
    except ImportError:  # pragma: no cover - apply.py is part of the package
        return None
    return update_managed_fields


class ControlPlane:
    """Everything behind the listener; usable without HTTP (in-process clients)."""

    def __init__(self, config: Config) -> None:
        from kubedra.controlplane.apiserver.resources import index_fields

        self.config = config
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.store: Store = open_store(config.storage, config.data_dir, indexer=index_fields,
                                       history_size=config.history_size)
        self.registry = Registry(self.store, config.feature_gates,
                                 managed_fields=_managed_fields_recorder())  # type: ignore[arg-type]
        self.registry.ensure_system_namespaces()
        self.lifecycle = Lifecycle(self.registry)
        self.lifecycle.start()
        self.credentials = certs.ensure_credentials(config.data_dir / "pki")

    def close(self) -> None:
        self.lifecycle.stop()
        self.store.close()


def bind_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise PortInUse(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(1024)
    sock.setblocking(False)
    return sock


class Running:
    """A started listener: ``url``, ``kubeconfig`` path, and how to stop it."""

    def __init__(self, plane: ControlPlane, server: APIServer, runner: web.AppRunner, port: int) -> None:
        self.plane = plane
        self.server = server
        self.runner = runner
        self.port = port
        self.url = f"https://{plane.config.host}:{port}"
        self.kubeconfig = plane.config.data_dir / "kubeconfig"

    async def stop(self) -> None:
        self.server.ready = False
        await self.runner.cleanup()
        self.plane.close()


async def start(config: Config, plane: ControlPlane | None = None) -> Running:
    plane = plane or ControlPlane(config)
    try:
        sock = bind_socket(config.host, config.port)
    except PortInUse:
        plane.close()
        raise
    port = sock.getsockname()[1]
    server = APIServer(plane.registry, ServerOptions(token=plane.credentials.token,
                                                     bookmark_interval=config.bookmark_interval))
    server.server_address = f"{config.host}:{port}"
    runner = web.AppRunner(server.app, access_log=None, handle_signals=False, shutdown_timeout=2)
    await runner.setup()
    site = web.SockSite(runner, sock, ssl_context=ssl_context(str(plane.credentials.cert_file),
                                                              str(plane.credentials.key_file)))
    await site.start()
    running = Running(plane, server, runner, port)
    certs.write_kubeconfig(running.kubeconfig, running.url, plane.credentials)
    log.info("kubedra API server listening on %s", running.url)
    return running


def run_forever(config: Config, *, companion: Callable[[Running], Callable[[], None]] | None = None) -> int:
    """Serve until SIGTERM/SIGINT (the background process of ``kubedra up``).

    ``companion`` starts more components in this process once the server listens (``kubedra up
    --in-process``: scheduler and controllers); it runs off the event loop and returns their stop.
    """

    async def main() -> None:
        running = await start(config)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        stop_companion = await loop.run_in_executor(None, companion, running) if companion else None
        await stop.wait()
        if stop_companion is not None:
            await loop.run_in_executor(None, stop_companion)
        await running.stop()

    asyncio.run(main())
    return 0


class ServerThread:
    """Run an API server on its own event loop in a background thread (tests, embedding)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="kubedra-apiserver", daemon=True)
        self.running: Running | None = None

    def __enter__(self) -> Running:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(start(self.config), self._loop)
        try:
            self.running = future.result(timeout=30)
        except BaseException:
            self.stop()
            raise
        return self.running

    def stop(self) -> None:
        if self.running is not None:
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self.running.stop(), self._loop).result(timeout=10)
            self.running = None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        if not self._loop.is_running():
            self._loop.close()

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = ["Config", "ControlPlane", "PortInUse", "Running", "ServerThread", "run_forever", "start"]
