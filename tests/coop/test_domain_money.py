from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from assets.coop.domain.errors import CoopError
from assets.coop.domain.money import (
    allocate_pennies,
    allocate_pennies_np,
    from_pennies,
    spread_evenly,
    to_pennies,
)

weights_st = st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=60).filter(lambda w: sum(w) > 0)


@given(total=st.integers(min_value=0, max_value=10**9), weights=weights_st)
def test_allocation_adds_up_is_never_negative_and_within_a_penny(total, weights):
    paid = allocate_pennies(total, weights)
    assert sum(paid) == total
    assert all(p >= 0 for p in paid)
    s = sum(weights)
    for p, w in zip(paid, weights, strict=False):
        # |p - total*w/s| < 1  <=>  |p*s - total*w| < s
        assert abs(p * s - total * w) < s


@given(total=st.integers(min_value=0, max_value=10**12), weights=weights_st)
def test_vectorised_allocation_equals_the_exact_one(total, weights):
    assert allocate_pennies_np(total, np.array(weights, dtype=np.int64)).tolist() == allocate_pennies(total, weights)


def test_a_third_each_gives_the_odd_penny_to_the_first():
    assert allocate_pennies(100, [1, 1, 1]) == [34, 33, 33]


def test_zero_weight_gets_nothing():
    assert allocate_pennies(10, [0, 5, 5]) == [0, 5, 5]


def test_it_refuses_money_for_nobody():
    with pytest.raises(CoopError):
        allocate_pennies(10, [0, 0])


def test_pennies_round_trip_and_refuse_fractions():
    assert to_pennies(Decimal("12.34")) == 1234
    assert from_pennies(1234) == Decimal("12.34")
    with pytest.raises(CoopError, match="whole number of pence"):
        to_pennies(Decimal("0.001"))
    with pytest.raises(CoopError, match="not a number"):
        to_pennies("ten pounds")


def test_an_annual_cost_spread_by_month_adds_up():
    months = spread_evenly(100_000, 12)
    assert sum(months) == 100_000 and max(months) - min(months) <= 1
