"""Evaluations per second of a typical DRA selector over 100,000 devices.

Prints one line per engine: kubedra.cel (compile once, CELDevice built once per device as the
allocator caches it), the same including CELDevice construction, a hand-written Python predicate
(the floor), and cel-expr-python (cel-cpp) on a quantity-free variant of the expression for
comparison (it cannot express Kubernetes quantities without protobuf wrapper types).

    .venv/bin/python benchmarks/bench_cel.py [--devices N]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from kubedra.api.quantity import Quantity
from kubedra.cel import CELDevice, compile_selector

EXPRESSION = (
    'device.driver == "gpu.example.com" && device.attributes["gpu.example.com"].model.startsWith("H")'
    ' && device.capacity["gpu.example.com"].memory.compareTo(quantity("40Gi")) >= 0'
)


def make_devices(n: int) -> list[tuple[str, dict[str, Any]]]:
    """80 % GPUs with 11 attributes and 2 capacities, 20 % NICs of another driver."""
    out = []
    models = ["H100", "H200", "A100", "L40S"]
    for i in range(n):
        if i % 5 == 4:
            out.append(("nic.example.com", {"attributes": {"speed": {"int": 100}, "model": {"string": "CX7"}},
                                            "capacity": {"bandwidth": {"value": "100G"}}}))  # fmt: skip
            continue
        attrs: dict[str, Any] = {
            "model": {"string": models[i % 4]},
            "index": {"int": i % 8},
            "uuid": {"string": f"GPU-{i:08d}"},
            "driverVersion": {"version": "580.159.4"},
            "cudaComputeCapability": {"version": "9.0.0"},
            "productName": {"string": "NVIDIA Example"},
            "brand": {"string": "Nvidia"},
            "architecture": {"string": "Hopper"},
            "pcieBusID": {"string": f"0000:{i % 256:02x}:00.0"},
            "resource.kubernetes.io/pcieRoot": {"string": "pci0000:00"},
            "migCapable": {"bool": True},
        }
        mem = ["40Gi", "80Gi", "24Gi", "141Gi"][i % 4]
        out.append(("gpu.example.com", {"attributes": attrs,
                                        "capacity": {"memory": {"value": mem}, "slots": {"value": "7"}}}))  # fmt: skip
    return out


def floor_predicate(driver: str, dev: dict[str, Any], forty_gi: Quantity) -> bool:
    if driver != "gpu.example.com":
        return False
    model = dev["attributes"]["model"]["string"]
    if not model.startswith("H"):
        return False
    return Quantity.parse(dev["capacity"]["memory"]["value"]) >= forty_gi


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:>12,.0f} eval/s  {seconds / n * 1e6:6.2f} µs/eval"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=100_000)
    args = parser.parse_args()
    raw = make_devices(args.devices)
    n = len(raw)

    t0 = time.perf_counter()
    devices = [CELDevice.from_dict(driver, d) for driver, d in raw]
    build = time.perf_counter() - t0

    sel = compile_selector(EXPRESSION, environment="stored")
    t0 = time.perf_counter()
    ours = [sel.matches(d) for d in devices]
    t_ours = time.perf_counter() - t0

    forty = Quantity.parse("40Gi")
    parsed_caps = [(driver, d) for driver, d in raw]
    t0 = time.perf_counter()
    floor = [floor_predicate(driver, d, forty) for driver, d in parsed_caps]
    t_floor = time.perf_counter() - t0

    # A floor that, like the allocator's cache, has quantities parsed ahead of time.
    pre = [(driver, d["attributes"].get("model", {}).get("string", ""),
            Quantity.parse(d["capacity"].get("memory", {"value": "0"})["value"])) for driver, d in raw]  # fmt: skip
    t0 = time.perf_counter()
    floor2 = [drv == "gpu.example.com" and m.startswith("H") and q >= forty for drv, m, q in pre]
    t_floor2 = time.perf_counter() - t0

    assert ours == floor == floor2, "kubedra.cel disagrees with the hand-written predicate"
    print(f"devices: {n}, matching: {sum(ours)}")
    print(f"kubedra.cel matches (CELDevice cached)      {rate(n, t_ours)}")
    print(f"kubedra.cel incl. CELDevice construction     {rate(n, t_ours + build)}")
    print(f"python predicate, parses quantity each time  {rate(n, t_floor)}")
    print(f"python predicate, pre-parsed (floor)         {rate(n, t_floor2)}")

    try:
        from cel_expr_python import cel  # type: ignore[import-not-found]
    except ImportError:
        return
    env = cel.NewEnv(variables={"device": cel.Type.DYN})
    expr = env.compile(
        'device.driver == "gpu.example.com" && device.attributes["gpu.example.com"].model.startsWith("H")'
        ' && device.capacity["gpu.example.com"].memory >= 42949672960'
    )
    acts = []
    for driver, d in raw:
        attrs: dict[str, dict[str, Any]] = {}
        for k, v in d["attributes"].items():
            dom, _, ident = k.rpartition("/")
            attrs.setdefault(dom or driver, {})[ident] = next(iter(v.values()))
        caps = {driver: {k: Quantity.parse(v["value"]).value() for k, v in d["capacity"].items()}}
        attrs.setdefault("gpu.example.com", {})
        caps.setdefault("gpu.example.com", {})
        acts.append({"device": {"driver": driver, "attributes": attrs, "capacity": caps}})
    t0 = time.perf_counter()
    results = []
    for a in acts:
        v = expr.eval(data=a)
        results.append(v.value() if v.type() != cel.Type.ERROR else None)
    t_cpp = time.perf_counter() - t0
    agree = [r is True for r in results] == ours
    print(f"cel-expr-python (int bytes, no quantity)    {rate(n, t_cpp)}  agrees={agree}")


if __name__ == "__main__":
    main()
