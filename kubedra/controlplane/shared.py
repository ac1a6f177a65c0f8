"""Decode one informer event once for every handler it fans out to.

The scheduler, the ResourceClaim controller and the device taint controller each turn every pod
and claim event into a typed model; the manager fans one event out to all of them, so without
this the same JSON is converted three times. A model decoded here is shared, which is safe
because these components treat models as immutable (changes go through
``msgspec.structs.replace`` into new objects).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from kubedra.api.codec import decode

T = TypeVar("T")

_local = threading.local()


@contextmanager
def one_event(obj: dict[str, Any]) -> Iterator[None]:
    """While handlers of ``obj``'s event run on this thread, ``decode_shared`` memoises per model."""
    previous = getattr(_local, "memo", None)
    _local.memo = (obj, {})
    try:
        yield
    finally:
        _local.memo = previous


def decode_shared(model: type[T], obj: dict[str, Any]) -> T:
    """``codec.decode(model, obj)``, reusing the result of an earlier handler of the same event."""
    memo = getattr(_local, "memo", None)
    if memo is None or memo[0] is not obj:
        return decode(model, obj)
    found: T | None = memo[1].get(model)
    if found is None:
        found = memo[1][model] = decode(model, obj)
    return found
