"""§2: production is the default, a public SECRET_KEY refuses to start, secrets
never show on an error page or in a log, and `check --deploy` is clean."""

from __future__ import annotations

import logging
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import RequestFactory, override_settings
from django.views.debug import technical_500_response

ROOT = Path(__file__).resolve().parents[2]
BRIDGE_PASSWORD = "bridge-Pa55-xyz"


def _env(**extra: str) -> dict[str, str]:
    # DJANGO_ALLOW_ASYNC_UNSAFE: set by the browser fixture in this process, never in a deployment
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update(extra)
    return env


def _run(code: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); " + code],
        cwd=ROOT,
        env=_env(DJANGO_SETTINGS_MODULE="config.settings", **extra),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_debug_is_off_when_unset():
    result = _run("from django.conf import settings; print(settings.DEBUG)", SECRET_KEY=secrets.token_urlsafe(50))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize("key", [None, "dev-only-insecure-key-set-SECRET_KEY-in-production", "django-insecure-abc"])
def test_it_refuses_to_start_in_production_without_a_real_secret_key(key):
    extra = {} if key is None else {"SECRET_KEY": key}
    result = _run("print('started')", **extra)
    assert result.returncode != 0
    assert "started" not in result.stdout
    assert "SECRET_KEY" in result.stderr and "DEBUG=true" in result.stderr


def test_development_mode_starts_without_a_key():
    result = _run("from django.conf import settings; print(settings.DEBUG)", DEBUG="true")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_check_deploy_is_clean_with_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_env(
            SECRET_KEY=secrets.token_urlsafe(50),
            ALLOWED_HOSTS="energy.example.org",
            SECURE_PROXY_SSL_HEADER="true",
        ),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@override_settings(
    MQTT_URL=f"mqtt://bridge:{BRIDGE_PASSWORD}@broker.internal:1883",
    CELERY_BROKER_URL=f"redis://:{BRIDGE_PASSWORD}@redis.internal:6379/0",
    DEBUG=True,
)
def test_a_debug_page_never_shows_a_password_inside_a_url():
    request = RequestFactory().get("/c/x/energy/", HTTP_X_LEAK=f"amqp://u:{BRIDGE_PASSWORD}@h/")
    try:
        url = f"mqtt://bridge:{BRIDGE_PASSWORD}@broker.internal:1883"  # a local a traceback would show
        raise RuntimeError(f"cannot connect to {url}")
    except RuntimeError:
        response = technical_500_response(request, *sys.exc_info())
    page = response.content.decode()
    assert "MQTT_URL" in page  # the settings are there...
    assert BRIDGE_PASSWORD not in page  # ...without the password


def test_a_log_line_never_shows_a_password_inside_a_url(caplog):
    from community.secrets import MaskSecretsLogFilter

    logger = logging.getLogger("tests.security.leak")
    logger.addFilter(MaskSecretsLogFilter())
    with caplog.at_level(logging.INFO, logger="tests.security.leak"):
        logger.info("connecting to %s", f"mqtt://bridge:{BRIDGE_PASSWORD}@broker:1883")
    assert "mqtt://bridge:********@broker:1883" in caplog.text
    assert BRIDGE_PASSWORD not in caplog.text


def test_the_console_log_handler_masks_passwords():
    from django.conf import settings

    assert "mask_secrets" in settings.LOGGING["handlers"]["console"]["filters"]


def test_a_logged_traceback_never_shows_a_password_inside_a_url():
    import io

    from community.secrets import MaskSecretsLogFilter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskSecretsLogFilter())
    logger = logging.getLogger("tests.security.tb")
    logger.addHandler(handler)
    try:
        raise ConnectionError(f"broker mqtt://bridge:{BRIDGE_PASSWORD}@broker:1883 refused")
    except ConnectionError:
        logger.exception("bridge failed")
    logger.removeHandler(handler)
    assert "ConnectionError" in stream.getvalue()
    assert BRIDGE_PASSWORD not in stream.getvalue()
