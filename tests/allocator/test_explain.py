"""`kubedra explain` and the analysis behind it, on the tutorial's failing variants."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from kubedra.allocator import Features
from kubedra.allocator.explain import Snapshot, explain, render
from kubedra.cli.main import main

from .helpers import DRIVER, claim, device_class, gpu, node, request, resource_slice


def _gpu_manifests(nodes: int = 2, per_node: int = 4) -> list[dict[str, object]]:
    docs: list[dict[str, object]] = [
        {
            "apiVersion": "resource.k8s.io/v1",
            "kind": "DeviceClass",
            "metadata": {"name": DRIVER},
            "spec": {"selectors": [{"cel": {"expression": f"device.driver == '{DRIVER}'"}}]},
        },
    ]
    for n in range(nodes):
        docs.append(
            {
                "apiVersion": "resource.k8s.io/v1",
                "kind": "ResourceSlice",
                "metadata": {"name": f"node-{n}-gpus"},
                "spec": {
                    "driver": DRIVER,
                    "nodeName": f"node-{n}",
                    "pool": {"name": f"node-{n}", "generation": 1, "resourceSliceCount": 1},
                    "devices": [
                        {
                            "name": f"gpu-{i}",
                            "attributes": {"model": {"string": "LATEST-GPU-MODEL"}},
                            "capacity": {"memory": {"value": "80Gi"}},
                        }
                        for i in range(per_node)
                    ],
                },
            }
        )
    return docs


def _template(expression: str) -> dict[str, object]:
    return {
        "apiVersion": "resource.k8s.io/v1beta1",
        "kind": "ResourceClaimTemplate",
        "metadata": {"name": "large-black-cat-claim-template", "namespace": "dra-tutorial"},
        "spec": {
            "spec": {
                "devices": {
                    "requests": [
                        {
                            "name": "req-0",
                            "deviceClassName": DRIVER,
                            "selectors": [{"cel": {"expression": expression}}],
                        },
                    ]
                }
            }
        },
    }


def test_cli_explains_a_selector_that_matches_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = [
        *_gpu_manifests(),
        _template(f"device.capacity['{DRIVER}'].memory.compareTo(quantity('40Gi')) == 0"),
    ]
    (tmp_path / "cluster.yaml").write_text(yaml.safe_dump_all(docs))
    status = main(
        ["explain", str(tmp_path), "--template", "large-black-cat-claim-template", "-n", "dra-tutorial"]
    )
    out = capsys.readouterr().out
    assert status == 1
    assert "fits on 0 of 2 nodes" in out
    assert "8 devices in usable pools" in out
    assert f"class {DRIVER} selector #0" in out and "matched 8 of 8 devices" in out
    assert "request selector #0" in out and "matched 0 of 8 devices; memory seen: 80Gi \u00d78" in out


def test_cli_json_shows_the_devices_it_would_pick(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = [
        *_gpu_manifests(),
        _template(f"device.capacity['{DRIVER}'].memory.compareTo(quantity('40Gi')) >= 0"),
    ]
    (tmp_path / "cluster.yaml").write_text(yaml.safe_dump_all(docs))
    status = main(
        [
            "explain",
            str(tmp_path / "cluster.yaml"),
            "--template",
            "large-black-cat-claim-template",
            "-n",
            "dra-tutorial",
            "-o",
            "json",
        ]
    )
    report = json.loads(capsys.readouterr().out)
    assert status == 0
    assert report["fits_on"] == ["node-0", "node-1"]
    assert report["chosen"]["devices"] == [
        f"dra-tutorial/large-black-cat-claim-template-claim: req-0 -> {DRIVER}/node-0/gpu-0"
    ]


def test_cli_reports_bad_input_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bad.yaml").write_text(
        "kind: ResourceSlice\napiVersion: resource.k8s.io/v1\nspec: {devices: 3}\n"
    )
    assert main(["explain", str(tmp_path), "--claim", "x"]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "spec.devices" in err


def test_allocated_devices_and_blocking_constraints_are_named() -> None:
    # No selectors anywhere: this part of explain needs no CEL.
    slices = [resource_slice("s", [gpu("d0", model="a"), gpu("d1", model="b"), gpu("d2", model="c")])]
    taken = claim("other", [request("r")])
    taken = _allocated(taken, "d0")
    wanted = claim("want", [request("r", count=2)], constraints=[{"matchAttribute": f"{DRIVER}/model"}])
    snapshot = Snapshot(
        classes=[device_class("gpu")], slices=slices, claims=[taken], nodes=[node()], features=Features()
    )
    report = explain(snapshot, [wanted])
    assert report.fits_on == []
    (funnel,) = report.nodes[0].requests
    assert (funnel.in_pools, funnel.allocated, funnel.available) == (3, 1, 2)
    text = render(report, per_node=True)
    assert "1 already allocated" in text
    assert (
        "without claim default/want, constraint #0 {'matchAttribute': 'gpu.example.com/model'} the claims would fit"
        in text
    )


def _allocated(c: object, device: str) -> object:
    from kubedra.api import codec
    from kubedra.api.resource import ResourceClaim

    data = codec.to_dict(c)
    data["status"] = {
        "allocation": {
            "devices": {"results": [{"request": "r", "driver": DRIVER, "pool": "s", "device": device}]}
        }
    }
    return codec.decode(ResourceClaim, data)
