"""The HTTP informer against a real API server: events arrive, and stopping is prompt."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from kubedra.controlplane.apiserver.app import Config, ServerThread
from kubedra.controlplane.client import HTTPClient, Informer

from ._cluster import node, wait_for


def test_http_informer_sees_events_and_stops_promptly(tmp_path: Path) -> None:
    # No bookmarks for a minute: nothing but ``stop`` can wake a watch read up.
    with ServerThread(Config(tmp_path, port=0, storage="memory", bookmark_interval=60)) as running:
        creds = running.plane.credentials
        _check_informers(HTTPClient(running.url, creds.token, creds.ca_file))


def _check_informers(client: HTTPClient) -> None:
    seen: list[tuple[str, str]] = []
    lock = threading.Lock()

    def handler(etype: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        with lock:
            seen.append((etype, obj["metadata"]["name"]))

    informers = [Informer(client, "nodes", handler=handler) for _ in range(3)]
    for informer in informers:
        informer.start()
        assert informer.wait_synced(10)
    client.create("nodes", node("n1"))
    wait_for(lambda: len(seen) == 3, what="three ADDED events")
    assert seen == [("ADDED", "n1")] * 3
    # Every informer is now blocked reading its watch; stop must close the socket, not wait for
    # the next event or the watch timeout.
    start = time.monotonic()
    for informer in informers:
        informer.stop()
    elapsed = time.monotonic() - start
    assert elapsed < 1.0, f"stopping three idle HTTP informers took {elapsed:.2f}s"
    assert not any(i._thread.is_alive() for i in informers)
