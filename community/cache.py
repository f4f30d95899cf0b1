"""A short-lived cache for page figures that are slow to compute and slow to change (issue 15).

The community energy panel sums a week of half-hourly readings of every meter, and a
market's recent prices and local share change once a settlement period: pages that
show them keep the result for ``PAGE_TTL_S`` seconds, keyed by community and by the
period it describes, so a new period (or a new day) is a new key and never waits for
the TTL. Numbers may therefore be up to a minute old; nothing that a person acts on
(an order form, a balance, a consent) is cached here.

The cache is Django's default cache: locmem in one process, Redis when ``CACHE_URL``
points at one (shared by every web process).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from django.core.cache import cache
from django.utils import timezone

T = TypeVar("T")
log = logging.getLogger(__name__)

PAGE_TTL_S = 60
_PREFIX = "cem:page:v1"


def current_period_start(period_minutes: int, *, now: datetime | None = None) -> datetime:
    """The start (UTC) of the settlement period ``now`` falls in."""
    now = (now or timezone.now()).astimezone(UTC)
    minute = now.minute - now.minute % period_minutes
    return now.replace(minute=minute, second=0, microsecond=0)


def page_key(kind: str, community_id: int, *parts: object) -> str:
    """``cem:page:v1:<kind>:<community>:<parts...>``; parts are str()-ed (dates, ids, periods)."""
    tail = ":".join(p.isoformat() if isinstance(p, datetime) else str(p) for p in parts)
    return f"{_PREFIX}:{kind}:{community_id}:{tail}"


def cached(key: str, build: Callable[[], T], *, ttl: int | timedelta = PAGE_TTL_S) -> T:
    """The value stored under ``key``, or ``build()`` stored for ``ttl`` seconds.

    Two requests that miss at once both build (the result is the same); a cache that is
    down is a miss, never an error page."""
    seconds = int(ttl.total_seconds()) if isinstance(ttl, timedelta) else int(ttl)
    try:
        hit = cache.get(key)
    except Exception:  # a Redis that is down must not take the page with it
        log.warning("cache unavailable: computing %s", key, exc_info=True)
        hit = None
    if hit is not None:
        return hit
    value = build()
    try:
        cache.set(key, value, seconds)
    except Exception:
        log.warning("cache unavailable: %s not stored", key, exc_info=True)
    return value
