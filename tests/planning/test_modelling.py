"""Pure-domain tests for the LAEP modelling (no database)."""

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planning.domain import battery
from planning.domain.buildings import Building, estimate_demand, stock_from_buildings
from planning.domain.errors import PlanningError
from planning.domain.modelling import (
    NetworkNode,
    OptionChoice,
    current_state,
    run_scenario,
    take_up_by_year,
    wind_power_curve,
)
from planning.domain.profiles import heat_pump_shape
from planning.domain.solar import annual_yield_kwh_per_kwp
from planning.domain.weather import hourly_wind_speed_ms

BIRMINGHAM = (52.48, -1.90)
NEWCASTLE = (54.97, -1.61)
TRURO = (50.26, -5.05)


def homes(n=40, **kw):
    base = dict(
        building_type="house",
        floor_area_m2=94.0,
        lat=BIRMINGHAM[0],
        lon=BIRMINGHAM[1],
        epc_band="D",
        heating_fuel="gas",
        roof_area_m2=30.0,
    )
    base.update(kw)
    return [Building(ref=f"h{i}", node="f1" if i % 2 else "f2", **base) for i in range(n)]


NODES = [NetworkNode("sub", None, 400.0), NetworkNode("f1", "sub", 150.0), NetworkNode("f2", "sub", 150.0)]


def scenario(options, buildings=None, nodes=NODES, **kw):
    args = dict(start_year=2026, end_year=2035, current_year=2026)
    args.update(kw)
    return run_scenario(buildings or homes(), nodes, options, **args)


# --- PV yield against published UK figures ---------------------------------


def test_pv_yield_lands_near_sap_850_for_birmingham():
    y = annual_yield_kwh_per_kwp(*BIRMINGHAM, 35, 180)
    assert 780 <= y <= 990
    assert abs(y - 850) / 850 < 0.08


def test_clear_sky_alone_would_roughly_double_the_yield():
    scaled = annual_yield_kwh_per_kwp(*BIRMINGHAM, 35, 180)
    clear = annual_yield_kwh_per_kwp(*BIRMINGHAM, 35, 180, scaled=False)
    assert 1.7 < clear / scaled < 2.2


def test_south_of_england_yields_more_than_the_north_east():
    assert annual_yield_kwh_per_kwp(*TRURO, 35, 180) > annual_yield_kwh_per_kwp(*NEWCASTLE, 35, 180) + 50


def test_orientation_matters_south_beats_east_beats_north():
    south = annual_yield_kwh_per_kwp(*BIRMINGHAM, 35, 180)
    east = annual_yield_kwh_per_kwp(*BIRMINGHAM, 35, 90)
    north = annual_yield_kwh_per_kwp(*BIRMINGHAM, 35, 0)
    assert south > east > north > 0


@pytest.mark.parametrize("tilt", [-1, 91, 120])
def test_impossible_tilt_is_refused(tilt):
    with pytest.raises(PlanningError, match="tilt must be between 0 and 90"):
        annual_yield_kwh_per_kwp(*BIRMINGHAM, tilt, 180)


def test_a_roof_outside_the_uk_is_refused():
    with pytest.raises(PlanningError, match="outside the UK"):
        annual_yield_kwh_per_kwp(48.85, 2.35, 35, 180)


# --- demand estimates ---------------------------------------------------------


def test_typical_home_estimate_is_the_ofgem_tdcv():
    elec, heat, how = estimate_demand(
        building_type="house",
        floor_area_m2=94,
        epc_band="D",
        heating_fuel="gas",
        annual_elec_kwh=None,
        annual_heating_fuel_kwh=None,
        boiler_efficiency=0.85,
    )
    assert elec == pytest.approx(2700)
    assert heat / 0.85 == pytest.approx(11500)
    assert "Ofgem" in how


def test_a_leaky_band_g_home_needs_more_heat_than_band_c():
    g = estimate_demand(
        building_type="house",
        floor_area_m2=94,
        epc_band="G",
        heating_fuel="gas",
        annual_elec_kwh=None,
        annual_heating_fuel_kwh=None,
    )[1]
    c = estimate_demand(
        building_type="house",
        floor_area_m2=94,
        epc_band="C",
        heating_fuel="gas",
        annual_elec_kwh=None,
        annual_heating_fuel_kwh=None,
    )[1]
    assert g > 2 * c


def test_known_consumption_replaces_the_estimate():
    elec, heat, how = estimate_demand(
        building_type="house",
        floor_area_m2=94,
        epc_band="D",
        heating_fuel="gas",
        annual_elec_kwh=3100,
        annual_heating_fuel_kwh=9000,
        boiler_efficiency=0.9,
    )
    assert elec == 3100 and heat == pytest.approx(8100)
    assert how.startswith("known")


def test_non_domestic_uses_cibse_benchmarks_per_m2():
    elec, heat, _ = estimate_demand(
        building_type="office",
        floor_area_m2=1000,
        epc_band=None,
        heating_fuel="gas",
        annual_elec_kwh=None,
        annual_heating_fuel_kwh=None,
        boiler_efficiency=1.0,
    )
    assert elec == pytest.approx(95_000) and heat == pytest.approx(120_000)


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("floor_area_m2", -5.0, "Floor area must be more than 0"),
        ("roof_tilt_deg", 95.0, "tilt must be between 0 and 90"),
        ("epc_band", "Z", "EPC band"),
        ("roof_area_m2", -1.0, "Roof area cannot be negative"),
        ("heating_fuel", "coal", "Heating fuel"),
    ],
)
def test_impossible_buildings_are_refused_by_name(field, value, message):
    b = (
        homes(1, **{field: value})
        if field not in ("floor_area_m2",)
        else [Building(ref="h0", building_type="house", floor_area_m2=value, lat=52.4, lon=-1.9)]
    )
    with pytest.raises(PlanningError, match=message) as exc:
        stock_from_buildings(b)
    assert "h0" in str(exc.value)


# --- heat pumps, wind -------------------------------------------------------


def test_air_source_heat_pump_seasonal_cop_is_realistic():
    _, scop = heat_pump_shape(6, True, 45.0, None)
    assert 2.5 < scop < 3.6
    _, scop_ground = heat_pump_shape(6, True, 45.0, 10.0)
    assert scop_ground > scop


def test_wind_turbine_capacity_factor_is_uk_like():
    cf = (wind_power_curve(hourly_wind_speed_ms(6.5)) * 0.97).mean()
    assert 0.18 < cf < 0.36


@given(st.floats(min_value=0, max_value=40))
def test_power_curve_is_a_share_of_rated(v):
    p = float(wind_power_curve(np.array([v]))[0])
    assert 0.0 <= p <= 1.0


# --- take-up -----------------------------------------------------------------


def test_take_up_interpolates_and_holds():
    curve = take_up_by_year({2028: 0.2, 2030: 0.6}, list(range(2026, 2033)), current_year=2026)
    assert curve.tolist() == pytest.approx([0, 0, 0.2, 0.4, 0.6, 0.6, 0.6])


@pytest.mark.parametrize(
    "points,message",
    [
        ({2030: 1.2}, "must be between 0% and 100%"),
        ({2030: -0.1}, "must be between 0% and 100%"),
        ({2024: 0.1}, "before the current year 2026"),
        ({2028: 0.5, 2030: 0.3}, "can only stay level or rise"),
    ],
)
def test_impossible_take_up_is_refused(points, message):
    with pytest.raises(PlanningError, match=message):
        take_up_by_year(points, [2026, 2030], current_year=2026)


@given(st.dictionaries(st.integers(2026, 2040), st.floats(0, 1), min_size=1, max_size=6))
def test_take_up_curve_stays_in_range(points):
    ordered = sorted(points.items())
    monotone = dict(zip([y for y, _ in ordered], np.maximum.accumulate([f for _, f in ordered]), strict=False))
    curve = take_up_by_year(monotone, list(range(2026, 2041)), current_year=2026)
    assert ((curve >= 0) & (curve <= 1 + 1e-12)).all()
    assert (np.diff(curve) >= -1e-12).all()


# --- battery --------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-4, 4), min_size=24, max_size=96), st.floats(0.5, 15), st.floats(0.5, 5), st.floats(0.7, 1.0))
def test_battery_conserves_energy_and_never_adds_import(net, cap, power, rte):
    before = np.array(net)[:, None]
    after = battery.self_consumption(before, cap, power, rte)
    imp_before, imp_after = np.clip(before, 0, None).sum(), np.clip(after, 0, None).sum()
    exp_before, exp_after = np.clip(-before, 0, None).sum(), np.clip(-after, 0, None).sum()
    assert imp_after <= imp_before + 1e-9
    assert exp_after <= exp_before + 1e-9
    charged = exp_before - exp_after
    discharged = imp_before - imp_after
    assert discharged <= charged * rte + 1e-6  # cannot give back more than it stored, after losses
    assert np.all(np.abs(after - before) <= power + 1e-9)


# --- scenarios -------------------------------------------------------------------


def test_doing_nothing_costs_and_saves_nothing():
    r = scenario([])
    assert r.total_capex_gbp == 0
    assert all(y.bill_savings_gbp == 0 and y.carbon_saved_kg == 0 for y in r.years)
    assert r.simple_payback_years is None


def test_rooftop_pv_take_up_drives_generation_savings_and_carbon():
    r = scenario([OptionChoice("pv", "rooftop_pv", {2026: 0.25, 2030: 0.5})])
    by_year = {y.year: y for y in r.years}
    assert by_year[2030].generation_wh > by_year[2026].generation_wh > 0
    # 20 of 40 homes x (30 m2 roof x 60 % usable x 0.2 kWp/m2 = 3.6 kWp) x GBP 950
    assert r.total_capex_gbp == Decimal("68400.00")
    assert by_year[2030].bill_savings_gbp > 0 and by_year[2030].carbon_saved_kg > 0
    assert 0 < r.self_sufficiency_end < 1
    cumulative = 0
    for y in r.years:
        cumulative += y.carbon_saved_kg
        assert abs(y.carbon_saved_cumulative_kg - cumulative) <= len(r.years)
    assert r.simple_payback_years == (r.total_capex_gbp / r.annual_net_benefit_gbp).quantize(Decimal("0.1"))


def test_batteries_raise_self_sufficiency():
    pv = OptionChoice("pv", "rooftop_pv", {2026: 1.0})
    without = scenario([pv])
    with_batt = scenario([pv, OptionChoice("b", "battery", {2026: 1.0})])
    assert with_batt.self_sufficiency_end > without.self_sufficiency_end
    assert with_batt.years[-1].bill_savings_gbp > without.years[-1].bill_savings_gbp


def test_heat_pumps_cut_gas_and_raise_the_feeder_peak():
    r = scenario([OptionChoice("hp", "heat_pump", {2026: 0.0, 2030: 1.0})])
    assert r.years[-1].demand_heat_fuel_wh == 0
    assert r.years[0].demand_heat_fuel_wh > 0
    f1 = next(n for n in r.nodes if n.ref == "f1")
    assert f1.peak_w[-1] > 2 * f1.baseline_peak_w
    assert r.years[-1].carbon_saved_kg > 0


def test_a_feeder_that_cannot_carry_the_plan_is_flagged():
    nodes = [NetworkNode("sub", None, 400.0), NetworkNode("f1", "sub", 20.0, 15.0), NetworkNode("f2", "sub", 150.0)]
    r = scenario(
        [
            OptionChoice("hp", "heat_pump", {2026: 0.0, 2030: 1.0}),
            OptionChoice("ev", "ev_charger", {2026: 0.0, 2030: 1.0}),
        ],
        nodes=nodes,
    )
    f1 = next(n for n in r.nodes if n.ref == "f1")
    f2 = next(n for n in r.nodes if n.ref == "f2")
    assert f1.first_overload_year is not None and 2027 <= f1.first_overload_year <= 2030
    assert f1.baseline_peak_w == 15000
    assert f2.first_overload_year is None
    # the substation sees both feeders
    sub = next(n for n in r.nodes if n.ref == "sub")
    assert sub.peak_w[-1] >= max(f2.peak_w[-1], 1)


def test_community_assets_earn_income_and_count_their_capex():
    r = scenario(
        [
            OptionChoice("cs", "community_solar", {2027: 1.0}, {"kwp": 100}),
            OptionChoice("wt", "wind_turbine", {2029: 1.0}, {"rated_kw": 50}),
        ]
    )
    assert r.total_capex_gbp == Decimal(100 * 800 + 50 * 1600)
    by_year = {y.year: y for y in r.years}
    assert by_year[2026].community_income_gbp == 0
    assert by_year[2030].community_income_gbp > by_year[2027].community_income_gbp > 0


def test_retrofit_reduces_heating_fuel_for_worse_bands_only():
    mixed = homes(20, epc_band="F") + [
        Building(ref=f"c{i}", building_type="house", floor_area_m2=94, lat=52.48, lon=-1.9, epc_band="B", node="f1")
        for i in range(20)
    ]
    r = scenario([OptionChoice("rf", "retrofit", {2026: 1.0}, {"target_band": "C"})], buildings=mixed)
    assert r.options[0]["units_end"] == 20
    assert r.years[0].demand_heat_fuel_wh < scenario([], buildings=mixed).years[0].demand_heat_fuel_wh


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(start_year=2025), "before the current year"),
        (dict(end_year=2020), "ends"),
    ],
)
def test_impossible_plan_years_are_refused(kwargs, message):
    with pytest.raises(PlanningError, match=message):
        scenario([], **kwargs)


def test_heat_pumps_and_ground_loop_cannot_exceed_all_homes():
    with pytest.raises(PlanningError, match="cannot add up to more than 100%"):
        scenario([OptionChoice("hp", "heat_pump", {2026: 0.7}), OptionChoice("gl", "ground_loop", {2030: 0.5})])


def test_scenario_without_buildings_says_why():
    with pytest.raises(PlanningError, match="no buildings"):
        run_scenario([], NODES, [], start_year=2026, end_year=2030, current_year=2026)


def test_community_solar_needs_a_size():
    with pytest.raises(PlanningError, match="size in kWp"):
        scenario([OptionChoice("cs", "community_solar", {2027: 1.0})])


def test_buildings_on_unknown_nodes_are_refused():
    with pytest.raises(PlanningError, match="not in the network"):
        scenario([], buildings=homes(2), nodes=[NetworkNode("sub", None, 100.0)])


def test_current_state_breaks_demand_down_by_fuel():
    mixed = (
        homes(10)
        + homes(1, heating_fuel="oil")[:0]
        + [
            Building(ref="oil1", building_type="house", floor_area_m2=94, lat=52.48, lon=-1.9, heating_fuel="oil"),
            Building(ref="pv1", building_type="house", floor_area_m2=94, lat=52.48, lon=-1.9, existing_pv_kwp=4.0),
        ]
    )
    cs = current_state(mixed, NODES, current_year=2026)
    assert cs.buildings == 12 and cs.estimated == 12
    assert cs.gas_wh == pytest.approx(11 * 11_500_000, rel=1e-6)
    assert cs.oil_wh == pytest.approx(11_500_000, rel=1e-6)
    assert 3_000_000 < cs.pv_generation_wh < 4_000_000
    assert cs.carbon_kg["gas"] == round(11 * 11500 * 0.183)


def test_results_serialise_to_json_types():
    import json

    r = scenario([OptionChoice("pv", "rooftop_pv", {2026: 0.5})])
    json.dumps(r.to_dict())


@settings(max_examples=12, deadline=None)
@given(
    n=st.integers(3, 25),
    pv=st.floats(0, 1),
    batt=st.floats(0, 1),
    hp=st.floats(0, 0.6),
    gl=st.floats(0, 0.4),
    ev=st.floats(0, 1),
    seed=st.integers(0, 1000),
)
def test_scenario_books_balance(n, pv, batt, hp, gl, ev, seed):
    rng = np.random.default_rng(seed)
    buildings = [
        Building(
            ref=f"b{i}",
            building_type=["house", "flat", "school"][i % 3],
            floor_area_m2=float(rng.uniform(40, 900)),
            lat=52.4,
            lon=-1.9,
            epc_band="BCDEFG"[i % 6],
            heating_fuel=["gas", "oil", "electric"][i % 3],
            roof_area_m2=float(rng.uniform(10, 60)),
            roof_azimuth_deg=float(rng.uniform(90, 270)),
            node="f1" if i % 2 else "f2",
        )
        for i in range(n)
    ]
    opts = [
        OptionChoice("pv", "rooftop_pv", {2026: pv}),
        OptionChoice("b", "battery", {2027: batt}),
        OptionChoice("hp", "heat_pump", {2028: hp}),
        OptionChoice("gl", "ground_loop", {2029: gl}),
        OptionChoice("ev", "ev_charger", {2030: ev}),
    ]
    r = run_scenario(buildings, NODES, opts, start_year=2026, end_year=2031, current_year=2026, seed=seed)
    assert sum(y.capex_gbp for y in r.years) == r.total_capex_gbp
    assert sum(o["capex_gbp"] for o in r.options) == r.total_capex_gbp
    for y in r.years:
        assert 0.0 <= y.self_sufficiency <= 1.0
        net_grid = y.grid_import_wh - y.grid_export_wh
        net_need = y.demand_elec_wh - y.generation_wh
        # the grid supplies what demand needs beyond local generation, plus battery losses (never less)
        assert net_grid >= net_need - 5
        assert net_grid - net_need <= 0.2 * max(y.generation_wh, 1) + 5
    assert [y.capex_cumulative_gbp for y in r.years] == sorted(y.capex_cumulative_gbp for y in r.years)
