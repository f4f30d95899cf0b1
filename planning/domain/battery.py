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
    for t in range(hours):
        x = net[t]
        surplus = np.clip(-x, 0.0, None)
        deficit = np.clip(x, 0.0, None)
        charge = np.minimum(np.minimum(surplus, pmax), (cap - soc) / eta)
        discharge = np.minimum(np.minimum(deficit, pmax), soc * eta)
        soc += charge * eta - discharge / eta
        out[t] = x + charge - discharge
    return out
