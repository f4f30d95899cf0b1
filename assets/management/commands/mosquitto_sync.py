"""Write Mosquitto's password and ACL files from the device registry."""

from django.conf import settings
from django.core.management.base import BaseCommand

from assets import services


class Command(BaseCommand):
    help = "Write the Mosquitto password + ACL files (settings.MOSQUITTO_PASSWORD_FILE / MOSQUITTO_ACL_FILE)."

    def handle(self, *args, **options):
        services.mosquitto_files_sync()
        n = len(services.mqtt_users())
        self.stdout.write(
            f"wrote {n} MQTT users to {settings.MOSQUITTO_PASSWORD_FILE} and {settings.MOSQUITTO_ACL_FILE}"
        )
