"""Models of Self-balancing network (see docs/ARCHITECTURE.md)."""
