"""Personal offers for a group buy: system size, yield, bill savings and payback.

Numbers in, numbers out, vectorised over many households at once (a Solar
Together campaign has 5,000+ registrations, seed 002 section 4.2.1).

Units: roof area m2, tilt and azimuth degrees (azimuth clockwise from north,
180 = south), system sizes in the package's unit (kWp for PV, kWh for a
battery, kW for a heat pump, one charger), energy kWh a year, prices in
pence per kWh, money in pounds.  Money leaves this module as ``Decimal`` to
the penny; the floats inside are only the physics.

PV yield is the LAEP's SAP-calibrated pvlib model (``assets/domain/solar.py``),
grouped by rounded (location, tilt, azimuth) so 10,000 roofs in a town need a
few dozen pvlib runs.  Self-consumption is computed hour by hour against the
BDEW H25 household shape scaled to each home's annual use, so a big array on
a small user exports most of its output at the export price.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

import numpy as np
import pandas as pd

from assets.domain.profiles import household_demand_series_w
from assets.domain.solar import roof_profile_table

PV, BATTERY, HEAT_PUMP, EV_CHARGER = "pv", "battery", "heat_pump", "ev_charger"
KINDS = (PV, BATTERY, HEAT_PUMP, EV_CHARGER)
UNITS = {PV: "kWp", BATTERY: "kWh", HEAT_PUMP: "kW", EV_CHARGER: "charger"}

# Shading: fraction of the unshaded yield lost (MCS MIS 3002 shade factors
# run from 1.0 for no shade to ~0.5 for heavy; these are typical of each band).
SHADING_LOSS = {"none": 0.0, "light": 0.05, "moderate": 0.15, "heavy": 0.30}

# A 430 Wp module is about 1.95 m2 (1.72 m x 1.13 m); fire-access and edge
# set-backs leave about 75 % of a pitched roof plane usable.
MODULE_KWP = 0.43
MODULE_AREA_M2 = 1.95
USABLE_ROOF_FRACTION = 0.75

# Engineering Recommendation G98: an inverter up to 16 A per phase (3.68 kW AC)
# connects on notification; bigger inverters need a G99 application to the DNO
# first.  An array up to ~4.4 kWp runs on a 3.68 kW inverter (DC/AC 1.2, UK
# arrays rarely clip), so G99 starts above that.
G98_LIMIT_KW = 3.68
DC_AC_RATIO = 1.2


def inverter_kw(kwp: float) -> float:
    """The AC rating an installer fits: G98's 3.68 kW while the array allows, else DC/AC 1.2."""
    return round(min(kwp, G98_LIMIT_KW) if kwp <= G98_LIMIT_KW * DC_AC_RATIO else kwp / DC_AC_RATIO, 2)


# Heat pump sizing: delivered heat ~104 kWh/m2/yr (Ofgem TDCV 11,500 kWh gas
# x 85 % boiler / 94 m2 typical floor area), about 2,000 full-load hours a year.
HEAT_KWH_PER_M2 = 104.0
HP_FULL_LOAD_HOURS = 2000.0
HP_SCOP = 3.0
BOILER_EFFICIENCY = 0.85
GAS_STANDING_GBP_PER_YEAR = 115.0  # dropped when the gas meter goes

# EV: 3.3 miles per kWh; a smart charger moves charging to the off-peak rate.
EV_MILES_PER_KWH = 3.3
BATTERY_USABLE = 0.9
BATTERY_ROUND_TRIP = 0.9


class OfferInputError(ValueError):
    """Impossible input (a negative roof, an unknown shading band); the message says which."""


@dataclass(frozen=True)
class Tariff:
    import_p_per_kwh: float = 24.5  # Ofgem price cap, 2025 average
    export_p_per_kwh: float = 15.0  # Smart Export Guarantee, good deals
    offpeak_p_per_kwh: float = 7.5  # EV / battery overnight rate
    gas_p_per_kwh: float = 6.3


@dataclass(frozen=True)
class PackageTerms:
    """What a package is and what it costs: the winning bid's tiers plus the convenor's fee."""

    kind: str
    min_size: float
    max_size: float
    # ((size up to, price per unit in GBP), ...) ascending; a size above the last tier is not offered
    tiers: tuple[tuple[float, Decimal], ...]
    convenor_fee_gbp: Decimal = Decimal("0")
    market_price_per_unit_gbp: Decimal = Decimal("0")
    grant_gbp: Decimal = Decimal("0")
    min_roof_area_m2: float = 0.0
    min_fuse_a: int = 0
    max_shading: str = "heavy"


@dataclass(frozen=True)
class Homes:
    """Columns, one row per household (numpy arrays of equal length)."""

    lat: np.ndarray
    lon: np.ndarray
    tilt_deg: np.ndarray
    azimuth_deg: np.ndarray
    roof_area_m2: np.ndarray
    shading: np.ndarray  # band names, see SHADING_LOSS
    fuse_a: np.ndarray
    annual_use_kwh: np.ndarray
    floor_area_m2: np.ndarray
    ev_miles: np.ndarray

    @property
    def n(self) -> int:
        return len(self.lat)


@dataclass
class Offers:
    """Columns of the result; ``eligible`` False rows carry ``reason`` and zero size."""

    size: np.ndarray
    eligible: np.ndarray
    reason: list[str]
    annual_yield_kwh: np.ndarray
    self_consumed_kwh: np.ndarray
    annual_savings_gbp: np.ndarray
    price_gbp: list[Decimal]
    market_price_gbp: list[Decimal]
    payback_years: np.ndarray  # inf where the savings are zero or less
    notes: list[list[str]] = field(default_factory=list)


@lru_cache(maxsize=1)
def demand_shape() -> np.ndarray:
    """8,760 hourly fractions of a home's year (BDEW H25, the simulator's profile), summing to 1.

    Hours are UTC from 1 January, as the solar model's profiles are.
    """
    times = pd.date_range("2025-01-01 00:30", periods=8760, freq="h", tz="UTC")
    w = household_demand_series_w(times, 1000.0)
    shape = w / w.sum()
    shape.setflags(write=False)
    return shape


def pence_round(x: float | Decimal) -> Decimal:
    return Decimal(str(x)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def tier_price(tiers: tuple[tuple[float, Decimal], ...], size: float) -> Decimal | None:
    """Price for ``size`` units: size x the per-unit price of the first tier that covers it."""
    for up_to, per_unit in tiers:
        if size <= up_to + 1e-9:
            return pence_round(Decimal(str(round(size, 3))) * Decimal(per_unit))
    return None


def validate_tiers(tiers: tuple[tuple[float, Decimal], ...], *, min_size: float, max_size: float) -> None:
    if not tiers:
        raise OfferInputError("A bid needs at least one price tier.")
    last = 0.0
    for up_to, per_unit in tiers:
        if up_to <= last:
            raise OfferInputError("Price tiers must have increasing sizes ('up to' values).")
        if Decimal(per_unit) <= 0:
            raise OfferInputError(f"The price per unit of the tier up to {up_to:g} must be more than zero.")
        last = up_to
    if last + 1e-9 < max_size:
        raise OfferInputError(f"The tiers must cover sizes up to the package's largest system ({max_size:g}).")


def _column(x, n: int, dtype=float) -> np.ndarray:
    a = np.asarray(x, dtype=dtype)
    if a.shape != (n,):
        raise OfferInputError(f"Expected {n} values, got shape {a.shape}.")
    return a


def homes(**cols) -> Homes:
    n = len(cols["lat"])
    shading = np.asarray(cols["shading"], dtype=object)
    bad = sorted({s for s in shading if s not in SHADING_LOSS})
    if bad:
        raise OfferInputError(f"Shading must be one of {', '.join(SHADING_LOSS)}; got {', '.join(map(str, bad))}.")
    h = Homes(
        lat=_column(cols["lat"], n),
        lon=_column(cols["lon"], n),
        tilt_deg=_column(cols["tilt_deg"], n),
        azimuth_deg=_column(cols["azimuth_deg"], n),
        roof_area_m2=_column(cols["roof_area_m2"], n),
        shading=shading,
        fuse_a=_column(cols["fuse_a"], n),
        annual_use_kwh=_column(cols["annual_use_kwh"], n),
        floor_area_m2=_column(cols.get("floor_area_m2", np.full(n, 94.0)), n),
        ev_miles=_column(cols.get("ev_miles", np.full(n, 7400.0)), n),
    )
    for name in ("roof_area_m2", "annual_use_kwh", "floor_area_m2", "ev_miles", "fuse_a"):
        if (getattr(h, name) < 0).any() or not np.isfinite(getattr(h, name)).all():
            raise OfferInputError(f"{name.replace('_', ' ')} must be zero or more.")
    if ((h.tilt_deg < 0) | (h.tilt_deg > 90)).any():
        raise OfferInputError("Roof pitch must be between 0 and 90 degrees.")
    if ((h.azimuth_deg < 0) | (h.azimuth_deg > 360)).any():
        raise OfferInputError("Roof orientation must be between 0 and 360 degrees (180 = south).")
    return h


def pv_size_kwp(roof_area_m2: np.ndarray, max_kwp: float) -> np.ndarray:
    panels = np.floor(roof_area_m2 * USABLE_ROOF_FRACTION / MODULE_AREA_M2)
    return np.minimum(np.round(panels * MODULE_KWP, 2), max_kwp)


def min_roof_area_for(kwp: float) -> float:
    panels = np.ceil(kwp / MODULE_KWP - 1e-9)
    return float(panels * MODULE_AREA_M2 / USABLE_ROOF_FRACTION)


def _self_consumption(gen_kwh_per_kwp, index, kwp, use_kwh, demand_shape, chunk: int = 512):
    """Hourly self-consumed and total kWh per home (chunks keep memory ~20 MB)."""
    n = len(kwp)
    self_kwh = np.zeros(n)
    total = np.zeros(n)
    shape = demand_shape.astype(np.float32)
    for s in range(0, n, chunk):
        sl = slice(s, min(n, s + chunk))
        gen = gen_kwh_per_kwp[index[sl]] * kwp[sl, None].astype(np.float32)
        dem = shape[None, :] * use_kwh[sl, None].astype(np.float32)
        self_kwh[sl] = np.minimum(gen, dem).sum(axis=1, dtype=np.float64)
        total[sl] = gen.sum(axis=1, dtype=np.float64)
    return self_kwh, total


def _eligibility(h: Homes, terms: PackageTerms, size: np.ndarray) -> tuple[np.ndarray, list[str]]:
    reasons = [""] * h.n
    ok = np.ones(h.n, dtype=bool)
    order = list(SHADING_LOSS)
    limit = order.index(terms.max_shading) if terms.max_shading in order else len(order) - 1
    for i in range(h.n):
        if terms.kind == PV and size[i] + 1e-9 < terms.min_size:
            need = min_roof_area_for(terms.min_size)
            reasons[i] = (
                f"Roof too small: {h.roof_area_m2[i]:g} m2 fits {size[i]:g} kWp; "
                f"this package starts at {terms.min_size:g} kWp (about {need:.0f} m2 of roof)."
            )
        elif terms.min_roof_area_m2 and h.roof_area_m2[i] < terms.min_roof_area_m2:
            reasons[i] = (
                f"Roof too small: the package needs {terms.min_roof_area_m2:g} m2, the roof is {h.roof_area_m2[i]:g} m2."
            )
        elif terms.min_fuse_a and h.fuse_a[i] < terms.min_fuse_a:
            reasons[i] = (
                f"Main fuse too small: the package needs a {terms.min_fuse_a} A fuse, the home has "
                f"{int(h.fuse_a[i])} A (ask the DNO for an upgrade first)."
            )
        elif order.index(h.shading[i]) > limit:
            reasons[i] = f"Roof too shaded ({h.shading[i]}) for this package (at most {terms.max_shading})."
        if reasons[i]:
            ok[i] = False
    return ok, reasons


def personal_offers(
    h: Homes,
    terms: PackageTerms,
    *,
    demand_shape: np.ndarray,
    tariff: Tariff = Tariff(),
    pv_kwp: np.ndarray | None = None,
) -> Offers:
    """One offer per home for one package.

    ``demand_shape``: 8,760 hourly fractions of a year's use (sums to 1).
    ``pv_kwp``: PV each home has or is buying, for a battery's savings.
    """
    if terms.kind not in KINDS:
        raise OfferInputError(f"Unknown package kind {terms.kind!r}.")
    n = h.n
    demand_shape = np.asarray(demand_shape, dtype=float)
    if demand_shape.shape != (8760,) or abs(demand_shape.sum() - 1.0) > 1e-3:
        raise OfferInputError("The demand shape must be 8,760 hourly fractions summing to 1.")
    yield_kwh = np.zeros(n)
    self_kwh = np.zeros(n)
    notes: list[list[str]] = [[] for _ in range(n)]
    imp, exp_, off = tariff.import_p_per_kwh / 100, tariff.export_p_per_kwh / 100, tariff.offpeak_p_per_kwh / 100

    if terms.kind == PV:
        size = pv_size_kwp(h.roof_area_m2, terms.max_size)
        index, profiles = roof_profile_table(h.lat, h.lon, h.tilt_deg, h.azimuth_deg)
        shade = np.array([SHADING_LOSS[s] for s in h.shading])
        kwp_eff = size * (1.0 - shade)
        self_kwh, yield_kwh = _self_consumption(profiles, index, kwp_eff, h.annual_use_kwh, demand_shape)
        savings = self_kwh * imp + (yield_kwh - self_kwh) * exp_
        for i in np.flatnonzero(size > G98_LIMIT_KW * DC_AC_RATIO):
            notes[i].append(
                f"{size[i]:g} kWp needs a {inverter_kw(float(size[i])):g} kW inverter, over G98's 3.68 kW: "
                "the installer applies to the DNO (G99) first."
            )
    elif terms.kind == BATTERY:
        size = np.clip(np.round(h.annual_use_kwh / 365.0 * 0.6, 1), terms.min_size, terms.max_size)
        usable = size * BATTERY_USABLE
        evening = h.annual_use_kwh / 365.0 * 0.55  # share of a day's use after the sun sets
        have_pv = np.zeros(n) if pv_kwp is None else np.asarray(pv_kwp, dtype=float)
        # days a year the battery fills from surplus PV, the rest from the off-peak rate
        solar_days = np.clip(have_pv * 40.0, 0.0, 200.0)
        shifted = np.minimum(usable, evening) * BATTERY_ROUND_TRIP
        savings = shifted * (solar_days * (imp - exp_) + (365.0 - solar_days) * (imp - off / BATTERY_ROUND_TRIP))
    elif terms.kind == HEAT_PUMP:
        heat = h.floor_area_m2 * HEAT_KWH_PER_M2
        size = np.clip(np.ceil(heat / HP_FULL_LOAD_HOURS), terms.min_size, terms.max_size)
        gas_cost = heat / BOILER_EFFICIENCY * tariff.gas_p_per_kwh / 100 + GAS_STANDING_GBP_PER_YEAR
        savings = gas_cost - heat / HP_SCOP * imp
        yield_kwh = heat
    else:  # EV charger
        size = np.ones(n)
        ev_kwh = h.ev_miles / EV_MILES_PER_KWH
        savings = ev_kwh * (imp - off)
        yield_kwh = ev_kwh

    ok, reasons = _eligibility(h, terms, size)
    size = np.where(ok, size, 0.0)
    savings = np.where(ok, np.round(savings, 2), 0.0)
    prices: list[Decimal] = []
    market: list[Decimal] = []
    payback = np.full(n, np.inf)
    for i in range(n):
        if not ok[i]:
            prices.append(Decimal("0.00"))
            market.append(Decimal("0.00"))
            continue
        base = tier_price(terms.tiers, float(size[i]))
        if base is None:
            ok[i] = False
            reasons[i] = f"No price tier covers {size[i]:g} {UNITS[terms.kind]}."
            prices.append(Decimal("0.00"))
            market.append(Decimal("0.00"))
            continue
        price = max(Decimal("0.00"), base + terms.convenor_fee_gbp - terms.grant_gbp)
        prices.append(price)
        alone = pence_round(Decimal(str(round(float(size[i]), 3))) * terms.market_price_per_unit_gbp)
        market.append(max(Decimal("0.00"), alone - terms.grant_gbp))
        if savings[i] > 0:
            payback[i] = round(float(price) / float(savings[i]), 1)
    return Offers(
        size=size,
        eligible=ok,
        reason=reasons,
        annual_yield_kwh=np.where(ok, np.round(yield_kwh), 0.0),
        self_consumed_kwh=np.where(ok, np.round(self_kwh), 0.0),
        annual_savings_gbp=savings,
        price_gbp=prices,
        market_price_gbp=market,
        payback_years=payback,
        notes=notes,
    )
