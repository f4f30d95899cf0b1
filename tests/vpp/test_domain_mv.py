"""Baselines, delivery and the sharing of the buyer's payment (pure)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vpp.domain import baseline as bl
from vpp.domain import forecast as fc
from vpp.domain import sharing

PRE, N = 6, 2


def days(values_by_day, *, start=date(2026, 11, 27), working=None, events=()):
    out = []
    for i, wh in enumerate(values_by_day):
        d = start - timedelta(days=i)
        out.append(bl.Day(d, d.weekday() < 5 if working is None else working, d in events, wh))
    return out


def test_the_dfs_baseline_is_the_mean_of_ten_working_days_skipping_event_days():
    hist = days([[100] * PRE + [500, 700]] * 12, working=True, events={date(2026, 11, 27)})
    hist[0] = bl.Day(hist[0].day, True, True, [100] * PRE + [5000, 5000])  # an event day: ignored
    r = bl.compute(history=hist, today_wh=[100] * PRE + [50, 50], pre_periods=PRE, event_periods=N)
    assert r.baselines["dfs"] == [500, 700]
    assert date(2026, 11, 27) not in r.days_used and len(r.days_used) == 10


def test_weekends_are_not_working_days():
    hist = days([[100] * PRE + [400, 400]] * 20)  # real calendar: weekends skipped
    r = bl.compute(history=hist, today_wh=[100] * (PRE + N), pre_periods=PRE, event_periods=N)
    assert all(d.weekday() < 5 for d in r.days_used) and len(r.days_used) == 10


def test_in_day_adjustment_and_meter_before_follow_the_day_and_raised_use_is_flagged():
    hist = days([[200] * PRE + [600, 600]] * 10, working=True)
    # on the day: 400 Wh in the in-day window (2x usual) and 900 just before the event
    today = [200, 400, 400, 400, 900, 900, 100, 100]
    r = bl.compute(history=hist, today_wh=today, pre_periods=PRE, event_periods=N)
    assert r.baselines["dfs"] == [600, 600]
    assert r.baselines["dfs_adjusted"] == [800, 800]  # + mean(400-200) over the window
    assert r.baselines["meter_before"] == [900, 900]
    assert any(f.startswith("suspicious") for f in r.flags)


def test_delivery_is_below_the_baseline_never_negative_and_a_missing_reading_earns_nothing():
    assert bl.delivered_wh([600, 600, 600], [100, 700, None]) == 500
    assert bl.delivered_wh([600, 600], [900, 700], direction="up") == 400


def test_too_little_history_is_flagged_not_hidden():
    hist = days([[100] * (PRE + N)] * 3, working=True)
    r = bl.compute(history=hist, today_wh=[100] * (PRE + N), pre_periods=PRE, event_periods=N)
    assert "only 3 of 10 working days" in r.flags[0]


RULE = sharing.Rule(Decimal("15"), Decimal("10"), Decimal("0.05"), Decimal("0.25"))


def test_the_rule_takes_the_fee_then_the_fund_then_credits_then_shares_by_kwh():
    parts = [
        sharing.Participant("a", 3000, 5000, True),
        sharing.Participant("b", 1000, 3000, True),
        sharing.Participant("c", 10, 0, False),
    ]
    s = sharing.split(revenue=Decimal("10.00"), rule=RULE, participants=parts)
    assert (s.fee_p, s.fund_p) == (150, 85)
    by = {x.key: x for x in s.shares}
    assert by["a"].availability_p == 25 and by["b"].availability_p == 15
    assert by["c"].total_p == 25  # the floor for a home without devices that delivered
    assert s.fee_p + s.fund_p + s.households_p == 1000
    assert by["a"].share_p > by["b"].share_p


def test_with_no_delivery_what_is_left_goes_to_the_fund():
    s = sharing.split(revenue=Decimal("1.00"), rule=RULE, participants=[sharing.Participant("a", 0, 0, True)])
    assert s.households_p == 0 and s.fee_p + s.fund_p == 100


@settings(max_examples=60, deadline=None)
@given(
    revenue=st.decimals(min_value=0, max_value=5000, places=2),
    fee=st.decimals(min_value=0, max_value=100, places=2),
    fund=st.decimals(min_value=0, max_value=100, places=2),
    parts=st.lists(st.tuples(st.integers(0, 20000), st.integers(0, 10000), st.booleans()), min_size=0, max_size=15),
)
def test_the_parts_always_add_up_to_the_revenue_to_the_penny(revenue, fee, fund, parts):
    rule = sharing.Rule(fee, fund, Decimal("0.05"), Decimal("0.25"))
    ps = [sharing.Participant(i, d, w, a) for i, (d, w, a) in enumerate(parts)]
    s = sharing.split(revenue=revenue, rule=rule, participants=ps)
    assert s.fee_p + s.fund_p + s.households_p == s.revenue_p == int(revenue * 100)
    assert all(x.availability_p >= 0 and x.share_p >= 0 and x.floor_p >= 0 for x in s.shares)


def test_forecast_quantiles_are_ordered_and_a_battery_offers_more_than_a_paused_ev():
    import numpy as np

    ev_power = np.array([[7000, 0], [0, 0], [7000, 7000], [3500, 0]])
    p10, p50, p90 = fc.quantiles(fc.flex_w("ev_charger", ev_power, rated_w=7400))
    assert (p10 <= p50).all() and (p50 <= p90).all()
    bat = fc.quantiles(fc.flex_w("battery", np.zeros((4, 2)), rated_w=5000))
    assert bat[0].tolist() == [5000, 5000]
    with pytest.raises(ValueError):
        fc.quantiles(np.zeros((0, 2)))
