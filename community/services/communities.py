"""Write paths for communities, memberships, invitations, the network tree and sites.

Each function validates, then writes inside one transaction, and records who did
it in the audit trail. Bad input raises DomainError with a message for a person.
"""

from __future__ import annotations

import hmac
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import available_timezones

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from community.errors import DomainError
from community.models import Community, Invitation, Membership, NetworkNode, Role, Site
from community.services.audit import audit_record

INVITATION_DAYS = 14


def _role(role: str) -> str:
    if role not in Role.values:
        raise DomainError(
            f"'{role}' is not a role. Roles are: {', '.join(Role.values)}.", field="role", code="unknown_role"
        )
    return role


def may_create_community(user: Any, creation_code: str | None = None) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser:
        return True
    expected = settings.COMMUNITY_CREATION_CODE
    return bool(expected and creation_code and hmac.compare_digest(str(creation_code).strip(), expected))


@transaction.atomic
def community_create(
    *,
    name: str,
    slug: str | None = None,
    timezone_name: str = "Europe/London",
    settlement_period_minutes: int = 30,
    description: str = "",
    creator: Any | None = None,
    creation_code: str | None = None,
) -> Community:
    """A new community with ``creator`` as its convenor. Starting one is a platform
    administrator's act, or anyone's who holds ``COMMUNITY_CREATION_CODE`` when it
    is set; ``creator=None`` is the platform itself (demo data, commands)."""
    if creator is not None and not may_create_community(creator, creation_code):
        raise PermissionDenied(
            "Starting a community is for the platform's administrators"
            + (", or for someone with the creation code." if settings.COMMUNITY_CREATION_CODE else ".")
        )
    name = (name or "").strip()
    if not name:
        raise DomainError("A community needs a name.", field="name")
    slug = slugify(slug or name)
    if not slug:
        raise DomainError("The community's short name must contain letters or digits.", field="slug")
    if Community.objects.filter(slug=slug).exists():
        raise DomainError(f"A community with the short name '{slug}' already exists.", field="slug")
    if timezone_name not in available_timezones():
        raise DomainError(f"'{timezone_name}' is not a time zone (e.g. Europe/London).", field="timezone")
    if settlement_period_minutes not in (5, 15, 30):
        raise DomainError("The settlement period must be 5, 15 or 30 minutes.", field="settlement_period_minutes")
    community = Community.objects.create(
        name=name,
        slug=slug,
        timezone=timezone_name,
        settlement_period_minutes=settlement_period_minutes,
        description=description,
    )
    if creator is not None and getattr(creator, "is_authenticated", False):
        Membership.objects.create(community=community, user=creator, role=Role.CONVENOR)
        Membership.objects.create(community=community, user=creator, role=Role.MEMBER)
    audit_record(
        actor=creator, action="community.create", summary=f"Created {name}", community=community, obj=community
    )
    return community


@transaction.atomic
def membership_grant(*, community: Community, user: Any, role: str, actor: Any | None = None) -> Membership:
    """Give a person a role in a community (idempotent: granting twice changes nothing)."""
    _role(role)
    membership, created = Membership.objects.get_or_create(community=community, user=user, role=role)
    if created:
        audit_record(
            actor=actor,
            action="membership.grant",
            summary=f"{user.get_full_name() or user.username} is now {membership.get_role_display()}",
            community=community,
            obj=membership,
        )
    return membership


@transaction.atomic
def membership_revoke(*, community: Community, user: Any, role: str, actor: Any | None = None) -> None:
    _role(role)
    deleted, _ = Membership.objects.filter(community=community, user=user, role=role).delete()
    if not deleted:
        raise DomainError(f"{user.username} does not hold the role '{role}' here.")
    if role == Role.CONVENOR and not Membership.objects.filter(community=community, role=Role.CONVENOR).exists():
        raise DomainError("A community must keep at least one convenor.")
    audit_record(
        actor=actor, action="membership.revoke", summary=f"{user.username} is no longer {role}", community=community
    )


@transaction.atomic
def invitation_create(
    *, community: Community, email: str, role: str = Role.MEMBER, actor: Any | None = None
) -> Invitation:
    _role(role)
    email = (email or "").strip().lower()
    if "@" not in email or "." not in email.split("@")[-1]:
        raise DomainError(f"'{email}' is not an email address.", field="email")
    User = get_user_model()
    existing = User.objects.filter(email__iexact=email).first()
    if existing and Membership.objects.filter(community=community, user=existing, role=role).exists():
        raise DomainError(f"{email} already holds that role in {community.name}.", field="email")
    if Invitation.objects.filter(
        community=community, email=email, role=role, accepted_at__isnull=True, expires_at__gt=timezone.now()
    ).exists():
        raise DomainError(f"{email} already has an open invitation for that role.", field="email")
    invitation = Invitation.objects.create(
        community=community,
        email=email,
        role=role,
        invited_by=actor if getattr(actor, "is_authenticated", False) else None,
        expires_at=timezone.now() + timedelta(days=INVITATION_DAYS),
    )
    audit_record(
        actor=actor,
        action="invitation.create",
        summary=f"Invited {email} as {role}",
        community=community,
        obj=invitation,
    )
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, user: Any) -> Membership:
    invitation = Invitation.objects.select_for_update().filter(token=token).first()
    if invitation is None:
        raise DomainError("This invitation link is not valid.")
    if invitation.accepted_at is not None:
        raise DomainError("This invitation has already been used.")
    if invitation.expires_at <= timezone.now():
        raise DomainError("This invitation has expired; ask the convenor for a new one.")
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    membership = membership_grant(community=invitation.community, user=user, role=invitation.role, actor=user)
    if invitation.role != Role.MEMBER:
        membership_grant(community=invitation.community, user=user, role=Role.MEMBER, actor=user)
    return membership


def _capacity(value: Any, label: str, field: str) -> Decimal:
    try:
        capacity = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise DomainError(f"{label} must be a number of kW.", field=field) from None
    if not capacity.is_finite():
        raise DomainError(f"{label} must be a number of kW.", field=field)
    if capacity < 0:
        raise DomainError(f"{label} cannot be below zero (got {capacity} kW).", field=field)
    return capacity.quantize(Decimal("0.1"))


@transaction.atomic
def network_node_create(
    *,
    community: Community,
    kind: str,
    name: str,
    code: str,
    import_capacity_kw: Any,
    export_capacity_kw: Any,
    parent: NetworkNode | None = None,
    actor: Any | None = None,
) -> NetworkNode:
    if kind not in NetworkNode.Kind.values:
        raise DomainError(f"'{kind}' is not a network node kind (gsp, primary or feeder).", field="kind")
    name, code = (name or "").strip(), (code or "").strip()
    if not name:
        raise DomainError("A network node needs a name.", field="name")
    if not code:
        raise DomainError("A network node needs the DNO's code for it.", field="code")
    parent_kind = NetworkNode.PARENT_KIND[NetworkNode.Kind(kind)]
    if parent_kind is None and parent is not None:
        raise DomainError("A grid supply point is the top of the tree and has no parent.", field="parent")
    if parent_kind is not None:
        if parent is None:
            raise DomainError(
                f"A {NetworkNode.Kind(kind).label.lower()} must hang off a {NetworkNode.Kind(parent_kind).label.lower()}.",
                field="parent",
            )
        if parent.community_id != community.pk:
            raise DomainError("The parent node belongs to another community.", field="parent")
        if parent.kind != parent_kind:
            raise DomainError(
                f"A {NetworkNode.Kind(kind).label.lower()} must hang off a "
                f"{NetworkNode.Kind(parent_kind).label.lower()}, not a {parent.get_kind_display().lower()}.",
                field="parent",
            )
    if NetworkNode.objects.filter(community=community, code=code).exists():
        raise DomainError(f"There is already a node with code '{code}' in this community.", field="code")
    node = NetworkNode.objects.create(
        community=community,
        kind=kind,
        name=name,
        code=code,
        parent=parent,
        import_capacity_kw=_capacity(import_capacity_kw, "Import capacity", "import_capacity_kw"),
        export_capacity_kw=_capacity(export_capacity_kw, "Export capacity", "export_capacity_kw"),
    )
    audit_record(actor=actor, action="network.create", summary=f"Added {node}", community=community, obj=node)
    return node


@transaction.atomic
def network_node_update_capacity(
    *, node: NetworkNode, import_capacity_kw: Any, export_capacity_kw: Any, actor: Any | None = None
) -> NetworkNode:
    before = {"import_kw": str(node.import_capacity_kw), "export_kw": str(node.export_capacity_kw)}
    node.import_capacity_kw = _capacity(import_capacity_kw, "Import capacity", "import_capacity_kw")
    node.export_capacity_kw = _capacity(export_capacity_kw, "Export capacity", "export_capacity_kw")
    node.save(update_fields=["import_capacity_kw", "export_capacity_kw"])
    audit_record(
        actor=actor,
        action="network.capacity",
        summary=f"Changed capacity of {node.name}",
        community=node.community,
        obj=node,
        changes={
            "before": before,
            "after": {"import_kw": str(node.import_capacity_kw), "export_kw": str(node.export_capacity_kw)},
        },
    )
    return node


def _coordinate(value: Any, label: str, field: str, bound: int) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise DomainError(f"{label} must be a number of degrees.", field=field) from None
    if not number.is_finite() or not -bound <= number <= bound:
        raise DomainError(f"{label} must be between -{bound} and {bound} degrees (got {value}).", field=field)
    return number.quantize(Decimal("0.000001"))


def _meter_point_id(value: str | None, exclude_pk: int | None = None) -> str | None:
    mpan = (value or "").replace(" ", "").strip()
    if not mpan:
        return None
    if not mpan.isdigit() or len(mpan) not in (13, 21):
        raise DomainError(
            f"'{value}' is not a meter point id: an MPAN is 13 digits (or 21 with its supplement).",
            field="meter_point_id",
        )
    clash = Site.objects.filter(meter_point_id=mpan).exclude(pk=exclude_pk).first()
    if clash is not None:
        raise DomainError(f"Meter point {mpan} is already registered to another site.", field="meter_point_id")
    return mpan


SITE_FIELDS = (
    "kind",
    "name",
    "address",
    "postcode",
    "latitude",
    "longitude",
    "meter_point_id",
    "network_node",
    "annual_consumption_kwh",
)


def _clean_site(community: Community, data: dict[str, Any], exclude_pk: int | None = None) -> dict[str, Any]:
    kind = data.get("kind") or Site.Kind.HOME
    if kind not in Site.Kind.values:
        raise DomainError(f"'{kind}' is not a kind of site ({', '.join(Site.Kind.values)}).", field="kind")
    name = (data.get("name") or "").strip()
    address = (data.get("address") or "").strip()
    postcode = (data.get("postcode") or "").strip().upper()
    if not name:
        raise DomainError("A site needs a name.", field="name")
    if not address:
        raise DomainError("A site needs an address.", field="address")
    if not postcode or len(postcode) > 10:
        raise DomainError("A site needs a postcode (e.g. SW1A 1AA).", field="postcode")
    node = data.get("network_node")
    if not isinstance(node, NetworkNode) or node.community_id != community.pk:
        raise DomainError("The site must hang off a network node (feeder) of this community.", field="network_node")
    if node.kind != NetworkNode.Kind.FEEDER:
        raise DomainError("Sites connect to a feeder (secondary substation), not higher up.", field="network_node")
    annual = data.get("annual_consumption_kwh")
    if annual in ("", None):
        annual = None
    else:
        try:
            annual = int(annual)
        except (TypeError, ValueError):
            raise DomainError(
                "Annual consumption must be a whole number of kWh.", field="annual_consumption_kwh"
            ) from None
        if annual < 0:
            raise DomainError("Annual consumption cannot be negative.", field="annual_consumption_kwh")
    return {
        "kind": kind,
        "name": name,
        "address": address,
        "postcode": postcode,
        "latitude": _coordinate(data.get("latitude"), "Latitude", "latitude", 90),
        "longitude": _coordinate(data.get("longitude"), "Longitude", "longitude", 180),
        "meter_point_id": _meter_point_id(data.get("meter_point_id"), exclude_pk),
        "network_node": node,
        "annual_consumption_kwh": annual,
    }


@transaction.atomic
def site_create(*, community: Community, actor: Any | None = None, occupants: list | None = None, **data: Any) -> Site:
    unknown = set(data) - set(SITE_FIELDS)
    if unknown:
        raise DomainError(f"Unknown site field(s): {', '.join(sorted(unknown))}.")
    cleaned = _clean_site(community, data)
    try:
        with transaction.atomic():
            site = Site.objects.create(community=community, **cleaned)
    except IntegrityError:
        raise DomainError("That meter point id is already registered.", field="meter_point_id") from None
    if occupants:
        site_set_occupants(site=site, occupants=occupants, actor=actor)
    audit_record(actor=actor, action="site.create", summary=f"Added site {site.name}", community=community, obj=site)
    return site


@transaction.atomic
def site_update(*, site: Site, actor: Any | None = None, **data: Any) -> Site:
    merged = {f: getattr(site, f) for f in SITE_FIELDS}
    merged.update(data)
    cleaned = _clean_site(site.community, merged, exclude_pk=site.pk)
    changes = {f: [str(getattr(site, f)), str(v)] for f, v in cleaned.items() if getattr(site, f) != v}
    for f, v in cleaned.items():
        setattr(site, f, v)
    site.save()
    audit_record(
        actor=actor,
        action="site.update",
        summary=f"Edited site {site.name}",
        community=site.community,
        obj=site,
        changes=changes,
    )
    return site


@transaction.atomic
def site_set_occupants(*, site: Site, occupants: list, actor: Any | None = None) -> Site:
    members = set(
        Membership.objects.filter(community=site.community, user__in=occupants).values_list("user_id", flat=True)
    )
    outsiders = [u for u in occupants if u.pk not in members]
    if outsiders:
        raise DomainError(
            f"{', '.join(u.username for u in outsiders)} must join {site.community.name} before living at one of its sites.",
            field="occupants",
        )
    site.occupants.set(occupants)
    audit_record(
        actor=actor,
        action="site.occupants",
        summary=f"Set occupants of {site.name}",
        community=site.community,
        obj=site,
        changes={"occupants": [u.username for u in occupants]},
    )
    return site
