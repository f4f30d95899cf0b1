"""Statements in one wording for HTML and PDF (issue 15): "£1.34 more than the
supplier alone", never "£-1.34" or "-£0.00"."""

import base64
import re
import zlib
from decimal import Decimal

import pytest
from django.utils import timezone

from lem import selectors
from lem.statement_words import against_supplier, gbp, statement_rows
from lem.templatetags.lem_value import against_supplier as against_filter
from lem.templatetags.lem_value import kwh, pence_gbp

from .factories import make_market
from .test_views import _settled


def test_money_has_one_sign_and_thousands_separators():
    assert gbp(Decimal("1234.5")) == "£1,234.50"
    assert gbp(Decimal("1.34"), credit=True) == "-£1.34"
    assert gbp(Decimal("0"), credit=True) == "£0.00"
    assert gbp(Decimal("-0.001")) == "£0.00"
    assert pence_gbp(-134) == "-£1.34" and pence_gbp(0) == "£0.00"


def test_the_month_against_the_supplier_in_words():
    assert against_supplier(Decimal("-1.34")) == "£1.34 more than the supplier alone"
    assert against_supplier(Decimal("2.5")) == "£2.50 less than the supplier alone"
    assert against_supplier(Decimal("0.004")) == "the same as the supplier alone"
    assert against_filter(-134) == "£1.34 more than the supplier alone"


def test_energy_for_people_in_kwh_with_separators():
    assert kwh(1396159) == "1,396 kWh"
    assert kwh(1500) == "1.50 kWh" and kwh(750) == "0.75 kWh" and kwh(12345) == "12.3 kWh"


@pytest.fixture
def mw(world):
    return make_market(world)


def _pdf_text(content: bytes) -> str:
    """The text drawn in a reportlab PDF: its content streams, ASCII85 and Flate decoded."""
    out = []
    for body in re.findall(rb"stream\r?\n(.*?)endstream", content, re.S):
        body = body.strip()
        if body.endswith(b"~>"):
            body = base64.a85decode(body[:-2].replace(b"\n", b""))
        try:
            body = zlib.decompress(body)
        except zlib.error:
            pass
        out.append(body.decode("latin-1"))
    return "\n".join(out)


def test_the_page_and_the_pdf_say_the_same_thing(mw, client, world):
    period = _settled(mw)
    client.force_login(world.neighbour)
    month = timezone.localtime(period).strftime("%Y-%m")
    s = selectors.statement(mw.buyer, timezone.localtime(period).date())
    headline = against_supplier(s.savings)
    page = client.get(f"/c/test-green/market/my/statements/{month}/").content.decode()
    pdf = _pdf_text(client.get(f"/c/test-green/market/my/statements/{month}/?format=pdf").content)
    for text in (page, pdf):
        assert headline.replace("£", "") in text.replace("\\243", "").replace("£", "")
        assert "-£0.00" not in text and "£-" not in text
    for row in statement_rows(s):
        assert row["label"] in page
        assert row["money"] in page


def test_a_capped_membership_fee_is_explained_on_the_statement(world, client):
    from .factories import RULES

    mw = make_market(world, rules={**RULES, "membership_fee_cap_pct": "50"})
    period = _settled(mw)
    client.force_login(world.neighbour)
    month = timezone.localtime(period).strftime("%Y-%m")
    page = client.get(f"/c/test-green/market/my/statements/{month}/").content.decode()
    assert "never more than 50% of what trading saved you in the month" in page
