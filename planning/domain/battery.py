"""Home battery self-consumption dispatch, vectorised across batteries.

Rule (what an off-the-shelf home battery does by default): charge from PV
surplus, discharge to cover the home's import, never from or to the grid.
Round-trip losses are split evenly between charging and discharging.  Loops
over the hours (state of charge carries over) with every battery in one numpy
vector, so 5,000 batteries cost the same number of Python steps as one.
"""

from __future__ import annotations

import numpy as np


def self_consumption(
    net_kwh: np.ndarray, capacity_kwh: np.ndarray, power_kw: np.ndarray, round_trip: float
) -> np.ndarray:
    """Grid exchange after the battery.

    net_kwh: (hours, n) load minus PV per hour (positive = import).
    Returns (hours, n) net after the battery (same sign convention).
    Starts empty.  Energy is conserved: sum(net_after) = sum(net) + losses.
    """
    net = np.asarray(net_kwh, dtype=np.float64)
    hours, n = net.shape
    cap = np.broadcast_to(np.asarray(capacity_kwh, dtype=np.float64), (n,)).copy()
    pmax = np.broadcast_to(np.asarray(power_kw, dtype=np.float64), (n,)).copy()
    eta = float(np.sqrt(round_trip))
    soc = np.zeros(n)
    out = np.empty_like(net)
    zero = np.zeros(n)
    surplus = np.empty(n)
    deficit = np.empty(n)
    room = np.empty(n)
    avail = np.empty(n)
    charge = np.empty(n)
    discharge = np.empty(n)
    # plain ufuncs with out= (np.clip's Python wrapper costs more than the maths here)
    for t in range(hours):
        x = net[t]
        np.maximum(x, zero, out=deficit)
        np.subtract(deficit, x, out=surplus)  # = max(-x, 0)
        np.subtract(cap, soc, out=room)
        room /= eta
        np.minimum(surplus, pmax, out=charge)
        np.minimum(charge, room, out=charge)
        np.multiply(soc, eta, out=avail)
        np.minimum(deficit, pmax, out=discharge)
        np.minimum(discharge, avail, out=discharge)
        soc += charge * eta
        soc -= discharge / eta
        np.add(x, charge, out=out[t])
        out[t] -= discharge
    return out
