"""Group buying through its services, as the convenor, households and installers use it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from assets.models import Device, IntervalReading, Meter
from assets.purchasing import selectors, services
from assets.purchasing.models import Bid, Deposit, Installation, Installer, Offer, Registration, YieldCheck
from community.errors import DomainError
from community.models import JournalEntry
from community.selectors import account_balances, ledger_verify
from tests.purchasing import helpers as H

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
PDF = b"%PDF-1.7\n" + b"x" * 64


def escrow(c) -> Decimal:
    return account_balances(c.community, f"purchasing:{c.pk}:escrow").get(f"purchasing:{c.pk}:escrow", Decimal(0))


def offer_of(user, package) -> Offer:
    return Offer.objects.get(registration__user=user, package=package)


# --- registration -------------------------------------------------------------------


def test_registration_shows_size_yield_savings_and_payback(world):
    c, pv, battery = H.campaign(world)
    reg, est = services.registration_submit(
        campaign=c, user=world.users["member"], site=world.site, packages=[pv], home=H.HOME
    )
    e = est[0]
    assert e.eligible and e.size == Decimal("3.87") and e.unit == "kWp"
    assert 3000 < e.annual_yield_kwh < 4000
    assert e.annual_savings_gbp > 0 and e.payback_years > 0
    assert not e.group_price  # before the auction the price shown is buying alone
    assert reg.packages.get() == pv


def test_a_roof_too_small_for_the_package_is_refused_and_nothing_is_stored(world):
    c, pv, _ = H.campaign(world)
    with pytest.raises(DomainError, match="Roof too small") as exc:
        H.registered(world, c, [pv], roof_area_m2="5")
    assert exc.value.field == "roof_area_m2"
    assert not Registration.objects.exists()


def test_a_battery_without_the_fuse_is_refused(world):
    c, pv, battery = H.campaign(world)
    with pytest.raises(DomainError, match="fuse") as exc:
        H.registered(world, c, [pv, battery], fuse_a="60")
    assert exc.value.field == "fuse_a"


def test_a_household_registers_once_and_not_after_the_close(world):
    c, pv, _ = H.campaign(world)
    H.registered(world, c, [pv])
    with pytest.raises(DomainError, match="already registered"):
        H.registered(world, c, [pv])
    H.close_bidding(c)
    with pytest.raises(DomainError, match="closed"):
        H.registered(world, c, [pv], user=world.neighbour, site=world.neighbour_site)
    assert Registration.objects.count() == 1


def test_annual_use_comes_from_the_sites_meter_when_left_empty(world):
    c, pv, _ = H.campaign(world)
    meter = Meter.objects.create(site=world.site, serial="SM-TEST-1", kind=Meter.Kind.SITE)
    start = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(days=30)
    IntervalReading.objects.bulk_create(
        IntervalReading(meter=meter, period_start=start + timedelta(minutes=30 * i), import_wh=200, export_wh=0)
        for i in range(30 * 48)
    )
    reg = H.registered(world, c, [pv], annual_use_kwh="")
    # 30 days at 0.2 kWh a half-hour = 288 kWh -> 3,504 kWh a year
    assert reg.annual_use_kwh == 3504 and reg.use_from_meter


# --- installers and the auction ------------------------------------------------------


def test_installers_must_qualify_before_bidding(world):
    c, pv, _ = H.campaign(world)
    inst = H.installer(world, world.users["supplier"], "Bright Roofs", qualify=False)
    with pytest.raises(DomainError, match="not qualified"):
        services.bid_submit(package=pv, installer=inst, tiers=H.PV_TIERS)
    assert not Bid.objects.exists()


def test_qualification_checks_insurance_and_finances(world):
    inst = H.installer(world, world.users["supplier"], "Shaky Solar", health=20, qualify=False)
    with pytest.raises(DomainError, match="financial health 20"):
        services.installer_review(installer=inst, approve=True)
    inst.refresh_from_db()
    assert inst.status == Installer.Status.APPLIED


def test_bids_after_the_deadline_are_refused(world):
    c, pv, _ = H.campaign(world)
    inst = H.installer(world, world.users["supplier"], "Bright Roofs")
    H.close_bidding(c)
    with pytest.raises(DomainError, match="deadline"):
        services.bid_submit(package=pv, installer=inst, tiers=H.PV_TIERS)
    assert not Bid.objects.exists()


def test_bids_stay_sealed_until_the_deadline(world):
    c, pv, _ = H.campaign(world)
    bright = H.installer(world, world.users["supplier"], "Bright Roofs")
    solid = H.installer(world, H.supplier(world, "solid"), "Solid Solar")
    services.bid_submit(package=pv, installer=bright, tiers=H.PV_TIERS)
    services.bid_submit(package=pv, installer=solid, tiers=H.PV_TIERS)
    assert list(selectors.bids_visible(pv, installer=solid)) == [Bid.objects.get(installer=solid)]
    assert not selectors.bids_visible(pv, installer=None).exists()
    with pytest.raises(DomainError, match="sealed"):
        services.auction_evaluate(campaign=c)
    H.close_bidding(c)
    assert selectors.bids_visible(pv, installer=None).count() == 2


def test_tiers_must_cover_the_package(world):
    c, pv, _ = H.campaign(world)
    bright = H.installer(world, world.users["supplier"], "Bright Roofs")
    with pytest.raises(DomainError, match="up to the package's largest"):
        services.bid_submit(package=pv, installer=bright, tiers=[{"up_to": 4, "price_per_unit": "1000"}])


def test_evaluation_names_a_winner_and_a_reserve_and_runs_once(world):
    c, pv, bright, solid = H.awarded(world)
    assert (pv.winner, pv.reserve) == (bright, solid)
    assert [r["company"] for r in pv.evaluation] == ["Bright Roofs", "Solid Solar"]
    services.auction_evaluate(campaign=c)  # a second run changes nothing
    pv.refresh_from_db()
    assert pv.winner == bright


def test_offers_are_issued_once_from_the_winning_prices(world):
    c, pv, bright, _ = H.awarded(world)
    mine = offer_of(world.users["member"], pv)
    assert mine.installer == bright
    assert mine.price_gbp == Decimal("3.87") * 1100 + c.convenor_fee_gbp
    assert mine.saving_vs_alone_gbp > 0
    assert services.offers_issue(campaign=c) == 0
    assert Offer.objects.count() == 2


def test_an_installers_record_counts_in_the_next_campaigns_evaluation(world):
    c, pv, bright, solid = H.awarded(world)
    mine = offer_of(world.users["member"], pv)
    for i in range(3):
        cmp = services.complaint_raise(
            offer=mine, user=world.users["member"], subject=f"Problem {i}", detail="Roof leaks"
        )
        services.complaint_update(complaint=cmp, status="upheld", resolution="Installer repaired at its cost")
    before = next(r for r in pv.evaluation if r["company"] == "Bright Roofs")["quality_score"]
    q, rec = services.auction.quality_of(bright)
    assert rec["complaints"] == 3
    assert q == before  # no installs yet: the record is judged per install
    Installation.objects.create(
        offer=mine,
        installer=bright,
        install_by=timezone.localdate(),
        installed_on=timezone.localdate() + timedelta(days=3),
    )
    q2, rec2 = services.auction.quality_of(bright)
    assert rec2["late"] == 1 and q2 < before - 30


# --- offers, deposits, escrow ------------------------------------------------------------


def test_accepting_holds_the_deposit_in_escrow_and_twice_is_refused(world):
    c, pv, _, _ = H.awarded(world)
    mine = offer_of(world.users["member"], pv)
    services.offer_accept(offer=mine, user=world.users["member"])
    assert escrow(c) == Decimal("-150.00")  # a liability: held for the household
    with pytest.raises(DomainError, match="already accepted"):
        services.offer_accept(offer=mine, user=world.users["member"])
    assert Deposit.objects.count() == 1 and JournalEntry.objects.count() == 1
    assert ledger_verify(c.community).ok


def test_only_the_household_can_accept(world):
    c, pv, _, _ = H.awarded(world)
    mine = offer_of(world.users["member"], pv)
    with pytest.raises(DomainError, match="Only the household"):
        services.offer_accept(offer=mine, user=world.neighbour)
    assert not Deposit.objects.exists()


def test_an_offer_past_its_decision_window_cannot_be_accepted(world):
    c, pv, _, _ = H.awarded(world)
    mine = offer_of(world.users["member"], pv)
    with pytest.raises(DomainError, match="decision window"):
        services.offer_accept(offer=mine, user=world.users["member"], now=mine.expires_at + timedelta(hours=1))
    assert services.offers_expire(now=mine.expires_at + timedelta(hours=1)) == 2
    assert services.offers_expire(now=mine.expires_at + timedelta(hours=1)) == 0


def test_a_refund_larger_than_the_deposit_is_refused_and_changes_nothing(world):
    c, pv, _, _ = H.awarded(world)
    mine = services.offer_accept(offer=offer_of(world.users["member"], pv), user=world.users["member"])
    deposit = mine.deposit
    with pytest.raises(DomainError, match="more than the £150.00 held") as exc:
        services.deposit_refund(deposit=deposit, amount="150.01", reason="goodwill")
    assert exc.value.field == "amount"
    services.deposit_refund(deposit=deposit, amount="100", reason="part refund")
    with pytest.raises(DomainError, match="more than the £50.00 held"):
        services.deposit_refund(deposit=deposit, amount="60", reason="again")
    deposit.refresh_from_db()
    assert deposit.refunded_gbp == Decimal("100.00") and deposit.status == Deposit.Status.HELD
    assert escrow(c) == Decimal("-50.00")
    assert ledger_verify(c.community).ok


def test_survey_adjust_asks_to_accept_again_without_a_second_deposit(world):
    c, pv, _, _ = H.awarded(world)
    mine = services.offer_accept(offer=offer_of(world.users["member"], pv), user=world.users["member"])
    services.survey_record(
        offer=mine,
        outcome="adjust",
        new_price_gbp="5000",
        reason="Rafters need strengthening.",
        actor=world.users["supplier"],
    )
    mine.refresh_from_db()
    assert mine.status == Offer.Status.ADJUSTED and mine.price_gbp == Decimal("5000.00")
    services.offer_accept(offer=mine, user=world.users["member"])
    assert Deposit.objects.count() == 1 and escrow(c) == Decimal("-150.00")


def test_survey_cancel_refunds_the_whole_deposit(world):
    c, pv, _, _ = H.awarded(world)
    mine = services.offer_accept(offer=offer_of(world.users["member"], pv), user=world.users["member"])
    services.survey_record(offer=mine, outcome="cancel", reason="Asbestos roof.", actor=world.users["supplier"])
    mine.refresh_from_db()
    assert mine.status == Offer.Status.CANCELLED
    assert mine.deposit.status == Deposit.Status.REFUNDED and escrow(c) == 0
    assert ledger_verify(c.community).ok


# --- the winning installer fails ---------------------------------------------------------


def test_when_the_winner_fails_the_reserve_takes_over_and_no_deposit_is_lost(world):
    c, pv, bright, solid = H.awarded(world)
    mine = services.offer_accept(offer=offer_of(world.users["member"], pv), user=world.users["member"])
    theirs = offer_of(world.neighbour, pv)
    result = services.installer_fail(
        installer=bright, reason="MCS certification withdrawn", actor=world.users["convenor"]
    )
    assert result == {"moved": 2, "repriced": 1}
    pv.refresh_from_db()
    bright.refresh_from_db()
    assert bright.status == Installer.Status.SUSPENDED and pv.winner == solid
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.installer == solid and theirs.installer == solid
    # Solid's own tier: 3.87 kWp at £1,200 + fee: dearer, so the household decides again
    assert mine.status == Offer.Status.ADJUSTED and mine.price_gbp == Decimal("3.87") * 1200 + 150
    assert "reserve" in mine.status_reason
    assert mine.deposit.status == Deposit.Status.HELD and escrow(c) == Decimal("-150.00")
    # bright can no longer bid anywhere; failing it twice changes nothing
    assert services.installer_fail(installer=bright, reason="again") == {"moved": 0, "repriced": 0}
    # the household may walk away with every penny
    services.offer_decline(offer=mine, user=world.users["member"])
    mine.refresh_from_db()
    assert mine.deposit.status == Deposit.Status.REFUNDED and escrow(c) == 0
    assert ledger_verify(c.community).ok


# --- installation ------------------------------------------------------------------------


def _confirmed(world):
    c, pv, bright, solid = H.awarded(world)
    mine = services.offer_accept(offer=offer_of(world.users["member"], pv), user=world.users["member"])
    services.survey_record(offer=mine, outcome="confirm", actor=world.users["supplier"])
    mine.refresh_from_db()
    return c, pv, mine, mine.installation


def test_uploads_are_limited_in_size_and_type(world):
    c, pv, mine, inst = _confirmed(world)
    sup = world.users["supplier"]
    with pytest.raises(DomainError, match="limit is 10 MB"):
        services.document_upload(
            installation=inst, kind="photo", upload=SimpleUploadedFile("a.png", PNG + b"0" * 10_500_000), actor=sup
        )
    with pytest.raises(DomainError, match="JPEG or PNG"):
        services.document_upload(
            installation=inst, kind="photo", upload=SimpleUploadedFile("a.png", b"MZ\x90\x00 not an image"), actor=sup
        )
    with pytest.raises(DomainError, match="photo must be"):
        services.document_upload(installation=inst, kind="photo", upload=SimpleUploadedFile("a.pdf", PDF), actor=sup)
    with pytest.raises(DomainError, match="Only Bright Roofs"):
        services.document_upload(
            installation=inst, kind="photo", upload=SimpleUploadedFile("a.png", PNG), actor=world.users["member"]
        )
    doc = services.document_upload(installation=inst, kind="photo", upload=SimpleUploadedFile("a.png", PNG), actor=sup)
    assert doc.content_type == "image/png" and inst.documents.count() == 1


def test_commissioning_registers_the_kit_applies_the_deposit_and_books_the_yield_check(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    c, pv, mine, inst = _confirmed(world)
    sup = world.users["supplier"]
    with pytest.raises(DomainError, match="certificate"):
        services.installation_commission(installation=inst, actor=sup)
    services.document_upload(
        installation=inst, kind="certificate", upload=SimpleUploadedFile("mcs.pdf", PDF), actor=sup
    )
    services.milestone_record(installation=inst, name="Handover", actor=sup)
    inst, creds = services.installation_commission(installation=inst, actor=sup)
    device = Device.objects.get(site=world.site, kind="pv")
    assert device.specs["dc_w"] == 3870 and device.specs["azimuth_deg"] == 180 and creds
    assert device.rated_power_w == 3680  # G98: a 3.68 kW inverter
    assert Meter.objects.filter(device=device, kind=Meter.Kind.GENERATION).exists()
    assert inst.yield_check_due == timezone.localdate() + timedelta(days=91)
    mine.refresh_from_db()
    assert mine.status == Offer.Status.INSTALLED and mine.deposit.status == Deposit.Status.APPLIED
    bal = account_balances(c.community, f"purchasing:{c.pk}:")
    assert bal[f"purchasing:{c.pk}:escrow"] == 0
    assert bal[f"purchasing:{c.pk}:fees"] == Decimal("-150.00")
    # commissioning twice registers nothing more
    services.installation_commission(installation=inst, actor=sup)
    assert Device.objects.filter(site=world.site).count() == 1
    assert ledger_verify(c.community).ok
    stats = selectors.campaign_stats(c)
    assert stats.installed == 1 and stats.installed_kwp == Decimal("3.87")


def test_the_yield_check_flags_a_shortfall_once(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    c, pv, mine, inst = _confirmed(world)
    sup = world.users["supplier"]
    services.document_upload(
        installation=inst, kind="certificate", upload=SimpleUploadedFile("mcs.pdf", PDF), actor=sup
    )
    start = timezone.now() - timedelta(days=100)
    inst, _ = services.installation_commission(installation=inst, actor=sup, now=start)
    meter = Meter.objects.get(device__in=inst.devices.all())
    t0 = start.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    # half the panels' expected output, every half-hour metered
    expected = services.installations._expected_wh(inst, start, start + timedelta(days=91))
    n = 91 * 48
    IntervalReading.objects.bulk_create(
        IntervalReading(
            meter=meter, period_start=t0 + timedelta(minutes=30 * i), import_wh=0, export_wh=expected // 2 // n
        )
        for i in range(n - 2)
    )
    assert services.yield_checks_due() == [inst.pk]
    from assets.purchasing import tasks

    assert tasks.yield_checks() == 1  # the daily beat task
    assert tasks.yield_checks() == 0  # delivered twice: nothing more
    check = services.yield_check_run(installation=inst)
    assert check.shortfall and 0.45 < check.ratio < 0.55 and check.coverage > 0.99
    assert services.yield_check_run(installation=inst) == check
    assert YieldCheck.objects.count() == 1 and services.yield_checks_due() == []
