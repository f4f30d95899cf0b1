"""Offer and auction maths: no database."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assets.domain.solar import annual_yield_kwh_per_kwp
from assets.purchasing.domain import auction as A
from assets.purchasing.domain import offers as O

PV = O.PackageTerms(
    kind="pv",
    min_size=2.0,
    max_size=8.0,
    tiers=((3.0, Decimal("1250")), (4.5, Decimal("1100")), (8.0, Decimal("1000"))),
    convenor_fee_gbp=Decimal("150"),
    market_price_per_unit_gbp=Decimal("1450"),
)


def _homes(n=1, **over):
    cols = dict(
        lat=[52.1] * n,
        lon=[-1.9] * n,
        tilt_deg=[35] * n,
        azimuth_deg=[180] * n,
        roof_area_m2=[24] * n,
        shading=["none"] * n,
        fuse_a=[60] * n,
        annual_use_kwh=[3100] * n,
    )
    cols.update(over)
    return O.homes(**cols)


def test_a_south_roof_yields_what_the_laep_model_says():
    o = O.personal_offers(_homes(), PV, demand_shape=O.demand_shape())
    per_kwp = annual_yield_kwh_per_kwp(52.1, -1.9, 35, 180)
    assert o.eligible[0]
    assert o.size[0] == pytest.approx(3.87)  # 9 modules of 430 Wp (1.95 m2) on 75 % of 24 m2
    assert o.annual_yield_kwh[0] == pytest.approx(o.size[0] * per_kwp, rel=0.01)
    assert 750 < per_kwp < 1100  # the real UK range, not clear-sky


def test_self_consumption_is_never_more_than_generation_or_use():
    o = O.personal_offers(_homes(3, annual_use_kwh=[800, 3100, 9000]), PV, demand_shape=O.demand_shape())
    assert (o.self_consumed_kwh <= o.annual_yield_kwh).all()
    assert (o.self_consumed_kwh <= np.array([800, 3100, 9000])).all()
    assert o.self_consumed_kwh[0] < o.self_consumed_kwh[2]  # a bigger user keeps more of it


def test_price_uses_the_tier_covering_the_size_plus_the_convenors_fee():
    o = O.personal_offers(_homes(), PV, demand_shape=O.demand_shape())
    assert o.price_gbp[0] == Decimal("3.87") * 1100 + 150  # 3.87 kWp is in the 3-4.5 kWp tier
    assert o.market_price_gbp[0] == Decimal("3.87") * 1450
    assert o.payback_years[0] == pytest.approx(float(o.price_gbp[0]) / o.annual_savings_gbp[0], abs=0.05)


def test_shading_and_orientation_cut_the_yield():
    o = O.personal_offers(
        _homes(3, azimuth_deg=[180, 90, 180], shading=["none", "none", "heavy"]), PV, demand_shape=O.demand_shape()
    )
    south, east, shaded = o.annual_yield_kwh
    assert east < south
    assert shaded == pytest.approx(south * 0.7, rel=0.01)


def test_a_roof_too_small_for_the_package_gets_no_offer_and_says_why():
    o = O.personal_offers(_homes(roof_area_m2=[4]), PV, demand_shape=O.demand_shape())
    assert not o.eligible[0]
    assert "Roof too small" in o.reason[0] and "2 kWp" in o.reason[0]
    assert o.price_gbp[0] == 0 and o.size[0] == 0


def test_a_battery_needs_its_fuse():
    bat = O.PackageTerms(kind="battery", min_size=5, max_size=13.5, tiers=((13.5, Decimal("500")),), min_fuse_a=80)
    o = O.personal_offers(_homes(2, fuse_a=[60, 100]), bat, demand_shape=O.demand_shape())
    assert list(o.eligible) == [False, True]
    assert "fuse" in o.reason[0]


def test_systems_over_g98_are_flagged_for_a_g99_application():
    o = O.personal_offers(_homes(2, roof_area_m2=[24, 40]), PV, demand_shape=O.demand_shape())
    assert o.size[0] == pytest.approx(3.87) and not o.notes[0]  # runs on a 3.68 kW inverter
    assert o.size[1] == pytest.approx(6.45) and any("G99" in n for n in o.notes[1])
    assert O.inverter_kw(3.87) == 3.68 and O.inverter_kw(6.45) == pytest.approx(5.38)


def test_bad_input_is_refused_with_its_name():
    with pytest.raises(O.OfferInputError, match="Shading"):
        _homes(shading=["dark"])
    with pytest.raises(O.OfferInputError, match="pitch"):
        _homes(tilt_deg=[120])
    with pytest.raises(O.OfferInputError, match="increasing"):
        O.validate_tiers(((4.0, Decimal(1)), (3.0, Decimal(1))), min_size=2, max_size=4)
    with pytest.raises(O.OfferInputError, match="cover"):
        O.validate_tiers(((4.0, Decimal(1)),), min_size=2, max_size=8)


def _bid(i, per, q=80.0, cap=10):
    return A.BidIn(i, ((4.5, Decimal(per)), (8.0, Decimal(per) - 100)), q, cap)


def test_the_cheaper_of_two_equal_quality_bids_wins_and_the_other_is_reserve():
    ev = A.evaluate(
        [_bid(1, 1200), _bid(2, 1100)],
        basket_sizes=np.array([3.0, 4.0, 5.0]),
        price_weight=70,
        quality_weight=30,
        expected_installs=5,
        install_weeks=10,
    )
    assert (ev.winner, ev.reserve) == (2, 1)
    assert ev.rows[0].price_score == 100.0


def test_quality_can_beat_a_slightly_lower_price():
    ev = A.evaluate(
        [_bid(1, 1100, q=40), _bid(2, 1120, q=95)],
        basket_sizes=np.array([4.0]),
        price_weight=50,
        quality_weight=50,
        expected_installs=1,
        install_weeks=10,
    )
    assert ev.winner == 2


def test_an_installer_without_the_capacity_cannot_win():
    ev = A.evaluate(
        [_bid(1, 900, cap=1), _bid(2, 1100), _bid(3, 1200)],
        basket_sizes=np.array([4.0] * 100),
        price_weight=100,
        quality_weight=0,
        expected_installs=30,
        install_weeks=10,
    )
    assert ev.rows[0].installer_id == 1 and "capacity" in ev.rows[0].excluded
    assert (ev.winner, ev.reserve) == (2, 3)


def test_complaints_and_late_installs_lower_quality():
    clean = A.quality_score(financial_health=80, insurance_cover_gbp=Decimal(5e6), installs=100, complaints=0, late=0)
    poor = A.quality_score(financial_health=80, insurance_cover_gbp=Decimal(5e6), installs=100, complaints=12, late=10)
    assert clean == 92.0
    assert poor < clean - 20


@settings(max_examples=40, deadline=None)
@given(
    prices=st.lists(st.integers(min_value=600, max_value=2000), min_size=1, max_size=12),
    qualities=st.lists(st.floats(min_value=0, max_value=100), min_size=12, max_size=12),
    wp=st.integers(min_value=0, max_value=100),
)
def test_the_winner_has_the_best_total_among_eligible_bids(prices, qualities, wp):
    bids = [_bid(i + 1, p, q=qualities[i]) for i, p in enumerate(prices)]
    ev = A.evaluate(
        bids,
        basket_sizes=np.array([2.5, 4.0, 6.0]),
        price_weight=wp,
        quality_weight=100 - wp or 1,
        expected_installs=3,
        install_weeks=4,
    )
    totals = [r.total for r in ev.rows]
    assert totals == sorted(totals, reverse=True)
    assert ev.winner == ev.rows[0].installer_id
    assert ev.reserve != ev.winner
    assert {r.rank for r in ev.rows} == set(range(1, len(bids) + 1))
    assert max(r.price_score for r in ev.rows) == pytest.approx(100.0)


@settings(max_examples=30, deadline=None)
@given(size=st.floats(min_value=0.1, max_value=8.0), per=st.integers(min_value=1, max_value=3000))
def test_tier_price_is_size_times_its_tier_rate_to_the_penny(size, per):
    tiers = ((4.0, Decimal(per)), (8.0, Decimal(per) - Decimal("0.5")))
    p = O.tier_price(tiers, size)
    rate = tiers[0][1] if size <= 4.0 else tiers[1][1]
    assert p == (Decimal(str(round(size, 3))) * rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert O.tier_price(tiers, 8.5) is None


def test_heat_pump_is_sized_from_floor_area_and_the_grant_comes_off_the_price():
    hp = O.PackageTerms(
        kind="heat_pump",
        min_size=5,
        max_size=12,
        tiers=((12.0, Decimal("2000")),),
        market_price_per_unit_gbp=Decimal("2400"),
        grant_gbp=Decimal("7500"),
    )
    o = O.personal_offers(_homes(2, floor_area_m2=[94, 200]), hp, demand_shape=O.demand_shape())
    assert list(o.size) == [5.0, 11.0]  # 9,776 and 20,800 kWh of heat at ~2,000 full-load hours
    assert o.price_gbp == [Decimal("2500.00"), Decimal("14500.00")]  # 5 x £2,000 - £7,500 grant
    assert o.market_price_gbp[0] == Decimal("4500.00")


def test_a_smart_charger_saves_the_peak_to_off_peak_difference_on_the_cars_energy():
    ev = O.PackageTerms(kind="ev_charger", min_size=1, max_size=1, tiers=((1.0, Decimal("900")),))
    o = O.personal_offers(_homes(ev_miles=[8250]), ev, demand_shape=O.demand_shape())
    # 8,250 miles / 3.3 mi/kWh = 2,500 kWh x (24.5 - 7.5) p
    assert o.annual_savings_gbp[0] == pytest.approx(425.0)
    assert o.payback_years[0] == pytest.approx(900 / 425, abs=0.05)
