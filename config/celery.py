"""Celery application: the platform's clock (clearing, settlement, dispatch, runs).

Queues by kind (issue 16): ``dispatch``, ``market``, ``settlement``, ``ingest``
and ``default``; routes and queues in settings (CELERY_TASK_ROUTES,
CELERY_TASK_QUEUES). Every queue is declared, so a worker started without ``-Q`` serves all of them, and
``celery -A config worker -Q market`` serves one. Broker: RabbitMQ in
production (``amqp://user:pass@host:5672/vhost``), Redis also works, the
filesystem transport on a laptop.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("cem")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
