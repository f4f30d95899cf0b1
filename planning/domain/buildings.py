"""Buildings of a plan's area and their annual demand (known or estimated).

Estimation method (shown on the current-state page):

- Homes (house, flat, bungalow): electricity for lights and appliances is the
  Ofgem typical domestic consumption value, 2,700 kWh/yr.  Heating fuel is the
  Ofgem TDCV for gas, 11,500 kWh/yr, scaled by floor area against a typical
  94 m2 home (English Housing Survey) and by the EPC band's energy cost factor
  relative to band D (SAP 2012 rating formula; D is the median band).
- Non-domestic buildings: CIBSE TM46:2008 typical benchmarks per m2 for
  electricity and fossil-thermal energy.
- Known annual kWh (from the import or from meters) replace the estimate.

All arrays are numpy, one entry per building.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .errors import PlanningError
from .reference import (
    BUILDING_TYPES,
    CIBSE_TM46_KWH_PER_M2,
    DOMESTIC_TYPES,
    EPC_BANDS,
    HEATING_FUELS,
    OFGEM_TDCV_ELEC_KWH,
    OFGEM_TDCV_GAS_KWH,
    TYPICAL_HOME_FLOOR_AREA_M2,
    epc_energy_cost_factor,
    sap_region_for,
)
from .solar import validate_location, validate_orientation

DEFAULT_TILT_DEG = 35.0
DEFAULT_AZIMUTH_DEG = 180.0
FUEL_CODE = {f: i for i, f in enumerate(HEATING_FUELS)}  # gas 0, oil 1, electric 2, heat_pump 3, none 4
BAND_CODE = {b: i for i, b in enumerate(EPC_BANDS)}


@dataclass(frozen=True)
class Building:
    ref: str
    building_type: str
    floor_area_m2: float
    lat: float
    lon: float
    epc_band: str | None = None
    heating_fuel: str = "gas"
    annual_elec_kwh: float | None = None
    annual_heating_fuel_kwh: float | None = None
    roof_area_m2: float | None = None
    roof_tilt_deg: float | None = None
    roof_azimuth_deg: float | None = None
    existing_pv_kwp: float = 0.0
    node: str | None = None
    consumption_source: str = ""  # "meter" when the figures come from metered readings


def _num(value, name: str) -> float:
    if isinstance(value, bool):
        raise PlanningError(f"{name} must be a number.")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise PlanningError(f"{name} must be a number, got {value!r}.") from None
    if not math.isfinite(v):
        raise PlanningError(f"{name} must be a finite number, got {value!r}.")
    return v


def validate_building(b: Building) -> None:
    """Raise PlanningError naming the first impossible value of a building."""
    if not b.ref:
        raise PlanningError("Every building needs a reference (an address or an id).")
    if b.building_type not in BUILDING_TYPES:
        raise PlanningError(f"Building type {b.building_type!r} is not one of: {', '.join(BUILDING_TYPES)}.")
    area = _num(b.floor_area_m2, "Floor area")
    if area <= 0:
        raise PlanningError(f"Floor area must be more than 0 m2, got {b.floor_area_m2:g}.")
    if area > 200000:
        raise PlanningError(f"Floor area {area:g} m2 is implausible for one building.")
    validate_location(_num(b.lat, "Latitude"), _num(b.lon, "Longitude"))
    if b.epc_band is not None and b.epc_band not in EPC_BANDS:
        raise PlanningError(f"EPC band must be one of A-G, got {b.epc_band!r}.")
    if b.heating_fuel not in HEATING_FUELS:
        raise PlanningError(f"Heating fuel {b.heating_fuel!r} is not one of: {', '.join(HEATING_FUELS)}.")
    for name, value in (
        ("Annual electricity", b.annual_elec_kwh),
        ("Annual heating fuel", b.annual_heating_fuel_kwh),
        ("Roof area", b.roof_area_m2),
        ("Existing PV", b.existing_pv_kwp),
    ):
        if value is not None and _num(value, name) < 0:
            raise PlanningError(f"{name} cannot be negative, got {value:g}.")
    tilt = DEFAULT_TILT_DEG if b.roof_tilt_deg is None else _num(b.roof_tilt_deg, "Roof tilt")
    az = DEFAULT_AZIMUTH_DEG if b.roof_azimuth_deg is None else _num(b.roof_azimuth_deg, "Roof azimuth")
    validate_orientation(tilt, az)


@dataclass
class BuildingStock:
    """Column arrays for many buildings (what the scenario engine works on)."""

    refs: list[str]
    domestic: np.ndarray  # bool
    building_type: list[str]
    floor_area_m2: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    region: np.ndarray  # SAP region id
    epc_band: np.ndarray  # 0=A .. 6=G
    fuel: np.ndarray  # FUEL_CODE
    appliance_elec_kwh: np.ndarray  # lights, appliances, cooking (not heat)
    heat_kwh: np.ndarray  # delivered space + water heat
    roof_area_m2: np.ndarray  # nan when unknown
    roof_tilt_deg: np.ndarray
    roof_azimuth_deg: np.ndarray
    existing_pv_kwp: np.ndarray
    node: list[str | None]
    estimated: np.ndarray  # bool: demand estimated rather than known
    method: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.refs)


def estimate_demand(
    *,
    building_type: str,
    floor_area_m2: float,
    epc_band: str | None,
    heating_fuel: str,
    annual_elec_kwh: float | None,
    annual_heating_fuel_kwh: float | None,
    boiler_efficiency: float = 0.85,
    existing_scop: float = 3.0,
    tdcv_elec_kwh: float = OFGEM_TDCV_ELEC_KWH,
    tdcv_gas_kwh: float = OFGEM_TDCV_GAS_KWH,
) -> tuple[float, float, str]:
    """(appliance electricity kWh, delivered heat kWh, method text) for one building."""
    domestic = building_type in DOMESTIC_TYPES
    band = epc_band or "D"
    if domestic:
        est_elec = tdcv_elec_kwh
        est_fuel = (
            tdcv_gas_kwh
            * floor_area_m2
            / TYPICAL_HOME_FLOOR_AREA_M2
            * (epc_energy_cost_factor(band) / epc_energy_cost_factor("D"))
        )
        how = "Ofgem TDCV scaled by floor area and EPC band"
    else:
        e, f = CIBSE_TM46_KWH_PER_M2[building_type]
        est_elec = e * floor_area_m2
        est_fuel = f * floor_area_m2
        how = "CIBSE TM46 benchmark x floor area"
    est_heat = est_fuel * boiler_efficiency
    known = []
    if heating_fuel in ("gas", "oil"):
        heat = est_heat if annual_heating_fuel_kwh is None else annual_heating_fuel_kwh * boiler_efficiency
        if annual_heating_fuel_kwh is not None:
            known.append("heating fuel")
        appliance = est_elec if annual_elec_kwh is None else annual_elec_kwh
        if annual_elec_kwh is not None:
            known.append("electricity")
    elif heating_fuel in ("electric", "heat_pump"):
        per_heat = 1.0 if heating_fuel == "electric" else 1.0 / existing_scop
        if annual_elec_kwh is None:
            appliance, heat = est_elec, est_heat
        else:
            known.append("electricity")
            # split the known total between appliances and heating in the
            # estimate's proportions
            est_total = est_elec + est_heat * per_heat
            share = annual_elec_kwh / est_total if est_total > 0 else 0.0
            appliance, heat = est_elec * share, est_heat * share
    else:  # no heating
        heat = 0.0
        appliance = est_elec if annual_elec_kwh is None else annual_elec_kwh
        if annual_elec_kwh is not None:
            known.append("electricity")
    if known:
        how = f"known {', '.join(known)}" + ("" if len(known) == 2 or heating_fuel == "none" else f"; rest: {how}")
    return float(appliance), float(heat), how


def stock_from_buildings(buildings: list[Building], *, boiler_efficiency: float = 0.85) -> BuildingStock:
    """Validate and convert; the error names the building that is wrong."""
    if not buildings:
        raise PlanningError("The plan has no buildings yet: import some or add the community's sites.")
    seen: set[str] = set()
    rows = []
    for b in buildings:
        try:
            validate_building(b)
        except PlanningError as exc:
            raise PlanningError(f"Building {b.ref or '?'}: {exc}") from None
        if b.ref in seen:
            raise PlanningError(f"Building reference {b.ref!r} appears twice.")
        seen.add(b.ref)
        appliance, heat, how = estimate_demand(
            building_type=b.building_type,
            floor_area_m2=float(b.floor_area_m2),
            epc_band=b.epc_band,
            heating_fuel=b.heating_fuel,
            annual_elec_kwh=b.annual_elec_kwh,
            annual_heating_fuel_kwh=b.annual_heating_fuel_kwh,
            boiler_efficiency=boiler_efficiency,
        )
        if b.consumption_source == "meter" and how.startswith("known"):
            how = "metered " + how[len("known ") :]
        rows.append((b, appliance, heat, how))
    lat = np.array([float(b.lat) for b, *_ in rows])
    lon = np.array([float(b.lon) for b, *_ in rows])
    return _stock(rows, lat, lon)


def _stock(rows, lat, lon) -> BuildingStock:
    return BuildingStock(
        refs=[b.ref for b, *_ in rows],
        domestic=np.array([b.building_type in DOMESTIC_TYPES for b, *_ in rows], dtype=bool),
        building_type=[b.building_type for b, *_ in rows],
        floor_area_m2=np.array([float(b.floor_area_m2) for b, *_ in rows]),
        lat=lat,
        lon=lon,
        region=np.array([sap_region_for(la, lo) for la, lo in zip(lat, lon, strict=False)], dtype=np.int64),
        epc_band=np.array([BAND_CODE[b.epc_band or "D"] for b, *_ in rows], dtype=np.int64),
        fuel=np.array([FUEL_CODE[b.heating_fuel] for b, *_ in rows], dtype=np.int64),
        appliance_elec_kwh=np.array([r[1] for r in rows]),
        heat_kwh=np.array([r[2] for r in rows]),
        roof_area_m2=np.array([np.nan if b.roof_area_m2 is None else float(b.roof_area_m2) for b, *_ in rows]),
        roof_tilt_deg=np.array(
            [DEFAULT_TILT_DEG if b.roof_tilt_deg is None else float(b.roof_tilt_deg) for b, *_ in rows]
        ),
        roof_azimuth_deg=np.array(
            [DEFAULT_AZIMUTH_DEG if b.roof_azimuth_deg is None else float(b.roof_azimuth_deg) for b, *_ in rows]
        ),
        existing_pv_kwp=np.array([float(b.existing_pv_kwp or 0.0) for b, *_ in rows]),
        node=[b.node for b, *_ in rows],
        estimated=np.array([not r[3].startswith(("known", "metered")) for r in rows], dtype=bool),
        method=[r[3] for r in rows],
    )
