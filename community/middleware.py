from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from community.errors import DomainError


class DomainErrorMiddleware:
    """A DomainError that escapes a view is bad input: answer 400 with its message, never 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, DomainError):
            return render(request, "400.html", {"message": exception.message}, status=400)
        return None
