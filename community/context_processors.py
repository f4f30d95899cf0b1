from __future__ import annotations

from django.urls import NoReverseMatch, reverse

# (label, url name, icon) for each building block's section, in menu order.
SECTIONS = [
    ("Overview", "community:detail"),
    ("Energy", "assets:index"),
    ("Market", "lem:index"),
    ("Flexibility", "vpp:index"),
    ("Grid", "balancing:index"),
    ("Plan", "planning:index"),
    ("Projects", "marketplace:index"),
    ("Group buying", "purchasing:index"),
    ("Co-op", "coop:index"),
    ("Network", "community:network"),
    ("Members", "community:members"),
]


def navigation(request):
    from django.conf import settings

    # whether device logins and topic rules are enforced by the broker (Mosquitto) or not (embedded amqtt)
    extra = {"mqtt_acl_enforced": not getattr(settings, "MQTT_IS_EMBEDDED", False)}
    return {**extra, **_navigation(request)}


def _navigation(request):
    match = getattr(request, "resolver_match", None)
    slug = match.kwargs.get("slug") if match else None
    user = getattr(request, "user", None)
    if not slug or user is None or not user.is_authenticated:
        return {"nav_sections": [], "nav_slug": None}
    sections = []
    current = request.path
    for label, name in SECTIONS:
        try:
            url = reverse(name, kwargs={"slug": slug})
        except NoReverseMatch:
            continue
        active = current == url or (name != "community:detail" and current.startswith(url))
        sections.append({"label": label, "url": url, "active": active})
    return {"nav_sections": sections, "nav_slug": slug}
