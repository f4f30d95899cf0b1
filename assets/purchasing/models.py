"""Models of Collective purchasing (see docs/ARCHITECTURE.md)."""
