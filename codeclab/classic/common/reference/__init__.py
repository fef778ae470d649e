"""TODO reference."""
