"""Run the demo neighbourhood's devices as MQTT clients: `manage.py simulate --speed 60`."""

import logging
import signal
from datetime import UTC, datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from assets.mqtt.connection import from_settings
from assets.mqtt.simulator import Neighbourhood, default_start
from community.models import Community


class Command(BaseCommand):
    help = (
        "Simulate the community's homes and assets (pvlib PV, BDEW H25 demand, battery, EV, heat pump, wind) "
        "as MQTT devices with their own credentials. Time starts now (or at --start) and runs --speed times "
        "faster until it reaches the clock, then in real time."
    )

    def add_arguments(self, parser):
        parser.add_argument("--community", default=None, help="community slug (default: every community with devices)")
        parser.add_argument("--speed", type=float, default=60.0)
        parser.add_argument(
            "--step", type=int, default=60, help="simulated seconds per step (and per telemetry message)"
        )
        parser.add_argument("--start", default=None, help="ISO-8601 start of simulated time (default: now)")
        parser.add_argument("--url", default=None, help="MQTT URL (default: settings.MQTT_URL without its credentials)")
        parser.add_argument("--anonymous", action="store_true", help="connect without device credentials")

    def handle(self, *args, community=None, speed=60.0, step=60, start=None, url=None, anonymous=False, **opts):
        logging.getLogger("assets.simulator").setLevel(logging.INFO)
        qs = Community.objects.filter(devices__isnull=False).distinct()
        if community:
            qs = qs.filter(slug=community)
        communities = list(qs)
        if not communities:
            raise CommandError("no community with registered devices (run the demo data first: manage.py demo)")
        if len(communities) > 1:
            self.stdout.write(f"simulating {communities[0].slug} (of {len(communities)}; choose with --community)")
        c = communities[0]
        broker = from_settings(url).with_credentials(None, None)
        if getattr(settings, "MQTT_IS_EMBEDDED", False):
            self.stdout.write(
                "Embedded amqtt broker: devices connect with their own credentials, but amqtt "
                "enforces no ACLs; Mosquitto (MQTT_URL) confines each device to its own topics."
            )
        t0 = datetime.fromisoformat(start) if start else default_start()
        if t0.tzinfo is None:
            raise CommandError("--start needs a UTC offset, e.g. 2026-01-01T00:00:00Z")
        hood = Neighbourhood(
            c, broker=broker, speed=speed, start=t0.astimezone(UTC), step_s=step, use_credentials=not anonymous
        )
        stopping = []
        signal.signal(signal.SIGTERM, lambda *a: stopping.append(1))
        signal.signal(signal.SIGINT, lambda *a: stopping.append(1))
        self.stdout.write(
            f"simulating {len(hood.sites)} sites / {len(hood.device_site)} devices of {c.slug} "
            f"from {t0.isoformat()} at x{speed:g}"
        )
        hood.run(stop=lambda: bool(stopping))
