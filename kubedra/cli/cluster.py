"""``kubedra up`` / ``down`` / ``status``: the single-machine cluster as a background process.

``up`` starts each component in ``COMPONENTS`` as a daemonised process (own session, pid file and
log file in the data directory) and waits until it is ready; today that is the API server, later
issues append the scheduler, controllers and kubelets to the same list. ``down`` stops them in
reverse order (SIGTERM, then SIGKILL after a timeout).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PORT = 6443


def default_data_dir() -> Path:
    env = os.environ.get("KUBEDRA_DATA_DIR")
    return Path(env).expanduser() if env else Path.home() / ".kubedra"


@dataclass(frozen=True)
class Component:
    name: str
    command: Callable[[argparse.Namespace], list[str]]
    ready: Callable[[argparse.Namespace], bool]


def _apiserver_command(args: argparse.Namespace) -> list[str]:
    return [sys.executable, "-m", "kubedra.controlplane.apiserver", "--data-dir", str(args.data_dir),
            "--port", str(args.port), "--storage", args.storage]


def _readyz(args: argparse.Namespace) -> bool:
    ca = Path(args.data_dir) / "pki" / "ca.crt"
    if not ca.exists() or not (Path(args.data_dir) / "kubeconfig").exists():
        return False
    try:
        ctx = ssl.create_default_context(cafile=str(ca))
        with urllib.request.urlopen(f"https://127.0.0.1:{args.port}/readyz", context=ctx, timeout=2) as r:
            return bool(r.status == 200)
    except (OSError, ValueError):
        return False


def _manager_command(args: argparse.Namespace) -> list[str]:
    """Scheduler + controllers as a supervised process (docs/decisions/scheduler.md says why)."""
    data_dir = Path(args.data_dir)
    (data_dir / "controller-manager.ready").unlink(missing_ok=True)
    return [sys.executable, "-m", "kubedra.controlplane.manager", "--kubeconfig", str(data_dir / "kubeconfig"),
            "--ready-file", str(data_dir / "controller-manager.ready"), "--nodes", getattr(args, "nodes", "") or ""]


def _manager_ready(args: argparse.Namespace) -> bool:
    return (Path(args.data_dir) / "controller-manager.ready").exists()


COMPONENTS: list[Component] = [
    Component("apiserver", _apiserver_command, _readyz),
    Component("controller-manager", _manager_command, _manager_ready),
]


def _kubelet(node: str) -> Component:
    """One kubelet per node, each with its own root under ``DATA_DIR/nodes/<node>`` (docs/decisions/kubelet.md)."""
    def command(args: argparse.Namespace) -> list[str]:
        root = Path(args.data_dir) / "nodes" / node
        (root / "kubelet.ready").unlink(missing_ok=True)
        return [sys.executable, "-m", "kubedra.cli.kubelet", "--node", node, "--root", str(root / "kubelet"),
                "--kubeconfig", str(Path(args.data_dir) / "kubeconfig"), "--ready-file", str(root / "kubelet.ready")]

    return Component(f"kubelet-{node}", command, lambda args: (Path(args.data_dir) / "nodes" / node /
                                                               "kubelet.ready").exists())


def _components(args: argparse.Namespace) -> list[Component]:
    """COMPONENTS plus a kubelet per node (``up --nodes``; ``down``/``status`` read them back)."""
    nodes_file = Path(args.data_dir) / "nodes.txt"
    names = getattr(args, "nodes", None)
    if names is None:
        names = nodes_file.read_text() if nodes_file.exists() else ""
    else:
        nodes_file.write_text(names)
    return COMPONENTS + [_kubelet(n.strip()) for n in names.split(",") if n.strip()]


def _pid_file(data_dir: Path, name: str) -> Path:
    return data_dir / f"{name}.pid"


def _read_pid(path: Path) -> int | None:
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _stop(pid: int, timeout: float) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def up(args: argparse.Namespace) -> int:
    data_dir: Path = args.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    running = [c.name for c in COMPONENTS if _read_pid(_pid_file(data_dir, c.name))]
    if running:
        print(f"error: a kubedra cluster is already running in {data_dir} ({', '.join(running)}); "
              f"run `kubedra down --data-dir {data_dir}` first", file=sys.stderr)
        return 1
    if not _port_free(args.port):
        print(f"error: port {args.port} on 127.0.0.1 is already in use; choose another with --port",
              file=sys.stderr)
        return 1
    (data_dir / "port").write_text(str(args.port))
    (data_dir / "kubeconfig").unlink(missing_ok=True)
    if args.foreground:
        from kubedra.api.features import FeatureGates
        from kubedra.controlplane.apiserver.app import Config, run_forever

        return run_forever(Config(data_dir, port=args.port, storage=args.storage, feature_gates=FeatureGates()))
    started: list[tuple[Component, subprocess.Popen[bytes]]] = []
    for component in _components(args):
        log_path = data_dir / f"{component.name}.log"
        with open(log_path, "ab") as log_file:
            proc = subprocess.Popen(component.command(args), stdout=log_file, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        _pid_file(data_dir, component.name).write_text(str(proc.pid))
        started.append((component, proc))
        deadline = time.monotonic() + args.timeout
        while not component.ready(args):
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace").strip().splitlines()[-5:]
                print(f"error: {component.name} did not become ready; last log lines ({log_path}):",
                      file=sys.stderr)
                for line in tail:
                    print(f"  {line}", file=sys.stderr)
                for _, p in reversed(started):
                    _stop(p.pid, 5)
                for c, _ in started:
                    _pid_file(data_dir, c.name).unlink(missing_ok=True)
                return 1
            time.sleep(0.1)
    print(f"kubedra is up: https://127.0.0.1:{args.port} (storage: {args.storage})")
    print(f"  export KUBECONFIG={data_dir / 'kubeconfig'}")
    return 0


def down(args: argparse.Namespace) -> int:
    data_dir: Path = args.data_dir
    stopped = []
    for component in reversed(_components(args)):
        pid_file = _pid_file(data_dir, component.name)
        pid = _read_pid(pid_file)
        if pid is not None:
            _stop(pid, args.timeout)
            stopped.append(component.name)
        pid_file.unlink(missing_ok=True)
    if not stopped:
        print(f"no kubedra cluster is running in {data_dir}")
        return 0
    print(f"stopped {', '.join(stopped)}")
    return 0


def status(args: argparse.Namespace) -> int:
    data_dir: Path = args.data_dir
    any_running = False
    try:
        args.port = int((data_dir / "port").read_text())
    except (OSError, ValueError):
        args.port = DEFAULT_PORT
    for component in _components(args):
        pid = _read_pid(_pid_file(data_dir, component.name))
        if pid is None:
            print(f"{component.name}: stopped")
            continue
        any_running = True
        state = "ready" if component.ready(args) else "not ready"
        print(f"{component.name}: running (pid {pid}), {state}")
    if any_running:
        print(f"kubeconfig: {data_dir / 'kubeconfig'}")
    return 0 if any_running else 3


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("up", help="start the kubedra cluster in the background")
    p.add_argument("--data-dir", type=Path, default=default_data_dir(),
                   help="state, logs and kubeconfig (default: $KUBEDRA_DATA_DIR or ~/.kubedra)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT)
    p.add_argument("--storage", choices=("sqlite", "memory"), default="sqlite")
    p.add_argument("--foreground", action="store_true", help="run the API server in this process")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for readiness")
    p.add_argument("--nodes", default="", help="register these Node objects (comma-separated) before kubelets run")
    p.set_defaults(handler=up)
    d = subparsers.add_parser("down", help="stop the kubedra cluster")
    d.add_argument("--data-dir", type=Path, default=default_data_dir())
    d.add_argument("--timeout", type=float, default=10.0, help="seconds between SIGTERM and SIGKILL")
    d.set_defaults(handler=down)
    s = subparsers.add_parser("status", help="show whether the kubedra cluster is running")
    s.add_argument("--data-dir", type=Path, default=default_data_dir())
    s.set_defaults(handler=status)
