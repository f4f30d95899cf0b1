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
respects every limit, that is the answer. Otherwise ``_clear_tree`` clears
the tree exactly on the orders' step curves (merged up the tree, cut at each
limit; see its docstring): welfare-maximal, then the largest volume, then
price-then-time priority, exactly as in one zone. The market then splits into
price areas at the binding limits; each area gets its own clearing price and
the result lists which limits bound, in the direction that binds. Buyers pay
their area's price, sellers receive theirs; the difference on cross-area
trades is the congestion rent (``ClearingResult.congestion_rent``), never
negative on any trade.

Every mechanism keeps every party inside its limit price: no buyer pays
above its bid, no seller receives below its offer (in a club, orders whose
limit is on the wrong side of the match tariff do not take part).

Prices are any int64 (negative floors are allowed): "no price" is ``None`` /
``node_has_price == False``, never a number.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

import numpy as np

PRICE_SCALE = 1000  # ticks per p/kWh
UNLIMITED = -1  # a node limit of -1 means "no limit"
MECHANISMS = ("uniform", "pay_as_bid", "club")


class ClearingError(ValueError):
    """Bad input to the clearing engine (a message a person understands)."""


def price_to_ticks(price_p_per_kwh: Decimal | int | str) -> int:
    d = Decimal(price_p_per_kwh) * PRICE_SCALE
    if not d.is_finite():
        raise ClearingError(f"Price {price_p_per_kwh} p/kWh is not a finite number.")
    if d != d.to_integral_value():
        raise ClearingError(f"Price {price_p_per_kwh} p/kWh has more than 3 decimal places.")
    return int(d)


def ticks_to_price(ticks: int) -> Decimal:
    return (Decimal(int(ticks)) / PRICE_SCALE).quantize(Decimal("0.001"))


# --------------------------------------------------------------------------
# validation of every column (used by Book and Network constructors)

_I64_MAX = (1 << 63) - 1
MAX_TOTAL = 1 << 62  # bound on total Wh and total |price x Wh|, so sums stay in int64


def _int_column(value, what: str) -> np.ndarray:
    """An int64 column, or ClearingError when a value is not a whole number,
    is NaN or infinite, is true/false, or does not fit in 64 bits."""
    arr = np.asarray(value)
    kind = arr.dtype.kind
    if arr.size == 0:
        return arr.astype(np.int64)
    if kind == "b":
        raise ClearingError(f"{what} must be whole numbers, not true/false.")
    if kind == "i":
        return arr.astype(np.int64, copy=False)
    if kind == "u":
        if int(arr.max()) > _I64_MAX:
            raise ClearingError(f"{what} are too large (they overflow 64-bit integers).")
        return arr.astype(np.int64)
    if kind == "f":
        if not np.isfinite(arr).all():
            raise ClearingError(f"{what} must be finite numbers (got NaN or infinity).")
        if (arr != np.floor(arr)).any():
            raise ClearingError(f"{what} must be whole numbers (got a fraction).")
        if (np.abs(arr) >= 2.0**63).any():
            raise ClearingError(f"{what} are too large (they overflow 64-bit integers).")
        return arr.astype(np.int64)
    if kind == "O":
        out = np.empty(arr.shape, dtype=np.int64)
        flat = out.reshape(-1)
        for k, x in enumerate(arr.reshape(-1)):
            flat[k] = _int_value(x, what)
        return out
    raise ClearingError(f"{what} must be numbers (got {arr.dtype.name} values).")


def _int_value(x, what: str) -> int:
    if isinstance(x, bool | np.bool_):
        raise ClearingError(f"{what} must be whole numbers, not true/false.")
    if isinstance(x, numbers.Integral):
        v = int(x)
    elif isinstance(x, Decimal | float | Fraction | numbers.Real):
        if isinstance(x, Decimal):
            finite = x.is_finite()
        else:
            finite = math.isfinite(float(x))
        if not finite:
            raise ClearingError(f"{what} must be finite numbers (got NaN or infinity).")
        if x != int(x):
            raise ClearingError(f"{what} must be whole numbers (got a fraction: {x}).")
        v = int(x)
    else:
        raise ClearingError(f"{what} must be numbers (got {type(x).__name__} {x!r}).")
    if not -(1 << 63) <= v <= _I64_MAX:
        raise ClearingError(f"{what} are too large (they overflow 64-bit integers).")
    return v


_BID_WORDS = {"bid": True, "buy": True, "offer": False, "sell": False, "ask": False}


def _side_column(value) -> np.ndarray:
    """True = bid, False = offer. Accepts booleans, 0/1 and the words
    bid/buy/offer/sell/ask; anything else is refused (``bool("offer")`` is
    True, so a word must never be read by its truth value)."""
    arr = np.asarray(value)
    kind = arr.dtype.kind
    if arr.size == 0 or kind == "b":
        return arr.astype(bool)
    if kind in "iu":
        if not np.isin(arr, (0, 1)).all():
            raise ClearingError("An order's side must be bid or offer (true/false, 1/0, 'bid'/'offer').")
        return arr.astype(bool)
    if kind in "UO":
        out = np.empty(arr.shape, dtype=bool)
        flat = out.reshape(-1)
        for k, x in enumerate(arr.reshape(-1)):
            if isinstance(x, bool | np.bool_):
                flat[k] = bool(x)
            elif isinstance(x, numbers.Integral) and int(x) in (0, 1):
                flat[k] = bool(int(x))
            elif isinstance(x, str) and x.strip().lower() in _BID_WORDS:
                flat[k] = _BID_WORDS[x.strip().lower()]
            else:
                raise ClearingError(
                    f"An order's side must be bid or offer (true/false, 1/0, 'bid'/'offer'), not {x!r}."
                )
        return out
    raise ClearingError(f"An order's side must be bid or offer, not {arr.dtype.name} values.")


# --------------------------------------------------------------------------
# inputs


@dataclass(frozen=True)
class Book:
    """A frozen order book for one period, as parallel numpy arrays.

    ``order_id``: int64 unique; ``is_bid``: True = buy, False = sell;
    ``qty_wh`` > 0; ``price``: limit in ticks (may be negative); ``seq``:
    submission time; ``node``: index into ``Network`` (0 when there is no
    network). Optional preference columns: ``owner`` (participant id, -1
    unknown), ``nominees`` (n x 3 participant ids, -1 = empty), ``max_co2``
    (bids; g/kWh cap, -1 = none) and ``co2`` (offers; g/kWh of the source).

    Every way of building a book validates it (``__post_init__``): columns
    are converted to int64/bool and anything that would be silently wrong is
    refused with ``ClearingError`` (NaN or infinite or fractional prices and
    quantities, sides that are not explicit, totals that overflow int64).
    """

    order_id: np.ndarray
    is_bid: np.ndarray
    qty_wh: np.ndarray
    price: np.ndarray
    seq: np.ndarray | None = None
    node: np.ndarray | None = None
    owner: np.ndarray | None = None
    nominees: np.ndarray | None = None
    max_co2: np.ndarray | None = None
    co2: np.ndarray | None = None

    def __post_init__(self) -> None:
        put = object.__setattr__
        qty = _int_column(self.qty_wh, "Order quantities (Wh)")
        n = len(qty)
        oid = _int_column(self.order_id, "Order ids")
        put(self, "qty_wh", qty)
        put(self, "order_id", oid)
        put(self, "is_bid", _side_column(self.is_bid))
        put(self, "price", _int_column(self.price, "Order prices (ticks)"))
        put(self, "seq", oid.copy() if self.seq is None else _int_column(self.seq, "Submission times"))
        put(self, "node", np.zeros(n, dtype=np.int64) if self.node is None else _int_column(self.node, "Order nodes"))
        for name, what in (("owner", "Owners"), ("max_co2", "CO2 caps"), ("co2", "CO2 intensities")):
            if getattr(self, name) is not None:
                put(self, name, _int_column(getattr(self, name), what))
        if self.nominees is not None:
            nom = _int_column(self.nominees, "Nominees")
            if nom.size != 3 * n:
                raise ClearingError("Order book column nominees must have three entries per order.")
            put(self, "nominees", nom.reshape(n, 3))
        self.validate()

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
        return cls(
            order_id=order_id,
            is_bid=is_bid,
            qty_wh=qty_wh,
            price=price,
            seq=seq,
            node=node,
            owner=owner,
            nominees=nominees,
            max_co2=max_co2,
            co2=co2,
        )

    def __len__(self) -> int:
        return len(self.qty_wh)

    def validate(self) -> None:
        n = len(self.qty_wh)
        for name in ("order_id", "is_bid", "price", "seq", "node", "owner", "max_co2", "co2"):
            col = getattr(self, name)
            if col is not None and (col.ndim != 1 or len(col) != n):
                raise ClearingError(f"Order book column {name} has the wrong length.")
        if not n:
            return
        if self.qty_wh.min() <= 0:
            raise ClearingError("Every order needs a positive quantity in Wh.")
        if self.node.min() < 0:
            raise ClearingError("An order refers to a network node that does not exist.")
        if len(np.unique(self.order_id)) != n:
            raise ClearingError("Order ids must be unique within a book.")
        # exact bounds (Python ints) only when the float estimate is near them
        total = float(self.qty_wh.astype(np.float64).sum())
        value = float(np.abs(self.price.astype(np.float64)) @ self.qty_wh.astype(np.float64))
        if total >= MAX_TOTAL / 2 or value >= MAX_TOTAL / 2:
            exact_total = sum(int(q) for q in self.qty_wh)
            exact_value = sum(abs(int(p)) * int(q) for p, q in zip(self.price, self.qty_wh, strict=True))
            if exact_total > MAX_TOTAL or exact_value > MAX_TOTAL:
                raise ClearingError(
                    "The book's totals would overflow: the quantities add up to more than 2^62 Wh "
                    "(or price x quantity to more than 2^62 micro-pence)."
                )


@dataclass(frozen=True)
class Network:
    """Radial network: ``parent[i]`` < i (root has parent -1).

    ``import_limit_wh[i]`` / ``export_limit_wh[i]``: the most energy the
    subtree under node i may take from / give to its parent in one period,
    a whole number >= 0, or ``UNLIMITED`` (-1). Limits of the root are
    ignored (the market is balanced). Validated however it is built.
    """

    names: tuple[str, ...]
    parent: np.ndarray
    import_limit_wh: np.ndarray
    export_limit_wh: np.ndarray

    def __post_init__(self) -> None:
        put = object.__setattr__
        parent = _int_column(self.parent, "Network parents")
        put(self, "parent", parent)
        put(self, "names", tuple(str(x) for x in self.names))
        for name, what in (("import_limit_wh", "Import limits"), ("export_limit_wh", "Export limits")):
            col = _int_column(getattr(self, name), f"{what} (Wh)")
            if col.ndim != 1 or len(col) != len(parent):
                raise ClearingError(f"Network column {name} has the wrong length.")
            bad = np.flatnonzero(col < UNLIMITED)
            if len(bad):
                i = int(bad[0])
                label = self.names[i] if i < len(self.names) else i
                raise ClearingError(
                    f"{what[:-1]} of node {label} is {int(col[i])} Wh: a limit must be 0 or more, "
                    f"or {UNLIMITED} for unlimited."
                )
            put(self, name, col)
        if len(self.names) != len(parent) or len(parent) == 0:
            raise ClearingError("A network needs one name per node and at least a root.")
        for i, p in enumerate(parent):
            if (i == 0) != (p == -1) or p >= i:
                raise ClearingError("Network nodes must be listed parents first, with exactly one root.")

    @classmethod
    def build(cls, nodes: list[tuple[str, int, int, int]]) -> Network:
        """``nodes``: (name, parent index, import limit Wh, export limit Wh)."""
        return cls(
            names=tuple(n[0] for n in nodes),
            parent=np.array([n[1] for n in nodes], dtype=object),
            import_limit_wh=np.array([n[2] for n in nodes], dtype=object),
            export_limit_wh=np.array([n[3] for n in nodes], dtype=object),
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
    node_price: np.ndarray  # ticks per network node (any int64; see node_has_price)
    node_area: np.ndarray  # price area id per node
    node_has_price: np.ndarray  # bool per node: False where no price formed (no trades)
    binding: list[Binding] = field(default_factory=list)
    message: str = ""
    solver: str = "sweep"

    @property
    def volume_wh(self) -> int:
        return int(self.trade_qty_wh.sum())

    @property
    def price(self) -> int | None:
        """The clearing price (ticks) of the root's price area, if formed.

        Any int64 is a valid price (markets may have negative floors), so
        "no price" is ``None``, never a number."""
        if not len(self.node_price) or not self.node_has_price[0]:
            return None
        return int(self.node_price[0])

    def node_price_or_none(self, node: int) -> int | None:
        return int(self.node_price[node]) if self.node_has_price[node] else None

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


def _pick_price(lower: int | None, upper: int | None) -> int | None:
    """Midpoint of the clearing interval; a bounded side alone if only one."""
    if lower is None and upper is None:
        return None
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
        fill, node_area, node_price, node_has_price, binding = _clear_tree(
            book, network, remaining, bid_idx, offer_idx, pref_net
        )
        solver = "tree"
    else:
        p = _pick_price(sw.lower, sw.upper) if sw.volume else None
        node_price = np.full(len(network), 0 if p is None else p, dtype=np.int64)
        node_has_price = np.full(len(network), p is not None, dtype=bool)

    # trades: pair inside each area first (local energy), then across areas
    cross_key = node_price[book.node] if mechanism == "uniform" else book.price
    tb, to, tq = _pair_by_area(book, fill, node_area, cross_key, bid_idx, offer_idx)
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
        node_has_price=node_has_price,
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


def _take_prefix(r: np.ndarray, q: np.ndarray, k: int, taken: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Take the first ``k`` units of the curve (r, q) into ``taken``; return the rest."""
    if k <= 0:
        return r, q
    cum = np.cumsum(q)
    j = int(np.searchsorted(cum, k, side="left"))
    taken[r[:j]] += q[:j]
    part = k - (int(cum[j - 1]) if j else 0)
    taken[r[j]] += part
    rest_r, rest_q = r[j:], q[j:].copy()
    rest_q[0] -= part
    if rest_q[0] == 0:
        rest_r, rest_q = rest_r[1:], rest_q[1:]
    return rest_r, rest_q


def _keep_prefix(r: np.ndarray, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``k`` units of the curve (r, q); the rest is cut off."""
    if k <= 0:
        return r[:0], q[:0]
    cum = np.cumsum(q)
    j = int(np.searchsorted(cum, k, side="left"))
    out_q = q[: j + 1].copy()
    out_q[j] -= int(cum[j]) - k
    return r[: j + 1], out_q


def _clear_tree(book, network, remaining, bid_idx, offer_idx, pref_net):
    """Exact welfare-maximal clearing on a radial tree, by merging step curves.

    Think of every order as units on one axis, the net export ``x`` of a
    subtree: starting from "every bid filled, no offer filled" (x = -demand),
    each unit taken either fills an offer (x + 1, cost = its price) or drops a
    bid (x + 1, cost = its price). The best welfare of a subtree as a function
    of x is concave and piecewise linear: take its units cheapest first. A
    parent's curve is its own units merged with its children's curves (the
    sup-convolution of concave functions is the merge of their slopes), and a
    node's limits cut its curve to [-import, export]: the cheapest units below
    the import limit are forced in, the dearest above the export limit cut
    off. At the root the market must balance (x = 0), which fixes how many of
    the cheapest units are taken; units are integers, so the answer is exact.

    Units are ordered by (price, offers before bids, priority): the first key
    maximises welfare, the second the traded volume among welfare-maximal
    solutions (filling an offer trades one more Wh, dropping a bid one less),
    the third gives price-then-time priority: earlier offers are filled first
    and later bids dropped first, as in the single-zone sweep. The merge is
    exact for any totally ordered cost, so the lexicographic order is honoured
    exactly. Cost: one sort of the book and a merge per tree level.

    Prices (locational, per area): a node whose limit binds is its own price
    area when its marginal interval (its curve at its final position: last
    unit taken <= price <= first unit not taken) does not contain the parent
    area's price; its price is the midpoint of that interval, which lies on
    the side the binding direction says (an exporting area is cheaper).
    Returns (fill, node_area, node_price, node_has_price, binding).
    """
    nn = len(network)
    fill = np.zeros(len(book), dtype=np.int64)
    # units in key order: offers in priority order (price asc, earliest first)
    # merged with bids in reverse priority order (price asc, latest first);
    # a stable sort on price keeps offers before bids at equal prices.
    cand = np.concatenate((offer_idx, bid_idx[::-1]))
    order_by_rank = cand[np.argsort(book.price[cand], kind="stable")]  # rank -> book index
    q_rank = remaining[order_by_rank]
    p_rank = book.price[order_by_rank]
    bid_rank = book.is_bid[order_by_rank]
    node_rank = book.node[order_by_rank]
    m = len(order_by_rank)
    grouped = np.argsort(node_rank, kind="stable")  # ranks grouped by node, ascending inside
    starts = np.concatenate(([0], np.cumsum(np.bincount(node_rank, minlength=nn))))
    bid_q = np.concatenate(([0], np.cumsum(np.where(bid_rank, q_rank, 0)[grouped])))
    own_demand = bid_q[starts[1:]] - bid_q[starts[:-1]]

    children: list[list[int]] = [[] for _ in range(nn)]
    for v in range(1, nn):
        children[int(network.parent[v])].append(v)
    pref_sub = network.subtree_sums(pref_net)
    taken = np.zeros(m, dtype=np.int64)  # by rank
    cur_r: list = [None] * nn
    cur_q: list = [None] * nn
    cur_lo = np.zeros(nn, dtype=np.int64)
    pre: list = [None] * nn  # curve before the node's own limits: (ranks, qty, lo)
    for v in range(nn - 1, -1, -1):
        own = grouped[starts[v] : starts[v + 1]]
        rs = [own] + [cur_r[c] for c in children[v]]
        qs = [q_rank[own]] + [cur_q[c] for c in children[v]]
        lo = -int(own_demand[v]) + sum(int(cur_lo[c]) for c in children[v])
        if len(rs) == 1:
            r, q = rs[0], qs[0]
        else:
            r, q = np.concatenate(rs), np.concatenate(qs)
            s = np.argsort(r, kind="stable")
            r, q = r[s], q[s]
        pre[v] = (r, q, lo)
        for c in children[v]:
            cur_r[c] = cur_q[c] = None
        if v == 0:
            _take_prefix(r, q, -lo, taken)
            break
        imp, exp = int(network.import_limit_wh[v]), int(network.export_limit_wh[v])
        if imp >= 0 and lo < -(imp + int(pref_sub[v])):
            low = -(imp + int(pref_sub[v]))
            r, q = _take_prefix(r, q, low - lo, taken)
            lo = low
        if exp >= 0:
            high = exp - int(pref_sub[v])
            if lo + int(q.sum()) > high:
                r, q = _keep_prefix(r, q, high - lo)
        cur_r[v], cur_q[v], cur_lo[v] = r, q, lo

    fill_rank = np.where(bid_rank, q_rank - taken, taken)
    fill[order_by_rank] = fill_rank

    # prices and price areas, parents first
    mech_sub = network.subtree_sums(_node_net(book, network, fill))
    total_sub = mech_sub + pref_sub

    def interval(v: int) -> tuple[int | None, int | None]:
        r, q, lo = pre[v]
        t = int(mech_sub[v]) - lo  # units taken in v's own curve
        if len(q) == 0:
            return None, None
        cum = np.cumsum(q)
        low = int(p_rank[r[int(np.searchsorted(cum, t, side="left"))]]) if t > 0 else None
        high = int(p_rank[r[int(np.searchsorted(cum, t + 1, side="left"))]]) if t < int(cum[-1]) else None
        return low, high

    area = np.zeros(nn, dtype=np.int64)
    lam: list[int | None] = [None] * nn
    lam[0] = _pick_price(*interval(0))
    binding: list[Binding] = []
    for v in range(1, nn):
        p = int(network.parent[v])
        lp = lam[p]
        lo_v, hi_v = interval(v)
        inside = lp is not None and (lo_v is None or lo_v <= lp) and (hi_v is None or lp <= hi_v)
        if inside or (lp is None and lo_v is None and hi_v is None):
            area[v], lam[v] = area[p], lp
            continue
        area[v], lam[v] = v, _pick_price(lo_v, hi_v)
        imp, exp = int(network.import_limit_wh[v]), int(network.export_limit_wh[v])
        if lp is not None:
            direction = "export" if hi_v is not None and lp > hi_v else "import"
        else:  # the parent's area has nothing to price against: name the limit the flow sits at
            direction = "export" if exp >= 0 and total_sub[v] >= exp else "import"
        limit = exp if direction == "export" else imp
        if limit < 0:
            continue  # (cannot happen: an unlimited side never binds) keep the area, report nothing
        flow = int(total_sub[v]) if direction == "export" else -int(total_sub[v])
        binding.append(Binding(v, network.names[v], direction, limit, flow))

    node_price = np.array([0 if x is None else x for x in lam], dtype=np.int64)
    has = np.array([x is not None for x in lam], dtype=bool)
    # an area without trades has no price (as in one zone)
    traded = np.bincount(book.node, weights=(fill > 0).astype(np.float64), minlength=nn) > 0
    area_traded = np.zeros(nn, dtype=bool)
    np.logical_or.at(area_traded, area, traded)
    has &= area_traded[area]
    return fill, area, node_price, has, binding


def _pair_by_area(book, fill, node_area, cross_key, bid_idx, offer_idx):
    """Pairs inside each price area first (local energy), then what crosses
    areas: the remaining bids and offers are both sorted by ``cross_key``
    (highest first) and paired in that order. With locational prices an area
    set priced above any level imports at least what it exports, so this
    pairing never pairs a bid below the offer it buys from (Hall's condition);
    ``cross_key`` is the area price (uniform) or the limit price (pay-as-bid).
    """
    bids = bid_idx[fill[bid_idx] > 0]  # priority order
    offers = offer_idx[fill[offer_idx] > 0]
    if len(bids) == 0 or len(offers) == 0:
        e = np.zeros(0, dtype=np.int64)
        return e, e.copy(), e.copy()
    areas = np.unique(node_area)
    if len(areas) == 1:
        return _pair(bids, fill[bids], offers, fill[offers])
    tb, to, tq = [], [], []
    left = fill.copy()
    bid_area = node_area[book.node[bids]]
    offer_area = node_area[book.node[offers]]
    for a in areas:
        b = bids[bid_area == a]
        o = offers[offer_area == a]
        vol = min(int(left[b].sum()), int(left[o].sum()))
        fb = np.clip(vol - (np.cumsum(left[b]) - left[b]), 0, left[b])
        fo = np.clip(vol - (np.cumsum(left[o]) - left[o]), 0, left[o])
        x = _pair(b, fb, o, fo)
        left[b] -= fb
        left[o] -= fo
        tb.append(x[0]), to.append(x[1]), tq.append(x[2])
    b = bids[left[bids] > 0]
    o = offers[left[offers] > 0]
    b = b[np.argsort(-cross_key[b], kind="stable")]  # highest key first, then priority
    o = o[np.argsort(-cross_key[o], kind="stable")]
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
    # Only orders willing at the tariff take part: a bid below it or an offer
    # above it would trade outside its limit price (issue 14, item 4).
    bids = np.flatnonzero(book.is_bid & (book.price >= tariff))
    offers = np.flatnonzero(~book.is_bid & (book.price <= tariff))
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
    if matched:
        msg = "Cleared at the members' match tariff."
    elif len(bids) and len(offers):
        msg = "No trades."
    elif np.any(book.is_bid) and np.any(~book.is_bid):
        msg = "No trades: no bid is at or above the match tariff, or no offer at or below it."
    else:
        msg = _message(book, np.flatnonzero(book.is_bid), np.flatnonzero(~book.is_bid), 0, [])
    return ClearingResult(
        mechanism="club",
        filled_wh=fill,
        trade_bid=tb,
        trade_offer=to,
        trade_qty_wh=tq,
        trade_buyer_price=p,
        trade_seller_price=p.copy(),
        trade_round=np.ones(len(tq), dtype=np.int64),
        node_price=np.full(len(network), tariff, dtype=np.int64),
        node_area=np.zeros(len(network), dtype=np.int64),
        node_has_price=np.full(len(network), bool(matched), dtype=bool),
        message=msg,
        solver="club",
    )
