"""§7: a member downloads everything held about them (page, JSON, CSV, API) and
sees their consents; an administrator erases a person: personal fields
pseudonymised, access and device credentials revoked, money history intact."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from community import gdpr, selectors, services
from community.errors import DomainError
from community.models import AuditEvent, ConsentRecord, JournalEntry, LedgerAccount, Membership
from conftest import PASSWORD
from tests.assets.factories import device

CONSENT_TEXT = "I agree that the platform may turn my battery down for up to 2 hours (v3)."


@pytest.fixture
def household(world):
    member = world.users["member"]
    ConsentRecord.objects.create(
        community=world.community,
        user=member,
        purpose=ConsentRecord.Purpose.VPP,
        scope=f"site:{world.site.pk}",
        text=CONSENT_TEXT,
        text_version="3",
        granted_at=timezone.now() - timedelta(days=30),
    )
    battery = device(world.site, "battery", meter="site")
    wallet = services.ledger_account(
        community=world.community,
        code=f"lem:member:{member.pk}",
        name="Member Tester wallet",
        kind="liability",
        user=member,
    )
    bank = services.ledger_account(community=world.community, code="bank", name="Bank", kind="asset")
    services.ledger_post(
        community=world.community,
        lines=[(bank, Decimal("12.34")), (wallet, Decimal("-12.34"))],
        memo="Top-up",
        source="test",
        idempotency_key="gdpr-topup-1",
    )
    Token.objects.get_or_create(user=member)
    return member, battery, wallet


def test_the_export_holds_the_person_their_home_devices_consents_and_no_secrets(world, household):
    member, battery, _ = household
    export = gdpr.personal_data_export(user=member)
    assert export["person"]["email"] == "member@example.org"
    tables = export["tables"]
    assert [s["name"] for s in tables["community.site"]] == ["1 Test Street"]  # not the neighbour's
    assert {m["role"] for m in tables["community.membership"]} == {"member"}
    assert tables["community.consentrecord"][0]["text"] == CONSENT_TEXT
    assert [d["uid"] for d in tables["assets.device"]] == [battery.uid]
    assert "assets.meter" in tables
    flat = repr(export)
    assert member.password not in flat
    assert battery.mqtt_password_hash not in flat
    assert Token.objects.get(user=member).key not in flat


def test_the_page_shows_consents_and_offers_both_downloads(world, household, client_as):
    page = client_as("member").get(reverse("my_data"))
    assert page.status_code == 200
    html = page.content.decode()
    assert CONSENT_TEXT in html and "in force" in html
    json_dl = client_as("member").get(reverse("my_data_download", args=["json"]))
    assert json_dl.status_code == 200 and "attachment" in json_dl["Content-Disposition"]
    assert json_dl.json()["person"]["username"] == "member"
    csv_dl = client_as("member").get(reverse("my_data_download", args=["csv"]))
    rows = list(csv.reader(io.StringIO(csv_dl.content.decode())))
    assert rows[0] == ["table", "row", "field", "value"]
    assert ["person", "1", "email", "member@example.org"] in rows
    assert any(r[0] == "community.consentrecord" and r[3] == CONSENT_TEXT for r in rows)


def test_the_api_returns_my_data_as_json_and_csv(world, household):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get(user=household[0]).key}")
    response = client.get(reverse("community-api:my-data"))
    assert response.status_code == 200
    assert response.json()["person"]["username"] == "member"
    as_csv = client.get(reverse("community-api:my-data"), {"as": "csv"})
    assert as_csv.status_code == 200 and as_csv["Content-Type"].startswith("text/csv")
    assert client.get(reverse("community-api:my-data"), {"as": "xml"}).status_code == 400
    assert APIClient().get(reverse("community-api:my-data")).status_code == 401


def test_an_administrator_erases_a_person_and_the_ledger_still_verifies(world, household, django_user_model):
    member, battery, wallet = household
    admin = django_user_model.objects.create_superuser("root", "root@example.org", "pw-root-123456")
    entries_before = list(JournalEntry.objects.filter(community=world.community).values_list("seq", "hash"))
    balance_before = selectors.account_balances(world.community)[wallet.code]
    old_hash = battery.mqtt_password_hash

    pseudonym = gdpr.person_erase(user=member, actor=admin, reason="their request of 30 Nov 2026")

    member.refresh_from_db()
    assert member.username == pseudonym and member.username.startswith("erased-")
    assert (member.first_name, member.last_name, member.email) == ("", "", "")
    assert not member.is_active and not member.has_usable_password()
    assert not Client().login(username="member", password=PASSWORD)
    assert not Token.objects.filter(user=member).exists()
    assert not Membership.objects.filter(user=member).exists()
    assert not world.site.occupants.filter(pk=member.pk).exists()
    assert ConsentRecord.objects.get(user=member).withdrawn_at is not None  # kept: proof of what was agreed
    battery.refresh_from_db()
    assert battery.mqtt_password_hash != old_hash  # the device's old credentials no longer work
    # money history intact
    assert list(JournalEntry.objects.filter(community=world.community).values_list("seq", "hash")) == entries_before
    assert selectors.account_balances(world.community)[wallet.code] == balance_before
    assert selectors.ledger_verify(world.community).ok
    call_command("verify_ledger")
    assert LedgerAccount.objects.get(pk=wallet.pk).name == pseudonym
    assert not AuditEvent.objects.filter(summary__contains="Member Tester").exists()
    assert AuditEvent.objects.filter(action="person.erase", actor=admin).exists()
    # idempotent
    assert gdpr.person_erase(user=member, actor=admin, reason="again") == pseudonym


def test_only_an_administrator_erases_and_says_why(world, household, django_user_model):
    member = household[0]
    with pytest.raises(PermissionDenied):
        gdpr.person_erase(user=member, actor=world.users["convenor"], reason="because")
    admin = django_user_model.objects.create_superuser("root", "root@example.org", "pw-root-123456")
    with pytest.raises(DomainError, match="why"):
        gdpr.person_erase(user=member, actor=admin, reason=" ")
    member.refresh_from_db()
    assert member.username == "member" and member.is_active


def test_the_erase_command(world, household, django_user_model):
    django_user_model.objects.create_superuser("root", "root@example.org", "pw-root-123456")
    out = io.StringIO()
    call_command("erase_person", "member", by="root", reason="request 2026-11-30", stdout=out)
    assert "now erased-" in out.getvalue()


def test_the_admin_erase_button_names_who_asks_why_and_then_erases(world, household, django_user_model):
    member = household[0]
    django_user_model.objects.create_superuser("root", "root@example.org", "pw-root-123456")
    client = Client()
    client.force_login(django_user_model.objects.get(username="root"))
    url = reverse("admin:auth_user_changelist")
    chosen = {"action": "erase_people", "_selected_action": [member.pk]}

    page = client.post(url, chosen)
    assert page.status_code == 200
    assert "cannot be undone" in page.content.decode() and "member" in page.content.decode()
    member.refresh_from_db()
    assert member.is_active  # nothing yet

    no_reason = client.post(url, {**chosen, "confirm": "yes", "reason": "  "})
    assert no_reason.status_code == 200 and "This field is required" in no_reason.content.decode()
    member.refresh_from_db()
    assert member.is_active and member.username == "member"

    done = client.post(url, {**chosen, "confirm": "yes", "reason": "their letter of 30 Nov 2026"}, follow=True)
    member.refresh_from_db()
    assert member.username.startswith("erased-") and not member.is_active
    assert f"now {member.username}" in done.content.decode()
    assert AuditEvent.objects.filter(action="person.erase").exists()


def test_staff_who_are_not_administrators_have_no_erase_button(world, household, django_user_model):
    staff = django_user_model.objects.create_user("clerk", password="pw-clerk-123456", is_staff=True)
    from django.contrib.auth.models import Permission

    staff.user_permissions.add(*Permission.objects.filter(codename__in=["view_user", "change_user"]))
    client = Client()
    client.force_login(staff)
    page = client.get(reverse("admin:auth_user_changelist"))
    assert page.status_code == 200 and "erase_people" not in page.content.decode()
    refused = client.post(
        reverse("admin:auth_user_changelist"),
        {"action": "erase_people", "_selected_action": [household[0].pk], "confirm": "yes", "reason": "x"},
    )
    household[0].refresh_from_db()
    assert household[0].is_active and refused.status_code in (200, 302)
