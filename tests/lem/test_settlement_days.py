"""Day lines and the half-hours derived from the runs' stored inputs (issue 14 item 10).

Lines are stored per member and local day; a period's detail is settled again
from its run's packed inputs. The detail must be what was settled, the day
line its sum, whichever path (per period or the month batch) settled it."""

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.db import transaction
from hypothesis import given, settings
from hypothesis import strategies as st

from lem import selectors, services
from lem.batch import settlement_settle_range
from lem.domain import settlement as sm
from lem.models import SettlementLine, SettlementRun

from .factories import PERIOD, make_market, place, reading

LATER = PERIOD + timedelta(days=1)


@st.composite
def period_inputs(draw):
    m = draw(st.integers(2, 5))
    members = np.array(sorted(draw(st.sets(st.integers(1, 60), min_size=m, max_size=m))), dtype=np.int64)
    wh = st.integers(0, 5000)
    trades = []
    for tid in range(draw(st.integers(0, 6))):
        b, s = draw(st.lists(st.sampled_from(members.tolist()), min_size=2, max_size=2, unique=True))
        sp = draw(st.integers(5_000, 25_000))
        trades.append((tid + 1, b, s, draw(st.integers(1, 2000)), sp + draw(st.integers(0, 3000)), sp))
    ip = draw(st.integers(20_000, 40_000))
    rules = sm.Rules(
        import_price=ip,
        export_price=draw(st.integers(0, ip)),
        fee_fixed_micro=draw(st.integers(0, 300_000)),
        fee_bp=draw(st.integers(0, 500)),
        fund_share_bp=draw(st.integers(0, 10_000)),
        social_bp=draw(st.integers(0, 3000)),
        tolerance_bp=draw(st.integers(0, 2000)),
    )
    return sm.PeriodInputs(
        members=members,
        fuel_poor=np.array(draw(st.lists(st.booleans(), min_size=m, max_size=m))),
        import_wh=np.array(draw(st.lists(wh, min_size=m, max_size=m)), dtype=np.int64),
        export_wh=np.array(draw(st.lists(wh, min_size=m, max_size=m)), dtype=np.int64),
        trades=np.array(trades, dtype=np.int64).reshape(-1, 6),
        rules=rules,
    )


@settings(max_examples=80, deadline=None)
@given(period_inputs())
def test_one_members_detail_is_its_column_of_the_whole_period_and_matches_settle_period(inputs):
    again = sm.PeriodInputs.unpack(inputs.pack())
    _, whole = sm.settle_inputs([again])
    one = sm.settle_period(
        members=inputs.members.tolist(),
        trades=[sm.Trade(*(int(x) for x in t)) for t in inputs.trades],
        meters={
            int(m): sm.Meter(int(i), int(e))
            for m, i, e in zip(inputs.members, inputs.import_wh, inputs.export_wh, strict=True)
        },
        rules=inputs.rules,
        fuel_poor=[int(m) for m, f in zip(inputs.members, inputs.fuel_poor, strict=True) if f],
    )
    for c, m in enumerate(inputs.members.tolist()):
        _, mine = sm.settle_inputs([again], only_member=m)
        assert {f: int(v[0, 0]) for f, v in mine.items()} == {f: int(v[0, c]) for f, v in whole.items()}
        net = sum(int(mine[f][0, 0]) * s for f, s in _SIGNS.items())
        assert net == one.member_bill(m)


_SIGNS = {"local_cost": 1, "local_income": -1, "supplier_cost": 1, "supplier_income": -1, "fees": 1, "discount": -1}


def test_unreadable_stored_inputs_are_refused_with_a_clear_error():
    with pytest.raises(sm.SettlementError, match="unreadable"):
        sm.PeriodInputs.unpack(b"not zlib")


def _four_periods(mw):
    periods = [PERIOD + timedelta(minutes=30 * i) for i in range(4)]
    for i, p in enumerate(periods):
        place(mw, mw.seller, "offer", 700 + 50 * i, "12", period=p)
        place(mw, mw.buyer, "bid", 900, "25", period=p)
        services.market_clear(market=mw.market, period_start=p, now=p)
        reading(mw.seller, p, 0, 650 + 70 * i)
        reading(mw.buyer, p, 1003 + 37 * i, 11 * i)
    return periods


def _lines():
    fields = ("participant_id", "period_start", "periods", *sm.LINE_FIELDS)
    return sorted(SettlementLine.objects.values_list(*fields))


@pytest.mark.django_db
def test_period_by_period_and_the_month_batch_store_the_same_day_lines(world):
    mw = make_market(world)
    mw.buyer.fuel_poor = True
    mw.buyer.save()
    periods = _four_periods(mw)
    with transaction.atomic():
        for p in periods:
            services.settlement_settle_period(market=mw.market, period_start=p, now=LATER)
        one_by_one = _lines()
        detail = selectors.statement_periods(mw.buyer, periods[0], LATER)
        transaction.set_rollback(True)
    settlement_settle_range(market=mw.market, start=periods[0], end=periods[-1] + timedelta(minutes=30), now=LATER)
    assert _lines() == one_by_one and len(one_by_one) == 2
    again = selectors.statement_periods(mw.buyer, periods[0], LATER)
    assert [(x.period_start, x.total, x.discount) for x in again] == [
        (x.period_start, x.total, x.discount) for x in detail
    ]


@pytest.mark.django_db
def test_the_migration_turns_half_hourly_lines_into_day_lines_and_stored_inputs(world):
    from importlib import import_module

    from django.apps import apps

    mw = make_market(world)
    periods = _four_periods(mw)
    settlement_settle_range(market=mw.market, start=periods[0], end=periods[-1] + timedelta(minutes=30), now=LATER)
    want_lines = _lines()
    want_detail = [(x.period_start, x.total) for x in selectors.statement_periods(mw.seller, periods[0], LATER)]
    # back to the old shape: one line per member and period, runs without inputs
    old = []
    for part in (mw.buyer, mw.seller):
        for x in selectors.statement_periods(part, periods[0], LATER):
            x.pk = None
            old.append(x)
    SettlementLine.objects.all().delete()
    SettlementLine.objects.bulk_create(old)
    SettlementRun.objects.update(inputs=b"")
    assert SettlementLine.objects.count() == 8
    import_module("lem.migrations.0009_settlementline_per_day").forwards(apps, None)
    assert _lines() == want_lines
    assert [(x.period_start, x.total) for x in selectors.statement_periods(mw.seller, periods[0], LATER)] == want_detail
    assert sum((x.total for x in SettlementLine.objects.filter(participant=mw.seller)), Decimal(0)) == sum(
        t for _, t in want_detail
    )
