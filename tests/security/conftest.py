import pytest


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """DRF throttles count in the cache: each test starts with none spent."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
