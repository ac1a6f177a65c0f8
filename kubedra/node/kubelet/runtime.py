"""The local container runtime: containers are processes, their output goes to CRI-format log files.

Each container runs in its own session (process group), so stopping it reaches the
children a shell started (``sleep 9999 & wait``). stdout and stderr are read by the
kubelet and written line by line as ``<RFC3339Nano> <stream> F <line>`` — the format of
CRI log files — so ``kubectl logs`` can offer ``--timestamps``, ``--since`` and
``--tail`` exactly. The process group id is recorded next to the log so that a kubelet
that crashed can kill what it left behind when it starts again.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from kubedra.node.kubelet.containers import ContainerPlan

log = logging.getLogger(__name__)

_CHUNK = 16 * 1024


def rfc3339nano(ts: float | None = None) -> str:
    moment = datetime.datetime.fromtimestamp(time.time() if ts is None else ts, datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


def rfc3339(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Container:
    """A running (or finished) container process."""

    name: str
    restart_count: int
    log_path: Path
    plan: ContainerPlan
    process: asyncio.subprocess.Process | None = None
    started_at: float = 0.0
    finished_at: float | None = None
    exit_code: int | None = None
    _pumps: list[asyncio.Task[None]] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def container_id(self) -> str:
        return f"kubedra://{self.pid or 0}-{self.restart_count}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.exit_code is None


class LocalRuntime:
    """Starts, stops and tracks container processes under ``<root>/pods``."""

    def __init__(self, root: Path) -> None:
        self.pods_dir = root / "pods"
        self.pods_dir.mkdir(parents=True, exist_ok=True)

    def pod_dir(self, namespace: str, name: str, uid: str) -> Path:
        return self.pods_dir / f"{namespace}_{name}_{uid}"

    def log_path(self, pod_dir: Path, container: str, restart_count: int) -> Path:
        return pod_dir / container / f"{restart_count}.log"

    async def start(self, pod_dir: Path, name: str, restart_count: int, plan: ContainerPlan) -> Container:
        log_path = self.log_path(pod_dir, name, restart_count)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        container = Container(name=name, restart_count=restart_count, log_path=log_path, plan=plan)
        sink = open(log_path, "ab")  # noqa: SIM115 - closed by the pump that owns it
        try:
            container.process = await asyncio.create_subprocess_exec(
                *plan.argv, env=plan.env, cwd=str(plan.cwd) if plan.cwd else None,
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, start_new_session=True,
            )
        except OSError as exc:
            sink.write(f"{rfc3339nano()} stderr F kubedra: cannot start {plan.argv[0]}: {exc}\n".encode())
            sink.close()
            container.started_at = container.finished_at = time.time()
            container.exit_code = 128
            container.done.set()
            return container
        container.started_at = time.time()
        (log_path.parent / "pgid").write_text(str(container.process.pid))
        lock = asyncio.Lock()
        assert container.process.stdout is not None and container.process.stderr is not None
        container._pumps = [
            asyncio.create_task(_pump(container.process.stdout, "stdout", sink, lock)),
            asyncio.create_task(_pump(container.process.stderr, "stderr", sink, lock)),
        ]
        container._pumps.append(asyncio.create_task(self._reap(container, sink)))
        return container

    async def _reap(self, container: Container, sink: object) -> None:
        assert container.process is not None
        code = await container.process.wait()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.gather(*container._pumps[:2]), 5)
        close = getattr(sink, "close", None)
        if close is not None:
            close()
        # A session leader's children may survive it; a container's do not.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(container.process.pid, signal.SIGKILL)
        container.exit_code = code if code >= 0 else 128 - code
        container.finished_at = time.time()
        with contextlib.suppress(FileNotFoundError):
            (container.log_path.parent / "pgid").unlink()
        container.done.set()

    async def stop(self, container: Container, grace: float) -> None:
        """SIGTERM to the container's process group, SIGKILL after ``grace`` seconds."""
        if container.process is None or container.exit_code is not None:
            await container.done.wait()
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(container.process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(container.done.wait(), grace)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(container.process.pid, signal.SIGKILL)
            await container.done.wait()

    def kill_leftovers(self) -> int:
        """Kill process groups recorded by a previous kubelet process; returns how many were found."""
        found = 0
        for pgid_file in self.pods_dir.glob("*/*/pgid"):
            with contextlib.suppress(ValueError, OSError):
                pgid = int(pgid_file.read_text())
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pgid, signal.SIGKILL)
                    found += 1
                pgid_file.unlink()
        return found


async def _pump(stream: asyncio.StreamReader, name: str, sink: object, lock: asyncio.Lock) -> None:
    write = sink.write  # type: ignore[attr-defined]
    flush = sink.flush  # type: ignore[attr-defined]
    pending = b""
    tag = name.encode()
    while True:
        chunk = await stream.read(_CHUNK)
        if not chunk:
            break
        pending += chunk
        *lines, pending = pending.split(b"\n")
        if len(pending) >= _CHUNK:  # an over-long line is written as a partial record
            lines_partial, pending = [pending], b""
        else:
            lines_partial = []
        async with lock:
            stamp = rfc3339nano().encode()
            for line in lines:
                write(stamp + b" " + tag + b" F " + line + b"\n")
            for line in lines_partial:
                write(stamp + b" " + tag + b" P " + line + b"\n")
            flush()
    if pending:
        async with lock:
            write(rfc3339nano().encode() + b" " + tag + b" F " + pending + b"\n")
            flush()
