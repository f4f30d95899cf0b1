"""The clearing engine: worked examples and hypothesis invariants.

Pure domain: no database. References: an LP over every order (scipy HiGHS)
and, on tiny books, brute force over every integer allocation.
"""

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from lem.domain.clearing import (
    Book,
    ClearingError,
    Network,
    clear,
    largest_remainder,
    price_to_ticks,
    ticks_to_price,
)

P = 1000  # ticks per p/kWh


def book(rows, **kw):
    """rows: (is_bid, qty_wh, price_p, [node])"""
    return Book.from_arrays(
        order_id=list(range(1, len(rows) + 1)),
        is_bid=[r[0] for r in rows],
        qty_wh=[r[1] for r in rows],
        price=[int(r[2] * P) for r in rows],
        node=[r[3] if len(r) > 3 else 0 for r in rows],
        **kw,
    )


def filled_by_id(b, r):
    return dict(zip(b.order_id.tolist(), r.filled_wh.tolist(), strict=False))


# --------------------------------------------------------------- examples


def test_a_bid_and_an_offer_at_exactly_the_same_price_trade():
    r = clear(book([(True, 500, 12.5), (False, 500, 12.5)]))
    assert r.volume_wh == 500
    assert ticks_to_price(r.price) == ticks_to_price(12500)


def test_tie_at_the_crossing_point_with_more_orders_clears_everything_willing():
    # pymarket's Huang returns no trade on books like this one
    r = clear(book([(True, 300, 20), (True, 200, 15), (False, 200, 10), (False, 300, 15), (False, 100, 25)]))
    assert r.volume_wh == 500
    assert r.price == 15 * P


def test_uniform_price_is_the_midpoint_of_the_clearing_interval():
    # accepted: bid 20 (100), offer 5 (80) + 20 of offer 10; next bid 9, next offer 10
    r = clear(book([(True, 100, 20), (True, 50, 9), (False, 80, 5), (False, 100, 10)]))
    assert r.volume_wh == 100
    assert r.price == 10 * P
    assert filled_by_id(book([(True, 100, 20), (True, 50, 9), (False, 80, 5), (False, 100, 10)]), r) == {
        1: 100,
        2: 0,
        3: 80,
        4: 20,
    }


def test_equal_prices_are_filled_in_order_of_submission():
    b = Book.from_arrays(
        order_id=[1, 2, 3],
        is_bid=[True, False, False],
        qty_wh=[100, 100, 100],
        price=[20 * P, 10 * P, 10 * P],
        seq=[5, 9, 3],
    )
    r = clear(b)
    assert filled_by_id(b, r) == {1: 100, 2: 0, 3: 100}  # order 3 was submitted first


def test_an_empty_book_gives_no_trades_and_says_so():
    r = clear(book([]))
    assert r.volume_wh == 0 and r.price is None
    assert "empty" in r.message


def test_a_one_sided_book_gives_no_trades_and_says_so():
    r = clear(book([(True, 100, 20), (True, 50, 9)]))
    assert r.volume_wh == 0
    assert "no offers" in r.message
    r = clear(book([(False, 100, 20)]))
    assert "no bids" in r.message


def test_a_book_that_does_not_cross_says_why():
    r = clear(book([(True, 100, 9), (False, 100, 10)]))
    assert r.volume_wh == 0
    assert "highest bid (9.000 p/kWh) is below the lowest offer (10.000 p/kWh)" in r.message


def test_bad_input_is_refused_with_a_clear_message():
    with pytest.raises(ClearingError, match="positive quantity"):
        book([(True, 0, 10)])
    with pytest.raises(ClearingError, match="Unknown clearing mechanism"):
        clear(book([(True, 1, 10)]), mechanism="lottery")
    with pytest.raises(ClearingError, match="3 decimal places"):
        price_to_ticks("1.2345")
    with pytest.raises(ClearingError, match="node that does not exist"):
        clear(book([(True, 1, 10, 4)]))


def test_pay_as_bid_prices_each_trade_at_the_buyers_limit_with_the_same_volume():
    rows = [(True, 100, 20), (True, 100, 14), (False, 150, 10), (False, 100, 12)]
    u = clear(book(rows))
    pab = clear(book(rows), mechanism="pay_as_bid")
    assert pab.volume_wh == u.volume_wh == 200
    b = book(rows)
    assert (pab.trade_buyer_price == b.price[pab.trade_bid]).all()
    assert (pab.trade_seller_price == pab.trade_buyer_price).all()


def test_club_matching_shares_generation_pro_rata_at_the_match_tariff():
    rows = [(True, 300, 20), (True, 100, 18), (False, 200, 5)]
    b = book(rows)
    r = clear(b, mechanism="club", match_tariff=18 * P)
    assert filled_by_id(b, r) == {1: 150, 2: 50, 3: 200}
    assert set(r.trade_buyer_price.tolist()) == {18 * P}
    with pytest.raises(ClearingError, match="match tariff"):
        clear(b, mechanism="club")


def test_club_matching_gives_consumers_all_they_use_when_generation_is_plentiful():
    b = book([(True, 70, 25), (False, 100, 1), (False, 300, 1)])
    r = clear(b, mechanism="club", match_tariff=18 * P)
    assert filled_by_id(b, r) == {1: 70, 2: 18, 3: 52}  # 70 shared 1:3, largest remainder


def test_club_matching_leaves_out_orders_whose_limit_is_on_the_wrong_side_of_the_tariff():
    # issue 14 item 4: no party outside its limit price, in a club too
    b = book([(True, 100, 20), (True, 100, 10), (False, 100, 30), (False, 300, 15)])
    r = clear(b, mechanism="club", match_tariff=18 * P)
    assert filled_by_id(b, r) == {1: 100, 2: 0, 3: 0, 4: 100}


def test_a_nominated_neighbour_is_matched_first_at_their_offer_price():
    rows = [(True, 100, 30), (False, 100, 5), (False, 100, 20)]
    b = book(rows, owner=[1, 2, 3], nominees=[[3, -1, -1], [-1] * 3, [-1] * 3])
    r = clear(b)
    d = filled_by_id(b, r)
    assert d == {1: 100, 2: 0, 3: 100}
    assert r.trade_round.tolist() == [0]
    assert r.trade_buyer_price.tolist() == [20 * P]


def test_a_gift_to_a_neighbour_is_free_and_goes_to_them():
    # member 2 gifts 60 Wh to member 3 (the community centre)
    b = book(
        [(True, 100, 25), (False, 60, 0), (True, 100, 10)],
        owner=[1, 2, 3],
        nominees=[[-1] * 3, [3, -1, -1], [-1] * 3],
    )
    r = clear(b)
    gift = [i for i in range(len(r.trade_qty_wh)) if r.trade_round[i] == 0]
    assert len(gift) == 1
    i = gift[0]
    assert b.order_id[r.trade_bid[i]] == 3 and r.trade_qty_wh[i] == 60 and r.trade_buyer_price[i] == 0


def test_a_co2_capped_bid_only_takes_clean_enough_energy():
    b = book(
        [(True, 100, 30), (False, 100, 5), (False, 100, 8)],
        max_co2=[50, -1, -1],
        co2=[0, 400, 20],
    )
    r = clear(b)
    assert filled_by_id(b, r) == {1: 100, 2: 0, 3: 100}


def test_a_binding_feeder_limit_splits_the_market_and_says_which():
    net = Network.build([("substation", -1, -1, -1), ("feeder A", 0, -1, 30), ("feeder B", 0, -1, -1)])
    b = book([(True, 100, 20, 2), (False, 100, 5, 1), (False, 100, 15, 2)])
    r = clear(b, network=net)
    assert r.split and r.solver == "tree"
    assert [(x.name, x.direction, x.limit_wh) for x in r.binding] == [("feeder A", "export", 30)]
    assert "export from feeder A is at its limit of 30 Wh" in r.message
    assert filled_by_id(b, r) == {1: 100, 2: 30, 3: 70}
    assert r.node_price[1] == 5 * P and r.node_price[2] == 15 * P
    assert r.congestion_rent == 30 * 10 * P


def test_a_limit_that_does_not_bind_keeps_one_price():
    net = Network.build([("substation", -1, -1, -1), ("feeder A", 0, 1000, 1000), ("feeder B", 0, -1, -1)])
    b = book([(True, 100, 20, 2), (False, 100, 5, 1)])
    r = clear(b, network=net)
    assert not r.split and r.solver == "sweep"
    assert r.volume_wh == 100


def test_helpers_round_trip_prices_and_split_exactly():
    assert ticks_to_price(price_to_ticks("12.345")) == ticks_to_price(12345)
    assert largest_remainder(10, np.array([1, 1, 1])).tolist() == [4, 3, 3]
    assert largest_remainder(10, np.array([1, 1, 1]), np.array([3, 2, 1])).tolist() == [3, 3, 4]


# --------------------------------------------------------------- references


def lp_welfare(b: Book, network: Network | None = None) -> float:
    """Max welfare by LP over individual orders (the reference)."""
    n = len(b)
    if n == 0:
        return 0.0
    sign = np.where(b.is_bid, -1.0, 1.0)
    c = -np.where(b.is_bid, b.price, -b.price).astype(float)
    A_eq = [sign]
    A_ub, b_ub = [], []
    if network is not None:
        for v in range(1, len(network)):
            member = np.array([v in network.ancestors(int(x)) for x in b.node])
            row = sign * member
            if network.export_limit_wh[v] >= 0:
                A_ub.append(row)
                b_ub.append(network.export_limit_wh[v])
            if network.import_limit_wh[v] >= 0:
                A_ub.append(-row)
                b_ub.append(network.import_limit_wh[v])
    res = linprog(
        c,
        A_ub=np.array(A_ub) if A_ub else None,
        b_ub=b_ub or None,
        A_eq=np.array(A_eq),
        b_eq=[0.0],
        bounds=[(0, q) for q in b.qty_wh],
        method="highs",
    )
    assert res.status == 0
    return -res.fun


def welfare(b: Book, fill) -> int:
    return int((np.where(b.is_bid, b.price, -b.price) * fill).sum())


def brute_force_welfare(b: Book) -> int:
    best = 0
    for fills in itertools.product(*[range(q + 1) for q in b.qty_wh]):
        f = np.array(fills)
        if f[b.is_bid].sum() == f[~b.is_bid].sum():
            best = max(best, welfare(b, f))
    return best


# Prices come from a small set so that exact ties at the crossing are common.
order_st = st.tuples(st.booleans(), st.integers(1, 400), st.sampled_from([5, 8, 10, 10, 12, 15, 15, 20]))


def check_invariants(b: Book, r, network: Network | None = None):
    # energy bought == energy sold; trades add up to each order's fill
    assert r.filled_wh[b.is_bid].sum() == r.filled_wh[~b.is_bid].sum() == r.volume_wh
    per_order = np.bincount(r.trade_bid, weights=r.trade_qty_wh, minlength=len(b)) + np.bincount(
        r.trade_offer, weights=r.trade_qty_wh, minlength=len(b)
    )
    assert (per_order.astype(np.int64) == r.filled_wh).all()
    assert (r.filled_wh >= 0).all() and (r.filled_wh <= b.qty_wh).all()
    assert (r.trade_qty_wh > 0).all()
    assert b.is_bid[r.trade_bid].all() and (~b.is_bid[r.trade_offer]).all()
    # nobody pays above their bid or sells below their offer
    assert (r.trade_buyer_price <= b.price[r.trade_bid]).all()
    assert (r.trade_seller_price >= b.price[r.trade_offer]).all()
    assert r.congestion_rent >= 0
    if network is not None:
        signed = np.where(b.is_bid, -r.filled_wh, r.filled_wh)
        net = network.subtree_sums(np.bincount(b.node, weights=signed, minlength=len(network)).astype(np.int64))
        for v in range(1, len(network)):
            if network.export_limit_wh[v] >= 0:
                assert net[v] <= network.export_limit_wh[v]
            if network.import_limit_wh[v] >= 0:
                assert -net[v] <= network.import_limit_wh[v]
        assert net[0] == 0


@settings(max_examples=300, deadline=None)
@given(st.lists(order_st, max_size=14))
def test_uniform_clearing_is_welfare_maximal_and_conserves_energy(rows):
    b = book(rows)
    r = clear(b)
    check_invariants(b, r)
    assert welfare(b, r.filled_wh) == pytest.approx(lp_welfare(b), abs=1e-6)
    if r.volume_wh:
        # one price for all, inside every accepted order's limit
        assert len(set(r.trade_buyer_price.tolist())) == 1
        assert (r.trade_buyer_price == r.trade_seller_price).all()


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(1, 3), st.sampled_from([5, 10, 10, 15])), max_size=5))
def test_uniform_clearing_matches_brute_force_on_tiny_books_including_ties(rows):
    b = book(rows)
    r = clear(b)
    assert welfare(b, r.filled_wh) == brute_force_welfare(b)
    # volume-maximal among welfare-maximal allocations: at a tie it trades
    bids = sorted((p for bid, q, p in rows if bid for _ in range(q)), reverse=True)
    offers = sorted(p for bid, q, p in rows if not bid for _ in range(q))
    assert r.volume_wh == sum(1 for x, y in zip(bids, offers, strict=False) if x >= y)


@settings(max_examples=60, deadline=None)
@given(st.lists(order_st, max_size=12), st.randoms())
def test_clearing_is_deterministic_and_independent_of_row_order(rows, rnd):
    b = book(rows)
    r1, r2 = clear(b), clear(b)
    assert (r1.filled_wh == r2.filled_wh).all() and (r1.trade_qty_wh == r2.trade_qty_wh).all()
    perm = list(range(len(rows)))
    rnd.shuffle(perm)
    b2 = Book.from_arrays(
        order_id=b.order_id[perm],
        is_bid=b.is_bid[perm],
        qty_wh=b.qty_wh[perm],
        price=b.price[perm],
        seq=b.seq[perm],
    )
    r3 = clear(b2)
    assert filled_by_id(b, r1) == filled_by_id(b2, r3)
    assert r1.price == r3.price


net_st = st.tuples(
    st.integers(-1, 300),
    st.integers(-1, 300),
    st.integers(-1, 300),
    st.integers(-1, 300),
    st.integers(-1, 500),
    st.integers(-1, 500),
)


def make_network(lim):
    # substation -> feeders A, B; feeder B -> street C
    a_imp, a_exp, b_imp, b_exp, c_imp, c_exp = lim
    return Network.build(
        [
            ("substation", -1, -1, -1),
            ("A", 0, a_imp, a_exp),
            ("B", 0, b_imp, b_exp),
            ("C", 2, c_imp, c_exp),
        ]
    )


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.booleans(), st.integers(1, 400), st.sampled_from([5, 8, 10, 10, 12, 15, 20]), st.integers(0, 3)),
        max_size=14,
    ),
    net_st,
)
def test_constrained_clearing_respects_capacity_and_is_welfare_maximal(rows, lim):
    network = make_network(lim)
    b = book(rows)
    r = clear(b, network=network)
    check_invariants(b, r, network)
    assert welfare(b, r.filled_wh) == pytest.approx(lp_welfare(b, network), abs=1e-6)
    # every reported binding limit is really at its limit
    for x in r.binding:
        assert x.flow_wh == x.limit_wh


@settings(max_examples=100, deadline=None)
@given(st.lists(order_st, max_size=12), st.integers(0, 30))
def test_pay_as_bid_and_club_conserve_energy(rows, tariff):
    b = book(rows)
    for mech in ("pay_as_bid", "club"):
        r = clear(b, mechanism=mech, match_tariff=tariff * P)
        assert r.filled_wh[b.is_bid].sum() == r.filled_wh[~b.is_bid].sum() == r.volume_wh
        assert (r.filled_wh <= b.qty_wh).all()
        if mech == "pay_as_bid":
            check_invariants(b, r)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.booleans(),
            st.integers(1, 300),
            st.sampled_from([0, 5, 10, 15]),
            st.integers(0, 3),
            st.integers(1, 5),
            st.lists(st.integers(1, 5), max_size=3),
            st.sampled_from([-1, -1, 50, 300]),
            st.sampled_from([0, 20, 400]),
        ),
        max_size=12,
    ),
    net_st,
)
def test_preferences_never_break_limits_or_capacity(rows, lim):
    network = make_network(lim)
    b = Book.from_arrays(
        order_id=list(range(1, len(rows) + 1)),
        is_bid=[r[0] for r in rows],
        qty_wh=[r[1] for r in rows],
        price=[r[2] * P for r in rows],
        node=[r[3] for r in rows],
        owner=[r[4] for r in rows],
        nominees=[(r[5] + [-1, -1, -1])[:3] for r in rows],
        max_co2=[r[6] if r[0] else -1 for r in rows],
        co2=[r[7] for r in rows],
    )
    r = clear(b, network=network)
    check_invariants(b, r, network)
    # a CO2-capped bid never takes dirtier energy
    for i in range(len(r.trade_qty_wh)):
        cap = b.max_co2[r.trade_bid[i]]
        if cap >= 0:
            assert b.co2[r.trade_offer[i]] <= cap
