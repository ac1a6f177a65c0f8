"""``kubedra tutorial``: replay Module 4 of the seed tutorial on the embedded cluster with the real kubectl.

The runner starts (or reuses) a ``kubedra up`` cluster with the tutorial's two nodes, then runs each
step of :mod:`kubedra.cli.tutorial.steps`, printing the command and kubectl's own output as the
tutorial does. Every step checks what the tutorial promises (``allocated,reserved``, the nine GPUs,
the ``GPU_DEVICE_*`` environment); a broken promise stops the replay with a non-zero exit status, so
the same command doubles as an end-to-end test.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path
from typing import TextIO

from kubedra.cli._local_cluster import cluster_running, kubedra, start_cluster
from kubedra.cli.tutorial.steps import NODES, STEPS, Action, Run, Show, Skip, Step, WaitFor

MANIFESTS = "kubedra.cli.tutorial.manifests"


class StepFailed(Exception):
    """A step's output did not show what the tutorial promises."""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "tutorial",
        help="replay the DRA tutorial (Module 4) on the embedded cluster with the real kubectl",
        description="Replay Module 4 of the seed DRA tutorial step by step with the real kubectl.",
    )
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="cluster data directory (default: a fresh temporary directory)")
    parser.add_argument("--step", type=int, default=None, metavar="N",
                        help="run only step N (on a cluster kept by an earlier --keep run)")
    parser.add_argument("--keep", action="store_true", help="leave the cluster running at the end")
    parser.add_argument("--pause", action="store_true", help="wait for Enter between steps")
    parser.add_argument("--list", action="store_true", help="list the steps and exit")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    out = sys.stdout
    if args.list:
        for number, step in enumerate(STEPS, 1):
            out.write(f"{number:2d}. {step.title}\n")
        return 0
    if args.step is not None and not 1 <= args.step <= len(STEPS):
        out.write(f"error: --step must be between 1 and {len(STEPS)}\n")
        return 2
    data_dir: Path = args.data_dir or Path(tempfile.mkdtemp(prefix="kubedra-tutorial-"))
    started = False
    if not cluster_running(data_dir):
        if args.step is not None and args.step > 1:
            out.write(f"error: no running cluster in {data_dir}; run the whole tutorial with --keep first\n")
            return 2
        _start_cluster(data_dir, out)
        started = True
    replay = Replay(data_dir / "kubeconfig", out, pause=args.pause)
    chosen = [(args.step, STEPS[args.step - 1])] if args.step else list(enumerate(STEPS, 1))
    status = 0
    try:
        for number, step in chosen:
            replay.step(number, step)
        out.write("\nThe tutorial finished: every step showed what the tutorial promises.\n")
    except StepFailed as exc:
        out.write(f"\nFAILED: {exc}\n")
        status = 1
    finally:
        if args.keep or not started:
            out.write(f"\nThe cluster is still running. To use it:\n  export KUBECONFIG={data_dir / 'kubeconfig'}\n"
                      f"Stop it with: kubedra down --data-dir {data_dir}\n")
        else:
            kubedra("down", "--data-dir", str(data_dir))
    return status


class Replay:
    """Runs steps against one cluster and checks their output."""

    def __init__(self, kubeconfig: Path, out: TextIO, *, pause: bool = False) -> None:
        from kubedra.cli.binaries import kubectl_path

        self.kubectl = str(kubectl_path())
        self.env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
        self.out = out
        self.pause = pause and sys.stdin.isatty()

    def step(self, number: int, step: Step) -> None:
        self.out.write(f"\n{'=' * 78}\nStep {number}: {step.title}\n{'=' * 78}\n{step.text}\n")
        for action in step.actions:
            self.action(action)
        if self.pause:
            input("\n[press Enter for the next step] ")

    def action(self, action: Action) -> None:
        if isinstance(action, Show):
            text = (resources.files(MANIFESTS) / action.manifest).read_text()
            self.out.write(f"\n$ cat {action.manifest}\n{text}")
        elif isinstance(action, Skip):
            self.out.write(f"\n$ {action.command}\n[skipped: {action.reason}]\n")
        elif isinstance(action, Run):
            self.run(action)
        elif isinstance(action, WaitFor):
            self.wait(action)

    def _argv(self, args: tuple[str, ...]) -> tuple[list[str], str]:
        argv, shown = [self.kubectl], ["kubectl"]
        for arg in args:
            if arg.startswith("@"):
                argv.append(str(resources.files(MANIFESTS) / arg[1:]))
                shown.append(arg[1:])
            else:
                argv.append(arg)
                shown.append(arg)
        return argv, " ".join(shlex.quote(a) for a in shown)

    def kubectl_output(self, args: tuple[str, ...]) -> tuple[int, str]:
        argv, _ = self._argv(args)
        proc = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=180)
        return proc.returncode, proc.stdout + proc.stderr

    def run(self, action: Run) -> None:
        _, shown = self._argv(action.args)
        self.out.write(f"\n$ {shown}\n")
        code, output = self.kubectl_output(action.args)
        self.out.write(output if output.endswith("\n") or not output else output + "\n")
        self.out.flush()
        if code != 0:
            raise StepFailed(f"`{shown}` exited with status {code}")
        missing = [text for text in action.expect if text not in output]
        if missing:
            raise StepFailed(f"`{shown}` did not show {', '.join(repr(m) for m in missing)}")
        for pattern, count in action.expect_count:
            found = len(re.findall(pattern, output))
            if found != count:
                raise StepFailed(f"`{shown}` showed {pattern!r} {found} times, expected {count}")

    def wait(self, action: WaitFor) -> None:
        _, shown = self._argv(action.args)
        self.out.write(f"\n[waiting for {action.description}] ")
        self.out.flush()
        deadline = time.monotonic() + action.timeout
        output = ""
        while time.monotonic() < deadline:
            code, output = self.kubectl_output(action.args)
            if code == 0 and action.until in output:
                self.out.write(" done\n")
                return
            self.out.write(".")
            self.out.flush()
            time.sleep(1.0)
        raise StepFailed(
            f"timed out after {action.timeout:.0f}s waiting for {action.description}; "
            f"`{shown}` last showed: {output.strip()!r}"
        )


def _start_cluster(data_dir: Path, out: TextIO) -> None:
    out.write(f"Starting the embedded cluster in {data_dir} (nodes: {', '.join(NODES)}) ...\n")
    out.flush()
    proc = start_cluster(data_dir, NODES, private_port=True)
    out.write(proc.stdout)
    if proc.returncode != 0:
        out.write(proc.stderr)
        raise SystemExit(f"kubedra up failed with status {proc.returncode}")
