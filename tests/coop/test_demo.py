from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from assets.coop import demo, selectors
from assets.coop.models import Distribution, ShareOffer, Society
from community.selectors import ledger_verify

pytestmark = pytest.mark.django_db


def test_the_demo_society_has_a_year_of_accounts_and_a_distribution_ready_to_run(world):
    society = demo.seed(community=world.community, readings_until=datetime(2026, 1, 1, tzinfo=UTC))
    assert demo.seed(community=world.community) == society  # idempotent
    assert Society.objects.count() == 1
    assert society.offers.get(code="SOL").status == ShareOffer.Status.ALLOTTED
    asset = society.assets.get()
    accounts = selectors.asset_accounts(asset, date(2025, 1, 1), 12)
    kwh = sum(a.exported_wh + a.onsite_wh for a in accounts) / 1000
    assert 700 * 30 < kwh < 1000 * 30  # a UK year from 30 kWp: 700-1,000 kWh/kWp
    # 2024 was distributed; 2025 is ready: the target rate fits the surplus
    assert Distribution.objects.filter(society=society, period_start=date(2024, 1, 1)).exists()
    preview = selectors.distribution_preview(
        society=society,
        start=date(2025, 1, 1),
        end=date(2026, 1, 1),
        interest_rate=society.target_interest_rate,
        fund_contribution=Decimal(100),
    )
    assert preview.totals["interest"] > 0 and preview.max_rate >= society.target_interest_rate
    assert ledger_verify(world.community).ok
