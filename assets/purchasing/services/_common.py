"""Glue shared by the purchasing services: model rows -> domain inputs, ledger accounts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np

from community.errors import DomainError
from community.models import Community, LedgerAccount
from community.services.ledger import ledger_account

from ..domain import offers as dom
from ..models import Bid, Campaign, Package


def tiers_of(bid: Bid | None) -> tuple[tuple[float, Decimal], ...] | None:
    if bid is None:
        return None
    return tuple((float(t["up_to"]), Decimal(str(t["price_per_unit"]))) for t in bid.tiers)


def winning_bid(package: Package) -> Bid | None:
    if package.winner_id is None:
        return None
    return Bid.objects.filter(package=package, installer_id=package.winner_id).first()


def terms_for(package: Package, tiers=None) -> dom.PackageTerms:
    """The package's terms at the given tiers; before the auction, the benchmark price (buying alone)."""
    if tiers is None:
        tiers = ((float(package.max_size), package.market_price_per_unit_gbp),)
        fee = Decimal("0")
    else:
        fee = package.campaign.convenor_fee_gbp
    return dom.PackageTerms(
        kind=package.kind,
        min_size=float(package.min_size),
        max_size=float(package.max_size),
        tiers=tiers,
        convenor_fee_gbp=fee,
        market_price_per_unit_gbp=package.market_price_per_unit_gbp,
        grant_gbp=package.grant_gbp,
        min_roof_area_m2=float(package.min_roof_area_m2),
        min_fuse_a=package.min_fuse_a,
        max_shading=package.max_shading,
    )


def tariff_for(campaign: Campaign) -> dom.Tariff:
    return dom.Tariff(
        import_p_per_kwh=float(campaign.import_p_per_kwh), export_p_per_kwh=float(campaign.export_p_per_kwh)
    )


FIELDS = (
    "lat",
    "lon",
    "tilt_deg",
    "azimuth_deg",
    "roof_area_m2",
    "shading",
    "fuse_a",
    "annual_use_kwh",
    "floor_area_m2",
    "ev_miles",
)


def homes_from(rows: list[dict[str, Any]]) -> dom.Homes:
    try:
        return dom.homes(
            **{
                f: (
                    np.array([r[f] for r in rows], dtype=object)
                    if f == "shading"
                    else np.array([float(r[f]) for r in rows])
                )
                for f in FIELDS
            }
        )
    except dom.OfferInputError as exc:
        raise DomainError(str(exc)) from exc


def registration_row(reg) -> dict[str, Any]:
    return {
        "lat": reg.latitude,
        "lon": reg.longitude,
        "tilt_deg": reg.tilt_deg,
        "azimuth_deg": reg.azimuth_deg,
        "roof_area_m2": reg.roof_area_m2,
        "shading": reg.shading,
        "fuse_a": reg.fuse_a,
        "annual_use_kwh": reg.annual_use_kwh,
        "floor_area_m2": reg.floor_area_m2,
        "ev_miles": reg.ev_miles or 7400,
    }


# --- ledger accounts of a campaign ------------------------------------------------------


def bank_account(campaign: Campaign) -> LedgerAccount:
    return ledger_account(
        community=campaign.community,
        code=f"purchasing:{campaign.pk}:client-account",
        name=f"{campaign.name}: client account",
        kind=LedgerAccount.Kind.ASSET,
    )


def escrow_account(campaign: Campaign) -> LedgerAccount:
    return ledger_account(
        community=campaign.community,
        code=f"purchasing:{campaign.pk}:escrow",
        name=f"{campaign.name}: deposits held in escrow",
        kind=LedgerAccount.Kind.LIABILITY,
    )


def installer_payable(campaign: Campaign, installer) -> LedgerAccount:
    return ledger_account(
        community=campaign.community,
        code=f"purchasing:{campaign.pk}:installer:{installer.pk}",
        name=f"{campaign.name}: owed to {installer.company}",
        kind=LedgerAccount.Kind.LIABILITY,
    )


def fee_income(campaign: Campaign) -> LedgerAccount:
    return ledger_account(
        community=campaign.community,
        code=f"purchasing:{campaign.pk}:fees",
        name=f"{campaign.name}: convenor's fees",
        kind=LedgerAccount.Kind.INCOME,
    )


def community_of(obj) -> Community:
    return obj.community
