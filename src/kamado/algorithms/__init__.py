"""Plain-Python machine-learning libraries behind the built-in images (no HTTP, no store)."""
