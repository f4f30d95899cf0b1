"""Device registry, the bridge's batch, commands, readings and CSV import (database)."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from assets import selectors, services
from assets.models import Device, DeviceCommand, IntervalReading, Meter, RejectedMessage, Telemetry
from assets.mqtt import mosquitto
from community.errors import DomainError
from tests.assets.factories import consent, device

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def directory_for(*devices):
    return selectors.device_directory({(d.community.slug, d.uid) for d in devices})


def tele_msg(d, ts, **values):
    body = {"ts": ts.isoformat().replace("+00:00", "Z"), **values}
    return (f"cem/{d.community.slug}/{d.uid}/telemetry", json.dumps(body).encode())


def ingest(msgs, *devices, now=NOW):
    directory = directory_for(*devices)
    return services.telemetry_ingest(msgs, now=now, directory=directory)


# -- registry ------------------------------------------------------------------
def test_registering_a_device_gives_credentials_shown_once_and_stores_only_a_hash(world):
    d, creds = services.device_register(
        site=world.site,
        kind="battery",
        uid="h1-battery",
        name="Battery",
        rated_power_w=5000,
        capacity_wh=13500,
        limits={"reserve_pct": 25},
    )
    assert creds.username == "test-green.h1-battery" and len(creds.password) >= 24
    d.refresh_from_db()
    assert creds.password not in d.mqtt_password_hash
    assert mosquitto.verify_password(creds.password, d.mqtt_password_hash)
    assert d.limits == {"reserve_pct": 25.0}


def test_rotating_credentials_invalidates_the_old_password(world):
    d = device(world.site, "battery")
    new = services.device_credentials_rotate(device=d)
    d.refresh_from_db()
    assert not mosquitto.verify_password(d.test_password, d.mqtt_password_hash)
    assert mosquitto.verify_password(new.password, d.mqtt_password_hash)


@pytest.mark.parametrize(
    "kind, limits, words",
    [
        ("battery", {"reserve_pct": 120}, "between 0 and 100"),
        ("ev_charger", {"ready_by": "7am"}, "like 07:00"),
        ("heat_pump", {"comfort_min_c": 23, "comfort_max_c": 19}, "lower below upper"),
        ("pv", {"reserve_pct": 10}, "has no limit reserve_pct"),
    ],
)
def test_limits_are_checked(world, kind, limits, words):
    with pytest.raises(DomainError, match=words):
        device(world.site, kind, limits=limits)
    assert not Device.objects.exists()


def test_community_assets_need_an_owner_and_uids_are_unique(world):
    with pytest.raises(DomainError, match="owner's name"):
        device(world.school, "pv", ownership="community")
    device(world.school, "pv", uid="school-pv", ownership="community", owner_name="Test Green Energy Co-op")
    with pytest.raises(DomainError, match="already has a device called school-pv"):
        device(world.school, "pv", uid="school-pv")


def test_mosquitto_files_confine_each_device_to_its_topics(world, settings, tmp_path):
    settings.MOSQUITTO_PASSWORD_FILE = tmp_path / "passwd"
    settings.MOSQUITTO_ACL_FILE = tmp_path / "acl"
    settings.MQTT_URL = "mqtt://cem-bridge:bridge-secret@127.0.0.1:1883"
    d = device(world.site, "battery", uid="h1-bat")
    services.mosquitto_files_sync()
    passwd = (tmp_path / "passwd").read_text()
    acl = (tmp_path / "acl").read_text()
    assert "test-green.h1-bat:$7$101$" in passwd and "cem-bridge:$7$" in passwd
    assert d.test_password not in passwd
    block = acl.split("user test-green.h1-bat\n")[1].split("\n\n")[0]
    assert block.splitlines() == [
        "topic write cem/test-green/h1-bat/telemetry",
        "topic write cem/test-green/h1-bat/ack",
        "topic write cem/test-green/h1-bat/status",
        "topic read cem/test-green/h1-bat/cmd",
    ]


# -- the bridge's batch ----------------------------------------------------------
def test_valid_telemetry_is_stored_and_a_redelivery_changes_nothing(world):
    d = device(world.site, "battery", rated_power_w=5000)
    msgs = [
        tele_msg(
            d, NOW - timedelta(minutes=m), power_w=-1200, import_wh=100, export_wh=50 + m, soc_pct=40, indoor_c=None
        )
        for m in range(3)
    ]
    r = ingest(msgs, d)
    assert (r.accepted, r.rejected) == (3, 0)
    first = list(Telemetry.objects.values_list("ts", "power_w", "energy_export_wh", "soc_pct", "received_at"))
    r = ingest(msgs + msgs, d)  # redelivered, twice, in one batch
    assert r.rejected == 0
    assert list(Telemetry.objects.values_list("ts", "power_w", "energy_export_wh", "soc_pct", "received_at")) == first
    assert Telemetry.objects.count() == 3


def test_bad_messages_are_kept_with_their_reason_and_good_ones_in_the_batch_still_land(world):
    d = device(world.site, "pv", rated_power_w=4000)
    msgs = [
        tele_msg(d, NOW, power_w=-3000, export_wh=10),
        (f"cem/test-green/{d.uid}/telemetry", b"{oops"),
        tele_msg(d, NOW + timedelta(hours=2), power_w=-10),
        tele_msg(d, NOW - timedelta(minutes=1), power_w=-90_000),
        ("cem/test-green/ghost/telemetry", b'{"ts":"2026-06-01T12:00:00Z","power_w":1}'),
        ("garbage/topic", b"x"),
        (f"cem/test-green/{d.uid}/cmd", b"{}"),
    ]
    r = ingest(msgs, d)
    assert (r.accepted, r.rejected) == (1, 6)
    got = {(m.code, m.device_id is not None) for m in RejectedMessage.objects.all()}
    assert got == {
        ("json", True),
        ("future", True),
        ("range", True),
        ("unknown_device", False),
        ("topic", False),
        ("topic", True),
    }
    assert "not valid JSON" in RejectedMessage.objects.get(code="json").reason
    assert RejectedMessage.objects.get(code="json").payload == "{oops"
    assert "no device 'ghost'" in RejectedMessage.objects.get(code="unknown_device").reason


def test_status_messages_drive_online_offline(world):
    d = device(world.site, "ev_charger", rated_power_w=7400)
    topic = f"cem/test-green/{d.uid}/status"
    ingest([(topic, b"online")], d)
    d.refresh_from_db()
    assert d.online and d.last_seen_at == NOW
    ingest([(topic, b"offline")], d)
    d.refresh_from_db()
    assert not d.online


def test_acks_are_matched_to_commands_and_unknown_acks_rejected(world, django_capture_on_commit_callbacks, monkeypatch):
    sent = []
    monkeypatch.setattr("assets.mqtt.publisher.publish", lambda topic, body, **kw: sent.append((topic, body)) or True)
    d = device(world.site, "battery", rated_power_w=5000)
    consent(d)
    with django_capture_on_commit_callbacks(execute=True):
        cmd = services.command_publish(device=d, action="set_power", params={"power_w": -2000})
    cmd.refresh_from_db()
    assert cmd.status == "sent" and sent[0][0] == f"cem/test-green/{d.uid}/cmd"
    assert json.loads(sent[0][1])["id"] == cmd.pk
    ack_topic = f"cem/test-green/{d.uid}/ack"
    now = cmd.sent_at + timedelta(seconds=1)
    ingest(
        [
            (ack_topic, json.dumps({"id": cmd.pk, "status": "rejected", "detail": "at reserve"}).encode()),
            (ack_topic, json.dumps({"id": "nope", "status": "applied"}).encode()),
        ],
        d,
        now=now,
    )
    cmd.refresh_from_db()
    assert (cmd.status, cmd.detail, cmd.acked_at) == ("rejected", "at reserve", now)
    assert RejectedMessage.objects.get().code == "unknown_command"


def test_the_platform_refuses_commands_a_device_cannot_take(world):
    d = device(world.site, "battery", rated_power_w=5000)
    with pytest.raises(DomainError, match="does not understand 'pause'"):
        services.command_publish(device=d, action="pause")
    with pytest.raises(DomainError, match="more than the device's rating"):
        services.command_publish(device=d, action="set_power", params={"power_w": 9000})
    assert not DeviceCommand.objects.exists()


def test_unanswered_commands_time_out(world):
    d = device(world.site, "battery", rated_power_w=5000)
    c = DeviceCommand.objects.create(
        id="c1",
        device=d,
        action="auto",
        valid_until=NOW + timedelta(minutes=30),
        status="sent",
        created_at=NOW,
        sent_at=NOW,
    )
    assert services.commands_time_out(now=NOW + timedelta(seconds=30)) == 0
    assert services.commands_time_out(now=NOW + timedelta(seconds=61)) == 1
    assert services.commands_time_out(now=NOW + timedelta(seconds=90)) == 0
    c.refresh_from_db()
    assert c.status == "timed_out" and "no ack within 60 s" in c.detail


# -- readings ----------------------------------------------------------------------
def feed_counters(d, start, minutes, w=1200, skip=()):
    msgs = [
        tele_msg(d, start + timedelta(minutes=m), power_w=w, import_wh=int(w * m / 60), export_wh=0)
        for m in range(0, minutes + 1, 5)
        if m not in skip
    ]
    return msgs


def test_telemetry_counters_become_half_hourly_readings_with_gaps_left_as_gaps(world):
    d = device(world.site, "smart_meter", meter="site")
    t0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    msgs = feed_counters(d, t0, 120, skip=range(40, 85))
    r = ingest(msgs, d)
    services.readings_from_telemetry(dirty=r.dirty)
    readings = dict(IntervalReading.objects.values_list("period_start", "import_wh"))
    assert readings == {t0: 600, t0 + timedelta(minutes=90): 600}
    series = selectors.site_energy(world.site, start=t0, end=t0 + timedelta(hours=2))
    assert series.imported == [600, None, None, 600]
    # the late data arrives: the gap fills
    r = ingest(feed_counters(d, t0, 120), d)
    services.readings_from_telemetry(dirty=r.dirty)
    assert list(IntervalReading.objects.order_by("period_start").values_list("import_wh", flat=True)) == [600] * 4


def test_csv_import_dry_run_reports_bad_rows_and_a_clean_file_imports_idempotently(world):
    Meter.objects.create(site=world.site, kind="site", serial="1000000000001")
    bad = (
        "meter_id,period_start,import_wh,export_wh\n"
        "1000000000001,2026-05-01T00:00:00Z,300,0\n"
        "9999,2026-05-01T00:00:00Z,300,0\n"
        "1000000000001,2026-05-01T00:30:00Z,x,0\n"
    )
    rep = services.readings_import_csv(community=world.community, text=bad, dry_run=True, now=NOW)
    assert [(e.line, "not registered" in e.message or "not a number" in e.message) for e in rep.errors] == [
        (3, True),
        (4, True),
    ]
    rep = services.readings_import_csv(community=world.community, text=bad, dry_run=False, now=NOW)
    assert rep.written == 0 and not IntervalReading.objects.exists()  # a dirty file writes nothing
    good = bad.splitlines()[0] + "\n" + bad.splitlines()[1] + "\n"
    for _ in range(2):
        rep = services.readings_import_csv(community=world.community, text=good, dry_run=False, now=NOW)
        assert rep.ok and rep.written == 1
    assert IntervalReading.objects.get().source == "csv"


def test_imported_readings_are_not_overwritten_by_telemetry(world):
    d = device(world.site, "smart_meter", meter="site")
    t0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    IntervalReading.objects.create(meter=d.meters.get(), period_start=t0, import_wh=555, export_wh=0, source="csv")
    r = ingest(feed_counters(d, t0, 60), d)
    services.readings_from_telemetry(dirty=r.dirty)
    assert dict(IntervalReading.objects.values_list("period_start", "import_wh")) == {
        t0: 555,
        t0 + timedelta(minutes=30): 600,
    }


def test_community_energy_and_self_sufficiency(world):
    home = device(world.site, "smart_meter", meter="site")
    pv = device(world.school, "pv", meter="generation", rated_power_w=50_000)
    school_meter = device(world.school, "smart_meter", meter="site")
    t0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    rows = [
        (home.meters.get(), 500, 0),
        (school_meter.meters.get(), 0, 1500),
        (pv.meters.get(), 0, 4000),
    ]
    for m, i, e in rows:
        IntervalReading.objects.create(meter=m, period_start=t0, import_wh=i, export_wh=e)
    s = selectors.community_energy(world.community, start=t0, end=t0 + timedelta(hours=1))
    # demand = 500 - 1500 + 4000 = 3000 Wh; generation 4000 Wh
    assert s.demand == [3000, None] and s.generated == [4000, None]
    assert selectors.self_sufficiency_pct(s) == 100.0


def test_refresh_recent_rebuilds_readings_the_bridge_forgot(world):
    d = device(world.site, "smart_meter", meter="site")
    now = datetime(2026, 6, 1, 10, 7, tzinfo=UTC)
    t0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    ingest(feed_counters(d, t0, 65), d, now=now)  # stored, but no readings built (a bridge restart)
    assert not IntervalReading.objects.exists()
    assert services.readings_refresh_recent(hours=2, now=now) == 2
    assert services.readings_refresh_recent(hours=2, now=now) == 2  # idempotent: same rows, same values
    assert list(IntervalReading.objects.order_by("period_start").values_list("import_wh", flat=True)) == [600, 600]


def test_many_commands_are_checked_together_and_recorded_in_one_go(
    world, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr("assets.mqtt.publisher.publish", lambda topic, body, **kw: sent.append(topic) or True)
    a = device(world.site, "battery", rated_power_w=5000)
    b = device(world.neighbour_site, "ev_charger", rated_power_w=7400)
    consent(a), consent(b)
    with pytest.raises(DomainError, match=f"{b.uid}: .*does not understand 'set_setpoint'"):
        services.command_publish_many(commands=[(a, "auto", {}), (b, "set_setpoint", {})])
    assert not DeviceCommand.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        services.command_publish_many(commands=[(a, "set_power", {"power_w": 1000}), (b, "pause", {})], source="vpp")
    assert sorted(DeviceCommand.objects.values_list("status", "source")) == [("sent", "vpp"), ("sent", "vpp")]
    assert len(sent) == 2


def test_a_last_will_after_telemetry_in_the_same_batch_leaves_the_device_offline(world):
    d = device(world.site, "ev_charger", rated_power_w=7400)
    r = ingest([tele_msg(d, NOW, power_w=100), (f"cem/test-green/{d.uid}/status", b"offline")], d)
    services.devices_mark_seen(seen=r.seen)
    d.refresh_from_db()
    assert not d.online and d.pk in r.offline
