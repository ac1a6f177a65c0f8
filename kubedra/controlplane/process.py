"""Settings for kubedra's long-running control-plane processes (API server, controller manager).

CPython's cyclic garbage collector runs a young-generation pass every 700 net allocations and
cascades into older generations every 10 of those. The API server and the informers allocate a
dict per JSON object per event while holding hundreds of thousands of long-lived objects (stores,
informer caches), so with the default thresholds a third of the CPU went to collections that
found almost nothing: nearly all garbage here is acyclic and freed by reference counting. With the
thresholds below the scheduler benchmark's template workload (5000 pods, 500 nodes) ran at
482 instead of 336 pods/s (docs/performance/scheduler.md). Cycles are still collected, just
less often; the young pass stays short (it only walks young objects).
"""

from __future__ import annotations

import gc

GC_THRESHOLDS = (50_000, 20, 100)


def tune_collector() -> None:
    """Apply :data:`GC_THRESHOLDS` to this process (call once, at start-up of a server process)."""
    gc.set_threshold(*GC_THRESHOLDS)
