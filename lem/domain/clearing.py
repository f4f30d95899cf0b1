"""Clearing engine of the local energy market: numbers in, numbers out.

No Django, no clock, no database. One call clears ONE delivery period of a
frozen order book.

Units (integers everywhere, so ties are exact and results reproducible):

* energy: Wh (int64)
* price: "ticks" of 1/1000 p/kWh (int64); ``PRICE_SCALE`` converts Decimal
  p/kWh <-> ticks. Wh x tick = 1e-6 pence ("micro-pence"), so trade values
  are exact integers too (see ``lem.domain.settlement``).
* submission time: any int64 that orders submissions (microseconds since the
  epoch in the app); ties on price are broken by it, then by order id.

Mechanisms
----------
* ``uniform``  -- uniform-price double auction (pay-as-clear). Volume is
  welfare-maximal; among welfare-maximal volumes the largest is chosen, so a
  bid and an offer at exactly the same price at the crossing point DO trade
  (pymarket's Huang returns no trade there). The price is the midpoint of the
  interval of market-clearing prices (every accepted order is willing, every
  rejected unit is not).
* ``pay_as_bid`` -- same accepted volume; each trade is priced at the
  buyer's limit price (the convention of gsy-e's two-sided pay-as-bid), so
  money still balances trade by trade.
* ``club`` -- Energy Local style: the period's local generation (offers) is
  shared pro-rata among the members consuming (bids) at the match tariff the
  members agreed, whatever the limit prices; largest-remainder to the Wh.
  Club matching shares within the whole club: it has no preference round
  and does not split at network limits (a club sits behind one substation).

Preference round (before the mechanism, like Enosi's nominated round):
bids that nominate up to three neighbours are first matched with those
neighbours' offers, offers that nominate recipients (gifts, price 0) are
first matched with those recipients' bids, and bids with a CO2 cap are
matched only with offers at or under the cap; these trades are priced at
the offer's limit (pay-as-offer; a gift is free). What a CO2-capped bid does
not get in this round is left to the supplier: it never takes unknown energy.

Network (seed 003 constraint blocks, seed 001 §4.2 bridge capacities): a
radial tree of nodes (substation -> feeders ...). Every non-root node may
limit the net energy its subtree imports from / exports to its parent in the
period. The clearing first sweeps the whole book (fast path); if the result
respects every limit, that is the answer. Otherwise a linear programme
(HiGHS dual simplex, via scipy) maximises welfare subject to the limits. The
market then splits into price areas at the binding limits; each area gets its
own clearing price and the result lists which limits bound. Buyers pay their
area's price, sellers receive theirs; the difference on cross-area trades is
the congestion rent (``ClearingResult.congestion_rent``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

PRICE_SCALE = 1000  # ticks per p/kWh
UNLIMITED = -1  # a node limit of -1 means "no limit"
MECHANISMS = ("uniform", "pay_as_bid", "club")


class ClearingError(ValueError):
    """Bad input to the clearing engine (a message a person understands)."""


def price_to_ticks(price_p_per_kwh: Decimal | int | str) -> int:
    d = Decimal(price_p_per_kwh) * PRICE_SCALE
    if d != d.to_integral_value():
        raise ClearingError(f"Price {price_p_per_kwh} p/kWh has more than 3 decimal places.")
    return int(d)


def ticks_to_price(ticks: int) -> Decimal:
    return (Decimal(int(ticks)) / PRICE_SCALE).quantize(Decimal("0.001"))


# --------------------------------------------------------------------------
# inputs


@dataclass(frozen=True)
class Book:
    """A frozen order book for one period, as parallel numpy arrays.

    ``order_id``: int64 unique; ``is_bid``: True = buy, False = sell;
    ``qty_wh`` > 0; ``price``: limit in ticks; ``seq``: submission time;
    ``node``: index into ``Network`` (0 when there is no network).
    Optional preference columns: ``owner`` (participant id, -1 unknown),
    ``nominees`` (n x 3 participant ids, -1 = empty), ``max_co2`` (bids;
    g/kWh cap, -1 = none) and ``co2`` (offers; g/kWh of the source).
    """

    order_id: np.ndarray
    is_bid: np.ndarray
    qty_wh: np.ndarray
    price: np.ndarray
    seq: np.ndarray
    node: np.ndarray
    owner: np.ndarray | None = None
    nominees: np.ndarray | None = None
    max_co2: np.ndarray | None = None
    co2: np.ndarray | None = None

    @classmethod
    def from_arrays(
        cls,
        *,
        order_id,
        is_bid,
        qty_wh,
        price,
        seq=None,
        node=None,
        owner=None,
        nominees=None,
        max_co2=None,
        co2=None,
    ) -> Book:
        n = len(qty_wh)
        oid = np.asarray(order_id, dtype=np.int64)
        book = cls(
            order_id=oid,
            is_bid=np.asarray(is_bid, dtype=bool),
            qty_wh=np.asarray(qty_wh, dtype=np.int64),
            price=np.asarray(price, dtype=np.int64),
            seq=np.asarray(oid if seq is None else seq, dtype=np.int64),
            node=np.zeros(n, dtype=np.int64) if node is None else np.asarray(node, dtype=np.int64),
            owner=None if owner is None else np.asarray(owner, dtype=np.int64),
            nominees=None if nominees is None else np.asarray(nominees, dtype=np.int64).reshape(n, 3),
            max_co2=None if max_co2 is None else np.asarray(max_co2, dtype=np.int64),
            co2=None if co2 is None else np.asarray(co2, dtype=np.int64),
        )
        book.validate()
        return book

    def __len__(self) -> int:
        return len(self.qty_wh)

    def validate(self) -> None:
        n = len(self.qty_wh)
        for name in ("order_id", "is_bid", "price", "seq", "node"):
            if len(getattr(self, name)) != n:
                raise ClearingError(f"Order book column {name} has the wrong length.")
        if n and self.qty_wh.min() <= 0:
            raise ClearingError("Every order needs a positive quantity in Wh.")
        if n and len(np.unique(self.order_id)) != n:
            raise ClearingError("Order ids must be unique within a book.")


@dataclass(frozen=True)
class Network:
    """Radial network: ``parent[i]`` < i (root has parent -1).

    ``import_limit_wh[i]`` / ``export_limit_wh[i]``: the most energy the
    subtree under node i may take from / give to its parent in one period
    (-1 = unlimited). Limits of the root are ignored (the market is balanced).
    """

    names: tuple[str, ...]
    parent: np.ndarray
    import_limit_wh: np.ndarray
    export_limit_wh: np.ndarray

    @classmethod
    def build(cls, nodes: list[tuple[str, int, int, int]]) -> Network:
        """``nodes``: (name, parent index, import limit Wh, export limit Wh)."""
        parent = np.array([p for _, p, _, _ in nodes], dtype=np.int64)
        for i, p in enumerate(parent):
            if (i == 0) != (p == -1) or p >= i:
                raise ClearingError("Network nodes must be listed parents first, with exactly one root.")
        return cls(
            names=tuple(name for name, _, _, _ in nodes),
            parent=parent,
            import_limit_wh=np.array([n[2] for n in nodes], dtype=np.int64),
            export_limit_wh=np.array([n[3] for n in nodes], dtype=np.int64),
        )

    @classmethod
    def single(cls) -> Network:
        return cls.build([("market", -1, UNLIMITED, UNLIMITED)])

    def __len__(self) -> int:
        return len(self.parent)

    def subtree_sums(self, per_node: np.ndarray) -> np.ndarray:
        """Sum of ``per_node`` over each node's subtree (children after parents)."""
        s = np.array(per_node, dtype=np.int64, copy=True)
        for i in range(len(self.parent) - 1, 0, -1):
            s[self.parent[i]] += s[i]
        return s

    def ancestors(self, i: int) -> list[int]:
        out = [i]
        while self.parent[out[-1]] >= 0:
            out.append(int(self.parent[out[-1]]))
        return out


# --------------------------------------------------------------------------
# outputs


@dataclass(frozen=True)
class Binding:
    node: int
    name: str
    direction: str  # "import" | "export"
    limit_wh: int
    flow_wh: int

    def describe(self) -> str:
        verb = "import into" if self.direction == "import" else "export from"
        return f"{verb} {self.name} is at its limit of {self.limit_wh} Wh"


@dataclass
class ClearingResult:
    mechanism: str
    filled_wh: np.ndarray  # per order, aligned with the book
    trade_bid: np.ndarray  # index into the book
    trade_offer: np.ndarray
    trade_qty_wh: np.ndarray
    trade_buyer_price: np.ndarray  # ticks
    trade_seller_price: np.ndarray  # ticks
    trade_round: np.ndarray  # 0 = preference round, 1 = mechanism round
    node_price: np.ndarray  # ticks per network node, -1 where no price formed
    node_area: np.ndarray  # price area id per node
    binding: list[Binding] = field(default_factory=list)
    message: str = ""
    solver: str = "sweep"

    @property
    def volume_wh(self) -> int:
        return int(self.trade_qty_wh.sum())

    @property
    def price(self) -> int | None:
        """The clearing price (ticks) of the root's price area, if formed."""
        p = int(self.node_price[0]) if len(self.node_price) else -1
        return None if p < 0 else p

    @property
    def congestion_rent(self) -> int:
        """Micro-pence collected by the market on cross-area trades (>= 0)."""
        return int(((self.trade_buyer_price - self.trade_seller_price) * self.trade_qty_wh).sum())

    @property
    def split(self) -> bool:
        return bool(self.binding)


def _empty_trades():
    e = np.zeros(0, dtype=np.int64)
    return e, e.copy(), e.copy(), e.copy(), e.copy(), e.copy()


# --------------------------------------------------------------------------
# the sweep (one price area)


def _bid_order(book: Book, idx: np.ndarray) -> np.ndarray:
    """Indices of bids, best first: price desc, then earliest, then id."""
    return idx[np.lexsort((book.order_id[idx], book.seq[idx], -book.price[idx]))]


def _offer_order(book: Book, idx: np.ndarray) -> np.ndarray:
    return idx[np.lexsort((book.order_id[idx], book.seq[idx], book.price[idx]))]


@dataclass
class _Sweep:
    bids: np.ndarray  # book indices, priority order
    offers: np.ndarray
    bid_fill: np.ndarray  # aligned with bids
    offer_fill: np.ndarray
    volume: int
    lower: int | None  # interval of clearing prices (ticks), None = unbounded
    upper: int | None


def _sweep(
    bid_idx: np.ndarray,
    bid_price: np.ndarray,
    bid_qty: np.ndarray,
    offer_idx: np.ndarray,
    offer_price: np.ndarray,
    offer_qty: np.ndarray,
) -> _Sweep:
    """Welfare-maximal, volume-maximal matching of two sorted step curves.

    Bids sorted by priority (price desc), offers by priority (price asc).
    A unit q of the bid curve is tradable iff the offer curve has >= q units
    priced at or below that bid's price; the largest tradable q is
    max_i min(CB_i, S(p_i)) where S is the cumulative offer quantity.
    """
    nb, no = len(bid_idx), len(offer_idx)
    if nb == 0 or no == 0:
        return _Sweep(bid_idx, offer_idx, np.zeros(nb, np.int64), np.zeros(no, np.int64), 0, None, None)
    cb = np.cumsum(bid_qty)
    co = np.cumsum(offer_qty)
    k = np.searchsorted(offer_price, bid_price, side="right")  # offers priced <= bid
    s = np.where(k > 0, co[np.maximum(k - 1, 0)], 0)
    volume = int(np.minimum(cb, s).max())
    bid_fill = np.clip(volume - (cb - bid_qty), 0, bid_qty)
    offer_fill = np.clip(volume - (co - offer_qty), 0, offer_qty)
    lower, upper = _interval_sorted(bid_price, offer_price, cb, co, volume)
    return _Sweep(bid_idx, offer_idx, bid_fill, offer_fill, volume, lower, upper)


def _interval_sorted(bid_price, offer_price, cb, co, volume):
    """Market-clearing price interval after a sweep of ``volume`` units."""
    lo = []
    hi = []
    if volume > 0:
        kb = int(np.searchsorted(cb, volume, side="left"))
        ko = int(np.searchsorted(co, volume, side="left"))
        hi.append(int(bid_price[kb]))  # last accepted bid
        lo.append(int(offer_price[ko]))  # last accepted offer
    nb_next = int(np.searchsorted(cb, volume + 1, side="left"))
    no_next = int(np.searchsorted(co, volume + 1, side="left"))
    if nb_next < len(cb):
        lo.append(int(bid_price[nb_next]))  # first rejected bid unit
    if no_next < len(co):
        hi.append(int(offer_price[no_next]))  # first rejected offer unit
    return (max(lo) if lo else None), (min(hi) if hi else None)


def _pick_price(lower: int | None, upper: int | None) -> int:
    """Midpoint of the clearing interval; a bounded side alone if only one."""
    if lower is None and upper is None:
        return -1
    if lower is None:
        return int(upper)
    if upper is None:
        return int(lower)
    return (int(lower) + int(upper)) // 2


def _pair(bids, bid_fill, offers, offer_fill):
    """Pair filled bids and offers in priority order: one trade per overlap
    of their cumulative intervals (at most len(bids) + len(offers) trades)."""
    mb = bid_fill > 0
    mo = offer_fill > 0
    bids, bid_fill = bids[mb], bid_fill[mb]
    offers, offer_fill = offers[mo], offer_fill[mo]
    if len(bids) == 0 or len(offers) == 0:
        e = np.zeros(0, dtype=np.int64)
        return e, e.copy(), e.copy()
    cb = np.cumsum(bid_fill)
    co = np.cumsum(offer_fill)
    if cb[-1] != co[-1]:
        raise AssertionError("pairing needs equal volumes")
    ends = np.union1d(cb, co)
    starts = np.concatenate(([0], ends[:-1]))
    qty = ends - starts
    b = np.searchsorted(cb, ends, side="left")
    o = np.searchsorted(co, ends, side="left")
    return bids[b], offers[o], qty


# --------------------------------------------------------------------------
# preference round


def _preference_round(book: Book, network: Network, remaining: np.ndarray, net_export: np.ndarray):
    """Nominated neighbours, gifts and CO2 caps; pay-as-offer.

    Mutates ``remaining`` (Wh left per order) and ``net_export`` (per node,
    preference-round flows). Returns trades and a mask of bids that must
    not enter the mechanism round (CO2-capped bids).
    """
    n = len(book)
    exclude = np.zeros(n, dtype=bool)
    has_nom = book.nominees is not None and book.owner is not None
    has_cap = book.max_co2 is not None
    if not has_nom and not has_cap:
        return [], exclude
    co2 = book.co2 if book.co2 is not None else np.zeros(n, dtype=np.int64)
    offers_all = _offer_order(book, np.flatnonzero(~book.is_bid))
    bids_all = _bid_order(book, np.flatnonzero(book.is_bid))
    trades: list[tuple[int, int, int, int]] = []

    limits_imp = network.import_limit_wh
    limits_exp = network.export_limit_wh

    def headroom(src_node: int, dst_node: int) -> int:
        """Most energy that can still move from src to dst within limits."""
        if src_node == dst_node:
            return 1 << 62
        up = network.ancestors(src_node)
        down = network.ancestors(dst_node)
        common = set(up) & set(down)
        room = 1 << 62
        sub = network.subtree_sums(net_export)
        for v in up:
            if v in common:
                break
            if limits_exp[v] >= 0:
                room = min(room, int(limits_exp[v] - sub[v]))
        for v in down:
            if v in common:
                break
            if limits_imp[v] >= 0:
                room = min(room, int(limits_imp[v] + sub[v]))
        return max(room, 0)

    def match(b: int, o: int) -> None:
        if remaining[b] <= 0 or remaining[o] <= 0:
            return
        if book.price[o] > book.price[b]:
            return
        q = min(int(remaining[b]), int(remaining[o]))
        q = min(q, headroom(int(book.node[o]), int(book.node[b])))
        if q <= 0:
            return
        remaining[b] -= q
        remaining[o] -= q
        net_export[book.node[o]] += q
        net_export[book.node[b]] -= q
        trades.append((b, o, q, int(book.price[o])))

    if has_nom:
        owner = book.owner
        # offers nominating recipients (gifts first: they are the explicit wish)
        for o in offers_all:
            for who in book.nominees[o]:
                if who < 0:
                    continue
                for b in bids_all[owner[bids_all] == who]:
                    if has_cap and book.max_co2[b] >= 0 and co2[o] > book.max_co2[b]:
                        continue
                    match(int(b), int(o))
        # bids nominating sellers, earliest submission first
        for b in bids_all[np.argsort(book.seq[bids_all], kind="stable")]:
            for who in book.nominees[b]:
                if who < 0:
                    continue
                for o in offers_all[owner[offers_all] == who]:
                    if has_cap and book.max_co2[b] >= 0 and co2[o] > book.max_co2[b]:
                        continue
                    match(int(b), int(o))
    if has_cap:
        capped = bids_all[book.max_co2[bids_all] >= 0]
        exclude[capped] = True
        for b in capped[np.argsort(book.seq[capped], kind="stable")]:
            ok = offers_all[co2[offers_all] <= book.max_co2[b]]
            # cheapest first, then cleanest
            ok = ok[np.lexsort((co2[ok], book.price[ok]))]
            for o in ok:
                match(int(b), int(o))
    return trades, exclude


# --------------------------------------------------------------------------
# main entry point


def clear(
    book: Book,
    *,
    mechanism: str = "uniform",
    network: Network | None = None,
    match_tariff: int | None = None,
) -> ClearingResult:
    """Clear one period. Deterministic: the same book gives the same result."""
    if mechanism not in MECHANISMS:
        raise ClearingError(f"Unknown clearing mechanism {mechanism!r}.")
    network = network or Network.single()
    n = len(book)
    if n and (book.node.min() < 0 or book.node.max() >= len(network)):
        raise ClearingError("An order refers to a network node that does not exist.")
    remaining = book.qty_wh.copy()
    pref_net = np.zeros(len(network), dtype=np.int64)

    if mechanism == "club":
        if match_tariff is None:
            raise ClearingError("Club matching needs the members' match tariff.")
        return _clear_club(book, network, int(match_tariff))

    pref_trades, exclude = _preference_round(book, network, remaining, pref_net)
    live = (remaining > 0) & ~exclude
    bid_idx = _bid_order(book, np.flatnonzero(live & book.is_bid))
    offer_idx = _offer_order(book, np.flatnonzero(live & ~book.is_bid))

    sw = _sweep(
        bid_idx,
        book.price[bid_idx],
        remaining[bid_idx],
        offer_idx,
        book.price[offer_idx],
        remaining[offer_idx],
    )
    fill = np.zeros(n, dtype=np.int64)
    fill[sw.bids] = sw.bid_fill
    fill[sw.offers] = sw.offer_fill
    node_area = np.zeros(len(network), dtype=np.int64)
    solver = "sweep"
    binding: list[Binding] = []

    if len(network) > 1 and not _within_limits(book, network, fill, pref_net):
        fill, node_area, binding = _clear_constrained(book, network, remaining, live, pref_net)
        solver = "highs"
        node_price = _area_prices(book, network, fill, remaining, live, node_area)
    else:
        node_price = np.full(len(network), _pick_price(sw.lower, sw.upper) if sw.volume else -1, dtype=np.int64)

    # trades: pair inside each area first (local energy), then across areas
    tb, to, tq = _pair_by_area(book, network, fill, node_area)
    if mechanism == "uniform":
        buyer_p = node_price[book.node[tb]] if len(tb) else np.zeros(0, np.int64)
        seller_p = node_price[book.node[to]] if len(to) else np.zeros(0, np.int64)
    else:  # pay_as_bid: the buyer's limit, both sides
        buyer_p = book.price[tb]
        seller_p = buyer_p.copy()

    if pref_trades:
        pb, po, pq, pp = (np.array(c, dtype=np.int64) for c in zip(*pref_trades, strict=False))
        tb = np.concatenate((pb, tb))
        to = np.concatenate((po, to))
        tq = np.concatenate((pq, tq))
        buyer_p = np.concatenate((pp, buyer_p))
        seller_p = np.concatenate((pp, seller_p))
        rnd = np.concatenate((np.zeros(len(pb), np.int64), np.ones(len(tq) - len(pb), np.int64)))
        fill = fill + (book.qty_wh - remaining)
    else:
        rnd = np.ones(len(tq), dtype=np.int64)

    msg = _message(book, bid_idx, offer_idx, int(tq.sum()), binding)
    return ClearingResult(
        mechanism=mechanism,
        filled_wh=fill,
        trade_bid=tb.astype(np.int64),
        trade_offer=to.astype(np.int64),
        trade_qty_wh=tq.astype(np.int64),
        trade_buyer_price=np.asarray(buyer_p, dtype=np.int64),
        trade_seller_price=np.asarray(seller_p, dtype=np.int64),
        trade_round=rnd,
        node_price=node_price,
        node_area=node_area,
        binding=binding,
        message=msg,
        solver=solver,
    )


def _message(book, bid_idx, offer_idx, volume, binding) -> str:
    if volume > 0:
        if binding:
            return (
                "Cleared; the market split into price areas because " + "; ".join(b.describe() for b in binding) + "."
            )
        return "Cleared."
    if len(book) == 0:
        return "No trades: the order book is empty."
    if len(bid_idx) == 0:
        return "No trades: there are no bids (nobody wants to buy)."
    if len(offer_idx) == 0:
        return "No trades: there are no offers (nobody wants to sell)."
    best_bid = ticks_to_price(book.price[bid_idx[0]])
    best_offer = ticks_to_price(book.price[offer_idx[0]])
    if best_bid < best_offer:
        return f"No trades: the highest bid ({best_bid} p/kWh) is below the lowest offer ({best_offer} p/kWh)."
    return "No trades: the network limits leave no room for a trade."


def _node_net(book: Book, network: Network, fill: np.ndarray) -> np.ndarray:
    signed = np.where(book.is_bid, -fill, fill)
    return np.bincount(book.node, weights=signed, minlength=len(network)).astype(np.int64)


def _within_limits(book, network, fill, pref_net) -> bool:
    sub = network.subtree_sums(_node_net(book, network, fill) + pref_net)
    imp, exp = network.import_limit_wh, network.export_limit_wh
    ok_exp = (exp < 0) | (sub <= exp)
    ok_imp = (imp < 0) | (-sub <= imp)
    return bool(ok_exp[1:].all() and ok_imp[1:].all())


def _clear_constrained(book, network, remaining, live, pref_net):
    """Welfare-max with subtree limits by LP, then per-area priority sweep."""
    from scipy.optimize import linprog
    from scipy.sparse import csr_matrix

    idx = np.flatnonzero(live)
    # aggregate orders by (node, side, price): the LP only decides how much
    # of each price level trades; priority inside a level is by time.
    keys = np.stack((book.node[idx], book.is_bid[idx].astype(np.int64), book.price[idx]), axis=1)
    levels, inv = np.unique(keys, axis=0, return_inverse=True)
    inv = inv.ravel()
    cap = np.bincount(inv, weights=remaining[idx], minlength=len(levels)).astype(np.int64)
    lv_node, lv_bid, lv_price = levels[:, 0], levels[:, 1].astype(bool), levels[:, 2]
    sign = np.where(lv_bid, -1.0, 1.0)  # +export
    c = -(np.where(lv_bid, lv_price, -lv_price)).astype(float)  # minimise -welfare
    # subtree membership of each level's node
    nn = len(network)
    rows, cols, vals, lo_b, hi_b, limit_nodes = [], [], [], [], [], []
    in_subtree = np.zeros((nn, nn), dtype=bool)  # [u, v]: u lies under v
    for u in range(nn):
        in_subtree[u, network.ancestors(u)] = True
    pref_sub = network.subtree_sums(pref_net)
    r = 0
    for v in range(1, nn):
        imp, exp = network.import_limit_wh[v], network.export_limit_wh[v]
        if imp < 0 and exp < 0:
            continue
        j = np.flatnonzero(in_subtree[lv_node, v])
        rows += [r] * len(j)
        cols += list(j)
        vals += list(sign[j])
        lo_b.append(-np.inf if imp < 0 else float(-imp - pref_sub[v]))
        hi_b.append(np.inf if exp < 0 else float(exp - pref_sub[v]))
        limit_nodes.append(v)
        r += 1
    # two-sided rows -> two one-sided blocks
    A = csr_matrix((vals, (rows, cols)), shape=(r, len(levels)))
    hi_arr, lo_arr = np.array(hi_b), np.array(lo_b)
    fin_hi, fin_lo = np.isfinite(hi_arr), np.isfinite(lo_arr)
    from scipy.sparse import vstack

    A_ub = vstack([A[fin_hi], -A[fin_lo]]).tocsr()
    b_ub = np.concatenate([hi_arr[fin_hi], -lo_arr[fin_lo]])
    A_eq = csr_matrix(sign.reshape(1, -1))
    kw = dict(
        A_ub=A_ub if A_ub.shape[0] else None,
        b_ub=b_ub if A_ub.shape[0] else None,
        A_eq=A_eq,
        b_eq=[0.0],
        bounds=np.stack((np.zeros(len(levels)), cap.astype(float)), axis=1),
    )
    # Interior point + crossover ends on a vertex, and the constraint matrix
    # (subtree sums over a tree: an interval matrix) is totally unimodular,
    # so vertices are integral Wh. It is ~10x faster than simplex on 100k
    # price levels; dual simplex is the fallback if crossover leaves a
    # fractional point.
    res = linprog(c, method="highs-ipm", options={"presolve": False}, **kw)
    if res.status != 0 or np.abs(res.x - np.rint(res.x)).max(initial=0) > 1e-6:
        res = linprog(c, method="highs-ds", **kw)
    if res.status != 0:
        raise ClearingError(f"The network-constrained clearing failed: {res.message}")
    lv_fill = np.rint(res.x).astype(np.int64)
    lv_fill = np.clip(lv_fill, 0, cap)

    # level fills -> order fills by submission time inside each level
    fill = np.zeros(len(book), dtype=np.int64)
    order = idx[np.lexsort((book.order_id[idx], book.seq[idx], inv))]
    inv_sorted = inv[np.lexsort((book.order_id[idx], book.seq[idx], inv))]
    q = remaining[order]
    cum = np.cumsum(q)
    level_start = np.concatenate(([0], np.cumsum(cap)[:-1]))
    before = cum - q - level_start[inv_sorted]
    fill[order] = np.clip(lv_fill[inv_sorted] - before, 0, q)

    # binding limits -> structural price areas
    sub = network.subtree_sums(_node_net(book, network, fill) + pref_net)
    binding_nodes: dict[int, Binding] = {}
    for v in range(1, nn):
        imp, exp = int(network.import_limit_wh[v]), int(network.export_limit_wh[v])
        if exp >= 0 and sub[v] >= exp:
            binding_nodes[v] = Binding(v, network.names[v], "export", exp, int(sub[v]))
        elif imp >= 0 and -sub[v] >= imp:
            binding_nodes[v] = Binding(v, network.names[v], "import", imp, int(-sub[v]))
    area = _areas(network, set(binding_nodes))

    # inside each area: re-sweep with the boundary flows fixed, so exact
    # ties trade and earlier orders fill first; keep it only if it
    # respects every limit inside the area (else keep the LP's allocation).
    for a in np.unique(area):
        nodes_a = np.flatnonzero(area == a)
        in_a = np.isin(book.node, nodes_a) & live
        net_a = int(_node_net(book, network, np.where(in_a, fill, 0))[nodes_a].sum())
        trial = _sweep_fixed_net(book, remaining, in_a, net_a)
        if trial is None:
            continue
        cand = np.where(in_a, trial, fill)
        if _within_limits(book, network, cand, pref_net) and _welfare(book, cand) >= _welfare(book, fill):
            fill = cand

    # merge areas across a binding limit when one price can serve both
    area, bind = _merge_price_areas(book, network, fill, remaining, live, area, binding_nodes)
    return fill, area, bind


def _welfare(book, fill) -> int:
    return int((np.where(book.is_bid, book.price, -book.price) * fill).sum())


def _sweep_fixed_net(book, remaining, mask, net_export):
    """Sweep the orders in ``mask`` given a fixed net export of the area."""
    bids = _bid_order(book, np.flatnonzero(mask & book.is_bid))
    offers = _offer_order(book, np.flatnonzero(mask & ~book.is_bid))
    bp, bq = book.price[bids], remaining[bids]
    op, oq = book.price[offers], remaining[offers]
    big = np.iinfo(np.int64).max // 4
    if net_export > 0:  # the area exports: a virtual bid that must be served
        bids_v = np.concatenate(([-1], bids))
        bp = np.concatenate(([big], bp))
        bq = np.concatenate(([net_export], bq))
        sw = _sweep(bids_v, bp, bq, offers, op, oq)
        if sw.bid_fill[0] != net_export:
            return None
        out = np.zeros(len(book), dtype=np.int64)
        out[bids] = sw.bid_fill[1:]
        out[offers] = sw.offer_fill
        return out
    if net_export < 0:  # the area imports: a virtual offer
        offers_v = np.concatenate(([-1], offers))
        op = np.concatenate(([-big], op))
        oq = np.concatenate(([-net_export], oq))
        sw = _sweep(bids, bp, bq, offers_v, op, oq)
        if sw.offer_fill[0] != -net_export:
            return None
        out = np.zeros(len(book), dtype=np.int64)
        out[bids] = sw.bid_fill
        out[offers] = sw.offer_fill[1:]
        return out
    sw = _sweep(bids, bp, bq, offers, op, oq)
    out = np.zeros(len(book), dtype=np.int64)
    out[bids] = sw.bid_fill
    out[offers] = sw.offer_fill
    return out


def _areas(network: Network, cut: set[int]) -> np.ndarray:
    """Price area per node: a node joins its parent's area unless its limit binds."""
    area = np.zeros(len(network), dtype=np.int64)
    for v in range(1, len(network)):
        area[v] = v if v in cut else area[network.parent[v]]
    return area


def _interval(book, fill, remaining, mask):
    """Clearing-price interval of the orders in ``mask`` given their fills."""
    lo, hi = None, None
    bids = mask & book.is_bid
    offers = mask & ~book.is_bid
    acc_b = book.price[bids & (fill > 0)]
    rej_b = book.price[bids & (fill < remaining)]
    acc_o = book.price[offers & (fill > 0)]
    rej_o = book.price[offers & (fill < remaining)]
    lows = [x.max() for x in (acc_o, rej_b) if len(x)]
    highs = [x.min() for x in (acc_b, rej_o) if len(x)]
    if lows:
        lo = int(max(lows))
    if highs:
        hi = int(min(highs))
    return lo, hi


def _merge_price_areas(book, network, fill, remaining, live, area, binding_nodes):
    def iv(a_nodes):
        m = np.isin(book.node, a_nodes) & live
        return _interval(book, fill, remaining, m)

    changed = True
    while changed:
        changed = False
        for v in sorted(binding_nodes):
            a_child, a_parent = area[v], area[network.parent[v]]
            if a_child == a_parent:
                continue
            lo1, hi1 = iv(np.flatnonzero(area == a_child))
            lo2, hi2 = iv(np.flatnonzero(area == a_parent))
            lo = max([x for x in (lo1, lo2) if x is not None], default=None)
            hi = min([x for x in (hi1, hi2) if x is not None], default=None)
            if lo is None or hi is None or lo <= hi:
                area[area == a_child] = a_parent
                changed = True
    bind = [b for v, b in sorted(binding_nodes.items()) if area[v] != area[network.parent[v]]]
    return area, bind


def _area_prices(book, network, fill, remaining, live, area) -> np.ndarray:
    price = np.full(len(network), -1, dtype=np.int64)
    for a in np.unique(area):
        nodes_a = np.flatnonzero(area == a)
        m = np.isin(book.node, nodes_a) & live
        if not (fill[m] > 0).any():
            continue
        lo, hi = _interval(book, fill, remaining, m)
        price[nodes_a] = _pick_price(lo, hi)
    return price


def _pair_by_area(book, network, fill, node_area):
    """Pairs inside each price area first, then what crosses areas."""
    idx = np.flatnonzero(fill > 0)
    if len(idx) == 0:
        e = np.zeros(0, dtype=np.int64)
        return e, e.copy(), e.copy()
    if len(np.unique(node_area)) == 1:
        b = _bid_order(book, idx[book.is_bid[idx]])
        o = _offer_order(book, idx[~book.is_bid[idx]])
        return _pair(b, fill[b], o, fill[o])
    tb, to, tq = [], [], []
    left = fill.copy()
    for a in np.unique(node_area):
        m = idx[np.isin(book.node[idx], np.flatnonzero(node_area == a))]
        b = _bid_order(book, m[book.is_bid[m]])
        o = _offer_order(book, m[~book.is_bid[m]])
        vol = min(int(left[b].sum()), int(left[o].sum()))
        fb = np.clip(vol - (np.cumsum(left[b]) - left[b]), 0, left[b])
        fo = np.clip(vol - (np.cumsum(left[o]) - left[o]), 0, left[o])
        x = _pair(b, fb, o, fo)
        left[b] -= fb
        left[o] -= fo
        tb.append(x[0]), to.append(x[1]), tq.append(x[2])
    rest = np.flatnonzero(left > 0)
    b = _bid_order(book, rest[book.is_bid[rest]])
    o = _offer_order(book, rest[~book.is_bid[rest]])
    x = _pair(b, left[b], o, left[o])
    tb.append(x[0]), to.append(x[1]), tq.append(x[2])
    return np.concatenate(tb), np.concatenate(to), np.concatenate(tq)


# --------------------------------------------------------------------------
# club matching (Energy Local)


def largest_remainder(total: int, weights: np.ndarray, tiebreak: np.ndarray | None = None) -> np.ndarray:
    """Split integer ``total`` in proportion to non-negative integer ``weights``;
    remainders go to the largest fractional parts, ties to ``tiebreak`` order
    (smallest first), then index. sum(result) == total exactly."""
    w = np.asarray(weights, dtype=np.int64)
    s = int(w.sum())
    if s == 0 or total == 0:
        return np.zeros(len(w), dtype=np.int64)
    # exact integer arithmetic via Python ints (products may exceed int64)
    prod = [int(x) * int(total) for x in w]
    base = np.array([p // s for p in prod], dtype=np.int64)
    rem = np.array([p % s for p in prod], dtype=object)
    left = int(total - base.sum())
    if left:
        tb = np.arange(len(w)) if tiebreak is None else np.asarray(tiebreak)
        order = sorted(range(len(w)), key=lambda i: (-rem[i], int(tb[i]), i))
        for i in order[:left]:
            base[i] += 1
    return base


def _clear_club(book: Book, network: Network, tariff: int) -> ClearingResult:
    bids = np.flatnonzero(book.is_bid)
    offers = np.flatnonzero(~book.is_bid)
    demand = int(book.qty_wh[bids].sum())
    supply = int(book.qty_wh[offers].sum())
    matched = min(demand, supply)
    fill = np.zeros(len(book), dtype=np.int64)
    if matched:
        fill[bids] = largest_remainder(matched, book.qty_wh[bids], book.seq[bids])
        fill[offers] = largest_remainder(matched, book.qty_wh[offers], book.seq[offers])
    b = bids[np.lexsort((book.order_id[bids], book.seq[bids]))]
    o = offers[np.lexsort((book.order_id[offers], book.seq[offers]))]
    tb, to, tq = _pair(b, fill[b], o, fill[o])
    p = np.full(len(tq), tariff, dtype=np.int64)
    msg = "Cleared at the members' match tariff." if matched else _message(book, bids, offers, 0, [])
    return ClearingResult(
        mechanism="club",
        filled_wh=fill,
        trade_bid=tb,
        trade_offer=to,
        trade_qty_wh=tq,
        trade_buyer_price=p,
        trade_seller_price=p.copy(),
        trade_round=np.ones(len(tq), dtype=np.int64),
        node_price=np.full(len(network), tariff if matched else -1, dtype=np.int64),
        node_area=np.zeros(len(network), dtype=np.int64),
        message=msg,
        solver="club",
    )
