"""Run the platform as an OpenADR 2.0b VEN for one community: ``manage.py openadr_ven --vtn-url ...``."""

from __future__ import annotations

import asyncio
import signal
from decimal import Decimal

from django.core.management.base import BaseCommand

from vpp.openadr import VenConfig, build_client


class Command(BaseCommand):
    help = "Receive OpenADR 2.0b events from an external VTN as VPP requirements, answer opt-in/out, report delivery."

    def add_arguments(self, parser):
        parser.add_argument("--community", required=True, help="community slug")
        parser.add_argument("--buyer", required=True, help="username of the flex buyer the VTN stands for")
        parser.add_argument("--node", required=True, help="network node code the VTN's events are for")
        parser.add_argument("--vtn-url", required=True, help="e.g. https://vtn.example.org/OpenADR2/Simple/2.0b")
        parser.add_argument("--ven-name", default="community-energy-vpp")
        parser.add_argument("--price", default="306", help="utilisation price £/MWh when the VTN gives none")

    def handle(self, *args, **o):
        config = VenConfig(
            community_slug=o["community"],
            buyer_username=o["buyer"],
            node_code=o["node"],
            vtn_url=o["vtn_url"],
            ven_name=o["ven_name"],
            price_gbp_per_mwh=Decimal(o["price"]),
        )
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        client = build_client(config)
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)

        async def main():
            await client.run()
            self.stdout.write(f"VEN {config.ven_name} registered with {config.vtn_url}")
            await stop.wait()
            await client.stop()

        loop.run_until_complete(main())
