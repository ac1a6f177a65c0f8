"""Python SDK for Kubernetes DRA kubelet plugins (the Go ``kubeletplugin`` helper's job).

A driver implements :class:`Driver` (``prepare``/``unprepare``) and runs it with
:class:`DriverPlugin`; see docs/driver-sdk.md.
"""

from kubedra.node.plugin.cdi import ContainerEdits, DeviceNode, Mount
from kubedra.node.plugin.claims import AllocatedDevice, Claim, ClaimRef, OpaqueConfig
from kubedra.node.plugin.device_status import DeviceStatus
from kubedra.node.plugin.driver import Driver, PreparedDevice, PrepareResult
from kubedra.node.plugin.plugin import DriverPlugin, PluginOptions
from kubedra.node.plugin.resource_health import DeviceHealth
from kubedra.node.plugin.slices import DriverResources, Pool, SliceContent

__all__ = [
    "AllocatedDevice",
    "Claim",
    "ClaimRef",
    "ContainerEdits",
    "DeviceHealth",
    "DeviceNode",
    "DeviceStatus",
    "Driver",
    "DriverPlugin",
    "DriverResources",
    "Mount",
    "OpaqueConfig",
    "PluginOptions",
    "Pool",
    "PrepareResult",
    "PreparedDevice",
    "SliceContent",
]
