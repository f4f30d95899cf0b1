"""Benchmark: a distribution run for a co-op of N members with 3 years of register movements.

Measured (one run, input generated beforehand with a fixed seed):
penny-days per member from every movement (allotments at three offer closes,
monthly standing-order purchases, top-ups, reinvestments, withdrawals) for
each of the three years, the declared interest totals, the largest-remainder
allocation, members' pay/reinvest/donate choices, and the bank payment file.

``vs.pure_python`` is the speed-up over the reference implementation in
``assets/coop/domain/interest.py`` (``interest_run``: per-movement Python
objects, exact Fractions) on the same input and the same three years; the
two are checked to pay identical amounts. Goal (issue 6): 20,000 members in
under 5 s.

    python -m bench.dividends            # sizes 2,000 and 20,000
    python -m bench.dividends 100000     # other sizes
    python -m bench.dividends --db 20000 # end to end: services.distribution_commit on a
                                         # migrated SQLite file (or BENCH_DATABASE_URL)

The ``--db`` line times the whole commit a treasurer triggers: reading the
register's movements from the database, the computation, and writing the
run, 20,000 member lines, the reinvestment shares, the fund receipts and the
ledger entry, in one transaction.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import date
from decimal import Decimal

import numpy as np

from assets.coop.domain.bank import PaymentLine, payment_file
from assets.coop.domain.distribution import Proposal, run_distribution
from assets.coop.domain.interest import Movement, interest_run, penny_days_np
from assets.coop.domain.rules import SocietyRules

START = date(2023, 1, 1)
YEARS = [(date(2023 + k, 1, 1), date(2024 + k, 1, 1)) for k in range(3)]
RATE = Decimal("0.04")


def make_register(n: int, seed: int = 42):
    """Arrays (member, day ordinal, signed pennies) that never take anyone below zero."""
    rng = np.random.default_rng(seed)
    d0 = START.toordinal()
    span = 3 * 365
    closes = np.array([d0 + 60, d0 + 400, d0 + 760])
    # initial allotment: 70% at an offer close, others during the three years
    at_close = rng.random(n) < 0.7
    allot_day = np.where(at_close, rng.choice(closes, n), d0 + rng.integers(0, span, n))
    allot = np.clip(np.round(rng.lognormal(np.log(800), 1.2, n)), 100, 100_000).astype(np.int64) * 100
    members = [np.arange(n)]
    days = [allot_day]
    amounts = [allot]
    # monthly standing orders for a fifth of members: £10-£50 a month after joining
    so = np.flatnonzero(rng.random(n) < 0.2)
    for month in range(36):
        day = d0 + month * 30 + 1
        who = so[allot_day[so] < day]
        members.append(who)
        days.append(np.full(who.size, day))
        amounts.append(rng.integers(10, 51, who.size) * 100)
    # ad-hoc top-ups: Poisson(2) each
    k = rng.poisson(2, n)
    who = np.repeat(np.arange(n), k)
    members.append(who)
    days.append(allot_day[who] + rng.integers(1, span, who.size))
    amounts.append(rng.integers(10, 5001, who.size) * 100)
    # reinvested interest at each year end for 40% of members
    for y in range(3):
        day = d0 + 365 * (y + 1) - 1
        who = np.flatnonzero((rng.random(n) < 0.4) & (allot_day < day))
        members.append(who)
        days.append(np.full(who.size, day))
        amounts.append(rng.integers(1, 200, who.size) * 100)
    # withdrawals: 10% take back up to their initial allotment after a year
    who = np.flatnonzero(rng.random(n) < 0.1)
    members.append(who)
    days.append(allot_day[who] + 365 + rng.integers(0, 365, who.size))
    amounts.append(-(allot[who] * rng.uniform(0.1, 1.0, who.size)).astype(np.int64) // 100 * 100)
    m = np.concatenate(members).astype(np.int64)
    d = np.concatenate(days).astype(np.int64)
    a = np.concatenate(amounts).astype(np.int64)
    return m, d, a


def fast_run(n, m, d, a, choices, names, sort_codes, accounts):
    rules = SocietyRules(max_interest_rate=Decimal("0.05"))
    paid_by_year = []
    csv_size = 0
    for y0, y1 in YEARS:
        w = penny_days_np(m, d, a, start=y0.toordinal(), end=y1.toordinal(), n_members=n)
        holdings = np.zeros(n, dtype=np.int64)
        np.add.at(holdings, m[d < y1.toordinal()], a[d < y1.toordinal()])
        result = run_distribution(
            rules,
            Proposal(surplus=Decimal(100000000), interest_rate=RATE, fund_contribution=Decimal(5000)),
            penny_days=w,
            holdings=holdings,
            choices=choices,
        )
        cash = result.cash
        idx = np.flatnonzero(cash > 0)
        text = payment_file(
            PaymentLine(names[i], sort_codes[i], accounts[i], int(cash[i]), f"INTEREST {y0.year}") for i in idx.tolist()
        )
        csv_size += len(text)
        paid_by_year.append(result.interest)
    return paid_by_year, csv_size


def reference_run(n, m, d, a):
    moves = [Movement(int(mi), date.fromordinal(int(di)), int(ai)) for mi, di, ai in zip(m, d, a, strict=False)]
    out = []
    for y0, y1 in YEARS:
        run = interest_run(moves, rate=RATE, start=y0, end=y1)
        paid = np.zeros(n, dtype=np.int64)
        for member, p in zip(run.members, run.paid, strict=False):
            paid[member] = p
        out.append(paid)
    return out


def bench(n: int, reference: bool) -> dict:
    m, d, a = make_register(n)
    rng = np.random.default_rng(7)
    choices = rng.choice(np.array([0, 1, 2], dtype=np.int8), n, p=[0.7, 0.2, 0.1])
    names = [f"Member {i:06d}" for i in range(n)]
    sort_codes = [f"{(i * 7919) % 1_000_000:06d}" for i in range(n)]
    sort_codes = [f"{s[:2]}-{s[2:4]}-{s[4:]}" for s in sort_codes]
    accounts = [f"{(i * 104729) % 100_000_000:08d}" for i in range(n)]
    t0 = time.perf_counter()
    paid, _ = fast_run(n, m, d, a, choices, names, sort_codes, accounts)
    seconds = time.perf_counter() - t0
    line = {
        "bench": "dividends",
        "n": n,
        "movements": int(m.size),
        "years": 3,
        "seconds": round(seconds, 4),
        "rate": round(n / seconds, 1),
        "unit": "members/s",
        "vs": {},
    }
    if reference:
        t0 = time.perf_counter()
        ref = reference_run(n, m, d, a)
        ref_seconds = time.perf_counter() - t0
        if not all((p == r).all() for p, r in zip(paid, ref, strict=False)):
            raise SystemExit("vectorised and reference runs disagree")
        line["vs"] = {"pure_python": round(ref_seconds / seconds, 1)}
        line["reference_seconds"] = round(ref_seconds, 3)
    return line


def bench_db(n: int) -> dict:
    """services.distribution_commit for ``n`` members (setup is not timed)."""
    import os
    import tempfile

    path = os.path.join(tempfile.mkdtemp(prefix="bench-dividends-"), "db.sqlite3")
    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{path}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # production settings: DEBUG off (Django keeps no per-query log)
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from assets.coop import services
    from assets.coop.models import CoopAsset, Member, ShareTransaction
    from community.models import LedgerAccount
    from community.services import community_create

    community = community_create(name=f"Bench {n} {time.time_ns()}")
    society = services.society_create(community=community, name="Bench Energy Co-op")
    m, d, a = make_register(n)
    members = Member.objects.bulk_create(
        [
            Member(
                society=society,
                number=i + 1,
                full_name=f"Member {i:06d}",
                email=f"m{i}@example.org",
                address="1 Road",
                postcode="B30 1AA",
                sort_code="12-34-56",
                account_number=f"{i:08d}",
                admitted_on=date.fromordinal(int(d[m == i].min())) if (m == i).any() else START,
                distribution_choice=("pay", "reinvest", "donate")[i % 5 % 3],
            )
            for i in range(n)
        ],
        batch_size=5000,
    )
    if members[0].pk is None:
        members = list(Member.objects.filter(society=society).order_by("number"))
    LedgerAccount.objects.bulk_create(
        [
            LedgerAccount(
                community=community,
                code=society.ledger_code(mm.ledger_suffix),
                name=f"shares {mm.number}",
                kind="equity",
            )
            for mm in members
        ],
        batch_size=5000,
    )
    ShareTransaction.objects.bulk_create(
        [
            ShareTransaction(
                society=society,
                member=members[int(mi)],
                day=date.fromordinal(int(di)),
                kind="allot" if ai > 0 else "withdraw",
                shares=int(ai) // 100,
                amount=Decimal(int(ai)) / 100,
            )
            for mi, di, ai in zip(m, d, a, strict=True)
        ],
        batch_size=10000,
    )
    asset = CoopAsset.objects.create(
        society=society,
        name="Bench array",
        capacity_kw=Decimal(5000),
        commissioned_on=date(2022, 1, 1),
        capex=Decimal(1),
    )
    services.account_entry_add(
        asset=asset, month=date(2025, 6, 1), kind="flex", amount=Decimal("9000000"), description="bench surplus"
    )
    profiler = None
    if os.environ.get("BENCH_PROFILE"):
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    t0 = time.perf_counter()
    dist = services.distribution_commit(
        society=society,
        start=date(2025, 1, 1),
        end=date(2026, 1, 1),
        interest_rate=RATE,
        fund_contribution=Decimal(5000),
        today=date(2026, 2, 1),
    )
    seconds = time.perf_counter() - t0
    if profiler is not None:
        import pstats

        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(40)
    return {
        "bench": "dividends_commit_db",
        "n": n,
        "movements": int(m.size),
        "seconds": round(seconds, 3),
        "rate": round(n / seconds, 1),
        "unit": "members/s",
        "vs": {},
        "lines": dist.lines.count(),
        "database": django.db.connection.vendor,
    }


def main(argv: list[str]) -> None:
    if argv[:1] == ["--db"]:
        for n in [int(x) for x in argv[1:]] or [20_000]:
            print(json.dumps(bench_db(n)), flush=True)
        return
    sizes = [int(x) for x in argv] or [2_000, 20_000]
    for n in sizes:
        print(json.dumps(bench(n, reference=n <= 20_000)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
