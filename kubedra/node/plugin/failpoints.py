"""Named crash points for proving crash safety with real processes.

``KUBEDRA_FAILPOINTS=prepare-cdi-written,...`` makes the process SIGKILL itself when
it reaches one of the named points, so a test can kill a real driver exactly between
two writes and check that the restarted driver gives the same answer and leaks
nothing. Without the variable a point costs one set lookup.
"""

from __future__ import annotations

import os
import signal

ENV = "KUBEDRA_FAILPOINTS"

# The points the SDK passes, in the order a Prepare/Unprepare reaches them.
POINTS = (
    "prepare-started",  # checkpoint says PrepareStarted, the driver has not run
    "prepare-driver-done",  # the driver prepared, no CDI spec written yet
    "prepare-cdi-written",  # CDI spec written, checkpoint not yet PrepareCompleted
    "prepare-completed",  # checkpoint PrepareCompleted, reply not sent
    "unprepare-driver-done",  # the driver unprepared, CDI spec still there
    "unprepare-cdi-removed",  # CDI spec removed, checkpoint still lists the claim
)

_active = frozenset(p for p in os.environ.get(ENV, "").split(",") if p)


def hit(point: str) -> None:
    if point in _active:
        os.kill(os.getpid(), signal.SIGKILL)
