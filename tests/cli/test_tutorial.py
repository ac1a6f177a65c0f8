"""The README's main command replays the tutorial end to end on a fresh embedded cluster.

Runs ``make tutorial`` exactly as a new user does, then checks the promises of Module 4 in its
output: the claim goes from pending to allocated,reserved, the nine GPUs of kind-worker are
allocated, and the container sees the GPU_DEVICE_* environment.
"""

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_make_tutorial_replays_module_4():
    proc = subprocess.run(["make", "-s", "tutorial"], cwd=REPO, capture_output=True, text=True, timeout=590)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "The tutorial finished" in out
    assert re.search(r"example-resource-claim\s+pending", out)
    assert re.search(r"example-resource-claim\s+allocated,reserved", out)
    assert len(re.findall(r"Pool:\s+kind-worker", out)) == 9
    for n in range(9):
        assert f"GPU_DEVICE_{n}=gpu-{n}" in out
    assert "GPU_DEVICE_0_SHARING_STRATEGY=TimeSlicing" in out
    assert "GPU_DEVICE_0_TIMESLICE_INTERVAL=Default" in out
    assert "[skipped: needs the internet" in out
