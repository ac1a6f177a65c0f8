"""Versioned object storage for the control plane: in memory, optionally persisted in SQLite."""

from __future__ import annotations

from pathlib import Path

from kubedra.controlplane.store.sqlite import SQLiteBackend
from kubedra.controlplane.store.store import (
    ADDED,
    DELETED,
    MODIFIED,
    Backend,
    FieldIndexer,
    Key,
    KeyExists,
    KeyNotFound,
    ObjectList,
    RevisionConflict,
    RevisionTooOld,
    Store,
    StoredObject,
    StoreError,
    Subscription,
    WatchEvent,
)

STORAGE_KINDS = ("sqlite", "memory")


def open_store(kind: str, data_dir: Path | None, **kwargs: object) -> Store:
    """``kind`` is ``memory`` or ``sqlite`` (``DATA_DIR/state.db``)."""
    if kind == "memory":
        return Store(None, **kwargs)  # type: ignore[arg-type]
    if kind == "sqlite":
        if data_dir is None:
            raise ValueError("sqlite storage needs a data directory")
        return Store(SQLiteBackend(Path(data_dir) / "state.db"), **kwargs)  # type: ignore[arg-type]
    raise ValueError(f"unknown storage {kind!r}: expected one of {', '.join(STORAGE_KINDS)}")


__all__ = [
    "ADDED",
    "DELETED",
    "MODIFIED",
    "STORAGE_KINDS",
    "Backend",
    "FieldIndexer",
    "Key",
    "KeyExists",
    "KeyNotFound",
    "ObjectList",
    "RevisionConflict",
    "RevisionTooOld",
    "SQLiteBackend",
    "Store",
    "StoreError",
    "StoredObject",
    "Subscription",
    "WatchEvent",
    "open_store",
]
