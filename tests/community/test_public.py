"""A community's public page (issue 15): off until chosen, only the chosen sections, no personal data."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from community.errors import DomainError
from community.services.public import community_public_page_set

pytestmark = pytest.mark.django_db


def _url(world) -> str:
    return reverse("community_public", kwargs={"slug": world.community.slug})


def test_it_is_not_there_until_the_community_turns_it_on(world):
    assert Client().get(_url(world)).status_code == 404


def test_it_shows_only_the_sections_the_community_chose(world):
    world.community.description = "Neighbours sharing their sun."
    world.community.save()
    community_public_page_set(
        community=world.community,
        actor=world.users["convenor"],
        enabled=True,
        sections=["about", "join"],
        join_text="Come to the open meeting on Tuesdays.",
    )
    body = Client().get(_url(world)).content.decode()
    assert "Neighbours sharing their sun." in body
    assert "Come to the open meeting on Tuesdays." in body
    assert 'id="market"' not in body and 'id="plan"' not in body and 'id="shares"' not in body


def test_it_never_names_a_member(world):
    community_public_page_set(
        community=world.community,
        actor=world.users["convenor"],
        enabled=True,
        sections=["about", "plan", "shares", "market", "projects", "join"],
    )
    body = Client().get(_url(world)).content.decode()
    for user in (world.users["member"], world.neighbour, world.users["treasurer"]):
        assert user.get_full_name() not in body
    assert "1 Test Street" not in body  # nor a home's address


def test_a_bad_choice_is_refused_and_changes_nothing(world):
    with pytest.raises(DomainError, match="Unknown section"):
        community_public_page_set(
            community=world.community, actor=world.users["convenor"], enabled=True, sections=["about", "bank"]
        )
    with pytest.raises(DomainError, match="at least one section"):
        community_public_page_set(community=world.community, actor=world.users["convenor"], enabled=True, sections=[])
    world.community.refresh_from_db()
    assert world.community.public_page is False and world.community.public_sections == []


def test_the_convenor_turns_it_on_from_the_settings_page(world, client_as):
    c = client_as("convenor")
    url = reverse("community:public_settings", kwargs={"slug": world.community.slug})
    r = c.post(url, {"public_page": "on", "public_sections": ["about", "market"], "join_text": "Ask Jo."})
    assert r.status_code == 302
    world.community.refresh_from_db()
    assert world.community.public_page and world.community.public_sections == ["about", "market"]
    assert Client().get(_url(world)).status_code == 200
