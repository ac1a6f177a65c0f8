"""``kubedra up`` / ``down`` / ``status``: the single-machine cluster as background processes.

``up`` starts each component in ``COMPONENTS`` plus one kubelet per node (default: the tutorial's
``kind-control-plane`` and ``kind-worker``) as a daemonised process (own session, pid file and log
file in the data directory), waits until each is ready and then until every node reports Ready,
showing progress as it goes. ``down`` stops the kubelets and the controller manager together, then
the API server (SIGTERM, SIGKILL after a timeout), and finally kills anything those processes left
behind (containers, driver plugins): the process tree is recorded before stopping, so nothing
started by the cluster outlives it. State lives in the data directory (SQLite), so ``down`` then
``up`` keeps every object.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
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
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kubedra.controlplane.client import HTTPClient

DEFAULT_PORT = 6443
DEFAULT_NODES = "kind-control-plane,kind-worker"  # the tutorial's kind cluster


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


def _in_process_apiserver_command(args: argparse.Namespace) -> list[str]:
    data_dir = Path(args.data_dir)
    (data_dir / "controller-manager.ready").unlink(missing_ok=True)
    return [*_apiserver_command(args), "--controllers", "--nodes", getattr(args, "nodes", "") or "",
            "--ready-file", str(data_dir / "controller-manager.ready")]


# ``up --in-process``: one process serves the API and runs the scheduler and controllers.
IN_PROCESS = Component(
    "apiserver", _in_process_apiserver_command, lambda args: _readyz(args) and _manager_ready(args)
)


def _components(args: argparse.Namespace) -> list[Component]:
    """COMPONENTS plus a kubelet per node (``up --nodes``; ``down``/``status`` read them back)."""
    data_dir = Path(args.data_dir)
    nodes_file = data_dir / "nodes.txt"
    names = getattr(args, "nodes", None)
    if names is None:
        names = nodes_file.read_text() if nodes_file.exists() else ""
    else:
        nodes_file.write_text(names)
    marker = data_dir / "in-process"
    in_process = getattr(args, "in_process", None)
    if in_process is None:
        in_process = marker.exists()
    elif in_process:
        marker.write_text("scheduler and controllers run in the apiserver process\n")
    else:
        marker.unlink(missing_ok=True)
    control = [IN_PROCESS] if in_process else COMPONENTS
    return control + [_kubelet(n.strip()) for n in names.split(",") if n.strip()]


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
        return None  # another user's process: the pid was reused
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return pid  # no /proc (macOS): trust the pid file
    # Empty while the process is in execve (just started): nothing to judge by, trust the file.
    return pid if not cmdline or b"kubedra" in cmdline else None


def _process_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, start time) of every live process (zombies are gone already), from /proc."""
    table: dict[int, tuple[int, str]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) ": state, ppid, ...
        if fields[0] != "Z":
            table[int(entry.name)] = (int(fields[1]), fields[19])
    return table


def descendants(pids: list[int]) -> dict[int, str]:
    """Every process below ``pids`` (children, grandchildren, ...): pid -> start time."""
    table = _process_table()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found: dict[int, str] = {}
    todo = list(pids)
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found[child] = table[child][1]
                todo.append(child)
    return found


def _kill_leftovers(processes: dict[int, str]) -> int:
    """SIGKILL the recorded processes that still run (same pid *and* start time); how many."""
    table = _process_table()
    killed = 0
    for pid, started in processes.items():
        if pid in table and table[pid][1] == started:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
                killed += 1
    return killed


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours counts as gone
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _stop_all(pids: list[int], timeout: float) -> None:
    """SIGTERM every pid at once, wait up to ``timeout`` for all, then SIGKILL the rest."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in pids:
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _stop(pid: int, timeout: float) -> None:
    _stop_all([pid], timeout)


def _exited(proc: subprocess.Popen[bytes]) -> bool:
    return proc.poll() is not None


def _say(text: str, end: str = "\n") -> None:
    print(text, end=end, flush=True)


def _wait(what: str, check: Callable[[], bool], timeout: float, failed: Callable[[], bool] = lambda: False) -> bool:
    """Show ``what ...``, a dot per second while ``check`` is false, then ``ready (1.2s)``."""
    _say(f"{what} ...", end="")
    start = time.monotonic()
    next_dot = start + 1.0
    while not check():
        now = time.monotonic()
        if failed() or now - start > timeout:
            _say(" failed")
            return False
        if now >= next_dot:
            _say(".", end="")
            next_dot += 1.0
        time.sleep(0.05)
    _say(f" ready ({time.monotonic() - start:.1f}s)")
    return True


def _client(data_dir: Path, timeout: float = 5.0) -> HTTPClient:
    from kubedra.controlplane.client import HTTPClient

    client = HTTPClient.from_kubeconfig(data_dir / "kubeconfig")
    client.timeout = timeout
    return client


def node_rows(client: HTTPClient) -> list[tuple[str, str, str, int]]:
    """(name, Ready/NotReady, roles, devices published for the node) for ``kubedra status``."""
    devices: dict[str, int] = {}
    for item in client.list("resourceslices").get("items") or []:
        spec = item.get("spec") or {}
        if spec.get("nodeName"):
            devices[spec["nodeName"]] = devices.get(spec["nodeName"], 0) + len(spec.get("devices") or [])
    rows = []
    for item in client.list("nodes").get("items") or []:
        meta = item.get("metadata") or {}
        conditions = (item.get("status") or {}).get("conditions") or []
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
        roles = sorted(k.removeprefix(ROLE_PREFIX) for k in meta.get("labels") or {} if k.startswith(ROLE_PREFIX))
        name = str(meta.get("name"))
        rows.append((name, "Ready" if ready else "NotReady", ",".join(roles) or "<none>", devices.get(name, 0)))
    return sorted(rows)


ROLE_PREFIX = "node-role.kubernetes.io/"


def _table(header: tuple[str, ...], rows: list[tuple[object, ...]]) -> list[str]:
    cells = [header, *[tuple(str(c) for c in r) for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return ["   ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]


def _running(data_dir: Path) -> list[str]:
    """Components of the cluster recorded in ``data_dir`` whose process still runs."""
    recorded = argparse.Namespace(data_dir=data_dir, nodes=None)
    return [c.name for c in _components(recorded) if _read_pid(_pid_file(data_dir, c.name))]


def _free_port() -> int:
    """A port the kernel reports free now (``--port 0``): several clusters can then run side by side."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def up(args: argparse.Namespace) -> int:
    data_dir: Path = args.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    running = _running(data_dir)
    if running:
        print(f"error: a kubedra cluster is already running in {data_dir} ({', '.join(running)}); "
              f"run `kubedra down --data-dir {data_dir}` first", file=sys.stderr)
        return 1
    if args.port == 0:
        args.port = _free_port()
    elif not _port_free(args.port):
        print(f"error: port {args.port} on 127.0.0.1 is already in use (another kubedra or Kubernetes API "
              f"server?); choose another with --port", file=sys.stderr)
        return 1
    (data_dir / "port").write_text(str(args.port))
    (data_dir / "kubeconfig").unlink(missing_ok=True)
    if args.foreground:
        from kubedra.api.features import FeatureGates
        from kubedra.controlplane import process
        from kubedra.controlplane.apiserver.app import Config, run_forever

        process.tune_collector()
        return run_forever(Config(data_dir, port=args.port, storage=args.storage, feature_gates=FeatureGates()))
    started: list[tuple[Component, subprocess.Popen[bytes]]] = []

    def fail(message: str, log_path: Path | None = None) -> int:
        print(f"error: {message}" + (f"; last log lines ({log_path}):" if log_path else ""), file=sys.stderr)
        if log_path is not None:
            for line in log_path.read_text(errors="replace").strip().splitlines()[-5:]:
                print(f"  {line}", file=sys.stderr)
        leftovers = descendants([p.pid for _, p in started])
        _stop_all([p.pid for _, p in reversed(started)], 5)
        _kill_leftovers(leftovers)
        for c, _ in started:
            _pid_file(data_dir, c.name).unlink(missing_ok=True)
        return 1

    for component in _components(args):
        log_path = data_dir / f"{component.name}.log"
        with open(log_path, "ab") as log_file:
            proc = subprocess.Popen(component.command(args), stdout=log_file, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        _pid_file(data_dir, component.name).write_text(str(proc.pid))
        started.append((component, proc))
        if not _wait(f"starting {component.name} (pid {proc.pid})", functools.partial(component.ready, args),
                     args.timeout, failed=functools.partial(_exited, proc)):
            return fail(f"{component.name} did not become ready", log_path)
    nodes = [n.strip() for n in (args.nodes or "").split(",") if n.strip()]
    if nodes:
        client = _client(data_dir)

        def all_ready() -> bool:
            try:
                ready = {name for name, state, _, _ in node_rows(client) if state == "Ready"}
            except Exception:  # the API server may still be settling; the timeout decides
                return False
            return ready >= set(nodes)

        if not _wait(f"waiting for nodes {', '.join(nodes)} to be Ready", all_ready, args.timeout):
            return fail(f"nodes {', '.join(nodes)} did not become Ready within {args.timeout:.0f}s "
                        f"(see {data_dir}/kubelet-*.log)")
    kubeconfig = data_dir / "kubeconfig"
    _say(f"kubedra is up: https://127.0.0.1:{args.port} (storage: {args.storage}, data: {data_dir})")
    _say(f"  kubeconfig: {kubeconfig}")
    _say(f"  export KUBECONFIG={kubeconfig}")
    return 0


def down(args: argparse.Namespace) -> int:
    data_dir: Path = args.data_dir
    components = _components(args)
    pids = {c.name: _read_pid(_pid_file(data_dir, c.name)) for c in components}
    alive = {name: pid for name, pid in pids.items() if pid is not None}
    # Record the whole tree first: once a parent dies its children are re-parented and lost to view.
    leftovers = descendants(list(alive.values()))
    stopped = []
    # Kubelets and the controller manager together, then the API server they talk to.
    for wave in ([c for c in components if c.name != "apiserver"], [c for c in components if c.name == "apiserver"]):
        names = [c.name for c in reversed(wave) if c.name in alive]
        _stop_all([alive[n] for n in names], args.timeout)
        stopped.extend(names)
    killed = _kill_leftovers(leftovers)
    for component in components:
        _pid_file(data_dir, component.name).unlink(missing_ok=True)
    if not stopped:
        print(f"no kubedra cluster is running in {data_dir}")
        return 0
    extra = f" and {killed} process(es) they left behind" if killed else ""
    print(f"stopped {', '.join(stopped)}{extra}; state kept in {data_dir}")
    return 0


def status(args: argparse.Namespace) -> int:
    data_dir: Path = args.data_dir
    try:
        args.port = int((data_dir / "port").read_text())
    except (OSError, ValueError):
        args.port = DEFAULT_PORT
    rows: list[tuple[object, ...]] = []
    api_ready = False
    for component in _components(args):
        pid = _read_pid(_pid_file(data_dir, component.name))
        if pid is None:
            rows.append((component.name, "-", "stopped"))
            continue
        ready = component.ready(args)
        api_ready = api_ready or (component.name == "apiserver" and ready)
        rows.append((component.name, pid, "running, ready" if ready else "running, not ready"))
    running = any(r[1] != "-" for r in rows)
    if not running:
        print(f"no kubedra cluster is running in {data_dir} (start one with `kubedra up`)")
        return 3
    print("\n".join(_table(("COMPONENT", "PID", "STATUS"), rows)))
    if (data_dir / "in-process").exists():
        print("(scheduler and controllers run in the apiserver process: kubedra up --in-process)")
    print()
    if api_ready:
        try:
            nodes = node_rows(_client(data_dir))
        except Exception as exc:  # a status command reports, it does not crash
            print(f"nodes: cannot list them from the API server: {exc}")
        else:
            print("\n".join(_table(("NODE", "STATUS", "ROLES", "DEVICES"), list(nodes))) if nodes else "no nodes")
    else:
        print("nodes: unknown (the API server is not ready)")
    print(f"\nexport KUBECONFIG={data_dir / 'kubeconfig'}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("up", help="start the kubedra cluster in the background")
    p.add_argument("--data-dir", type=Path, default=default_data_dir(),
                   help="state, logs and kubeconfig (default: $KUBEDRA_DATA_DIR or ~/.kubedra)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help=f"API server port on 127.0.0.1 (default {DEFAULT_PORT}; 0 picks a free one)")
    p.add_argument("--storage", choices=("sqlite", "memory"), default="sqlite")
    p.add_argument("--foreground", action="store_true", help="run the API server in this process")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for readiness")
    p.add_argument("--in-process", action="store_true",
                   help="run the scheduler and controllers inside the API server process: higher "
                        "scheduling throughput, slower kubectl answers under load (docs/decisions/scheduler.md)")
    p.add_argument("--nodes", default=DEFAULT_NODES,
                   help=f"nodes to run a kubelet for, comma-separated (default: {DEFAULT_NODES}; '' for none)")
    p.set_defaults(handler=up)
    d = subparsers.add_parser("down", help="stop the kubedra cluster")
    d.add_argument("--data-dir", type=Path, default=default_data_dir())
    d.add_argument("--timeout", type=float, default=15.0, help="seconds between SIGTERM and SIGKILL")
    d.set_defaults(handler=down)
    s = subparsers.add_parser("status", help="show whether the kubedra cluster is running")
    s.add_argument("--data-dir", type=Path, default=default_data_dir())
    s.set_defaults(handler=status)
