"""Run the MQTT bridge: `manage.py mqtt_bridge` (see assets.mqtt.bridge).

Scale out: run several with ``--share-group cem`` (or MQTT_BRIDGE_SHARE_GROUP)
and a distinct ``--client-id`` each; the broker splits the stream between them."""

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
            "--share-group",
            default=None,
            help="MQTT v5 shared-subscription group (default: settings.MQTT_BRIDGE_SHARE_GROUP; empty: none)",
        )
        parser.add_argument(
            "--readings",
            choices=("queue", "inline"),
            default="queue",
            help="where interval readings are rebuilt from new counters: a Celery task on the ingest queue "
            "(default; the bridge falls back to inline when the broker is unreachable) or in the bridge itself",
        )
        parser.add_argument(
            "--community", action="append", default=None, help="only these community slugs (repeatable; default: all)"
        )

    def handle(
        self,
        *args,
        url=None,
        client_id="cem-bridge",
        batch_size=2000,
        community=None,
        share_group=None,
        readings="queue",
        **options,
    ):
        logging.getLogger("assets.bridge").setLevel(logging.INFO)
        broker = from_settings(url)
        if getattr(settings, "MQTT_IS_EMBEDDED", False) and not url:
            self.stdout.write(
                "Using the embedded amqtt broker: it has no ACLs, so devices are not confined "
                "to their own topics. Production uses Mosquitto with the files the platform writes."
            )
        group = share_group if share_group is not None else getattr(settings, "MQTT_BRIDGE_SHARE_GROUP", None)
        bridge = Bridge(
            broker,
            client_id=client_id,
            batch_size=batch_size,
            communities=community,
            share_group=group or None,
            readings_on_queue=readings == "queue",
        )
        bridge.install_signal_handlers()
        self.stdout.write(
            f"MQTT bridge {client_id} -> {broker.redacted()}" + (f" (shared group {group})" if group else ""),
        )
        self.stdout.flush()
        bridge.run_forever()
