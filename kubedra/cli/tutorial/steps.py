"""The steps of the seed tutorial (Module 4 of "Unlock the future of Kubernetes and accelerators with
DRA"), as data: what to say, which manifest to show, which kubectl command to run, what to wait for.

Keeping the script as data lets ``kubedra tutorial --step N`` address any step, lets the test read
the same list, and keeps the runner free of tutorial-specific branches.
"""

from __future__ import annotations

from dataclasses import dataclass, field

NAMESPACE = "dra-tutorial"
WORKER = "kind-worker"
CONTROL_PLANE = "kind-control-plane"
NODES = (CONTROL_PLANE, WORKER)
DRIVER_LABEL = "app.kubernetes.io/name=dra-example-driver"


@dataclass(frozen=True)
class Run:
    """Run ``kubectl ARGS`` and print its output.

    ``expect`` substrings must appear in the output; each ``expect_count`` regular expression must
    match exactly that many times. ``@name`` in ARGS stands for the bundled manifest ``name``.
    """

    args: tuple[str, ...]
    expect: tuple[str, ...] = ()
    expect_count: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Show:
    """Print a manifest, as the tutorial does with ``curl`` before applying it."""

    manifest: str


@dataclass(frozen=True)
class WaitFor:
    """Poll ``kubectl ARGS`` until its output contains ``until`` (progress is shown while waiting)."""

    description: str
    args: tuple[str, ...]
    until: str
    timeout: float = 120.0


@dataclass(frozen=True)
class Skip:
    """A command of the original tutorial that cannot run here, shown with the reason."""

    command: str
    reason: str


Action = Run | Show | WaitFor | Skip


@dataclass(frozen=True)
class Step:
    title: str
    text: str
    actions: tuple[Action, ...] = field(default_factory=tuple)


def _apply(name: str, *expect: str) -> tuple[Action, ...]:
    return (Show(name), Run(("apply", "-f", f"@{name}"), expect=expect))


STEPS: tuple[Step, ...] = (
    Step(
        "Create the namespace",
        "Everything in this module lives in the dra-tutorial namespace.",
        (Run(("create", "namespace", NAMESPACE), expect=("namespace/dra-tutorial created",)),),
    ),
    Step(
        "Deploy a DeviceClass",
        "A DeviceClass names a set of devices by CEL selectors; claims refer to it. This one selects every "
        "device published by the gpu.example.com driver (the manifest is v1beta1, as in the tutorial; "
        "kubedra stores it as resource.k8s.io/v1).",
        (
            *_apply("deviceclass.yaml", "deviceclass.resource.k8s.io/gpu.example.com created"),
            Run(("get", "deviceclasses"), expect=("gpu.example.com",)),
        ),
    ),
    Step(
        "Create RBAC authorization for the DRA driver",
        "The driver needs to read ResourceClaims and Nodes and to manage its ResourceSlices.",
        _apply(
            "rbac.yaml",
            "serviceaccount/dra-example-driver-service-account created",
            "clusterrole.rbac.authorization.k8s.io/dra-example-driver-role created",
            "clusterrolebinding.rbac.authorization.k8s.io/dra-example-driver-role-binding created",
        ),
    ),
    Step(
        "PriorityClass",
        "A high priority keeps the driver's pods from being preempted.",
        _apply("priorityclass.yaml", "priorityclass.scheduling.k8s.io/dra-driver-high-priority created"),
    ),
    Step(
        "Deploy the DRA driver",
        "The example driver runs as a DaemonSet with NUM_DEVICES=9. On kubedra the kubelet recognises the "
        "dra-example-driver image and runs kubedra's own gpu.example.com driver, which registers with the "
        "kubelet over gRPC and publishes a ResourceSlice. kind-control-plane is tainted, so only kind-worker "
        "runs it.",
        (
            *_apply("dra-driver-daemonset.yaml", "daemonset.apps/dra-example-driver-kubeletplugin created"),
            WaitFor(
                "the driver pod to be Running",
                ("get", "pods", "-n", NAMESPACE, "-l", DRIVER_LABEL, "-o",
                 "jsonpath={.items[*].status.phase}"),
                "Running",
            ),
            Run(("get", "daemonset,pods", "-n", NAMESPACE, "-l", DRIVER_LABEL),
                expect=("daemonset.apps/dra-example-driver-kubeletplugin", "Running")),
        ),
    ),
    Step(
        "The ResourceSlice",
        "The driver publishes its nine GPUs in one ResourceSlice, pool kind-worker, each with 80Gi of memory.",
        (
            WaitFor(
                "the driver's ResourceSlice",
                ("get", "resourceslices", "--field-selector", f"spec.nodeName={WORKER}", "-o",
                 "jsonpath={.items[*].spec.driver}"),
                "gpu.example.com",
            ),
            Run(("get", "resourceslices"), expect=(WORKER, "gpu.example.com")),
            Run(("get", "resourceslices", "--field-selector", f"spec.nodeName={WORKER}", "-o",
                 "jsonpath={range .items[*].spec.devices[*]}{.name}{\"\\t\"}"
                 "{.capacity.memory.value}{\"\\n\"}{end}"),
                expect_count=((r"\t80Gi", 9),)),
        ),
    ),
    Step(
        "Create a ResourceClaim",
        "The claim asks for ALL devices of the class whose memory capacity is exactly 80Gi. Nothing uses it "
        "yet, so it stays pending: allocation happens when a pod that needs it is scheduled.",
        (
            *_apply("resourceclaim.yaml", "resourceclaim.resource.k8s.io/example-resource-claim created"),
            Run(("get", "resourceclaim", "-n", NAMESPACE), expect=("example-resource-claim", "pending")),
        ),
    ),
    Step(
        "Deploy the ollama workload",
        "The pod references the claim. The scheduler allocates the nine GPUs on kind-worker, reserves the "
        "claim for the pod and binds it; the kubelet asks the driver to prepare the devices and starts the "
        "container with the CDI edits. (The alpine/ollama image cannot run here: the kubelet runs a "
        "placeholder process with the same environment and says so in an event.)",
        (
            *_apply("pod.yaml", "pod/ollama created"),
            WaitFor(
                "the claim to be allocated and reserved",
                ("get", "resourceclaim", "-n", NAMESPACE, "example-resource-claim"),
                "allocated,reserved",
            ),
            Run(("get", "resourceclaim", "-n", NAMESPACE), expect=("allocated,reserved",)),
            Run(("describe", "resourceclaim", "-n", NAMESPACE, "example-resource-claim"),
                expect=("Reserved For:", "ollama", WORKER, "delete-protection"),
                expect_count=((r"Pool:\s+kind-worker", 9),)),
        ),
    ),
    Step(
        "Check how the DRA driver handled the claim",
        "The driver logs each NodePrepareResources call and the CDI devices it returned.",
        (
            WaitFor("the ollama pod to be Running",
                    ("get", "pods", "-n", NAMESPACE, "ollama", "-o", "jsonpath={.status.phase}"), "Running"),
            Run(("logs", "-l", DRIVER_LABEL, "-n", NAMESPACE), expect=("NodePrepareResources",)),
            Run(("get", "pods", "-n", NAMESPACE, "-l", "app=ollama"), expect=("ollama", "Running")),
        ),
    ),
    Step(
        "Run an LLM in the pod",
        "The tutorial now pulls and queries an LLM inside the pod.",
        (
            Skip("kubectl -n dra-tutorial exec ollama -- ollama pull llama3.2",
                 "needs the internet and the real ollama image; kubedra runs no image runtime"),
            *_apply("service.yaml", "service/ollama-service created"),
            Skip('kubectl -n dra-tutorial exec ollama -- ollama run tinyllama:1.1b "what is kubernetes"',
                 "needs the downloaded model"),
        ),
    ),
    Step(
        "The devices inside the container",
        "The driver's CDI spec put one GPU_DEVICE_<n> group of variables per device into the container.",
        (
            Run(("-n", NAMESPACE, "exec", "ollama", "--", "env"),
                expect=("GPU_DEVICE_0=gpu-0", "GPU_DEVICE_8=gpu-8", "_SHARING_STRATEGY=TimeSlicing",
                        "_TIMESLICE_INTERVAL=Default"),
                expect_count=(("_RESOURCE_CLAIM=", 9),)),
        ),
    ),
    Step(
        "Share the claim with a second pod",
        "A ResourceClaim can be used by several pods at once: each is listed under Reserved For.",
        (
            *_apply("pod-shared.yaml", "pod/ollama-2 created"),
            WaitFor("ollama-2 to be Running",
                    ("get", "pods", "-n", NAMESPACE, "ollama-2", "-o", "jsonpath={.status.phase}"), "Running"),
            Run(("get", "resourceclaim", "-n", NAMESPACE, "example-resource-claim", "-o",
                 "jsonpath={range .status.reservedFor[*]}{.name}{\"\\n\"}{end}"),
                expect=("ollama", "ollama-2")),
        ),
    ),
    Step(
        "Free the GPUs",
        "Deleting both pods releases the reservation; the claim controller deallocates the claim.",
        (
            Run(("delete", "pod", "-n", NAMESPACE, "ollama", "ollama-2", "--wait=true", "--timeout=120s"),
                expect=('pod "ollama" deleted', 'pod "ollama-2" deleted')),
            WaitFor("the claim to be pending again",
                    ("get", "resourceclaim", "-n", NAMESPACE, "example-resource-claim"), "pending"),
        ),
    ),
    Step(
        "A Job with a ResourceClaimTemplate",
        "Each Job pod gets its own claim, generated from the template, with one GPU. When a pod is done, "
        "its generated claim is deallocated and deleted (it is owned by the pod), which frees the GPU.",
        (
            *_apply("job-template.yaml", "resourceclaimtemplate.resource.k8s.io/single-gpu created",
                    "job.batch/gpu-job created"),
            WaitFor("the Job to complete",
                    ("get", "job", "-n", NAMESPACE, "gpu-job", "-o", "jsonpath={.status.succeeded}"), "2"),
            Run(("get", "job", "-n", NAMESPACE, "gpu-job"), expect=("gpu-job", "2/2")),
            Run(("get", "pods", "-n", NAMESPACE, "-l", "job-name=gpu-job"), expect=("Completed",)),
            Run(("logs", "-n", NAMESPACE, "-l", "job-name=gpu-job"), expect_count=((r"(?m)^GPU_DEVICE_\d+=gpu-\d+$", 2),)),
            Run(("get", "resourceclaims", "-n", NAMESPACE), expect=("example-resource-claim",)),
        ),
    ),
)
