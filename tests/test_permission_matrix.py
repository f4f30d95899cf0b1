"""Every URL of the project, for every role: allowed or refused as its table says.

The tables live in tests/<app>/routes.py (see tests/routes.py). A URL name that
no table mentions fails ``test_every_url_is_in_the_matrix``, so a new page
cannot ship without saying who may use it.
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

import tests
from conftest import EVERYONE
from tests.routes import Route

IGNORED_NAMESPACES = {"admin"}  # Django admin: staff only, Django's own tests cover it


def all_routes() -> list[Route]:
    routes: list[Route] = []
    for mod in pkgutil.iter_modules(tests.__path__):
        if not mod.ispkg:
            continue
        try:
            module = importlib.import_module(f"tests.{mod.name}.routes")
        except ModuleNotFoundError:
            continue
        routes.extend(module.ROUTES)
    return routes


def url_names(patterns=None, namespace: str = "") -> set[str]:
    names: set[str] = set()
    for p in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(p, URLResolver):
            ns = namespace
            if p.namespace:
                ns = f"{namespace}{p.namespace}:"
            if p.namespace in IGNORED_NAMESPACES:
                continue
            names |= url_names(p.url_patterns, ns)
        elif isinstance(p, URLPattern) and p.name:
            names.add(f"{namespace}{p.name}")
    return names


ROUTES = all_routes()


def test_every_url_is_in_the_matrix():
    covered = {r.name for r in ROUTES}
    missing = sorted(url_names() - covered)
    assert not missing, f"URLs with no row in any tests/<app>/routes.py: {missing}"


def _is_login_redirect(response) -> bool:
    return response.status_code == 302 and "/accounts/login/" in response.get("Location", "")


@pytest.mark.parametrize("role", EVERYONE)
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.id)
def test_access(route: Route, role: str, world, client_as):
    if route.setup:
        route.setup(world)
    url = reverse(route.name, kwargs=route.kwargs(world)) + route.query
    client = client_as(role)
    data = route.data(world) if route.data else {}
    if route.method == "get":
        response = client.get(url, data or None)
    else:
        response = getattr(client, route.method)(url, data)
    status = response.status_code
    if role in route.allowed and route.success_redirects:
        assert status == 302, f"{role} should be redirected, got {status}"
    elif role in route.allowed:
        assert status < 400 and not _is_login_redirect(response), f"{role} should be allowed, got {status}"
    elif role == "anonymous":
        refused = (400, 401, 403) if route.api else (401, 403)  # API: 400 = "no credentials given"
        assert _is_login_redirect(response) or status in refused, f"anonymous got {status}"
    else:
        assert status in (400, 401, 403, 404), f"{role} should be refused, got {status}"
