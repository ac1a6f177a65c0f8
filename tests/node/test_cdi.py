"""CDI spec writing, minimum versions, strict reading and device-ID resolution (real files)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubedra.node.plugin import cdi
from kubedra.node.plugin.cdi_cache import CDICache, environment


def _spec(
    name: str = "gpu-0", env: list[str] | None = None, kind: str = "k8s.gpu.example.com/gpu"
) -> cdi.Spec:
    return cdi.new_spec(kind, [cdi.Device(name=name, container_edits=cdi.ContainerEdits(env=env or ["A=1"]))])


def test_minimum_version_follows_content() -> None:
    assert _spec(kind="vendor/gpu").cdi_version == "0.3.0"
    # a "." in the class needs 0.6.0; a device name starting with a digit needs 0.5.0
    assert _spec(kind="vendor/gpu.x").cdi_version == "0.6.0"
    assert _spec(name="0a1b-gpu-0", kind="vendor/gpu").cdi_version == "0.5.0"
    mount = cdi.ContainerEdits(mounts=[cdi.Mount(host_path="/a", container_path="/b", type="bind")])
    assert cdi.new_spec("v/c", [cdi.Device(name="d", container_edits=mount)]).cdi_version == "0.4.0"
    gids = cdi.ContainerEdits(additional_gids=[5])
    assert cdi.new_spec("v/c", [cdi.Device(name="d", container_edits=gids)]).cdi_version == "0.7.0"
    net = cdi.ContainerEdits(net_devices=[cdi.NetDevice(host_interface_name="eth1", name="net0")])
    assert cdi.new_spec("v/c", [cdi.Device(name="d", container_edits=net)]).cdi_version == "1.1.0"


def test_write_is_atomic_yaml_and_reads_back(tmp_path: Path) -> None:
    spec = _spec(name="1234-gpu-0", env=["GPU_DEVICE_0=gpu-0"])
    path = cdi.write_spec(tmp_path, spec, cdi.transient_spec_name("k8s.gpu.example.com", "gpu", "1234"))
    assert path.name == "k8s.gpu.example.com-gpu_1234.yaml"
    text = path.read_text()
    assert text.startswith("---\n") and "cdiVersion: 0.5.0" in text and "containerEdits" in text
    assert cdi.read_spec(path) == spec
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp file left behind
    assert cdi.remove_spec(tmp_path, "k8s.gpu.example.com-gpu_1234")
    assert not cdi.remove_spec(tmp_path, "k8s.gpu.example.com-gpu_1234")  # missing is fine


def test_strict_reading_names_file_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "x.yaml"
    bad.write_text("cdiVersion: 0.3.0\nkind: v/c\ndevices:\n- name: d\n  containerEdits: {envv: []}\n")
    with pytest.raises(cdi.CDIError, match=r"x\.yaml.*unknown field `envv`"):
        cdi.read_spec(bad)
    low = tmp_path / "low.yaml"
    low.write_text("cdiVersion: 0.3.0\nkind: v/c\ndevices:\n- name: 0d\n  containerEdits: {}\n")
    with pytest.raises(cdi.CDIError, match=r"too low, the content needs 0\.5\.0"):
        cdi.read_spec(low)
    env = tmp_path / "env.json"
    env.write_text(
        '{"cdiVersion":"0.3.0","kind":"v/c","devices":[{"name":"d","containerEdits":{"env":["=x"]}}]}'
    )
    with pytest.raises(cdi.CDIError, match=r"devices\[0\]\.containerEdits\.env\[0\]"):
        cdi.read_spec(env)


def test_invalid_names_are_rejected_before_writing(tmp_path: Path) -> None:
    with pytest.raises(cdi.CDIError, match="invalid device name"):
        cdi.write_spec(tmp_path, _spec(name="-bad"), "s")
    with pytest.raises(cdi.CDIError, match="invalid CDI vendor"):
        cdi.write_spec(tmp_path, _spec(kind="1v/c"), "s")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(cdi.CDIError, match="want vendor/class=name"):
        cdi.parse_qualified_name("nope")
    assert cdi.parse_qualified_name("k8s.gpu.example.com/gpu=common") == (
        "k8s.gpu.example.com",
        "gpu",
        "common",
    )


def test_cache_resolves_priority_conflicts_and_unknown_ids(tmp_path: Path) -> None:
    static, dynamic = tmp_path / "etc", tmp_path / "run"
    common = cdi.new_spec(
        "v/c",
        [cdi.Device(name="common", container_edits=cdi.ContainerEdits(env=["NODE=n1"]))],
        edits=cdi.ContainerEdits(env=["SPEC_LEVEL=1"]),
    )
    cdi.write_spec(static, common, "v-c_common")
    cdi.write_spec(static, _spec(name="dup", kind="v/c", env=["X=1"]), "a")
    cdi.write_spec(static, _spec(name="dup", kind="v/c", env=["X=2"]), "b")
    cdi.write_spec(dynamic, _spec(name="claim-gpu-0", kind="v/c", env=["GPU=0"]), "v-c_claim")
    cdi.write_spec(dynamic, _spec(name="common", kind="v/c", env=["NODE=override"]), "v-c_over")
    (dynamic / "broken.yaml").write_text("cdiVersion: 9.9.9\n")
    cache = CDICache([static, dynamic])
    assert "v/c=dup" not in cache.device_ids()  # same device twice in one directory is dropped
    assert any("broken.yaml" in str(p) for p in cache.errors)
    edits = cache.resolve(["v/c=common", "v/c=claim-gpu-0"])
    assert environment(edits) == {"NODE": "override", "GPU": "0"}  # the later directory wins
    with pytest.raises(cdi.CDIError, match="unresolvable CDI devices v/c=nope"):
        cache.resolve(["v/c=nope"])
    cdi.remove_spec(dynamic, "v-c_over")
    cache.refresh()
    assert environment(cache.resolve(["v/c=common"])) == {"SPEC_LEVEL": "1", "NODE": "n1"}
