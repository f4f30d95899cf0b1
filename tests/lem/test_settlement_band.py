"""The tolerance band (issue 14 item 8) from settlement to what a household reads.

Deviations up to the band settle at the member's local price, the rest at the
supplier's; the settlement lines keep both, the ledger holds the same money,
and the page, the PDF and the CSV say it in the same words."""

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from community.models import LedgerAccount
from community.selectors import account_balance, ledger_verify
from lem import selectors, services
from lem.domain import settlement as sm
from lem.models import SettlementLine
from lem.statement_words import BAND_INSIDE, BAND_OUTSIDE, band_rows, gbp, kwh, tolerance_note

from .factories import PERIOD, RULES, make_market, place, reading
from .test_value_words import _pdf_text

BAND_RULES = {**RULES, "tolerance_band_pct": "10"}
LATER = PERIOD + timedelta(days=1)


def _trade(mw, period, *, bought_used: int, sold_delivered: int) -> None:
    """1,000 Wh traded; the buyer then imports ``bought_used`` and the seller exports ``sold_delivered``."""
    place(mw, mw.seller, "offer", 1000, "12", period=period)
    place(mw, mw.buyer, "bid", 1000, "25", period=period)
    services.market_clear(market=mw.market, period_start=period, now=period)
    reading(mw.buyer, period, bought_used, 0)
    reading(mw.seller, period, 0, sold_delivered)


def _expected(mw, period) -> sm.PeriodSettlement:
    inputs = services._period_inputs(mw.market, period)
    return sm.settle_period(
        members=[p.id for p in inputs.participants],
        trades=inputs.trades,
        meters=inputs.meters,
        rules=services._rules_for(services.rules_in_force(mw.market, period), mw.market, period),
        fuel_poor=[p.id for p in inputs.participants if p.fuel_poor],
    )


def _band_pence(result: sm.PeriodSettlement, member: int) -> int:
    acct = sm.member_account(member)
    return sum(
        (t.amount_pence if t.payer == acct else -t.amount_pence)
        for t in result.transfers
        if t.member == member and t.kind in sm.BAND_KINDS
    )


def _ledger_matches_lines(mw, world) -> None:
    for part in (mw.buyer, mw.seller):
        acc = LedgerAccount.objects.get(community=world.community, code=f"lem:member:{part.pk}")
        assert account_balance(acc) == sum(x.total for x in SettlementLine.objects.filter(participant=part))
    assert ledger_verify(world.community).ok


@pytest.mark.django_db
def test_a_period_settled_inside_and_outside_the_band_keeps_its_band_money_on_the_line(world):
    mw = make_market(world, rules=BAND_RULES)
    # buyer: 1,300 Wh used for 1,000 bought: 100 Wh inside the 10 % band, 200 Wh outside;
    # seller: 950 Wh delivered for 1,000 sold: a 50 Wh shortfall, all inside the band
    _trade(mw, PERIOD, bought_used=1300, sold_delivered=950)
    services.settlement_settle_period(market=mw.market, period_start=PERIOD, now=LATER)
    one = _expected(mw, PERIOD)
    buyer = SettlementLine.objects.get(participant=mw.buyer)
    seller = SettlementLine.objects.get(participant=mw.seller)
    assert (buyer.band_wh, seller.band_wh) == (100, 50)
    assert buyer.band_cost * 100 == _band_pence(one, mw.buyer.pk) > 0
    assert seller.band_cost * 100 == _band_pence(one, mw.seller.pk) > 0
    # the band money is part of the supplier figures, so each line adds up to the member's bill
    for part, line in ((mw.buyer, buyer), (mw.seller, seller)):
        assert line.total * 100 == one.member_bill(part.pk)
    _ledger_matches_lines(mw, world)


@pytest.mark.django_db
def test_a_late_reading_corrects_a_band_period_by_the_exact_difference(world):
    mw = make_market(world, rules=BAND_RULES)
    _trade(mw, PERIOD, bought_used=1050, sold_delivered=1000)
    services.settlement_settle_period(market=mw.market, period_start=PERIOD, now=LATER)
    _ledger_matches_lines(mw, world)
    reading(mw.buyer, PERIOD, 1400, 0)  # corrected: now partly outside the band
    services.settlement_settle_due(market=mw.market, now=LATER + timedelta(minutes=5))
    assert SettlementLine.objects.get(participant=mw.buyer).band_wh == 100
    _ledger_matches_lines(mw, world)


@pytest.mark.django_db
def test_the_month_batch_stores_the_same_band_lines_as_period_by_period_settlement(world):
    from lem.batch import settlement_settle_range

    mw = make_market(world, rules=BAND_RULES)
    periods = [PERIOD + timedelta(minutes=30 * i) for i in range(3)]
    uses = [(1040, 1000), (1300, 930), (900, 1200)]  # inside; partly outside; spill and extra export
    for p, (used, delivered) in zip(periods, uses, strict=True):
        _trade(mw, p, bought_used=used, sold_delivered=delivered)
    out = settlement_settle_range(
        market=mw.market, start=periods[0], end=periods[-1] + timedelta(minutes=30), now=LATER
    )
    assert out["settled"] == 3
    for part in (mw.buyer, mw.seller):
        detail = selectors.statement_periods(part, periods[0], periods[-1] + timedelta(minutes=30))
        assert [x.period_start for x in detail] == periods
        for p, line in zip(periods, detail, strict=True):
            one = _expected(mw, p)
            assert line.band_wh == one.positions[part.pk].band_wh
            assert line.band_cost * 100 == _band_pence(one, part.pk)
            assert line.total * 100 == one.member_bill(part.pk)
        # the stored day line is the sum of its periods
        day = SettlementLine.objects.get(participant=part)
        assert day.periods == 3
        assert day.band_wh == sum(x.band_wh for x in detail) and day.total == sum(x.total for x in detail)
    assert sum(x.band_wh for x in SettlementLine.objects.all()) > 0
    _ledger_matches_lines(mw, world)


@pytest.mark.django_db
def test_the_page_the_pdf_and_the_csv_show_the_band_in_the_same_words(world, client):
    mw = make_market(world, rules=BAND_RULES)
    now = timezone.now()
    period = services.floor_period(mw.market, now) - timedelta(hours=2)
    before = period - timedelta(hours=1)
    place(mw, mw.seller, "offer", 1000, "12", period=period, now=before)
    place(mw, mw.buyer, "bid", 1000, "25", period=period, now=before)
    services.market_clear(market=mw.market, period_start=period, now=period)
    reading(mw.buyer, period, 1300, 0)  # 100 Wh inside the band, 200 Wh outside
    reading(mw.seller, period, 0, 1000)
    services.settlement_settle_period(market=mw.market, period_start=period, now=now)

    client.force_login(world.neighbour)
    month = timezone.localtime(period).strftime("%Y-%m")
    url = f"/c/test-green/market/my/statements/{month}/"
    s = selectors.statement(mw.buyer, timezone.localtime(period).date())
    note = tolerance_note(Decimal("10"))
    assert note.startswith("Differences of up to 10% of what you traded")
    rows = band_rows(s)
    assert [r["label"] for r in rows] == [BAND_INSIDE, BAND_OUTSIDE]
    assert rows[0]["energy"] == kwh(100) and rows[1]["energy"] == kwh(200)
    # inside + outside = the supplier figures
    assert s.band_cost + (s.supplier_cost - s.supplier_income - s.band_cost) == s.supplier_cost - s.supplier_income
    assert rows[0]["money"] == gbp(s.band_cost) and rows[0]["money"] != "£0.00"

    page = client.get(url).content.decode()
    pdf = _pdf_text(client.get(url + "?format=pdf").content)
    # the PDF's drawn strings, wrapped lines joined again, escapes undone
    pdf = " ".join(re.findall(r"\((.*?)(?<!\\)\) Tj", pdf))
    pdf = pdf.replace("\\(", "(").replace("\\)", ")").replace("\\222", "'").replace("\\243", "£")
    for text in (page, pdf):
        flat = text.replace("&#x27;", "'").replace("&#39;", "'")
        assert note in flat
        for r in rows:
            assert r["label"] in flat and r["energy"] in flat and r["money"] in flat

    table = list(csv.reader(io.StringIO(client.get(url + "?format=csv").content.decode())))
    head = table[0]
    per = [
        dict(zip(head, r, strict=True)) for r in table[1:] if r[0] not in ("tolerance_band", "membership_fee", "TOTAL")
    ]
    assert [int(r["band_wh"]) for r in per] == [100]
    assert sum(Decimal(r["band_cost_gbp"]) for r in per) == s.band_cost
    assert ["tolerance_band", note] in table
    total = dict(zip(head, table[-1], strict=True))
    assert (int(total["band_wh"]), Decimal(total["band_cost_gbp"])) == (100, s.band_cost)


@pytest.mark.django_db
def test_without_a_band_the_statement_says_so_and_shows_no_split(world):
    mw = make_market(world)
    s = selectors.statement(mw.buyer, PERIOD.date())
    assert s.tolerance_note == tolerance_note(None)
    assert "settled at the supplier's prices" in s.tolerance_note
    assert band_rows(s) == []


@given(st.integers(-(10**14) + 1, 10**14 - 1))
def test_pence_in_postgresql_binary_numeric_read_back_exactly(pence):
    import numpy as np

    from lem.batch import _numeric_fields

    f = {k: int(v[0]) for k, v in _numeric_fields(np.array([pence])).items()}
    assert all(0 <= f[d] < 10_000 for d in ("d0", "d1", "d2", "d3"))
    value = Decimal(f["d0"] * 10**8 + f["d1"] * 10**4 + f["d2"]) + Decimal(f["d3"]) / 10_000
    assert (-value if f["sign"] == 0x4000 else value) == Decimal(pence) / 100


@pytest.mark.browser
def test_a_household_reads_the_band_on_its_statement_in_a_browser(transactional_db, world, login_page):
    """At 1280 and 390 px, without scrolling sideways (screenshots with SCREENSHOT_DIR)."""
    import os

    mw = make_market(world, rules=BAND_RULES)
    now = timezone.now()
    period = services.floor_period(mw.market, now) - timedelta(hours=2)
    place(mw, mw.seller, "offer", 1000, "12", period=period, now=period - timedelta(hours=1))
    place(mw, mw.buyer, "bid", 1000, "25", period=period, now=period - timedelta(hours=1))
    services.market_clear(market=mw.market, period_start=period, now=period)
    reading(mw.buyer, period, 1300, 0)
    reading(mw.seller, period, 0, 1000)
    services.settlement_settle_period(market=mw.market, period_start=period, now=now)

    page = login_page("neighbour")
    page.goto(f"/c/test-green/market/my/statements/{timezone.localtime(period):%Y-%m}/")
    assert "Differences of up to 10% of what you traded" in page.inner_text("#tolerance-band")
    split = page.inner_text("#tolerance-band-split")
    assert BAND_INSIDE in split and BAND_OUTSIDE in split and kwh(100) in split
    d = os.environ.get("SCREENSHOT_DIR")
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(300)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        if d:
            page.screenshot(path=os.path.join(d, f"statement-band-{width}.png"), full_page=True)
