"""Shared fixtures: a real kubedra API server (HTTPS on a free loopback port, temp data dir)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kubedra.controlplane.apiserver.app import Config, ServerThread
from kubedra.controlplane.apiserver.registry import Registry
from kubedra.controlplane.client import HTTPClient, LocalClient


@dataclass
class APIServerHandle:
    url: str
    token: str
    kubeconfig: Path
    ca_file: Path
    data_dir: Path
    registry: Registry

    def client(self) -> HTTPClient:
        """An HTTPS client with the admin token."""
        return HTTPClient(self.url, self.token, self.ca_file)

    def local_client(self) -> LocalClient:
        """The in-process client on the same registry."""
        return LocalClient(self.registry)


@pytest.fixture
def apiserver(tmp_path: Path) -> Iterator[APIServerHandle]:
    """A real API server (in-memory storage) in a background thread of the test process."""
    data_dir = tmp_path / "kubedra"
    server = ServerThread(Config(data_dir, port=0, storage="memory", bookmark_interval=0.5))
    running = server.__enter__()
    try:
        creds = running.plane.credentials
        yield APIServerHandle(running.url, creds.token, running.kubeconfig, creds.ca_file, data_dir,
                              running.plane.registry)
    finally:
        server.stop()
