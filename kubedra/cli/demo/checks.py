"""What each gpu-test demo must show, checked on the containers' logs.

The demos print their environment with bash's ``export`` (``declare -x GPU_DEVICE_3="gpu-3"``);
these checks are the intended assertions of the upstream e2e script (gpu-test4 compares the two
pods with each other, which the upstream script meant but did not do).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

_GPU = re.compile(r'^declare -x GPU_DEVICE_(\d+)="(gpu-\d+)"$', re.MULTILINE)
_VAR = re.compile(r'^declare -x (GPU_DEVICE_\d+_[A-Z_]+)="([^"]*)"$', re.MULTILINE)

# (pod, container) -> log text
Logs = Mapping[tuple[str, str], str]


@dataclass(frozen=True)
class ContainerView:
    gpus: tuple[str, ...]
    variables: dict[str, str]

    def setting(self, gpu: str, suffix: str) -> str | None:
        return self.variables.get(f"GPU_DEVICE_{gpu.removeprefix('gpu-')}_{suffix}")


def view(log: str) -> ContainerView:
    return ContainerView(tuple(sorted({m.group(2) for m in _GPU.finditer(log)})),
                         {m.group(1): m.group(2) for m in _VAR.finditer(log)})


class DemoCheckFailed(AssertionError):
    pass


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise DemoCheckFailed(message)


def _one_gpu(v: ContainerView, who: str) -> str:
    _expect(len(v.gpus) == 1, f"{who} should see exactly one GPU, saw {list(v.gpus)}")
    return v.gpus[0]


def _time_sliced(v: ContainerView, gpu: str, interval: str, who: str) -> None:
    _expect(v.setting(gpu, "SHARING_STRATEGY") == "TimeSlicing", f"{who}: {gpu} should be TimeSlicing")
    got = v.setting(gpu, "TIMESLICE_INTERVAL")
    _expect(got == interval, f"{who}: {gpu} interval should be {interval}, got {got}")


def check_gpu_test1(logs: Logs) -> str:
    a = _one_gpu(view(logs["pod0", "ctr0"]), "pod0/ctr0")
    b = _one_gpu(view(logs["pod1", "ctr0"]), "pod1/ctr0")
    _expect(a != b, f"pod0 and pod1 must get different GPUs, both got {a}")
    return f"pod0 got {a}, pod1 got {b}: one GPU each, different"


def check_gpu_test2(logs: Logs) -> str:
    v = view(logs["pod0", "ctr0"])
    _expect(len(v.gpus) == 2, f"pod0/ctr0 should see two distinct GPUs, saw {list(v.gpus)}")
    return f"pod0/ctr0 sees two GPUs: {', '.join(v.gpus)}"


def check_gpu_test3(logs: Logs) -> str:
    views = [view(logs["pod0", c]) for c in ("ctr0", "ctr1")]
    gpus = {_one_gpu(v, f"pod0/ctr{i}") for i, v in enumerate(views)}
    _expect(len(gpus) == 1, f"ctr0 and ctr1 must share one GPU, saw {sorted(gpus)}")
    gpu = gpus.pop()
    for i, v in enumerate(views):
        _time_sliced(v, gpu, "Default", f"pod0/ctr{i}")
    return f"ctr0 and ctr1 share {gpu} (TimeSlicing, Default)"


def check_gpu_test4(logs: Logs) -> str:
    views = {p: view(logs[p, "ctr0"]) for p in ("pod0", "pod1")}
    gpus = {_one_gpu(v, f"{p}/ctr0") for p, v in views.items()}
    _expect(len(gpus) == 1, f"pod0 and pod1 must share one GPU, saw {sorted(gpus)}")
    gpu = gpus.pop()
    for p, v in views.items():
        _time_sliced(v, gpu, "Default", f"{p}/ctr0")
    return f"pod0 and pod1 share {gpu} (TimeSlicing, Default)"


def check_gpu_test5(logs: Logs) -> str:
    ts = [view(logs["pod0", c]) for c in ("ts-ctr0", "ts-ctr1")]
    sp = [view(logs["pod0", c]) for c in ("sp-ctr0", "sp-ctr1")]
    ts_gpus = {_one_gpu(v, "ts container") for v in ts}
    sp_gpus = {_one_gpu(v, "sp container") for v in sp}
    _expect(len(ts_gpus) == 1 and len(sp_gpus) == 1, "each pair of containers must share one GPU")
    ts_gpu, sp_gpu = ts_gpus.pop(), sp_gpus.pop()
    _expect(ts_gpu != sp_gpu, f"ts and sp containers must get different GPUs, both got {ts_gpu}")
    for v in ts:
        _time_sliced(v, ts_gpu, "Long", "ts container")
    for v in sp:
        _expect(v.setting(sp_gpu, "SHARING_STRATEGY") == "SpacePartitioning", "sp: SpacePartitioning expected")
        _expect(v.setting(sp_gpu, "PARTITION_COUNT") == "10", "sp: PARTITION_COUNT=10 expected")
    return f"ts containers share {ts_gpu} (Long); sp containers share {sp_gpu} (SpacePartitioning, 10)"


def check_gpu_test6(logs: Logs) -> str:
    init = _one_gpu(view(logs["pod0", "init0"]), "pod0/init0")
    main = _one_gpu(view(logs["pod0", "ctr0"]), "pod0/ctr0")
    _expect(init == main, f"init0 and ctr0 must see the same GPU, saw {init} and {main}")
    return f"init0 and ctr0 both see {init}"


CHECKS: dict[str, Callable[[Logs], str]] = {
    "gpu-test1": check_gpu_test1,
    "gpu-test2": check_gpu_test2,
    "gpu-test3": check_gpu_test3,
    "gpu-test4": check_gpu_test4,
    "gpu-test5": check_gpu_test5,
    "gpu-test6": check_gpu_test6,
}

# Containers whose logs each demo reads: (pod, container).
CONTAINERS: dict[str, tuple[tuple[str, str], ...]] = {
    "gpu-test1": (("pod0", "ctr0"), ("pod1", "ctr0")),
    "gpu-test2": (("pod0", "ctr0"),),
    "gpu-test3": (("pod0", "ctr0"), ("pod0", "ctr1")),
    "gpu-test4": (("pod0", "ctr0"), ("pod1", "ctr0")),
    "gpu-test5": tuple(("pod0", c) for c in ("ts-ctr0", "ts-ctr1", "sp-ctr0", "sp-ctr1")),
    "gpu-test6": (("pod0", "init0"), ("pod0", "ctr0")),
}
