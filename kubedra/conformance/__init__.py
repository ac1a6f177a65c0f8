"""Runners for upstream's conformance fixtures (allocator and CEL), run as ``python -m kubedra.conformance``.

Kept inside the package, not under tests/, so ``make conformance`` and users can run them on an
installed kubedra and see one line per case.
"""
