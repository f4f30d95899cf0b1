"""Who may see and do what. Every view and API endpoint resolves its community
through these functions, so the rules live in one place.

- A person sees only the communities they belong to: for anyone else the
  community does not exist (404, so its name does not leak).
- Inside a community, a view names the roles it is for; a member without one
  of them gets 403.
- Superusers (the platform's administrators) see everything.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest

from community.models import Community, Membership, Role, Site

# Roles that may see every household's site and readings (ARCHITECTURE: personal data).
OPERATOR_ROLES = frozenset({Role.CONVENOR, Role.MARKET_OPERATOR, Role.ASSET_OPERATOR, Role.AUDITOR})
ALL_ROLES = frozenset(Role.values)


def communities_for(user: Any) -> QuerySet[Community]:
    if not getattr(user, "is_authenticated", False):
        return Community.objects.none()
    if user.is_superuser:
        return Community.objects.all()
    return Community.objects.filter(memberships__user=user).distinct()


def roles_in(user: Any, community: Community) -> frozenset[str]:
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    if user.is_superuser:
        return ALL_ROLES
    cache = getattr(user, "_cem_roles", None)
    if cache is None:
        cache = {}
        user._cem_roles = cache
    if community.pk not in cache:
        cache[community.pk] = frozenset(
            Membership.objects.filter(community=community, user=user).values_list("role", flat=True)
        )
    return cache[community.pk]


def access_community(user: Any, slug: str, roles: Iterable[str] | None = None) -> Community:
    """The community ``slug`` if ``user`` belongs to it (404 otherwise) and holds one of ``roles`` (403 otherwise)."""
    community = Community.objects.filter(slug=slug).first()
    if community is None:
        raise Http404("No such community.")
    held = roles_in(user, community)
    if not held:
        raise Http404("No such community.")
    if roles is not None and not held & frozenset(roles):
        raise PermissionDenied("Your role in this community does not allow this.")
    return community


def can_see_site(user: Any, site: Site) -> bool:
    held = roles_in(user, site.community)
    if held & OPERATOR_ROLES:
        return True
    return site.occupants.filter(pk=user.pk).exists()


def access_site(user: Any, community: Community, site_id: int) -> Site:
    site = Site.objects.filter(community=community, pk=site_id).select_related("network_node").first()
    if site is None:
        raise Http404("No such site.")
    if not can_see_site(user, site):
        raise PermissionDenied("Only the site's household and the community's operators can see this site.")
    return site


def community_view(roles: Iterable[str] | None = None) -> Callable:
    """Decorator for views under ``/c/<slug>/``: log-in required, the community
    resolved by ``access_community`` and passed as ``community``; ``request.roles``
    holds the caller's roles there."""
    wanted = None if roles is None else frozenset(roles)

    def decorate(view: Callable) -> Callable:
        @login_required
        @functools.wraps(view)
        def wrapper(request: HttpRequest, slug: str, *args: Any, **kwargs: Any):
            community = access_community(request.user, slug, wanted)
            request.community = community
            request.roles = roles_in(request.user, community)
            return view(request, community, *args, **kwargs)

        wrapper.allowed_roles = wanted
        return wrapper

    return decorate


def has_role(user: Any, community: Community, *roles: str) -> bool:
    return bool(roles_in(user, community) & frozenset(roles))
