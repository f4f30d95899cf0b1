"""Fixtures every app's tests share: one small community with a user per role.

``world`` builds it; ``client_as(role)`` gives a logged-in test client. Roles
are the values of community.models.Role plus "anonymous" and "outsider" (a
logged-in person who belongs to another community).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from decimal import Decimal

import pytest

ROLES = [
    "member",
    "convenor",
    "treasurer",
    "market_operator",
    "asset_operator",
    "reviewer",
    "funder",
    "supplier",
    "flex_buyer",
    "network_operator",
    "auditor",
]
VISITORS = ["anonymous", "outsider"]
EVERYONE = VISITORS + ROLES
PASSWORD = "pw-for-tests-9"


def pytest_configure(config):
    from django.conf import settings

    # Real hashing costs ~0.2 s a user; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Pages render {% static %} without a collectstatic manifest.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True  # files straight from the app folders, as they are now


@dataclass
class World:
    community: object
    other_community: object
    gsp: object
    primary: object
    feeder: object
    feeder2: object
    site: object  # the "member" household's home
    neighbour_site: object  # another household's home
    school: object
    users: dict[str, object]
    neighbour: object
    extra: dict = field(default_factory=dict)  # apps put their own objects here in route setups


def make_world() -> World:
    from django.contrib.auth import get_user_model

    from community import services
    from community.models import Membership

    User = get_user_model()

    def user(username: str, first: str, last: str):
        return User.objects.create_user(
            username=username, password=PASSWORD, first_name=first, last_name=last, email=f"{username}@example.org"
        )

    community = services.community_create(name="Test Green", slug="test-green")
    other = services.community_create(name="Elsewhere", slug="elsewhere")
    gsp = services.network_node_create(
        community=community, kind="gsp", name="GSP", code="GSP1", import_capacity_kw=10000, export_capacity_kw=5000
    )
    primary = services.network_node_create(
        community=community,
        kind="primary",
        name="Primary",
        code="P1",
        parent=gsp,
        import_capacity_kw=1000,
        export_capacity_kw=500,
    )
    feeder = services.network_node_create(
        community=community,
        kind="feeder",
        name="Feeder A",
        code="F1",
        parent=primary,
        import_capacity_kw=Decimal(200),
        export_capacity_kw=100,
    )
    feeder2 = services.network_node_create(
        community=community,
        kind="feeder",
        name="Feeder B",
        code="F2",
        parent=primary,
        import_capacity_kw=150,
        export_capacity_kw=80,
    )
    users = {}
    for role in ROLES:
        users[role] = user(role, role.replace("_", " ").title(), "Tester")
        Membership.objects.create(community=community, user=users[role], role=role)
    users["outsider"] = user("outsider", "Olly", "Outsider")
    Membership.objects.create(community=other, user=users["outsider"], role="member")
    users["anonymous"] = None
    neighbour = user("neighbour", "Nell", "Neighbour")
    Membership.objects.create(community=community, user=neighbour, role="member")
    site = services.site_create(
        community=community,
        name="1 Test Street",
        address="1 Test Street, Testville",
        postcode="TE1 1ST",
        latitude="52.1",
        longitude="-1.9",
        network_node=feeder,
        meter_point_id="1000000000001",
        occupants=[users["member"]],
    )
    neighbour_site = services.site_create(
        community=community,
        name="3 Test Street",
        address="3 Test Street",
        postcode="TE1 1SU",
        latitude="52.1001",
        longitude="-1.9001",
        network_node=feeder2,
        meter_point_id="1000000000003",
        occupants=[neighbour],
    )
    school = services.site_create(
        community=community,
        kind="school",
        name="Test School",
        address="School Lane",
        postcode="TE1 2SC",
        latitude="52.102",
        longitude="-1.902",
        network_node=feeder,
        meter_point_id="1000000000009",
    )
    return World(community, other, gsp, primary, feeder, feeder2, site, neighbour_site, school, users, neighbour)


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache: pages keep slow figures for a minute (community.cache)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def world(db) -> World:
    return make_world()


@pytest.fixture
def client_as(client, world):
    """client_as("convenor") → a test client logged in as that role (None role → anonymous)."""

    def login(role: str):
        from django.test import Client

        c = Client()
        u = world.users.get(role)
        if u is not None:
            c.force_login(u)
        return c

    return login


# --- real services ----------------------------------------------------------------


def _needs(var: str, what: str):
    return pytest.mark.skipif(not os.environ.get(var), reason=f"{what} tests run when {var} is set (.ci/run sets it)")


needs_postgres = _needs("DATABASE_URL", "PostgreSQL")
needs_broker = _needs("CELERY_BROKER_URL", "Celery broker (Redis)")
needs_mqtt = _needs("MQTT_URL", "MQTT broker")


# --- browser ------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip("browser tests need Debian's chromium (apt-get install chromium); .ci/run installs it")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django's ORM
    # calls from the test body are still synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server.url)
    p = context.new_page()
    p.set_default_timeout(15000)
    yield p
    context.close()


@pytest.fixture
def login_page(page):
    """login_page(username) → the Playwright page, logged in through the real login form."""

    def login(username: str, password: str = PASSWORD):
        page.goto("/accounts/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        return page

    return login
