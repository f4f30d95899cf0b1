"""What the market is worth to each household (issue 17): replay a year.

Pure: meter data, rules and calendar in, per-household figures out; no
Django, no clock, no database. The replay runs the market's own code period
by period -- the trading agent (`agent.quantile_quantities`, the newsvendor
quantiles of each home's history), the clearing engine (`clearing.clear`)
and, month by month, settlement (`settle_month`: the figures of
`settlement.settle_batch`, itself equal penny for penny to the live period
settlement, both tested) -- so the figures are what the statements would
have said.

Risk (issue 17): each agent orders only what, if none of it were used or
delivered, its month could lose within `risk_budget`: a share of what its
trading has won this month by its last reading, plus a small stake
(STAKE_MICRO); so a month ends at worst the stake below the supplier alone,
fees aside.

Against the supplier alone: the same meter data priced at the supplier's
import tariff (peak rate where the rules have one) and export price.

* before fees: trading alone -- local purchases and sales plus the supplier
  lines of settlement (imports not bought, spill, exports not sold,
  shortfall), in exact micro-pence;
* after fees: the statement's total -- plus trade fees, the pro-rata
  membership fee (`fees.membership_fee_pence`, for days traded; at most the
  rules' share of the month's trading saving, `fees.capped_fee_pence`, where
  the market caps it), less the social tariff discount for fuel-poor
  households.

The community as a whole (seed 002 C.7: a local market should keep ~2 p/kWh
more value in the community): every member's gain after fees plus the
community fund's (congestion rent and its share of fees, less discounts it
pays), per kWh matched locally. Fees kept by the operator count as a loss.

CO2: supplier imports at the grid's average intensity, local energy at its
source's (the platform's order defaults, `CO2_G_PER_KWH`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from . import clearing, settlement
from .agent import (
    expected_gain_micro,
    expected_local_prices,
    floor_quantities,
    newsvendor_ratios,
    quantile_quantities,
    within_budget,
    worth_trading_today,
)
from .fees import capped_fee_pence, membership_fee_pence
from .settlement import BP, MICRO

MODEL_VERSION = 11  # part of a stored report's key: bump when the replay's results change
CO2_G_PER_KWH = {"grid": 207, "solar": 40, "wind": 12}
MIN_ORDER_WH = 10
EMA = 0.3  # weight of the latest traded day in the agent's track record
WINDOW = 6  # periods of recent output a wind turbine's agent looks at
# of what a household's trading has won this month (by its last reading), the most
# its trades not yet metered may put at risk; the stake below bounds the month
# whatever this is (1.0: 93.5 % of 1,000 homes better off after fees, 0.5: 92.2 %)
RISK_SHARE = 1.0
# What a household's agent may put at risk before its trading has won anything
# in the month, micro-pence. No agent that trades ahead of the meter can promise
# a month never below the supplier alone with nothing at stake: whatever it
# buys may go unused and whatever it sells undelivered, and with nothing won
# yet any such miss is a loss; an agent risking nothing never trades. So the
# guarantee is a bound: every Wh it orders, floors included, is within
# `risk_budget`, and a month ends at worst STAKE_MICRO below the supplier alone
# (fees aside; its statement, rounded, at worst 1p). Issue 17.
STAKE_MICRO = MICRO
LEAD = 2  # periods between the last reading an agent has and the period it trades


def _at(x, idx):
    """``x[idx]`` for a per-member array, ``x`` for a scalar."""
    a = np.asarray(x)
    return a[idx] if a.ndim else a


def _queue(period: int, n: int) -> np.ndarray:
    """Submission order of the ``n`` agent orders of a period. The agents place
    their orders at the same moment, so which of two orders at the same price
    fills first is arbitrary; it changes from period to period (seeded by the
    period, as `lem.services.agents` does live) so no household is always at
    the back of the queue."""
    return np.random.default_rng([period, 17]).permutation(n)


def risk_budget(banked_micro) -> np.ndarray:
    """The most a household's orders not yet metered may lose if none of them
    were used / delivered, micro-pence, from what its trading has won so far
    this month (``banked_micro``, realised, exact): RISK_SHARE of it plus the
    month's stake, or what is left of the stake once the month is below zero.
    By induction over the periods (trades lose at most their worst case), the
    month's trading result stays >= -STAKE_MICRO."""
    b = np.asarray(banked_micro, dtype=np.float64)
    return np.maximum(np.minimum(RISK_SHARE * np.maximum(b, 0.0), b) + STAKE_MICRO, 0.0)


def _period_gain(net_p, lb, ls, q, bp, sp, *, ip, ep, fee_fixed_micro=0, fee_bp=0):
    """Micro-pence each member that traded in one period gained against the
    supplier alone (settlement's rules: spill at export, shortfall at import),
    after the trade fees its statement will show: (their positions, gains).
    ``net_p``: the period's net import per member; ``lb``/``ls``: buyer /
    seller positions of each trade; prices in ticks."""
    who, inv = np.unique(np.concatenate((lb, ls)), return_inverse=True)
    k = len(who)
    ib, is_ = inv[: len(lb)], inv[len(lb) :]
    qf = q.astype(np.float64)
    bought = np.bincount(ib, qf, k).astype(np.int64)
    sold = np.bincount(is_, qf, k).astype(np.int64)
    paid = np.bincount(ib, qf * bp, k).astype(np.int64)
    got = np.bincount(is_, qf * sp, k).astype(np.int64)
    n = net_p[who]
    imp, exp = np.maximum(n, 0), np.maximum(-n, 0)
    g = (np.minimum(bought, imp) * ip + np.maximum(bought - imp, 0) * ep - paid) + (
        got - (np.minimum(sold, exp) * ep + np.maximum(sold - exp, 0) * ip)
    )
    g = g.astype(np.float64)
    if fee_fixed_micro or fee_bp:
        g -= np.bincount(ib, fee_fixed_micro + qf * bp * fee_bp / BP, k)
        g -= np.bincount(is_, fee_fixed_micro + qf * sp * fee_bp / BP, k)
    return who, g


class ValueError_(ValueError):
    """Bad input to the value replay (a message a person understands)."""


@dataclass(frozen=True)
class ValueRules:
    """The market's rules for the replay (the RuleVersion's fields, p/kWh, GBP)."""

    mechanism: str = "uniform"
    import_price: Decimal = Decimal("24.5")
    export_price: Decimal = Decimal("15")
    peak_import_price: Decimal | None = None  # 16:00-19:00 local
    match_tariff: Decimal = Decimal("20")
    fee_per_trade_pence: Decimal = Decimal("0")
    fee_pct: Decimal = Decimal("0")
    membership_fee: Decimal = Decimal("0")  # GBP a month
    membership_fee_cap_pct: Decimal | None = None  # the fee at most this % of the month's trading saving
    social_discount_pct: Decimal = Decimal("0")
    fund_share_pct: Decimal = Decimal("0")
    price_floor: Decimal = Decimal("0")
    price_cap: Decimal = Decimal("100")

    def check(self) -> None:
        if self.mechanism not in clearing.MECHANISMS:
            raise ValueError_(f"mechanism: unknown clearing mechanism {self.mechanism!r}.")
        if self.export_price > self.import_price:
            raise ValueError_("export_price: the export price cannot be above the import price.")
        for name in ("fee_per_trade_pence", "fee_pct", "membership_fee", "social_discount_pct", "fund_share_pct"):
            if getattr(self, name) < 0:
                raise ValueError_(f"{name}: cannot be negative.")
        if self.membership_fee_cap_pct is not None and not 0 <= self.membership_fee_cap_pct <= 100:
            raise ValueError_("membership_fee_cap_pct: a share of the saving, 0-100%.")


@dataclass(frozen=True)
class Calendar:
    """Per period: month index, local day index, peak flag; per month: label and days."""

    month: np.ndarray  # P ints 0..n_months-1 (non-decreasing)
    day: np.ndarray  # P ints: local day number (non-decreasing)
    peak: np.ndarray  # P bools
    month_labels: list[str]
    month_days: list[int]  # days in each calendar month
    month_first: list  # first day (date) of each month
    periods_per_day: int = 48


@dataclass
class Members:
    """Who takes part (arrays over all sites, aligned with the meter data)."""

    member: np.ndarray  # bool
    household: np.ndarray  # bool: a home (community buildings/generators False)
    fuel_poor: np.ndarray  # bool
    max_buy: np.ndarray  # p/kWh float, the household's agent limit
    min_sell: np.ndarray
    source: list[str]  # "solar" | "wind" per site (what it sells)


@dataclass
class ValueResult:
    months: list[str]
    # per site, year (pence unless _wh / _g)
    supplier_only: np.ndarray
    bill_before_fees: np.ndarray  # trading + supplier lines, exact rounded
    trade_fees: np.ndarray
    membership: np.ndarray
    discount: np.ndarray
    bill_after_fees: np.ndarray  # the statements' total
    import_wh: np.ndarray
    export_wh: np.ndarray
    bought_wh: np.ndarray
    sold_wh: np.ndarray
    spill_wh: np.ndarray
    shortfall_wh: np.ndarray
    co2_supplier_g: np.ndarray
    co2_market_g: np.ndarray
    # per month x site
    month_saving_before: np.ndarray
    month_saving_after: np.ndarray
    month_matched_wh: np.ndarray  # per month
    fund_pence: int
    operator_pence: int
    matched_wh: int
    trades: int
    members: Members | None = None

    @property
    def saving_before(self) -> np.ndarray:
        return self.supplier_only - self.bill_before_fees

    @property
    def saving_after(self) -> np.ndarray:
        return self.supplier_only - self.bill_after_fees

    def community_gain_pence(self) -> int:
        m = self.members.member
        return int(self.saving_after[m].sum()) + self.fund_pence

    def p_per_kwh_local(self) -> float:
        """The community's gain per kWh matched locally, p/kWh."""
        return self.community_gain_pence() / (self.matched_wh / 1000) if self.matched_wh else 0.0

    def summary(self) -> dict:
        m = self.members.member & self.members.household
        after = self.saving_after[m]
        before = self.saving_before[m]
        poor = self.members.fuel_poor[m]
        imp = self.import_wh[m].sum()
        exp = self.export_wh[m].sum()

        def stats(x):
            if len(x) == 0:
                return {
                    "n": 0,
                    "better_off": 0,
                    "worse_off": 0,
                    "share_better_off": 0.0,
                    "median": 0,
                    "min": 0,
                    "max": 0,
                    "mean": 0,
                }
            return {
                "n": int(len(x)),
                "better_off": int((x > 0).sum()),
                "worse_off": int((x < 0).sum()),
                "share_better_off": float((x > 0).mean()),
                "median": int(np.median(x)),
                "min": int(x.min()),
                "max": int(x.max()),
                "mean": int(round(float(x.mean()))),
            }

        return {
            "households": stats(after),
            "households_before_fees": stats(before),
            "fuel_poor": stats(after[poor]),
            "local_share_imports": float(self.bought_wh[m].sum() / imp) if imp else 0.0,
            "local_share_exports": float(self.sold_wh[m].sum() / exp) if exp else 0.0,
            "matched_kwh": round(self.matched_wh / 1000, 1),
            "community_gain_pence": self.community_gain_pence(),
            "p_per_kwh_local": round(self.p_per_kwh_local(), 2),
            "fund_pence": self.fund_pence,
            "operator_pence": self.operator_pence,
            "trades": self.trades,
            "co2_saved_kg": round(
                float((self.co2_supplier_g - self.co2_market_g)[self.members.member].sum()) / 1000, 1
            ),
        }


@dataclass(frozen=True)
class MonthSettlement:
    """What the replay needs of a month's settlement, per member (pence unless
    _wh): the same figures as `settlement.settle_batch` summed over the
    month's periods (tested), without its P x M x 4 lines."""

    bought_wh: np.ndarray  # P x M
    sold_wh: np.ndarray  # P x M
    fees: np.ndarray  # M
    discount: np.ndarray  # M
    rent: int
    fund_cut: int


def settle_month(
    *,
    import_wh: np.ndarray,
    export_wh: np.ndarray,
    trade_period: np.ndarray,
    trade_buyer: np.ndarray,
    trade_seller: np.ndarray,
    trade_qty: np.ndarray,
    trade_buyer_price: np.ndarray,
    trade_seller_price: np.ndarray,
    import_price: np.ndarray,
    fee_fixed_micro: int,
    fee_bp: int,
    fund_share_bp: int,
    social_bp: int,
    fuel_poor: np.ndarray,
) -> MonthSettlement:
    """A month of periods (P x M meter data, trades by period) settled as
    `settlement.settle_batch` does with one rule version and no tolerance
    band: each trade side and each fee / discount line rounded on its own.
    Only the cells with trades (fees) and the fuel-poor members (discount)
    are touched."""
    P, M = import_wh.shape
    tp = np.asarray(trade_period, dtype=np.int64)
    tb = np.asarray(trade_buyer, dtype=np.int64)
    ts = np.asarray(trade_seller, dtype=np.int64)
    tq = np.asarray(trade_qty, dtype=np.int64)
    be = tq * np.asarray(trade_buyer_price, dtype=np.int64)
    se = tq * np.asarray(trade_seller_price, dtype=np.int64)
    cell_b, cell_s = tp * M + tb, tp * M + ts
    bought = np.bincount(cell_b, weights=tq, minlength=P * M).astype(np.int64).reshape(P, M)
    sold = np.bincount(cell_s, weights=tq, minlength=P * M).astype(np.int64).reshape(P, M)
    buy_p = settlement._rhu(be)
    rent = int(buy_p.sum() - settlement._rhu(se).sum())

    fees_m = np.zeros(M, dtype=np.int64)
    fee_total = np.zeros(P, dtype=np.int64)
    if (fee_fixed_micro > 0 or fee_bp > 0) and len(tq):
        cells = np.concatenate((cell_b, cell_s))
        vals = fee_fixed_micro + np.concatenate((be, se)) * fee_bp // BP
        uc, inv = np.unique(cells, return_inverse=True)
        fe = np.zeros(len(uc), dtype=np.int64)
        np.add.at(fe, inv, vals)
        line = settlement._rhu(fe)
        np.add.at(fees_m, uc % M, line)
        np.add.at(fee_total, uc // M, line)
    a = fee_total * MICRO * fund_share_bp // BP
    b = fee_total * MICRO * (BP - fund_share_bp) // BP
    fa, fb = a // MICRO, b // MICRO
    left = fee_total - fa - fb
    fund_cut = int((fa + (left >= 2) + ((left == 1) & (a - fa * MICRO >= b - fb * MICRO))).sum())

    disc = np.zeros(M, dtype=np.int64)
    poor = np.flatnonzero(np.asarray(fuel_poor, dtype=bool))
    if len(poor) and social_bp > 0:
        lc = np.zeros(P * M, dtype=np.int64)
        np.add.at(lc, cell_b, buy_p)
        lc = lc.reshape(P, M)[:, poor]
        ip = np.asarray(import_price, dtype=np.int64)[:, None]
        imp_p, exp_p = import_wh[:, poor], export_wh[:, poor]
        spent = lc * MICRO + np.maximum(imp_p - bought[:, poor], 0) * ip + np.maximum(sold[:, poor] - exp_p, 0) * ip
        disc[poor] = settlement._rhu(spent * social_bp // BP).sum(axis=0)
    return MonthSettlement(bought, sold, fees_m, disc, rent, fund_cut)


def _ticks(d: Decimal | float) -> int:
    return int((Decimal(str(d)) * clearing.PRICE_SCALE).to_integral_value())


def replay(
    *,
    import_wh: np.ndarray,
    export_wh: np.ndarray,
    members: Members,
    rules: ValueRules,
    calendar: Calendar,
    history_days: int = 7,
    battery_spare_wh: np.ndarray | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> ValueResult:
    """Replay P periods x M sites. ``import_wh``/``export_wh``: P x M meter data;
    ``battery_spare_wh``: P x M, what each home's battery can still give above
    its reserve at the start of the period (the agent covers its need from it
    first, as the live agent does with the battery's reported charge)."""
    rules.check()
    say = progress or (lambda f, t: None)
    imp = np.asarray(import_wh, dtype=np.int64)
    exp = np.asarray(export_wh, dtype=np.int64)
    if imp.shape != exp.shape or imp.ndim != 2:
        raise ValueError_("import_wh/export_wh: two arrays of the same shape, periods x sites.")
    if (imp < 0).any() or (exp < 0).any():
        raise ValueError_("import_wh/export_wh: meter readings cannot be negative.")
    P, M = imp.shape
    if len(calendar.month) != P:
        raise ValueError_("calendar: one entry per period.")
    net = imp - exp
    ppd = calendar.periods_per_day
    mem = np.flatnonzero(members.member)
    ip_off, ip_peak = _ticks(rules.import_price), _ticks(rules.peak_import_price or rules.import_price)
    ep = _ticks(rules.export_price)
    floor, cap = _ticks(rules.price_floor), _ticks(rules.price_cap)
    tariff = _ticks(rules.match_tariff)
    fee_fixed_micro = int(Decimal(rules.fee_per_trade_pence) * MICRO)
    fee_bp = int(Decimal(rules.fee_pct) * 100)
    max_buy = np.array([_ticks(x) for x in members.max_buy[mem]], dtype=np.int64)
    min_sell = np.array([_ticks(x) for x in members.min_sell[mem]], dtype=np.int64)
    co2_src = np.array([CO2_G_PER_KWH.get(s, 40) for s in members.source], dtype=np.int64)

    # agent prices and newsvendor quantiles per regime (off-peak, peak), per member
    regimes = {}
    for peak, ip in ((False, ip_off), (True, ip_peak)):
        step = (ip - ep) // 3
        bid_p = np.minimum(np.minimum(ip - step, max_buy), cap)
        off_p = np.maximum(np.maximum(ep + step, min_sell), floor)
        bid_local, off_local = expected_local_prices(
            mechanism=rules.mechanism, bid_price=bid_p, offer_price=off_p, match_tariff=tariff, fee_fraction=fee_bp / BP
        )
        qb, qo = newsvendor_ratios(import_price=ip, export_price=ep, bid_local=bid_local, offer_local=off_local)
        # an order must be able to pay its fixed fee from the margin it expects
        margin = np.maximum(np.minimum(ip - bid_local, off_local - ep), 1)  # ticks = 1e-6 p per Wh
        min_wh = np.maximum(MIN_ORDER_WH, np.ceil(2 * fee_fixed_micro / margin)).astype(np.int64)
        regimes[peak] = (bid_p.astype(np.int64), off_p.astype(np.int64), qb, qo, min_wh, ip, bid_local, off_local)

    day_regimes: dict[bytes, tuple] = {}

    def day_regime(peak_rows: np.ndarray) -> tuple:
        """The regimes' figures per period of a day and member (ppd x members)."""
        key = peak_rows.tobytes()
        if key not in day_regimes:
            col = peak_rows[:, None]
            day_regimes[key] = tuple(
                np.where(col, np.broadcast_to(pk_, (len(mem),)), np.broadcast_to(op_, (len(mem),)))
                for pk_, op_ in zip(regimes[True], regimes[False], strict=True)
            )
        return day_regimes[key]

    # day by day: the agents' quantities (the same time of day on the previous
    # days), whether a day is worth its share of the membership fee, clearing
    days = P // ppd
    net_days = net[: days * ppd].reshape(days, ppd, M)[:, :, mem]
    peak_day = calendar.peak[: days * ppd].reshape(days, ppd)
    spare_days = None
    if battery_spare_wh is not None:
        spare_days = np.asarray(battery_spare_wh, dtype=np.int64)[: days * ppd].reshape(days, ppd, M)[:, :, mem]
    monthly_fee_micro = int(Decimal(rules.membership_fee) * 100) * MICRO
    # yesterday's filled share of each side and trades per filled order (public market data)
    fill = {"bid": 1.0, "offer": 1.0}
    # and the Wh a filled order of each side got: an order is split into about
    # (its fill / the other side's typical fill) + 1 trades, each paying the fixed fee
    avg_fill = {"bid": 1000.0, "offer": 1000.0}
    network = clearing.Network.single()
    wind = np.flatnonzero(np.array([members.source[j] == "wind" for j in mem], dtype=bool))
    windows = None
    if len(wind):
        windows = np.lib.stride_tricks.sliding_window_view(net[:, mem[wind]], WINDOW, axis=0)  # (P-W+1, n, W)
    ema_expected = np.zeros(len(mem))
    ema_real = np.zeros(len(mem))
    traded_days = np.zeros(len(mem), dtype=np.int64)
    month_now = -1
    # micro-pence won by trading this month, as far as the agent knows (metered
    # periods), and the trades not yet metered: (period, result, worst case)
    budget_month, banked, pending, pending_w = -1, np.zeros(len(mem)), [], np.zeros(len(mem))
    fee_month = np.zeros(len(mem))  # and its days' share of the membership fee
    t_period, t_buyer, t_seller, t_qty, t_bp, t_sp = ([] for _ in range(6))
    for d in range(1, days):
        if d % 20 == 0:
            say(0.05 + 0.75 * d / days, "agents and clearing")
        hist = net_days[max(d - history_days, 0) : d]
        spare = spare_days[d] if spare_days is not None else 0
        recent = None
        if len(wind):
            # wind changes by the hour, not by the time of day: its agent looks at
            # the last hours it reported before gate closure (persistence)
            first = d * ppd - LEAD - WINDOW + 1
            if first >= 0:
                recent = np.moveaxis(windows[first : first + ppd], -1, 0)  # (WINDOW, ppd, n_wind)
        mi = int(calendar.month[d * ppd])
        if mi != month_now:  # a new month: no membership fee paid in it yet
            month_now, fee_month = mi, np.zeros(len(mem))
        # 1. quantities: the newsvendor quantile of the history, and its floor
        # (what every day of the history imported / exported at that time),
        # the whole day at once with each period's regime (peak or not)
        bid_p, off_p, qb, qo, min_wh, ip, bl, ol = day_regime(peak_day[d])
        bq, oq = quantile_quantities(hist, qb, qo)
        if len(hist) < history_days:  # a few days say little: no order until a week is metered
            bq, oq = np.zeros_like(bq), np.zeros_like(oq)
        bf, of = floor_quantities(hist, bq, oq, min_days=history_days)
        if recent is not None:
            b_w, o_w = quantile_quantities(recent, qb[:, wind], qo[:, wind])
            bq[:, wind], oq[:, wind] = b_w, o_w
            bf[:, wind], of[:, wind] = floor_quantities(recent, b_w, o_w, min_days=WINDOW)
        if spare_days is not None:
            bq = np.maximum(bq - spare, 0)
            bf = np.minimum(np.maximum(bf - spare, 0), bq)
        ok_b, ok_o = bid_p >= floor, off_p <= cap
        bq, oq = np.where(ok_b, bq, 0), np.where(ok_o, oq, 0)
        bf, of = np.where(ok_b, bf, 0), np.where(ok_o, of, 0)
        # the worst a Wh can do: bought at the limit and sold back at export, or
        # sold at the limit and bought in at the import price
        risk_b = bid_p * (1 + fee_bp / BP) - ep
        risk_o = ip - off_p * (1 - fee_bp / BP)
        # 3. each order pays its way, and the day pays its share of the membership fee
        bq = np.where(bq >= min_wh, bq, 0)
        oq = np.where(oq >= min_wh, oq, 0)
        g = expected_gain_micro(
            hist, bid_wh=bq, offer_wh=oq, import_price=ip, export_price=ep, bid_local=bl, offer_local=ol
        )
        if recent is not None:
            g[:, wind] = expected_gain_micro(
                recent,
                bid_wh=bq[:, wind],
                offer_wh=oq[:, wind],
                import_price=ip[:, wind],
                export_price=ep,
                bid_local=bl[:, wind],
                offer_local=ol[:, wind],
            )
        # its expected gain if filled covers the fixed fee of the trades a filled
        # order splits into (how often orders fill is in the household's own
        # track record, ``factor`` below)
        g_b = g - fee_fixed_micro * (1 + bq / avg_fill["offer"])
        g_o = g - fee_fixed_micro * (1 + oq / avg_fill["bid"])
        bq = np.where(g_b > 0, bq, 0)
        oq = np.where(g_o > 0, oq, 0)
        contrib = np.where(bq > 0, g_b, 0) + np.where(oq > 0, g_o, 0)
        pk = peak_day[d]
        gain = contrib[~pk].sum(axis=0) + contrib[pk].sum(axis=0)  # off-peak, then peak (as always summed)
        day_fee = monthly_fee_micro // calendar.month_days[mi]
        # the agent learns from its statements: expected gains scaled by how its
        # recent traded days actually turned out
        factor = np.where((traded_days >= 1) & (ema_expected > 0), ema_real / np.maximum(ema_expected, 1e-9), 1.0)
        factor = np.clip(factor, -1.0, 1.5)
        if rules.membership_fee_cap_pct is None:
            # after its first traded day of a month, a household trades only while what
            # the month has won after its fees already pays for the day's share of the fee
            ahead = (fee_month == 0) | (banked - fee_month >= day_fee)
            trades_today = worth_trading_today(gain * factor, day_fee) & (factor > 0) & ahead
        else:
            # the fee is at most a share of what the month's trading saved: a day that is
            # expected to gain cannot cost its household more in fees than it gains
            trades_today = worth_trading_today(gain * factor, 0) & (factor > 0)
        bq[:, ~trades_today] = 0
        oq[:, ~trades_today] = 0
        realised = np.zeros(len(mem))
        asked = {"bid": 0, "offer": 0}
        got = 0
        filled_orders = {"bid": 0, "offer": 0}
        # 2. risk: every Wh ordered, floors first, within what this month's trading
        # has won by the last reading the agent has (LEAD periods back), less the
        # worst case of its trades not yet metered. A member whose whole day fits
        # is cleared for the day at once; the others are cut period by period.
        day_months = calendar.month[d * ppd : (d + 1) * ppd]
        ladder = np.flatnonzero(bq.any(axis=0) | oq.any(axis=0))
        if day_months[0] == day_months[-1] == budget_month and len(ladder):
            w_day = (
                bq[:, ladder] * np.maximum(risk_b[:, ladder], 0) + oq[:, ladder] * np.maximum(risk_o[:, ladder], 0)
            ).sum(axis=0)
            ladder = ladder[w_day > risk_budget(banked[ladder]) - pending_w[ladder]]
        for slot in range(ppd):
            p = d * ppd + slot
            peak = bool(calendar.peak[p])
            bid_p, off_p, _, _, min_wh, ip, _, _ = regimes[peak]
            if int(calendar.month[p]) != budget_month:  # a new month: nothing won in it yet
                budget_month, banked, pending = int(calendar.month[p]), np.zeros(len(mem)), []
                pending_w = np.zeros(len(mem))
                ladder = np.flatnonzero(bq.any(axis=0) | oq.any(axis=0))
            while pending and pending[0][0] <= p - LEAD:
                _, g_, w_, who_ = pending.pop(0)
                banked[who_] += g_
                pending_w[who_] -= w_
            if len(ladder):
                L = ladder
                bl_, ol_ = bq[slot, L], oq[slot, L]
                if bl_.any() or ol_.any():
                    b_s, o_s = within_budget(
                        bl_[None],
                        ol_[None],
                        bf[slot, L][None],
                        of[slot, L][None],
                        bid_risk=risk_b[slot, L][None],
                        offer_risk=risk_o[slot, L][None],
                        budget=risk_budget(banked[L]) - pending_w[L],
                    )
                    mw = _at(min_wh, L)
                    bq[slot, L] = np.where(b_s[0] >= mw, b_s[0], 0)
                    oq[slot, L] = np.where(o_s[0] >= mw, o_s[0], 0)
            b = np.flatnonzero(bq[slot] > 0)
            o = np.flatnonzero(oq[slot] > 0)
            asked["bid"] += int(bq[slot][b].sum())
            asked["offer"] += int(oq[slot][o].sum())
            if len(b) == 0 or len(o) == 0:
                continue
            n = len(b) + len(o)
            book = clearing.Book.from_arrays(
                order_id=np.arange(n),
                is_bid=np.concatenate((np.ones(len(b), bool), np.zeros(len(o), bool))),
                qty_wh=np.concatenate((bq[slot][b], oq[slot][o])),
                price=np.concatenate((bid_p[b], off_p[o])),
                seq=_queue(p, n),
            )
            res = clearing.clear(book, mechanism=rules.mechanism, match_tariff=tariff, network=network)
            q = res.trade_qty_wh
            if len(q) == 0:
                continue
            got += int(q.sum())
            filled_orders["bid"] += int(np.count_nonzero(np.bincount(res.trade_bid)))
            filled_orders["offer"] += int(np.count_nonzero(np.bincount(res.trade_offer)))
            local = np.concatenate((b, o))
            lb, ls = local[res.trade_bid], local[res.trade_offer]
            t_period.append(np.full(len(q), p, dtype=np.int64))
            t_buyer.append(mem[lb])
            t_seller.append(mem[ls])
            t_qty.append(q)
            t_bp.append(res.trade_buyer_price)
            t_sp.append(res.trade_seller_price)
            # the period's realised result per member, exact (what its statement will
            # say), known LEAD periods later; until then its worst case is held back
            who_, g = _period_gain(
                net[p, mem],
                lb,
                ls,
                q,
                res.trade_buyer_price,
                res.trade_seller_price,
                ip=ip,
                ep=ep,
                fee_fixed_micro=fee_fixed_micro,
                fee_bp=fee_bp,
            )
            w_ = np.zeros(len(mem))
            np.add.at(w_, lb, q * np.maximum(risk_b[slot][lb], 0))
            np.add.at(w_, ls, q * np.maximum(risk_o[slot][ls], 0))
            w_ = w_[who_]
            pending.append((p, g, w_, who_))
            pending_w[who_] += w_
            realised[who_] += g
        did = trades_today & ((bq > 0).any(axis=0) | (oq > 0).any(axis=0))
        ema_expected = np.where(did, (1 - EMA) * ema_expected + EMA * gain, ema_expected)
        ema_real = np.where(did, (1 - EMA) * ema_real + EMA * realised, ema_real)
        # a household sitting out tries again, cautiously, as the days pass
        low = ~did & (ema_real < 0.25 * ema_expected)
        ema_real = np.where(low, ema_real + 0.05 * (0.25 * ema_expected - ema_real), ema_real)
        traded_days += did
        fee_month += did * day_fee
        for side in ("bid", "offer"):
            if asked[side]:
                fill[side] = got / asked[side]
            if filled_orders[side]:
                avg_fill[side] = max(got / filled_orders[side], 1.0)

    def cat(x):
        return np.concatenate(x) if x else np.zeros(0, dtype=np.int64)

    tp, tb, ts, tq, tbp, tsp = (cat(x) for x in (t_period, t_buyer, t_seller, t_qty, t_bp, t_sp))
    say(0.8, "settlement")

    # settlement month by month through the batch engine
    n_months = len(calendar.month_labels)
    ip_per = np.where(calendar.peak, ip_peak, ip_off).astype(np.int64)
    poor = members.fuel_poor & members.member
    out = {
        k: np.zeros(M, dtype=np.int64)
        for k in (
            "supplier_only",
            "before",
            "fees",
            "membership",
            "discount",
            "after",
            "bought",
            "sold",
            "spill",
            "short",
        )
    }
    month_before = np.zeros((n_months, M), dtype=np.int64)
    month_after = np.zeros((n_months, M), dtype=np.int64)
    month_matched = np.zeros(n_months, dtype=np.int64)
    fund = operator = 0
    monthly_fee_pence = int(Decimal(rules.membership_fee) * 100)
    for mi in range(n_months):
        sel = np.flatnonzero(calendar.month == mi)
        if len(sel) == 0:
            continue
        p0, p1 = int(sel[0]), int(sel[-1]) + 1
        tsel = (tp >= p0) & (tp < p1)
        r = settle_month(
            import_wh=imp[p0:p1],
            export_wh=exp[p0:p1],
            trade_period=tp[tsel] - p0,
            trade_buyer=tb[tsel],
            trade_seller=ts[tsel],
            trade_qty=tq[tsel],
            trade_buyer_price=tbp[tsel],
            trade_seller_price=tsp[tsel],
            import_price=ip_per[p0:p1],
            fee_fixed_micro=fee_fixed_micro,
            fee_bp=fee_bp,
            fund_share_bp=int(Decimal(rules.fund_share_pct) * 100),
            social_bp=int(Decimal(rules.social_discount_pct) * 100),
            fuel_poor=poor,
        )
        # exact values (micro-pence) for the "before fees" comparison
        sup_only_exact = (imp[p0:p1] * ip_per[p0:p1, None] - exp[p0:p1] * ep).sum(axis=0)
        bought, sold = r.bought_wh, r.sold_wh
        imb_exact = (
            np.maximum(imp[p0:p1] - bought, 0) * ip_per[p0:p1, None]
            - np.maximum(bought - imp[p0:p1], 0) * ep
            - np.maximum(exp[p0:p1] - sold, 0) * ep
            + np.maximum(sold - exp[p0:p1], 0) * ip_per[p0:p1, None]
        ).sum(axis=0)
        local_exact = np.zeros(M, dtype=np.int64)
        np.add.at(local_exact, tb[tsel], tq[tsel] * tbp[tsel])
        np.add.at(local_exact, ts[tsel], -tq[tsel] * tsp[tsel])
        sup_only = np.array([settlement.round_half_up(int(x)) for x in sup_only_exact], dtype=np.int64)
        before = np.array([settlement.round_half_up(int(x)) for x in imb_exact + local_exact], dtype=np.int64)
        # membership fee pro rata for the days each member traded
        traded = np.zeros(M, dtype=np.int64)
        if tsel.any():
            days = calendar.day[tp[tsel]]
            day0 = int(calendar.day[p0])
            flags = np.zeros((M, int(calendar.day[p1 - 1]) - day0 + 1), dtype=bool)  # member x day of the month
            flags[tb[tsel], days - day0] = True
            flags[ts[tsel], days - day0] = True
            traded = flags.sum(axis=1).astype(np.int64)
        fees = r.fees
        saved = sup_only - before - fees  # what trading saved: the base of a shared-savings cap
        memb = np.array(
            [
                capped_fee_pence(
                    fee_pence=membership_fee_pence(
                        monthly_fee_pence=monthly_fee_pence,
                        month=calendar.month_first[mi],
                        days_charged=min(int(traded[j]), calendar.month_days[mi]),
                    ),
                    saving_pence=int(saved[j]),
                    cap_pct=rules.membership_fee_cap_pct,
                )
                if members.member[j]
                else 0
                for j in range(M)
            ],
            dtype=np.int64,
        )
        disc = r.discount
        # the month's bill: trading and supplier lines exact (a household that
        # does not trade pays exactly the supplier's bill, without the pennies
        # that per-period rounding moves between members), then the fees and
        # the discount its statement shows
        bill_after = before + fees + memb - disc
        # non-members simply pay the supplier
        bill_after = np.where(members.member, bill_after, sup_only)
        before = np.where(members.member, before, sup_only)
        out["supplier_only"] += sup_only
        out["before"] += before
        out["fees"] += fees
        out["membership"] += memb
        out["discount"] += disc
        out["after"] += bill_after
        out["bought"] += bought.sum(axis=0)
        out["sold"] += sold.sum(axis=0)
        out["spill"] += np.maximum(bought - imp[p0:p1], 0).sum(axis=0)
        out["short"] += np.maximum(sold - exp[p0:p1], 0).sum(axis=0)
        month_before[mi] = sup_only - before
        month_after[mi] = sup_only - bill_after
        month_matched[mi] = int(tq[tsel].sum())
        fund += r.rent + r.fund_cut - int(disc.sum())
        operator += int(fees.sum()) - r.fund_cut + int(memb.sum())

    # CO2 of what each member imports: supplier at grid intensity, local at its source's
    used_local = np.minimum(out["bought"], imp.sum(axis=0))
    local_co2 = np.zeros(M, dtype=np.float64)
    if len(tq):
        np.add.at(local_co2, tb, tq * co2_src[ts])
    avg_local = np.divide(local_co2, np.maximum(out["bought"], 1))
    total_imp = imp.sum(axis=0)
    co2_supplier = total_imp * CO2_G_PER_KWH["grid"] / 1000
    co2_market = ((total_imp - used_local) * CO2_G_PER_KWH["grid"] + used_local * avg_local) / 1000
    say(1.0, "done")
    return ValueResult(
        months=list(calendar.month_labels),
        supplier_only=out["supplier_only"],
        bill_before_fees=out["before"],
        trade_fees=out["fees"],
        membership=out["membership"],
        discount=out["discount"],
        bill_after_fees=out["after"],
        import_wh=total_imp,
        export_wh=exp.sum(axis=0),
        bought_wh=out["bought"],
        sold_wh=out["sold"],
        spill_wh=out["spill"],
        shortfall_wh=out["short"],
        co2_supplier_g=co2_supplier,
        co2_market_g=co2_market,
        month_saving_before=month_before,
        month_saving_after=month_after,
        month_matched_wh=month_matched,
        fund_pence=fund,
        operator_pence=operator,
        matched_wh=int(tq.sum()),
        trades=int(len(tq)),
        members=members,
    )
