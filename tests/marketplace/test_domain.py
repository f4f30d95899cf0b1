"""The marketplace's pure rules (no database)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planning.marketplace.domain import giving360, rules
from planning.marketplace.domain.rules import Rubric, RuleError

CRITERIA = [Rubric(1, "Carbon", 3, 5), Rubric(2, "Community", 2, 5), Rubric(3, "Deliverable", 1, 10)]


def test_budget_that_adds_up_passes():
    lines = rules.parse_budget("Kit | battery | 4000\nLabour | fitter | 1,000.00")
    ms = rules.parse_milestones("Fitted | 2027-01-31 | 3000\nReport | 2027-12-31 | 2000")
    rules.check_budget(requested=Decimal("5000"), lines=lines, milestones=ms, max_award=Decimal("8000"))
    assert rules.total(lines) == Decimal("5000.00")


def test_budget_lines_short_of_the_request_are_refused_with_the_gap():
    lines = rules.parse_budget("Kit | battery | 4000")
    ms = rules.parse_milestones("Fitted | 2027-01-31 | 5000")
    with pytest.raises(RuleError, match="£1,000.00 short") as exc:
        rules.check_budget(requested=Decimal("5000"), lines=lines, milestones=ms, max_award=Decimal("8000"))
    assert exc.value.field == "budget_text"


def test_milestone_payments_must_add_up_too():
    lines = rules.parse_budget("Kit | battery | 5000")
    ms = rules.parse_milestones("Fitted | 2027-01-31 | 3000")
    with pytest.raises(RuleError, match="milestone payments add up to £3,000.00"):
        rules.check_budget(requested=Decimal("5000"), lines=lines, milestones=ms, max_award=Decimal("8000"))


def test_request_above_the_largest_award_is_refused():
    lines = rules.parse_budget("Kit | battery | 9000")
    with pytest.raises(RuleError, match="at most £8,000"):
        rules.check_budget(requested=Decimal("9000"), lines=lines, milestones=lines, max_award=Decimal("8000"))


@pytest.mark.parametrize(
    "text,message",
    [
        ("Kit | 4000", "needs 3 parts"),
        ("Kit | battery | lots", "sum in pounds"),
        ("Kit | battery | 10.005", "whole pence"),
        (" | battery | 10", "needs a category"),
    ],
)
def test_bad_budget_lines_name_the_line(text, message):
    with pytest.raises(RuleError, match=message):
        rules.parse_budget(text)


def test_milestone_dates_are_checked():
    with pytest.raises(RuleError, match="2027-03-31"):
        rules.parse_milestones("Fitted | next spring | 100")


def test_eligibility_lists_each_failure():
    qs = [{"id": "q1", "text": "In the area?", "must_be": True}, {"id": "q2", "text": "For profit?", "must_be": False}]
    assert rules.eligibility_failures(qs, {"q1": True, "q2": False}) == []
    fails = rules.eligibility_failures(qs, {"q2": True})
    assert fails == ["Not answered: In the area?", "Not eligible: For profit? (the call needs 'no')"]


def test_weighted_total_is_the_share_of_the_best_score():
    # 3*5 + 2*0 + 1*10 = 25 of 3*5 + 2*5 + 1*10 = 35 → 71.4 %
    assert rules.weighted_total(CRITERIA, {"1": 5, "2": 0, "3": 10}) == Decimal("71.4")


def test_a_score_off_the_scale_is_refused():
    with pytest.raises(RuleError, match="0 to 5; 6 is off the scale") as exc:
        rules.weighted_total(CRITERIA, {"1": 6, "2": 0, "3": 10})
    assert exc.value.field == "score_1"


def test_every_criterion_must_be_scored_but_the_preview_counts_blanks_as_zero():
    with pytest.raises(RuleError, match="Score 'Community'"):
        rules.weighted_total(CRITERIA, {"1": 5, "3": 1})
    assert rules.weighted_total(CRITERIA, {"1": 5}, partial=True) == Decimal("42.9")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=3, max_size=3), st.integers(0, 10))
def test_weighted_total_stays_between_0_and_100_and_rises_with_any_score(s, d):
    scores = {"1": s[0], "2": s[1], "3": d}
    t = rules.weighted_total(CRITERIA, scores)
    assert Decimal(0) <= t <= Decimal(100)
    if s[0] < 5:
        assert rules.weighted_total(CRITERIA, {**scores, "1": s[0] + 1}) >= t


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("50000"), places=2), min_size=1, max_size=8),
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("50000"), places=2),
)
def test_scaled_tranches_add_up_to_the_award_to_the_penny(amounts, award):
    out = rules.scale_tranches(amounts, award)
    assert sum(out) == award
    assert all(x >= 0 and x == x.quantize(Decimal("0.01")) for x in out)


def test_platform_fee_is_between_3_and_5_percent():
    assert rules.platform_fee(Decimal("1234.50"), Decimal("0.04")) == Decimal("49.38")
    with pytest.raises(RuleError, match="3% and 5%"):
        rules.platform_fee(Decimal("100"), Decimal("0.075"))


def test_match_is_capped_by_the_cap_and_the_fund():
    assert rules.match_amount(
        raised=Decimal("300"), ratio=Decimal("1"), cap=Decimal("500"), available=Decimal("9e9")
    ) == Decimal("300.00")
    assert rules.match_amount(
        raised=Decimal("800"), ratio=Decimal("1"), cap=Decimal("500"), available=Decimal("9e9")
    ) == Decimal("500")
    assert rules.match_amount(
        raised=Decimal("800"), ratio=Decimal("1"), cap=Decimal("500"), available=Decimal("120")
    ) == Decimal("120")


def test_all_or_nothing_needs_the_target_keep_what_you_raise_does_not():
    assert not rules.campaign_succeeds(mode="aon", raised=Decimal("999.99"), target=Decimal("1000"))
    assert rules.campaign_succeeds(mode="aon", raised=Decimal("1000"), target=Decimal("1000"))
    assert rules.campaign_succeeds(mode="kwyr", raised=Decimal("10"), target=Decimal("1000"))
    assert not rules.campaign_succeeds(mode="kwyr", raised=Decimal("0"), target=Decimal("1000"))


def _row(i=1):
    return giving360.GrantRow(
        grant_id=i,
        title="Hut battery",
        description="Evening solar",
        amount=Decimal("5000.00"),
        awarded_at=datetime(2026, 5, 1, 12, tzinfo=UTC),
        start=date(2026, 5, 2),
        end=date(2027, 5, 1),
        recipient_key="bg-1st Scouts",
        recipient_name="1st Scouts",
        funder_key="bg-fund-3",
        funder_name="Kitwell Wind Ltd",
        programme_code="call-2",
        programme_title="Warm homes",
        location="Bramley Green",
        modified_at=datetime(2026, 6, 1, tzinfo=UTC),
    )


def test_360giving_json_uses_the_standards_field_names():
    data = json.loads(giving360.to_json([_row()], prefix="cem-bg", data_source="https://x/y.json"))
    g = data["grants"][0]
    assert g["id"] == "360G-cem-bg-1"
    assert g["currency"] == "GBP" and g["amountAwarded"] == 5000.0 and g["awardDate"] == "2026-05-01"
    assert g["recipientOrganization"] == [{"id": "360G-cem-bg-ORG-bg-1st-scouts", "name": "1st Scouts"}]
    assert g["fundingOrganization"][0]["name"] == "Kitwell Wind Ltd"
    assert g["plannedDates"] == [{"startDate": "2026-05-02", "endDate": "2027-05-01"}]


def test_360giving_csv_has_the_standard_column_titles():
    rows = list(csv.reader(io.StringIO(giving360.to_csv([_row(1), _row(2)], prefix="cem-bg", data_source="d"))))
    assert rows[0][:6] == ["Identifier", "Title", "Description", "Currency", "Amount Awarded", "Award Date"]
    assert "Recipient Org:Identifier" in rows[0] and "Funding Org:Name" in rows[0]
    assert [r[0] for r in rows[1:]] == ["360G-cem-bg-1", "360G-cem-bg-2"]
    assert rows[1][4] == "5000.00"
