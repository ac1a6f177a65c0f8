"""`kubedra demo` runs a gpu-test scenario end to end on a fresh cluster and checks its promise."""

import subprocess
import sys

import pytest


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_demo_gpu_test5_per_request_configs(tmp_path):
    data = tmp_path / "cluster"
    try:
        proc = subprocess.run([sys.executable, "-m", "kubedra", "demo", "gpu-test5", "--data-dir", str(data)],
                              capture_output=True, text=True, timeout=380)
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, out[-3000:]
        assert "gpu-test5: ts containers share gpu-" in out
        assert "(SpacePartitioning, 10)" in out
    finally:
        subprocess.run([sys.executable, "-m", "kubedra", "down", "--data-dir", str(data)], capture_output=True,
                       timeout=120)
