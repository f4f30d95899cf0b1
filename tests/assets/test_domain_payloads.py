"""Topic and payload validation (pure, no database)."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assets.domain import kinds, payloads, topics
from assets.domain.payloads import PayloadError

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def tele(**kw):
    body = {"ts": "2026-06-01T11:59:00Z", "power_w": 1200, "import_wh": 1000, "export_wh": 0}
    body.update(kw)
    return json.dumps({k: v for k, v in body.items() if v is not ...}).encode()


def test_topics_round_trip_and_reject_foreign_shapes():
    t = topics.build("greenfield", "h1-battery", "telemetry")
    assert t == "cem/greenfield/h1-battery/telemetry"
    assert topics.parse(t) == topics.Topic("greenfield", "h1-battery", "telemetry")
    for bad in ("cem/greenfield/h1/foo", "x/greenfield/h1/telemetry", "cem/greenfield/telemetry", "cem/+/h1/ack"):
        with pytest.raises(topics.TopicError):
            topics.parse(bad)
    with pytest.raises(topics.TopicError, match="may use only"):
        topics.build("green field", "h1", "cmd")


def test_device_acl_allows_only_its_own_topics():
    acl = topics.device_acl("gf", "h1")
    assert acl["write"] == ["cem/gf/h1/telemetry", "cem/gf/h1/ack", "cem/gf/h1/status"]
    assert acl["read"] == ["cem/gf/h1/cmd"]


def test_it_accepts_a_well_formed_telemetry_message():
    s = payloads.parse_telemetry(tele(soc_pct=55.5, plugged_in=True), now=NOW)
    assert s.ts == datetime(2026, 6, 1, 11, 59, tzinfo=UTC)
    assert s.values == {"power_w": 1200, "import_wh": 1000, "export_wh": 0, "soc_pct": 55.5, "plugged_in": True}


@pytest.mark.parametrize(
    "raw, code, words",
    [
        (b"{not json", "json", "not valid JSON"),
        (b"\xff\xfe", "json", "UTF-8"),
        (b"[1,2]", "schema", "JSON object"),
        (tele(ts=...), "schema", "no ts"),
        (tele(ts="2026-06-01T11:59:00"), "schema", "no UTC offset"),
        (tele(ts="yesterday"), "schema", "not an ISO-8601"),
        (tele(ts="2026-06-01T13:00:00Z"), "future", "3600 s in the future"),
        (tele(ts="2020-01-01T00:00:00Z"), "stale", "days old"),
        (tele(soc_pct=140), "range", "soc_pct = 140"),
        (tele(power_w="12"), "schema", "power_w must be a number"),
        (tele(power_w=True), "schema", "power_w must be a number"),
        (tele(import_wh=-5), "range", "import_wh"),
        (tele(import_wh=12.5), "schema", "whole Wh"),
        (b'{"ts":"2026-06-01T11:59:00Z","power_w":NaN}', "json", "NaN"),
        (b'{"ts":"2026-06-01T11:59:00Z","hello":1}', "schema", "no measurement"),
        (b"{" + b'"x":"' + b"a" * 5000 + b'"}', "size", "limit"),
    ],
)
def test_it_rejects_malformed_telemetry_with_a_reason(raw, code, words):
    with pytest.raises(PayloadError) as err:
        payloads.parse_telemetry(raw, now=NOW)
    assert err.value.code == code
    assert words in err.value.reason


def test_power_beyond_the_device_rating_is_rejected():
    payloads.parse_telemetry(tele(power_w=5000), now=NOW, rated_power_w=4000)
    with pytest.raises(PayloadError, match="1.5x the device rating of 4000 W"):
        payloads.parse_telemetry(tele(power_w=-9000), now=NOW, rated_power_w=4000)


def test_a_slightly_fast_device_clock_is_tolerated():
    payloads.parse_telemetry(tele(ts="2026-06-01T12:04:00Z"), now=NOW)


@given(
    power=st.integers(-payloads.MAX_ABS_POWER_W, payloads.MAX_ABS_POWER_W),
    imp=st.integers(0, payloads.MAX_COUNTER_WH),
    soc=st.floats(0, 100),
    age=st.integers(0, 86400 * 30),
)
def test_any_in_range_telemetry_round_trips(power, imp, soc, age):
    ts = NOW - timedelta(seconds=age)
    raw = payloads.build_telemetry(ts, power_w=power, import_wh=imp, soc_pct=soc)
    s = payloads.parse_telemetry(raw, now=NOW)
    assert s.ts == ts and s.values == {"power_w": power, "import_wh": imp, "soc_pct": soc}


def test_ack_and_status_parse_and_validate():
    ack = payloads.parse_ack(payloads.build_ack(command_id="abc", status="rejected", detail="too much"), now=NOW)
    assert (ack.command_id, ack.status, ack.detail) == ("abc", "rejected", "too much")
    with pytest.raises(PayloadError, match="ack status 'done'"):
        payloads.parse_ack(b'{"id":"abc","status":"done"}', now=NOW)
    with pytest.raises(PayloadError, match="command id"):
        payloads.parse_ack(b'{"status":"applied"}', now=NOW)
    assert payloads.parse_status(b"online", now=NOW).online is True
    assert payloads.parse_status(b'{"state":"offline"}', now=NOW).online is False
    with pytest.raises(PayloadError):
        payloads.parse_status(b"sleepy", now=NOW)


def test_command_round_trip():
    raw = payloads.build_command(
        command_id="c1", action="set_power", params={"power_w": -2000}, valid_until=NOW + timedelta(minutes=30)
    )
    cmd = payloads.parse_command(raw)
    assert cmd.action == "set_power" and cmd.params == {"power_w": -2000}
    assert cmd.valid_until == NOW + timedelta(minutes=30)


def test_platform_refuses_commands_a_device_kind_does_not_understand():
    assert kinds.check_action(kinds.BATTERY, "set_power", {"power_w": 2500.4}) == {"power_w": 2500}
    with pytest.raises(kinds.CommandError, match="a home battery does not understand .pause."):
        kinds.check_action(kinds.BATTERY, "pause", {})
    with pytest.raises(kinds.CommandError, match="needs power_w"):
        kinds.check_action(kinds.BATTERY, "set_power", {})
    with pytest.raises(kinds.CommandError, match="accepts no commands"):
        kinds.check_action(kinds.SMART_METER, "pause", {})
    with pytest.raises(kinds.CommandError, match="cannot discharge"):
        kinds.check_action(kinds.EV_CHARGER, "set_power", {"power_w": -10})
