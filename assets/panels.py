"""Cards for the community page and the site page (see community.panels)."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.urls import reverse


def community_panels(request, community):
    from assets.views import community_energy_context

    html = render_to_string(
        "assets/partials/community_energy.html", community_energy_context(request, community), request=request
    )
    link = reverse("assets:index", kwargs={"slug": community.slug})
    return [{"title": "Energy", "html": html + f'<p class="small"><a href="{link}">Energy dashboard →</a></p>'}]


def site_panels(request, site):
    from assets import selectors
    from assets.models import Device

    if not Device.objects.filter(site=site).exists():
        return []
    devices = selectors.site_devices(site)
    for d in devices:
        d.is_online = selectors.is_online(d)
    html = render_to_string(
        "assets/partials/site_devices.html",
        {"community": site.community, "site": site, "devices": devices},
        request=request,
    )
    return [{"title": "Devices", "html": html}]
