"""The neighbourhood simulator: the community's registered devices, played by
`assets.domain.home.SimSite` physics, each speaking MQTT with its own
credentials through a `DevicePool`.

Clock. Simulated time starts at ``start`` (default: now, where the demo's
seeded history ends) and runs ``speed`` times faster than real time until it
catches up with the wall clock, then continues in real time -- telemetry is
never stamped in the future (the bridge would rightly reject it). Steps are
aligned to ``step_s`` from the start, and every random process is seeded from
the site id, so restarting from the same ``start`` replays the same values
(the bridge's upsert makes the replay a no-op).
"""

from __future__ import annotations

import json
import logging
import os
import time as _time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings

from assets import services
from assets.domain import kinds, payloads, topics
from assets.domain.home import SimSite, SiteSpec, Weather
from assets.domain.profiles import PvArray
from assets.models import Device
from assets.mqtt import mosquitto
from community.models import Community, Site

from .connection import BrokerUrl
from .devicepool import DevicePool

log = logging.getLogger("assets.simulator")

LONDON = ZoneInfo("Europe/London")


def credentials_path() -> Path:
    return Path(getattr(settings, "VAR_DIR", "var")) / "simulator" / "credentials.json"


def load_secrets() -> dict:
    p = credentials_path()
    return json.loads(p.read_text()) if p.exists() else {}


def save_secrets(secrets: dict) -> None:
    p = credentials_path()
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(".tmp")
    tmp.write_text(json.dumps(secrets, indent=1, sort_keys=True))
    os.chmod(tmp, 0o600)
    tmp.replace(p)


def provision(devices: list[Device]) -> dict[int, tuple[str, str]]:
    """The simulated devices keep their own secrets (as a real device keeps
    what the installer typed in). A device whose stored secret no longer
    matches -- the household rotated it -- is re-provisioned by rotating
    again, as an installer would."""
    secrets = load_secrets()
    out = {}
    changed = False
    for d in devices:
        entry = secrets.get(str(d.pk))
        if not (
            entry
            and d.mqtt_username == entry["username"]
            and mosquitto.verify_password(entry["password"], d.mqtt_password_hash)
        ):
            creds = services.device_credentials_rotate(device=d)
            entry = {"username": creds.username, "password": creds.password}
            secrets[str(d.pk)] = entry
            changed = True
        out[d.pk] = (entry["username"], entry["password"])
    if changed:
        save_secrets(secrets)
    return out


def _f(d: dict, name: str, default):
    v = d.get(name, default)
    return default if v is None else v


def site_spec(site: Site, devices: list[Device]) -> SiteSpec:
    lat, lon = float(site.latitude), float(site.longitude)
    by_kind: dict[str, Device] = {}
    for d in devices:
        by_kind.setdefault(d.kind, d)
    school = site.kind in (Site.Kind.SCHOOL, Site.Kind.BUSINESS, Site.Kind.COMMUNITY_BUILDING)
    annual = site.annual_consumption_kwh
    if annual is None:
        annual = 0 if set(by_kind) <= {kinds.WIND_TURBINE, kinds.SMART_METER} else (25_000 if school else 2_700)
    pv = wind = battery = ev = hp = load = None
    if (d := by_kind.get(kinds.PV_INVERTER)) is not None:
        pv = PvArray(
            latitude=lat,
            longitude=lon,
            tilt_deg=float(_f(d.specs, "tilt_deg", 35)),
            azimuth_deg=float(_f(d.specs, "azimuth_deg", 180)),
            dc_w=int(_f(d.specs, "dc_w", int(d.rated_power_w * 1.1))),
            inverter_w=d.rated_power_w,
        )
    if (d := by_kind.get(kinds.WIND_TURBINE)) is not None:
        wind = d.rated_power_w
    if (d := by_kind.get(kinds.BATTERY)) is not None:
        battery = dict(
            capacity_wh=d.capacity_wh or 10_000,
            max_charge_w=d.rated_power_w,
            max_discharge_w=d.rated_power_w,
            round_trip_efficiency=float(_f(d.specs, "round_trip_efficiency", 0.9)),
            reserve_pct=float(_f(d.limits, "reserve_pct", 20)),
            soc_pct=50.0,
        )
    if (d := by_kind.get(kinds.EV_CHARGER)) is not None:
        ev = dict(
            max_power_w=d.rated_power_w,
            car_capacity_wh=int(_f(d.specs, "car_capacity_wh", 60_000)),
            target_pct=float(_f(d.limits, "target_pct", 80)),
            ready_by=services.ready_by_time(d),
            car_soc_pct=60.0,
        )
    if (d := by_kind.get(kinds.HEAT_PUMP)) is not None:
        lo, hi = float(_f(d.limits, "comfort_min_c", 18)), float(_f(d.limits, "comfort_max_c", 22))
        hp = dict(
            rated_w=d.rated_power_w,
            min_w=max(int(d.rated_power_w * 0.2), 1),
            r_k_per_w=float(_f(d.specs, "r_k_per_w", 1 / 180)),
            c_j_per_k=float(_f(d.specs, "c_j_per_k", 1.2e7)),
            comfort_min_c=lo,
            comfort_max_c=hi,
            setpoint_c=round((lo + hi) / 2, 1),
            indoor_c=round((lo + hi) / 2, 1),
        )
    if (d := by_kind.get(kinds.LOAD)) is not None:
        load = dict(rated_w=d.rated_power_w, daily_wh=int(_f(d.specs, "daily_wh", 3_000)))
    return SiteSpec(
        key=str(site.pk),
        latitude=lat,
        longitude=lon,
        seed=1000 + site.pk,
        annual_kwh=float(annual),
        profile="G25" if school else "H25",
        pv=pv,
        wind_rated_w=wind,
        battery=battery,
        ev=ev,
        heat_pump=hp,
        load=load,
    )


class Neighbourhood:
    def __init__(
        self,
        community: Community,
        *,
        broker: BrokerUrl,
        speed: float,
        start: datetime,
        step_s: int = 60,
        use_credentials: bool = True,
        client_prefix: str = "sim",
    ):
        self.community = community
        self.speed = speed
        self.step = timedelta(seconds=step_s)
        self.sim_now = start
        self.weather = Weather(seed=community.pk)
        devices = list(Device.objects.filter(community=community).select_related("site").order_by("site_id", "pk"))
        creds = provision(devices) if use_credentials else {}
        self.sites: dict[int, SimSite] = {}
        self.device_site: dict[str, tuple[SimSite, str]] = {}
        per_site: dict[int, list[Device]] = {}
        for d in devices:
            per_site.setdefault(d.site_id, []).append(d)
        self.pool = DevicePool(broker, handler=self._handle, client_prefix=client_prefix)
        for site_id, devs in per_site.items():
            sim = SimSite(site_spec(devs[0].site, devs))
            self.sites[site_id] = sim
            taken = set()
            for d in devs:
                if d.kind in taken:
                    log.warning(
                        "site %s has a second %s (%s); the simulator plays only the first", site_id, d.kind, d.uid
                    )
                    continue
                taken.add(d.kind)
                self.device_site[d.uid] = (sim, d.kind)
                user, pw = creds.get(d.pk, (None, None))
                self.pool.add(community=community.slug, uid=d.uid, username=user, password=pw)
        self.published = 0
        self.ack_counts: dict[str, int] = {}

    def _handle(self, uid: str, cmd: payloads.Command, now: datetime) -> tuple[str, str]:
        sim, kind = self.device_site[uid]
        reply = sim.handle(kind, cmd, self.sim_now)  # the device lives in simulated time
        self.ack_counts[reply.status] = self.ack_counts.get(reply.status, 0) + 1
        log.info("%s %s %s -> %s %s", uid, cmd.action, cmd.params, reply.status, reply.detail)
        return reply.status, reply.detail

    def advance_to(self, target: datetime) -> int:
        """Step the physics up to ``target`` (never past the wall clock) and
        publish each step's telemetry. Returns the number of steps taken."""
        wall = datetime.now(UTC)
        target = min(target, wall)
        steps = 0
        dt = self.step.total_seconds()
        while self.sim_now + self.step <= target:
            self.sim_now += self.step
            self.weather.step(self.sim_now, dt)
            for sim in self.sites.values():
                sim.step(self.sim_now, dt, self.weather)
            self.publish_all()
            steps += 1
            self.pool.poll(0)
        return steps

    def publish_all(self) -> None:
        for uid, (sim, kind) in self.device_site.items():
            body = payloads.build_telemetry(self.sim_now, **sim.telemetry(kind))
            if self.pool.publish(uid, topics.TELEMETRY, body):
                self.published += 1
        self.pool.poll(0)

    def run(self, *, stop, report_every_s: float = 30.0) -> None:
        n = self.pool.connect_all(timeout=20)
        log.info("%d of %d simulated devices connected", n, len(self.pool.links))
        self.publish_all()  # the state at the start, so the first period has its opening counters
        real0, sim0 = _time.monotonic(), self.sim_now
        last_report = _time.monotonic()
        caught_up = False
        while not stop():
            elapsed = _time.monotonic() - real0
            self.advance_to(sim0 + timedelta(seconds=elapsed * self.speed))
            if not caught_up and self.sim_now + self.step > datetime.now(UTC):
                caught_up = True
                log.info("simulated time has caught up with the clock; continuing in real time")
            self.pool.poll(0.2)
            if _time.monotonic() - last_report > report_every_s:
                last_report = _time.monotonic()
                log.info(
                    "sim time %s, %d messages published, acks %s",
                    self.sim_now.astimezone(LONDON).strftime("%H:%M"),
                    self.published,
                    self.ack_counts,
                )
        self.pool.disconnect_all()


def default_start(now: datetime | None = None) -> datetime:
    """Now, to the minute: the demo's seeded history runs up to the moment it is loaded."""
    now = now or datetime.now(UTC)
    return now.astimezone(UTC).replace(second=0, microsecond=0)
