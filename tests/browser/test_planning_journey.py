"""A convenor starts a plan, builds a scenario, watches it compute and publishes (issue 5)."""

import os

import pytest
from django.utils import timezone

pytestmark = pytest.mark.browser


def test_a_convenor_creates_a_scenario_and_publishes_the_plan(transactional_db, world, login_page, monkeypatch):
    from planning import tasks

    queued: list[int] = []
    # The test plays the Celery worker: it records what the page queued and runs
    # the real task itself, so the page's progress bar is what gets exercised.
    monkeypatch.setattr(tasks.scenario_compute, "delay", lambda scenario_id: queued.append(scenario_id))
    year = timezone.now().year

    page = login_page("convenor")
    page.goto(f"/c/{world.community.slug}/plan/")
    page.fill("input[name=title]", "Test Green energy plan")
    page.click("button:has-text('Start the plan')")
    page.wait_for_selector("text=Energy by fuel and end use")
    assert page.inner_text(".stat >> nth=0").startswith("3")  # the community's three sites

    page.click("nav[aria-label=Plan] >> text=Scenarios")
    page.fill("input[name=name]", "Solar streets")
    page.fill("input[name=start_year]", str(year))
    page.fill("input[name=end_year]", str(year + 10))
    page.click("button:has-text('Create scenario')")
    page.wait_for_selector("text=Add or change an option")

    # an impossible take-up is refused inline and nothing is saved
    page.select_option("select[name=kind]", "rooftop_pv")
    page.fill("input[name=take_up]", f"{year}: 10, {year + 5}: 120")
    page.click("#save-option")
    page.wait_for_selector("text=must be between 0% and 100%")
    page.fill("input[name=take_up]", f"{year}: 10, {year + 5}: 60")
    page.click("#save-option")
    page.wait_for_selector("td >> text=Rooftop solar PV")
    page.select_option("select[name=kind]", "heat_pump")
    page.fill("input[name=take_up]", f"{year + 1}: 10, {year + 10}: 50")
    page.click("#save-option")
    page.wait_for_selector("td >> text=Air-source heat pumps")

    page.click("#compute")
    page.wait_for_selector("#progress-box .progress")
    assert "Waiting for a worker" in page.inner_text("#progress-box")
    assert len(queued) == 1
    tasks.scenario_compute(queued[0])  # the worker runs; the polling page notices and reloads
    page.wait_for_selector("text=capital cost", timeout=20000)
    page.wait_for_selector("text=simple payback")
    assert "Table by year" in page.content()
    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(path=os.path.join(os.environ["SCREENSHOT_DIR"], "planning-scenario.png"), full_page=True)

    page.click("#publish-plan")  # publishing cannot be undone: first a confirmation with what it means
    page.wait_for_selector("text=First publication")
    page.click("#confirm-publish")
    page.wait_for_selector("text=version 1")
    page.wait_for_selector("text=Solar streets")
    link = page.get_attribute("#download-pdf", "href")
    pdf = page.request.get(link)
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF")

    # a member reads the published plan
    page.context.clear_cookies()
    member = login_page("member")
    member.goto(link.replace(".pdf", "/").replace("/versions/1/", "/published/"))
    member.wait_for_selector("text=Test Green energy plan — version 1")
