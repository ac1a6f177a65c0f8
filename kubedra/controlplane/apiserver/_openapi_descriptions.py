"""What ``kubectl explain`` says about resource.k8s.io types — in kubedra's own words.

Keys are ``Type`` or ``Type.jsonField`` (type names of kubedra.api.resource).
The text explains what a field is for and how the scheduler and drivers use it;
exact limits live in the validation code, not here.
"""

from __future__ import annotations

_STD_API_VERSION = "Version of the schema this object is written in (resource.k8s.io/v1)."
_STD_KIND = "Type of the object, in CamelCase."
_STD_METADATA = "Name, namespace, labels, annotations and other standard object metadata."

DESCRIPTIONS: dict[str, str] = {
    # --- DeviceClass
    "DeviceClass": "A DeviceClass is a named category of devices, defined by an administrator or a driver "
                   "installer. Claims refer to a class by name; the class narrows which devices qualify "
                   "and can add configuration that every allocation from this class receives.",
    "DeviceClass.apiVersion": _STD_API_VERSION,
    "DeviceClass.kind": _STD_KIND,
    "DeviceClass.metadata": _STD_METADATA,
    "DeviceClass.spec": "What devices belong to the class and how they are configured. Changing it does not "
                        "affect claims that are already allocated.",
    "DeviceClassSpec": "The selection rules and configuration of a DeviceClass.",
    "DeviceClassSpec.selectors": "Conditions every device of the class must meet; all of them must be true.",
    "DeviceClassSpec.config": "Driver-specific settings passed to the driver for every device allocated "
                              "through this class. Claim configuration is applied after it.",
    "DeviceClassSpec.extendedResourceName": "An extended resource name (like example.com/gpu) that pods may "
                                            "request in container resources instead of writing a claim; the "
                                            "scheduler then allocates devices of this class for them.",
    "DeviceClassConfiguration": "One piece of configuration that a DeviceClass hands to drivers.",
    "DeviceClassConfiguration.opaque": "Parameters in the driver's own format.",
    # --- selectors and opaque configuration
    "DeviceSelector": "A condition a device must satisfy.",
    "DeviceSelector.cel": "A CEL expression evaluated for each candidate device.",
    "CELDeviceSelector": "A Common Expression Language condition over one device.",
    "CELDeviceSelector.expression": "A CEL expression that must evaluate to true for a device to be selected. "
                                    "It sees the variable 'device' with driver, attributes (by domain), "
                                    "capacity (by domain) and allowMultipleAllocations. An evaluation error "
                                    "makes allocation fail rather than skipping the device.",
    "OpaqueDeviceConfiguration": "Configuration the API server does not interpret; the named driver reads it "
                                 "when it prepares the device.",
    "OpaqueDeviceConfiguration.driver": "The driver that receives these parameters; other drivers ignore them.",
    "OpaqueDeviceConfiguration.parameters": "Any JSON object the driver understands, usually itself with "
                                            "apiVersion and kind so the driver can check its version.",
    # --- ResourceSlice
    "ResourceSlice": "A ResourceSlice publishes devices that a driver manages, as part of a pool. A pool may be "
                     "spread over several slices; the scheduler only uses a pool when it has seen every slice "
                     "of its newest generation.",
    "ResourceSlice.apiVersion": _STD_API_VERSION,
    "ResourceSlice.kind": _STD_KIND,
    "ResourceSlice.metadata": _STD_METADATA,
    "ResourceSlice.spec": "The devices of this slice and where they can be used.",
    "ResourceSliceSpec": "Devices of one pool published by one driver, and the nodes that can reach them.",
    "ResourceSliceSpec.driver": "The DRA driver that owns these devices, as a DNS subdomain "
                                "(for example gpu.example.com). Field selector: spec.driver.",
    "ResourceSliceSpec.pool": "The pool this slice belongs to, with its generation and slice count.",
    "ResourceSliceSpec.nodeName": "The node whose local devices these are. Exactly one of nodeName, "
                                  "nodeSelector, allNodes or perDeviceNodeSelection is set. "
                                  "Field selector: spec.nodeName.",
    "ResourceSliceSpec.nodeSelector": "Nodes that can reach these devices, for network-attached devices.",
    "ResourceSliceSpec.allNodes": "Set when every node in the cluster can reach these devices.",
    "ResourceSliceSpec.devices": "The devices in this slice. Device names are unique within the pool.",
    "ResourceSliceSpec.perDeviceNodeSelection": "Set when each device states its own node placement.",
    "ResourceSliceSpec.sharedCounters": "Counter sets that devices in the pool draw from, for devices that "
                                        "share an underlying resource (like partitions of one GPU).",
    "ResourcePool": "Identifies a pool and tells consumers whether they have seen all of its slices.",
    "ResourcePool.name": "The pool's name; together with the driver it identifies the pool.",
    "ResourcePool.generation": "Increased by the driver whenever the pool changes. Slices with an older "
                               "generation are ignored once a newer one exists.",
    "ResourcePool.resourceSliceCount": "How many slices make up the pool at this generation.",
    "Device": "One device a driver offers, with the attributes and capacities selectors can test.",
    "Device.name": "The device's name, unique within its pool (a DNS label).",
    "Device.attributes": "Facts about the device, keyed by qualified name (domain/name). Unqualified names "
                         "belong to the driver's domain. Each value is one of int, bool, string or version.",
    "Device.capacity": "Amounts the device has, keyed by qualified name (for example memory).",
    "Device.consumesCounters": "Counters this device takes from the pool's shared counter sets when allocated.",
    "Device.nodeName": "The node for this device, when the slice uses perDeviceNodeSelection.",
    "Device.nodeSelector": "The nodes for this device, when the slice uses perDeviceNodeSelection.",
    "Device.allNodes": "Set when every node can use this device (with perDeviceNodeSelection).",
    "Device.taints": "Taints on the device; claims need matching tolerations to be allocated it.",
    "Device.bindsToNode": "When set, an allocation of this device is limited to the node chosen by the "
                          "scheduler.",
    "Device.bindingConditions": "Conditions that must become true in the claim's device status before a pod "
                                "using the device is bound to its node.",
    "Device.bindingFailureConditions": "Conditions that, when true, make the scheduler give up the binding "
                                       "and try again.",
    "Device.allowMultipleAllocations": "Set when the device can be allocated to several claims at once, "
                                       "each consuming part of its capacity.",
    "Device.nodeAllocatableResourceMappings": "How allocating this device maps onto node allocatable "
                                              "resources.",
    "DeviceAttribute": "One attribute value; exactly one member is set.",
    "DeviceAttribute.int": "An integer value.",
    "DeviceAttribute.bool": "A boolean value.",
    "DeviceAttribute.string": "A string value.",
    "DeviceAttribute.version": "A semantic version (semver 2.0.0).",
    "DeviceAttribute.ints": "A list of integers.",
    "DeviceAttribute.bools": "A list of booleans.",
    "DeviceAttribute.strings": "A list of strings.",
    "DeviceAttribute.versions": "A list of semantic versions.",
    "DeviceCapacity": "An amount a device has, and how claims may consume it.",
    "DeviceCapacity.value": "The total amount.",
    "DeviceCapacity.requestPolicy": "Rules for how much a claim may take when the device is shared.",
    "CapacityRequestPolicy": "Allowed amounts for a claim's share of a capacity.",
    "CapacityRequestPolicy.default": "The amount consumed when the claim asks for none.",
    "CapacityRequestPolicy.validValues": "The only amounts a claim may take.",
    "CapacityRequestPolicy.validRange": "A range of amounts a claim may take.",
    "CapacityRequestPolicyRange": "A range with optional step.",
    "CapacityRequestPolicyRange.min": "Smallest amount.",
    "CapacityRequestPolicyRange.max": "Largest amount.",
    "CapacityRequestPolicyRange.step": "Amounts are min plus a multiple of step.",
    "CounterSet": "A named set of counters shared by devices of a pool.",
    "CounterSet.name": "Name of the set, referenced by devices' consumesCounters.",
    "CounterSet.counters": "The counters and their totals.",
    "Counter": "An amount in a counter set.",
    "Counter.value": "The amount.",
    "DeviceCounterConsumption": "What a device takes from one counter set.",
    "DeviceCounterConsumption.counterSet": "Name of the counter set.",
    "DeviceCounterConsumption.counters": "The amounts taken, by counter name.",
    "DeviceTaint": "A taint on a device: claims without a matching toleration are not allocated it, and with "
                   "NoExecute pods already using it are evicted.",
    "DeviceTaint.key": "The taint key, a qualified name.",
    "DeviceTaint.value": "The taint value.",
    "DeviceTaint.effect": "NoSchedule, NoExecute or None.",
    "DeviceTaint.timeAdded": "When the taint was added.",
    # --- ResourceClaim
    "ResourceClaim": "A ResourceClaim asks for devices. The scheduler allocates matching devices when a pod "
                     "that uses the claim is scheduled, and the driver on the chosen node prepares them "
                     "before the pod's containers start. The spec cannot change after creation.",
    "ResourceClaim.apiVersion": _STD_API_VERSION,
    "ResourceClaim.kind": _STD_KIND,
    "ResourceClaim.metadata": _STD_METADATA,
    "ResourceClaim.spec": "What is requested. Immutable.",
    "ResourceClaim.status": "Whether and what was allocated, and which pods may use it.",
    "ResourceClaimSpec": "The devices a claim asks for.",
    "ResourceClaimSpec.devices": "Device requests, constraints between them, and configuration.",
    "DeviceClaim": "Requests for devices, with constraints and configuration.",
    "DeviceClaim.requests": "The requests; all of them must be satisfied for the claim to be allocated.",
    "DeviceClaim.constraints": "Conditions across the devices of several requests, like having the same "
                               "value of an attribute.",
    "DeviceClaim.config": "Configuration for the devices of some or all requests.",
    "DeviceRequest": "One request for devices, either exactly described or as a list of alternatives.",
    "DeviceRequest.name": "Name of the request (a DNS label), used by constraints, config and pods' container "
                          "claims to refer to it.",
    "DeviceRequest.exactly": "The devices wanted. Exactly one of exactly or firstAvailable is set.",
    "DeviceRequest.firstAvailable": "Alternatives in order of preference; the first that can be satisfied is "
                                    "used.",
    "ExactDeviceRequest": "A request for one or more devices of a class.",
    "ExactDeviceRequest.deviceClassName": "The DeviceClass the devices must belong to.",
    "ExactDeviceRequest.selectors": "Extra conditions each device must meet, in addition to the class's.",
    "ExactDeviceRequest.allocationMode": "ExactCount (the default) asks for count devices; All asks for every "
                                         "matching device in the pools reachable from the node, and fails "
                                         "if there are none.",
    "ExactDeviceRequest.count": "How many devices with ExactCount; defaults to 1.",
    "ExactDeviceRequest.adminAccess": "Asks for access to devices that are in use by others, for monitoring "
                                      "or maintenance. Only allowed in namespaces labelled for it.",
    "ExactDeviceRequest.tolerations": "Tolerations for device taints.",
    "ExactDeviceRequest.capacity": "The share of each capacity the request needs from a shared device.",
    "DeviceSubRequest": "One alternative of a firstAvailable request.",
    "DeviceSubRequest.name": "Name of the alternative; results refer to it as <request>/<name>.",
    "DeviceSubRequest.deviceClassName": "The DeviceClass the devices must belong to.",
    "DeviceSubRequest.selectors": "Extra conditions each device must meet.",
    "DeviceSubRequest.allocationMode": "ExactCount (the default) or All.",
    "DeviceSubRequest.count": "How many devices with ExactCount; defaults to 1.",
    "DeviceSubRequest.tolerations": "Tolerations for device taints.",
    "DeviceSubRequest.capacity": "The share of each capacity this alternative needs.",
    "CapacityRequirements": "Amounts requested from a device's capacities.",
    "CapacityRequirements.requests": "Amount per capacity name.",
    "DeviceToleration": "Tolerates device taints that match it.",
    "DeviceToleration.key": "Taint key to match; empty with operator Exists matches every key.",
    "DeviceToleration.operator": "Equal (the default) or Exists.",
    "DeviceToleration.value": "Taint value to match with Equal.",
    "DeviceToleration.effect": "Taint effect to match; empty matches all effects.",
    "DeviceToleration.tolerationSeconds": "For NoExecute, how long a pod keeps the device after the taint "
                                          "appears.",
    "DeviceConstraint": "A condition across the devices of several requests.",
    "DeviceConstraint.requests": "The requests it applies to; empty means all of them.",
    "DeviceConstraint.matchAttribute": "An attribute every device must have, with the same value on all.",
    "DeviceConstraint.distinctAttribute": "An attribute every device must have, with a different value on "
                                          "each.",
    "DeviceClaimConfiguration": "Configuration for the devices of some requests.",
    "DeviceClaimConfiguration.requests": "The requests it applies to; empty means all of them.",
    "DeviceClaimConfiguration.opaque": "Parameters in the driver's own format.",
    "ResourceClaimStatus": "The outcome of allocation and who uses the claim.",
    "ResourceClaimStatus.allocation": "Set by the scheduler once devices are allocated.",
    "ResourceClaimStatus.reservedFor": "The consumers (usually pods) allowed to use the allocated devices. "
                                       "A claim that is reserved is never deallocated.",
    "ResourceClaimStatus.devices": "Status reported by drivers for each allocated device.",
    "AllocationResult": "The devices allocated for a claim and where they can be used.",
    "AllocationResult.devices": "One result per allocated device, and the configuration that applies.",
    "AllocationResult.nodeSelector": "The nodes from which the allocated devices can be used; pods using the "
                                     "claim are scheduled onto them.",
    "AllocationResult.allocationTimestamp": "When the allocation was made.",
    "DeviceAllocationResult": "Allocated devices and their configuration.",
    "DeviceAllocationResult.results": "One entry per allocated device.",
    "DeviceAllocationResult.config": "Configuration from the class and the claim, in the order the driver "
                                     "applies it.",
    "DeviceRequestAllocationResult": "One allocated device and the request it satisfies.",
    "DeviceRequestAllocationResult.request": "The request, or <request>/<subrequest> for firstAvailable.",
    "DeviceRequestAllocationResult.driver": "The driver that manages the device.",
    "DeviceRequestAllocationResult.pool": "The pool the device belongs to.",
    "DeviceRequestAllocationResult.device": "The device's name within the pool.",
    "DeviceRequestAllocationResult.adminAccess": "Set when the device was allocated for admin access.",
    "DeviceRequestAllocationResult.tolerations": "Tolerations that were in effect when it was allocated.",
    "DeviceRequestAllocationResult.bindingConditions": "Copied from the device at allocation time.",
    "DeviceRequestAllocationResult.bindingFailureConditions": "Copied from the device at allocation time.",
    "DeviceRequestAllocationResult.shareID": "Identifies this share of a device that allows multiple "
                                             "allocations.",
    "DeviceRequestAllocationResult.consumedCapacity": "The capacity this allocation takes from a shared "
                                                      "device.",
    "DeviceAllocationConfiguration": "Configuration that applies to allocated devices.",
    "DeviceAllocationConfiguration.source": "FromClass or FromClaim.",
    "DeviceAllocationConfiguration.requests": "The requests it applies to; empty means all of them.",
    "DeviceAllocationConfiguration.opaque": "Parameters in the driver's own format.",
    "ResourceClaimConsumerReference": "A consumer of a claim, usually a pod.",
    "ResourceClaimConsumerReference.apiGroup": "API group of the consumer; empty for core (pods).",
    "ResourceClaimConsumerReference.resource": "Resource type of the consumer, like pods.",
    "ResourceClaimConsumerReference.name": "Name of the consumer.",
    "ResourceClaimConsumerReference.uid": "UID of the consumer, identifying one incarnation of it.",
    "AllocatedDeviceStatus": "Status a driver reports for one allocated device.",
    "AllocatedDeviceStatus.driver": "The driver that manages the device.",
    "AllocatedDeviceStatus.pool": "The pool the device belongs to.",
    "AllocatedDeviceStatus.device": "The device's name within the pool.",
    "AllocatedDeviceStatus.shareID": "Which share of a shared device this is.",
    "AllocatedDeviceStatus.conditions": "Conditions of the device, like Ready.",
    "AllocatedDeviceStatus.data": "Driver-specific data about the device.",
    "AllocatedDeviceStatus.networkData": "Network facts for network devices.",
    "NetworkDeviceData": "Network configuration of an allocated device.",
    "NetworkDeviceData.interfaceName": "Name of the interface in the pod.",
    "NetworkDeviceData.ips": "IP addresses in CIDR notation.",
    "NetworkDeviceData.hardwareAddress": "MAC address.",
    # --- ResourceClaimTemplate
    "ResourceClaimTemplate": "A ResourceClaimTemplate is a blueprint for per-pod claims: for each pod that "
                             "refers to it, a ResourceClaim is created from the template, owned by the pod "
                             "and deleted with it.",
    "ResourceClaimTemplate.apiVersion": _STD_API_VERSION,
    "ResourceClaimTemplate.kind": _STD_KIND,
    "ResourceClaimTemplate.metadata": _STD_METADATA,
    "ResourceClaimTemplate.spec": "The metadata and spec copied into each generated claim.",
    "ResourceClaimTemplateSpec": "What each generated ResourceClaim looks like.",
    "ResourceClaimTemplateSpec.metadata": "Labels and annotations copied into generated claims.",
    "ResourceClaimTemplateSpec.spec": "The claim spec copied into generated claims.",
    # --- DeviceTaintRule
    "DeviceTaintRule": "Adds a taint to every device that matches its selector.",
    "DeviceTaintRule.spec": "Which devices and which taint.",
    "DeviceTaintRuleSpec.deviceSelector": "Driver, pool and device name to match; empty matches all.",
    "DeviceTaintRuleSpec.taint": "The taint added to matching devices.",
}
