"""Models of Project marketplace (see docs/ARCHITECTURE.md)."""
