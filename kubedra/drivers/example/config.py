"""GpuConfig (``gpu.resource.example.com/v1alpha1``): the example driver's opaque parameters.

Decoding is strict (an unknown field is an error, as in the Go driver) so a typo in
a claim fails loudly at Prepare instead of being ignored; ``normalize`` fills the
documented defaults and ``validate`` produces the upstream error texts that users
and tests match on.
"""

from __future__ import annotations

from typing import Any

import msgspec

GROUP = "gpu.resource.example.com"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "GpuConfig"

TIME_SLICING = "TimeSlicing"
SPACE_PARTITIONING = "SpacePartitioning"
INTERVALS = ("Default", "Short", "Medium", "Long")


class ConfigError(ValueError):
    pass


class _Base(msgspec.Struct, rename="camel", omit_defaults=True, forbid_unknown_fields=True, kw_only=True):
    pass


class TimeSlicingConfig(_Base, kw_only=True):
    interval: str | None = None


class SpacePartitioningConfig(_Base, kw_only=True):
    partition_count: int | None = None


class GpuSharing(_Base, kw_only=True):
    strategy: str
    time_slicing_config: TimeSlicingConfig | None = None
    space_partitioning_config: SpacePartitioningConfig | None = None


class GpuConfig(_Base, kw_only=True):
    api_version: str = API_VERSION
    kind: str = KIND
    sharing: GpuSharing | None = None

    def normalize(self) -> GpuConfig:
        """Fill defaults: TimeSlicing, interval Default, partitionCount 1."""
        sharing = self.sharing or GpuSharing(strategy=TIME_SLICING)
        if sharing.strategy == TIME_SLICING and sharing.time_slicing_config is None:
            sharing = msgspec.structs.replace(
                sharing, time_slicing_config=TimeSlicingConfig(interval="Default")
            )
        if sharing.strategy == SPACE_PARTITIONING and sharing.space_partitioning_config is None:
            sharing = msgspec.structs.replace(
                sharing, space_partitioning_config=SpacePartitioningConfig(partition_count=1)
            )
        return msgspec.structs.replace(self, sharing=sharing)

    def validate(self) -> None:
        sharing = self.sharing
        if sharing is None:
            raise ConfigError("no sharing strategy set")
        if sharing.strategy == TIME_SLICING:
            if sharing.space_partitioning_config is not None:
                raise ConfigError("cannot use SpacePartitioningConfig with the 'TimeSlicing' strategy")
            interval = sharing.time_slicing_config.interval if sharing.time_slicing_config else None
            if interval not in INTERVALS:
                raise ConfigError(f"unknown time-slice interval: {interval}")
        elif sharing.strategy == SPACE_PARTITIONING:
            if sharing.time_slicing_config is not None:
                raise ConfigError("cannot use TimeSlicingConfig with the 'SpacePartitioning' strategy")
            count = (
                sharing.space_partitioning_config.partition_count
                if sharing.space_partitioning_config
                else None
            )
            if count is None or count < 0:
                raise ConfigError(f"invalid partition count: {count}")
        else:
            raise ConfigError(f"unknown GPU sharing strategy: {sharing.strategy}")


def default_config() -> GpuConfig:
    return GpuConfig(
        sharing=GpuSharing(strategy=TIME_SLICING, time_slicing_config=TimeSlicingConfig(interval="Default"))
    )


def decode_config(parameters: Any) -> GpuConfig:
    """Strictly decode opaque ``parameters``; errors say which field is wrong."""
    if not isinstance(parameters, dict):
        raise ConfigError("error decoding config parameters: expected a JSON object")
    api_version, kind = parameters.get("apiVersion"), parameters.get("kind")
    if api_version != API_VERSION or kind != KIND:
        raise ConfigError(
            f"error decoding config parameters: no kind {kind!r} is registered for version {api_version!r} "
            f"(want {API_VERSION} {KIND})"
        )
    try:
        return msgspec.convert(parameters, GpuConfig)
    except msgspec.ValidationError as e:
        raise ConfigError(f"error decoding config parameters: {e}") from None
