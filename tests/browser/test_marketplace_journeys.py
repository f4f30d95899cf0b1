"""The project marketplace as people use it (issue 12): an applicant applies, a reviewer scores,
the funder decides and pays the first milestone; a neighbour pledges to a crowdfunded project
and sees the refund when the all-or-nothing target is missed."""

import os
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

pytestmark = pytest.mark.browser


def _shot(page, name):
    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(path=os.path.join(os.environ["SCREENSHOT_DIR"], name), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(
            path=os.path.join(os.environ["SCREENSHOT_DIR"], name.replace(".png", "_phone.png")), full_page=True
        )
        page.set_viewport_size({"width": 1280, "height": 900})


def _switch(page, login_page, username):
    if page.url and page.query_selector("button:has-text('Log out')"):
        page.click("button:has-text('Log out')")
        page.wait_for_load_state("networkidle")
    return login_page(username)


def test_apply_review_decide_and_pay_the_first_milestone(transactional_db, world, login_page, page):
    from planning.marketplace.models import Grant, PaymentRequest, Proposal
    from tests.marketplace import factories as f

    call = f.call(world)
    today = timezone.localdate()

    # the applicant finds the call and applies; the draft saves as they type
    _switch(page, login_page, "member")
    page.click("nav.sections >> text=Projects")
    page.click(f"text={call.title}")
    page.fill("#id_title", "Battery for the scout hut")
    page.click("button:has-text('Start a proposal')")
    page.fill("#id_organisation", "1st Test Scouts")
    page.fill("#id_description", "A 10 kWh battery stores the hut's solar for evening use.")
    page.fill("#id_requested", "5000")
    page.fill("#id_budget_text", "Equipment | Battery | 4000")
    page.wait_for_selector("#problems >> text=£1,000.00 short")  # the live check, before any submit
    page.fill("#id_budget_text", "Equipment | Battery | 4000\nLabour | Installer | 1000")
    page.fill(
        "#id_milestones_text",
        f"Battery installed | {today + timedelta(days=60)} | 3000\nFirst year report | {today + timedelta(days=400)} | 2000",
    )
    page.select_option("#id_answer_q1", "yes")
    page.wait_for_selector("#problems >> text=Ready to submit")
    # let the last autosave finish: the submit is a separate request (SQLite's test database is one connection)
    page.wait_for_timeout(1200)
    page.wait_for_load_state("networkidle")
    _shot(page, "marketplace_proposal_edit.png")
    page.click("#submit-proposal")
    page.wait_for_selector("#proposal-status >> text=Submitted")
    p = Proposal.objects.get(title="Battery for the scout hut")
    assert p.budget_text.endswith("Installer | 1000")

    # the funder assigns the reviewer
    _switch(page, login_page, "funder")
    page.goto(reverse("marketplace:proposal", kwargs={"slug": world.community.slug, "proposal_id": p.pk}))
    page.select_option("#id_reviewer", str(world.users["reviewer"].pk))
    page.click("button:has-text('Assign')")
    page.wait_for_selector("#proposal-status >> text=In review")

    # the reviewer scores; the weighted total shows while scoring
    _switch(page, login_page, "reviewer")
    page.click("nav.sections >> text=Projects")
    page.click("text=My reviews")
    page.click("text=Battery for the scout hut")
    c1, c2, c3 = call.criteria.all()
    page.fill(f"#id_score_{c1.pk}", "5")
    page.fill(f"#id_score_{c2.pk}", "4")
    page.fill(f"#id_score_{c3.pk}", "10")
    page.wait_for_selector("#weighted-total >> text=94.3%")  # (3×5 + 2×4 + 1×10) / (15 + 10 + 10)
    page.wait_for_load_state("networkidle")
    page.select_option("#id_recommendation", "fund")
    page.fill("#id_comment_applicant", "Please share the battery's data.")
    _shot(page, "marketplace_review.png")
    page.click("#submit-review")
    page.wait_for_selector("text=Review submitted")

    # the funder decides with reasons and a message
    _switch(page, login_page, "funder")
    page.goto(reverse("marketplace:pipeline", kwargs={"slug": world.community.slug, "call_id": call.pk}))
    page.wait_for_selector(".chart .main-svg")
    assert "94.3%" in page.inner_text("table")
    _shot(page, "marketplace_pipeline.png")
    page.click("text=Battery for the scout hut")
    page.select_option("#id_decision", "approve")
    page.fill("#id_reasons", "Strong carbon case")
    page.fill("#id_message", "Funded in full: congratulations!")
    page.click("button:has-text('Record decision')")
    page.wait_for_selector("#proposal-status >> text=Approved")
    grant = Grant.objects.get(proposal=p)

    # the applicant reads the decision, signs and asks for the first milestone's payment
    _switch(page, login_page, "member")
    page.goto(reverse("marketplace:proposal", kwargs={"slug": world.community.slug, "proposal_id": p.pk}))
    page.wait_for_selector("#decision >> text=Funded in full")
    page.wait_for_selector("text=Please share the battery's data.")
    page.click("#grant-link")
    page.click("#sign-agreement")
    page.wait_for_selector("#grant-status >> text=In delivery")
    page.fill("#pr-amount", "2000")
    page.click("#payment-request-form button")
    page.wait_for_selector("text=Awaiting approval")

    # the funder approves (below the two-person threshold) and the ledger pays it
    _switch(page, login_page, "funder")
    page.goto(reverse("marketplace:grant", kwargs={"slug": world.community.slug, "grant_id": grant.pk}))
    page.click(".payment-row button:has-text('Approve')")
    page.wait_for_selector(".payment-row >> text=Paid")
    assert page.inner_text("#grant-paid") == "£2,000.00"
    assert PaymentRequest.objects.get().journal_entry is not None
    _shot(page, "marketplace_grant.png")


def test_a_pledge_is_refunded_when_the_all_or_nothing_target_is_missed(transactional_db, world, login_page, page):
    from planning.marketplace import services
    from planning.marketplace.models import Campaign, Pledge
    from planning.marketplace.tasks import campaign_close_task
    from tests.marketplace import factories as f

    fund = f.fund(world)
    camp = services.campaign_create(
        community=world.community,
        owner=world.users["convenor"],
        title="Solar on the hut roof",
        story="Panels for the scout hut.",
        target="2000",
        deadline=timezone.now() + timedelta(days=3),
        match_fund=fund,
        match_cap="500",
    )
    _switch(page, login_page, "member")
    page.click("nav.sections >> text=Projects")
    page.click("text=Solar on the hut roof")
    page.fill("#id_amount", "40")
    page.click("#pledge-form button")
    page.wait_for_selector("text=your pledge is held until the deadline")
    page.wait_for_selector(".my-pledge >> text=Held until the deadline")
    assert page.inner_text("#campaign-total") == "£80.00"  # £40 + £40 matched
    _shot(page, "marketplace_campaign.png")

    # the deadline passes with £80 of £2,000: the deadline task refunds every pledge
    Campaign.objects.filter(pk=camp.pk).update(deadline=timezone.now() - timedelta(seconds=1))
    assert campaign_close_task(camp.pk) == "failed"
    page.reload()
    page.wait_for_selector("#campaign-status >> text=Target missed: refunded")
    page.wait_for_selector(".my-pledge >> text=Refunded")
    assert "every pledge has been refunded" in page.inner_text("main")
    assert not page.query_selector("#pledge-form")
    assert Pledge.objects.get().refund_entry is not None
    _shot(page, "marketplace_campaign_refunded.png")
