"""Secrets never reach an error page, an error mail or a log line.

Django's filter hides settings whose *name* says secret (KEY, PASS, TOKEN...),
but ``MQTT_URL`` or ``CELERY_BROKER_URL`` carry a password inside the *value*
(``mqtt://bridge:PASSWORD@host``; the bridge's account may command every
device). These hide any URL's password wherever it appears, and settings that
are URLs or DSNs as a whole.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

# scheme://user:password@host -> scheme://user:********@host
URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.\-]*://[^:/@\s]*:)(?P<password>[^@\s/]+)(?P<tail>@)")
MASK = "********"


def mask_url_passwords(text: str) -> str:
    return URL_PASSWORD.sub(lambda m: f"{m['head']}{MASK}{m['tail']}", text)


def _mask(value: Any) -> Any:
    if type(value) is str:  # not lazy objects that only pretend to be str
        return mask_url_passwords(value)
    if isinstance(value, dict):
        return {k: _mask(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_mask(v) for v in value)
    return value


class SecretMaskingReporterFilter(SafeExceptionReporterFilter):
    hidden_settings = re.compile(
        r"API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|DSN|CREDENTIAL|_URL$|BROKER|BACKEND_URL", flags=re.I
    )

    def cleanse_setting(self, key, value):
        return _mask(super().cleanse_setting(key, value))

    def get_safe_request_meta(self, request):
        return {k: _mask(v) for k, v in super().get_safe_request_meta(request).items()}

    def get_traceback_frame_variables(self, request, tb_frame):
        return [(name, _mask(value)) for name, value in super().get_traceback_frame_variables(request, tb_frame)]


class SecretMaskingExceptionReporter(ExceptionReporter):
    """The error page and mail: an exception's own message may quote a URL with its password."""

    def get_traceback_data(self):
        data = super().get_traceback_data()
        for key in ("exception_value", "unicode_hint"):
            if isinstance(data.get(key), str):
                data[key] = mask_url_passwords(data[key])
        for frame in data.get("frames", []):
            if isinstance(frame.get("exc_cause"), BaseException):
                frame["exc_cause"] = mask_url_passwords(str(frame["exc_cause"]))
        return data


class MaskSecretsLogFilter(logging.Filter):
    """Rewrites a record's message with URL passwords masked (before any handler formats it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is logged as it is
            return True
        masked = mask_url_passwords(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            # formatters reuse exc_text: the traceback (and its exception message) masked once here
            record.exc_text = mask_url_passwords(logging.Formatter().formatException(record.exc_info))
        return True
