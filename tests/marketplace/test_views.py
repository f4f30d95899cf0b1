"""Marketplace pages and API as a person (or a client program) uses them."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from planning.marketplace import services
from planning.marketplace.models import Proposal
from tests.marketplace import factories as f

pytestmark = pytest.mark.django_db


def _url(name, world, **kw):
    return reverse(f"marketplace:{name}", kwargs={"slug": world.community.slug, **kw})


def test_autosave_keeps_the_draft_and_shows_the_budget_gap(world, client_as):
    call = f.call(world)
    p = services.proposal_create(call=call, applicant=world.users["member"], title="Hut battery")
    c = client_as("member")
    r = c.post(
        _url("proposal_edit", world, proposal_id=p.pk),
        {"title": "Hut battery", "requested": "5000", "budget_text": "Kit | battery | 4000", "description": "x"},
        HTTP_HX_REQUEST="true",
    )
    assert r.status_code == 200
    html = r.content.decode()
    assert 'id="draft-status"' in html and "<html" not in html  # only the partial
    assert "Saved at" in html and "£1,000.00 short" in html
    assert Proposal.objects.get(pk=p.pk).budget_text == "Kit | battery | 4000"


def test_submitting_from_the_form_with_a_bad_budget_shows_why(world, client_as):
    call = f.call(world)
    p = f.filled_proposal(world, call, submit=False, requested="6000")
    c = client_as("member")
    r = c.post(_url("proposal_submit", world, proposal_id=p.pk), follow=True)
    assert "add up to £5,000.00 but you ask for £6,000.00" in r.content.decode()
    assert Proposal.objects.get(pk=p.pk).status == "draft"


def test_the_rubric_shows_the_weighted_total_while_scoring(world, client_as):
    p = f.filled_proposal(world, f.call(world))
    a = services.reviewer_assign(proposal=p, reviewer=world.users["reviewer"], actor=world.users["funder"])
    c1, c2, c3 = p.call.criteria.all()
    c = client_as("reviewer")
    r = c.post(
        _url("review_preview", world, assignment_id=a.pk),
        {f"score_{c1.pk}": "5", f"score_{c2.pk}": "5"},
        HTTP_HX_REQUEST="true",
    )
    assert r.status_code == 200 and "71.4%" in r.content.decode()  # (15 + 10) / 35
    r = c.post(_url("review_preview", world, assignment_id=a.pk), {f"score_{c1.pk}": "9"}, HTTP_HX_REQUEST="true")
    assert "off the scale" in r.content.decode()


def test_a_reviewer_sees_only_their_own_assignments(world, client_as):
    from django.contrib.auth import get_user_model

    from community.models import Membership

    other = get_user_model().objects.create_user("rev2", password="x")
    Membership.objects.create(community=world.community, user=other, role="reviewer")
    p = f.filled_proposal(world, f.call(world))
    a = services.reviewer_assign(proposal=p, reviewer=other, actor=world.users["funder"])
    assert client_as("reviewer").get(_url("review", world, assignment_id=a.pk)).status_code == 403


def _many(world, call, n):
    for i in range(n):
        p = f.filled_proposal(world, call, title=f"Idea {i}", applicant=world.users["convenor"])
        if i % 2 == 0:
            f.reviewed(world, p)


def test_the_pipeline_page_uses_the_same_number_of_queries_for_any_size(world, client_as):
    call = f.call(world, budget="900000", max_award="8000")
    c = client_as("funder")
    url = _url("pipeline", world, call_id=call.pk)
    _many(world, call, 2)
    with CaptureQueriesContext(connection) as small:
        assert c.get(url).status_code == 200
    _many(world, call, 6)
    with CaptureQueriesContext(connection) as big:
        r = c.get(url)
    assert len(big) == len(small)
    assert r.content.decode().count(">Idea ") == 8


def test_360giving_exports_are_open_data(world, client):
    call = f.call(world)
    f.approved(world, f.filled_proposal(world, call))
    data = json.loads(client.get(_url("giving360_json", world)).content)
    assert data["grants"][0]["title"] == "Battery for the scout hut"
    assert data["grants"][0]["amountAwarded"] == 5000.0
    assert data["grants"][0]["recipientOrganization"][0]["name"] == "1st Test Scouts"
    rows = list(csv.DictReader(io.StringIO(client.get(_url("giving360_csv", world)).content.decode())))
    assert rows[0]["Amount Awarded"] == "5000.00" and rows[0]["Funding Org:Name"] == "Test Wind Ltd"


def test_the_public_page_lists_funded_projects_for_anyone(world, client):
    call = f.call(world)
    f.approved(world, f.filled_proposal(world, call))
    r = client.get(_url("funded", world))
    assert r.status_code == 200 and "Battery for the scout hut" in r.content.decode()


def test_a_late_pledge_through_the_api_is_a_400_with_the_reason(world, client_as):
    c = services.campaign_create(
        community=world.community,
        owner=world.users["member"],
        title="Roof",
        story="s",
        target="100",
        deadline=timezone.now() + timedelta(days=1),
    )
    from planning.marketplace.models import Campaign

    Campaign.objects.filter(pk=c.pk).update(deadline=timezone.now() - timedelta(seconds=1))
    url = reverse("marketplace-api:pledge-create", kwargs={"slug": world.community.slug, "campaign_id": c.pk})
    r = client_as("convenor").post(url, {"amount": "10", "token": "x"})
    assert r.status_code == 400 and "Pledges closed" in r.json()["detail"]


def test_a_score_off_the_scale_through_the_api_is_a_400(world, client_as):
    p = f.filled_proposal(world, f.call(world))
    a = services.reviewer_assign(proposal=p, reviewer=world.users["reviewer"], actor=world.users["funder"])
    crit = list(p.call.criteria.all())
    url = reverse("marketplace-api:review-submit", kwargs={"slug": world.community.slug, "assignment_id": a.pk})
    body = {"recommendation": "fund", "scores": {str(c.pk): 3 for c in crit} | {str(crit[0].pk): 6}}
    r = client_as("reviewer").post(url, body, content_type="application/json")
    assert r.status_code == 400 and "off the scale" in r.json()["detail"]
