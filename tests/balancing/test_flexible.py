"""Issue 11's remaining gaps, through the database: the controller commands EV
chargers and heat pumps (consent, limits, the segment's limits), the schedule
keeps to the market's trades and the VPP's accepted events, and heat follows the
weather."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from assets import services as asset_services
from assets.domain import kinds
from assets.models import Device, DeviceCommand, Telemetry
from community.models import ConsentRecord
from tests.balancing.factories import estate
from vpp.balancing import selectors, services
from vpp.balancing.models import ControlAction, ControlStep, Schedule

pytestmark = pytest.mark.django_db

THURSDAY_EVENING = datetime(2026, 1, 15, 19, 30, tzinfo=UTC)  # after the red band; night rate from 00:30


def _telemetry(
    seg, at, *, meter_w=800, soc=60.0, ev_w=7_000, ev_soc=40.0, hp_w=1_500, indoor=20.5, outdoor=3.0, pv_w=0
):
    """Every device of the segment reports ``at`` (as the MQTT bridge would store it)."""
    rows = []
    devices = list(Device.objects.filter(site__network_node=seg.node))
    for d in devices:
        if d.kind == kinds.SMART_METER:
            rows.append(Telemetry(device=d, ts=at, power_w=meter_w, payload={}))
        elif d.kind == kinds.BATTERY:
            rows.append(Telemetry(device=d, ts=at, power_w=0, soc_pct=soc, payload={}))
        elif d.kind == kinds.PV_INVERTER:
            rows.append(Telemetry(device=d, ts=at, power_w=pv_w, payload={}))
        elif d.kind == kinds.EV_CHARGER:
            payload = {"plugged_in": True, "ev_soc_pct": ev_soc}
            rows.append(Telemetry(device=d, ts=at, power_w=ev_w, payload=payload))
        elif d.kind == kinds.HEAT_PUMP:
            payload = {"indoor_c": indoor, "outdoor_c": outdoor}
            rows.append(Telemetry(device=d, ts=at, power_w=hp_w, temperature_c=indoor, payload=payload))
    Telemetry.objects.bulk_create(rows)
    Device.objects.filter(pk__in=[d.pk for d in devices]).update(online=True, last_seen_at=at)


def _sent(seg, kind):
    return DeviceCommand.objects.filter(
        device__site__network_node=seg.node, device__kind=kind, source="balancing"
    ).order_by("created_at")


def test_the_controller_defers_an_ev_to_the_night_rate_through_the_consent_gate(world):
    seg, _, sites = estate(world, homes=3, evs=2, import_limit_w=40_000)
    now = THURSDAY_EVENING
    # this year's billed peak (30 kW on a cold January evening): import below it costs no capacity charge
    ControlStep.objects.create(
        segment=seg,
        at=datetime(2026, 1, 5, 17, 0, tzinfo=UTC),
        measured_net_w=30_000,
        import_limit_w=40_000,
        export_limit_w=20_000,
        outcome=ControlStep.Outcome.STEADY,
    )
    _telemetry(seg, now - timedelta(seconds=20))
    sch = services.schedule_solve(segment=seg, now=now)
    ev = Device.objects.get(site=sites[0], kind=kinds.EV_CHARGER)
    plan = sch.devices[str(ev.pk)]
    # 12 kWh still wanted by 07:00: the plan waits for the 12p night rate at 00:30 (step 20)
    assert plan[0] < 1_400 and sum(plan[20:]) * 0.25 >= 11_900
    step = services.control_step(segment=seg, now=now)
    cmds = list(_sent(seg, kinds.EV_CHARGER))
    assert {c.device_id for c in cmds} == {
        d.pk for d in Device.objects.filter(site__network_node=seg.node, kind="ev_charger")
    }
    assert all(c.action == "set_power" and c.params == {"power_w": 0} for c in cmds)
    # the household reads why
    action = ControlAction.objects.get(step=step, device=ev)
    assert "paused" in action.reason and "80% by 07:00" in action.reason and "p/kWh" in action.reason
    # a second step in the same minute band sends nothing twice (the lease is in force)
    services.control_step(segment=seg, now=now + timedelta(seconds=30))
    assert _sent(seg, kinds.EV_CHARGER).count() == len(cmds)


def test_no_command_goes_to_a_household_s_ev_or_heat_pump_without_its_consent(world):
    seg, _, sites = estate(world, homes=2, evs=2, heat_pumps=2, import_limit_w=40_000, consent_loads=False)
    now = THURSDAY_EVENING
    _telemetry(seg, now - timedelta(seconds=20))
    services.schedule_solve(segment=seg, now=now)
    services.control_step(segment=seg, now=now)
    assert not _sent(seg, kinds.EV_CHARGER).exists()
    assert not _sent(seg, kinds.HEAT_PUMP).exists()


def _hand_plan(seg, at, *, hp_indoor: float, ev_w: int, devices):
    """A schedule as the MPC would store it, asking every heat pump to pre-heat to
    ``hp_indoor`` and every EV to charge at ``ev_w`` (a plan made on wrong data)."""
    hps = [d for d in devices if d.kind == kinds.HEAT_PUMP]
    evs = [d for d in devices if d.kind == kinds.EV_CHARGER]
    return Schedule.objects.create(
        segment=seg,
        starts_at=selectors.floor_quarter(at),
        created_at=at,
        net_w=[4_000] * 8,
        import_limit_w=[seg.import_limit_w] * 8,
        export_limit_w=[seg.export_limit_w] * 8,
        import_price_p=[24.5] * 8,
        devices={**{str(d.pk): [3_000] * 8 for d in hps}, **{str(d.pk): [ev_w] * 8 for d in evs}},
        indoor_c={str(d.pk): [hp_indoor] * 9 for d in hps},
    )


def test_a_pre_heat_that_could_take_the_segment_past_its_import_limit_is_held_back(world):
    # 3 homes importing 1.5 kW each = 4.5 kW; limit 6 kW less a 1 kW margin: 500 W of room
    seg, _, _ = estate(world, homes=3, heat_pumps=3, import_limit_w=6_000)
    now = THURSDAY_EVENING
    devices = list(Device.objects.filter(site__network_node=seg.node))
    _telemetry(seg, now - timedelta(seconds=20), meter_w=1_500, soc=11.0, hp_w=400)
    _hand_plan(seg, now, hp_indoor=22.5, ev_w=0, devices=devices)
    step = services.control_step(segment=seg, now=now)
    # each heat pump could jump from 400 W to 3 kW: none fits in 500 W
    assert not _sent(seg, kinds.HEAT_PUMP).exists()
    assert "held back" in step.detail
    # with room for one (limit 9 kW: 3.5 kW of room), exactly one pre-heats
    seg.import_limit_w = 9_000
    seg.save(update_fields=["import_limit_w"])
    step = services.control_step(segment=seg, now=now + timedelta(minutes=1))
    sent = list(_sent(seg, kinds.HEAT_PUMP))
    assert len(sent) == 1 and sent[0].params["delta_c"] > 0
    assert step.predicted_net_w <= 9_000 - seg.margin_w


def test_a_heat_pump_coasts_through_the_red_band_and_pre_heats_before_it(world):
    # no home batteries: only the heat pumps can move the red band's demand. With batteries the plan could
    # charge them in the hour before instead of pre-heating, a choice on small margins (the likely cause of
    # this test's one failure, in 2026: indoor 20.06 °C at 16:00); the heat pumps' own choice holds whatever
    # the weather, the load and the start temperature
    # (test_flexible_domain.test_an_hour_before_the_red_band_heat_pumps_pre_heat_and_coast_through_it)
    seg, _, sites = estate(world, homes=2, heat_pumps=2, import_limit_w=40_000, batteries=False)
    before = datetime(2026, 1, 15, 15, 0, tzinfo=UTC)  # 15:00, an hour before the 16:00-19:00 red band
    ControlStep.objects.create(  # this year's billed peak: import below 30 kW costs no capacity charge
        segment=seg,
        at=datetime(2026, 1, 5, 17, 0, tzinfo=UTC),
        measured_net_w=30_000,
        import_limit_w=40_000,
        export_limit_w=20_000,
        outcome=ControlStep.Outcome.STEADY,
    )
    _telemetry(seg, before - timedelta(seconds=20), indoor=21.0)
    sch = services.schedule_solve(segment=seg, now=before)
    hp = Device.objects.get(site=sites[0], kind=kinds.HEAT_PUMP)
    indoor = np.array(sch.indoor_c[str(hp.pk)])
    plan = np.array(sch.devices[str(hp.pk)])
    # warmer than the household's 21 °C going into the red band, cooler (never below 19) inside it
    assert indoor[4] > 21.4
    assert plan[4:16].mean() < 0.7 * plan[:4].mean()
    assert indoor.min() >= 18.99
    # at 15:45 the controller asks for the warmer setpoint
    _telemetry(seg, before + timedelta(minutes=45) - timedelta(seconds=20), indoor=21.0)
    services.control_step(segment=seg, now=before + timedelta(minutes=45))
    sent = list(_sent(seg, kinds.HEAT_PUMP))
    assert sent and all(c.action == "shift_setpoint" and c.params["delta_c"] > 0 for c in sent)
    assert all(21 + c.params["delta_c"] <= 23 for c in sent)


def test_a_cold_measured_night_plans_more_heat_than_the_seasonal_mean(world):
    seg, _, sites = estate(world, homes=2, heat_pumps=2, import_limit_w=40_000)
    now = datetime(2026, 1, 15, 21, 0, tzinfo=UTC)
    mean_now = selectors.outdoor_forecast_c([selectors.floor_quarter(now)], now=now, measured_c=None)[0]
    _telemetry(seg, now - timedelta(seconds=20), outdoor=mean_now)
    usual = services.schedule_solve(segment=seg, now=now, trigger=Schedule.Trigger.OPERATOR)
    _telemetry(seg, now - timedelta(seconds=10), outdoor=mean_now - 8)  # a clear, frosty night
    cold = services.schedule_solve(segment=seg, now=now, trigger=Schedule.Trigger.OPERATOR)
    assert cold.outdoor_c[0] < usual.outdoor_c[0] - 7
    # the anomaly fades with the weather's 12 h memory
    assert cold.outdoor_c[-1] - usual.outdoor_c[-1] > -8 * np.exp(-23.5 / 12) - 0.2
    hp = Device.objects.get(site=sites[0], kind=kinds.HEAT_PUMP)
    assert sum(cold.devices[str(hp.pk)][:32]) > 1.2 * sum(usual.devices[str(hp.pk)][:32])


def test_the_controller_never_overrides_a_battery_the_vpp_is_dispatching(world):
    seg, _, sites = estate(world, homes=3, import_limit_w=6_000)
    now = THURSDAY_EVENING
    _telemetry(seg, now - timedelta(seconds=20), meter_w=3_000, soc=80.0)  # 9 kW: over the 6 kW limit
    vpp_bat = Device.objects.get(site=sites[0], kind=kinds.BATTERY)
    ConsentRecord.objects.create(
        community=world.community,
        user=sites[0].occupants.first(),
        purpose=ConsentRecord.Purpose.VPP,
        scope=f"device:{vpp_bat.pk}",
        text="VPP",
        granted_at=now - timedelta(days=3),
    )
    asset_services.command_publish_many(
        commands=[(vpp_bat, "set_power", {"power_w": -1_000})],
        valid_for=timedelta(minutes=30),
        source="vpp",
        now=now - timedelta(minutes=1),
    )
    step = services.control_step(segment=seg, now=now)
    assert step.outcome in (ControlStep.Outcome.CORRECTED, ControlStep.Outcome.AT_LIMIT)
    mine = DeviceCommand.objects.filter(source="balancing", device__site__network_node=seg.node)
    assert mine.exists() and not mine.filter(device=vpp_bat).exists()


def test_the_schedule_keeps_to_a_trade_the_market_cleared(world):
    """The market trades first: a home that sold 2 kWh for 10:30-11:00 exports 4 kW
    then, its battery making up what its PV cannot, instead of soaking up the sun."""
    from lem import services as lem_services
    from tests.lem.factories import NOW, PERIOD, make_market, place

    seg, _, sites = estate(world, homes=2, import_limit_w=40_000)
    _telemetry(seg, NOW - timedelta(seconds=20), meter_w=-1_500, soc=50.0, pv_w=-2_000)
    bat = Device.objects.get(site=sites[0], kind=kinds.BATTERY)
    free = services.schedule_solve(segment=seg, now=NOW, trigger=Schedule.Trigger.OPERATOR)
    k = [2, 3]  # the quarter-hours of 10:30-11:00
    assert min(free.devices[str(bat.pk)][i] for i in k) >= 0  # without the trade: store the sun

    mw = make_market(world)
    home = sites[0].occupants.first()
    seller = lem_services.participant_enrol(market=mw.market, site=sites[0], user=home, actor=home)
    place(mw, seller, "offer", 2_000, "5")
    place(mw, mw.buyer, "bid", 2_000, "30")
    run = lem_services.market_clear(market=mw.market, period_start=PERIOD, now=PERIOD)
    assert run.trades.filter(seller=seller, quantity_wh=2_000).exists()

    kept = services.schedule_solve(segment=seg, now=NOW, trigger=Schedule.Trigger.OPERATOR)
    assert kept.commitments["market"][str(sites[0].pk)][2:4] == [-4_000, -4_000]
    assert str(sites[1].pk) not in kept.commitments["market"]
    # the home's forecast surplus is below 4 kW: its battery discharges the rest
    assert max(kept.devices[str(bat.pk)][i] for i in k) < -500
    assert kept.commitment_miss_wh == 0


def test_the_schedule_keeps_a_battery_s_energy_for_the_vpp_event_it_was_accepted_for(world):
    """The VPP's accepted events are commitments: the plan holds the battery at the
    event's power through the event and does not spend the energy before it."""
    from tests.vpp.factories import accepted_event
    from vpp import services as vpp_services

    monday = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    peak = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)  # inside the 16:00-19:00 red band
    seg, node, sites = estate(world, homes=2, import_limit_w=40_000)
    bat = Device.objects.get(site=sites[0], kind=kinds.BATTERY)
    _telemetry(seg, monday - timedelta(seconds=20), soc=50.0)
    home = sites[0].occupants.first()
    vpp_services.enrolment_create(site=sites[0], user=home, device=bat, now=monday - timedelta(days=1))
    event = accepted_event(world, start=peak, now=monday, kw="2.0", volume="2.0", node=node)
    plan = vpp_services.event_plan(event=event, now=monday)
    asked = [row for row in plan.planned_w.values()][0]
    assert max(asked) > 0

    sch = services.schedule_solve(segment=seg, now=monday)
    steps = [i for i in range(len(sch.net_w)) if peak <= sch.starts_at + i * selectors.STEP < peak + timedelta(hours=1)]
    vpp = sch.commitments["vpp"][str(bat.pk)]
    assert all(vpp[i] is not None and vpp[i] < 0 for i in steps)
    battery = sch.devices[str(bat.pk)]
    assert all(abs(battery[i] - vpp[i]) <= 1 for i in steps), [battery[i] for i in steps]
    # the energy for the event is there: stored never falls to the reserve before the event ends
    stored, eta = 5_000.0, 0.9**0.5
    for i in range(steps[-1] + 1):
        p = battery[i]
        stored += (p * eta if p > 0 else p / eta) * 0.25
        assert stored >= 1_000 - 1, (i, stored)
    assert sch.commitment_miss_wh == 0
    # the other home's battery is the controller's own: free through the event
    other = Device.objects.get(site=sites[1], kind=kinds.BATTERY)
    assert str(other.pk) not in sch.commitments["vpp"]


def test_the_household_page_lists_its_ev_and_heat_pump_with_the_limits_kept(world, client):
    seg, _, sites = estate(world, homes=2, evs=1, heat_pumps=1, import_limit_w=40_000)
    client.force_login(sites[0].occupants.first())
    body = client.get(f"/c/{world.community.slug}/grid/my/").content.decode()
    assert "EV charger 7 kW" in body and "80% by 07:00" in body, body[body.find("My devices") :][:800]
    assert "Heat pump 3 kW" in body and "comfort 19–23 °C" in body
