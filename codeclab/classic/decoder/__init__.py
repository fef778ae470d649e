"""TODO decoder."""
