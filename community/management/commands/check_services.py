"""Before starting: is every service the settings point at reachable?

Prints one line per service and, for any that is not, which one and how to fix
it; exits non-zero so `make run` stops there instead of failing later.
"""

import socket
from urllib.parse import urlparse

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection


def _tcp(host: str, port: int, timeout: float = 2.0) -> str | None:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as exc:
        return str(exc)


class Command(BaseCommand):
    help = "Check the database, the Celery broker and the MQTT broker are reachable."

    def handle(self, *args, **options):
        problems = []
        db = settings.DATABASES["default"]
        try:
            connection.ensure_connection()
            self.stdout.write(f"database  ok   {db['ENGINE'].rsplit('.', 1)[-1]} {db.get('NAME')}")
        except Exception as exc:  # noqa: BLE001 - any driver error means "not reachable"
            problems.append(
                f"database: cannot connect ({exc}). Start PostgreSQL (pg_ctlcluster <version> main start) "
                "or unset DATABASE_URL to use the embedded SQLite file."
            )

        if settings.CELERY_BROKER_IS_EMBEDDED:
            self.stdout.write("broker    ok   embedded filesystem queue under var/celery/")
        else:
            url = urlparse(settings.CELERY_BROKER_URL)
            default_port = {"redis": 6379, "rediss": 6380, "amqp": 5672, "pyamqp": 5672}.get(url.scheme, 0)
            err = _tcp(url.hostname or "127.0.0.1", url.port or default_port)
            if err:
                problems.append(
                    f"Celery broker {settings.CELERY_BROKER_URL}: {err}. Start Redis/RabbitMQ, or unset "
                    "CELERY_BROKER_URL to use the embedded filesystem queue."
                )
            else:
                self.stdout.write(f"broker    ok   {url.scheme}://{url.hostname}:{url.port or default_port}")

        mqtt = urlparse(settings.MQTT_URL)
        if settings.MQTT_IS_EMBEDDED:
            if _tcp(mqtt.hostname, mqtt.port, timeout=0.5) is None:
                problems.append(
                    f"MQTT: port {mqtt.port} is already in use, so the embedded broker cannot start. "
                    "Stop whatever is using it (an earlier `make run`?) or set MQTT_URL to your broker."
                )
            else:
                self.stdout.write(f"mqtt      ok   embedded amqtt broker will listen on {mqtt.hostname}:{mqtt.port}")
        else:
            err = _tcp(mqtt.hostname or "127.0.0.1", mqtt.port or 1883)
            if err:
                problems.append(
                    f"MQTT broker {settings.MQTT_URL}: {err}. Start Mosquitto (mosquitto -d -c "
                    "/etc/mosquitto/mosquitto.conf) or unset MQTT_URL to use the embedded broker."
                )
            else:
                self.stdout.write(f"mqtt      ok   {mqtt.hostname}:{mqtt.port or 1883}")
        if problems:
            for p in problems:
                self.stderr.write(self.style.ERROR(p))
            raise CommandError(f"{len(problems)} service(s) not reachable; see above.")
