"""The market's value report from the command line (issue 17).

`manage.py market_value` replays the last year of every market's community
(or `--community SLUG`) through the market's agents, clearing and settlement
and prints what it was worth to the households against the supplier alone;
`--rule N` models proposed rules version N against the rules in force;
`--json` prints the whole result. Runs in this process (no Celery) and stores
the report, so the value page shows it too.
"""

import json

from django.core.management.base import BaseCommand, CommandError

from community.errors import DomainError
from lem.models import Market, ValueReport
from lem.services import value as value_services


def gbp(pence: int) -> str:
    sign = "-" if pence < 0 else ""
    return f"{sign}£{abs(pence) / 100:,.2f}"


class Command(BaseCommand):
    help = "Replay a simulated year through the market: each household's £ against the supplier alone."

    def add_arguments(self, parser):
        parser.add_argument("--community", help="community slug (default: every market)")
        parser.add_argument("--days", type=int, default=365)
        parser.add_argument("--rule", type=int, help="model proposed rules version N against the rules in force")
        parser.add_argument("--json", action="store_true", help="print the whole result as JSON")

    def handle(self, *args, community=None, days=365, rule=None, json=False, **opts):
        markets = Market.objects.select_related("community")
        if community:
            markets = markets.filter(community__slug=community)
            if not markets.exists():
                raise CommandError(f"No market in a community called {community!r}.")
        for market in markets:
            rv = None
            if rule is not None:
                rv = market.rule_versions.filter(number=rule).first()
                if rv is None:
                    raise CommandError(f"{market.community.slug} has no rules version {rule}.")
            try:
                report = value_services.value_report_request(market=market, rule=rv, days=days, enqueue=False)
            except DomainError as exc:
                raise CommandError(f"{market.community.slug}: {exc.message}") from None
            if report.status == ValueReport.Status.QUEUED:
                self.stderr.write(f"{market.community.slug}: replaying {days} days ...")
                report = value_services.value_report_run(report_id=report.pk)
            elif report.status == ValueReport.Status.RUNNING:
                self.stderr.write(f"{market.community.slug}: a worker is running this report ({report.progress_pct}%).")
                continue
            if json:
                self.stdout.write(_dumps(report.result))
                continue
            self._print(market, report)

    def _print(self, market, report):
        res = report.result
        s = res["summary"]
        h = s["households"]
        w = self.stdout.write
        w(
            f"{market.community.name}: {res['year']['days']} days from {res['year']['start'][:10]}, {res['year']['sites']} sites"
        )
        w(f"  rules: {_rules_line(res['rules'])}")
        w(
            f"  households better off than the supplier alone after fees: {h['better_off']} of {h['n']}"
            f" ({h['share_better_off']:.0%}), {h.get('worse_off', 0)} worse off;"
            f" before fees {s['households_before_fees']['better_off']} better off"
        )
        w(f"  £ per household per year after fees: median {gbp(h['median'])}, range {gbp(h['min'])} to {gbp(h['max'])}")
        fp = s["fuel_poor"]
        if fp["n"]:
            w(f"  fuel-poor households: {fp['better_off']} of {fp['n']} better off, median {gbp(fp['median'])}")
        w(
            f"  local share of imports {s['local_share_imports']:.1%}, of exports {s['local_share_exports']:.1%};"
            f" {s['matched_kwh']:,.0f} kWh matched locally"
        )
        w(
            f"  the community keeps {s['p_per_kwh_local']:.2f} p/kWh on locally matched energy ({gbp(s['community_gain_pence'])} a year)"
        )
        w(f"  CO2 avoided: {s['co2_saved_kg']:,.0f} kg")
        if "proposal" in res:
            p = res["proposal"]["summary"]["households"]
            w(f"  proposed: {_rules_line(res['proposal']['rules'])}")
            w(
                f"    would leave {p['better_off']} of {p['n']} households better off ({p['share_better_off']:.0%}),"
                f" median {gbp(p['median'])}, range {gbp(p['min'])} to {gbp(p['max'])}"
            )
        w(f"  ({report.seconds or 0:.1f} s)")


def _rules_line(r: dict) -> str:
    return (
        f"{r['mechanism']}, import {r['import_price']} p/kWh, export {r['export_price']} p/kWh,"
        f" fee {r['fee_per_trade_pence']} p/trade + {r['fee_pct']} %, membership £{r['membership_fee']}/month"
        + (f" at most {r['membership_fee_cap_pct']} % of the month's saving" if r.get("membership_fee_cap_pct") else "")
    )


def _dumps(obj) -> str:
    return json.dumps(obj, indent=1)
