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
    assert society.has_bank_details  # members applying to the open offer are told where to pay
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


def test_the_demo_uses_the_schools_meters_and_never_adds_a_second_site_meter(world):
    """Issue 14 item 15: the school's export must not be counted twice."""
    from assets.models import Meter

    own = Meter.objects.create(site=world.school, kind=Meter.Kind.SITE, serial="SCHOOL-MPAN-1")
    society = demo.seed(community=world.community, readings_until=datetime(2025, 1, 2, tzinfo=UTC))
    asset = society.assets.get()
    assert list(Meter.objects.filter(site=world.school, kind=Meter.Kind.SITE)) == [own]
    assert asset.export_meter == own
    assert asset.generation_meter.kind == Meter.Kind.GENERATION and asset.generation_meter.site == world.school
    # the school's site meter carries both directions: it imports at night
    assert own.readings.filter(import_wh__gt=0).exists() and own.readings.filter(export_wh__gt=0).exists()
