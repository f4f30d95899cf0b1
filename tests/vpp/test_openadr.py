"""The platform as an OpenADR 2.0b VEN against openleadr's own VTN, in-process."""

from __future__ import annotations

import asyncio
import socket
import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.vpp.factories import enrol_battery
from vpp.models import Event, Requirement
from vpp.openadr import VenConfig, build_client

openleadr = pytest.importorskip("openleadr")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_vtn_and_ven(world, *, events, wait_for):
    """Start openleadr's VTN on a free port with ``events`` queued for our VEN, run
    our VEN until ``wait_for(state)`` holds (or 20 s), then stop both."""
    from openleadr import OpenADRServer

    port = free_port()
    state = {"answers": {}, "reports": [], "registered": []}
    server = OpenADRServer(vtn_id="test-vtn", http_port=port, requested_poll_freq=timedelta(seconds=1))

    async def on_create_party_registration(info):
        state["registered"].append(info["ven_name"])
        return "ven-vpp", "reg-1"

    async def on_register_report(
        ven_id, resource_id, measurement, unit, scale, min_sampling_interval, max_sampling_interval
    ):
        async def on_update_report(data, *args, **kw):
            state["reports"].extend(data)

        return on_update_report, min_sampling_interval

    server.add_handler("on_create_party_registration", on_create_party_registration)
    server.add_handler("on_register_report", on_register_report)

    def answered(ven_id, event_id, opt_type):
        state["answers"][event_id] = opt_type

    for ev in events:
        server.add_event(ven_id="ven-vpp", callback=answered, **ev)
    config = VenConfig(
        community_slug=world.community.slug,
        buyer_username="flex_buyer",
        node_code="P1",
        vtn_url=f"http://127.0.0.1:{port}/OpenADR2/Simple/2.0b",
        ven_name="vpp-ven",
        report_every=timedelta(seconds=1),
    )

    async def main():
        await server.run()
        client = build_client(config)
        try:
            await client.run()
            for _ in range(200):
                if wait_for(state):
                    break
                await asyncio.sleep(0.1)
        finally:
            await client.stop()
            await server.stop()

    # in a thread of its own: a browser test earlier in the session leaves Playwright's event loop running in
    # this one, and asyncio.run() refuses to start inside a running loop
    errors: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(main())
        except BaseException as e:  # noqa: BLE001 - re-raised in the test's thread below
            errors.append(e)

    t = threading.Thread(target=run)
    t.start()
    t.join()
    if errors:
        raise errors[0]
    return state


@pytest.mark.django_db(transaction=True)
def test_an_event_from_the_vtn_becomes_a_vpp_event_and_the_ven_opts_in_and_reports(world):
    now = timezone.now()
    enrol_battery(world, at=now)
    start = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
    state = run_vtn_and_ven(
        world,
        events=[
            {
                "event_id": "evt-1",
                "signal_name": "LOAD_DISPATCH",
                "signal_type": "delta",
                "intervals": [{"dtstart": start, "duration": timedelta(hours=1), "signal_payload": -1.0}],
            }
        ],
        wait_for=lambda s: s["answers"] and s["reports"],
    )
    assert state["registered"] == ["vpp-ven"]
    assert state["answers"] == {"evt-1": "optIn"}
    req = Requirement.objects.get(openadr_event_id="evt-1")
    ev = Event.objects.get(requirement=req)
    assert (ev.starts_at, ev.ends_at) == (start, start + timedelta(hours=1))
    assert 0 < ev.target_w <= 1000 and req.product == "operational_utilisation"
    assert state["reports"], "the VTN received no report from the VEN"


@pytest.mark.django_db(transaction=True)
def test_the_ven_opts_out_when_no_household_can_deliver(world):
    now = timezone.now()
    start = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
    state = run_vtn_and_ven(
        world,
        events=[
            {
                "event_id": "evt-2",
                "signal_name": "LOAD_DISPATCH",
                "signal_type": "delta",
                "intervals": [{"dtstart": start, "duration": timedelta(hours=1), "signal_payload": -5.0}],
            }
        ],
        wait_for=lambda s: s["answers"],
    )
    assert state["answers"] == {"evt-2": "optOut"}
    assert not Event.objects.exists()
    assert Requirement.objects.get(openadr_event_id="evt-2").status == "cancelled"
