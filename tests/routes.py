"""The permission matrix's vocabulary. Each app lists its URLs in
``tests/<app>/routes.py`` as ``ROUTES = [Route(...), ...]``; the matrix test
walks every route for every role, and fails if any named URL of the project is
in no table.

- ``kwargs(world)`` → URL kwargs; ``setup(world)`` may create objects first
  (store them in ``world.extra``) and runs before ``kwargs``.
- ``allowed``: the roles that get a success (status < 400, not sent to log in);
  everyone else must be refused: anonymous sent to log in (pages) or 401/403
  (API), others 403/404.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from conftest import EVERYONE, ROLES

ANY_ROLE = frozenset(ROLES)
EVERYONE_SET = frozenset(EVERYONE)
LOGGED_IN = frozenset(ROLES + ["outsider"])


@dataclass(frozen=True)
class Route:
    name: str
    allowed: frozenset[str]
    kwargs: Callable[[Any], dict] = field(default=lambda w: {"slug": w.community.slug})
    method: str = "get"
    data: Callable[[Any], dict] | None = None
    setup: Callable[[Any], None] | None = None
    query: str = ""
    api: bool = False
    # a distinct test id when one URL name has several rows (GET and POST, own vs neighbour's)
    label: str = ""
    # success is a redirect (e.g. log out → log-in page), not a page
    success_redirects: bool = False

    @property
    def id(self) -> str:
        return self.label or f"{self.method.upper()} {self.name}{self.query}"


def roles(*names: str) -> frozenset[str]:
    unknown = set(names) - set(EVERYONE)
    assert not unknown, f"unknown roles {unknown}"
    return frozenset(names)
