"""The demo community: 62 homes on 3 feeders under one substation, a school and
a community centre, with logins for every role. Idempotent: running it again
finds what is there and creates nothing twice."""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction

from community.models import Community, Membership, NetworkNode, Role, Site

DEMO_SLUG = "bramley-green"
DEMO_PASSWORD = "energy-demo"  # printed by `make run`; demo only

FIRST = [
    "Amira",
    "Ben",
    "Chloe",
    "Dev",
    "Ellie",
    "Femi",
    "Grace",
    "Hassan",
    "Isla",
    "Jack",
    "Kiran",
    "Lena",
    "Mo",
    "Nia",
    "Owen",
    "Priya",
    "Quinn",
    "Rosa",
    "Sam",
    "Tariq",
    "Uma",
    "Vic",
    "Will",
    "Yasmin",
    "Zoe",
]
LAST = [
    "Ahmed",
    "Baker",
    "Clarke",
    "Davies",
    "Evans",
    "Fisher",
    "Green",
    "Hughes",
    "Iqbal",
    "Jones",
    "Khan",
    "Lewis",
    "Morgan",
    "Nowak",
    "Owusu",
    "Patel",
    "Roberts",
    "Singh",
    "Taylor",
    "Walker",
    "Wright",
    "Young",
]
STREETS = [("Orchard Road", "B30 2"), ("Mill Lane", "B30 3"), ("Station Street", "B30 1")]


@dataclass(frozen=True)
class DemoLogin:
    username: str
    name: str
    roles: tuple[str, ...]


STAFF = [
    DemoLogin("convenor", "Carys Morgan", (Role.CONVENOR, Role.MEMBER)),
    DemoLogin("treasurer", "Tom Okafor", (Role.TREASURER, Role.MEMBER)),
    DemoLogin("operator", "Olivia Chen", (Role.MARKET_OPERATOR, Role.ASSET_OPERATOR)),
    DemoLogin("reviewer", "Rhys Evans", (Role.REVIEWER,)),
    DemoLogin("funder", "Fiona Grant", (Role.FUNDER,)),
    DemoLogin("supplier", "Sol Supply Ltd", (Role.SUPPLIER,)),
    DemoLogin("flexbuyer", "Dana Flex", (Role.FLEX_BUYER,)),
    DemoLogin("dso", "Nadia Grid", (Role.NETWORK_OPERATOR,)),
    DemoLogin("auditor", "Aisha Bello", (Role.AUDITOR,)),
]
HOMES = 60
CENTRE = (52.4310, -1.9290)  # a south Birmingham neighbourhood


@functools.cache
def _demo_password_hash() -> str:
    # One hash for every demo login: a real password hash costs ~0.3 s by design, and the
    # demo creates ~70 people (every login still has a proper salted PBKDF2 hash).
    return make_password(DEMO_PASSWORD)


def _user(username: str, full_name: str, email: str | None = None):
    User = get_user_model()
    first, _, last = full_name.partition(" ")
    user, _ = User.objects.get_or_create(
        username=username,
        defaults={
            "first_name": first,
            "last_name": last,
            "email": email or f"{username}@example.org",
            "password": _demo_password_hash(),
        },
    )
    return user


@transaction.atomic
def seed_community() -> Community:
    community, _ = Community.objects.get_or_create(
        slug=DEMO_SLUG,
        defaults={
            "name": "Bramley Green Energy",
            "description": "Sixty-two homes, a primary school and a community centre sharing their sun, "
            "batteries and a local market.",
            "timezone": "Europe/London",
            "settlement_period_minutes": 30,
        },
    )
    gsp, _ = NetworkNode.objects.get_or_create(
        community=community,
        code="GSP-KITW",
        defaults={"kind": "gsp", "name": "Kitwell GSP", "import_capacity_kw": 60000, "export_capacity_kw": 30000},
    )
    primary, _ = NetworkNode.objects.get_or_create(
        community=community,
        code="PRI-BRG",
        defaults={
            "kind": "primary",
            "name": "Bramley Green primary",
            "parent": gsp,
            "import_capacity_kw": 1500,
            "export_capacity_kw": 800,
        },
    )
    feeders = []
    for i, (street, _) in enumerate(STREETS, start=1):
        node, _ = NetworkNode.objects.get_or_create(
            community=community,
            code=f"SS-BRG-{i:02d}",
            defaults={
                "kind": "feeder",
                "name": f"{street} substation",
                "parent": primary,
                "import_capacity_kw": [250, 200, 315][i - 1],
                "export_capacity_kw": [120, 90, 150][i - 1],
            },
        )
        feeders.append(node)

    for login in STAFF:
        user = _user(login.username, login.name)
        for role in login.roles:
            Membership.objects.get_or_create(community=community, user=user, role=role)

    rng = random.Random(2026)
    for n in range(1, HOMES + 1):
        feeder_index = (n - 1) % 3
        street, postcode_head = STREETS[feeder_index]
        number = (n - 1) // 3 * 2 + 1 + feeder_index % 2
        full_name = f"{FIRST[(n * 7) % len(FIRST)]} {LAST[(n * 5) % len(LAST)]}"
        user = _user(f"household{n}", full_name)
        Membership.objects.get_or_create(community=community, user=user, role=Role.MEMBER)
        lat = CENTRE[0] + (feeder_index - 1) * 0.0035 + rng.uniform(-0.0012, 0.0012)
        lon = CENTRE[1] + ((n - 1) // 3 - 10) * 0.00045 + rng.uniform(-0.0002, 0.0002)
        site, created = Site.objects.get_or_create(
            community=community,
            meter_point_id=f"1012{n:09d}",
            defaults={
                "kind": Site.Kind.HOME,
                "name": f"{number} {street}",
                "address": f"{number} {street}, Bramley Green, Birmingham",
                "postcode": f"{postcode_head}{'ABDEFGHJLNPQRSTUWXYZ'[n % 20]}{'ABDEFGHJLNPQRSTUWXYZ'[(n * 3) % 20]}",
                "latitude": round(lat, 6),
                "longitude": round(lon, 6),
                "network_node": feeders[feeder_index],
                "annual_consumption_kwh": int(rng.gauss(2700, 600)),
            },
        )
        if created:
            site.occupants.add(user)

    admin = _user("admin", "Platform Admin")
    if not admin.is_superuser:
        admin.is_staff = admin.is_superuser = True
        admin.save(update_fields=["is_staff", "is_superuser"])
    convenor = get_user_model().objects.get(username="convenor")
    school, created = Site.objects.get_or_create(
        community=community,
        meter_point_id="1012900000001",
        defaults={
            "kind": Site.Kind.SCHOOL,
            "name": "Bramley Green Primary School",
            "address": "School Lane, Bramley Green, Birmingham",
            "postcode": "B30 2SL",
            "latitude": CENTRE[0] + 0.0008,
            "longitude": CENTRE[1] - 0.0062,
            "network_node": feeders[0],
            "annual_consumption_kwh": 48000,
        },
    )
    centre, created = Site.objects.get_or_create(
        community=community,
        meter_point_id="1012900000002",
        defaults={
            "kind": Site.Kind.COMMUNITY_BUILDING,
            "name": "Bramley Green Community Centre",
            "address": "1 Green Walk, Bramley Green, Birmingham",
            "postcode": "B30 3GW",
            "latitude": CENTRE[0] - 0.0005,
            "longitude": CENTRE[1] + 0.0058,
            "network_node": feeders[1],
            "annual_consumption_kwh": 22000,
        },
    )
    if created:
        centre.occupants.add(convenor)
    # The convenor and the treasurer are households too, each in a home of their own on
    # Green Walk by the community centre (not sharing a household's home and account).
    for n, username, number in ((61, "convenor", 3), (62, "treasurer", 5)):
        home, created = Site.objects.get_or_create(
            community=community,
            meter_point_id=f"1012{n:09d}",
            defaults={
                "kind": Site.Kind.HOME,
                "name": f"{number} Green Walk",
                "address": f"{number} Green Walk, Bramley Green, Birmingham",
                "postcode": f"B30 3G{'WXY'[n % 3]}",
                "latitude": round(CENTRE[0] - 0.0007 - 0.0002 * (n - 61), 6),
                "longitude": round(CENTRE[1] + 0.0052, 6),
                "network_node": feeders[1],
                "annual_consumption_kwh": 3100 if username == "convenor" else 2400,
            },
        )
        if created:
            home.occupants.add(get_user_model().objects.get(username=username))
    if not community.public_page and not community.public_sections:
        community.public_page = True
        community.public_sections = ["about", "plan", "shares", "market", "projects", "join"]
        community.join_text = (
            "Anyone living or working in Bramley Green can join. Come to the open meeting at the community "
            "centre on the first Tuesday of the month, or ask the convenor, Carys Morgan, for an invitation."
        )
        community.save(update_fields=["public_page", "public_sections", "join_text"])
    return community


DEMO_LOGINS = [(s.username, ", ".join(Role(r).label for r in s.roles)) for s in STAFF] + [
    ("household1 … household60", "Member / household"),
    ("admin", "Platform administrator (Django admin at /admin/)"),
]
