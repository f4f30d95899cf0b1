"""Reference figures the planner uses, each with its source.

Every default a plan starts from lives in ``DEFAULT_ASSUMPTIONS`` with the
place it comes from, so the page and the PDF can show "this number, from
there" and a convenor can override it per plan.  Tables that are not meant
to be edited (SAP climate tables, benchmarks) sit beside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# SAP climate tables (Appendix U) live in assets/domain/climate.py, shared with
# collective purchasing; re-exported here so the planner reads them as before.
from assets.domain.climate import (  # noqa: F401
    DAYS_IN_MONTH,
    SAP_REGIONS,
    SAP_SOURCE,
    SAP_U1_TEMPERATURE_C,
    SAP_U3_IRRADIANCE_W_M2,
    UK_LAT_RANGE,
    UK_LON_RANGE,
    sap_region_for,
    sap_region_name,
)

# ---------------------------------------------------------------------------
# Building demand benchmarks
# ---------------------------------------------------------------------------

# Ofgem Typical Domestic Consumption Values (medium, from April 2024):
# electricity (profile class 1) 2,700 kWh/yr, gas 11,500 kWh/yr.
OFGEM_TDCV_ELEC_KWH = 2700.0
OFGEM_TDCV_GAS_KWH = 11500.0
OFGEM_TDCV_SOURCE = "Ofgem Typical Domestic Consumption Values (medium: 2,700 kWh electricity, 11,500 kWh gas)"
# A typical home's usable floor area (English Housing Survey, about 94 m2);
# heating demand of a home is scaled from the TDCV in proportion to area.
TYPICAL_HOME_FLOOR_AREA_M2 = 94.0

# CIBSE TM46:2008 energy benchmarks (typical practice), kWh per m2 of floor
# area per year: (electricity, fossil thermal).
CIBSE_TM46_KWH_PER_M2: dict[str, tuple[float, float]] = {
    "office": (95.0, 120.0),
    "retail": (165.0, 0.0),
    "school": (40.0, 150.0),
    "community": (20.0, 105.0),  # "public buildings with light use"
    "pub": (130.0, 350.0),
    "workshop": (35.0, 180.0),
    "warehouse": (35.0, 160.0),
    "clinic": (70.0, 200.0),
}
CIBSE_SOURCE = "CIBSE TM46:2008 Energy Benchmarks (typical electricity and fossil-thermal kWh/m2/yr)"

DOMESTIC_TYPES = ("house", "flat", "bungalow")
BUILDING_TYPES = DOMESTIC_TYPES + tuple(CIBSE_TM46_KWH_PER_M2)

HEATING_FUELS = ("gas", "oil", "electric", "heat_pump", "none")
EPC_BANDS = ("A", "B", "C", "D", "E", "F", "G")

# SAP rating band mid-points (SAP bands: A 92+, B 81-91, C 69-80, D 55-68,
# E 39-54, F 21-38, G 1-20).
EPC_BAND_SAP_MIDPOINT = {"A": 96.0, "B": 86.0, "C": 74.5, "D": 61.5, "E": 46.5, "F": 29.5, "G": 10.5}


def epc_energy_cost_factor(band: str) -> float:
    """Relative energy cost per m2 at a band's mid-point SAP rating.

    Inverts SAP 2012 section 13: SAP = 117 - 121 * log10(ECF) (ECF >= 3.5),
    so ECF = 10 ** ((117 - SAP) / 121).  The ratio between two bands is the
    factor by which heating demand changes when a home moves between them.
    """
    return 10.0 ** ((117.0 - EPC_BAND_SAP_MIDPOINT[band]) / 121.0)


EPC_SOURCE = "SAP 2012 section 13 rating formula (SAP = 117 - 121 log10 ECF) at each band's mid-point"

# Heat pump COP against temperature lift dT = T_sink - T_source (K):
# Staffell, Brett, Brandon & Hawkes (2012), "A review of domestic heat pumps",
# Energy & Environmental Science 5, 9291: fitted to field trial data.
ASHP_COP_COEFFS = (6.81, -0.121, 0.000630)
GSHP_COP_COEFFS = (8.77, -0.150, 0.000734)
COP_SOURCE = "Staffell et al. (2012) Energy Environ. Sci. 5:9291, COP = a + b dT + c dT^2"


@dataclass(frozen=True)
class Assumption:
    key: str
    label: str
    value: float
    unit: str
    source: str
    group: str


def _a(group: str, key: str, label: str, value: float, unit: str, source: str) -> Assumption:
    return Assumption(key=key, label=label, value=value, unit=unit, source=source, group=group)


SEED_C4 = "Seed 002 C.4 Community Anchor Asset, capital costs"
SEED_C4_OM = "Seed 002 C.4: insurance and maintenance typically ~1-5% of capital cost"
NO_SEED = "Planner default, no published figure in the seeds - edit for your area"

DEFAULT_ASSUMPTIONS: tuple[Assumption, ...] = (
    # prices
    _a(
        "prices",
        "elec_import_p_per_kwh",
        "Electricity unit price",
        26.35,
        "p/kWh",
        "Ofgem price cap Oct-Dec 2025, direct debit GB average",
    ),
    _a(
        "prices",
        "gas_p_per_kwh",
        "Gas unit price",
        6.29,
        "p/kWh",
        "Ofgem price cap Oct-Dec 2025, direct debit GB average",
    ),
    _a(
        "prices",
        "oil_p_per_kwh",
        "Heating oil price",
        6.0,
        "p/kWh",
        "Kerosene about 62p/litre at 10.35 kWh/litre (BEIS conversion factor)",
    ),
    _a(
        "prices",
        "export_p_per_kwh",
        "Export price",
        8.0,
        "p/kWh",
        "Seed 002 C.4: average wholesale price over last 7 years ~8p/kWh",
    ),
    _a(
        "prices",
        "local_share_p_per_kwh",
        "Local sharing price (community assets)",
        18.0,
        "p/kWh",
        "Energy Local match tariff example 18p (REFERENCES.md, LEM/P2P)",
    ),
    _a("prices", "petrol_p_per_mile", "Petrol cost per mile", 14.0, "p/mile", "About 140p/litre at 45 mpg"),
    # carbon
    _a(
        "carbon",
        "grid_kg_per_kwh",
        "Grid electricity emissions",
        0.207,
        "kgCO2e/kWh",
        "DESNZ greenhouse gas conversion factors 2024, UK electricity generation",
    ),
    _a(
        "carbon",
        "grid_decline_per_year",
        "Grid emissions fall per year",
        0.0,
        "fraction/yr",
        "Default flat (conservative); set e.g. 0.08 to follow a decarbonising grid",
    ),
    _a(
        "carbon",
        "gas_kg_per_kwh",
        "Natural gas emissions",
        0.183,
        "kgCO2e/kWh",
        "DESNZ greenhouse gas conversion factors 2024, natural gas (gross CV)",
    ),
    _a(
        "carbon",
        "oil_kg_per_kwh",
        "Heating oil emissions",
        0.247,
        "kgCO2e/kWh",
        "DESNZ greenhouse gas conversion factors 2024, burning oil",
    ),
    _a(
        "carbon",
        "petrol_kg_per_mile",
        "Petrol car emissions",
        0.262,
        "kgCO2e/mile",
        "DESNZ greenhouse gas conversion factors 2024, average petrol car 0.163 kg/km",
    ),
    # buildings
    _a(
        "buildings",
        "boiler_efficiency",
        "Boiler seasonal efficiency",
        0.85,
        "fraction",
        "SAP Table 4b, typical condensing gas boiler 84-89%",
    ),
    _a("buildings", "domestic_elec_kwh", "Typical home electricity", OFGEM_TDCV_ELEC_KWH, "kWh/yr", OFGEM_TDCV_SOURCE),
    _a("buildings", "domestic_gas_kwh", "Typical home gas", OFGEM_TDCV_GAS_KWH, "kWh/yr", OFGEM_TDCV_SOURCE),
    # rooftop PV
    _a(
        "rooftop_pv", "pv_cost_per_kw", "Rooftop PV cost", 950.0, "GBP/kWp", SEED_C4 + ": solar PV GBP 700-1,200 per kW"
    ),
    _a("rooftop_pv", "pv_om_pct", "Rooftop PV O&M", 1.0, "% of capex/yr", SEED_C4_OM),
    _a("rooftop_pv", "pv_kwp_per_m2", "Panel density", 0.2, "kWp/m2", "400 W panel of about 1.95 m2"),
    _a("rooftop_pv", "pv_usable_roof", "Usable share of roof", 0.6, "fraction", NO_SEED),
    _a(
        "rooftop_pv",
        "pv_max_domestic_kwp",
        "Largest home array",
        4.0,
        "kWp",
        "Typical G98 single-phase limit (16 A per phase)",
    ),
    _a("rooftop_pv", "pv_default_kwp", "Array when roof size unknown", 3.5, "kWp", NO_SEED),
    _a("rooftop_pv", "pv_system_losses", "PV system losses", 0.14, "fraction", "PVWatts default system losses 14%"),
    # battery
    _a("battery", "battery_kwh", "Home battery size", 5.0, "kWh", NO_SEED),
    _a("battery", "battery_kw", "Home battery power", 2.5, "kW", NO_SEED),
    _a("battery", "battery_cost_per_kwh", "Battery cost", 550.0, "GBP/kWh", SEED_C4 + ": battery GBP 400-700 per kWh"),
    _a(
        "battery",
        "battery_round_trip",
        "Battery round-trip efficiency",
        0.9,
        "fraction",
        "Typical lithium-ion home battery datasheets",
    ),
    _a("battery", "battery_om_pct", "Battery O&M", 2.0, "% of capex/yr", SEED_C4_OM),
    # heat pumps
    _a(
        "heat_pump",
        "ashp_cost",
        "Air-source heat pump installed",
        12000.0,
        "GBP/home",
        "DESNZ Boiler Upgrade Scheme statistics, typical ASHP install before the GBP 7,500 grant",
    ),
    _a(
        "heat_pump",
        "ashp_flow_temp_c",
        "Heat pump flow temperature",
        45.0,
        "degC",
        "MCS heat emitter guide, low-temperature radiators",
    ),
    _a("heat_pump", "hp_om_pct", "Heat pump O&M", 1.0, "% of capex/yr", SEED_C4_OM),
    _a("ground_loop", "ground_loop_cost", "Shared ground loop + GSHP", 18000.0, "GBP/home", NO_SEED),
    _a(
        "ground_loop",
        "ground_temp_c",
        "Ground loop temperature",
        10.0,
        "degC",
        "UK ground temperature at depth ~10-12 degC (BGS)",
    ),
    # EV
    _a("ev_charger", "ev_charger_cost", "Home EV charger installed", 1000.0, "GBP/charger", NO_SEED),
    _a("ev_charger", "ev_charger_kw", "Charger power", 7.0, "kW", "Standard single-phase home charger"),
    _a(
        "ev_charger",
        "ev_miles_per_year",
        "Car miles per year",
        7000.0,
        "miles/yr",
        "DfT National Travel Survey, average car ~7,000 miles/yr",
    ),
    _a("ev_charger", "ev_miles_per_kwh", "EV efficiency", 3.5, "miles/kWh", "Typical family EV, real world"),
    _a("ev_charger", "ev_om_pct", "Charger O&M", 1.0, "% of capex/yr", SEED_C4_OM),
    # retrofit
    _a("retrofit", "retrofit_cost_per_band", "Retrofit cost per EPC band raised", 6000.0, "GBP/band", NO_SEED),
    _a(
        "retrofit",
        "retrofit_om_pct",
        "Retrofit O&M",
        0.0,
        "% of capex/yr",
        "Fabric measures need no routine maintenance",
    ),
    # community assets
    _a(
        "community_solar",
        "community_pv_cost_per_kw",
        "Community solar array cost",
        800.0,
        "GBP/kWp",
        SEED_C4 + ": solar PV GBP 700-1,200 per kW (ground-mounted at scale: lower end)",
    ),
    _a("community_solar", "community_pv_om_pct", "Community solar O&M", 2.0, "% of capex/yr", SEED_C4_OM),
    _a(
        "wind_turbine",
        "wind_cost_per_kw",
        "Wind turbine cost",
        1600.0,
        "GBP/kW",
        SEED_C4 + ": wind turbine GBP 1,200-2,000 per kW",
    ),
    _a("wind_turbine", "wind_om_pct", "Wind turbine O&M", 3.0, "% of capex/yr", SEED_C4_OM),
    _a(
        "wind_turbine",
        "wind_mean_speed_ms",
        "Mean wind speed at hub",
        6.5,
        "m/s",
        "UK onshore hub-height means 6-7.5 m/s (NOABL wind map); measure your site",
    ),
)

ASSUMPTIONS_BY_KEY = {a.key: a for a in DEFAULT_ASSUMPTIONS}


def default_assumption_values() -> dict[str, float]:
    return {a.key: a.value for a in DEFAULT_ASSUMPTIONS}


def merged_assumptions(overrides: dict[str, float] | None) -> dict[str, float]:
    """Defaults with a plan's overrides; unknown keys and bad values refused."""
    from .errors import PlanningError

    values = default_assumption_values()
    for key, value in (overrides or {}).items():
        if key not in values:
            raise PlanningError(f"Unknown assumption {key!r}.")
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise PlanningError(f"{ASSUMPTIONS_BY_KEY[key].label}: {value!r} is not a number.") from None
        if not math.isfinite(v) or v < 0:
            raise PlanningError(f"{ASSUMPTIONS_BY_KEY[key].label} must be zero or more, got {value}.")
        unit = ASSUMPTIONS_BY_KEY[key].unit
        if unit == "fraction" and v > 1:
            raise PlanningError(f"{ASSUMPTIONS_BY_KEY[key].label} is a fraction between 0 and 1, got {value}.")
        values[key] = v
    for key in ("ev_miles_per_kwh", "pv_kwp_per_m2", "boiler_efficiency", "battery_round_trip"):
        if values[key] <= 0:
            raise PlanningError(f"{ASSUMPTIONS_BY_KEY[key].label} must be more than zero.")
    return values
