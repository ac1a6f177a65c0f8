"""DRA device selectors in CEL, with Kubernetes' semantics.

Public API (stable; other packages use only this)::

    from kubedra.cel import compile_selector, CELDevice, CELError, CompileError, CELFeatures

    sel = compile_selector(expression, environment="new", features=CELFeatures(...))
        # -> Selector, cached in an LRU keyed by (expression, environment, features).
        # Raises CompileError(message) in Kubernetes' words; ``.reason`` is "Invalid" or
        # "Forbidden" (estimated cost above 1,000,000, new expressions only).
    sel.estimated_cost                  # upstream-style static worst-case cost (int)
    dev = CELDevice.from_api(driver, device)   # or CELDevice.from_dict(driver, json_dict); cache it
    sel.matches(dev, deadline=None)     # -> bool; raises CELError(message) on any runtime error
                                        #    (missing key, bad attribute, cost limit, deadline passed)

The engine is kubedra's own (parser, checker, cost estimator, closure compiler); see
docs/decisions/cel.md for why no library engine is used.
"""

from kubedra.cel.device import CELDevice
from kubedra.cel.errors import CELError, CompileError
from kubedra.cel.selector import COST_LIMIT, CELFeatures, Selector, compile_selector

__all__ = ["COST_LIMIT", "CELDevice", "CELError", "CELFeatures", "CompileError", "Selector", "compile_selector"]
