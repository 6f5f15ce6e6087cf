"""Integrations of fp8kit into other libraries (each imports its library only when used)."""
