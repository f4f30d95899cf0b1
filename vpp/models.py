"""Models of this building block (see ARCHITECTURE.md)."""
