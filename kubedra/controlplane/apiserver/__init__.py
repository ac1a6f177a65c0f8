"""kubedra's kube-apiserver: the Kubernetes REST API over HTTPS, backed by the SQLite store.

A real API server rather than an in-memory fake so that kubectl, helm, client-go and lightkube
drivers work against kubedra unchanged; ``registry`` holds the semantics, ``server`` the HTTP front.
"""
