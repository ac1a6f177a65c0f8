"""The wire form of a Kubernetes quantity inside a model.

Kubernetes accepts a quantity as a JSON string (``"80Gi"``) or a bare number (``4``). Models keep
the string exactly as written (round trips stay identical); ``kubedra.api.quantity.Quantity``
parses it when the value matters. A ``str`` subclass lets msgspec route bare numbers through
the codec's decode hook instead of rejecting them.
"""

from __future__ import annotations


class QuantityStr(str):
    """A quantity as written in the manifest (``"80Gi"``, ``"1500m"``, ``"4"``)."""

    __slots__ = ()
