"""Publishing a plan version cannot be undone: the convenor confirms, seeing what changed (issue 15)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from planning import services
from planning.domain.snapshot_diff import snapshot_changes
from planning.models import PlanVersion

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan(world):
    p = services.plan_create(community=world.community, title="Test plan", actor=world.users["convenor"])
    services.plan_sync_sites(plan=p, actor=world.users["convenor"])
    return p


def _url(world, plan) -> str:
    return reverse("planning:publish", kwargs={"slug": world.community.slug, "plan_id": plan.pk})


def test_a_post_without_confirmation_publishes_nothing_and_asks(world, plan, client_as):
    r = client_as("convenor").post(_url(world, plan))
    assert r.status_code == 200 and "First publication" in r.content.decode()
    assert not PlanVersion.objects.filter(plan=plan).exists()


def test_the_confirmation_lists_what_changed_since_the_last_version(world, plan, client_as):
    services.plan_publish(plan=plan, actor=world.users["convenor"])
    plan.target_statement = "Net zero by 2035"
    plan.save()
    body = client_as("convenor").get(_url(world, plan)).content.decode()
    assert "Net zero by 2035" in body and "since version 1" in body
    r = client_as("convenor").post(_url(world, plan), {"confirm": "yes"})
    assert r.status_code == 302
    assert PlanVersion.objects.filter(plan=plan).count() == 2


def test_snapshot_changes_names_each_change():
    old = {"title": "A", "target_statement": "", "scenarios": [{"name": "S1"}], "milestones": [], "buildings": 10}
    new = {
        "title": "A",
        "target_statement": "Zero",
        "scenarios": [{"name": "S1"}, {"name": "S2"}],
        "milestones": [{"year": 2030, "title": "Solar on the school", "done": False}],
        "buildings": 12,
    }
    changes = snapshot_changes(old, new)
    assert "Target: “—” → “Zero”" in changes
    assert "Scenario added: S2" in changes
    assert "Milestone added: 2030 Solar on the school" in changes
    assert "Buildings: 10 → 12" in changes
    assert snapshot_changes(new, new) == [
        "Nothing has changed since the last version: publishing would make an identical copy."
    ]
