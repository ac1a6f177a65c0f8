"""The Kubernetes object model kubedra speaks: resource.k8s.io and the core/meta pieces DRA touches.

The bottom layer: models, codec, quantities, names, validation, defaulting and version conversion.
It imports nothing else from kubedra, so every other layer (and a driver on a real cluster) can use it.
"""
