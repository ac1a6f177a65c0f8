"""Which ResourceClaim a pod's ``spec.resourceClaims[]`` entry refers to.

Shared by the ResourceClaim controller (which creates claims from templates) and the scheduler
(which must find them): the rules are those of upstream's ``resourceclaim`` helper package, with
its error texts, so that both components agree on a claim's name and ownership.
"""

from __future__ import annotations

from kubedra.api.core import Pod, PodResourceClaim
from kubedra.api.resource import ResourceClaim

# generateName is truncated so that the name plus the 5-character random suffix fits in 63.
GENERATE_NAME_MAX = 57


class ClaimNameError(Exception):
    """The pod's claim cannot be resolved yet (not created) or is not the pod's."""


def pod_key(pod: Pod) -> str:
    return f"{pod.metadata.namespace or ''}/{pod.metadata.name or ''}"


def claim_name(pod: Pod, pod_claim: PodResourceClaim) -> tuple[str | None, bool]:
    """(claim name or None when no claim is needed, whether the pod must own the claim).

    Raises ClaimNameError when a template claim was not created yet.
    """
    if pod_claim.resource_claim_name:
        return pod_claim.resource_claim_name, False
    if pod_claim.resource_claim_template_name:
        for status in (pod.status.resource_claim_statuses if pod.status else None) or []:
            if status.name == pod_claim.name:
                return status.resource_claim_name, True
        raise ClaimNameError(f'pod "{pod_key(pod)}": ResourceClaim not created yet')
    raise ClaimNameError(
        f'pod "{pod_key(pod)}", spec.resourceClaims[{pod_claim.name}]: '
        "must specify one of: resourceClaimName, resourceClaimTemplateName"
    )


def is_owned_by(pod: Pod, claim: ResourceClaim) -> bool:
    return any(
        ref.uid == pod.metadata.uid and ref.controller
        for ref in claim.metadata.owner_references or []
    )


def check_owner(pod: Pod, claim: ResourceClaim) -> None:
    if not is_owned_by(pod, claim):
        ns = claim.metadata.namespace or ""
        raise ClaimNameError(
            f"ResourceClaim {ns}/{claim.metadata.name} was not created for Pod {ns}/{pod.metadata.name} "
            "(Pod is not owner)"
        )


def generate_name(pod_name: str, pod_claim_name: str) -> str:
    """``<pod>-<claim>-``; when longer than 57 characters both names are cut in proportion to
    their length (``<pod[:a]>-<claim[:b]>``, no trailing dash), so neither part is lost entirely."""
    prefix = f"{pod_name}-{pod_claim_name}-"
    full = len(prefix)
    if full <= GENERATE_NAME_MAX:
        return prefix
    pod_len = len(pod_name) * GENERATE_NAME_MAX // full
    claim_len = len(pod_claim_name) * GENERATE_NAME_MAX // full
    return f"{pod_name[:pod_len]}-{pod_claim_name[:claim_len]}"
