"""Log-in protection: the log-in page, the admin's log-in and the API token
endpoint are locked per account and per address after repeated failures
(django-axes, ``AXES_*`` settings), and the token endpoint is also rate-limited
(DRF throttles), each with a message that says what happened and for how long.
"""

from __future__ import annotations

import hashlib

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib.auth import authenticate
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView


class LockoutBackend(AxesStandaloneBackend):
    """django-axes' lock-out check for every log-in that comes with a request.

    Code that authenticates without one (Django's test ``Client.login``, a shell)
    is not a log-in from outside, so it is not counted; every public log-in path
    (the log-in page, the admin, the token endpoint) passes its request.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def _minutes(request: HttpRequest) -> int:
    cool_off = get_cool_off(request)
    return max(1, int(cool_off.total_seconds() // 60)) if cool_off else 0


def lockout_message(request: HttpRequest) -> str:
    minutes = _minutes(request)
    wait = f"Try again in {minutes} minute{'s' if minutes != 1 else ''}" if minutes else "Ask an administrator"
    return (
        f"Too many failed log-in attempts for this account or from this address "
        f"({settings.AXES_FAILURE_LIMIT} in a row). {wait}, or reset your password."
    )


def lockout_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: 429 with the reason, JSON for the API, the log-in page otherwise."""
    message = lockout_message(request)
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message, "code": "locked_out"}, status=429)
    else:
        response = render(request, "registration/locked_out.html", {"message": message}, status=429)
    minutes = _minutes(request)
    if minutes:
        response["Retry-After"] = str(minutes * 60)
    return response


def _username(request) -> str:
    try:
        return str(request.data.get("username", ""))[:150].strip().lower()
    except AttributeError:  # a body that is not a form or a JSON object
        return ""


class TokenAddressThrottle(SimpleRateThrottle):
    """Password guesses per client address (a request naming no account is refused anyway)."""

    scope = "token"

    def get_cache_key(self, request, view):
        if not _username(request):
            return None
        return self.cache_format % {"scope": "token-ip", "ident": self.get_ident(request)}


class TokenAccountThrottle(SimpleRateThrottle):
    """Password guesses per account named, wherever they come from."""

    scope = "token"

    def get_cache_key(self, request, view):
        username = _username(request)
        if not username:
            return None
        # hashed: a username may hold any character, a cache key may not
        return self.cache_format % {"scope": "token-user", "ident": hashlib.sha256(username.encode()).hexdigest()}


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})


@extend_schema(
    request=TokenRequestSerializer,
    responses={
        200: inline_serializer("TokenResponse", {"token": serializers.CharField()}),
        400: OpenApiResponse(description="Missing or wrong username or password"),
        429: OpenApiResponse(description="Too many attempts for this account or from this address"),
    },
    auth=[],
)
class ObtainTokenView(APIView):
    """Exchange a username and password for the API token (``Authorization: Token ...``)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [TokenAddressThrottle, TokenAccountThrottle]

    def post(self, request):
        data = TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        raw = request._request  # axes reads and marks the plain HttpRequest
        user = authenticate(raw, username=data.validated_data["username"], password=data.validated_data["password"])
        if getattr(raw, "axes_locked_out", False):
            return Response({"detail": lockout_message(raw), "code": "locked_out"}, status=429)
        if user is None or not user.is_active:
            return Response(
                {"detail": "Unable to log in with the username and password given.", "code": "invalid_credentials"},
                status=400,
            )
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})

    def throttled(self, request, wait):
        from rest_framework.exceptions import Throttled

        raise Throttled(wait=wait, detail=f"Too many token requests; try again in {int(wait or 60)} seconds.")
