"""How much flexibility each device can give, per period, as P10/P50/P90.

Pure, numpy. Input: a device's power history (W, positive = drawing) laid out
as days x periods-of-the-day for the same local half-hours, its rating, and the
household's limits. Each past day says what the device *could* have given in
that half-hour had it been asked; the spread over days gives the quantiles
(P10 = available on 9 days in 10, the volume a careful bid offers).

What a device can give (turn-down, measured at the household's meter):
- battery: go from its power ``p`` to full discharge: ``rated + max(p, 0)``
  (the energy above the reserve caps it over an event; dispatch applies that);
- EV charger: stop charging: ``max(p, 0)`` (only when plugged in and charging);
- heat pump: a setpoint shift of -2 K idles the compressor for most of a
  half-hour in a well-insulated home: ``HEAT_PUMP_SHARE * max(p, 0)``;
- controllable load: ``max(p, 0)``;
- turn-down home (no device, behavioural): its declared share of its usual import.
Turn-up is the mirror: battery ``rated - p`` (charge harder), EV ``rated - p``
when plugged in, heat pump ``HEAT_PUMP_SHARE * (rated - p)`` (pre-heat), load 0.
"""

from __future__ import annotations

import numpy as np

HEAT_PUMP_SHARE = 0.6


def flex_w(
    kind: str,
    power_w: np.ndarray,
    *,
    rated_w: int,
    direction: str = "down",
    turn_down_pct: float = 15.0,
    plugged: np.ndarray | None = None,
) -> np.ndarray:
    p = np.asarray(power_w, dtype=float)
    up = direction == "up"
    if kind == "battery":
        f = (rated_w - p) if up else (rated_w + np.maximum(p, 0))
        f = np.minimum(f, 2 * rated_w)
    elif kind == "ev_charger":
        if up:
            f = (rated_w - np.maximum(p, 0)) * (plugged if plugged is not None else (p > 0))
        else:
            f = np.maximum(p, 0)
    elif kind == "heat_pump":
        f = HEAT_PUMP_SHARE * ((rated_w - np.maximum(p, 0)) if up else np.maximum(p, 0))
    elif kind == "load":
        f = np.zeros_like(p) if up else np.maximum(p, 0)
    elif kind == "turn_down":
        f = np.zeros_like(p) if up else np.maximum(p, 0) * turn_down_pct / 100.0
    else:
        f = np.zeros_like(p)
    return np.clip(f, 0, None)


def quantiles(flex: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """P10/P50/P90 over days (axis 0) of a days x periods array, in whole W.

    P10 is the *low* end (what is there on 9 days in 10)."""
    a = np.asarray(flex, dtype=float)
    if a.ndim != 2 or a.shape[0] == 0:
        raise ValueError("need a days x periods array with at least one day")
    q = np.nanpercentile(a, [10, 50, 90], axis=0)
    q = np.nan_to_num(q, nan=0.0)
    return tuple(np.floor(x).astype(int) for x in q)  # type: ignore[return-value]


def aggregate(rows: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> tuple[list[int], list[int], list[int]]:
    """Sum devices' quantiles. Summing P10s is conservative (it assumes every
    device is low together), which is the side a bid should err on."""
    if not rows:
        return [], [], []
    p10 = np.sum([r[0] for r in rows], axis=0)
    p50 = np.sum([r[1] for r in rows], axis=0)
    p90 = np.sum([r[2] for r in rows], axis=0)
    return [int(v) for v in p10], [int(v) for v in p50], [int(v) for v in p90]
