"""Query parameters read strictly, in one place for every app's views and API.

Bad input is a ``DomainError`` naming the parameter (the API answers 400, pages
show the message), never a 500 deep in the database: integers are ASCII digits
within bounds (``?site=%C2%B2`` is not a site id although ``"²".isdigit()``),
times are ISO-8601 with a UTC offset no further than the real world's ±14:00,
in years the platform can hold.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from community.errors import DomainError

# Real time zones run from UTC-12:00 to UTC+14:00; PostgreSQL refuses offsets past ±15:59.
MAX_UTC_OFFSET = timedelta(hours=14)
MIN_YEAR, MAX_YEAR = 1970, 2200
# PostgreSQL's bigint; every id and count the platform stores fits below it.
MAX_INT = 2**63 - 1
_INT = re.compile(r"-?[0-9]{1,19}\Z", re.ASCII)


def parse_int(raw: Any, name: str, *, minimum: int = 0, maximum: int = MAX_INT) -> int:
    text = str(raw).strip()
    if not _INT.match(text):
        raise DomainError(f"{name} must be a whole number, got '{text[:40]}'.", field=name, code="invalid_number")
    value = int(text)
    if not minimum <= value <= maximum:
        raise DomainError(
            f"{name} must be between {minimum} and {maximum}, got {text}.", field=name, code="out_of_range"
        )
    return value


def parse_time(raw: Any, name: str) -> datetime:
    """An aware datetime in UTC from ISO-8601 text with an offset (``Z`` or ``±HH:MM``)."""
    text = str(raw).strip()
    example = "e.g. 2026-01-01T00:00:00Z"
    try:
        ts = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        raise DomainError(f"{name} must be an ISO-8601 time, {example}.", field=name, code="invalid_time") from None
    if ts.tzinfo is None:
        raise DomainError(f"{name} needs a UTC offset, {example}.", field=name, code="invalid_time")
    offset = ts.utcoffset()
    if offset is None or abs(offset) > MAX_UTC_OFFSET:
        raise DomainError(
            f"{name} has a UTC offset beyond ±14:00 ({text[-6:]}); no place on Earth uses it.",
            field=name,
            code="invalid_time",
        )
    if not MIN_YEAR <= ts.year <= MAX_YEAR:
        raise DomainError(f"{name} must be between {MIN_YEAR} and {MAX_YEAR}.", field=name, code="invalid_time")
    return ts.astimezone(UTC)


def query_int(
    params: Any, name: str, default: int | None = None, *, minimum: int = 0, maximum: int = MAX_INT
) -> int | None:
    """``params`` is ``request.GET`` or ``request.query_params``; missing or blank → ``default``."""
    raw = params.get(name)
    if raw is None or str(raw).strip() == "":
        return default
    return parse_int(raw, name, minimum=minimum, maximum=maximum)


def query_time(params: Any, name: str, default: datetime | None = None) -> datetime | None:
    raw = params.get(name)
    if raw is None or str(raw).strip() == "":
        return default
    return parse_time(raw, name)
