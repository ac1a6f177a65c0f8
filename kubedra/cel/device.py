"""The ``device`` variable of DRA selectors, built once per slice device and reused.

Attribute values are converted eagerly (as upstream does before evaluating anything), so a broken
attribute fails every selector on that device with ``attribute <name>: ...``. The conversion result
depends on whether list-type attributes are enabled; both outcomes are precomputed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubedra.api.quantity import Quantity, QuantityError
from kubedra.api.semver import Semver, SemverError
from kubedra.cel.interpreter import DomainMap

__all__ = ["CELDevice"]

_SCALARS = ("int", "bool", "string", "version")
_LISTS = ("ints", "bools", "strings", "versions")


def _split(name: str, driver: str) -> tuple[str, str]:
    domain, sep, ident = name.partition("/")
    return (domain, ident) if sep else (driver, name)


class CELDevice:
    """``device.driver``, ``device.attributes``, ``device.capacity``, ``device.allowMultipleAllocations``."""

    __slots__ = ("allow_multiple_allocations", "attributes", "capacity", "driver", "error_list", "error_scalar")

    def __init__(
        self,
        driver: str,
        attributes: Mapping[str, Mapping[str, Any]] | None = None,
        capacity: Mapping[str, Any] | None = None,
        allow_multiple_allocations: bool | None = None,
    ) -> None:
        """Build from the JSON shape: attributes ``{name: {"int": 1}}``, capacity ``{name: {"value": "1Gi"}}``."""
        self.driver = driver
        self.allow_multiple_allocations = bool(allow_multiple_allocations)
        self.attributes: DomainMap = DomainMap()
        self.capacity: DomainMap = DomainMap()
        self.error_scalar: str | None = None  # conversion error with list-type attributes off
        self.error_list: str | None = None  # ... and with them on
        for name, attr in (attributes or {}).items():
            domain, ident = _split(name, driver)
            value, err_scalar, err_list = _convert(name, attr)
            if err_scalar and self.error_scalar is None:
                self.error_scalar = err_scalar
            if err_list and self.error_list is None:
                self.error_list = err_list
            self.attributes.setdefault(domain, {})[ident] = value
        for name, cap in (capacity or {}).items():
            domain, ident = _split(name, driver)
            raw = cap.get("value") if isinstance(cap, Mapping) else getattr(cap, "value", cap)
            try:
                q = raw if isinstance(raw, Quantity) else Quantity.parse(str(raw))
            except QuantityError as e:
                msg = f"capacity {name}: {e}"
                self.error_scalar = self.error_scalar or msg
                self.error_list = self.error_list or msg
                continue
            self.capacity.setdefault(domain, {})[ident] = q

    @classmethod
    def from_api(cls, driver: str, device: Any) -> CELDevice:
        """From a ``kubedra.api.resource.Device`` model (msgspec Struct)."""
        attrs: dict[str, dict[str, Any]] = {}
        for name, a in (device.attributes or {}).items():
            attrs[name] = {
                "int": a.int_,
                "bool": a.bool_,
                "string": a.string,
                "version": a.version,
                "ints": a.ints,
                "bools": a.bools,
                "strings": a.strings,
                "versions": a.versions,
            }
        caps = {name: {"value": c.value} for name, c in (device.capacity or {}).items()}
        return cls(driver, attrs, caps, device.allow_multiple_allocations)

    @classmethod
    def from_dict(cls, driver: str, device: Mapping[str, Any]) -> CELDevice:
        """From a device in JSON form (``{"name": ..., "attributes": ..., "capacity": ...}``)."""
        return cls(driver, device.get("attributes"), device.get("capacity"), device.get("allowMultipleAllocations"))

    def error(self, list_type_attributes: bool) -> str | None:
        return self.error_list if list_type_attributes else self.error_scalar


def _convert(name: str, attr: Mapping[str, Any]) -> tuple[Any, str | None, str | None]:
    """(value, error with list attributes off, error with them on)."""
    unsupported = f"attribute {name}: unsupported attribute value"
    for key in _SCALARS:
        v = attr.get(key)
        if v is None:
            continue
        if key == "version":
            try:
                return Semver.parse(v), None, None
            except SemverError as e:
                msg = f"attribute {name}: parse semantic version: {e}"
                return None, msg, msg
        return v, None, None
    for key in _LISTS:
        v = attr.get(key)
        if v is None:
            continue
        if key == "versions":
            out = []
            for s in v:
                try:
                    out.append(Semver.parse(s))
                except SemverError as e:
                    return None, unsupported, f"attribute {name}: parse semantic version: {e}"
            return out, unsupported, None
        return list(v), unsupported, None
    return None, unsupported, unsupported
