"""kind's node roles: a *control-plane node is labelled and tainted NoSchedule, workers are not."""

from kubedra.api.topology import CONTROL_PLANE_ROLE_LABEL, node_role_labels, node_role_taints


def test_control_plane_node_is_tainted_and_labelled():
    assert node_role_labels("kind-control-plane") == {CONTROL_PLANE_ROLE_LABEL: ""}
    assert node_role_taints("kind-control-plane") == [{"key": CONTROL_PLANE_ROLE_LABEL, "effect": "NoSchedule"}]


def test_worker_has_no_role():
    assert node_role_labels("kind-worker") == {}
    assert node_role_taints("kind-worker") == []
