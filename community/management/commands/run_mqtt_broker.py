"""The embedded MQTT broker (amqtt) for a fresh laptop.

With MQTT_URL set to a real broker (Mosquitto), this process has nothing to do:
it says so and waits, so the Procfile stays the same in both set-ups.
"""

import asyncio
import signal
from urllib.parse import urlparse

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Run the embedded amqtt broker on MQTT_URL's port (default 127.0.0.1:1884)."

    def handle(self, *args, **options):
        if not settings.MQTT_IS_EMBEDDED:
            self.stdout.write(f"MQTT_URL is set ({settings.MQTT_URL}): using that broker, not starting one.")
            signal.sigwait({signal.SIGINT, signal.SIGTERM})
            return
        url = urlparse(settings.MQTT_URL)
        bind = f"{url.hostname}:{url.port or 1884}"
        try:
            asyncio.run(self._serve(bind))
        except OSError as exc:
            raise CommandError(
                f"Could not start the embedded MQTT broker on {bind}: {exc}. "
                "Is something else using that port? Stop it, or set MQTT_URL to your broker."
            ) from exc

    async def _serve(self, bind: str) -> None:
        from amqtt.broker import Broker

        broker = Broker(
            {
                "listeners": {"default": {"type": "tcp", "bind": bind}},
                "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
            }
        )
        await broker.start()
        self.stdout.write(f"Embedded MQTT broker (amqtt) listening on {bind}")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await broker.shutdown()
