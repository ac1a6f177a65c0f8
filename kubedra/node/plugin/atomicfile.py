"""Replacing a file so that a reader sees the old or the new content, never half of either.

Checkpoints (driver and kubelet) and CDI specs share one sequence: write a temp file in the same
directory, optionally fsync it, rename it over the target, optionally fsync the directory so the
rename itself survives a power loss. Written once here so every caller gets it right.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def fsync_dir(directory: Path) -> None:
    """Make a rename or unlink in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(target: Path, data: bytes, *, prefix: str, suffix: str = "", durable: bool = True) -> None:
    """Replace ``target`` with ``data`` through a temp file named ``<prefix>*<suffix>`` beside it.

    ``durable`` fsyncs the file before the rename and the directory after it; without it the
    replacement is still atomic for concurrent readers, just not guaranteed across a crash.
    """
    directory = target.parent
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=prefix, suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            if durable:
                out.flush()
                os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if durable:
        fsync_dir(directory)
