"""The schedule and the step read the limits in force from the DSO's statements
and record which they obeyed; the schedule is idempotent per quarter-hour; a
household sees only what the controller did with its own devices."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from community.services import constraint_statement_issue
from tests.balancing.factories import Loop, estate
from vpp.balancing import selectors, services
from vpp.balancing.models import ControlAction, Schedule

pytestmark = pytest.mark.django_db


def test_the_schedule_obeys_a_statement_in_force_and_records_it(world):
    seg, node, _ = estate(world, homes=3, import_limit_w=9_000)
    q = selectors.floor_quarter(timezone.now())
    now = q + timedelta(minutes=1)  # well inside the quarter-hour, so "30 s later" is the same quarter
    st = constraint_statement_issue(
        community=world.community,
        node=node,
        reference="DSO-SCH-1",
        starts_at=q + timedelta(hours=2),
        ends_at=q + timedelta(hours=4),
        import_limit_kw="2.5",
        export_limit_kw="50",
        actor=world.users["network_operator"],
        now=now,
    )
    sch = services.schedule_solve(segment=seg, now=now)
    assert sch.statement_ids == [st.pk]
    inside = range(8, 16)  # quarter-hours 2 h to 4 h ahead
    assert all(sch.import_limit_w[i] == 2_500 for i in inside)
    assert all(sch.import_limit_w[i] == 9_000 for i in range(0, 8))
    # the plan keeps inside the limit (less the segment's margin) wherever the devices can
    for i in inside:
        assert sch.net_w[i] <= 2_500 or sch.breach_wh > 0
    assert len(sch.devices) == 3 and all(len(v) == 96 for v in sch.devices.values())
    # a second periodic solve in the same quarter-hour returns the stored one
    assert services.schedule_solve(segment=seg, now=now + timedelta(seconds=30)).pk == sch.pk
    assert Schedule.objects.filter(segment=seg).count() == 1


def test_a_step_inside_a_statement_s_window_steers_to_its_limit_and_records_it(world):
    seg, node, _ = estate(world, homes=3, import_limit_w=9_000)
    loop = Loop(seg, timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=10), clearsky_index=0.0)
    st = constraint_statement_issue(
        community=world.community,
        node=node,
        reference="DSO-STEP-1",
        starts_at=loop.now,
        ends_at=loop.now + timedelta(hours=1),
        import_limit_kw="0.5",
        export_limit_kw="50",
        actor=world.users["network_operator"],
        now=loop.now,
    )
    steps = [loop.minute()[1] for _ in range(5)]
    assert all(s.statement_ids == [st.pk] and s.import_limit_w == 500 for s in steps)
    # the batteries cover the homes: the estate imports no more than the DSO allows (after one step's lag)
    assert max(loop.net_w[2:]) <= 500, loop.net_w


def test_a_household_sees_what_the_controller_did_with_its_own_battery_only(world, client):
    seg, node, sites = estate(world, homes=2, import_limit_w=1_000)
    loop = Loop(seg, timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=10), clearsky_index=0.0)
    loop.minute(control=False)
    loop.command_all(3_000)  # both batteries charging from the grid: the estate is far over its 1 kW
    for _ in range(3):
        loop.minute()
    mine, theirs = sites[0].occupants.first(), sites[1].occupants.first()
    assert ControlAction.objects.filter(device__site=sites[1]).exists()
    client.force_login(mine)
    page = client.get(f"/c/{world.community.slug}/grid/my/").content.decode()
    assert sites[0].name in page and sites[1].name not in page
    assert "over the 1.0 kW limit" in page or "discharge" in page
    client.force_login(theirs)
    page = client.get(f"/c/{world.community.slug}/grid/my/").content.decode()
    assert sites[1].name in page and sites[0].name not in page
