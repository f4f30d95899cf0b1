"""A private-wire estate for tests and an in-process closed loop around it.

``estate(world, homes=6)`` builds a feeder with homes that each have a smart
meter, rooftop PV and a battery (household-owned, with the household's
balancing consent), and a Segment over the feeder.

``Loop`` plays the homes with the simulator's physics (``assets.domain.home``)
and does what the MQTT bridge does, in-process: each simulated minute it writes
every device's telemetry, runs the controller's corrective step, and delivers
the commands the step recorded to the simulated devices, writing their acks
back onto the command rows. Only the MQTT transport is left out (the live
variant with Mosquitto is in test_live_mqtt.py).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from assets import services as asset_services
from assets.domain import kinds
from assets.domain.home import SimSite, Weather
from assets.domain.payloads import Command
from assets.models import Device, DeviceCommand, Telemetry
from assets.mqtt.simulator import site_spec
from community import services as community_services
from community.models import ConsentRecord, Membership, Role
from vpp.balancing import services
from vpp.balancing.models import Segment

_n = itertools.count(1)


def consent(device: Device, user, at: datetime) -> None:
    ConsentRecord.objects.create(
        community=device.community,
        user=user,
        purpose=ConsentRecord.Purpose.BALANCING,
        scope=f"device:{device.pk}",
        text="I let the estate's controller charge and discharge my battery within my limits.",
        granted_at=at - timedelta(days=30),
    )


def estate(
    world,
    *,
    homes: int = 6,
    import_limit_w: int = 6_000,
    export_limit_w: int = 20_000,
    since=None,
    evs: int = 0,
    heat_pumps: int = 0,
    consent_loads: bool = True,
    batteries: bool = True,
):
    """A feeder with ``homes`` homes (meter, 4 kWp PV, 10 kWh battery each unless ``batteries`` is False) and its Segment;
    the first ``evs`` homes also have a 7 kW EV charger and the first ``heat_pumps`` a 3 kW
    heat pump (comfort band 19-23 °C), each with the household's balancing consent
    unless ``consent_loads`` is False."""
    from django.contrib.auth import get_user_model

    since = since or datetime(2026, 1, 1, tzinfo=UTC)
    tag = next(_n)
    node = community_services.network_node_create(
        community=world.community,
        kind="feeder",
        name=f"Private wire {tag}",
        code=f"PW{tag}",
        parent=world.primary,
        import_capacity_kw=Decimal(100),
        export_capacity_kw=Decimal(100),
    )
    User = get_user_model()
    sites = []
    for h in range(homes):
        user = User.objects.create_user(username=f"pw{tag}-home{h}", password="x")
        Membership.objects.create(community=world.community, user=user, role=Role.MEMBER)
        site = community_services.site_create(
            community=world.community,
            name=f"{h + 1} Solar Row ({tag})",
            address=f"{h + 1} Solar Row",
            postcode="TE1 5PW",
            latitude="52.1",
            longitude="-1.9",
            network_node=node,
            occupants=[user],
        )
        site.annual_consumption_kwh = 3000
        site.save(update_fields=["annual_consumption_kwh"])
        asset_services.device_register(
            site=site, kind=kinds.SMART_METER, uid=f"pw{tag}-h{h}-meter", name="Smart meter", rated_power_w=24_000
        )
        asset_services.device_register(
            site=site,
            kind=kinds.PV_INVERTER,
            uid=f"pw{tag}-h{h}-pv",
            name="Rooftop PV 4 kWp",
            rated_power_w=3_680,
            specs={"dc_w": 4_000, "tilt_deg": 35, "azimuth_deg": 180},
        )
        if batteries:
            bat, _ = asset_services.device_register(
                site=site,
                kind=kinds.BATTERY,
                uid=f"pw{tag}-h{h}-bat",
                name="Home battery 10 kWh",
                rated_power_w=5_000,
                capacity_wh=10_000,
                limits={"reserve_pct": 10},
            )
            consent(bat, user, since)
        if h < evs:
            ev, _ = asset_services.device_register(
                site=site,
                kind=kinds.EV_CHARGER,
                uid=f"pw{tag}-h{h}-ev",
                name="EV charger 7 kW",
                rated_power_w=7_000,
                limits={"target_pct": 80, "ready_by": "07:00"},
                specs={"car_capacity_wh": 60_000},
            )
            if consent_loads:
                consent(ev, user, since)
        if h < heat_pumps:
            hp, _ = asset_services.device_register(
                site=site,
                kind=kinds.HEAT_PUMP,
                uid=f"pw{tag}-h{h}-hp",
                name="Heat pump 3 kW",
                rated_power_w=3_000,
                limits={"comfort_min_c": 19, "comfort_max_c": 23},
            )
            if consent_loads:
                consent(hp, user, since)
        sites.append(site)
    seg = services.segment_create(
        community=world.community,
        node=node,
        name=f"Solar Row private wire {tag}",
        import_limit_w=import_limit_w,
        export_limit_w=export_limit_w,
        stale_after_s=150,
    )
    Segment.objects.filter(pk=seg.pk).update(margin_w=1_000)
    seg.refresh_from_db()
    return seg, node, sites


class Loop:
    """The estate's homes under the simulator's physics, one minute a step."""

    def __init__(self, segment: Segment, start: datetime, *, clearsky_index: float = 1.0):
        self.segment = segment
        self.now = start
        self.weather = Weather(seed=7)
        self.clearsky_index = clearsky_index
        devices = list(Device.objects.filter(site__network_node=segment.node).select_related("site"))
        per_site: dict[int, list[Device]] = {}
        for d in devices:
            per_site.setdefault(d.site_id, []).append(d)
        self.sims: dict[int, SimSite] = {}
        self.device_sim: dict[int, tuple[SimSite, str]] = {}
        for site_id, devs in per_site.items():
            sim = SimSite(site_spec(devs[0].site, devs))
            self.sims[site_id] = sim
            for d in devs:
                self.device_sim[d.pk] = (sim, d.kind)
        self.devices = devices
        self.silent: set[int] = set()  # devices whose telemetry has stopped
        self.deaf: set[int] = set()  # devices that ignore commands (no ack)
        self.net_w: list[int] = []

    def physics(self) -> int:
        self.now += timedelta(minutes=1)
        self.weather.step(self.now, 60)
        self.weather.clearsky_index = self.clearsky_index
        for sim in self.sims.values():
            sim.step(self.now, 60, self.weather)
        net = sum(int(sim.meter.power_w) for sim in self.sims.values())
        self.net_w.append(net)
        return net

    def publish(self) -> None:
        rows = []
        for d in self.devices:
            if d.pk in self.silent:
                continue
            sim, kind = self.device_sim[d.pk]
            t = sim.telemetry(kind)
            rows.append(
                Telemetry(
                    device=d,
                    ts=self.now,
                    power_w=t.get("power_w"),
                    soc_pct=t.get("soc_pct"),
                    payload=t,
                )
            )
        Telemetry.objects.bulk_create(rows)
        Device.objects.filter(pk__in=[d.pk for d in self.devices]).exclude(pk__in=self.silent).update(
            online=True, last_seen_at=self.now
        )

    def deliver(self) -> None:
        for c in DeviceCommand.objects.filter(
            device_id__in=list(self.device_sim), status__in=[DeviceCommand.Status.PENDING, DeviceCommand.Status.SENT]
        ):
            if c.device_id in self.deaf:
                continue
            sim, kind = self.device_sim[c.device_id]
            reply = sim.handle(kind, Command(c.pk, c.action, c.params, c.valid_until), self.now)
            DeviceCommand.objects.filter(pk=c.pk).update(
                status=reply.status, detail=reply.detail[:500], sent_at=self.now, acked_at=self.now
            )

    def minute(self, *, control: bool = True):
        net = self.physics()
        self.publish()
        step = None
        if control:
            self.segment.refresh_from_db()
            step = services.control_step(segment=self.segment, now=self.now)
            self.deliver()
        return net, step

    def command_all(self, power_w: int) -> None:
        """Set every battery's power as a schedule would (a lease of 30 min)."""
        bats = [d for d in self.devices if d.kind == kinds.BATTERY]
        asset_services.command_publish_many(
            commands=[(d, "set_power", {"power_w": power_w}) for d in bats],
            valid_for=timedelta(minutes=30),
            source="balancing",
            now=self.now,
        )
        self.deliver()
