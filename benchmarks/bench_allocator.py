"""Allocator benchmark; same as `kubedra bench allocator` (see kubedra/cli/bench_allocator.py).

.venv/bin/python benchmarks/bench_allocator.py [--nodes 500] [--devices 8] [--variant match] [-o json]
"""

from __future__ import annotations

import sys

from kubedra.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["bench", "allocator", *sys.argv[1:]]))
