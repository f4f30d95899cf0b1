"""Local Area Energy Plan scenarios: options x take-up by year -> results.

A scenario is a set of options (rooftop PV, home batteries, heat pumps, a
shared ground loop, EV chargers, retrofit by EPC band, a community solar
array, a wind turbine), each with a take-up curve over the plan years (share
of eligible buildings, or share of a community asset's capacity built).  For
every year the engine works out, from 8,760-hour profiles:

- capital cost of what is installed that year, O&M (seed 002 C.4: 1-5 % of
  capex a year), bill savings against doing nothing, community-asset income;
- carbon: baseline vs scenario, saved per year and cumulative;
- local self-sufficiency (share of the area's demand met by local generation,
  the area treated as behind one meter);
- per network node: peak import and export against capacity, overload flags.

How it stays fast (5,000 buildings x 10 options x 8,760 h in a few seconds):
every building's hourly load is a weighted sum of a few shared shapes
(appliances, heat, heat pump, EV) and its PV a multiple of a cached per-roof
kWh/kWp profile.  Anything linear (node profiles, area totals, carbon) is done
by summing the weights per (node, year) and one matrix product with the
shapes.  Only what is not linear is simulated per building: import/export of
buildings with PV, and battery dispatch - once per distinct (building, set of
measures) rather than once per year.

Pure: no Django, no clock - the caller passes ``current_year``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

from . import battery as battery_mod
from .buildings import BAND_CODE, FUEL_CODE, Building, BuildingStock, stock_from_buildings
from .errors import PlanningError
from .profiles import electricity_shape, ev_shape, heat_pump_shape, heat_shape
from .reference import EPC_BANDS, epc_energy_cost_factor, merged_assumptions
from .solar import pv_profile_kwh_per_kwp, roof_profile_table, validate_location, validate_orientation
from .weather import HOURS, hourly_wind_speed_ms, month_of_hour

__all__ = [
    "Building",
    "BuildingStock",
    "NetworkNode",
    "OptionChoice",
    "PlanningError",
    "ScenarioResult",
    "BUILDING_OPTIONS",
    "COMMUNITY_OPTIONS",
    "OPTION_KINDS",
    "run_scenario",
    "current_state",
    "stock_from_buildings",
    "take_up_by_year",
    "wind_power_curve",
]

BUILDING_OPTIONS = ("rooftop_pv", "battery", "heat_pump", "ground_loop", "ev_charger", "retrofit")
COMMUNITY_OPTIONS = ("community_solar", "wind_turbine")
OPTION_KINDS = BUILDING_OPTIONS + COMMUNITY_OPTIONS
OPTION_LABELS = {
    "rooftop_pv": "Rooftop solar PV",
    "battery": "Home batteries",
    "heat_pump": "Air-source heat pumps",
    "ground_loop": "Shared ground loop (ground-source heat pumps)",
    "ev_charger": "EV chargers",
    "retrofit": "Insulation / retrofit by EPC band",
    "community_solar": "Community solar array",
    "wind_turbine": "Wind turbine",
}
LAST_PLAN_YEAR = 2060
NEVER = 10_000
PENNY = Decimal("0.01")
CHUNK = 512


@dataclass(frozen=True)
class NetworkNode:
    ref: str
    parent: str | None
    capacity_kw: float  # import (demand) capacity
    existing_peak_kw: float | None = None  # measured peak demand (DNO open data)
    name: str = ""
    export_capacity_kw: float | None = None  # reverse power flow limit; None = same as import

    @property
    def export_limit_kw(self) -> float:
        return self.capacity_kw if self.export_capacity_kw is None else self.export_capacity_kw


@dataclass(frozen=True)
class OptionChoice:
    key: str
    kind: str
    take_up: Mapping[int, float]  # year -> cumulative share 0..1
    params: Mapping[str, float | str] = field(default_factory=dict)
    label: str = ""


# --------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------


@dataclass
class YearResult:
    year: int
    capex_gbp: Decimal
    capex_cumulative_gbp: Decimal
    om_gbp: Decimal
    bill_savings_gbp: Decimal
    community_income_gbp: Decimal
    net_benefit_gbp: Decimal
    carbon_baseline_kg: int
    carbon_scenario_kg: int
    carbon_saved_kg: int
    carbon_saved_cumulative_kg: int
    demand_elec_wh: int
    demand_heat_fuel_wh: int
    generation_wh: int
    grid_import_wh: int
    grid_export_wh: int
    self_sufficiency: float
    installed: dict[str, float]


@dataclass
class NodeResult:
    ref: str
    name: str
    capacity_w: int
    export_capacity_w: int
    baseline_peak_w: int
    peak_w: list[int]  # per plan year, import direction
    export_peak_w: list[int]  # per plan year, reverse power flow
    first_overload_year: int | None
    overloaded_years: list[int]


@dataclass
class ScenarioResult:
    start_year: int
    end_year: int
    years: list[YearResult]
    nodes: list[NodeResult]
    total_capex_gbp: Decimal
    annual_net_benefit_gbp: Decimal
    simple_payback_years: Decimal | None
    carbon_saved_cumulative_kg: int
    self_sufficiency_baseline: float
    self_sufficiency_end: float
    options: list[dict]
    monthly: dict[str, list[float]]  # kWh per month: baseline/end demand, generation, import, export
    peak_day: dict[str, list[float]]  # kW per hour on the winter peak day: baseline vs end
    assumptions: dict[str, float]
    warnings: list[str]

    def to_dict(self) -> dict:
        def conv(v):
            if isinstance(v, Decimal):
                return str(v)
            if isinstance(v, dict):
                return {str(k): conv(x) for k, x in v.items()}
            if isinstance(v, (list, tuple)):
                return [conv(x) for x in v]
            if isinstance(v, (np.floating,)):
                return float(v)
            if isinstance(v, (np.integer,)):
                return int(v)
            return v

        return conv(asdict(self))


def _gbp(x: float) -> Decimal:
    return Decimal(repr(float(x))).quantize(PENNY, rounding=ROUND_HALF_UP)


def _wh(kwh: float) -> int:
    return int(round(float(kwh) * 1000.0))


# --------------------------------------------------------------------------
# take-up
# --------------------------------------------------------------------------


def take_up_by_year(
    points: Mapping[int, float], years: Sequence[int], *, current_year: int, label: str = "option"
) -> np.ndarray:
    """Cumulative share per year: 0 before the first point, linear between
    points, flat after the last.  Refuses impossible curves."""
    if not points:
        raise PlanningError(f"{label}: give a take-up for at least one year.")
    clean: list[tuple[int, float]] = []
    for y, f in points.items():
        try:
            yi = int(y)
            fv = float(f)
        except (TypeError, ValueError):
            raise PlanningError(f"{label}: take-up {f!r} in {y!r} is not a number.") from None
        if yi < current_year:
            raise PlanningError(f"{label}: {yi} is before the current year {current_year}; plans look forward.")
        if yi > LAST_PLAN_YEAR:
            raise PlanningError(f"{label}: {yi} is beyond {LAST_PLAN_YEAR}.")
        if not (0.0 <= fv <= 1.0) or fv != fv:
            raise PlanningError(f"{label}: take-up in {yi} is {fv * 100:g}%; it must be between 0% and 100%.")
        clean.append((yi, fv))
    clean.sort()
    for (y0, f0), (y1, f1) in zip(clean, clean[1:], strict=False):
        if f1 < f0:
            raise PlanningError(
                f"{label}: take-up falls from {f0 * 100:g}% in {y0} to {f1 * 100:g}% in {y1}; "
                "installed kit is not removed, so take-up can only stay level or rise."
            )
    xs = np.array([y for y, _ in clean], dtype=float)
    fs = np.array([f for _, f in clean], dtype=float)
    yrs = np.asarray(years, dtype=float)
    out = np.interp(yrs, xs, fs)
    out[yrs < xs[0]] = 0.0
    return out


def _adoption_years(order: np.ndarray, shares: np.ndarray, years: Sequence[int], n_total: int) -> np.ndarray:
    """First year each building adopts: the first ``round(share*eligible)``
    buildings of ``order`` have it by that year."""
    adopt = np.full(n_total, NEVER, dtype=np.int64)
    n_elig = len(order)
    counts = np.floor(shares * n_elig + 0.5).astype(np.int64)
    prev = 0
    for y, c in zip(years, counts, strict=False):
        if c > prev:
            adopt[order[prev:c]] = y
            prev = c
    return adopt


# --------------------------------------------------------------------------
# wind
# --------------------------------------------------------------------------


def wind_power_curve(
    speed_ms: np.ndarray, *, cut_in: float = 3.0, rated: float = 12.0, cut_out: float = 25.0
) -> np.ndarray:
    """Generic turbine power curve as a share of rated power: cubic from
    cut-in to rated speed, flat to cut-out, zero beyond (storm shutdown)."""
    v = np.asarray(speed_ms, dtype=float)
    p = (v**3 - cut_in**3) / (rated**3 - cut_in**3)
    p = np.where(v < cut_in, 0.0, np.where(v >= rated, 1.0, p))
    return np.where(v >= cut_out, 0.0, p)


WIND_AVAILABILITY = 0.97


# --------------------------------------------------------------------------
# engine
# --------------------------------------------------------------------------


@dataclass
class _Plan:
    years: list[int]  # index 0 is the baseline (today's stock); 1.. the plan years
    a: dict[str, float]
    stock: BuildingStock
    node_index: np.ndarray  # per building, row in nodes (len(nodes) = unassigned)
    nodes: list[NetworkNode]


def _validate_nodes(nodes: Sequence[NetworkNode]) -> dict[str, int]:
    index: dict[str, int] = {}
    for n in nodes:
        if n.ref in index:
            raise PlanningError(f"Network node {n.ref!r} appears twice.")
        if not (n.capacity_kw > 0):
            raise PlanningError(f"Network node {n.ref}: capacity must be more than 0 kW, got {n.capacity_kw:g}.")
        if n.export_capacity_kw is not None and n.export_capacity_kw < 0:
            raise PlanningError(f"Network node {n.ref}: export capacity cannot be negative.")
        if n.existing_peak_kw is not None and n.existing_peak_kw < 0:
            raise PlanningError(f"Network node {n.ref}: peak load cannot be negative.")
        index[n.ref] = len(index)
    for n in nodes:
        if n.parent is not None and n.parent not in index:
            raise PlanningError(f"Network node {n.ref}: parent {n.parent!r} is not in the network.")
    # cycles
    for n in nodes:
        seen = {n.ref}
        p = n.parent
        while p is not None:
            if p in seen:
                raise PlanningError(f"Network node {n.ref}: the network has a loop through {p!r}.")
            seen.add(p)
            p = nodes[index[p]].parent
    return index


def _validate_options(
    options: Sequence[OptionChoice], years: Sequence[int], current_year: int
) -> dict[str, np.ndarray]:
    shares: dict[str, np.ndarray] = {}
    kinds_seen: dict[str, str] = {}
    for o in options:
        label = o.label or OPTION_LABELS.get(o.kind, o.kind)
        if o.kind not in OPTION_KINDS:
            raise PlanningError(f"Unknown option kind {o.kind!r}.")
        if o.key in shares:
            raise PlanningError(f"Option key {o.key!r} is used twice in the scenario.")
        if o.kind in BUILDING_OPTIONS:
            if o.kind in kinds_seen:
                raise PlanningError(
                    f"{label}: the scenario already has a {OPTION_LABELS[o.kind]} option "
                    f"({kinds_seen[o.kind]}); combine their take-up into one."
                )
            kinds_seen[o.kind] = o.key
        shares[o.key] = take_up_by_year(o.take_up, years, current_year=current_year, label=label)
        p = o.params
        if o.kind == "community_solar":
            kwp = float(p.get("kwp", 0) or 0)
            if kwp <= 0:
                raise PlanningError(f"{label}: give the array's size in kWp (more than 0).")
            validate_orientation(float(p.get("tilt_deg", 30)), float(p.get("azimuth_deg", 180)))
        if o.kind == "wind_turbine":
            if float(p.get("rated_kw", 0) or 0) <= 0:
                raise PlanningError(f"{label}: give the turbine's rated power in kW (more than 0).")
            if "mean_speed_ms" in p and float(p["mean_speed_ms"]) <= 0:
                raise PlanningError(f"{label}: mean wind speed must be more than 0 m/s.")
        if o.kind == "retrofit" and str(p.get("target_band", "C")) not in EPC_BANDS:
            raise PlanningError(f"{label}: target EPC band must be one of A-G.")
    hp = next((o for o in options if o.kind == "heat_pump"), None)
    gl = next((o for o in options if o.kind == "ground_loop"), None)
    if hp and gl:
        both = shares[hp.key] + shares[gl.key]
        if (both > 1.0 + 1e-9).any():
            y = years[int(np.argmax(both > 1.0 + 1e-9))]
            raise PlanningError(
                f"Heat pumps and the shared ground loop together reach {both.max() * 100:.0f}% of "
                f"gas/oil/electric-heated buildings by {y}; a building gets one or the other, so the two "
                "take-ups cannot add up to more than 100%."
            )
    return shares


def run_scenario(
    stock: BuildingStock | Sequence[Building],
    nodes: Sequence[NetworkNode],
    options: Sequence[OptionChoice],
    *,
    start_year: int,
    end_year: int,
    current_year: int,
    assumptions: Mapping[str, float] | None = None,
    seed: int = 0,
    progress: Callable[[float, str], None] | None = None,
) -> ScenarioResult:
    """Compute a scenario.  Raises PlanningError saying why it cannot."""
    report = progress or (lambda f, m: None)
    a = merged_assumptions(dict(assumptions or {}))
    if start_year < current_year:
        raise PlanningError(f"The scenario starts in {start_year}, before the current year {current_year}.")
    if end_year < start_year:
        raise PlanningError(f"The scenario ends ({end_year}) before it starts ({start_year}).")
    if end_year > LAST_PLAN_YEAR:
        raise PlanningError(f"The scenario runs beyond {LAST_PLAN_YEAR}.")
    if not isinstance(stock, BuildingStock):
        stock = stock_from_buildings(list(stock), boiler_efficiency=a["boiler_efficiency"])
    if len(stock) == 0:
        raise PlanningError("The plan has no buildings yet: import some or add the community's sites.")
    node_map = _validate_nodes(nodes)
    plan_years = list(range(start_year, end_year + 1))
    shares = _validate_options(options, plan_years, current_year)
    unknown_nodes = sorted({n for n in stock.node if n is not None and n not in node_map})
    if unknown_nodes:
        raise PlanningError(
            f"Buildings refer to network nodes that are not in the network: {', '.join(unknown_nodes[:5])}."
        )
    node_index = np.array([node_map[n] if n is not None else len(nodes) for n in stock.node], dtype=np.int64)
    report(0.05, "Preparing profiles")
    return _Engine(stock, list(nodes), node_index, list(options), plan_years, shares, a, seed, report).run()


class _Engine:
    def __init__(self, stock, nodes, node_index, options, plan_years, shares, a, seed, report):
        self.s = stock
        self.nodes = nodes
        self.node_index = node_index
        self.options = options
        self.plan_years = plan_years
        self.years = [plan_years[0] - 1] + plan_years  # index 0 = baseline
        self.shares = shares
        self.a = a
        self.seed = seed
        self.report = report
        self.warnings: list[str] = []
        self.n = len(stock)
        self.by_kind = {o.kind: o for o in options if o.kind in BUILDING_OPTIONS}

    # ---- shapes -----------------------------------------------------------
    def _shapes(self):
        s, a = self.s, self.a
        flow = a["ashp_flow_temp_c"]
        ground = a["ground_temp_c"]
        keys = sorted({(int(r), bool(d)) for r, d in zip(s.region, s.domestic, strict=False)})
        rows: list[np.ndarray] = []
        self.shape_id: dict[tuple, int] = {}
        self.shape_sum: list[float] = []

        def add(key, arr):
            self.shape_id[key] = len(rows)
            rows.append(np.asarray(arr, dtype=np.float32))
            self.shape_sum.append(float(np.asarray(arr, dtype=np.float64).sum()))

        for region, dom in keys:
            add(("elec", region, dom), electricity_shape(dom))
            add(("heat", region, dom), heat_shape(region, dom))
            add(("ashp", region, dom), heat_pump_shape(region, dom, flow, None)[0])
            add(("gshp", region, dom), heat_pump_shape(region, dom, flow, ground)[0])
        ev_kwh = a["ev_miles_per_year"] / a["ev_miles_per_kwh"]
        self.ev_kwh = ev_kwh
        smart = (
            bool(float(self.by_kind["ev_charger"].params.get("smart", 0))) if "ev_charger" in self.by_kind else False
        )
        add(("ev",), ev_shape(a["ev_charger_kw"], ev_kwh / 365.0, smart))
        self.S = np.vstack(rows)
        self.shape_sum_arr = np.array(self.shape_sum)
        key_rows = [(int(r), bool(d)) for r, d in zip(s.region, s.domestic, strict=False)]
        self.sid_elec = np.array([self.shape_id[("elec", *k)] for k in key_rows])
        self.sid_heat = np.array([self.shape_id[("heat", *k)] for k in key_rows])
        self.sid_ashp = np.array([self.shape_id[("ashp", *k)] for k in key_rows])
        self.sid_gshp = np.array([self.shape_id[("gshp", *k)] for k in key_rows])
        self.sid_ev = self.shape_id[("ev",)]
        # roof PV profiles
        self.roof_row, self.G = roof_profile_table(
            s.lat, s.lon, s.roof_tilt_deg, s.roof_azimuth_deg, losses=a["pv_system_losses"]
        )
        self.G_sum = self.G.astype(np.float64).sum(axis=1)

    # ---- who adopts what, when -------------------------------------------
    def _adoption(self):
        s, a, n = self.s, self.a, self.n
        rng = np.random.default_rng(self.seed)
        years = self.plan_years
        adopt: dict[str, np.ndarray] = {}
        sizes: dict[str, np.ndarray] = {}
        # rooftop PV: any building without PV already
        pv_size = np.where(
            np.isnan(s.roof_area_m2),
            np.where(s.domestic, a["pv_default_kwp"], 10.0),
            s.roof_area_m2 * a["pv_usable_roof"] * a["pv_kwp_per_m2"],
        )
        pv_size = np.where(s.domestic, np.minimum(pv_size, a["pv_max_domestic_kwp"]), pv_size)
        pv_elig = np.flatnonzero((s.existing_pv_kwp <= 0) & (pv_size >= 0.5))
        pv_order = rng.permutation(pv_elig)
        sizes["pv_kwp"] = np.where(np.isin(np.arange(n), pv_elig), pv_size, 0.0)
        if "rooftop_pv" in self.by_kind:
            o = self.by_kind["rooftop_pv"]
            adopt["rooftop_pv"] = _adoption_years(pv_order, self.shares[o.key], years, n)
        else:
            adopt["rooftop_pv"] = np.full(n, NEVER, dtype=np.int64)
        if "battery" in self.by_kind:
            o = self.by_kind["battery"]
            has_pv = np.flatnonzero(s.existing_pv_kwp > 0)
            order = np.concatenate([rng.permutation(has_pv), pv_order])
            own = _adoption_years(order, self.shares[o.key], years, n)
            pv_year = np.where(s.existing_pv_kwp > 0, years[0], adopt["rooftop_pv"])
            batt = np.maximum(own, pv_year)
            batt[own >= NEVER] = NEVER
            adopt["battery"] = batt
        heat_elig = np.flatnonzero(
            np.isin(s.fuel, [FUEL_CODE["gas"], FUEL_CODE["oil"], FUEL_CODE["electric"]]) & (s.heat_kwh > 0)
        )
        heat_order = rng.permutation(heat_elig)
        if "heat_pump" in self.by_kind:
            adopt["heat_pump"] = _adoption_years(heat_order, self.shares[self.by_kind["heat_pump"].key], years, n)
        if "ground_loop" in self.by_kind:
            adopt["ground_loop"] = _adoption_years(
                heat_order[::-1], self.shares[self.by_kind["ground_loop"].key], years, n
            )
        if "ev_charger" in self.by_kind:
            ev_elig = np.flatnonzero(s.domestic & np.array([t != "flat" for t in s.building_type]))
            adopt["ev_charger"] = _adoption_years(
                rng.permutation(ev_elig), self.shares[self.by_kind["ev_charger"].key], years, n
            )
        if "retrofit" in self.by_kind:
            o = self.by_kind["retrofit"]
            target = BAND_CODE[str(o.params.get("target_band", "C"))]
            elig = np.flatnonzero((s.epc_band > target) & (s.heat_kwh > 0))
            adopt["retrofit"] = _adoption_years(rng.permutation(elig), self.shares[o.key], years, n)
            factors = np.array([epc_energy_cost_factor(b) for b in EPC_BANDS])
            self.retrofit_factor = np.where(s.epc_band > target, factors[target] / factors[s.epc_band], 1.0)
            self.retrofit_bands = np.clip(s.epc_band - target, 0, None)
        for k in BUILDING_OPTIONS:
            adopt.setdefault(k, np.full(n, NEVER, dtype=np.int64))
        self.adopt = adopt
        self.pv_size = sizes["pv_kwp"]
        for kind, arr in adopt.items():
            if kind in self.by_kind and (arr >= NEVER).all() and self.shares[self.by_kind[kind].key].max() > 0:
                self.warnings.append(
                    f"{OPTION_LABELS[kind]}: no building in the area is eligible, so it changes nothing."
                )

    # ---- state per (building, year) --------------------------------------
    def _state(self, yi: int):
        """Coefficients for year index yi (0 = baseline)."""
        s, a = self.s, self.a
        y = self.years[yi]
        if yi == 0:
            has = {k: np.zeros(self.n, dtype=bool) for k in BUILDING_OPTIONS}
        else:
            has = {k: self.adopt[k] <= y for k in BUILDING_OPTIONS}
        heat = s.heat_kwh.copy()
        if "retrofit" in self.by_kind:
            heat = np.where(has["retrofit"], heat * self.retrofit_factor, heat)
        converted = has["heat_pump"] | has["ground_loop"]
        res_heat = np.where((s.fuel == FUEL_CODE["electric"]) & ~converted, heat, 0.0)
        ashp_heat = np.where(has["heat_pump"] | ((s.fuel == FUEL_CODE["heat_pump"]) & ~has["ground_loop"]), heat, 0.0)
        gshp_heat = np.where(has["ground_loop"], heat, 0.0)
        fuel_kwh = np.where(
            np.isin(s.fuel, [FUEL_CODE["gas"], FUEL_CODE["oil"]]) & ~converted, heat / a["boiler_efficiency"], 0.0
        )
        ev = np.where(has["ev_charger"], self.ev_kwh, 0.0)
        kwp = s.existing_pv_kwp + np.where(has["rooftop_pv"], self.pv_size, 0.0)
        batt = has["battery"] & (kwp > 0)
        coef = np.stack([s.appliance_elec_kwh, res_heat, ashp_heat, gshp_heat, ev], axis=1)
        sid = np.stack(
            [self.sid_elec, self.sid_heat, self.sid_ashp, self.sid_gshp, np.full(self.n, self.sid_ev)], axis=1
        )
        mask = np.zeros(self.n, dtype=np.int64)
        for bit, k in enumerate(BUILDING_OPTIONS):
            mask |= has[k].astype(np.int64) << bit
        return dict(
            coef=coef,
            sid=sid,
            kwp=kwp,
            batt=batt,
            fuel_kwh=fuel_kwh,
            has=has,
            mask=mask,
            load=(coef * self.shape_sum_arr[sid]).sum(axis=1),
        )

    # ---- main ------------------------------------------------------------
    def run(self) -> ScenarioResult:
        a = self.a
        self._shapes()
        self.report(0.15, "Working out who adopts what, when")
        self._adoption()
        n_years = len(self.years)
        n_rows = len(self.nodes) + 1
        n_shapes = self.S.shape[0]
        n_roofs = self.G.shape[0]
        W = np.zeros((n_rows * n_years, n_shapes))
        Wg = np.zeros((n_rows * n_years, n_roofs))
        states = []
        for yi in range(n_years):
            st = self._state(yi)
            states.append(st)
            rows = self.node_index * n_years + yi
            for k in range(st["coef"].shape[1]):
                np.add.at(W, (rows, st["sid"][:, k]), st["coef"][:, k])
            np.add.at(Wg, (rows, self.roof_row), st["kwp"])
        self.report(0.3, "Building hourly profiles per network node")
        load_prof = (W.astype(np.float32) @ self.S).reshape(n_rows, n_years, HOURS)
        gen_prof = (Wg.astype(np.float32) @ self.G).reshape(n_rows, n_years, HOURS)

        # ---- non-linear: buildings with PV (import/export, batteries) ----
        self.report(0.4, "Simulating buildings with solar and batteries")
        imp = np.array([st["load"] for st in states])  # (years, n) kWh
        exp = np.zeros_like(imp)
        batt_delta = np.zeros((n_rows, n_years, HOURS), dtype=np.float32)
        kwp_all = np.array([st["kwp"] for st in states])
        masks = np.array([st["mask"] for st in states])
        yi_idx, b_idx = np.nonzero(kwp_all > 0)
        if len(b_idx):
            key = b_idx.astype(np.int64) * (1 << len(BUILDING_OPTIONS)) + masks[yi_idx, b_idx]
            uniq, first, inv = np.unique(key, return_index=True, return_inverse=True)
            seg_b = b_idx[first]
            seg_y = yi_idx[first]
            seg_last = np.zeros(len(uniq), dtype=np.int64)
            np.maximum.at(seg_last, inv, yi_idx)
            seg_imp = np.zeros(len(uniq))
            seg_exp = np.zeros(len(uniq))
            order = np.argsort(seg_y, kind="stable")
            for c0 in range(0, len(uniq), CHUNK):
                sel = order[c0 : c0 + CHUNK]
                bb, yy = seg_b[sel], seg_y[sel]
                coef = np.stack([states[y]["coef"][b] for b, y in zip(bb, yy, strict=False)])
                sid = np.stack([states[y]["sid"][b] for b, y in zip(bb, yy, strict=False)])
                kwp = np.array([states[y]["kwp"][b] for b, y in zip(bb, yy, strict=False)], dtype=np.float32)
                has_batt = np.array([states[y]["batt"][b] for b, y in zip(bb, yy, strict=False)])
                load = np.zeros((len(sel), HOURS), dtype=np.float32)
                for k in range(coef.shape[1]):
                    nz = coef[:, k] != 0
                    if nz.any():
                        load[nz] += coef[nz, k, None].astype(np.float32) * self.S[sid[nz, k]]
                net = load - kwp[:, None] * self.G[self.roof_row[bb]]
                if has_batt.any():
                    bsel = np.flatnonzero(has_batt)
                    after = battery_mod.self_consumption(
                        net[bsel].T, a["battery_kwh"], a["battery_kw"], a["battery_round_trip"]
                    ).T.astype(np.float32)
                    delta = after - net[bsel]
                    net[bsel] = after
                    # delta applies from the segment's first to last year
                    for j, i in enumerate(sel[bsel]):
                        r = self.node_index[seg_b[i]]
                        batt_delta[r, seg_y[i] : seg_last[i] + 1] += delta[j]
                seg_imp[sel] = np.clip(net, 0, None).sum(axis=1, dtype=np.float64)
                seg_exp[sel] = np.clip(-net, 0, None).sum(axis=1, dtype=np.float64)
                self.report(
                    0.4 + 0.35 * min(1.0, (c0 + CHUNK) / len(uniq)), "Simulating buildings with solar and batteries"
                )
            imp[yi_idx, b_idx] = seg_imp[inv]
            exp[yi_idx, b_idx] = seg_exp[inv]

        # ---- community assets ----
        self.report(0.8, "Community assets and network")
        asset_prof = np.zeros((n_rows, n_years, HOURS), dtype=np.float32)
        asset_capex = np.zeros(n_years)
        asset_om = np.zeros(n_years)
        installed_assets: dict[str, np.ndarray] = {}
        lat0, lon0 = float(np.mean(self.s.lat)), float(np.mean(self.s.lon))
        for o in self.options:
            if o.kind not in COMMUNITY_OPTIONS:
                continue
            p = o.params
            share = np.concatenate([[0.0], self.shares[o.key]])
            node = p.get("node")
            if node is not None and node not in {n.ref for n in self.nodes}:
                raise PlanningError(f"{o.label or OPTION_LABELS[o.kind]}: network node {node!r} is not in the network.")
            r = len(self.nodes) if node is None else [n.ref for n in self.nodes].index(node)
            if o.kind == "community_solar":
                size = float(p["kwp"])
                la, lo = float(p.get("lat", lat0)), float(p.get("lon", lon0))
                validate_location(la, lo)
                shape = pv_profile_kwh_per_kwp(
                    la, lo, float(p.get("tilt_deg", 30)), float(p.get("azimuth_deg", 180)), losses=a["pv_system_losses"]
                )
                unit_cost, om = a["community_pv_cost_per_kw"], a["community_pv_om_pct"]
            else:
                size = float(p["rated_kw"])
                speed = hourly_wind_speed_ms(float(p.get("mean_speed_ms", a["wind_mean_speed_ms"])), seed=self.seed + 7)
                shape = (wind_power_curve(speed) * WIND_AVAILABILITY).astype(np.float32)
                unit_cost, om = a["wind_cost_per_kw"], a["wind_om_pct"]
            built = size * share
            installed_assets[o.key] = built
            asset_prof[r] += built[:, None].astype(np.float32) * shape[None, :]
            asset_capex += np.diff(np.concatenate([[0.0], built])) * unit_cost
            asset_capex[0] = 0.0
            asset_om += built * unit_cost * om / 100.0

        # ---- network tree: leaf rows -> every node incl. ancestors ----
        net_rows = load_prof - gen_prof + batt_delta - asset_prof  # (rows, years, hours)
        node_net = np.zeros((len(self.nodes), n_years, HOURS), dtype=np.float32)
        for i, _nd in enumerate(self.nodes):
            j = i
            while True:
                node_net[j] += net_rows[i]
                parent = self.nodes[j].parent
                if parent is None:
                    break
                j = [x.ref for x in self.nodes].index(parent)
        area_load = load_prof.sum(axis=0, dtype=np.float64)  # (years, hours)
        area_net = net_rows.sum(axis=0, dtype=np.float64)
        area_net_no_assets = (load_prof - gen_prof + batt_delta).sum(axis=0, dtype=np.float64)
        area_gen = (gen_prof + asset_prof).sum(axis=0, dtype=np.float64)
        area_import = np.clip(area_net, 0, None).sum(axis=1)
        area_export = np.clip(-area_net, 0, None).sum(axis=1)
        demand = area_load.sum(axis=1)
        self_suff = np.where(demand > 0, 1.0 - area_import / np.maximum(demand, 1e-9), 0.0)
        asset_total = asset_prof.sum(axis=0, dtype=np.float64)
        asset_local = np.minimum(asset_total, np.clip(area_net_no_assets, 0, None)).sum(axis=1)
        asset_export = asset_total.sum(axis=1) - asset_local

        return self._results(
            states,
            imp,
            exp,
            node_net,
            demand,
            area_gen,
            area_import,
            area_export,
            self_suff,
            asset_local,
            asset_export,
            asset_capex,
            asset_om,
            installed_assets,
            area_load,
            area_net,
        )

    def _results(
        self,
        states,
        imp,
        exp,
        node_net,
        demand,
        area_gen,
        area_import,
        area_export,
        self_suff,
        asset_local,
        asset_export,
        asset_capex,
        asset_om,
        installed_assets,
        area_load,
        area_net,
    ):
        a, s = self.a, self.s
        years = self.years
        n_years = len(years)
        p_imp, p_exp = a["elec_import_p_per_kwh"] / 100, a["export_p_per_kwh"] / 100
        p_local = a["local_share_p_per_kwh"] / 100
        p_fuel = np.where(s.fuel == FUEL_CODE["oil"], a["oil_p_per_kwh"], a["gas_p_per_kwh"]) / 100
        cf_fuel = np.where(s.fuel == FUEL_CODE["oil"], a["oil_kg_per_kwh"], a["gas_kg_per_kwh"])
        base = states[0]
        self.report(0.9, "Costs, savings and carbon")
        # capex per plan year by option
        capex = np.zeros(n_years)
        om = np.zeros(n_years)
        installed: dict[str, list[float]] = {}
        option_rows = []
        unit_costs = {
            "rooftop_pv": (self.pv_size * a["pv_cost_per_kw"], a["pv_om_pct"], self.pv_size, "kWp"),
            "battery": (
                np.full(self.n, a["battery_kwh"] * a["battery_cost_per_kwh"]),
                a["battery_om_pct"],
                np.ones(self.n),
                "batteries",
            ),
            "heat_pump": (np.full(self.n, a["ashp_cost"]), a["hp_om_pct"], np.ones(self.n), "homes"),
            "ground_loop": (np.full(self.n, a["ground_loop_cost"]), a["hp_om_pct"], np.ones(self.n), "homes"),
            "ev_charger": (np.full(self.n, a["ev_charger_cost"]), a["ev_om_pct"], np.ones(self.n), "chargers"),
        }
        if "retrofit" in self.by_kind:
            unit_costs["retrofit"] = (
                self.retrofit_bands * a["retrofit_cost_per_band"],
                a["retrofit_om_pct"],
                np.ones(self.n),
                "buildings",
            )
        for o in self.options:
            if o.kind in BUILDING_OPTIONS:
                cost, om_pct, units, unit = unit_costs[o.kind]
                ad = self.adopt[o.kind]
                new = np.array([cost[ad == y].sum() for y in years])
                new[0] = 0.0
                cum = np.cumsum(new)
                count = np.array([units[ad <= y].sum() if i else 0.0 for i, y in enumerate(years)])
                capex += new
                om += cum * om_pct / 100.0
                installed[o.key] = count[1:].tolist()
                option_rows.append(
                    {
                        "key": o.key,
                        "kind": o.kind,
                        "label": o.label or OPTION_LABELS[o.kind],
                        "units_end": float(count[-1]),
                        "unit": unit,
                        "capex_gbp": _gbp(cum[-1]),
                    }
                )
            else:
                built = installed_assets[o.key]
                unit_cost = a["community_pv_cost_per_kw"] if o.kind == "community_solar" else a["wind_cost_per_kw"]
                installed[o.key] = built[1:].tolist()
                option_rows.append(
                    {
                        "key": o.key,
                        "kind": o.kind,
                        "label": o.label or OPTION_LABELS[o.kind],
                        "units_end": float(built[-1]),
                        "unit": "kW",
                        "capex_gbp": _gbp(built[-1] * unit_cost),
                    }
                )
        capex += asset_capex
        om += asset_om
        # bills: scenario vs baseline, per year; petrol for EV adopters in both
        miles = a["ev_miles_per_year"]
        results: list[YearResult] = []
        cum_capex = 0.0
        cum_carbon = 0.0
        for yi in range(1, n_years):
            y = years[yi]
            st = states[yi]
            cf_e = a["grid_kg_per_kwh"] * (1.0 - a["grid_decline_per_year"]) ** max(0, y - years[1])
            ev_now = st["has"]["ev_charger"]
            petrol_base = np.where(ev_now, miles, 0.0)
            bill_base = (
                imp[0] * p_imp - exp[0] * p_exp + base["fuel_kwh"] * p_fuel + petrol_base * a["petrol_p_per_mile"] / 100
            )
            bill_scen = imp[yi] * p_imp - exp[yi] * p_exp + st["fuel_kwh"] * p_fuel
            # households buy the community assets' locally used output at the
            # sharing price instead of the retail price
            savings = float((bill_base - bill_scen).sum()) + asset_local[yi] * (p_imp - p_local)
            income = asset_local[yi] * p_local + asset_export[yi] * p_exp
            carbon_base = float(
                ((imp[0] - exp[0]) * cf_e + base["fuel_kwh"] * cf_fuel).sum()
                + petrol_base.sum() * a["petrol_kg_per_mile"]
            )
            community_gen = asset_local[yi] + asset_export[yi]
            carbon_scen = float(((imp[yi] - exp[yi]) * cf_e + st["fuel_kwh"] * cf_fuel).sum() - community_gen * cf_e)
            saved = carbon_base - carbon_scen
            cum_carbon += saved
            cum_capex += capex[yi]
            results.append(
                YearResult(
                    year=y,
                    capex_gbp=_gbp(capex[yi]),
                    capex_cumulative_gbp=_gbp(cum_capex),
                    om_gbp=_gbp(om[yi]),
                    bill_savings_gbp=_gbp(savings),
                    community_income_gbp=_gbp(income),
                    net_benefit_gbp=_gbp(savings + income - om[yi]),
                    carbon_baseline_kg=int(round(carbon_base)),
                    carbon_scenario_kg=int(round(carbon_scen)),
                    carbon_saved_kg=int(round(saved)),
                    carbon_saved_cumulative_kg=int(round(cum_carbon)),
                    demand_elec_wh=_wh(demand[yi]),
                    demand_heat_fuel_wh=_wh(st["fuel_kwh"].sum()),
                    generation_wh=_wh(area_gen[yi].sum()),
                    grid_import_wh=_wh(area_import[yi]),
                    grid_export_wh=_wh(area_export[yi]),
                    self_sufficiency=round(float(self_suff[yi]), 4),
                    installed={k: v[yi - 1] for k, v in installed.items()},
                )
            )
        # nodes
        node_results = []
        for i, nd in enumerate(self.nodes):
            prof = node_net[i]
            peaks = prof.max(axis=1)
            exports = np.clip(-prof.min(axis=1), 0, None)
            if nd.existing_peak_kw is not None:
                # measured peak plus the largest hourly increase over today
                rise = (prof - prof[0]).max(axis=1)
                peaks = nd.existing_peak_kw + np.clip(rise, 0, None)
                peaks[0] = nd.existing_peak_kw
            over = [
                int(years[yi])
                for yi in range(1, n_years)
                if peaks[yi] > nd.capacity_kw or exports[yi] > nd.export_limit_kw
            ]
            node_results.append(
                NodeResult(
                    ref=nd.ref,
                    name=nd.name or nd.ref,
                    capacity_w=int(round(nd.capacity_kw * 1000)),
                    export_capacity_w=int(round(nd.export_limit_kw * 1000)),
                    baseline_peak_w=int(round(float(peaks[0]) * 1000)),
                    peak_w=[int(round(float(p) * 1000)) for p in peaks[1:]],
                    export_peak_w=[int(round(float(p) * 1000)) for p in exports[1:]],
                    first_overload_year=over[0] if over else None,
                    overloaded_years=over,
                )
            )
        end = results[-1]
        total_capex = sum((r.capex_gbp for r in results), Decimal("0"))
        benefit = end.net_benefit_gbp
        payback = (total_capex / benefit).quantize(Decimal("0.1")) if benefit > 0 and total_capex > 0 else None
        if total_capex > 0 and payback is None:
            self.warnings.append("The options cost more to run than they save at full take-up: no simple payback.")
        month = month_of_hour()

        def monthly(arr):
            return np.bincount(month, weights=arr, minlength=12).round(1).tolist()

        base_net, end_net = area_net[0], area_net[-1]
        day = int(np.argmax(area_load[-1].reshape(-1, 24).sum(axis=1)))
        sl = slice(day * 24, day * 24 + 24)
        return ScenarioResult(
            start_year=years[1],
            end_year=years[-1],
            years=results,
            nodes=node_results,
            total_capex_gbp=total_capex,
            annual_net_benefit_gbp=benefit,
            simple_payback_years=payback,
            carbon_saved_cumulative_kg=end.carbon_saved_cumulative_kg,
            self_sufficiency_baseline=round(float(self_suff[0]), 4),
            self_sufficiency_end=end.self_sufficiency,
            options=option_rows,
            monthly={
                "baseline_demand": monthly(area_load[0]),
                "end_demand": monthly(area_load[-1]),
                "baseline_generation": monthly(area_gen[0]),
                "end_generation": monthly(area_gen[-1]),
                "baseline_import": monthly(np.clip(base_net, 0, None)),
                "end_import": monthly(np.clip(end_net, 0, None)),
                "end_export": monthly(np.clip(-end_net, 0, None)),
            },
            peak_day={
                "day_of_year": [day + 1],
                "baseline_kw": area_net[0][sl].round(2).tolist(),
                "end_kw": area_net[-1][sl].round(2).tolist(),
            },
            assumptions=dict(a),
            warnings=self.warnings,
        )


# --------------------------------------------------------------------------
# current state
# --------------------------------------------------------------------------


@dataclass
class CurrentState:
    buildings: int
    estimated: int
    elec_appliances_wh: int
    elec_heating_wh: int
    gas_wh: int
    oil_wh: int
    pv_generation_wh: int
    carbon_kg: dict[str, int]
    by_type: dict[str, dict[str, int]]
    nodes: list[NodeResult]
    self_sufficiency: float
    monthly_demand_kwh: list[float]
    monthly_generation_kwh: list[float]
    emission_factors: dict[str, float]


def current_state(
    stock: BuildingStock | Sequence[Building],
    nodes: Sequence[NetworkNode],
    *,
    current_year: int,
    assumptions: Mapping[str, float] | None = None,
) -> CurrentState:
    """What the area uses and generates today, by fuel and end use."""
    a = merged_assumptions(dict(assumptions or {}))
    if not isinstance(stock, BuildingStock):
        stock = stock_from_buildings(list(stock), boiler_efficiency=a["boiler_efficiency"])
    res = run_scenario(
        stock, nodes, [], start_year=current_year, end_year=current_year, current_year=current_year, assumptions=a
    )
    s = stock
    flow = a["ashp_flow_temp_c"]
    scop = np.array(
        [heat_pump_shape(int(r), bool(d), flow, None)[1] for r, d in zip(s.region, s.domestic, strict=False)]
    )
    elec_heat = np.where(s.fuel == FUEL_CODE["electric"], s.heat_kwh, 0.0) + np.where(
        s.fuel == FUEL_CODE["heat_pump"], s.heat_kwh / scop, 0.0
    )
    gas = np.where(s.fuel == FUEL_CODE["gas"], s.heat_kwh / a["boiler_efficiency"], 0.0)
    oil = np.where(s.fuel == FUEL_CODE["oil"], s.heat_kwh / a["boiler_efficiency"], 0.0)
    pv = np.array(
        [
            s.existing_pv_kwp[i]
            * pv_profile_kwh_per_kwp(
                s.lat[i], s.lon[i], s.roof_tilt_deg[i], s.roof_azimuth_deg[i], losses=a["pv_system_losses"]
            ).sum()
            if s.existing_pv_kwp[i] > 0
            else 0.0
            for i in range(len(s))
        ]
    )
    by_type: dict[str, dict[str, int]] = {}
    for t in sorted(set(s.building_type)):
        m = np.array([x == t for x in s.building_type])
        by_type[t] = {
            "count": int(m.sum()),
            "elec_wh": _wh((s.appliance_elec_kwh + elec_heat)[m].sum()),
            "fuel_wh": _wh((gas + oil)[m].sum()),
        }
    elec_total = s.appliance_elec_kwh.sum() + elec_heat.sum()
    net_elec = elec_total - pv.sum()
    carbon = {
        "electricity": int(round(net_elec * a["grid_kg_per_kwh"])),
        "gas": int(round(gas.sum() * a["gas_kg_per_kwh"])),
        "oil": int(round(oil.sum() * a["oil_kg_per_kwh"])),
    }
    return CurrentState(
        buildings=len(s),
        estimated=int(s.estimated.sum()),
        elec_appliances_wh=_wh(s.appliance_elec_kwh.sum()),
        elec_heating_wh=_wh(elec_heat.sum()),
        gas_wh=_wh(gas.sum()),
        oil_wh=_wh(oil.sum()),
        pv_generation_wh=_wh(pv.sum()),
        carbon_kg=carbon,
        by_type=by_type,
        nodes=[
            NodeResult(
                ref=n.ref,
                name=n.name,
                capacity_w=n.capacity_w,
                export_capacity_w=n.export_capacity_w,
                baseline_peak_w=n.baseline_peak_w,
                peak_w=[n.baseline_peak_w],
                export_peak_w=[],
                first_overload_year=None,
                overloaded_years=[],
            )
            for n in res.nodes
        ],
        self_sufficiency=res.self_sufficiency_baseline,
        monthly_demand_kwh=res.monthly["baseline_demand"],
        monthly_generation_kwh=res.monthly["baseline_generation"],
        emission_factors={
            k: a[k] for k in ("grid_kg_per_kwh", "gas_kg_per_kwh", "oil_kg_per_kwh", "petrol_kg_per_mile")
        },
    )
