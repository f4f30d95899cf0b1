"""§5: the log-in page, the admin's log-in and the token endpoint are locked per
account and per address after repeated failures, with a message; password change
and reset pages work end to end."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from conftest import PASSWORD

LIMIT = settings.AXES_FAILURE_LIMIT


def _login(client: Client, username: str, password: str, ip: str = "203.0.113.5", url: str = "login"):
    return client.post(
        reverse(url) if url == "login" else url, {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def test_an_account_is_locked_after_repeated_wrong_passwords_even_from_new_addresses(world):
    client = Client()
    for i in range(LIMIT - 1):
        assert _login(client, "member", "wrong", ip=f"198.51.100.{i}").status_code == 200
    assert _login(client, "member", "wrong", ip="198.51.100.77").status_code == 429  # the LIMIT-th failure
    response = _login(client, "member", PASSWORD, ip="198.51.100.99")
    assert response.status_code == 429
    assert "Too many failed log-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_an_address_is_locked_after_guessing_many_accounts(world):
    client = Client()
    for name in ["convenor", "treasurer", "auditor", "reviewer", "funder", "supplier"][:LIMIT]:
        _login(client, name, "wrong", ip="192.0.2.7")
    response = _login(client, "member", PASSWORD, ip="192.0.2.7")
    assert response.status_code == 429
    # another address is not affected
    assert _login(Client(), "member", PASSWORD, ip="192.0.2.8").status_code == 302


def test_a_correct_password_before_the_limit_logs_in_and_resets_the_count(world):
    client = Client()
    for _ in range(LIMIT - 1):
        _login(client, "member", "wrong")
    assert _login(client, "member", PASSWORD).status_code == 302


def test_the_admin_login_is_locked_too(world, django_user_model):
    django_user_model.objects.create_superuser("root", "root@example.org", "pw-root-123456")
    client = Client()
    for _ in range(LIMIT):
        client.post("/admin/login/", {"username": "root", "password": "nope"}, REMOTE_ADDR="203.0.113.50")
    response = client.post(
        "/admin/login/", {"username": "root", "password": "pw-root-123456"}, REMOTE_ADDR="203.0.113.50"
    )
    assert response.status_code == 429


def test_the_token_endpoint_is_locked_with_a_json_message(world):
    client = APIClient()
    url = reverse("api-token")
    for _ in range(LIMIT - 1):
        assert (
            client.post(url, {"username": "treasurer", "password": "wrong"}, REMOTE_ADDR="203.0.113.9").status_code
            == 400
        )
    client.post(url, {"username": "treasurer", "password": "wrong"}, REMOTE_ADDR="203.0.113.9")
    response = client.post(url, {"username": "treasurer", "password": PASSWORD}, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 429
    assert "Too many failed log-in attempts" in response.json()["detail"]
    assert "token" not in response.json()


def test_the_token_endpoint_is_rate_limited_per_account(world, settings):
    client = APIClient()
    url = reverse("api-token")
    codes = [
        client.post(url, {"username": "auditor", "password": PASSWORD}, REMOTE_ADDR=f"203.0.113.{i}").status_code
        for i in range(12)
    ]
    assert codes[0] == 200
    assert 429 in codes  # 10 a minute by default, per account whatever the address


def test_a_member_changes_their_password(world):
    client = Client()
    client.force_login(world.users["member"])
    assert client.get(reverse("password_change")).status_code == 200
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": "orchard-lantern-47", "new_password2": "orchard-lantern-47"},
    )
    assert response.status_code == 302
    world.users["member"].refresh_from_db()
    assert world.users["member"].check_password("orchard-lantern-47")


def test_a_weak_new_password_is_refused_with_its_reason(world):
    client = Client()
    client.force_login(world.users["member"])
    response = client.post(
        reverse("password_change"), {"old_password": PASSWORD, "new_password1": "12345678", "new_password2": "12345678"}
    )
    assert response.status_code == 200
    assert "too common" in response.content.decode()


@pytest.mark.parametrize("email", ["member@example.org", "nobody@example.org"])
def test_a_password_reset_sends_a_link_only_to_a_real_account_and_says_the_same_either_way(world, email):
    response = Client().post(reverse("password_reset"), {"email": email})
    assert response.status_code == 302 and response["Location"] == reverse("password_reset_done")
    assert len(mail.outbox) == (1 if email.startswith("member") else 0)


def test_the_reset_link_sets_a_new_password(world):
    Client().post(reverse("password_reset"), {"email": "member@example.org"})
    link = re.search(r"https?://[^/]+(/accounts/password/reset/[^\s]+/)", mail.outbox[0].body).group(1)
    client = Client()
    form = client.get(link, follow=True)
    assert form.status_code == 200 and "Set a new password" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0], {"new_password1": "meadow-kettle-93", "new_password2": "meadow-kettle-93"}
    )
    assert done.status_code == 302
    world.users["member"].refresh_from_db()
    assert world.users["member"].check_password("meadow-kettle-93")
