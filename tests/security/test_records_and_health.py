"""§6: records that settle money are read-only in the admin; /healthz says up or
down and nothing about the machines behind it."""

from __future__ import annotations

from unittest import mock

import pytest
from django.contrib import admin
from django.db import OperationalError
from django.test import RequestFactory
from django.urls import reverse

from assets.models import IntervalReading
from lem.models import ClearingRun, Order, SettlementRun, Trade


@pytest.mark.parametrize("model", [Trade, Order, ClearingRun, SettlementRun, IntervalReading])
def test_money_records_cannot_be_added_changed_or_deleted_in_the_admin(model, django_user_model, db):
    root = django_user_model.objects.create_superuser("root", "root@example.org", "pw-root-123456")
    request = RequestFactory().get("/admin/")
    request.user = root
    model_admin = admin.site._registry[model]
    assert model_admin.has_view_permission(request)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)


def test_the_admin_add_page_for_a_trade_is_refused(client, django_user_model, db):
    root = django_user_model.objects.create_superuser("root", "root@example.org", "pw-root-123456")
    client.force_login(root)
    assert client.get(reverse("admin:lem_trade_add")).status_code == 403
    assert client.get(reverse("admin:lem_trade_changelist")).status_code == 200


def test_healthz_says_up(client, db):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json()["status"] == "up"


def test_healthz_down_names_no_host(client, db):
    secret = 'connection to server at "db-primary.internal" (10.0.0.12), port 5432 failed'
    with mock.patch("django.db.backends.utils.CursorWrapper.execute", side_effect=OperationalError(secret)):
        response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["status"] == "down"
    body = response.content.decode()
    assert "db-primary" not in body and "10.0.0.12" not in body and "5432" not in body
