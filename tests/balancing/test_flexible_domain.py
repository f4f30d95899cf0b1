"""The pure parts of issue 11's remaining gaps: the flexible loads' commands and
their safety gate (hypothesis), the MPC keeping to trades and VPP events, and
heat planned with the weather."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import combinations
from zoneinfo import ZoneInfo

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from vpp.balancing.domain import loads, mpc, tariff

# --- the safety gate ---------------------------------------------------------------------


@st.composite
def proposals(draw):
    n = draw(st.integers(0, 7))
    out = []
    for k in range(n):
        now_w = draw(st.integers(0, 7_000))
        if draw(st.booleans()):
            p = loads.ev_proposal(
                key=k,
                planned_w=draw(st.integers(-500, 8_000)),
                now_w=now_w,
                rated_w=7_000,
                lease_w=draw(st.one_of(st.none(), st.integers(0, 7_000))),
            )
        else:
            p = loads.heat_pump_proposal(
                key=k,
                planned_indoor_c=draw(st.floats(15, 26)),
                planned_w=draw(st.integers(0, 3_000)),
                base_setpoint_c=20.0,
                comfort_min_c=18.0,
                comfort_max_c=23.0,
                lease_delta_c=draw(st.one_of(st.none(), st.sampled_from([-2.0, -1.0, 0.0, 1.0, 2.5]))),
                now_w=min(now_w, 3_000),
                rated_w=3_000,
            )
        if p is not None:
            out.append(p)
    return out


@settings(max_examples=200, deadline=None)
@given(
    props=proposals(),
    measured=st.integers(-60_000, 60_000),
    battery=st.integers(-20_000, 20_000),
    imp=st.integers(0, 50_000),
    exp=st.integers(0, 50_000),
    margin=st.integers(0, 3_000),
)
def test_whatever_subset_of_the_kept_load_commands_is_obeyed_no_limit_is_crossed(
    props, measured, battery, imp, exp, margin
):
    g = loads.gate(
        props,
        measured_net_w=measured,
        battery_change_w=battery,
        import_limit_w=imp,
        export_limit_w=exp,
        margin_w=margin,
    )
    assert len(g.kept) + len(g.dropped) == len(props)
    hi, lo = imp - margin, -(exp - margin)
    # the batteries may or may not apply their own step; each load may or may not obey
    for b in (0, battery):
        base = measured + b
        for r in range(len(g.kept) + 1):
            for subset in combinations(g.kept, r):
                worst_up = base + sum(p.up_w for p in subset)
                worst_down = base - sum(p.down_w for p in subset)
                if subset:
                    assert worst_up <= max(hi, base) + 1e-6
                    assert worst_down >= min(lo, base) - 1e-6


def test_the_gate_holds_back_a_pre_heat_when_the_segment_is_near_its_import_limit():
    raise_ = loads.heat_pump_proposal(
        key=1,
        planned_indoor_c=22.4,
        planned_w=3_000,
        base_setpoint_c=20.0,
        comfort_min_c=18,
        comfort_max_c=23,
        lease_delta_c=None,
        now_w=500,
        rated_w=3_000,
    )
    assert raise_.params == {"delta_c": 2.5} and raise_.up_w == 2_500
    lower = loads.ev_proposal(key=2, planned_w=0, now_w=7_000, rated_w=7_000, lease_w=None)
    assert lower.params == {"power_w": 0} and lower.down_w == 7_000
    g = loads.gate(
        [raise_, lower], measured_net_w=18_000, battery_change_w=0, import_limit_w=20_000, export_limit_w=20_000
    )
    assert g.kept == [lower] and g.dropped == [raise_]
    # a wrong reading (NaN) sends nothing at all
    g = loads.gate(
        [raise_, lower], measured_net_w=float("nan"), battery_change_w=0, import_limit_w=20_000, export_limit_w=0
    )
    assert g.kept == []


def test_an_ev_plan_at_full_rate_needs_no_command_and_tiny_rates_become_a_signalable_one():
    assert loads.ev_proposal(key=1, planned_w=6_950, now_w=7_000, rated_w=7_000, lease_w=None) is None
    assert loads.ev_proposal(key=1, planned_w=500, now_w=7_000, rated_w=7_000, lease_w=None).params["power_w"] == 0
    assert loads.ev_proposal(key=1, planned_w=900, now_w=0, rated_w=7_000, lease_w=0).params["power_w"] == 1_400
    renewal = loads.ev_proposal(key=1, planned_w=3_050, now_w=3_000, rated_w=7_000, lease_w=3_000)
    assert renewal.renewal and renewal.up_w == renewal.down_w == 0


def test_a_heat_pump_setpoint_stays_inside_the_household_s_comfort_band():
    p = loads.heat_pump_proposal(
        key=1,
        planned_indoor_c=30.0,
        planned_w=3_000,
        base_setpoint_c=21.0,
        comfort_min_c=19,
        comfort_max_c=23,
        lease_delta_c=None,
        now_w=0,
        rated_w=3_000,
    )
    assert p.params == {"delta_c": 2.0}
    p = loads.heat_pump_proposal(
        key=1,
        planned_indoor_c=10.0,
        planned_w=0,
        base_setpoint_c=21.0,
        comfort_min_c=19,
        comfort_max_c=23,
        lease_delta_c=None,
        now_w=2_000,
        rated_w=3_000,
    )
    assert p.params == {"delta_c": -2.0} and p.down_w == 2_000 and p.up_w == 0


# --- the MPC: commitments and the weather -----------------------------------------------------

T = 16  # four hours of quarter-hours


def _noon_problem(**kw) -> mpc.Problem:
    """One home at noon: 3 kW of sun, 300 W of load, a 10 kWh battery half full."""
    base = dict(
        step_h=0.25,
        load_w=np.full(T, 300.0),
        pv_w=np.full(T, 3_000.0),
        import_limit_w=np.full(T, 20_000.0),
        export_limit_w=np.full(T, 20_000.0),
        import_price_p=np.full(T, 24.5),
        export_price_p=np.full(T, 5.5),
        outdoor_c=np.full(T, 15.0),
        batteries=mpc.Batteries(
            capacity_wh=np.array([10_000.0]),
            stored_wh=np.array([5_000.0]),
            reserve_wh=np.array([1_000.0]),
            max_charge_w=np.array([5_000.0]),
            max_discharge_w=np.array([5_000.0]),
            efficiency=np.array([0.95]),
        ),
    )
    base.update(kw)
    return mpc.Problem(**base)


def test_without_a_trade_the_battery_soaks_up_the_noon_sun():
    s = mpc.solve(_noon_problem())
    # 2.7 kW of surplus is worth more stored than exported at 5.5p: the battery never discharges, and fills
    assert s.battery_w.min() >= 0
    assert s.battery_stored_wh[0, -1] >= 9_990


def test_a_site_that_sold_its_noon_sun_delivers_it_and_discharges_for_the_rest():
    # the home sold 2 kWh for each of the first two half-hours: 4 kW it must export
    committed = np.full((1, T), np.nan)
    committed[0, :4] = -4_000.0
    com = mpc.SiteCommitments(
        committed_w=committed,
        uncontrolled_w=np.array([np.full(T, 300.0 - 3_000.0)]),
        batteries=(np.array([0]),),
        evs=(np.array([], dtype=int),),
        heat_pumps=(np.array([], dtype=int),),
    )
    s = mpc.solve(_noon_problem(commitments=com))
    # 2.7 kW of surplus is not enough: the battery makes up the 1.3 kW, then charges again
    assert np.all(s.battery_w[0, :4] <= -1_290), s.battery_w[0, :4]
    assert np.all(s.net_w[:4] <= -3_990)
    assert s.battery_w[0, 4:].min() >= 0  # then it soaks up the sun again
    assert s.commitment_miss_wh == 0


def test_a_trade_the_devices_cannot_keep_is_reported_not_hidden():
    committed = np.full((1, T), np.nan)
    committed[0, :2] = -20_000.0  # sold far more than the sun and the battery can give
    com = mpc.SiteCommitments(
        committed_w=committed,
        uncontrolled_w=np.array([np.full(T, -2_700.0)]),
        batteries=(np.array([0]),),
        evs=(np.array([], dtype=int),),
        heat_pumps=(np.array([], dtype=int),),
    )
    s = mpc.solve(_noon_problem(commitments=com))
    assert s.battery_w[0, 0] == -5_000
    assert s.commitment_miss_wh > 0


def _evening_problem(n_bat: int, fixed=None) -> mpc.Problem:
    T2 = 24  # 18:00 .. 24:00
    batteries = mpc.Batteries(
        capacity_wh=np.full(n_bat, 10_000.0),
        stored_wh=np.full(n_bat, 3_000.0),
        reserve_wh=np.full(n_bat, 1_000.0),
        max_charge_w=np.full(n_bat, 3_000.0),
        max_discharge_w=np.full(n_bat, 3_000.0),
        efficiency=np.full(n_bat, 0.95),
        fixed_w=fixed,
    )
    return mpc.Problem(
        step_h=0.25,
        load_w=np.full(T2, 1_500.0 * n_bat),
        pv_w=np.zeros(T2),
        import_limit_w=np.full(T2, 50_000.0 * n_bat),
        export_limit_w=np.full(T2, 50_000.0 * n_bat),
        import_price_p=np.r_[np.full(8, 34.5), np.full(16, 24.5)],
        export_price_p=np.full(T2, 5.5),
        outdoor_c=np.full(T2, 8.0),
        batteries=batteries,
    )


def test_a_vpp_event_is_kept_and_the_battery_keeps_the_energy_for_it():
    # an accepted event asks battery 0 for 2.5 kW less import 21:00-22:00 (steps 12..15)
    fixed = np.full((1, 24), np.nan)
    fixed[0, 12:16] = -2_500.0
    free = mpc.solve(_evening_problem(1))
    held = mpc.solve(_evening_problem(1, fixed))
    # without the event the battery spends its energy in the dear first two hours
    assert free.battery_stored_wh[0, 8] < 1_100
    # with it, the energy for 2.5 kWh of discharge (plus losses) is still there at 21:00
    assert held.battery_stored_wh[0, 12] >= 1_000 + 2_500 / 0.95 - 5
    assert np.all(held.battery_w[0, 12:16] == -2_500)
    assert held.commitment_miss_wh == 0


def test_fleet_planning_keeps_a_committed_battery_to_its_event():
    n = 40  # above DIRECT_LIMIT: planned in groups, the committed battery alone
    fixed = np.full((n, 24), np.nan)
    fixed[7, 12:16] = -2_500.0
    s, unplaced = mpc.solve_fleet(_evening_problem(n, fixed))
    assert np.all(s.battery_w[7, 12:16] == -2_500)
    assert s.battery_stored_wh[7, 12] >= 1_000 + 2_500 / 0.95 - 5
    assert s.commitment_miss_wh == 0


def _night(outdoor: float) -> mpc.Problem:
    T3 = 32  # 8 h
    return mpc.Problem(
        step_h=0.25,
        load_w=np.full(T3, 300.0),
        pv_w=np.zeros(T3),
        import_limit_w=np.full(T3, 20_000.0),
        export_limit_w=np.full(T3, 20_000.0),
        import_price_p=np.full(T3, 24.5),
        export_price_p=np.full(T3, 5.5),
        outdoor_c=np.full(T3, outdoor),
        heat_pumps=mpc.HeatPumps(
            rated_w=np.array([3_000.0]),
            indoor_c=np.array([20.0]),
            comfort_min_c=np.array([18.0]),
            comfort_max_c=np.array([22.0]),
            r_k_per_w=np.array([1 / 180]),
            c_j_per_k=np.array([1.2e7]),
            cop=np.array([mpc.heat_pump_cop(np.full(T3, outdoor))]),
            setpoint_c=np.array([20.0]),
        ),
    )


def test_a_cold_night_plans_more_heat_than_a_mild_one():
    mild = mpc.solve(_night(9.0))
    cold = mpc.solve(_night(-3.0))
    assert cold.heat_pump_w.sum() > 1.5 * mild.heat_pump_w.sum()
    # and the home is kept at the household's setpoint in both
    assert cold.indoor_c[0, 1:].min() >= 19.95 and mild.indoor_c[0, 1:].min() >= 19.95


def test_the_heat_pump_cop_falls_as_it_gets_colder():
    cop = mpc.heat_pump_cop(np.array([-5.0, 0.0, 7.0, 15.0]))
    assert np.all(np.diff(cop) > 0) and cop[0] >= 1.5 and cop[-1] <= 5.5


# --- the red band: heat moved out of it -------------------------------------------------

_LONDON = ZoneInfo("Europe/London")


@settings(max_examples=40, deadline=None)
@given(
    homes=st.integers(1, 3),
    outdoor=st.floats(-5.0, 9.0),
    indoor=st.floats(20.0, 21.5),
    load_w=st.lists(st.integers(200, 2_500), min_size=96, max_size=96),
    day=st.sampled_from([12, 13, 14, 15, 16]),  # the weekdays of a January week
)
def test_an_hour_before_the_red_band_heat_pumps_pre_heat_and_coast_through_it(homes, outdoor, indoor, load_w, day):
    """Whatever the weather, the homes' other demand and where the rooms start in the band, heat
    pumps alone (no battery to move the red band's demand instead) warm the homes above the
    household's setpoint in the hour before the 16:00-19:00 red band and draw far less inside it,
    never letting a home below its comfort minimum."""
    T = 96
    starts = [datetime(2026, 1, day, 15, 0, tzinfo=_LONDON) + timedelta(minutes=15 * i) for i in range(T)]
    imp, exp, _ = tariff.prices(starts)
    out = outdoor + 3 * np.cos(2 * np.pi * (np.arange(T) / 4) / 24)  # warmest at 15:00
    p = mpc.Problem(
        step_h=0.25,
        load_w=np.array(load_w, float) * homes,
        pv_w=np.zeros(T),
        import_limit_w=np.full(T, 38_000.0),
        export_limit_w=np.full(T, 18_000.0),
        import_price_p=imp,
        export_price_p=exp,
        outdoor_c=out,
        heat_pumps=mpc.HeatPumps(
            rated_w=np.full(homes, 3_000.0),
            indoor_c=np.full(homes, indoor),
            comfort_min_c=np.full(homes, 19.0),
            comfort_max_c=np.full(homes, 23.0),
            r_k_per_w=np.full(homes, 1 / 180),
            c_j_per_k=np.full(homes, 1.2e7),
            cop=np.tile(mpc.heat_pump_cop(out, 35.0), (homes, 1)),
            setpoint_c=np.full(homes, 21.0),
        ),
        capacity_charge_p_per_kw=5_000.0,
        billed_peak_w=30_000.0,
        peak_margin_w=mpc.PEAK_MARGIN_W,
    )
    s, _ = mpc.solve_fleet(p)
    for k in range(homes):
        temp, plan = s.indoor_c[k], s.heat_pump_w[k]
        assert temp[4] > max(indoor, 21.0) + 0.4  # 16:00: warmer than the setpoint going in
        assert plan[4:16].mean() < 0.7 * plan[:4].mean()
        assert temp.min() >= 18.99
