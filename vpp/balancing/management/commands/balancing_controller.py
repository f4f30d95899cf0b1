"""The controller loop: a corrective step on every telemetry batch and at least every minute.

One long-running process (like ``mqtt_bridge``; never a thread in a web
worker). Each tick it looks for telemetry newer than what each segment's last
step saw; a segment with a new batch, or whose last step is older than
``--every`` seconds, is stepped. Schedules are re-solved each quarter-hour (the
service is idempotent, so the Celery beat entry and this loop can both call it).
Stops cleanly on SIGTERM; ``close_old_connections`` each tick.
"""

from __future__ import annotations

import logging
import signal
import time
from datetime import timedelta

from django.core.management.base import BaseCommand
from django.db import close_old_connections
from django.db.models import Max
from django.utils import timezone

from assets.models import Telemetry
from vpp.balancing import selectors, services
from vpp.balancing.models import Schedule, Segment

log = logging.getLogger("vpp.balancing")


class Command(BaseCommand):
    help = "Run the self-balancing controller: corrective steps on telemetry and every minute, MPC every 15 min."

    def add_arguments(self, parser):
        parser.add_argument("--tick", type=float, default=2.0, help="seconds between looks for new telemetry")
        parser.add_argument("--every", type=float, default=60.0, help="step at least this often (s)")
        parser.add_argument("--once", action="store_true", help="one tick, then exit")

    def handle(self, *args, tick: float, every: float, once: bool, **options):
        self.stopping = False

        def stop(signum, frame):
            self.stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        while not self.stopping:
            close_old_connections()
            try:
                self.tick_once(every=every)
            except Exception:  # keep controlling the other segments; the next tick retries
                log.exception("controller tick failed")
            if once:
                break
            time.sleep(tick)

    def tick_once(self, *, every: float) -> int:
        now = timezone.now()
        stepped = 0
        for seg in Segment.objects.exclude(mode=Segment.Mode.OFF).select_related("community", "node"):
            if not Schedule.objects.filter(segment=seg, starts_at=selectors.floor_quarter(now)).exists():
                try:
                    services.schedule_solve(segment=seg, now=now)
                except Exception:
                    log.exception("%s: schedule failed", seg)
            newest = Telemetry.objects.filter(
                device__site__in=selectors.segment_sites(seg), received_at__gt=now - timedelta(minutes=10)
            ).aggregate(m=Max("received_at"))["m"]
            fresh_batch = newest is not None and (seg.last_telemetry_at is None or newest > seg.last_telemetry_at)
            due = seg.last_step_at is None or (now - seg.last_step_at).total_seconds() >= every
            if fresh_batch or due:
                if services.control_step(segment=seg, now=now) is not None:
                    stepped += 1
        return stepped
