"""kubedra: Kubernetes Dynamic Resource Allocation, the whole system, in Python."""

__version__ = "0.1.0"
