"""Settlement maths of the local energy market: pure, exact, to the penny.

Numbers in, numbers out (no Django, no clock). Units:

* energy integer Wh; prices integer ticks of 1/1000 p/kWh (see clearing);
* Wh x tick = 1 micro-penny, so every exact value is an integer number of
  micro-pence (``MICRO`` per penny) and nothing is ever a float;
* results are whole pence (ints); the app turns them into Decimal GBP.

A period's settlement compares each member's traded position with what
their meter measured (seed 001 §3.5.1, with the community's supplier as the
balancing party and its backstop prices in place of "average price +- n%"):

* bought locally but imported less (``spill``): the supplier takes the
  unused energy back at the export price;
* imported more than bought (``import``): the rest at the import price;
* exported more than sold (``export``): paid the export price;
* sold but exported less (``shortfall``): the missing energy is bought from
  the supplier at the import price.

Tolerance band (seed 001 §3.5.1, a rule option ``tolerance_bp``): a
deviation up to that share of the member's traded volume settles at the
member's local price of the period (the volume-weighted price of its trades
on that side) instead of the backstop; the rest at the backstop. Lines
``import_band``, ``spill_band``, ``export_band``, ``shortfall_band``;
0 % (the default) keeps every deviation at the backstop.

Members without trades simply import/export at the supplier's prices.

Every money movement is a ``Transfer`` between two accounts, so the app
can post each one as a balanced double-entry journal line. Local trades go
through the ``market`` account (buyer -> market -> seller); any congestion
rent left there (buyers and sellers in different price areas) goes to the
``fund``, so the market account always nets to zero.

Rounding (issue 14 item 9): every line is rounded to the penny on its own,
half away from zero, so identical positions are always charged identically
(three members importing 517 Wh each pay the same). Trades: each side of a
trade is rounded on its own and the market's difference is the rent (never
negative: a buyer's price is never below the seller's). Supplier lines: the
supplier account is kept at the exact total rounded once; the few pence
between that and the sum of the members' rounded lines are posted between
the supplier and the ``rounding`` account, so the books stay exact and
every period's accounts still net to zero.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

MICRO = 1_000_000  # micro-pence per penny
BP = 10_000  # basis points in 1

MARKET = "market"
SUPPLIER = "supplier"
FUND = "fund"
OPERATOR = "operator"
ROUNDING = "rounding"
BAND_KINDS = ("import_band", "spill_band", "export_band", "shortfall_band")


class SettlementError(ValueError):
    """Bad input to settlement (a message a person understands)."""


def member_account(member_id: int) -> str:
    return f"member:{member_id}"


def round_half_up(micro: int) -> int:
    """Micro-pence -> pence, halves away from zero."""
    q, r = divmod(abs(micro), MICRO)
    if 2 * r >= MICRO:
        q += 1
    return q if micro >= 0 else -q


def allocate_pennies(exact_micro: Sequence[int], total_pence: int | None = None) -> list[int]:
    """Largest-remainder rounding of exact micro-pence values to pence.

    The result sums to ``total_pence`` (default: the exact total rounded half
    up). Each value is first floored; the missing pence go to the largest
    remainders, ties to the earlier position. Works for negative values.
    """
    vals = [int(v) for v in exact_micro]
    if total_pence is None:
        total_pence = round_half_up(sum(vals))
    floors = [v // MICRO for v in vals]
    rems = [v - f * MICRO for v, f in zip(vals, floors, strict=False)]
    left = total_pence - sum(floors)
    if left < 0 or left > len(vals):
        raise SettlementError("Cannot allocate pennies: the total does not match the parts.")
    order = sorted(range(len(vals)), key=lambda i: (-rems[i], i))
    for i in order[:left]:
        floors[i] += 1
    return floors


def split_pennies(total_pence: int, weights_bp: Sequence[int]) -> list[int]:
    """Split whole pence by basis-point weights (summing to 10,000)."""
    if sum(weights_bp) != BP:
        raise SettlementError("Shares must add up to 100%.")
    return allocate_pennies([total_pence * MICRO * w // BP for w in weights_bp], total_pence)


# --------------------------------------------------------------------------
# inputs


@dataclass(frozen=True)
class Trade:
    trade_id: int
    buyer: int  # member id
    seller: int
    qty_wh: int
    buyer_price: int  # ticks
    seller_price: int


@dataclass(frozen=True)
class Meter:
    import_wh: int
    export_wh: int


@dataclass(frozen=True)
class Rules:
    """The rule version in force for the period (all integers).

    ``fee_fixed_micro``: per trade, charged to each side (micro-pence);
    ``fee_bp``: share of each side's trade value; ``fund_share_bp``: share of
    the fees that goes to the community fund (the rest to the operator);
    ``social_bp``: discount for fuel-poor members on what they pay for energy
    (local and supplier), paid by the community fund.
    """

    import_price: int  # supplier import tariff, ticks
    export_price: int  # supplier export (SEG) price, ticks
    fee_fixed_micro: int = 0
    fee_bp: int = 0
    fund_share_bp: int = 0
    social_bp: int = 0
    tolerance_bp: int = 0  # tolerance band, basis points of the traded volume

    def __post_init__(self):
        if self.export_price > self.import_price:
            raise SettlementError("The export price cannot be above the import price.")
        for name in ("fee_fixed_micro", "fee_bp", "fund_share_bp", "social_bp", "tolerance_bp"):
            if getattr(self, name) < 0:
                raise SettlementError(f"{name} cannot be negative.")
        if self.fund_share_bp > BP or self.social_bp > BP or self.fee_bp > BP or self.tolerance_bp > BP:
            raise SettlementError("A percentage cannot be above 100%.")


# --------------------------------------------------------------------------
# outputs


@dataclass(frozen=True)
class Transfer:
    """``amount_pence`` (> 0) moves from ``payer`` to ``payee``."""

    payer: str
    payee: str
    amount_pence: int
    kind: str  # local_buy | local_sell | rent | import | spill | export | shortfall | fee | fee_share | social
    member: int | None = None  # the member this line belongs to on a statement
    energy_wh: int = 0
    ref: int | None = None  # trade id for local lines


@dataclass
class MemberPosition:
    member: int
    bought_wh: int = 0
    sold_wh: int = 0
    import_wh: int = 0
    export_wh: int = 0
    import_from_supplier_wh: int = 0
    spill_wh: int = 0
    export_to_supplier_wh: int = 0
    shortfall_wh: int = 0
    band_wh: int = 0  # deviation settled at the local price (tolerance band)


@dataclass
class PeriodSettlement:
    status: str  # "settled" | "pending"
    transfers: list[Transfer] = field(default_factory=list)
    positions: dict[int, MemberPosition] = field(default_factory=dict)
    missing: list[int] = field(default_factory=list)
    message: str = ""

    def net_by_account(self) -> dict[str, int]:
        """Pence paid in (+) / out (-) per account; sums to zero."""
        net: dict[str, int] = defaultdict(int)
        for t in self.transfers:
            net[t.payer] -= t.amount_pence
            net[t.payee] += t.amount_pence
        return dict(net)

    def member_bill(self, member: int) -> int:
        """What the member pays (+) or receives (-) for the period, pence."""
        return -self.net_by_account().get(member_account(member), 0)


def _transfer(payer, payee, pence, kind, member=None, energy=0, ref=None):
    if pence == 0:
        return None
    if pence < 0:
        payer, payee, pence = payee, payer, -pence
    return Transfer(payer, payee, pence, kind, member, energy, ref)


# --------------------------------------------------------------------------
# one period


def settle_period(
    *,
    members: Iterable[int],
    trades: Sequence[Trade],
    meters: Mapping[int, Meter],
    rules: Rules,
    fuel_poor: Iterable[int] = (),
) -> PeriodSettlement:
    """Settle one delivery period.

    ``members``: every member taking part (with or without trades);
    ``meters``: the period's metered import/export per member. If a member
    with trades or in ``members`` has no reading, the period stays
    ``pending`` and nothing is settled (never settle on zeros).
    """
    members = sorted(set(members) | {t.buyer for t in trades} | {t.seller for t in trades})
    missing = [m for m in members if m not in meters]
    if missing:
        return PeriodSettlement(
            status="pending",
            missing=missing,
            message=f"Waiting for meter readings of {len(missing)} member(s).",
        )
    for m in members:
        r = meters[m]
        if r.import_wh < 0 or r.export_wh < 0:
            raise SettlementError(f"Member {m}: meter readings cannot be negative.")
    for t in trades:
        if t.qty_wh <= 0:
            raise SettlementError(f"Trade {t.trade_id}: quantity must be positive.")
        if t.buyer == t.seller:
            raise SettlementError(f"Trade {t.trade_id}: a member cannot trade with themself.")

    pos = {m: MemberPosition(m, import_wh=meters[m].import_wh, export_wh=meters[m].export_wh) for m in members}
    out: list[Transfer | None] = []
    trades = sorted(trades, key=lambda t: t.trade_id)

    # 1. local trades via the market account
    buy_exact = [t.qty_wh * t.buyer_price for t in trades]
    sell_exact = [t.qty_wh * t.seller_price for t in trades]
    buy_p = [round_half_up(x) for x in buy_exact]
    sell_p = [round_half_up(x) for x in sell_exact]
    for t, bp_, sp in zip(trades, buy_p, sell_p, strict=False):
        pos[t.buyer].bought_wh += t.qty_wh
        pos[t.seller].sold_wh += t.qty_wh
        out.append(_transfer(member_account(t.buyer), MARKET, bp_, "local_buy", t.buyer, t.qty_wh, t.trade_id))
        out.append(_transfer(MARKET, member_account(t.seller), sp, "local_sell", t.seller, t.qty_wh, t.trade_id))
    rent = sum(buy_p) - sum(sell_p)
    out.append(_transfer(MARKET, FUND, rent, "rent"))

    # 2. imbalance with the supplier at the backstop prices (seed 001 §3.5.1),
    #    the part within the tolerance band at the member's local price
    bought_value: dict[int, int] = defaultdict(int)
    sold_value: dict[int, int] = defaultdict(int)
    for t, be, se in zip(trades, buy_exact, sell_exact, strict=True):
        bought_value[t.buyer] += be
        sold_value[t.seller] += se
    sup_lines: list[tuple[int, str, int, int]] = []  # member, kind, wh, signed exact (+ member pays)
    for m in members:
        p = pos[m]
        p.import_from_supplier_wh = max(p.import_wh - p.bought_wh, 0)
        p.spill_wh = max(p.bought_wh - p.import_wh, 0)
        p.export_to_supplier_wh = max(p.export_wh - p.sold_wh, 0)
        p.shortfall_wh = max(p.sold_wh - p.export_wh, 0)
        tol_b = p.bought_wh * rules.tolerance_bp // BP
        tol_s = p.sold_wh * rules.tolerance_bp // BP
        imp_b, spill_b = min(p.import_from_supplier_wh, tol_b), min(p.spill_wh, tol_b)
        exp_b, short_b = min(p.export_to_supplier_wh, tol_s), min(p.shortfall_wh, tol_s)
        p.band_wh = imp_b + spill_b + exp_b + short_b
        buy_local = lambda wh, m=m, p=p: wh * bought_value[m] // p.bought_wh if wh else 0  # noqa: E731
        sell_local = lambda wh, m=m, p=p: wh * sold_value[m] // p.sold_wh if wh else 0  # noqa: E731
        sup_lines += [
            (m, "import", p.import_from_supplier_wh - imp_b, (p.import_from_supplier_wh - imp_b) * rules.import_price),
            (m, "spill", p.spill_wh - spill_b, -(p.spill_wh - spill_b) * rules.export_price),
            (m, "export", p.export_to_supplier_wh - exp_b, -(p.export_to_supplier_wh - exp_b) * rules.export_price),
            (m, "shortfall", p.shortfall_wh - short_b, (p.shortfall_wh - short_b) * rules.import_price),
            (m, "import_band", imp_b, buy_local(imp_b)),
            (m, "spill_band", spill_b, -buy_local(spill_b)),
            (m, "export_band", exp_b, -sell_local(exp_b)),
            (m, "shortfall_band", short_b, sell_local(short_b)),
        ]
    sup_lines = [x for x in sup_lines if x[2]]
    # each line rounded on its own: identical positions pay identical pence
    member_pence = 0
    for m, kind, wh, ex in sup_lines:
        pence = round_half_up(ex)
        member_pence += pence
        out.append(_transfer(member_account(m), SUPPLIER, pence, kind, m, wh))
    # the supplier keeps the exact total rounded once; the difference to rounding
    out.append(_transfer(SUPPLIER, ROUNDING, member_pence - round_half_up(sum(x[3] for x in sup_lines)), "rounding"))

    # 3. fees on local trades: each side pays fixed + bp of its trade value
    fee_exact: dict[int, int] = defaultdict(int)
    if rules.fee_fixed_micro or rules.fee_bp:
        for t, be, se in zip(trades, buy_exact, sell_exact, strict=False):
            fee_exact[t.buyer] += rules.fee_fixed_micro + be * rules.fee_bp // BP
            fee_exact[t.seller] += rules.fee_fixed_micro + se * rules.fee_bp // BP
    fee_members = sorted(fee_exact)
    fee_p = [round_half_up(fee_exact[m]) for m in fee_members]
    for m, pence in zip(fee_members, fee_p, strict=False):
        out.append(_transfer(member_account(m), OPERATOR, pence, "fee", m))
    fund_cut, _ = split_pennies(sum(fee_p), [rules.fund_share_bp, BP - rules.fund_share_bp])
    out.append(_transfer(OPERATOR, FUND, fund_cut, "fee_share"))

    # 4. social tariff: a discount on energy paid for, from the community fund
    poor = sorted(set(fuel_poor) & set(members))
    if rules.social_bp and poor:
        spent: dict[int, int] = defaultdict(int)
        for t, bp_ in zip(trades, buy_p, strict=False):
            spent[t.buyer] += bp_ * MICRO
        for m, kind, _wh, ex in sup_lines:
            if kind in ("import", "shortfall", "import_band", "shortfall_band"):
                spent[m] += ex
        disc = [round_half_up(spent[m] * rules.social_bp // BP) for m in poor]
        for m, pence in zip(poor, disc, strict=False):
            out.append(_transfer(FUND, member_account(m), pence, "social", m))

    transfers = [t for t in out if t is not None]
    return PeriodSettlement(status="settled", transfers=transfers, positions=pos, message="Settled.")


# --------------------------------------------------------------------------
# statements


@dataclass
class StatementTotals:
    bought_local_wh: int = 0
    sold_local_wh: int = 0
    from_supplier_wh: int = 0
    to_supplier_wh: int = 0
    local_cost_pence: int = 0
    local_income_pence: int = 0
    supplier_cost_pence: int = 0
    supplier_income_pence: int = 0
    fees_pence: int = 0
    discount_pence: int = 0
    membership_fee_pence: int = 0
    supplier_only_pence: int = 0  # what the same meter data would cost with the supplier alone
    band_wh: int = 0  # deviations settled at the local price (tolerance band)
    band_pence: int = 0  # their net cost (+) / credit (-), included in the supplier figures

    @property
    def total_pence(self) -> int:
        return (
            self.local_cost_pence
            - self.local_income_pence
            + self.supplier_cost_pence
            - self.supplier_income_pence
            + self.fees_pence
            - self.discount_pence
            + self.membership_fee_pence
        )

    @property
    def savings_pence(self) -> int:
        return self.supplier_only_pence - self.total_pence


def supplier_only_exact(meter: Meter, rules: Rules) -> int:
    """Micro-pence the member would pay (+) with no local market."""
    return meter.import_wh * rules.import_price - meter.export_wh * rules.export_price


def statement_totals(
    member: int,
    transfers: Iterable[Transfer],
    *,
    supplier_only_micro: int,
    membership_fee_pence: int = 0,
) -> StatementTotals:
    """Add up a member's transfers over a month (already in pence)."""
    s = StatementTotals(membership_fee_pence=membership_fee_pence)
    acct = member_account(member)
    for t in transfers:
        if t.member != member:
            continue
        pays = t.payer == acct
        amt = t.amount_pence
        if t.kind == "local_buy":
            s.bought_local_wh += t.energy_wh
            s.local_cost_pence += amt
        elif t.kind == "local_sell":
            s.sold_local_wh += t.energy_wh
            s.local_income_pence += amt
        elif t.kind in ("import", "shortfall", "import_band", "shortfall_band"):
            s.from_supplier_wh += t.energy_wh
            s.supplier_cost_pence += amt if pays else -amt
            if t.kind in BAND_KINDS:
                s.band_wh += t.energy_wh
                s.band_pence += amt if pays else -amt
        elif t.kind in ("export", "spill", "export_band", "spill_band"):
            s.to_supplier_wh += t.energy_wh
            s.supplier_income_pence += amt if not pays else -amt
            if t.kind in BAND_KINDS:
                s.band_wh += t.energy_wh
                s.band_pence -= amt if not pays else -amt
        elif t.kind == "fee":
            s.fees_pence += amt
        elif t.kind == "social":
            s.discount_pence += amt
    s.supplier_only_pence = round_half_up(supplier_only_micro)
    return s


def pence_to_gbp(pence: int) -> Decimal:
    return (Decimal(pence) / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


# --------------------------------------------------------------------------
# many periods at once (numpy): the same numbers as settle_period


def _allocate_groups(exact: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """Largest-remainder pennies per group, items in their given order.

    Same result as ``allocate_pennies`` applied to each group separately
    (items of a group in array order; ties to the earlier item).
    """
    import numpy as np

    exact = np.asarray(exact, dtype=np.int64)
    if len(exact) == 0:
        return np.zeros(0, dtype=np.int64)
    floors = exact // MICRO
    rems = exact - floors * MICRO
    sums = np.zeros(n_groups, dtype=np.int64)
    np.add.at(sums, group, exact)
    q, r = np.divmod(np.abs(sums), MICRO)
    totals = np.where(sums >= 0, q + (2 * r >= MICRO), -(q + (2 * r >= MICRO)))
    fsum = np.zeros(n_groups, dtype=np.int64)
    np.add.at(fsum, group, floors)
    left = totals - fsum
    pos = np.arange(len(exact))
    order = np.lexsort((pos, -rems, group))
    g_sorted = group[order]
    starts = np.searchsorted(g_sorted, np.arange(n_groups), side="left")
    rank = np.empty(len(exact), dtype=np.int64)
    rank[order] = np.arange(len(exact)) - starts[g_sorted]
    return floors + (rank < left[group])


def _rhu(x: np.ndarray) -> np.ndarray:
    """``round_half_up`` element-wise (micro-pence -> pence, halves away from zero)."""
    x = np.asarray(x, dtype=np.int64)
    q, r = np.divmod(np.abs(x), MICRO)
    q = q + (2 * r >= MICRO)
    return np.where(x >= 0, q, -q)


@dataclass
class BatchResult:
    """Per (period, member) pennies; member pays positive amounts."""

    local_cost: np.ndarray
    local_income: np.ndarray
    supplier_cost: np.ndarray
    supplier_income: np.ndarray
    fees: np.ndarray
    discount: np.ndarray
    bought_wh: np.ndarray
    sold_wh: np.ndarray
    from_supplier_wh: np.ndarray
    to_supplier_wh: np.ndarray
    rent: np.ndarray  # per period
    fund_cut: np.ndarray  # per period
    rounding: np.ndarray | None = None  # per period: supplier -> rounding account, pence
    band_wh: np.ndarray | None = None  # P x M, deviations settled at the local price
    band_pence: np.ndarray | None = None  # P x M, their net cost (+) / credit (-), inside the supplier figures

    @property
    def member_net(self) -> np.ndarray:
        return (
            self.local_cost - self.local_income + self.supplier_cost - self.supplier_income + self.fees - self.discount
        )

    def account_nets(self, p: int) -> dict[str, int]:
        """The period's net per account, like PeriodSettlement.net_by_account() negated
        (debit positive: what each account pays)."""
        rounding = 0 if self.rounding is None else int(self.rounding[p])
        return {
            "supplier": -int(self.supplier_cost[p].sum() - self.supplier_income[p].sum()) + rounding,
            "operator": -int(self.fees[p].sum()) + int(self.fund_cut[p]),
            "fund": -int(self.rent[p]) - int(self.fund_cut[p]) + int(self.discount[p].sum()),
            "rounding": -rounding,
        }


def settle_batch(
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
    export_price: np.ndarray,
    fee_fixed_micro: np.ndarray,
    fee_bp: np.ndarray,
    fund_share_bp: np.ndarray,
    social_bp: np.ndarray,
    fuel_poor: np.ndarray,
    tolerance_bp: np.ndarray | None = None,
) -> BatchResult:
    """Settle P periods x M members at once (all readings present).

    ``import_wh``/``export_wh``: P x M; trades sorted by (period, trade id),
    members as indexes 0..M-1 in ascending member id; per-period rule arrays
    of length P; ``fuel_poor``: bool per member. Equal, penny for penny, to
    ``settle_period`` run period by period (tested).
    """
    import numpy as np

    P, M = import_wh.shape
    PM = P * M
    tp = np.asarray(trade_period, dtype=np.int64)
    tb = np.asarray(trade_buyer, dtype=np.int64)
    ts = np.asarray(trade_seller, dtype=np.int64)
    tq = np.asarray(trade_qty, dtype=np.int64)
    be = tq * np.asarray(trade_buyer_price, dtype=np.int64)
    se = tq * np.asarray(trade_seller_price, dtype=np.int64)

    # 1. local trades
    buy_p = _rhu(be)
    sell_p = _rhu(se)
    cell_b = tp * M + tb
    cell_s = tp * M + ts
    bought = np.bincount(cell_b, weights=tq, minlength=PM).astype(np.int64).reshape(P, M)
    sold = np.bincount(cell_s, weights=tq, minlength=PM).astype(np.int64).reshape(P, M)
    lc = np.zeros(PM, dtype=np.int64)
    np.add.at(lc, cell_b, buy_p)
    li = np.zeros(PM, dtype=np.int64)
    np.add.at(li, cell_s, sell_p)
    rent = np.zeros(P, dtype=np.int64)
    np.add.at(rent, tp, buy_p - sell_p)

    # 2. supplier imbalance, the part within the tolerance band at the local price
    imp = np.asarray(import_wh, dtype=np.int64)
    exp = np.asarray(export_wh, dtype=np.int64)
    vb = np.zeros(PM, dtype=np.int64)
    np.add.at(vb, cell_b, be)
    vs = np.zeros(PM, dtype=np.int64)
    np.add.at(vs, cell_s, se)
    vb, vs = vb.reshape(P, M), vs.reshape(P, M)
    tol = np.zeros(P, dtype=np.int64) if tolerance_bp is None else np.asarray(tolerance_bp, dtype=np.int64)
    dev = np.stack(
        (
            np.maximum(imp - bought, 0),
            np.maximum(bought - imp, 0),
            np.maximum(exp - sold, 0),
            np.maximum(sold - exp, 0),
        ),
        axis=2,
    )  # P x M x 4: import, spill, export, shortfall
    tol_b = bought * tol[:, None] // BP
    tol_s = sold * tol[:, None] // BP
    band = np.minimum(dev, np.stack((tol_b, tol_b, tol_s, tol_s), axis=2))
    kinds_wh = dev - band
    ip = np.asarray(import_price, dtype=np.int64)[:, None, None]
    ep = np.asarray(export_price, dtype=np.int64)[:, None, None]
    signed = kinds_wh * np.concatenate((ip, -ep, -ep, ip), axis=2)
    local_b = band[:, :, :2] * vb[:, :, None] // np.maximum(bought, 1)[:, :, None]  # 0 where nothing bought
    local_s = band[:, :, 2:] * vs[:, :, None] // np.maximum(sold, 1)[:, :, None]
    band_signed = np.concatenate((local_b, local_s), axis=2) * np.array([1, -1, -1, 1])
    band_pen = _rhu(band_signed)
    pen = _rhu(signed) + band_pen  # each line rounded on its own
    sc = pen[:, :, 0] + pen[:, :, 3]
    si = -(pen[:, :, 1] + pen[:, :, 2])
    exact_total = (signed + band_signed).reshape(P, M * 4).sum(axis=1)
    rounding = pen.reshape(P, M * 4).sum(axis=1) - _rhu(exact_total)
    kinds_wh = dev  # for the energy totals below (band included)

    # 3. fees: each side fixed + bp of its value; allocated over the period's trading members
    fixed = np.asarray(fee_fixed_micro, dtype=np.int64)
    fbp = np.asarray(fee_bp, dtype=np.int64)
    fees = np.zeros(PM, dtype=np.int64)
    charged = (fixed[tp] > 0) | (fbp[tp] > 0)
    if charged.any():
        fe = np.zeros(PM, dtype=np.int64)
        party = np.zeros(PM, dtype=bool)
        np.add.at(fe, cell_b[charged], fixed[tp][charged] + be[charged] * fbp[tp][charged] // BP)
        np.add.at(fe, cell_s[charged], fixed[tp][charged] + se[charged] * fbp[tp][charged] // BP)
        party[cell_b[charged]] = True
        party[cell_s[charged]] = True
        cells = np.flatnonzero(party)  # ascending: period, then member
        fees[cells] = _rhu(fe[cells])
    fees = fees.reshape(P, M)
    fee_total = fees.sum(axis=1)
    fund = np.asarray(fund_share_bp, dtype=np.int64)
    a = fee_total * MICRO * fund // BP
    b = fee_total * MICRO * (BP - fund) // BP
    fa, fb = a // MICRO, b // MICRO
    ra, rb = a - fa * MICRO, b - fb * MICRO
    left = fee_total - fa - fb
    fund_cut = fa + (left >= 2) + ((left == 1) & (ra >= rb))

    # 4. social tariff on what fuel-poor members pay for energy
    sbp = np.asarray(social_bp, dtype=np.int64)
    disc = np.zeros((P, M), dtype=np.int64)
    poor = np.flatnonzero(np.asarray(fuel_poor, dtype=bool))
    if len(poor) and (sbp > 0).any():
        spent = (
            lc.reshape(P, M) * MICRO + signed[:, :, 0] + signed[:, :, 3] + band_signed[:, :, 0] + band_signed[:, :, 3]
        )
        exact = spent[:, poor] * sbp[:, None] // BP
        disc[:, poor] = _rhu(exact)

    return BatchResult(
        local_cost=lc.reshape(P, M),
        local_income=li.reshape(P, M),
        supplier_cost=sc,
        supplier_income=si,
        fees=fees,
        discount=disc,
        bought_wh=bought,
        sold_wh=sold,
        from_supplier_wh=kinds_wh[:, :, 0] + kinds_wh[:, :, 3],
        to_supplier_wh=kinds_wh[:, :, 1] + kinds_wh[:, :, 2],
        rent=rent,
        fund_cut=fund_cut,
        rounding=rounding,
        band_wh=band.sum(axis=2),
        band_pence=band_pen.sum(axis=2),
    )


# --------------------------------------------------------------------------
# a period's inputs, kept with its run; its lines derived from them


# The figures of a settlement line, in the order of ``line_figures``: energy
# in Wh, money in pence signed from the member's side (positive = pays).
LINE_FIELDS = (
    "bought_wh",
    "sold_wh",
    "import_wh",
    "export_wh",
    "from_supplier_wh",
    "to_supplier_wh",
    "local_cost",
    "local_income",
    "supplier_cost",
    "supplier_income",
    "fees",
    "discount",
    "supplier_only",
    "band_wh",
    "band_cost",
)
MONEY_FIELDS = frozenset(
    ("local_cost", "local_income", "supplier_cost", "supplier_income", "fees", "discount", "supplier_only", "band_cost")
)


def line_figures(
    res: BatchResult, import_wh: np.ndarray, export_wh: np.ndarray, import_price: np.ndarray, export_price: np.ndarray
) -> dict[str, np.ndarray]:
    """Every line's figures (P x M int64 each, keys ``LINE_FIELDS``) from a batch
    result and its meter data; prices per period in ticks."""
    imp = np.asarray(import_wh, dtype=np.int64)
    exp = np.asarray(export_wh, dtype=np.int64)
    ip = np.asarray(import_price, dtype=np.int64)[:, None]
    ep = np.asarray(export_price, dtype=np.int64)[:, None]
    return {
        "bought_wh": res.bought_wh,
        "sold_wh": res.sold_wh,
        "import_wh": imp,
        "export_wh": exp,
        "from_supplier_wh": res.from_supplier_wh,
        "to_supplier_wh": res.to_supplier_wh,
        "local_cost": res.local_cost,
        "local_income": res.local_income,
        "supplier_cost": res.supplier_cost,
        "supplier_income": res.supplier_income,
        "fees": res.fees,
        "discount": res.discount,
        "supplier_only": _rhu(imp * ip - exp * ep),
        "band_wh": res.band_wh,
        "band_cost": res.band_pence,
    }


@dataclass(frozen=True)
class PeriodInputs:
    """What one settled period depended on, enough to settle it again exactly.

    ``members``: participant ids ascending; ``fuel_poor``, ``import_wh``,
    ``export_wh``: one value per member; ``trades``: int64 rows (trade id,
    buyer id, seller id, Wh, buyer price, seller price in ticks) in trade id
    order; ``rules``: the rule version's integers."""

    members: np.ndarray
    fuel_poor: np.ndarray
    import_wh: np.ndarray
    export_wh: np.ndarray
    trades: np.ndarray
    rules: Rules

    def pack(self) -> bytes:
        """Compact bytes (zlib over little-endian int64 arrays): ~6 kB for 1,000 members."""
        import zlib

        r = self.rules
        head = np.array(
            [
                1,  # format version
                len(self.members),
                len(self.trades),
                r.import_price,
                r.export_price,
                r.fee_fixed_micro,
                r.fee_bp,
                r.fund_share_bp,
                r.social_bp,
                r.tolerance_bp,
            ],
            dtype="<i8",
        )
        body = np.concatenate(
            [
                head,
                np.asarray(self.members, dtype="<i8"),
                np.asarray(self.fuel_poor, dtype="<i8"),
                np.asarray(self.import_wh, dtype="<i8"),
                np.asarray(self.export_wh, dtype="<i8"),
                np.asarray(self.trades, dtype="<i8").reshape(-1),
            ]
        )
        return zlib.compress(body.tobytes(), 1)

    @classmethod
    def unpack(cls, data: bytes) -> PeriodInputs:
        import zlib

        try:
            v = np.frombuffer(zlib.decompress(bytes(data)), dtype="<i8").astype(np.int64)
            if v[0] != 1:
                raise ValueError
            m, t = int(v[1]), int(v[2])
            rules = Rules(*(int(x) for x in v[3:10]))
            o = 10
            members, fp, imp, exp = (v[o + i * m : o + (i + 1) * m] for i in range(4))
            trades = v[o + 4 * m : o + 4 * m + 6 * t].reshape(t, 6)
        except (ValueError, IndexError, TypeError, zlib.error) as e:
            raise SettlementError("A settled period's stored inputs are unreadable.") from e
        return cls(members, fp.astype(bool), imp, exp, trades, rules)


def settle_inputs(inputs: Sequence[PeriodInputs], only_member: int | None = None) -> tuple[BatchResult, dict]:
    """Settle stored periods again (``settle_batch`` on one period each, all at
    once when they share their members): returns the result and its
    ``line_figures``, P x M with members in ``inputs[0].members`` order.

    ``only_member``: one member's figures only (P x 1), computed from its own
    meter data and trades. Every line figure is the member's own rounding
    (issue 14 item 9), so the other members do not change it; the other side
    of each of its trades stands in a second column that is then dropped."""
    P = len(inputs)
    if not P:
        empty = np.zeros((0, 0 if only_member is None else 1), dtype=np.int64)
        return None, {k: empty for k in LINE_FIELDS}  # type: ignore[return-value]
    rules = [x.rules for x in inputs]
    if only_member is None:
        members = inputs[0].members
        if any(len(x.members) != len(members) or (x.members != members).any() for x in inputs):
            raise SettlementError("Periods with different members are settled one group at a time.")
        imp = np.stack([x.import_wh for x in inputs])
        exp = np.stack([x.export_wh for x in inputs])
        fuel_poor = inputs[0].fuel_poor
        col = {int(m): i for i, m in enumerate(members)}
        tr = [(k, row) for k, x in enumerate(inputs) for row in x.trades.tolist()]
        buyer = [col[r[1]] for _, r in tr]
        seller = [col[r[2]] for _, r in tr]
    else:
        imp = np.zeros((P, 2), dtype=np.int64)
        exp = np.zeros((P, 2), dtype=np.int64)
        fp = False
        tr = []
        for k, x in enumerate(inputs):
            hit = np.flatnonzero(x.members == only_member)
            if len(hit):
                imp[k, 0], exp[k, 0] = x.import_wh[hit[0]], x.export_wh[hit[0]]
                fp = bool(x.fuel_poor[hit[0]])
            tr += [(k, r) for r in x.trades.tolist() if only_member in (r[1], r[2])]
        fuel_poor = np.array([fp, False])
        buyer = [0 if r[1] == only_member else 1 for _, r in tr]
        seller = [0 if r[2] == only_member else 1 for _, r in tr]
    t = np.array([r for _, r in tr], dtype=np.int64).reshape(-1, 6)
    price = {f: np.array([getattr(r, f) for r in rules], dtype=np.int64) for f in Rules.__dataclass_fields__}
    res = settle_batch(
        import_wh=imp,
        export_wh=exp,
        trade_period=np.array([k for k, _ in tr], dtype=np.int64),
        trade_buyer=np.array(buyer, dtype=np.int64),
        trade_seller=np.array(seller, dtype=np.int64),
        trade_qty=t[:, 3],
        trade_buyer_price=t[:, 4],
        trade_seller_price=t[:, 5],
        fuel_poor=fuel_poor,
        **price,
    )
    figs = line_figures(res, imp, exp, price["import_price"], price["export_price"])
    if only_member is not None:
        figs = {k: v[:, :1] for k, v in figs.items()}
    return res, figs
