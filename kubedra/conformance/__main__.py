"""`python -m kubedra.conformance {allocator|cel} DIR` runs upstream's fixtures.

Each suite lives in its own module (``allocator_runner``, ``cel_runner``) exposing
``run(directory: Path, out: TextIO) -> int`` that prints one line per failing case
with a readable diff and ends with ``N passed, M failed``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

SUITES = {"allocator": "kubedra.conformance.allocator_runner", "cel": "kubedra.conformance.cel_runner"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kubedra.conformance")
    parser.add_argument("suite", choices=sorted(SUITES))
    parser.add_argument("directory", type=Path)
    parser.add_argument("-k", dest="pattern", default=None, help="only cases whose name contains this")
    parser.add_argument("-v", dest="verbose", action="store_true", help="print passing cases too")
    args = parser.parse_args(argv)
    if not args.directory.is_dir():
        print(f"error: {args.directory}: not a directory", file=sys.stderr)
        return 2
    module = importlib.import_module(SUITES[args.suite])
    return int(module.run(args.directory, sys.stdout, pattern=args.pattern, verbose=args.verbose))


if __name__ == "__main__":
    sys.exit(main())
