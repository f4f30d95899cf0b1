"""§3: only platform administrators (or holders of the creation code) start
communities, and nobody is made a member by someone else's user id: people join
by accepting an invitation."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from community.models import Community, Invitation, Membership


def _api(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def test_a_logged_in_person_cannot_start_communities_through_the_api(world):
    before = Community.objects.count()
    response = _api(world.users["member"]).post(
        reverse("community-api:community-list"), {"name": "Mine"}, format="json"
    )
    assert response.status_code == 403
    assert "administrators" in response.json()["detail"]
    assert Community.objects.count() == before


def test_a_logged_in_person_cannot_start_communities_from_the_home_page(client_as, world):
    before = Community.objects.count()
    page = client_as("outsider").get(reverse("home") + "?all=1").content.decode()
    assert "Start a community" not in page
    response = client_as("outsider").post(reverse("home"), {"name": "Mine", "settlement_period_minutes": 30})
    assert response.status_code == 403
    assert Community.objects.count() == before


def test_an_administrator_starts_a_community_and_becomes_its_convenor(world, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.org", "pw-root-123456")
    response = _api(admin).post(reverse("community-api:community-list"), {"name": "Hill Top"}, format="json")
    assert response.status_code == 201
    assert Membership.objects.filter(community__slug="hill-top", user=admin, role="convenor").exists()


@override_settings(COMMUNITY_CREATION_CODE="pilot-2026-orchard")
def test_the_creation_code_lets_its_holder_start_one_and_a_wrong_code_does_not(client_as, world):
    client = client_as("outsider")
    wrong = client.post(reverse("home"), {"name": "Orchard", "settlement_period_minutes": 30, "creation_code": "guess"})
    assert wrong.status_code == 400
    assert "creation code" in wrong.content.decode()
    assert not Community.objects.filter(name="Orchard").exists()
    right = client.post(
        reverse("home"), {"name": "Orchard", "settlement_period_minutes": 30, "creation_code": "pilot-2026-orchard"}
    )
    assert right.status_code == 302
    assert Membership.objects.filter(community__name="Orchard", user=world.users["outsider"], role="convenor").exists()


def test_a_convenor_cannot_add_someone_by_user_id(world):
    outsider = world.users["outsider"]
    response = _api(world.users["convenor"]).post(
        reverse("community-api:membership-list", kwargs={"slug": world.community.slug}),
        {"user": outsider.pk, "role": "member"},
        format="json",
    )
    assert response.status_code == 400
    assert not Membership.objects.filter(community=world.community, user=outsider).exists()
    assert "Outsider" not in response.content.decode()  # the person's name does not leak


def test_an_invitation_makes_a_member_only_once_accepted(world):
    outsider = world.users["outsider"]
    response = _api(world.users["convenor"]).post(
        reverse("community-api:membership-list", kwargs={"slug": world.community.slug}),
        {"email": outsider.email, "role": "member"},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "email", "role", "created_at", "expires_at", "accept_url"}
    assert not Membership.objects.filter(community=world.community, user=outsider).exists()
    invitation = Invitation.objects.get(pk=body["id"])
    browser = Client()
    browser.force_login(outsider)
    assert browser.post(reverse("invitation_accept", args=[invitation.token])).status_code == 302
    assert Membership.objects.filter(community=world.community, user=outsider, role="member").exists()


@pytest.mark.parametrize("field", ["user", "user_id", "users"])
def test_no_api_schema_operation_takes_a_raw_user_id(client, field):
    schema = client.get(reverse("schema"), {"format": "json"}).json()
    for name, component in schema["components"]["schemas"].items():
        if name.endswith("Request"):
            assert field not in component.get("properties", {}), f"{name} takes '{field}'"
