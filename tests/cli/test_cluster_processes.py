"""The process bookkeeping behind ``kubedra up/down``: stale pid files and orphaned descendants."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kubedra.cli.cluster import _kill_leftovers, _process_table, _read_pid, descendants

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


def _spawn(*argv: str) -> subprocess.Popen[bytes]:
    """Start a process and wait until its exec is complete (its cmdline is empty during execve)."""
    proc = subprocess.Popen(list(argv), start_new_session=True, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 5
    while not Path(f"/proc/{proc.pid}/cmdline").read_bytes() and time.monotonic() < deadline:
        time.sleep(0.005)
    return proc


def test_a_pid_file_naming_a_reused_pid_is_not_a_running_cluster(tmp_path: Path) -> None:
    """After a crash the pid may belong to anything; only a kubedra process counts as running."""
    other = _spawn("sleep", "30")
    ours = _spawn(sys.executable, "-c", "import time; time.sleep(30)", "kubedra-component")
    try:
        (tmp_path / "a.pid").write_text(str(other.pid))
        (tmp_path / "b.pid").write_text(str(ours.pid))
        (tmp_path / "c.pid").write_text("not a pid")
        assert _read_pid(tmp_path / "a.pid") is None
        assert _read_pid(tmp_path / "b.pid") == ours.pid
        assert _read_pid(tmp_path / "c.pid") is None
        assert _read_pid(tmp_path / "missing.pid") is None
    finally:
        for proc in (other, ours):
            proc.kill()
            proc.wait()


def test_descendants_are_found_and_orphans_killed() -> None:
    """A parent with two grandchildren in their own sessions: killing the parent orphans them."""
    parent = _spawn("bash", "-c", "setsid sleep 31 & setsid sleep 32 & wait")
    try:
        deadline = time.monotonic() + 5
        tree: dict[int, str] = {}
        while time.monotonic() < deadline:
            tree = descendants([parent.pid])
            sleeps = [p for p in tree if Path(f"/proc/{p}/cmdline").read_bytes().startswith(b"sleep")]
            if len(sleeps) == 2:
                break
            time.sleep(0.02)
        assert len(sleeps) == 2, tree
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        assert descendants([parent.pid]) == {}  # re-parented: invisible from the dead parent
        assert all(p in _process_table() for p in sleeps)
        assert _kill_leftovers(tree) == len(tree)
        deadline = time.monotonic() + 5
        while any(p in _process_table() for p in sleeps) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not any(p in _process_table() for p in sleeps)
        assert _kill_leftovers(tree) == 0  # gone (or the pid reused by a process started later)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
