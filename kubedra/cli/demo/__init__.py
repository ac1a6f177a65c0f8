"""``kubedra demo NAME``: run one of the gpu.example.com demos (gpu-test1 … gpu-test6) and check it.

Each demo is applied with the real kubectl against the cluster in ``--data-dir`` (started if none
runs there), its pods are awaited, their logs are read and the demo's promise is checked (see
:mod:`kubedra.cli.demo.checks`). The driver DaemonSet and DeviceClass are installed on first use.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from importlib import resources
from pathlib import Path

from kubedra.cli._local_cluster import cluster_running, start_cluster
from kubedra.cli.cluster import DEFAULT_NODES
from kubedra.cli.demo.checks import CHECKS, CONTAINERS, DemoCheckFailed

MANIFESTS = "kubedra.cli.demo.manifests"


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "demo", help="run a gpu.example.com demo scenario (gpu-test1 … gpu-test6) and check its result"
    )
    parser.add_argument("name", choices=[*sorted(CHECKS), "all"])
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="cluster data directory (default: $KUBEDRA_DATA_DIR or ~/.kubedra)")
    parser.add_argument("--keep", action="store_true", help="leave the demo's namespace in place")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for the pods")
    parser.set_defaults(handler=run)


def _data_dir(arg: Path | None) -> Path:
    if arg is not None:
        return arg
    return Path(os.environ.get("KUBEDRA_DATA_DIR", Path.home() / ".kubedra"))


class Kubectl:
    def __init__(self, kubeconfig: Path) -> None:
        from kubedra.cli.binaries import kubectl_path

        self.path = str(kubectl_path())
        self.env = {**os.environ, "KUBECONFIG": str(kubeconfig)}

    def __call__(self, *args: str, check: bool = True) -> str:
        proc = subprocess.run([self.path, *args], env=self.env, capture_output=True, text=True, timeout=180)
        if check and proc.returncode != 0:
            raise DemoCheckFailed(f"kubectl {' '.join(args)} failed: {proc.stderr.strip() or proc.stdout.strip()}")
        return proc.stdout


def run(args: argparse.Namespace) -> int:
    data_dir = _data_dir(args.data_dir)
    if not cluster_running(data_dir):
        print(f"Starting the embedded cluster in {data_dir} ...", flush=True)
        # A private data dir gets a private port; the default cluster keeps the default port.
        up = start_cluster(data_dir, DEFAULT_NODES.split(","), private_port=args.data_dir is not None)
        print(up.stdout, end="", flush=True)
        if up.returncode != 0:
            print(up.stderr, end="", file=sys.stderr)
            return up.returncode
    kubectl = Kubectl(data_dir / "kubeconfig")
    names = sorted(CHECKS) if args.name == "all" else [args.name]
    try:
        ensure_driver(kubectl, args.timeout)
        for name in names:
            print(f"{name}: {run_demo(kubectl, name, timeout=args.timeout, keep=args.keep)}", flush=True)
    except DemoCheckFailed as exc:
        print(f"FAILED: {exc}", flush=True)
        return 1
    return 0


def _manifest(name: str) -> str:
    return str(resources.files(MANIFESTS) / name)


def ensure_driver(kubectl: Kubectl, timeout: float) -> None:
    """Install the DeviceClass and driver DaemonSet once, then wait for the driver's slice."""
    kubectl("apply", "-f", _manifest("driver.yaml"))
    _wait(lambda: "gpu.example.com" in kubectl("get", "resourceslices", "-o", "jsonpath={.items[*].spec.driver}"),
          timeout, "the gpu.example.com driver to publish its ResourceSlice")


def run_demo(kubectl: Kubectl, name: str, *, timeout: float, keep: bool) -> str:
    kubectl("apply", "-f", _manifest(f"{name}.yaml"))
    pods = sorted({pod for pod, _ in CONTAINERS[name]})
    try:
        for pod in pods:
            phase = partial(kubectl, "get", "pod", "-n", name, pod, "-o", "jsonpath={.status.phase}", check=False)
            _wait(partial(_equals, phase, "Running"), timeout, f"{name}/{pod} to be Running")
        logs: dict[tuple[str, str], str] = {}
        for pod, container in CONTAINERS[name]:
            log = partial(kubectl, "logs", "-n", name, pod, "-c", container, check=False)
            _wait(partial(_contains, log, "GPU_DEVICE_"), timeout, f"{name}/{pod}/{container} to print its environment")
            logs[pod, container] = log()
        return CHECKS[name](logs)
    finally:
        if not keep:
            kubectl("delete", "-f", _manifest(f"{name}.yaml"), "--timeout=60s", "--ignore-not-found", check=False)


def _equals(read: Callable[[], str], text: str) -> bool:
    return read() == text


def _contains(read: Callable[[], str], text: str) -> bool:
    return text in read()


def _wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(1.0)
    raise DemoCheckFailed(f"timed out after {timeout:.0f}s waiting for {what}")
