"""Issue 17: homes with a battery sell once their battery is full, and no home
is always at the back of the agents' queue."""

import numpy as np

from lem.domain.value import _full_battery_offers, _queue


def test_a_full_battery_offers_what_the_home_exported_on_the_days_it_was_full():
    # 7 days x 1 period x 2 homes (net import +, export -): the battery was full on
    # days 1, 3, 4 and 6, when the home exported 900, 1200, 800 and 1000 Wh;
    # the other days it charged and exported nothing
    exports = np.array([0, 900, 0, 1200, 800, 0, 1000])
    full = np.array([False, True, False, True, True, False, True])
    hist = np.stack([-exports, -exports], axis=1)[:, None, :]
    fulls = np.stack([full, full], axis=1)[:, None, :]
    now_full = np.array([[True, False]])  # home 0's battery is full at gate closure, home 1's is not
    offer, floor = _full_battery_offers(hist, fulls, now_full, np.array([0.5, 0.5]))
    assert floor.tolist() == [[800, 0]]  # the least of the full days, not the 0 of the charging days
    assert offer.tolist() == [[950, 0]]  # the median of 800, 900, 1000, 1200
    # fewer than three full days say too little: nothing
    few = fulls.copy()
    few[3:, 0, 0] = False
    assert _full_battery_offers(hist, few, now_full, np.array([0.5, 0.5]))[1].tolist() == [[0, 0]]


def test_the_queue_changes_from_period_to_period_and_is_reproducible():
    n = 6
    firsts = [int(np.argmin(_queue(p, n))) for p in range(600)]
    counts = np.bincount(firsts, minlength=n)
    assert (counts > 60).all(), counts  # each order is first about one time in six
    assert (_queue(42, n) == _queue(42, n)).all()
    assert sorted(_queue(7, n).tolist()) == list(range(n))
