"""Settlement lines become one per member and local day (issue 14 item 10).

Existing per-period lines are summed into day lines, and each settled run gets
its inputs packed from its lines (meter data), its trades and its rule, so its
half-hourly detail can be settled again exactly. The rule's figures go through
the live ``lem.services.settlement._rules_for`` (the tariff lookup is not
repeated here): with no settled runs, as on a new database, nothing is read.
"""

from collections import defaultdict
from zoneinfo import ZoneInfo

from django.db import migrations, models


def forwards(apps, schema_editor):
    Run = apps.get_model("lem", "SettlementRun")
    Line = apps.get_model("lem", "SettlementLine")
    if not Line.objects.exists():
        return
    import numpy as np

    from lem.domain import settlement as sm
    from lem.models import Market, RuleVersion, Trade
    from lem.services.base import _ticks
    from lem.services.settlement import _rules_for

    figures = sm.LINE_FIELDS
    for market in Market.objects.select_related("community"):
        tz = ZoneInfo(market.community.timezone)
        runs = {r.period_start: r for r in Run.objects.filter(market_id=market.pk, status="settled")}
        lines = list(Line.objects.filter(participant__market_id=market.pk).order_by("period_start", "participant_id"))
        if not lines:
            continue
        fuel_poor = dict(market.participants.values_list("id", "fuel_poor"))
        by_period = defaultdict(list)
        for ln in lines:
            by_period[ln.period_start].append(ln)
        days = {}
        for ps, group in by_period.items():
            run = runs.get(ps)
            if run is not None and run.rule_id:
                rule = RuleVersion.objects.get(pk=run.rule_id)
                trades = Trade.objects.filter(market_id=market.pk, period_start=ps).order_by("pk")
                run.inputs = sm.PeriodInputs(
                    members=np.array([x.participant_id for x in group], dtype=np.int64),
                    fuel_poor=np.array([fuel_poor.get(x.participant_id, False) for x in group]),
                    import_wh=np.array([x.import_wh for x in group], dtype=np.int64),
                    export_wh=np.array([x.export_wh for x in group], dtype=np.int64),
                    trades=np.array(
                        [
                            (
                                t.pk,
                                t.buyer_id,
                                t.seller_id,
                                t.quantity_wh,
                                _ticks(t.buyer_price),
                                _ticks(t.seller_price),
                            )
                            for t in trades
                        ],
                        dtype=np.int64,
                    ).reshape(-1, 6),
                    rules=_rules_for(rule, market, ps),
                ).pack()
                run.save(update_fields=["inputs"])
            local = ps.astimezone(tz)
            day = local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(ps.tzinfo)
            for ln in group:
                d = days.get((ln.participant_id, day))
                if d is None:
                    days[(ln.participant_id, day)] = Line(
                        run_id=ln.run_id,
                        participant_id=ln.participant_id,
                        period_start=day,
                        periods=1,
                        **{f: getattr(ln, f) for f in figures},
                    )
                else:
                    d.periods += 1
                    for f in figures:
                        setattr(d, f, getattr(d, f) + getattr(ln, f))
        Line.objects.filter(participant__market_id=market.pk).delete()
        Line.objects.bulk_create(days.values(), batch_size=2000)


class Migration(migrations.Migration):
    dependencies = [
        ("lem", "0008_settlementline_one_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="settlementline",
            name="periods",
            field=models.PositiveIntegerField(default=1, help_text="Settled periods summed in this line."),
        ),
        migrations.AddField(
            model_name="settlementrun",
            name="inputs",
            field=models.BinaryField(
                blank=True,
                default=b"",
                help_text="The settled inputs (members, meter data, trades, rule figures), packed: "
                "lem.domain.settlement.PeriodInputs. The period's lines are settled again from them on demand.",
            ),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
