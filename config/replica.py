"""An optional read replica for reports and charts (issue 16).

When ``DATABASE_REPLICA_URL`` is set, settings add a ``replica`` database
and this router. Reads go to the replica only inside ``replica_reads()`` (a
context manager and view decorator that report and chart code opts into);
everything else -- every write, and every read inside a transaction on the
primary, which is where money moves -- uses ``default``. A replica lags by
a moment, which a chart can afford and a ledger cannot.

    from config.replica import replica_reads

    @replica_reads
    def community_report(request, slug): ...
"""

from __future__ import annotations

import functools
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import connections

REPLICA = "replica"
_use_replica: ContextVar[bool] = ContextVar("cem_replica_reads", default=False)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


class _ReplicaReads:
    """``with replica_reads():`` or ``@replica_reads`` on a view or function."""

    def __call__(self, fn=None):
        if fn is None:
            return self._cm()

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self._cm():
                return fn(*args, **kwargs)

        return wrapper

    @staticmethod
    @contextmanager
    def _cm():
        token = _use_replica.set(True)
        try:
            yield
        finally:
            _use_replica.reset(token)


replica_reads = _ReplicaReads()


class ReplicaRouter:
    """Reads inside ``replica_reads`` go to the replica; nothing else does."""

    def db_for_read(self, model, **hints):
        if not _use_replica.get() or not replica_configured():
            return "default"
        if connections["default"].in_atomic_block:
            return "default"  # a transaction on the primary (a money path) reads its own writes
        return REPLICA

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the same data, one of them a copy

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"
