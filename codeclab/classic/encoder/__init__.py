"""TODO encoder."""
