"""SQLite persistence for the store: acknowledged writes survive SIGKILL and power loss.

WAL mode with ``synchronous=FULL``: each write is one transaction that upserts the object row and
appends to an event log, and the commit fsyncs the WAL before the API server answers. The event log
(trimmed to the watch history window) is what lets watches resume across a restart and keeps
resourceVersions increasing even when the newest write was a deletion.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from kubedra.controlplane.store.store import DELETED, Key

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
    rv INTEGER NOT NULL, data BLOB NOT NULL,
    PRIMARY KEY (resource, namespace, name)
);
CREATE TABLE IF NOT EXISTS events (
    rv INTEGER PRIMARY KEY, type TEXT NOT NULL,
    resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL, data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS revision (id INTEGER PRIMARY KEY CHECK (id = 0), rv INTEGER NOT NULL);
INSERT OR IGNORE INTO revision (id, rv) VALUES (0, 0);
"""


class SQLiteBackend:
    def __init__(self, path: str | Path, *, synchronous: str = "FULL") -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={synchronous}")
        self._db.executescript(_SCHEMA)

    def load(self) -> tuple[int, list[tuple[Key, bytes]], list[tuple[int, str, Key, bytes]]]:
        with self._lock:
            (last_rv,) = self._db.execute("SELECT rv FROM revision WHERE id = 0").fetchone()
            objects = [
                ((r, ns, n), bytes(d))
                for r, ns, n, d in self._db.execute("SELECT resource, namespace, name, data FROM objects")
            ]
            events = [
                (rv, t, (r, ns, n), bytes(d))
                for rv, t, r, ns, n, d in self._db.execute(
                    "SELECT rv, type, resource, namespace, name, data FROM events ORDER BY rv"
                )
            ]
            return int(last_rv), objects, events

    def write(self, rv: int, event_type: str, key: Key, data: bytes) -> None:
        resource, namespace, name = key
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                if event_type == DELETED:
                    db.execute(
                        "DELETE FROM objects WHERE resource = ? AND namespace = ? AND name = ?",
                        (resource, namespace, name),
                    )
                else:
                    db.execute(
                        "INSERT OR REPLACE INTO objects (resource, namespace, name, rv, data) VALUES (?, ?, ?, ?, ?)",
                        (resource, namespace, name, rv, data),
                    )
                db.execute(
                    "INSERT INTO events (rv, type, resource, namespace, name, data) VALUES (?, ?, ?, ?, ?, ?)",
                    (rv, event_type, resource, namespace, name, data),
                )
                db.execute("UPDATE revision SET rv = ? WHERE id = 0", (rv,))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def compact(self, keep_from_rv: int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM events WHERE rv < ?", (keep_from_rv,))

    def close(self) -> None:
        with self._lock:
            self._db.close()
