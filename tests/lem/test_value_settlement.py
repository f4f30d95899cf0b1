"""The value replay's month settlement (`value.settle_month`) is the batch
settlement engine's (`settlement.settle_batch`), penny for penny."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from lem.domain import settlement
from lem.domain import value as vd


def _month(seed, periods, members, trades):
    rng = np.random.default_rng(seed)
    imp = rng.integers(0, 900, size=(periods, members)) * (rng.random((periods, members)) < 0.7)
    exp = rng.integers(0, 900, size=(periods, members)) * (rng.random((periods, members)) < 0.3)
    tp = np.sort(rng.integers(0, periods, size=trades))
    tb = rng.integers(0, members, size=trades)
    ts = (tb + rng.integers(1, members, size=trades)) % members  # never the buyer
    tq = rng.integers(1, 700, size=trades)
    tsp = rng.integers(15_000, 21_000, size=trades)
    tbp = tsp + rng.integers(0, 3_000, size=trades) * (rng.random(trades) < 0.3)  # some congestion rent
    ip = np.where(rng.random(periods) < 0.2, 32_000, 24_500)
    poor = rng.random(members) < 0.3
    return imp, exp, tp, tb, ts, tq, tbp, tsp, ip, poor


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    periods=st.integers(1, 60),
    members=st.integers(2, 12),
    trades=st.integers(0, 80),
    fee_fixed_micro=st.sampled_from([0, 1, 250_000, 1_000_000]),
    fee_bp=st.sampled_from([0, 1, 100, 250]),
    fund_share_bp=st.sampled_from([0, 3_333, 5_000, 10_000]),
    social_bp=st.sampled_from([0, 2_000, 10_000]),
)
def test_the_replays_month_settles_to_the_penny_as_the_batch_engine(
    seed, periods, members, trades, fee_fixed_micro, fee_bp, fund_share_bp, social_bp
):
    imp, exp, tp, tb, ts, tq, tbp, tsp, ip, poor = _month(seed, periods, members, trades)
    full = settlement.settle_batch(
        import_wh=imp,
        export_wh=exp,
        trade_period=tp,
        trade_buyer=tb,
        trade_seller=ts,
        trade_qty=tq,
        trade_buyer_price=tbp,
        trade_seller_price=tsp,
        import_price=ip,
        export_price=np.full(periods, 15_000),
        fee_fixed_micro=np.full(periods, fee_fixed_micro),
        fee_bp=np.full(periods, fee_bp),
        fund_share_bp=np.full(periods, fund_share_bp),
        social_bp=np.full(periods, social_bp),
        fuel_poor=poor,
    )
    lean = vd.settle_month(
        import_wh=imp,
        export_wh=exp,
        trade_period=tp,
        trade_buyer=tb,
        trade_seller=ts,
        trade_qty=tq,
        trade_buyer_price=tbp,
        trade_seller_price=tsp,
        import_price=ip,
        fee_fixed_micro=fee_fixed_micro,
        fee_bp=fee_bp,
        fund_share_bp=fund_share_bp,
        social_bp=social_bp,
        fuel_poor=poor,
    )
    assert (lean.bought_wh == full.bought_wh).all() and (lean.sold_wh == full.sold_wh).all()
    assert lean.fees.tolist() == full.fees.sum(axis=0).tolist()
    assert lean.discount.tolist() == full.discount.sum(axis=0).tolist()
    assert lean.rent == int(full.rent.sum())
    assert lean.fund_cut == int(full.fund_cut.sum())
