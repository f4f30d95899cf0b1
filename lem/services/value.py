"""The value report (issue 17): what the market is worth to each household.

``value_report_request`` records a request (idempotent: the same sites,
devices, members and rules return the stored or running report) and queues
the Celery task on commit; ``value_report_run`` does the work: read the
community once, then simulate its year (`lem.simyear`, the simulator's
weather, demand and devices) and replay it through the market's own agents,
clearing and settlement (`lem.domain.value`) with no database on the hot
path, saving progress as it goes and the result as JSON on the report.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone

from community.errors import DomainError
from community.models import Site
from community.services import audit_record
from lem import simyear
from lem.domain import value as vd
from lem.models import Market, Participant, RuleVersion, ValueReport
from lem.services.base import _is_operator, rules_in_force

HOUSEHOLD_FIELDS = (
    "supplier_only",
    "bill_before_fees",
    "trade_fees",
    "membership",
    "discount",
    "bill_after_fees",
    "import_wh",
    "export_wh",
    "bought_wh",
    "sold_wh",
)


def value_rules(rule: RuleVersion, market: Market) -> vd.ValueRules:
    return vd.ValueRules(
        mechanism=rule.mechanism,
        import_price=rule.import_price,
        export_price=rule.export_price,
        peak_import_price=rule.peak_import_price,
        match_tariff=rule.match_tariff,
        fee_per_trade_pence=rule.fee_per_trade_pence,
        fee_pct=rule.fee_pct,
        membership_fee=rule.membership_fee,
        membership_fee_cap_pct=rule.membership_fee_cap_pct,
        social_discount_pct=rule.social_discount_pct,
        fund_share_pct=rule.fund_share_pct,
        price_floor=market.price_floor,
        price_cap=market.price_cap,
    )


def _rules_json(r: vd.ValueRules) -> dict:
    return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in asdict(r).items()}


def community_model(market: Market) -> tuple[list[simyear.SiteModel], vd.Members, list[dict]]:
    """The community as it is: every site with its devices (the simulator's
    own reading of them), who trades, and their agents' limits. Community-owned
    sites with generation (the school's and the co-op's PV, the wind turbine)
    offer their surplus locally before it is exported (issue 17)."""
    from assets.models import Device
    from assets.mqtt.simulator import site_spec

    community = market.community
    sites = list(Site.objects.filter(community=community).order_by("pk"))
    devices: dict[int, list] = {}
    for d in Device.objects.filter(community=community).order_by("site_id", "pk"):
        devices.setdefault(d.site_id, []).append(d)
    parts = {p.site_id: p for p in Participant.objects.filter(market=market, active=True)}
    models, info = [], []
    member, household, poor, max_buy, min_sell, source = [], [], [], [], [], []
    for s in sites:
        spec = site_spec(s, devices.get(s.pk, []))
        if s.kind == Site.Kind.HOME and not spec.annual_kwh:
            # a home with no devices registered yet still uses electricity
            spec = replace(spec, annual_kwh=float(s.annual_consumption_kwh or 2700))
        has_gen = spec.pv is not None or bool(spec.wind_rated_w)
        is_home = s.kind == Site.Kind.HOME
        p = parts.get(s.pk)
        if not is_home and not has_gen and p is None:
            continue  # a building with nothing to trade and no membership
        bat = spec.battery or {}
        m = simyear.SiteModel(
            key=s.pk,
            name=s.name,
            annual_kwh=spec.annual_kwh,
            profile=spec.profile,
            pv=spec.pv,
            wind_rated_w=int(spec.wind_rated_w or 0),
            battery_wh=int(bat.get("capacity_wh", 0)),
            battery_w=int(bat.get("max_discharge_w", 0)),
            battery_reserve_pct=float(bat.get("reserve_pct", 20)),
            battery_efficiency=float(bat.get("round_trip_efficiency", 0.9)),
            heat_pump_w=int((spec.heat_pump or {}).get("rated_w", 0)),
            ev_w=int((spec.ev or {}).get("max_power_w", 0)),
            household=is_home,
            member=p is not None or (not is_home and has_gen),
            fuel_poor=bool(p and p.fuel_poor),
            community_owned=not is_home,
            seed=spec.seed,
        )
        models.append(m)
        member.append(m.member)
        household.append(is_home)
        poor.append(m.fuel_poor)
        max_buy.append(float(p.max_buy_price) if p else 100.0)
        min_sell.append(float(p.min_sell_price) if p else 0.0)
        source.append("wind" if m.wind_rated_w and m.pv is None else "solar")
        info.append(
            {
                "site": s.pk,
                "name": p.pseudonym if p else s.name if not is_home else f"home {s.pk}",
                "kind": s.kind,
                "participant": p.pk if p else None,
                "pv_kwp": round(spec.pv.dc_w / 1000, 1) if spec.pv else 0,
                "battery_kwh": round(m.battery_wh / 1000, 1),
                "ev": bool(m.ev_w),
                "heat_pump": bool(m.heat_pump_w),
                "wind_kw": round(m.wind_rated_w / 1000, 1),
                "annual_kwh": int(spec.annual_kwh),
            }
        )
    members = vd.Members(
        member=np.array(member, dtype=bool),
        household=np.array(household, dtype=bool),
        fuel_poor=np.array(poor, dtype=bool),
        max_buy=np.array(max_buy),
        min_sell=np.array(min_sell),
        source=source,
    )
    return models, members, info


def _inputs_key(models, members: vd.Members, rules: list[vd.ValueRules], start: datetime, days: int, seed: int) -> str:
    h = hashlib.sha256()
    h.update(repr([asdict(m) for m in models]).encode())
    for arr in (members.member, members.fuel_poor, members.max_buy, members.min_sell):
        h.update(np.asarray(arr).tobytes())
    h.update(json.dumps([_rules_json(r) for r in rules], sort_keys=True).encode())
    h.update(f"{start.isoformat()}|{days}|{seed}|v{vd.MODEL_VERSION}".encode())
    return h.hexdigest()


def _check_reader(market: Market, actor: Any) -> None:
    from community.models import Membership, Role

    if actor is None or getattr(actor, "is_superuser", False) or _is_operator(actor, market.community):
        return
    if not Membership.objects.filter(
        community=market.community, user=actor, role__in=(Role.CONVENOR, Role.MARKET_OPERATOR, Role.MEMBER)
    ).exists():
        raise DomainError(
            "Only the community's members, convenor and market operator can run a value report.", code="forbidden"
        )


@transaction.atomic
def value_report_request(
    *,
    market: Market,
    actor: Any = None,
    rule: RuleVersion | None = None,
    days: int = 365,
    now: datetime | None = None,
    enqueue: bool = True,
) -> ValueReport:
    """Ask for the year's value report under the rules in force, or (with
    ``rule``, a proposed change) the modelled effect of that change. Returns the
    existing report when nothing it depends on has changed. ``enqueue=False``:
    the caller runs it (``value_report_run``), as ``manage.py market_value`` does."""
    now = now or timezone.now()
    _check_reader(market, actor)
    if not 7 <= int(days) <= 366:
        raise DomainError("A value report replays between 7 and 366 days.", field="days")
    if rule is not None and rule.market_id != market.pk:
        raise DomainError("That rule change belongs to another market.", field="rule")
    start = simyear.last_full_year(now, days=days)
    in_force = value_rules(rules_in_force(market, now), market)
    rules = [in_force] + ([value_rules(rule, market)] if rule is not None else [])
    models, members, _ = community_model(market)
    if not models:
        raise DomainError("The community has no sites to model yet.")
    key = _inputs_key(models, members, rules, start, days, market.community_id)
    kind = ValueReport.Kind.PROPOSAL if rule is not None else ValueReport.Kind.YEAR
    existing = (
        ValueReport.objects.filter(market=market, kind=kind, inputs_key=key)
        .exclude(status=ValueReport.Status.FAILED)
        .order_by("-created_at")
        .first()
    )
    if existing is not None:
        return existing
    report = ValueReport.objects.create(
        market=market,
        kind=kind,
        rule=rule,
        inputs_key=key,
        year_start=start,
        days=days,
        requested_by=actor if getattr(actor, "is_authenticated", False) else None,
        stage="queued",
    )
    audit_record(
        actor=actor,
        action="lem.value_report",
        summary=f"Value report {report.pk} requested ({report.get_kind_display()})",
        community=market.community,
        obj=report,
    )
    if enqueue:
        from lem import tasks

        transaction.on_commit(lambda: tasks.value_report.delay(report.pk))
    return report


def _progress(report_id: int, lo: float, hi: float):
    last = [0.0]

    def say(fraction: float, text: str) -> None:
        pct = int(lo + (hi - lo) * fraction)
        if pct - last[0] >= 2 or fraction >= 1:
            last[0] = pct
            ValueReport.objects.filter(pk=report_id).update(progress_pct=min(pct, 100), stage=text[:120])

    return say


def value_report_run(*, report_id: int) -> ValueReport:
    """Do the work of a requested report. Safe to call twice: only the call
    that moves it from queued to running computes (compare-and-set)."""
    claimed = ValueReport.objects.filter(pk=report_id, status=ValueReport.Status.QUEUED).update(
        status=ValueReport.Status.RUNNING, stage="reading the community", progress_pct=1
    )
    report = ValueReport.objects.select_related("market__community", "rule").get(pk=report_id)
    if not claimed:
        return report
    t0 = time.monotonic()
    try:
        result = compute(report)
    except Exception as exc:  # the page shows why; the task does not retry a modelling error
        ValueReport.objects.filter(pk=report_id).update(
            status=ValueReport.Status.FAILED, message=str(exc)[:300], finished_at=timezone.now()
        )
        raise
    ValueReport.objects.filter(pk=report_id).update(
        status=ValueReport.Status.DONE,
        progress_pct=100,
        stage="done",
        result=result,
        seconds=round(time.monotonic() - t0, 2),
        finished_at=timezone.now(),
    )
    report.refresh_from_db()
    return report


def compute(report: ValueReport) -> dict:
    market = report.market
    models, members, info = community_model(market)
    in_force = value_rules(rules_in_force(market, report.created_at), market)
    proposal = value_rules(report.rule, market) if report.rule_id else None
    year = simyear.simulate_year(
        models,
        start=report.year_start,
        days=report.days,
        period_minutes=market.community.settlement_period_minutes,
        weather_seed=market.community_id,
        progress=_progress(report.pk, 1, 25),
    )
    cal = simyear.calendar(year, tz=market.community.timezone)
    hi = 62 if proposal else 98
    base = vd.replay(
        import_wh=year.import_wh,
        export_wh=year.export_wh,
        members=members,
        rules=in_force,
        calendar=cal,
        battery_spare_wh=year.battery_spare_wh,
        progress=_progress(report.pk, 25, hi),
    )
    out = result_json(base, info, in_force)
    out["year"] = {"start": report.year_start.isoformat(), "days": report.days, "sites": len(models)}
    if proposal is not None:
        alt = vd.replay(
            import_wh=year.import_wh,
            export_wh=year.export_wh,
            members=members,
            rules=proposal,
            calendar=cal,
            battery_spare_wh=year.battery_spare_wh,
            progress=_progress(report.pk, hi, 98),
        )
        out["proposal"] = result_json(alt, info, proposal)
    return out


def result_json(r: vd.ValueResult, info: list[dict], rules: vd.ValueRules) -> dict:
    m = r.members
    rows = []
    for j, i in enumerate(info):
        row = dict(i)
        row.update(
            member=bool(m.member[j]),
            household=bool(m.household[j]),
            fuel_poor=bool(m.fuel_poor[j]),
            saving_before=int(r.saving_before[j]),
            saving_after=int(r.saving_after[j]),
            local_share_imports=round(float(r.bought_wh[j] / r.import_wh[j]), 4) if r.import_wh[j] else 0.0,
            local_share_exports=round(float(r.sold_wh[j] / r.export_wh[j]), 4) if r.export_wh[j] else 0.0,
            co2_saved_kg=round(float(r.co2_supplier_g[j] - r.co2_market_g[j]) / 1000, 1),
            months_after=[int(x) for x in r.month_saving_after[:, j]],
        )
        for f in HOUSEHOLD_FIELDS:
            row[f] = int(getattr(r, f)[j])
        rows.append(row)
    hh = m.member & m.household
    month_after = r.month_saving_after[:, hh] if hh.any() else np.zeros((len(r.months), 1))
    return {
        "rules": _rules_json(rules),
        "summary": r.summary(),
        "months": r.months,
        "month_median_after": [int(np.median(x)) for x in month_after],
        "month_p10_after": [int(np.percentile(x, 10)) for x in month_after],
        "month_p90_after": [int(np.percentile(x, 90)) for x in month_after],
        "month_better_off": [int((x > 0).sum()) for x in month_after],
        "month_matched_kwh": [round(int(x) / 1000, 1) for x in r.month_matched_wh],
        "sites": rows,
    }
