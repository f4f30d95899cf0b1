"""The one error type services raise for bad input: views turn it into an inline
form error, the API into a 400, both with the message as written here."""

from __future__ import annotations


class DomainError(Exception):
    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code

    def __str__(self) -> str:
        return self.message
