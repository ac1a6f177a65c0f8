"""`kubedra bench <benchmark>`: performance figures printed, never asserted.

Each benchmark lives in its own ``kubedra/cli/bench_<name>.py`` module exposing
``add_arguments(parser)`` and ``run(args) -> int`` plus a one-line module docstring; this module
discovers them, so adding a benchmark never means editing a central table.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from typing import Any

import kubedra.cli


def _benchmarks() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for info in sorted(pkgutil.iter_modules(kubedra.cli.__path__), key=lambda m: m.name):
        if info.name.startswith("bench_"):
            module = importlib.import_module(f"kubedra.cli.{info.name}")
            if callable(getattr(module, "run", None)) and callable(getattr(module, "add_arguments", None)):
                found[info.name.removeprefix("bench_")] = module
    return found


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("bench", help="run a benchmark and print its figures")
    benches = parser.add_subparsers(dest="benchmark", metavar="BENCHMARK", required=True)
    for name, module in _benchmarks().items():
        summary = (module.__doc__ or name).strip().splitlines()[0]
        sub = benches.add_parser(
            name,
            help=summary,
            description=module.__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(sub)
        sub.set_defaults(handler=module.run)
