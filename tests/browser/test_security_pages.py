"""Issue 9: a member's data page with their consents, and the log-in protection pages, as a person sees them."""

import os
from datetime import timedelta

import pytest

pytestmark = pytest.mark.browser

CONSENT = "I agree that the platform may turn my battery down for up to 2 hours a day (v3)."


def _shot(page, name):
    folder = os.environ.get("SCREENSHOT_DIR")
    if not folder:
        return
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=os.path.join(folder, f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_a_member_sees_their_data_and_consents_and_downloads_it(transactional_db, world, login_page):
    from django.utils import timezone

    from community.models import ConsentRecord

    ConsentRecord.objects.create(
        community=world.community,
        user=world.users["member"],
        purpose="vpp",
        scope=f"site:{world.site.pk}",
        text=CONSENT,
        text_version="3",
        granted_at=timezone.now() - timedelta(days=3),
    )
    page = login_page("member")
    page.goto("/accounts/data/")
    page.wait_for_selector("text=Your consents")
    assert CONSENT in page.content()
    assert "community.site" in page.content()
    with page.expect_download() as download:
        page.click("text=Download (JSON)")
    assert download.value.suggested_filename.startswith("my-data-")
    _shot(page, "my-data")


def test_a_locked_out_person_is_told_why_and_how_long(transactional_db, world, page):
    from django.conf import settings

    for _ in range(settings.AXES_FAILURE_LIMIT):
        page.goto("/accounts/login/")
        page.fill("input[name=username]", "treasurer")
        page.fill("input[name=password]", "wrong")
        page.click("button[type=submit]")
    page.wait_for_selector("text=Too many failed log-in attempts")
    assert "Try again in 15 minutes" in page.content()
    _shot(page, "locked-out")
    page.click("a:has-text('Reset your password')")
    page.wait_for_selector("h1:has-text('Reset your password')")
    _shot(page, "password-reset")
