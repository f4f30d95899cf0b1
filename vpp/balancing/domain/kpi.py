"""What the controller achieved, from interval series (numbers in, numbers out).

Inputs are per-interval average powers in W over ``interval_h`` hours:
``net_w`` (the segment's measured net at its connection, > 0 import),
``battery_w`` (the segment's batteries together, > 0 charging), ``pv_w``
(generation, >= 0) and a boolean ``red_band`` mask (DUoS red-band intervals).

Avoided charges (seed 002 C.8: "DUoS might be 10p/kWh at peak (red band) times
and TNUoS might be £50/kW p.a. For a private wire community of 200 homes, that
might amount to £15k p.a. of benefit, i.e. £75 per home") are measured against
the same segment without storage control: ``baseline = net - battery`` (what
the connection would have carried had the batteries done nothing). Red-band
energy is annualised from the observed days; the capacity charge applies to
the reduction of the peak import.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import numpy as np


@dataclass(frozen=True)
class Kpis:
    days: float
    import_wh: int
    export_wh: int
    generation_wh: int
    consumption_wh: int
    self_sufficiency_pct: float | None
    self_consumption_pct: float | None
    peak_import_w: int
    baseline_peak_import_w: int
    hours_at_limit: float
    red_band_import_wh: int
    baseline_red_band_import_wh: int
    avoided_duos_gbp_per_year: Decimal
    avoided_capacity_gbp_per_year: Decimal
    homes: int

    @property
    def avoided_gbp_per_year(self) -> Decimal:
        return self.avoided_duos_gbp_per_year + self.avoided_capacity_gbp_per_year

    @property
    def avoided_gbp_per_home_year(self) -> Decimal | None:
        if not self.homes:
            return None
        return (self.avoided_gbp_per_year / self.homes).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _energy(p_w: np.ndarray, interval_h: float) -> int:
    return int(round(float(p_w.sum()) * interval_h))


def kpis(
    *,
    net_w,
    battery_w,
    pv_w,
    red_band,
    interval_h: float,
    import_limit_w,
    export_limit_w,
    homes: int,
    duos_red_p_per_kwh: Decimal = Decimal("10"),
    capacity_gbp_per_kw_year: Decimal = Decimal("50"),
    at_limit_fraction: float = 0.98,
) -> Kpis:
    net = np.asarray(net_w, dtype=float)
    bat = np.asarray(battery_w, dtype=float)
    pv = np.clip(np.asarray(pv_w, dtype=float), 0, None)
    red = np.asarray(red_band, dtype=bool)
    imp_lim = np.broadcast_to(np.asarray(import_limit_w, dtype=float), net.shape)
    exp_lim = np.broadcast_to(np.asarray(export_limit_w, dtype=float), net.shape)
    if not (len(net) == len(bat) == len(pv) == len(red)):
        raise ValueError("the series must have the same length")
    if interval_h <= 0:
        raise ValueError("interval_h must be positive")
    days = len(net) * interval_h / 24.0
    imp = np.clip(net, 0, None)
    exp = np.clip(-net, 0, None)
    base = net - bat
    base_imp = np.clip(base, 0, None)
    import_wh, export_wh, gen_wh = _energy(imp, interval_h), _energy(exp, interval_h), _energy(pv, interval_h)
    # what the homes used: what came in + what was made - what left - what went into storage
    consumption_wh = import_wh + gen_wh - export_wh - _energy(bat, interval_h)
    at_limit = (net >= at_limit_fraction * imp_lim) & (imp_lim > 0) | (-net >= at_limit_fraction * exp_lim) & (
        exp_lim > 0
    )
    red_wh = _energy(imp[red], interval_h)
    base_red_wh = _energy(base_imp[red], interval_h)
    year = Decimal(365) / Decimal(str(days)) if days else Decimal(0)
    duos = (Decimal(base_red_wh - red_wh) / 1000 * duos_red_p_per_kwh / 100 * year).quantize(Decimal("0.01"))
    peak = int(round(float(imp.max()))) if len(imp) else 0
    base_peak = int(round(float(base_imp.max()))) if len(base_imp) else 0
    capacity = (Decimal(base_peak - peak) / 1000 * capacity_gbp_per_kw_year).quantize(Decimal("0.01"))
    return Kpis(
        days=days,
        import_wh=import_wh,
        export_wh=export_wh,
        generation_wh=gen_wh,
        consumption_wh=consumption_wh,
        # over a short window storage may hold more grid energy than the homes used: clip to 0-100 %
        self_sufficiency_pct=(
            min(max(100.0 * (consumption_wh - import_wh) / consumption_wh, 0.0), 100.0) if consumption_wh > 0 else None
        ),
        self_consumption_pct=(min(max(100.0 * (gen_wh - export_wh) / gen_wh, 0.0), 100.0) if gen_wh > 0 else None),
        peak_import_w=peak,
        baseline_peak_import_w=base_peak,
        hours_at_limit=float(at_limit.sum()) * interval_h,
        red_band_import_wh=red_wh,
        baseline_red_band_import_wh=base_red_wh,
        avoided_duos_gbp_per_year=duos,
        avoided_capacity_gbp_per_year=capacity,
        homes=homes,
    )
