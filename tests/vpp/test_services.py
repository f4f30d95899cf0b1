"""The VPP's services as the operator, the buyer and households use them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from assets import services as asset_services
from assets.models import DeviceCommand, Telemetry
from community.errors import DomainError
from community.models import ConsentRecord, JournalEntry
from community.selectors import ledger_verify
from tests.assets.factories import device
from tests.vpp.factories import accepted_event, enrol_battery, flat_history, requirement, site_meter
from vpp import services
from vpp.models import Delivery, Payout, Requirement, VppCommand

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # a Monday
PEAK = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)


@pytest.fixture
def sent(monkeypatch):
    out = []
    monkeypatch.setattr("assets.mqtt.publisher.publish", lambda topic, body, **kw: out.append((topic, body)) or True)
    return out


def test_enrolling_records_the_consent_word_for_word_for_twelve_months(world):
    e = enrol_battery(world, at=NOW, reserve_pct=30)
    c = e.consent
    assert c.purpose == "vpp" and c.scope == f"device:{e.device_id}"
    assert "12 months" in c.text and c.expires_at == NOW + timedelta(days=365)
    e.device.refresh_from_db()
    assert e.device.limits["reserve_pct"] == 30


def test_only_the_household_can_enrol_its_device(world):
    d = device(world.site, "battery", rated_power_w=3000)
    with pytest.raises(DomainError, match="Only the household"):
        services.enrolment_create(site=world.site, user=world.neighbour, device=d, now=NOW)


def test_a_command_without_consent_is_refused_naming_the_consent(world):
    d = device(world.site, "battery", rated_power_w=3000)
    with pytest.raises(DomainError, match="not consented to flexibility"):
        asset_services.command_publish(device=d, action="set_power", params={"power_w": -1000}, source="vpp", now=NOW)
    assert not DeviceCommand.objects.exists()


def test_a_discharge_below_the_reserve_is_refused_naming_the_limit(world):
    e = enrol_battery(world, at=NOW, soc=22.0, reserve_pct=25)
    with pytest.raises(DomainError, match="battery reserve 25 %"):
        asset_services.command_publish(device=e.device, action="set_power", params={"power_w": -1000}, now=NOW)
    # charging is fine, and handing back is always allowed
    asset_services.command_publish(device=e.device, action="set_power", params={"power_w": 1000}, now=NOW)
    asset_services.command_publish(device=e.device, action="auto", now=NOW)


def test_never_touch_hours_and_expired_consent_refuse_commands(world):
    e = enrol_battery(world, at=NOW, never_touch="11:30-13:00")
    with pytest.raises(DomainError, match="never-touch hours 11:30-13:00"):
        asset_services.command_publish(device=e.device, action="set_power", params={"power_w": -500}, now=NOW)
    later = NOW + timedelta(days=366)
    with pytest.raises(DomainError, match="or it expired"):
        asset_services.command_publish(device=e.device, action="set_power", params={"power_w": -500}, now=later)


def test_requirements_in_the_past_or_without_volume_are_refused_and_nothing_stored(world):
    with pytest.raises(DomainError, match="starts in the past") as exc:
        requirement(world, start=NOW - timedelta(hours=1), now=NOW)
    assert exc.value.field == "starts_at"
    with pytest.raises(DomainError, match="more than zero"):
        requirement(world, start=PEAK, now=NOW, kw="-5")
    with pytest.raises(DomainError, match="period boundaries"):
        requirement(world, start=PEAK + timedelta(minutes=10), now=NOW)
    with pytest.raises(DomainError, match="less than the 60 minutes' notice"):
        requirement(world, start=NOW + timedelta(minutes=30), now=NOW)
    assert not Requirement.objects.exists()


def test_a_household_can_opt_out_until_the_event_starts(world):
    e = enrol_battery(world, at=NOW)
    ev = accepted_event(world, start=PEAK, now=NOW)
    services.event_opt_out(event=ev, enrolment=e, user=world.users["member"], now=NOW)
    services.event_opt_out(event=ev, enrolment=e, user=world.users["member"], now=NOW)  # idempotent
    assert ev.opt_outs.count() == 1
    with pytest.raises(DomainError, match="already started"):
        services.event_opt_out(event=ev, enrolment=e, user=world.users["member"], now=PEAK + timedelta(minutes=1))
    run = services.event_plan(event=ev, now=PEAK)
    assert str(e.pk) not in run.planned_w and "opted out" in run.notes


def test_a_dispatch_run_twice_sends_nothing_twice(world, sent, django_capture_on_commit_callbacks):
    a = enrol_battery(world, at=NOW, telemetry_at=PEAK)
    b = enrol_battery(world, world.neighbour_site, world.neighbour, at=NOW, telemetry_at=PEAK)
    ev = accepted_event(world, start=PEAK, now=NOW, kw="4.0", volume="4.0")
    with django_capture_on_commit_callbacks(execute=True):
        first = services.event_dispatch_period(event=ev, now=PEAK + timedelta(seconds=5))
    with django_capture_on_commit_callbacks(execute=True):
        second = services.event_dispatch_period(event=ev, now=PEAK + timedelta(seconds=65))
    assert len(first) == 2 and second == []
    assert len(sent) == 2 and DeviceCommand.objects.count() == 2
    cmds = {c.enrolment_id: c for c in VppCommand.objects.select_related("command")}
    assert sum(c.flex_w for c in cmds.values()) == 4000
    assert cmds[a.pk].command.valid_until == PEAK + timedelta(minutes=31)
    assert "REQ-1700" in cmds[b.pk].reason and "run #1" in cmds[b.pk].reason


def test_an_offline_device_is_replaced_by_the_closed_loop(world, sent, django_capture_on_commit_callbacks):
    a = enrol_battery(world, at=NOW, telemetry_at=PEAK, rated=3000)
    b = enrol_battery(world, world.neighbour_site, world.neighbour, at=NOW, telemetry_at=PEAK, rated=3000)
    ev = accepted_event(world, start=PEAK, now=NOW, kw="3.0", volume="3.0")
    with django_capture_on_commit_callbacks(execute=True):
        services.event_dispatch_period(event=ev, now=PEAK + timedelta(seconds=5))
    asked = {c.enrolment_id: c.flex_w for c in VppCommand.objects.all()}
    failing = a if asked.get(a.pk, 0) >= asked.get(b.pk, 0) else b
    other = b if failing is a else a
    failing.device.online = False
    failing.device.save(update_fields=["online"])
    with django_capture_on_commit_callbacks(execute=True):
        run = services.event_correct(event=ev, now=PEAK + timedelta(seconds=70))
    assert run is not None and "offline" in run.notes
    assert run.planned_w[str(failing.pk)] == 0 and run.planned_w[str(other.pk)] == 3000
    replacement = VppCommand.objects.get(rule="replacement")
    assert replacement.enrolment_id == other.pk and replacement.command.params["power_w"] == -3000
    # a second step on the same state changes nothing
    assert services.event_correct(event=ev, now=PEAK + timedelta(seconds=130)) is None


def test_cancelling_an_event_hands_devices_back(world, sent, django_capture_on_commit_callbacks):
    enrol_battery(world, at=NOW, telemetry_at=PEAK)
    ev = accepted_event(world, start=PEAK, now=NOW, kw="2.0", volume="2.0")
    with django_capture_on_commit_callbacks(execute=True):
        services.event_dispatch_period(event=ev, now=PEAK + timedelta(seconds=5))
    with django_capture_on_commit_callbacks(execute=True):
        services.event_cancel(event=ev, actor=world.users["flex_buyer"], now=PEAK + timedelta(minutes=2))
    ev.refresh_from_db()
    assert ev.status == "cancelled"
    assert VppCommand.objects.get(rule="cancel").command.action == "auto"
    assert services.event_dispatch_period(event=ev, now=PEAK + timedelta(minutes=31)) == []


def test_settlement_pays_households_through_a_balanced_idempotent_ledger_entry(
    world, sent, django_capture_on_commit_callbacks
):
    a = enrol_battery(world, at=NOW, telemetry_at=PEAK)
    flat_history(world.site, start=PEAK, days=20, wh=600)
    ev = accepted_event(world, start=PEAK, now=NOW, kw="2.0", volume="2.0")
    with django_capture_on_commit_callbacks(execute=True):
        services.event_dispatch_period(event=ev, now=PEAK + timedelta(seconds=5))
        services.event_dispatch_period(event=ev, now=PEAK + timedelta(minutes=30, seconds=5))
    # the meter shows the home using 100 Wh per half-hour in the event instead of 600
    from assets.models import IntervalReading

    IntervalReading.objects.filter(
        meter=site_meter(world.site), period_start__gte=PEAK, period_start__lt=PEAK + timedelta(hours=1)
    ).update(import_wh=100)
    ev.status = "completed"
    ev.save(update_fields=["status"])
    s = services.event_settle(event=ev, now=PEAK + timedelta(hours=2))
    d = Delivery.objects.get(event=ev)
    assert d.baselines["dfs"] == [600, 600] and d.delivered_wh == 1000
    assert s.delivered_wh == 1000 and s.revenue == Decimal("0.31")  # 1 kWh at £306/MWh
    assert s.fee + s.fund + s.households == s.revenue
    assert Payout.objects.get().user == world.users["member"]
    again = services.event_settle(event=ev, now=PEAK + timedelta(hours=3))
    assert again.pk == s.pk and JournalEntry.objects.filter(source="vpp.settlement").count() == 1
    assert services.payouts_pay(community=world.community, now=PEAK + timedelta(hours=3)) == 1
    assert services.payouts_pay(community=world.community, now=PEAK + timedelta(hours=4)) == 0
    assert ledger_verify(world.community).ok
    assert a.pk


def test_leaving_withdraws_consent_and_commands_are_refused(world):
    e = enrol_battery(world, at=NOW)
    services.enrolment_leave(enrolment=e, user=world.users["member"], now=NOW + timedelta(hours=1))
    assert ConsentRecord.objects.get(pk=e.consent_id).withdrawn_at is not None
    with pytest.raises(DomainError, match="not consented"):
        asset_services.command_publish(
            device=e.device, action="set_power", params={"power_w": -1000}, now=NOW + timedelta(hours=2)
        )
    assert Telemetry.objects.exists()
