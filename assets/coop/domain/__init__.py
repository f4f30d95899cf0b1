"""Pure domain of the co-op: numbers in, numbers out, no Django."""

from .errors import CoopError

__all__ = ["CoopError"]
