"""What a container becomes on this machine: a command line, an environment, a working directory.

kubedra has no image runtime. A container whose command exists here runs as a local
process; the known DRA driver images run kubedra's own driver with the kubelet paths of
the pod mapped to this kubelet's root; anything else (no command, or a binary only the
image has) runs a placeholder process so the pod still reaches Running, and the
kubelet says so in an event. The environment is built like a container's: the pod's
``env`` (``$(VAR)`` expanded, downward-API ``fieldRef`` resolved), then the CDI edits of
the container's claims, on top of a minimal base (PATH, HOME, HOSTNAME).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Images (prefix before the tag) and commands of DRA drivers kubedra runs itself.
EXAMPLE_DRIVER_IMAGES = ("registry.k8s.io/dra-example-driver/dra-example-driver",)
EXAMPLE_DRIVER_COMMANDS = ("dra-example-kubeletplugin",)
PLACEHOLDER_ARGV = ("sleep", "2147483647")

_VAR_REF = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.\-]*)\)")


class ContainerConfigError(ValueError):
    """The container cannot be configured (CreateContainerConfigError); the message names the field."""


@dataclass
class ContainerPlan:
    """How one container is run here."""

    argv: list[str]
    env: dict[str, str]
    cwd: Path | None = None
    executed: bool = True  # False: a placeholder runs instead of the image's program
    note: str = ""  # why a placeholder or a substitute runs (becomes an event)
    extra_env_keys: list[str] = field(default_factory=list)
    port_map: dict[int, int] = field(default_factory=dict)  # port the pod names -> port used here


@dataclass
class NodePaths:
    """This kubelet's directories, substituted for the host paths a pod names."""

    root: Path
    cdi_dir: Path
    kubeconfig: Path | None = None

    def map(self, value: str) -> str:
        for host, local in (("/var/lib/kubelet", self.root), ("/var/run/cdi", self.cdi_dir),
                            ("/run/cdi", self.cdi_dir), ("/etc/cdi", self.cdi_dir)):
            if value == host or value.startswith(host + "/"):
                return str(local) + value[len(host):]
        return value


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes ``$(VAR)`` expansion: defined variables are replaced, ``$$`` escapes, others stay."""
    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        return env.get(name, match.group(0))
    return _VAR_REF.sub(replace, text)


def field_ref(pod: dict[str, Any], path: str, where: str) -> str:
    """Resolve a downward-API ``fieldRef.fieldPath`` against ``pod``."""
    metadata = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    match = re.fullmatch(r"metadata\.(labels|annotations)\['([^']*)'\]", path)
    if match:
        return str((metadata.get(match.group(1)) or {}).get(match.group(2), ""))
    simple = {
        "metadata.name": metadata.get("name"),
        "metadata.namespace": metadata.get("namespace"),
        "metadata.uid": metadata.get("uid"),
        "spec.nodeName": spec.get("nodeName"),
        "spec.serviceAccountName": spec.get("serviceAccountName") or "default",
        "status.hostIP": status.get("hostIP"),
        "status.podIP": status.get("podIP"),
        "status.hostIPs": ",".join(i.get("ip", "") for i in status.get("hostIPs") or []),
        "status.podIPs": ",".join(i.get("ip", "") for i in status.get("podIPs") or []),
    }
    if path not in simple:
        raise ContainerConfigError(f"{where}.valueFrom.fieldRef.fieldPath: Unsupported value: {path!r}")
    return str(simple[path] or "")


def container_env(pod: dict[str, Any], container: dict[str, Any], where: str,
                  cdi_env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment the container's process sees."""
    env: dict[str, str] = {
        "PATH": os.environ.get("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
        "HOSTNAME": str((pod.get("metadata") or {}).get("name", "")),
        "HOME": os.environ.get("HOME", "/root"),
    }
    for index, var in enumerate(container.get("env") or []):
        name = var.get("name", "")
        here = f"{where}.env[{index}]"
        if "value" in var or not var.get("valueFrom"):
            env[name] = expand(str(var.get("value") or ""), env)
            continue
        source = var["valueFrom"]
        if "fieldRef" in source:
            env[name] = field_ref(pod, str((source["fieldRef"] or {}).get("fieldPath", "")), here)
        else:
            kind = next(iter(source), "valueFrom")
            raise ContainerConfigError(f"{here}.valueFrom.{kind}: not supported by the kubedra kubelet")
    for key, value in (cdi_env or {}).items():
        env[key] = value
    return env


def plan_container(pod: dict[str, Any], container: dict[str, Any], where: str, paths: NodePaths,
                   cdi_env: dict[str, str] | None = None) -> ContainerPlan:
    """Decide how ``container`` of ``pod`` runs here; raises ContainerConfigError."""
    env = container_env(pod, container, where, cdi_env)
    argv = [expand(a, env) for a in (container.get("command") or []) + (container.get("args") or [])]
    image = str(container.get("image") or "")
    workdir = container.get("workingDir")
    cwd = Path(workdir) if workdir and Path(workdir).is_dir() else Path("/")
    command = container.get("command") or []
    if image.split(":")[0].split("@")[0] in EXAMPLE_DRIVER_IMAGES or (
        command and os.path.basename(command[0]) in EXAMPLE_DRIVER_COMMANDS
    ):
        driver_env = {k: paths.map(v) for k, v in env.items()}
        driver_env.setdefault("CDI_ROOT", str(paths.cdi_dir))
        port_map = _move_healthcheck_port(driver_env, where)
        for key in ("PYTHONPATH", "VIRTUAL_ENV", "LANG", "LC_ALL"):
            if key in os.environ:
                driver_env.setdefault(key, os.environ[key])
        driver_argv = [sys.executable, "-m", "kubedra", "driver", "example", "--kubelet-root", str(paths.root)]
        if paths.kubeconfig is not None:
            driver_argv += ["--kubeconfig", str(paths.kubeconfig)]
        driver_argv += [paths.map(a) for a in argv[1:]] if command else []
        return ContainerPlan(argv=driver_argv, env=driver_env, cwd=cwd, port_map=port_map,
                             note=f"image {image} runs kubedra's gpu.example.com driver")
    if argv and _resolvable(argv[0], env["PATH"]):
        return ContainerPlan(argv=argv, env=env, cwd=cwd)
    reason = (f"command {argv[0]!r} does not exist on this machine" if argv
              else "the image's entrypoint is unknown (no command given)")
    return ContainerPlan(argv=list(PLACEHOLDER_ARGV), env=env, cwd=cwd, executed=False,
                         note=f"Container {container.get('name')} (image {image}) was not executed: "
                              f"{reason}; a placeholder process runs instead")


def _move_healthcheck_port(env: dict[str, str], where: str) -> dict[int, int]:
    """Give the driver's gRPC health server a free port instead of the fixed one the pod asks for.

    Every node's driver pod asks for the same port (the Helm chart's 51515) and all
    kubelets share this machine's network, so the port is replaced by a free one and
    probes of the pod naming the old port are sent to the new one.
    """
    value = env.get("HEALTHCHECK_PORT", "-1").strip()
    try:
        port = int(value)
    except ValueError:
        raise ContainerConfigError(f"{where}.env[HEALTHCHECK_PORT]: Invalid value: {value!r}: "
                                   "must be an integer") from None
    if port < 0:
        env["HEALTHCHECK_PORT"] = str(port)
        return {}
    free = free_port()
    env["HEALTHCHECK_PORT"] = str(free)
    return {port: free} if port > 0 else {}


def free_port() -> int:
    """A TCP port nothing listens on right now (on all addresses, as gRPC servers bind)."""
    with socket.socket(socket.AF_INET6 if socket.has_ipv6 else socket.AF_INET) as sock:
        sock.bind(("", 0))
        return int(sock.getsockname()[1])


def _resolvable(program: str, path: str) -> bool:
    if "/" in program:
        return os.access(program, os.X_OK) and Path(program).is_file()
    return shutil.which(program, path=path) is not None
