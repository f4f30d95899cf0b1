"""Benchmark: the funder's pipeline page and the 360Giving export (issue 12).

- ``pipeline``: a call with 2,000 submitted proposals and 10,000 reviews
  (5 a proposal, a quarter of them still to do) rendered through Django's test
  client as a logged-in funder, the full HTML page with its two plotly charts;
  the median of 5 warm renders, and the number of SQL queries (it must not grow
  with the call: the 200-proposal line shows the same count). Goal: < 300 ms.
- ``giving360``: 10,000 awarded grants read from the database and written as the
  360Giving JSON package and as its CSV. Goal: < 2 s each.

    python -m bench.marketplace            # pipeline at 200 and 2,000; export at 1,000 and 10,000

Runs on a fresh migrated SQLite file (or BENCH_DATABASE_URL), production
settings (DEBUG off); setup (bulk inserts) is not timed.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal


def _setup_django():
    path = os.path.join(tempfile.mkdtemp(prefix="bench-marketplace-"), "db.sqlite3")
    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{path}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _world(tag: str):
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from assets.coop.models import BenefitFund, FundPayment
    from community.models import Membership
    from community.services import community_create
    from planning.marketplace.models import Call, Criterion

    User = get_user_model()
    community = community_create(name=f"Bench {tag} {time.time_ns()}")
    funder = User.objects.create_user(f"funder-{community.pk}", password="x", first_name="Fiona", last_name="Funder")
    Membership.objects.create(community=community, user=funder, role="funder")
    applicants = User.objects.bulk_create(
        [User(username=f"a{community.pk}-{i}", first_name="App", last_name=f"{i}") for i in range(200)]
    )
    applicants = list(User.objects.filter(username__startswith=f"a{community.pk}-"))
    reviewers = User.objects.bulk_create(
        [User(username=f"r{community.pk}-{i}", first_name="Rev", last_name=f"{i}") for i in range(40)]
    )
    reviewers = list(User.objects.filter(username__startswith=f"r{community.pk}-"))
    Membership.objects.bulk_create(
        [Membership(community=community, user=u, role="member") for u in applicants]
        + [Membership(community=community, user=u, role="reviewer") for u in reviewers]
    )
    fund = BenefitFund.objects.create(
        community=community, kind="corporate", name="Bench Wind fund", company_name="Bench Wind Ltd"
    )
    FundPayment.objects.create(
        fund=fund, amount=Decimal("100000000"), received_on=timezone.localdate(), description="in"
    )
    now = timezone.now()
    call = Call.objects.create(
        community=community,
        fund=fund,
        funder=funder,
        title="Bench call",
        objectives="Bench",
        budget=Decimal("100000000"),
        max_award=Decimal("20000"),
        opens_at=now - timedelta(days=30),
        deadline=now + timedelta(days=30),
        community_review=True,
    )
    Criterion.objects.bulk_create(
        [Criterion(call=call, name=f"C{i}", weight=w, scale_max=5, order=i) for i, w in enumerate((3, 3, 2, 2))]
    )
    return community, funder, applicants, reviewers, call


def _proposals(call, applicants, n: int, status: str):
    from django.utils import timezone

    from planning.marketplace.models import Proposal

    now = timezone.now()
    ms = [{"title": "All", "due_on": "2030-01-01", "amount": "5000.00"}]
    Proposal.objects.bulk_create(
        [
            Proposal(
                call=call,
                applicant=applicants[i % len(applicants)],
                title=f"Project {i:05d}",
                organisation=f"Group {i % 500}",
                summary="A bench project",
                description="x",
                requested=Decimal(1000 + (i * 37) % 19000),
                status=status,
                submitted_at=now,
                budget_lines=[{"category": "Kit", "description": "", "amount": "5000.00"}],
                milestones=ms,
            )
            for i in range(n)
        ],
        batch_size=2000,
    )
    return list(Proposal.objects.filter(call=call).order_by("pk").values_list("pk", flat=True))


def bench_pipeline(n: int, reviews_per: int = 5) -> dict:
    import random

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from planning.marketplace.models import CommunityVote, Review, ReviewAssignment

    community, funder, applicants, reviewers, call = _world(f"pipeline {n}")
    ids = _proposals(call, applicants, n, "in_review")
    rng = random.Random(7)
    assignments = []
    for pid in ids:
        for r in rng.sample(reviewers, reviews_per):
            assignments.append(
                ReviewAssignment(
                    proposal_id=pid, reviewer=r, stage="full", status="submitted" if rng.random() < 0.75 else "pending"
                )
            )
    ReviewAssignment.objects.bulk_create(assignments, batch_size=5000)
    done = list(
        ReviewAssignment.objects.filter(proposal__call=call, status="submitted").values_list("pk", "proposal_id")
    )
    Review.objects.bulk_create(
        [
            Review(
                assignment_id=a,
                proposal_id=p,
                scores={},
                weighted_total=Decimal(rng.randint(200, 1000)) / 10,
                recommendation="fund",
            )
            for a, p in done
        ],
        batch_size=5000,
    )
    CommunityVote.objects.bulk_create(
        [
            CommunityVote(proposal_id=pid, voter=applicants[k], support=rng.random() < 0.7)
            for pid in ids[:500]
            for k in range(3)
        ],
        batch_size=5000,
    )
    client = Client()
    client.force_login(funder)
    url = reverse("marketplace:pipeline", kwargs={"slug": community.slug, "call_id": call.pk})
    client.get(url)  # warm: templates, session
    times = []
    queries = 0
    for _ in range(5):
        with CaptureQueriesContext(connection) as ctx:
            t0 = time.perf_counter()
            resp = client.get(url)
            times.append(time.perf_counter() - t0)
        assert resp.status_code == 200, resp.status_code
        queries = len(ctx)
    seconds = statistics.median(times)
    return {
        "bench": "marketplace_pipeline",
        "n": n,
        "reviews": len(assignments),
        "seconds": round(seconds, 4),
        "rate": round(n / seconds),
        "unit": "proposals/s",
        "queries": queries,
        "bytes": len(resp.content),
    }


def bench_giving360(n: int) -> dict:
    from django.utils import timezone

    from planning.marketplace.domain import giving360
    from planning.marketplace.models import Grant
    from planning.marketplace.selectors import giving360_rows

    community, funder, applicants, reviewers, call = _world(f"export {n}")
    ids = _proposals(call, applicants, n, "approved")
    now = timezone.now()
    Grant.objects.bulk_create(
        [
            Grant(
                proposal_id=pid,
                call=call,
                amount=Decimal(1000 + pid % 9000),
                agreement="a",
                awarded_at=now,
                status="active",
                accepted_at=now,
            )
            for pid in ids
        ],
        batch_size=5000,
    )
    out = {}
    for kind, writer in (("json", giving360.to_json), ("csv", giving360.to_csv)):
        t0 = time.perf_counter()
        body = writer(giving360_rows(community), prefix=f"cem-{community.slug}", data_source="https://example.org/x")
        out[kind] = (time.perf_counter() - t0, len(body))
    if (
        json.loads(giving360.to_json(giving360_rows(community)[:1], prefix="p", data_source="d"))["grants"][0][
            "currency"
        ]
        != "GBP"
    ):
        raise AssertionError("export broken")
    seconds = max(out["json"][0], out["csv"][0])
    return {
        "bench": "marketplace_360giving",
        "n": n,
        "seconds": round(seconds, 4),
        "rate": round(n / seconds),
        "unit": "grants/s",
        "json_seconds": round(out["json"][0], 4),
        "csv_seconds": round(out["csv"][0], 4),
        "json_bytes": out["json"][1],
    }


def main(argv: list[str]) -> None:
    _setup_django()
    pipeline_sizes = [200, 2000]
    export_sizes = [1000, 10000]
    if argv:
        pipeline_sizes = export_sizes = [int(a) for a in argv]
    for n in pipeline_sizes:
        print(json.dumps(bench_pipeline(n)), flush=True)
    for n in export_sizes:
        print(json.dumps(bench_giving360(n)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
