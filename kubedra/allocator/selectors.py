"""CEL selectors of classes and requests, evaluated with memoised per-device results.

Expressions compile lazily (a compile error surfaces only when a device is actually checked, as
upstream) in the "stored" environment. Each result is memoised on the :class:`PreparedSlice` under
``(expression, CEL features)``: CEL is a pure function of the device, so a result stays valid for as
long as the slice object is unchanged, across nodes, pods and allocators. Errors are never memoised.
"""

from __future__ import annotations

import importlib
import time
from types import ModuleType
from typing import Any

from kubedra.allocator.devices import PreparedDevice
from kubedra.allocator.errors import AllocationAborted, AllocationError
from kubedra.allocator.features import Features

ABORTED = "filter operation aborted: context deadline exceeded"


def _cel() -> ModuleType:
    """kubedra.cel, imported on first use: allocations without selectors never need it."""
    return importlib.import_module("kubedra.cel")


def cel_features(features: Features) -> Any:
    return _cel().CELFeatures(
        consumable_capacity=features.consumable_capacity,
        list_type_attributes=features.list_type_attributes,
    )


class SelectorCompiler:
    """Compiled selectors of one allocator; compile errors are remembered as their message."""

    __slots__ = ("_compiled", "_features", "env_key", "features")

    def __init__(self, features: Features) -> None:
        self._features = features
        self.features: Any = None
        self.env_key = (features.consumable_capacity, features.list_type_attributes)
        self._compiled: dict[str, Any] = {}

    def get(self, expression: str) -> Any:
        """The compiled selector, or a ``str`` with the compile error."""
        found = self._compiled.get(expression)
        if found is None:
            cel = _cel()
            if self.features is None:
                self.features = cel_features(self._features)
            try:
                found = cel.compile_selector(expression, environment="stored", features=self.features)
            except cel.CompileError as exc:
                found = str(exc)
            self._compiled[expression] = found
        return found


def cel_device(device: PreparedDevice) -> Any:
    cached = device.cel_inputs.get("cel")
    if cached is None:
        cached = device.cel_inputs["cel"] = _cel().CELDevice.from_api(device.id.driver, device.device)
    return cached


class SelectorSet:
    """The selectors of one class or (sub)request, in order, with upstream's error prefix."""

    __slots__ = ("compiler", "expressions", "keys", "owner")

    def __init__(self, owner: str, expressions: list[str], compiler: SelectorCompiler) -> None:
        self.owner = owner  # "class <name>" or "claim <ns/name>"
        self.expressions = expressions
        self.compiler = compiler
        self.keys = [(e, compiler.env_key) for e in expressions]

    def __bool__(self) -> bool:
        return bool(self.expressions)

    def matches(self, device: PreparedDevice, deadline: float | None) -> bool:
        results = device.slice.selector_results
        index = device.index
        for i, key in enumerate(self.keys):
            per_device = results.get(key)
            if per_device is None:
                per_device = results[key] = [None] * len(device.slice.devices)
            r = per_device[index]
            if r is None:
                r = per_device[index] = self.evaluate(i, device, deadline)
            if not r:
                return False
        return True

    def first_failing(self, device: PreparedDevice, deadline: float | None) -> int:
        """Index of the first selector the device does not satisfy, -1 if all match (explain)."""
        for i in range(len(self.keys)):
            per_device = device.slice.selector_results.get(self.keys[i])
            r = per_device[device.index] if per_device is not None else None
            if r is None:
                r = self.evaluate(i, device, deadline)
            if not r:
                return i
        return -1

    def evaluate(self, i: int, device: PreparedDevice, deadline: float | None) -> bool:
        compiled = self.compiler.get(self.expressions[i])
        if isinstance(compiled, str):
            raise AllocationError(f"{self.owner}: selector #{i}: CEL compile error: {compiled}")
        try:
            return bool(compiled.matches(cel_device(device), deadline=deadline))
        except _cel().CELError as exc:
            if deadline is not None and time.monotonic() >= deadline:
                raise AllocationAborted(ABORTED) from None
            raise AllocationError(f"{self.owner}: selector #{i}: CEL runtime error: {exc}") from None
