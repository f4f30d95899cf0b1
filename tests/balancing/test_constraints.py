"""Constraint statements: the write path's validation and versioning, the DSO's
API (token, its own nodes only, 400 with the field on bad input), and the
market's next clearing honouring a statement posted through the API."""

from __future__ import annotations

from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from community.errors import DomainError
from community.models import AuditEvent, ConstraintStatement
from community.services import constraint_statement_issue, constraint_statement_withdraw
from vpp.balancing import services

pytestmark = pytest.mark.django_db


def _issue(world, **kw):
    now = timezone.now()
    values = dict(
        community=world.community,
        node=world.feeder,
        reference="DSO-1",
        starts_at=now + timedelta(hours=1),
        ends_at=now + timedelta(hours=3),
        import_limit_kw="120",
        export_limit_kw="40",
        actor=world.users["network_operator"],
    )
    values.update(kw)
    return constraint_statement_issue(**values)


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"import_limit_kw": "-1"}, "import_limit_kw", "below zero"),
        ({"export_limit_kw": "-0.5"}, "export_limit_kw", "below zero"),
        ({"import_limit_kw": "lots"}, "import_limit_kw", "not a number"),
        ({"node": 999_999}, "node", "no network node"),
        ({"ends_at": "past"}, "ends_at", "past"),
        ({"ends_at": "before"}, "ends_at", "end after it starts"),
        ({"horizon": "intraday", "starts_at": "far"}, "starts_at", "intraday"),
        ({"reference": "  "}, "reference", "reference"),
    ],
)
def test_bad_statements_are_refused_naming_the_field_and_nothing_is_written(world, change, field, words):
    now = timezone.now()
    change = dict(change)
    if change.get("ends_at") == "past":
        change.update(starts_at=now - timedelta(hours=3), ends_at=now - timedelta(hours=1))
    if change.get("ends_at") == "before":
        change.update(starts_at=now + timedelta(hours=3), ends_at=now + timedelta(hours=2))
    if change.get("starts_at") == "far":
        change.update(starts_at=now + timedelta(days=2), ends_at=now + timedelta(days=2, hours=1))
    with pytest.raises(DomainError) as exc:
        _issue(world, **change)
    assert exc.value.field == field
    assert words in exc.value.message
    assert not ConstraintStatement.objects.exists()


def test_a_statement_for_a_node_of_another_community_is_refused(world):
    from community.services import network_node_create

    other = network_node_create(
        community=world.other_community,
        kind="gsp",
        name="Far GSP",
        code="FAR",
        import_capacity_kw=1,
        export_capacity_kw=1,
    )
    with pytest.raises(DomainError) as exc:
        _issue(world, node=other)
    assert exc.value.field == "node"


def test_reissuing_a_reference_makes_the_next_version_which_is_the_one_in_force(world):
    from community.constraints import node_limits_in_force

    v1 = _issue(world)
    v2 = _issue(world, import_limit_kw="80")
    assert (v1.version, v2.version) == (1, 2)
    limits = node_limits_in_force(
        community=world.community, start=v1.starts_at, end=v1.starts_at + timedelta(minutes=30)
    )
    assert limits[world.feeder.pk].import_limit_kw == Decimal("80.0")
    assert limits[world.feeder.pk].statement_ids == (v2.pk,)
    assert AuditEvent.objects.filter(action="community.constraint_issue").count() == 2
    with pytest.raises(DomainError) as exc:
        _issue(world, node=world.feeder2)
    assert exc.value.field == "node"


def test_withdrawing_stops_every_version_and_is_idempotent(world):
    from community.constraints import node_limits_in_force

    v1 = _issue(world)
    _issue(world, import_limit_kw="80")
    constraint_statement_withdraw(statement=v1, actor=world.users["network_operator"])
    constraint_statement_withdraw(statement=v1, actor=world.users["network_operator"])
    limits = node_limits_in_force(
        community=world.community, start=v1.starts_at, end=v1.starts_at + timedelta(minutes=30)
    )
    assert limits[world.feeder.pk].statement_ids == ()
    assert limits[world.feeder.pk].import_limit_kw == world.feeder.import_capacity_kw
    assert AuditEvent.objects.filter(action="community.constraint_withdraw").count() == 1


# --- the DSO's API ----------------------------------------------------------------------


@pytest.fixture
def dso(world):
    services.node_operator_assign(community=world.community, user=world.users["network_operator"], node=world.feeder)
    token = Token.objects.create(user=world.users["network_operator"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def _url(world, what="statements"):
    return f"/api/v1/communities/{world.community.slug}/grid/{what}/"


def _body(world, start, **kw):
    body = {
        "node": world.feeder.pk,
        "reference": "UKPN-F1-0001",
        "horizon": "day_ahead",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=2)).isoformat(),
        "import_limit_kw": "150",
        "export_limit_kw": "10",
        "reason": "transformer maintenance",
    }
    body.update(kw)
    return body


def test_the_dso_publishes_through_the_api_with_a_token(world, dso):
    start = timezone.now() + timedelta(days=1)
    r = dso.post(_url(world), _body(world, start), format="json")
    assert r.status_code == 201, r.content
    assert r.json()["version"] == 1 and r.json()["node_code"] == "F1"
    r = dso.post(_url(world), _body(world, start, export_limit_kw="5"), format="json")
    assert r.json()["version"] == 2
    listed = dso.get(_url(world)).json()
    assert [s["version"] for s in listed] == [2, 1]


def test_the_api_answers_400_naming_the_field_for_a_limit_below_zero(world, dso):
    r = dso.post(_url(world), _body(world, timezone.now() + timedelta(days=1), import_limit_kw="-5"), format="json")
    assert r.status_code == 400
    assert r.json()["field"] == "import_limit_kw"
    assert "below zero" in r.json()["detail"]
    r = dso.post(_url(world), _body(world, timezone.now() - timedelta(days=1)), format="json")
    assert r.status_code == 400 and r.json()["field"] == "ends_at"
    assert not ConstraintStatement.objects.exists()


def test_the_dso_cannot_constrain_or_read_a_node_it_does_not_operate(world, dso):
    r = dso.post(_url(world), _body(world, timezone.now() + timedelta(days=1), node=world.feeder2.pk), format="json")
    assert r.status_code == 403
    flows = dso.get(_url(world, "nodes")).json()
    assert [f["code"] for f in flows] == ["F1"]


def test_a_market_operator_cannot_be_given_network_nodes(world):
    from community.models import Membership

    user = world.users["market_operator"]
    Membership.objects.create(community=world.community, user=user, role="network_operator")
    with pytest.raises(DomainError) as exc:
        services.node_operator_assign(community=world.community, user=user, node=world.feeder)
    assert "market operator" in exc.value.message


def test_the_api_needs_credentials(world):
    r = APIClient().get(_url(world))
    assert r.status_code in (401, 403)


# --- the market honours it --------------------------------------------------------------


def test_a_constraint_posted_through_the_api_is_honoured_by_the_next_clearing(world, dso):
    """Feeder A's household sells 30 kWh to Feeder B's for the next period; the
    DSO posts a 20 kW export limit on Feeder A for that period through the API;
    the clearing lets only 10 kWh (20 kW x 30 min) leave the feeder and records
    the statement it obeyed."""
    from lem import services as lem_services
    from tests.lem.factories import make_market, place

    mw = make_market(world)
    now = timezone.now()
    period = (now + timedelta(days=1)).replace(minute=0, second=0, microsecond=0, tzinfo=UTC)
    r = dso.post(
        _url(world),
        _body(
            world,
            period - timedelta(minutes=30),
            reference="UKPN-F1-EXP",
            import_limit_kw="500",
            export_limit_kw="20",
        ),
        format="json",
    )
    assert r.status_code == 201, r.content
    statement_id = r.json()["id"]
    before = period - timedelta(hours=3)
    place(mw, mw.seller, "offer", 30_000, "5", period=period, now=before)
    place(mw, mw.buyer, "bid", 30_000, "25", period=period, now=before)
    run = lem_services.market_clear(market=mw.market, period_start=period, now=period)
    assert run.volume_wh == 10_000
    assert run.constraint_statement_ids == [statement_id]
    # the period after the statement's window clears at the feeder's own capacity
    later = period + timedelta(hours=2)
    place(mw, mw.seller, "offer", 30_000, "5", period=later, now=before)
    place(mw, mw.buyer, "bid", 30_000, "25", period=later, now=before)
    run = lem_services.market_clear(market=mw.market, period_start=later, now=later)
    assert run.volume_wh == 30_000 and run.constraint_statement_ids == []
