"""CSV formats of the planner: buildings and network headroom.

Parsing is pure and reports every bad row by its line number (line 1 is the
header), so the import page can show a dry-run before anything is saved.
The export writes the same columns back, so export -> import round-trips.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field

from community import csvsafe

from .buildings import Building, validate_building
from .errors import PlanningError

BUILDING_COLUMNS = (
    "ref",
    "address",
    "postcode",
    "lat",
    "lon",
    "building_type",
    "floor_area_m2",
    "epc_band",
    "heating_fuel",
    "annual_elec_kwh",
    "annual_heating_fuel_kwh",
    "roof_area_m2",
    "roof_tilt_deg",
    "roof_azimuth_deg",
    "existing_pv_kwp",
    "network_node",
)
REQUIRED_BUILDING_COLUMNS = ("ref", "lat", "lon", "building_type", "floor_area_m2")
BUILDING_ALIASES = {
    "type": "building_type",
    "floor_area": "floor_area_m2",
    "epc": "epc_band",
    "fuel": "heating_fuel",
    "annual_gas_kwh": "annual_heating_fuel_kwh",
    "annual_electricity_kwh": "annual_elec_kwh",
    "roof_area": "roof_area_m2",
    "roof_tilt": "roof_tilt_deg",
    "roof_azimuth": "roof_azimuth_deg",
    "roof_orientation_deg": "roof_azimuth_deg",
    "latitude": "lat",
    "longitude": "lon",
    "node": "network_node",
    "feeder": "network_node",
}
MAX_ROWS = 50_000


@dataclass
class RowError:
    line: int
    message: str


@dataclass
class ParsedBuilding:
    line: int
    building: Building
    address: str = ""
    postcode: str = ""


@dataclass
class BuildingImport:
    rows: list[ParsedBuilding] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.rows)


def _reader(text: str, aliases: dict[str, str]) -> tuple[csv.DictReader, list[str]]:
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise PlanningError("The file is empty: it needs a header row.")
    header = [aliases.get(h.strip().lower(), h.strip().lower()) for h in reader.fieldnames]
    reader.fieldnames = header
    return reader, header


def _opt_float(raw: dict, key: str) -> float | None:
    value = (raw.get(key) or "").strip()
    if value == "":
        return None
    try:
        v = float(value.replace(",", ""))
    except ValueError:
        raise PlanningError(f"{key} {value!r} is not a number.") from None
    if not math.isfinite(v):
        raise PlanningError(f"{key} {value!r} is not a number.")
    return v


def parse_buildings_csv(text: str) -> BuildingImport:
    """Parse and validate; never raises for a bad row, collects it instead."""
    result = BuildingImport()
    reader, header = _reader(text, BUILDING_ALIASES)
    missing = [c for c in REQUIRED_BUILDING_COLUMNS if c not in header]
    if missing:
        raise PlanningError(
            f"The header is missing column(s): {', '.join(missing)}. Expected columns: {', '.join(BUILDING_COLUMNS)}."
        )
    seen: dict[str, int] = {}
    for i, raw in enumerate(reader):
        line = i + 2
        if i >= MAX_ROWS:
            result.errors.append(RowError(line, f"Too many rows: at most {MAX_ROWS:,} buildings per import."))
            break
        if not any((v or "").strip() for v in raw.values() if isinstance(v, str)):
            continue  # blank line
        try:
            ref = (raw.get("ref") or "").strip()
            if ref in seen:
                raise PlanningError(f"reference {ref!r} already used on line {seen[ref]}.")
            lat, lon, area = _opt_float(raw, "lat"), _opt_float(raw, "lon"), _opt_float(raw, "floor_area_m2")
            if lat is None or lon is None:
                raise PlanningError("lat and lon are required.")
            if area is None:
                raise PlanningError("floor_area_m2 is required.")
            band = (raw.get("epc_band") or "").strip().upper() or None
            b = Building(
                ref=ref,
                building_type=(raw.get("building_type") or "").strip().lower(),
                floor_area_m2=area,
                lat=lat,
                lon=lon,
                epc_band=band,
                heating_fuel=(raw.get("heating_fuel") or "gas").strip().lower() or "gas",
                annual_elec_kwh=_opt_float(raw, "annual_elec_kwh"),
                annual_heating_fuel_kwh=_opt_float(raw, "annual_heating_fuel_kwh"),
                roof_area_m2=_opt_float(raw, "roof_area_m2"),
                roof_tilt_deg=_opt_float(raw, "roof_tilt_deg"),
                roof_azimuth_deg=_opt_float(raw, "roof_azimuth_deg"),
                existing_pv_kwp=_opt_float(raw, "existing_pv_kwp") or 0.0,
                node=(raw.get("network_node") or "").strip() or None,
            )
            validate_building(b)
        except PlanningError as exc:
            result.errors.append(RowError(line, str(exc)))
            continue
        seen[ref] = line
        result.rows.append(
            ParsedBuilding(
                line=line,
                building=b,
                address=(raw.get("address") or "").strip(),
                postcode=(raw.get("postcode") or "").strip().upper(),
            )
        )
    if not result.rows and not result.errors:
        result.errors.append(RowError(1, "The file has a header but no buildings."))
    return result


def _fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:g}" if abs(v) < 1e15 else repr(v)
    return str(v)


def buildings_to_csv(rows: list[ParsedBuilding]) -> str:
    out = io.StringIO()
    w = csvsafe.writer(out, lineterminator="\n")
    w.writerow(BUILDING_COLUMNS)
    for r in rows:
        b = r.building
        w.writerow(
            [
                _fmt(x)
                for x in (
                    b.ref,
                    r.address,
                    r.postcode,
                    b.lat,
                    b.lon,
                    b.building_type,
                    b.floor_area_m2,
                    b.epc_band,
                    b.heating_fuel,
                    b.annual_elec_kwh,
                    b.annual_heating_fuel_kwh,
                    b.roof_area_m2,
                    b.roof_tilt_deg,
                    b.roof_azimuth_deg,
                    b.existing_pv_kwp,
                    b.node,
                )
            ]
        )
    return out.getvalue()


# --------------------------------------------------------------------------
# network headroom (DNO open-data style)
# --------------------------------------------------------------------------

NETWORK_COLUMNS = ("node_ref", "name", "parent_ref", "level", "capacity_kw", "export_capacity_kw", "peak_kw")
NETWORK_ALIASES = {
    "substation_id": "node_ref",
    "site_id": "node_ref",
    "id": "node_ref",
    "ref": "node_ref",
    "substation_name": "name",
    "site_name": "name",
    "parent_id": "parent_ref",
    "parent": "parent_ref",
    "upstream_id": "parent_ref",
    "asset_type": "level",
    "type": "level",
    "firm_capacity_kw": "capacity_kw",
    "capacity": "capacity_kw",
    "rating_kw": "capacity_kw",
    "maximum_demand_kw": "peak_kw",
    "max_demand_kw": "peak_kw",
    "peak_demand_kw": "peak_kw",
    "firm_capacity_kva": "capacity_kva",
    "rating_kva": "capacity_kva",
    "export_capacity": "export_capacity_kw",
    "generation_capacity_kw": "export_capacity_kw",
    "export_capacity_kva": "export_capacity_kva",
    "maximum_demand_kva": "peak_kva",
    "max_demand_kva": "peak_kva",
}
# The community's network tree is GSP -> primary -> secondary/feeder.
LEVELS = ("gsp", "primary", "secondary", "feeder")
LEVEL_KIND = {"gsp": "gsp", "primary": "primary", "secondary": "feeder", "feeder": "feeder"}
# kVA -> kW where the DNO publishes apparent power (typical distribution
# power factor; stated on the import page).
POWER_FACTOR = 0.95


@dataclass
class ParsedNode:
    line: int
    ref: str
    name: str
    parent_ref: str | None
    level: str
    capacity_kw: float
    peak_kw: float | None
    export_capacity_kw: float | None = None

    @property
    def kind(self) -> str:
        return LEVEL_KIND[self.level]


@dataclass
class NetworkImport:
    rows: list[ParsedNode] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.rows)


def parse_network_csv(text: str, *, existing_refs: set[str] | None = None) -> NetworkImport:
    result = NetworkImport()
    reader, header = _reader(text, NETWORK_ALIASES)
    if "node_ref" not in header or not ({"capacity_kw", "capacity_kva"} & set(header)):
        raise PlanningError(
            "The header needs node_ref and capacity_kw (or capacity_kva); "
            f"expected columns: {', '.join(NETWORK_COLUMNS)}."
        )
    refs: dict[str, int] = {}
    for i, raw in enumerate(reader):
        line = i + 2
        if not any((v or "").strip() for v in raw.values() if isinstance(v, str)):
            continue
        try:
            ref = (raw.get("node_ref") or "").strip()
            if not ref:
                raise PlanningError("node_ref is required.")
            if ref in refs:
                raise PlanningError(f"node {ref!r} already given on line {refs[ref]}.")
            cap = _opt_float(raw, "capacity_kw")
            if cap is None:
                kva = _opt_float(raw, "capacity_kva")
                cap = None if kva is None else kva * POWER_FACTOR
            if cap is None or cap <= 0:
                raise PlanningError("capacity must be more than 0 kW.")
            peak = _opt_float(raw, "peak_kw")
            if peak is None:
                pk = _opt_float(raw, "peak_kva")
                peak = None if pk is None else pk * POWER_FACTOR
            if peak is not None and peak < 0:
                raise PlanningError("peak load cannot be negative.")
            export = _opt_float(raw, "export_capacity_kw")
            if export is None:
                ekva = _opt_float(raw, "export_capacity_kva")
                export = None if ekva is None else ekva * POWER_FACTOR
            if export is not None and export < 0:
                raise PlanningError("export capacity cannot be negative.")
            level = (raw.get("level") or "feeder").strip().lower()
            if level == "bsp":
                raise PlanningError(
                    "bulk supply points are not in the community's tree (GSP -> primary -> "
                    "feeder); put the BSP's limit on the GSP row instead."
                )
            if level not in LEVELS:
                raise PlanningError(f"level {level!r} is not one of: {', '.join(LEVELS)}.")
        except PlanningError as exc:
            result.errors.append(RowError(line, str(exc)))
            continue
        refs[ref] = line
        result.rows.append(
            ParsedNode(
                line=line,
                ref=ref,
                name=(raw.get("name") or "").strip() or ref,
                parent_ref=(raw.get("parent_ref") or "").strip() or None,
                level=level,
                capacity_kw=cap,
                peak_kw=peak,
                export_capacity_kw=export,
            )
        )
    known = set(refs) | set(existing_refs or ())
    for r in result.rows:
        if r.parent_ref is not None and r.parent_ref not in known:
            result.errors.append(
                RowError(r.line, f"parent {r.parent_ref!r} is neither in the file nor in the network.")
            )
        if r.parent_ref == r.ref:
            result.errors.append(RowError(r.line, "a node cannot be its own parent."))
    result.errors.sort(key=lambda e: e.line)
    if not result.rows and not result.errors:
        result.errors.append(RowError(1, "The file has a header but no network nodes."))
    return result
