"""Who may use each Collective purchasing page and endpoint (walked by tests/test_permission_matrix.py)."""

from __future__ import annotations

from tests.routes import Route  # noqa: F401

ROUTES: list = []
