"""Every page fits a 390 px phone screen with no sideways scrolling (issue 15).

The pages are the permission matrix's: every GET route of every app (tests/<app>/routes.py),
opened in headless Chromium at 390 px by a role that may see it, with the objects its row
sets up. Downloads (CSV, PDF, JSON) and htmx fragments are not pages and are left out.
"""

from __future__ import annotations

import os

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
# who opens a page: the household first, then the role the page is for
PREFERENCE = [
    "member",
    "convenor",
    "treasurer",
    "market_operator",
    "asset_operator",
    "funder",
    "reviewer",
    "supplier",
    "flex_buyer",
    "network_operator",
    "auditor",
    "outsider",
    "anonymous",
]


def _pages():
    from tests.test_permission_matrix import all_routes

    return [r for r in all_routes() if r.method == "get" and not r.api and not r.success_redirects]


def test_every_page_fits_a_390_px_screen(transactional_db, world, browser, live_server):
    contexts: dict[str, object] = {}

    def page_for(role: str):
        if role not in contexts:
            ctx = browser.new_context(viewport=PHONE, base_url=live_server.url, is_mobile=True, has_touch=True)
            user = world.users.get(role)
            if user is not None:
                c = Client()
                c.force_login(user)
                host = live_server.url.split("//", 1)[1].split(":")[0]
                ctx.add_cookies(
                    [{"name": "sessionid", "value": c.cookies["sessionid"].value, "domain": host, "path": "/"}]
                )
            p = ctx.new_page()
            p.set_default_timeout(15000)
            contexts[role] = (ctx, p, Client() if user is None else c)
        return contexts[role]

    too_wide, seen = [], 0
    shots = os.environ.get("SCREENSHOT_DIR")
    for route in _pages():
        role = next((r for r in PREFERENCE if r in route.allowed), None)
        if role is None:
            continue
        if route.setup:
            route.setup(world)
        url = reverse(route.name, kwargs=route.kwargs(world)) + route.query
        _, page, client = page_for(role)
        check = client.get(url)
        if check.status_code >= 400 or not check.get("Content-Type", "").startswith("text/html"):
            continue
        if b"<html" not in check.content[:400].lower():
            continue  # an htmx fragment (a progress bar, a table body), not a page
        page.goto(url)
        page.wait_for_load_state("load")
        width = page.evaluate("document.documentElement.scrollWidth")
        seen += 1
        if width > PHONE["width"]:
            too_wide.append(f"{route.id} as {role}: {width} px")
            if shots:
                page.screenshot(path=os.path.join(shots, f"phone-too-wide-{route.name.replace(':', '-')}.png"))
    for ctx, _, _ in contexts.values():
        ctx.close()
    assert seen > 20, f"only {seen} pages were opened"
    assert not too_wide, "pages wider than a 390 px phone:\n" + "\n".join(too_wide)
