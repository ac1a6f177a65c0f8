"""kubedra."""
