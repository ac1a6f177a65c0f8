"""Claim constraints: ``matchAttribute`` and ``distinctAttribute`` (with and without list attributes).

Semantics are v0.36.2's, quirks included, because the scheduler's choice must be reproducible:
* matchAttribute keeps only a device count; the first device fixes the value. With list attributes
  the value is the intersection of the devices' value sets. Deliberate difference: ``remove``
  recomputes that intersection from the devices still counted, as upstream does since 1.37
  (case ``list-attributes-match-constraint-backtrack-needs-intersection-restore``); v0.36.2 kept the
  narrowed set after backtracking, which only ever rejected devices that fit;
* distinctAttribute stores values keyed by request name, so devices of one request overwrite each
  other and only the latest is compared.
"""

from __future__ import annotations

from kubedra.allocator.devices import PreparedDevice
from kubedra.api.resource import DeviceAttribute

Value = tuple[str, object]


def lookup_attribute(device: PreparedDevice, name: str, key: tuple[str, str] | None = None) -> DeviceAttribute | None:
    """``domain/id``: exact key first, then the bare ``id`` when the domain is the device's driver.

    Memoised on the device under ``key`` (``("attribute", name)``; constraints pass theirs, built once)."""
    memo = device.cel_inputs
    if key is None:
        key = ("attribute", name)
    try:
        found: DeviceAttribute | None = memo[key]
    except KeyError:
        found = memo[key] = _lookup(device, name)
    return found


def _lookup(device: PreparedDevice, name: str) -> DeviceAttribute | None:
    attrs = device.attributes
    found = attrs.get(name)
    if found is not None:
        return found
    domain, sep, ident = name.partition("/")
    if not sep or domain != device.id.driver:
        return None
    return attrs.get(ident)


def scalar_value(attr: DeviceAttribute) -> Value | None:
    """The single typed value, checked in upstream's order; None for an empty or list attribute."""
    if attr.string is not None:
        return ("string", attr.string)
    if attr.int_ is not None:
        return ("int", attr.int_)
    if attr.bool_ is not None:
        return ("bool", attr.bool_)
    if attr.version is not None:
        return ("version", attr.version)
    return None


def value_set(attr: DeviceAttribute) -> frozenset[Value] | None:
    """With list attributes every value is a set; a scalar is a one-element set."""
    scalar = scalar_value(attr)
    if scalar is not None:
        return frozenset((scalar,))
    for kind, values in (
        ("string", attr.strings),
        ("int", attr.ints),
        ("bool", attr.bools),
        ("version", attr.versions),
    ):
        if values is not None:
            return frozenset((kind, v) for v in values)
    return None


class Constraint:
    """Base: which requests a constraint applies to (empty list = all)."""

    __slots__ = ("attribute", "key", "lists", "requests")

    def __init__(self, attribute: str, requests: list[str] | None, lists: bool) -> None:
        self.attribute = attribute
        self.key = ("attribute", attribute)  # the device memo key of lookup_attribute
        self.requests = frozenset(requests or ())
        self.lists = lists

    def applies(self, base: str, sub: str) -> bool:
        reqs = self.requests
        if not reqs:
            return True
        if base in reqs:
            return True
        return bool(sub) and f"{base}/{sub}" in reqs

    def reset(self) -> None:
        """Forget every device added (a constraint object is reused across searches)."""
        raise NotImplementedError

    def add(self, base: str, sub: str, device: PreparedDevice) -> bool:
        raise NotImplementedError

    def remove(self, base: str, sub: str, device: PreparedDevice) -> None:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


class MatchAttribute(Constraint):
    __slots__ = ("count", "current", "current_set", "current_value", "scalar_key", "sets")

    def __init__(self, attribute: str, requests: list[str] | None, lists: bool) -> None:
        super().__init__(attribute, requests, lists)
        self.scalar_key = ("scalar", attribute)  # device memo key of (attribute, scalar value)
        self.count = 0
        self.current: DeviceAttribute | None = None
        self.current_value: Value | None = None
        self.current_set: frozenset[Value] | None = None
        # With list attributes: the value set of each counted device, so remove can widen again.
        self.sets: list[tuple[PreparedDevice, frozenset[Value]]] = []

    def reset(self) -> None:
        self.count = 0
        self.current = self.current_value = self.current_set = None
        self.sets.clear()

    def describe(self) -> str:
        return f"matchAttribute {self.attribute}"

    def add(self, base: str, sub: str, device: PreparedDevice) -> bool:
        if self.requests and not self.applies(base, sub):
            return True
        if self.lists:
            return self._add_listed(device)
        # The attribute and its scalar value, memoised on the device: this runs per device tried.
        memo = device.cel_inputs
        try:
            attr, value = memo[self.scalar_key]
        except KeyError:
            attr = lookup_attribute(device, self.attribute, self.key)
            value = scalar_value(attr) if attr is not None else None
            memo[self.scalar_key] = (attr, value)
        if attr is None:
            return False
        if self.count == 0:
            self.current = attr
            self.current_value = value
            self.count = 1
            return True
        if attr is not self.current and (value is None or value != self.current_value):
            return False
        self.count += 1
        return True

    def _add_listed(self, device: PreparedDevice) -> bool:
        attr = lookup_attribute(device, self.attribute, self.key)
        if attr is None:
            return False
        values = value_set(attr)
        if values is None:
            return False
        if self.count == 0:
            self.current_set = values
        else:
            assert self.current_set is not None
            common = self.current_set & values
            if not common:
                return False
            self.current_set = common
        self.sets.append((device, values))
        self.count += 1
        return True

    def remove(self, base: str, sub: str, device: PreparedDevice) -> None:
        if self.requests and not self.applies(base, sub):
            return
        self.count -= 1
        if not self.lists:
            return
        sets = self.sets
        for k in range(len(sets) - 1, -1, -1):  # normally the last one: removal undoes the latest add
            if sets[k][0] is device:
                del sets[k]
                break
        current: frozenset[Value] | None = None
        for _, values in sets:
            current = values if current is None else current & values
        self.current_set = current


class DistinctAttribute(Constraint):
    __slots__ = ("values",)

    def __init__(self, attribute: str, requests: list[str] | None, lists: bool) -> None:
        super().__init__(attribute, requests, lists)
        # Keyed by request name (v0.36.2 quirk): a later device of the same request replaces the entry.
        self.values: dict[str, DeviceAttribute] = {}

    def reset(self) -> None:
        self.values.clear()

    def describe(self) -> str:
        return f"distinctAttribute {self.attribute}"

    def add(self, base: str, sub: str, device: PreparedDevice) -> bool:
        if self.requests and not self.applies(base, sub):
            return True
        attr = lookup_attribute(device, self.attribute, self.key)
        if attr is None:
            return False
        if self.lists:
            new_set = value_set(attr)
            if new_set is None:
                return False
            for stored in self.values.values():
                stored_set = value_set(stored)
                if stored_set is not None and stored_set & new_set:
                    return False
        elif self.values:
            new = scalar_value(attr)
            if new is None:
                return False
            for stored in self.values.values():
                if scalar_value(stored) == new:
                    return False
        self.values[base] = attr
        return True

    def remove(self, base: str, sub: str, device: PreparedDevice) -> None:
        if self.applies(base, sub):
            self.values.pop(base, None)
