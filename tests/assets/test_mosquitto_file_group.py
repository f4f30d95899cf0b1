"""Issue 9 §5: Mosquitto running as its own user (it drops root before it
reads the files) can read the password and ACL files the platform writes,
when MOSQUITTO_FILE_GROUP names its group. Without the group setting the
files stay 0600 and such a broker cannot start: the negative control."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from assets import services
from assets.mqtt import mosquitto
from tests.assets.factories import device
from tests.assets.mqtt_helpers import MOSQUITTO, PrivateMosquitto, connect_as, publish_and_wait

BROKER_USER = "mosquitto"


def _has_user(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


pytestmark = [
    pytest.mark.mqtt,
    pytest.mark.skipif(not os.path.exists(MOSQUITTO), reason="needs the mosquitto binary (apt-get install mosquitto)"),
    pytest.mark.skipif(os.geteuid() != 0, reason="starting Mosquitto as another user needs root"),
    pytest.mark.skipif(not _has_user(BROKER_USER), reason="no 'mosquitto' user on this machine"),
]


class BrokerAsItsUser(PrivateMosquitto):
    """Mosquitto started by root with ``user mosquitto``: it reads the files as that user."""

    def start(self) -> BrokerAsItsUser:
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous false\n"
            f"password_file {self.passwd}\n"
            f"acl_file {self.acl}\n"
            "persistence false\n"
            "log_dest stderr\n"
            f"user {BROKER_USER}\n"
        )
        self.log = self.dir / "mosquitto.log"
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=open(self.log, "w")
        )
        self.pidfile.write_text(str(self.proc.pid))
        return self


@pytest.fixture
def workdir():
    # a directory the broker's user can enter (pytest's tmp_path is root-only)
    d = Path(tempfile.mkdtemp(prefix="cem-mosq-", dir="/tmp"))
    os.chown(d, 0, grp.getgrnam(BROKER_USER).gr_gid)
    os.chmod(d, 0o750)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def broker(workdir, settings):
    m = BrokerAsItsUser(workdir)
    settings.MOSQUITTO_PASSWORD_FILE = m.passwd
    settings.MOSQUITTO_ACL_FILE = m.acl
    settings.MOSQUITTO_PID_FILE = m.pidfile
    settings.MQTT_URL = f"mqtt://cem-bridge:bridge-secret@127.0.0.1:{m.port}"
    yield m
    m.stop()


def _wait_up(m, timeout=5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if m.proc.poll() is not None:
            return False
        try:
            import socket

            with socket.create_connection(("127.0.0.1", m.port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def test_the_broker_as_its_own_user_reads_the_files_and_enforces_them(
    world, broker, settings, django_capture_on_commit_callbacks
):
    settings.MOSQUITTO_FILE_GROUP = BROKER_USER
    with django_capture_on_commit_callbacks(execute=True):
        a = device(world.site, "battery", uid="home-a-battery")
        device(world.neighbour_site, "battery", uid="home-b-battery")
    gid = grp.getgrnam(BROKER_USER).gr_gid
    for f in (broker.passwd, broker.acl):
        st = os.stat(f)
        assert st.st_gid == gid and stat.S_IMODE(st.st_mode) == 0o640, f
    broker.start()
    assert _wait_up(broker), broker.log.read_text()
    c, rc = connect_as(broker.url(a.mqtt_username, a.test_password))
    assert rc is not None and not rc.is_failure, rc
    ok = publish_and_wait(c, "cem/test-green/home-a-battery/telemetry", b'{"ts":"2026-01-01T00:00:00Z","power_w":1}')
    forged = publish_and_wait(c, "cem/test-green/home-b-battery/telemetry", b'{"ts":"2026-01-01T00:00:00Z"}')
    assert not ok.is_failure and forged.is_failure
    c.disconnect()
    c.loop_stop()
    # a rotation rewrites the files (atomically: new inodes) and reloads the broker
    with django_capture_on_commit_callbacks(execute=True):
        new = services.device_credentials_rotate(device=a)
    assert stat.S_IMODE(os.stat(broker.passwd).st_mode) == 0o640 and os.stat(broker.passwd).st_gid == gid
    time.sleep(0.5)
    assert broker.proc.poll() is None, broker.log.read_text()
    c, rc = connect_as(broker.url(new.username, new.password))
    assert not rc.is_failure, (rc, broker.log.read_text())
    c.disconnect()
    c.loop_stop()


def test_without_the_group_setting_the_files_are_private_and_such_a_broker_cannot_read_them(
    world, broker, settings, django_capture_on_commit_callbacks
):
    settings.MOSQUITTO_FILE_GROUP = None
    with django_capture_on_commit_callbacks(execute=True):
        device(world.site, "battery", uid="home-a-battery")
    assert stat.S_IMODE(os.stat(broker.passwd).st_mode) == 0o600
    broker.start()
    assert not _wait_up(broker, timeout=3)
    assert "pwfile" in broker.log.read_text().lower() or "password" in broker.log.read_text().lower()


def test_an_unknown_group_is_a_clear_error(tmp_path):
    with pytest.raises(mosquitto.FilePermissionError, match="no such group"):
        mosquitto.write_files([], password_file=tmp_path / "p", acl_file=tmp_path / "a", group="no-such-group-x")
