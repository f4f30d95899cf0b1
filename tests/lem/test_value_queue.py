"""Issue 17: no home is always at the back of the agents' queue (orders at one
price, placed at one moment, fill in an order drawn afresh each period)."""

import numpy as np

from lem.domain.value import _queue


def test_the_queue_changes_from_period_to_period_and_is_reproducible():
    n = 6
    firsts = [int(np.argmin(_queue(p, n))) for p in range(600)]
    counts = np.bincount(firsts, minlength=n)
    assert (counts > 60).all(), counts  # each order is first about one time in six
    assert (_queue(42, n) == _queue(42, n)).all()
    assert sorted(_queue(7, n).tolist()) == list(range(n))
