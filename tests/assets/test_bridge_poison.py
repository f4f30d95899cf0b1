"""Issue 9 §1: no payload on any topic can stop the bridge or block what
comes after it.

The bridge's real storage path (`Bridge.process`: validation, the services,
the database) runs in the test thread; only the broker is left out (its
acknowledgements are recorded instead), so these run on any database and
prove the NUL case on PostgreSQL when DATABASE_URL is set (CI). The same
corpus over a real Mosquitto with ACLs is in test_mqtt_poison_corpus.py."""

from __future__ import annotations

import itertools
import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
from django.db import DataError, OperationalError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assets import services
from assets.models import RejectedMessage, Telemetry
from assets.mqtt import bridge as bridge_module
from assets.mqtt.bridge import Bridge, Inbound
from assets.mqtt.connection import BrokerUrl
from conftest import needs_postgres
from tests.assets.factories import device

_mid = itertools.count(1)
KINDS = ("telemetry", "ack", "status", "cmd")


def iso(ts):
    return ts.isoformat().replace("+00:00", "Z")


class Harness:
    """A bridge whose acks are recorded (no broker)."""

    def __init__(self, monkeypatch):
        self.bridge = Bridge(BrokerUrl.parse("mqtt://127.0.0.1:1"), client_id="poison-test")
        self.acked: list[int] = []
        monkeypatch.setattr(self.bridge.client, "ack", lambda mid, qos: self.acked.append(mid))
        # keep the test's transaction open across an outage retry
        monkeypatch.setattr("assets.mqtt.bridge.connection.close", lambda: None)

    def send(self, *messages: tuple[str, bytes]) -> list[int]:
        batch = [Inbound(t, p, next(_mid), 1, datetime.now(UTC)) for t, p in messages]
        self.bridge.process(batch)
        return [m.mid for m in batch]


@pytest.fixture
def harness(monkeypatch):
    return Harness(monkeypatch)


@pytest.fixture
def dev(world):
    return device(world.site, "battery", uid="poison-battery", rated_power_w=5000)


def good(dev, ts, power_w=123):
    return (
        f"cem/{dev.community.slug}/{dev.uid}/telemetry",
        json.dumps({"ts": iso(ts), "power_w": power_w}).encode(),
    )


def topic(dev, kind):
    return f"cem/{dev.community.slug}/{dev.uid}/{kind}"


# The corpus of the outside test, and its neighbours.
def corpus(dev, other_uid="home-b-battery"):
    now = iso(datetime.now(UTC))
    t, a, s = topic(dev, "telemetry"), topic(dev, "ack"), topic(dev, "status")
    deep = ("[" * 2000 + "]" * 2000).encode()  # within the size limit
    return [
        (t, b"\x00"),
        (a, b"\x00"),
        (s, b"\x00"),
        (t, b"\xff\xfe\xfd not utf-8"),
        (s, b"\xc3\x28"),
        (t, b"A" * 1_000_000),
        (s, b"{" * 1_000_000),
        (t, f'{{"ts":"{now}","power_w":NaN}}'.encode()),
        (t, f'{{"ts":"{now}","power_w":Infinity}}'.encode()),
        (t, f'{{"ts":"{now}","power_w":1e400}}'.encode()),
        (t, deep),
        (a, deep),
        (s, deep),
        (t, json.dumps({"ts": "2026-01-01T00:00:00\u0000Z", "power_w": 1}).encode()),
        (t, json.dumps({"ts": "0001-01-01T00:00:00+23:59", "power_w": 1}).encode()),
        (a, json.dumps({"id": "abc\u0000def", "status": "applied"}).encode()),
        (a, json.dumps({"id": "\u0000", "status": "applied", "detail": "\u0000"}).encode()),
        (a, json.dumps({"id": "deadbeef", "status": "applied", "detail": "x\u0000y\ud800"}).encode()),
        (a, json.dumps({"id": "deadbeef", "status": {"\u0000": 1}}).encode()),
        (s, json.dumps({"state": ["online"]}).encode()),
        (s, json.dumps({"state": "online", "ts": "\u0000"}).encode()),
        (topic(dev, "cmd"), b"\x00"),
        (f"cem/{dev.community.slug}/{other_uid}/telemetry", b"\x00"),
        (f"cem/{dev.community.slug}/bad\u0000uid/telemetry", b"{}"),
        (f"cem/other\u0000/{dev.uid}/ack", b"\x00"),
        ("cem/\ud800/x/status", b"\x00"),
        ("\u0000", b"\x00"),
        ("cem/a/b/c/d/e", b"\x00"),
        (f"cem/{dev.community.slug}/{dev.uid}/telemetry/../../x", b"\x00"),
    ]


def test_the_outside_tests_poison_messages_are_acked_and_kept_and_the_next_message_is_stored(harness, dev):
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    messages = corpus(dev)
    for i, msg in enumerate(messages):
        # each poison message alone, then in a batch with a good one behind it
        mids = harness.send(msg)
        assert harness.acked[-1:] == mids, f"message {i} on {msg[0]!r} was not acknowledged"
        mids = harness.send(msg, good(dev, t0 + timedelta(seconds=i)))
        assert harness.acked[-2:] == mids
        assert Telemetry.objects.filter(device=dev, ts=t0 + timedelta(seconds=i)).exists(), (
            f"the good message behind poison message {i} was not stored"
        )
    assert len(harness.acked) == 3 * len(messages)
    # every poison message is on record with a reason, twice (alone + in a batch)
    assert RejectedMessage.objects.count() == 2 * len(messages)
    assert harness.bridge.stats["accepted"] == len(messages)
    assert harness.bridge.stats["dropped"] == 0
    nul = RejectedMessage.objects.filter(device=dev, topic=topic(dev, "telemetry"), size=1).first()
    assert (nul.payload_format, nul.payload, nul.code) == ("hex", "00", "json")
    big = RejectedMessage.objects.filter(size=1_000_000).first()
    assert big.code == "size" and len(big.payload) <= 2000
    deep = RejectedMessage.objects.filter(topic=topic(dev, "telemetry"), size=4000).first()
    assert "too deeply" in deep.reason
    nul_id = RejectedMessage.objects.filter(topic=topic(dev, "ack"), payload__contains="abc").first()
    assert nul_id.code == "schema" and "command id" in nul_id.reason


def test_ack_detail_with_nul_is_stored_clean_on_the_command(harness, dev):
    from django.utils import timezone

    from assets.models import DeviceCommand

    cmd = DeviceCommand.objects.create(
        id="c0ffee",
        device=dev,
        action="set_power",
        params={},
        valid_until=timezone.now() + timedelta(minutes=5),
        status=DeviceCommand.Status.SENT,
        created_at=timezone.now(),
        sent_at=timezone.now(),
    )
    harness.send(
        (topic(dev, "ack"), json.dumps({"id": "c0ffee", "status": "rejected", "detail": "no\u0000pe"}).encode())
    )
    cmd.refresh_from_db()
    assert cmd.status == "rejected" and cmd.detail == "no\\x00pe"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
shaped = st.fixed_dictionaries(
    {},
    optional={
        "ts": st.one_of(st.text(max_size=30), st.just(iso(datetime.now(UTC))), json_values),
        "power_w": json_values,
        "import_wh": json_values,
        "soc_pct": json_values,
        "plugged_in": json_values,
        "id": st.one_of(st.text(max_size=70), json_values),
        "status": st.one_of(st.sampled_from(["received", "applied", "rejected", "expired"]), json_values),
        "detail": st.one_of(st.text(), json_values),
        "state": st.one_of(st.sampled_from(["online", "offline"]), json_values),
    },
)


def _encode(value) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


payload_bytes = st.one_of(
    st.binary(max_size=300),
    json_values.map(_encode),
    shaped.map(_encode),
    st.text(max_size=200).map(lambda s: s.encode("utf-8", "surrogatepass")),
)
topic_kinds = st.sampled_from(["own", "unknown_device", "other_community", "arbitrary"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    messages=st.lists(st.tuples(topic_kinds, st.sampled_from(KINDS), payload_bytes, st.text(max_size=40)), max_size=6)
)
def test_no_payload_on_any_topic_stops_the_bridge_or_blocks_the_next_message(harness, dev, messages):
    slug = dev.community.slug
    batch = []
    for where, kind, payload, text in messages:
        t = {
            "own": f"cem/{slug}/{dev.uid}/{kind}",
            "unknown_device": f"cem/{slug}/nobody/{kind}",
            "other_community": f"cem/elsewhere/{dev.uid}/{kind}",
            "arbitrary": text,
        }[where]
        batch.append((t, payload))
    ts = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=next(_mid) % 3000 + 60)
    before = len(harness.acked)
    mids = harness.send(*batch, good(dev, ts, power_w=7))
    assert harness.acked[before:] == mids  # all acknowledged, once, in order
    assert Telemetry.objects.filter(device=dev, ts=ts, power_w=7).exists()
    assert harness.bridge.stats["dropped"] == 0


@needs_postgres
def test_if_validation_lets_an_unstorable_message_through_it_is_quarantined_as_hex(harness, dev, monkeypatch, caplog):
    """The safety net behind validation: pretend the sanitiser regressed and
    lets NUL reach PostgreSQL. The batch is split, the message at fault is kept
    as hex with the database's reason and acked; the rest are stored."""
    monkeypatch.setattr(services.payloads, "sanitised_copy", lambda raw: ("text", raw.decode("latin-1")))
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    batch = [good(dev, t0 + timedelta(seconds=i)) for i in range(7)]
    batch.insert(3, (topic(dev, "telemetry"), b"\x00\x01poison"))
    with caplog.at_level(logging.WARNING, logger="assets.bridge"):
        mids = harness.send(*batch)
    assert harness.acked == mids
    assert Telemetry.objects.filter(device=dev).count() == 7
    q = RejectedMessage.objects.get(code="unstorable")
    assert (q.payload_format, q.payload, q.size) == ("hex", b"\x00\x01poison".hex(), 8)
    assert "NUL" in q.reason
    assert harness.bridge.stats["quarantined"] == 1
    assert "quarantined" in caplog.text


def test_when_not_even_the_quarantine_row_can_be_stored_the_message_is_logged_as_hex_and_acked(
    harness, dev, monkeypatch, caplog
):
    def refuse(*a, **kw):
        raise DataError("simulated: this message cannot be stored")

    monkeypatch.setattr(services, "telemetry_ingest", refuse)
    monkeypatch.setattr(services, "telemetry_quarantine", refuse)
    with caplog.at_level(logging.ERROR, logger="assets.bridge"):
        mids = harness.send((topic(dev, "telemetry"), b"\x00\xffbad"))
    assert harness.acked == mids
    assert harness.bridge.stats["dropped"] == 1
    assert b"\x00\xffbad".hex() in caplog.text


def test_a_database_outage_is_not_the_messages_fault_nothing_is_quarantined_or_acked_until_it_is_back(
    harness, dev, monkeypatch
):
    real = services.telemetry_ingest
    calls = []

    def down_twice(*a, **kw):
        calls.append(1)
        if len(calls) <= 2:
            assert harness.acked == []
            raise OperationalError("server closed the connection unexpectedly")
        return real(*a, **kw)

    monkeypatch.setattr(services, "telemetry_ingest", down_twice)
    monkeypatch.setattr(bridge_module.Bridge, "_quarantine", lambda *a: pytest.fail("an outage is not poison"))
    t0 = datetime.now(UTC).replace(microsecond=0)
    mids = harness.send(good(dev, t0), (topic(dev, "telemetry"), b"\x00"))
    assert harness.acked == mids
    assert harness.bridge.stats["db_retries"] == 2
    assert Telemetry.objects.filter(device=dev, ts=t0).exists()
    assert RejectedMessage.objects.filter(code="json").count() == 1


def test_a_counter_jump_too_big_for_a_reading_does_not_stop_the_other_devices_readings(harness, world):
    """Derived readings are refreshed device by device when one fails."""
    a = device(world.site, "smart_meter", uid="jumpy-meter", meter="site")
    b = device(world.neighbour_site, "smart_meter", uid="calm-meter", meter="site")
    t0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    from assets.models import IntervalReading

    msgs = []
    for i in range(0, 61, 5):
        ts = t0 + timedelta(minutes=i)
        msgs.append(
            (topic(b, "telemetry"), json.dumps({"ts": iso(ts), "import_wh": 1000 + 10 * i, "export_wh": 0}).encode())
        )
        jump = 10**12 if i > 30 else 0  # ~1 TWh in five minutes: no integer column holds that reading
        msgs.append(
            (topic(a, "telemetry"), json.dumps({"ts": iso(ts), "import_wh": 1000 + jump, "export_wh": 0}).encode())
        )
    harness.bridge.process(
        [Inbound(t, p, next(_mid), 1, datetime.now(UTC)) for t, p in msgs], now=t0 + timedelta(hours=2)
    )
    harness.bridge.flush_derived(force=True)
    assert IntervalReading.objects.filter(meter__device=b).count() == 2
