"""The functions of the DRA CEL environment: declarations for the checker plus their implementations.

One table (``FUNCTIONS``) serves both, so a function cannot type-check without also running. Each module
here is one library as Kubernetes names them and registers its overloads on import; the import order
below is the order overloads of the same name are tried in (string ``indexOf`` before list ``indexOf``,
quantity ``compareTo`` before semver's).
"""

from kubedra.cel.library.registry import FUNCTIONS, Overload, no_such_overload

# isort: off
from kubedra.cel.library import operators, conversions, regex, strings, lists  # noqa: F401
from kubedra.cel.library import quantity, semver, optional, includes  # noqa: F401

# isort: on

__all__ = ["FUNCTIONS", "Overload", "no_such_overload"]
