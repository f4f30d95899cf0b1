"""Against a real Mosquitto (our own process, with the files the platform
writes): device A cannot publish as device B, wrong and rotated passwords are
refused. Needs the mosquitto binary, not MQTT_URL: it starts its own broker."""

import os
import time

import pytest

from assets import services
from tests.assets.factories import device
from tests.assets.mqtt_helpers import MOSQUITTO, Listener, PrivateMosquitto, connect_as, publish_and_wait

pytestmark = [
    pytest.mark.mqtt,
    pytest.mark.skipif(not os.path.exists(MOSQUITTO), reason="needs the mosquitto binary (apt-get install mosquitto)"),
]


@pytest.fixture
def broker(tmp_path, settings):
    m = PrivateMosquitto(tmp_path)
    settings.MOSQUITTO_PASSWORD_FILE = m.passwd
    settings.MOSQUITTO_ACL_FILE = m.acl
    settings.MOSQUITTO_PID_FILE = m.pidfile
    settings.MQTT_URL = f"mqtt://cem-bridge:bridge-secret@127.0.0.1:{m.port}"
    yield m
    m.stop()


def test_device_a_cannot_publish_as_device_b(world, broker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        a = device(world.site, "battery", uid="home-a-battery")
        device(world.neighbour_site, "battery", uid="home-b-battery")
    broker.start()
    spy = Listener(broker.url("cem-bridge", "bridge-secret"), "cem/#")
    ca, rc = connect_as(broker.url(a.mqtt_username, a.test_password))
    assert not rc.is_failure, rc
    ok = publish_and_wait(ca, "cem/test-green/home-a-battery/telemetry", b'{"ts":"2026-01-01T00:00:00Z","power_w":1}')
    forged = publish_and_wait(
        ca, "cem/test-green/home-b-battery/telemetry", b'{"ts":"2026-01-01T00:00:00Z","power_w":666}'
    )
    forged_cmd = publish_and_wait(ca, "cem/test-green/home-b-battery/cmd", b"{}")
    time.sleep(0.5)
    assert not ok.is_failure
    assert forged.is_failure and "authori" in str(forged).lower()
    assert forged_cmd.is_failure
    topics_seen = [t for t, _ in spy.messages]
    assert "cem/test-green/home-a-battery/telemetry" in topics_seen
    assert not any("home-b-battery" in t for t in topics_seen)
    ca.disconnect()
    spy.close()


def test_wrong_and_rotated_passwords_are_refused(world, broker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        a = device(world.site, "battery", uid="home-a-battery")
    broker.start()
    c, rc = connect_as(broker.url(a.mqtt_username, "not-the-password"))
    assert rc is not None and rc.is_failure
    c.loop_stop()
    with django_capture_on_commit_callbacks(execute=True):
        new = services.device_credentials_rotate(device=a)  # rewrites the files and SIGHUPs the broker
    time.sleep(0.5)
    c, rc = connect_as(broker.url(a.mqtt_username, a.test_password))
    assert rc is not None and rc.is_failure
    c.loop_stop()
    c, rc = connect_as(broker.url(new.username, new.password))
    assert not rc.is_failure
    c.disconnect()
    c.loop_stop()
