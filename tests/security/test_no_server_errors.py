"""§4: each input that answered 500 in the outside test now answers 400 (or the
page with its message), never a server error."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from community.params import parse_time

HUGE = "9223372036854775808"


def _api(world, role: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=world.users[role])[0].key}")
    return client


@pytest.mark.parametrize(
    "name",
    [
        "community-api:community-list",
        "community-api:site-list",
        "community-api:membership-list",
        "assets-api:reading-list",
    ],
)
@pytest.mark.parametrize("param", [f"limit={HUGE}", f"offset={HUGE}", "limit=-1", "limit=abc", "offset=1e3"])
def test_an_out_of_range_limit_or_offset_is_a_400_naming_it(world, name, param):
    kwargs = {} if name == "community-api:community-list" else {"slug": world.community.slug}
    response = _api(world, "asset_operator").get(reverse(name, kwargs=kwargs) + "?" + param)
    assert response.status_code == 400, response.content
    assert param.split("=")[0] in response.json()


def test_a_limit_in_range_still_pages(world):
    response = _api(world, "asset_operator").get(
        reverse("community-api:site-list", kwargs={"slug": world.community.slug}) + "?limit=2&offset=1"
    )
    assert response.status_code == 200
    assert response.json()["count"] == 3 and len(response.json()["results"]) == 2


@pytest.mark.parametrize(
    "query",
    [
        "start=2026-01-01T00:00:00-20:00",
        "end=2026-01-01T00:00:00%2B16:00",
        "start=0001-01-01T00:00:00%2B14:00",
        "start=yesterday",
        "start=2026-01-01T00:00:00",
        "site=%C2%B2",
        f"site={HUGE}",
    ],
)
def test_bad_reading_filters_are_a_400_naming_the_parameter(world, query):
    url = reverse("assets-api:reading-list", kwargs={"slug": world.community.slug}) + "?" + query
    response = _api(world, "member").get(url)
    assert response.status_code == 400, response.content
    assert response.json()["field"] == query.split("=")[0]


def test_a_real_offset_within_14_hours_is_accepted(world):
    url = reverse("assets-api:reading-list", kwargs={"slug": world.community.slug})
    response = _api(world, "member").get(url + "?start=2026-01-01T00:00:00%2B14:00&end=2026-01-02T00:00:00-12:00")
    assert response.status_code == 200


@pytest.mark.parametrize("since", ["2026-01-01T00:00:00-20:00", "2026-01-01T00:00:00+16:00", "not-a-time"])
def test_market_results_since_is_strict(world, since):
    from tests.lem.routes import _market

    _market(world)
    url = reverse("lem-api:result-list", kwargs={"slug": world.community.slug})
    response = _api(world, "member").get(url, {"since": since})
    assert response.status_code == 400
    assert response.json()["field"] == "since"


def test_parse_time_normalises_to_utc():
    assert parse_time("2026-03-01T10:00:00+01:00", "start").isoformat() == "2026-03-01T09:00:00+00:00"


def test_a_household_posting_an_unknown_action_to_a_fund_page_gets_the_page_with_a_message(world, client_as):
    from tests.coop.routes import _coop

    fund = _coop(world)["fund"]
    url = reverse("coop:fund", kwargs={"slug": world.community.slug, "fund_id": fund.pk})
    response = client_as("member").post(url, {"project": "x"})
    assert response.status_code == 400
    assert "Nothing to do" in response.content.decode()


def test_a_vote_on_a_closed_rule_change_is_refused_with_a_message(world, client_as):
    from lem import services
    from tests.lem.routes import _with_proposal

    _with_proposal(world)
    rule = world.extra["rule"]
    services.rule_decide(rule=rule, actor=world.users["market_operator"])
    url = reverse("lem:rules", kwargs={"slug": world.community.slug})
    response = client_as("member").post(url, {"action": "vote", "rule": rule.pk, "choice": "yes"})
    assert response.status_code == 400
    assert "Voting on this rule change has closed" in response.content.decode()
    garbled = client_as("member").post(url, {"action": "vote", "rule": "x", "choice": "yes"})
    assert garbled.status_code == 400
    assert "rule must be a whole number" in garbled.content.decode()


@pytest.mark.parametrize("year", ["99999999999", "0", "²"])
def test_a_co_op_annual_return_for_an_impossible_year_is_a_400(world, client_as, year):
    from tests.coop.routes import _coop

    society = _coop(world)["society"]
    kwargs = {"slug": world.community.slug, "society_id": society.pk}
    api = _api(world, "treasurer").get(reverse("coop-api:annual-return", kwargs=kwargs), {"year": year})
    assert api.status_code == 400 and api.json()["field"] == "year"
    page = client_as("treasurer").get(reverse("coop:annual_return", kwargs=kwargs), {"year": year})
    assert page.status_code == 400
