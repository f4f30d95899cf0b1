"""The market's open rules vote (issue 15, 17): the page shows the change
itself, each changed rule old -> new, when the vote closes, and next to it the
modelled effect on households."""

from datetime import timedelta

import pytest
from django.utils import timezone

from assets import services as asset_services
from lem import services
from lem.services import value as value_services

from .factories import RULES, make_market

URL = "/c/test-green/market/rules/"


@pytest.fixture
def mw(world):
    mw = make_market(world)
    asset_services.device_register(
        site=world.site, kind="pv", uid="t-pv", name="Roof PV", rated_power_w=3600, specs={"dc_w": 4000}
    )
    return mw


@pytest.fixture
def proposal(mw, world):
    closes = (timezone.now() + timedelta(days=9)).replace(hour=18, minute=0, second=0, microsecond=0)
    return services.rule_propose(
        market=mw.market,
        actor=world.users["member"],
        values={**RULES, "membership_fee": "1.00", "social_discount_pct": "30"},
        effective_from=closes,
        reason="Cheaper membership",
    )


def test_it_shows_each_changed_rule_old_and_new_and_when_the_vote_closes(mw, proposal, client_as):
    page = client_as("member").get(URL).content.decode()
    assert "Rules v2: Cheaper membership" in page
    assert "£2.50 a month" in page and "£1.00 a month" in page  # membership fee, now -> proposed
    assert "Social tariff discount" in page and "30 %" in page  # the other rule it changes
    assert f"Voting closes {proposal.effective_from:%-d %b %Y}, 18:00" in page
    assert services.vote_closes_at(proposal) == proposal.effective_from
    # a rule it leaves alone is not listed as a change
    assert "p/kWh</td><td><strong>" not in page


def test_it_shows_the_modelled_effect_on_households_once_ready(mw, proposal, client_as):
    before = client_as("member").get(URL).content.decode()
    assert "not ready yet" in before
    report = value_services.value_report_request(market=mw.market, rule=proposal, days=8, enqueue=False)
    value_services.value_report_run(report_id=report.pk)
    page = client_as("member").get(URL).content.decode()
    assert "Modelled on last year" in page and "households better off than with the supplier alone" in page
    assert "not ready yet" not in page


def test_an_outsider_sees_no_vote(mw, proposal, client_as):
    assert client_as("outsider").get(URL).status_code in (403, 404)


def test_a_fee_cap_is_proposed_voted_on_and_shown_and_a_cap_above_100_percent_is_refused(mw, world, client_as):
    from community.errors import DomainError
    from lem.models import RuleVersion

    closes = (timezone.now() + timedelta(days=9)).replace(hour=18, minute=0, second=0, microsecond=0)
    n = RuleVersion.objects.count()
    with pytest.raises(DomainError, match="0-100%"):
        services.rule_propose(
            market=mw.market,
            actor=world.users["member"],
            values={**RULES, "membership_fee_cap_pct": "150"},
            effective_from=closes,
        )
    assert RuleVersion.objects.count() == n
    services.rule_propose(
        market=mw.market,
        actor=world.users["member"],
        values={**RULES, "membership_fee_cap_pct": "50"},
        effective_from=closes,
        reason="Shared savings",
    )
    page = client_as("member").get(URL).content.decode()
    assert "Membership fee at most (share of the month&#x27;s saving)" in page
    assert "<td>none</td><td><strong>50 %</strong></td>" in page  # none now -> 50 % proposed


def test_the_first_rules_apply_from_the_market_s_start_not_a_date_ten_years_back(mw, client_as):
    page = client_as("member").get(URL).content.decode()
    assert "<td>the market's start</td>" in page
    assert f"{mw.market.rule_versions.get(number=1).effective_from:%Y}" not in page.split("History")[1]
