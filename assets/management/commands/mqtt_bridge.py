"""Run the MQTT bridge: `manage.py mqtt_bridge` (one process; see assets.mqtt.bridge)."""

import logging

from django.conf import settings
from django.core.management.base import BaseCommand

from assets.mqtt.bridge import Bridge
from assets.mqtt.connection import from_settings


class Command(BaseCommand):
    help = "Subscribe to device telemetry/acks/status and store them (QoS 1, batched, idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--url", default=None, help="MQTT URL (default: settings.MQTT_URL)")
        parser.add_argument("--client-id", default="cem-bridge")
        parser.add_argument("--batch-size", type=int, default=2000)
        parser.add_argument(
            "--community", action="append", default=None, help="only these community slugs (repeatable; default: all)"
        )

    def handle(self, *args, url=None, client_id="cem-bridge", batch_size=2000, community=None, **options):
        logging.getLogger("assets.bridge").setLevel(logging.INFO)
        broker = from_settings(url)
        if getattr(settings, "MQTT_IS_EMBEDDED", False) and not url:
            self.stdout.write(
                "Using the embedded amqtt broker: it has no ACLs, so devices are not confined "
                "to their own topics. Production uses Mosquitto with the files the platform writes."
            )
        bridge = Bridge(broker, client_id=client_id, batch_size=batch_size, communities=community)
        bridge.install_signal_handlers()
        self.stdout.write(f"MQTT bridge -> {broker.redacted()}")
        bridge.run_forever()
