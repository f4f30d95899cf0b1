"""Personal data rights (GDPR; seed 001): a person's copy of everything the
platform holds about them, and an administrator's erasure of a person.

``community`` imports no other app, so both work from Django's model registry:

- **Export** walks every table that points at the person (a foreign key or a
  many-to-many to the user: memberships, consents, co-op membership, market
  participation, enrolments, proposals, ...), the homes they live in, and what
  hangs off those homes (devices, meters and their readings, commands). Secrets
  (password hashes, API tokens, MQTT credential hashes, ledger hashes) are never
  exported. An app may add more with ``<app>.gdpr.personal_data(user)``.
- **Erasure** pseudonymises the person (name, email and username replaced, no
  password, inactive), blanks personal fields (full name, email, address, bank
  details, ...) on every row that points at them, withdraws their consents,
  deletes their API token and memberships, removes them from their homes, and
  calls ``<app>.gdpr.erase_person(user, actor)`` (assets revokes the MQTT
  credentials of their home's devices). Money history is kept as it is: journal
  entries are not touched (the hash chain still verifies) and ledger accounts
  stay, renamed to the pseudonym.
"""

from __future__ import annotations

import importlib
import importlib.util
import io
import secrets as pysecrets
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.utils import timezone

from community import csvsafe
from community.errors import DomainError
from community.models import (
    AuditEvent,
    Community,
    ConsentRecord,
    Invitation,
    LedgerAccount,
    Membership,
    Site,
)
from community.services.audit import audit_record

# Never part of an export: credentials and integrity hashes.
SECRET_FIELD_PARTS = ("password", "token", "key", "secret", "hash", "credential")
# Blanked (or replaced by the pseudonym where a value is required) on erasure.
PERSONAL_FIELDS = {
    "first_name",
    "last_name",
    "full_name",
    "email",
    "phone",
    "telephone",
    "address",
    "postcode",
    "date_of_birth",
    "sort_code",
    "account_number",
    "account_name",
    "bank_account",
    "owner_name",
}
# Rows per table in an export: a year of half-hourly readings for two meters fits.
MAX_ROWS_PER_TABLE = 50_000


def _secret(field: models.Field) -> bool:
    name = field.name.lower()
    return any(part in name for part in SECRET_FIELD_PARTS)


def _value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, bytes | memoryview):
        return f"<{len(bytes(value))} bytes>"
    return value


def _row(obj: models.Model) -> dict[str, Any]:
    row = {}
    for field in obj._meta.concrete_fields:
        if _secret(field):
            continue
        row[field.attname if field.is_relation else field.name] = _value(getattr(obj, field.attname))
    return row


def _rows(qs: models.QuerySet) -> list[dict[str, Any]]:
    return [_row(o) for o in qs.order_by("pk")[:MAX_ROWS_PER_TABLE]]


def _pointing_at(model: type[models.Model]) -> list[tuple[type[models.Model], str]]:
    """(model, lookup) for every table with a foreign key or many-to-many to ``model``."""
    found = []
    for rel in model._meta.related_objects:
        if rel.related_model._meta.app_label in {"admin", "sessions", "authtoken", "axes"}:
            continue
        found.append((rel.related_model, rel.field.name))
    return found


def _label(model: type[models.Model]) -> str:
    return model._meta.label_lower


def _hooks(func_name: str):
    for config in apps.get_app_configs():
        if config.name == "community":
            continue
        module_name = f"{config.name}.gdpr"
        try:
            if importlib.util.find_spec(module_name) is None:
                continue
        except ModuleNotFoundError:
            continue
        func = getattr(importlib.import_module(module_name), func_name, None)
        if func is not None:
            yield func


def personal_data_export(*, user: Any) -> dict[str, Any]:
    """Everything held about ``user``: ``{"person": {...}, "tables": {label: [rows]}}``."""
    person = {
        "id": user.pk,
        "username": user.get_username(),
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "date_joined": _value(user.date_joined),
        "last_login": _value(user.last_login),
        "is_active": user.is_active,
    }
    tables: dict[str, list[dict[str, Any]]] = {}

    def add(label: str, rows: list[dict[str, Any]]) -> None:
        if rows:
            existing = tables.setdefault(label, [])
            seen = {r.get("id") for r in existing}
            existing.extend(r for r in rows if r.get("id") not in seen or r.get("id") is None)

    for model, lookup in _pointing_at(get_user_model()):
        add(_label(model), _rows(model.objects.filter(**{lookup: user}).distinct()))
    # Their homes, and what hangs off them (devices, meters) and off those (readings, telemetry, commands).
    sites = Site.objects.filter(occupants=user)
    for model, lookup in _pointing_at(Site):
        qs = model.objects.filter(**{f"{lookup}__in": sites}).distinct()
        add(_label(model), _rows(qs))
        for child, child_lookup in _pointing_at(model):
            add(_label(child), _rows(child.objects.filter(**{f"{child_lookup}__in": qs}).distinct()))
    for hook in _hooks("personal_data"):
        for label, rows in (hook(user) or {}).items():
            add(label, rows)
    return {
        "generated_at": timezone.now().isoformat(),
        "person": person,
        "tables": dict(sorted(tables.items())),
    }


def export_csv_rows(export: dict[str, Any]) -> Iterator[list[Any]]:
    """One long table: table, row number, field, value (opens in any spreadsheet)."""
    yield ["table", "row", "field", "value"]
    for field, value in export["person"].items():
        yield ["person", 1, field, value]
    for label, rows in export["tables"].items():
        for n, row in enumerate(rows, start=1):
            for field, value in row.items():
                yield [label, n, field, value if not isinstance(value, dict | list) else repr(value)]


def export_csv(export: dict[str, Any]) -> str:
    buf = io.StringIO()
    csvsafe.writer(buf, lineterminator="\n").writerows(export_csv_rows(export))
    return buf.getvalue()


def consents_of(user: Any) -> list[ConsentRecord]:
    return list(ConsentRecord.objects.filter(user=user).select_related("community").order_by("-granted_at"))


def _pseudonym(user: Any) -> str:
    return f"erased-{user.pk}-{pysecrets.token_hex(3)}"


def _blank_personal_fields(obj: models.Model, pseudonym: str) -> list[str]:
    changed = []
    for field in obj._meta.concrete_fields:
        if field.name not in PERSONAL_FIELDS or field.is_relation:
            continue
        if not isinstance(field, models.CharField | models.TextField):
            continue
        if field.name == "email":
            value = "" if field.blank else f"{pseudonym}@erased.invalid"
        else:
            value = "" if field.blank else pseudonym[: field.max_length or 64]
        if getattr(obj, field.name) != value:
            setattr(obj, field.name, value)
            changed.append(field.name)
    return changed


@transaction.atomic
def person_erase(*, user: Any, actor: Any, reason: str) -> str:
    """Erase ``user`` (a platform administrator's act; returns the pseudonym).

    Idempotent: erasing an erased person changes nothing more."""
    if not getattr(actor, "is_superuser", False):
        raise PermissionDenied("Only a platform administrator can erase a person.")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Say why this person is erased (e.g. their request and its date).", field="reason")
    if user.pk == actor.pk:
        raise DomainError("An administrator cannot erase their own account.", field="user")
    User = get_user_model()
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.username.startswith("erased-") and not user.is_active:
        return user.username
    # the audit trail names people by full name (and invitations by email); a username may be a common word
    old_names = sorted({n for n in (user.get_full_name(), user.email) if n and len(n) >= 3}, key=len, reverse=True)
    pseudonym = _pseudonym(user)
    now = timezone.now()
    communities = list(Membership.objects.filter(user=user).values_list("community_id", flat=True).distinct())

    # 1. credentials and access
    for hook in _hooks("erase_person"):
        hook(user, actor)
    from rest_framework.authtoken.models import Token

    Token.objects.filter(user=user).delete()
    Membership.objects.filter(user=user).delete()
    for site in Site.objects.filter(occupants=user):
        site.occupants.remove(user)
    ConsentRecord.objects.filter(user=user, withdrawn_at__isnull=True).update(withdrawn_at=now)
    if user.email:
        Invitation.objects.filter(email__iexact=user.email).update(email=f"{pseudonym}@erased.invalid")

    # 2. personal fields on every row that points at them (co-op register, installers, ...)
    for model, lookup in _pointing_at(User):
        if model is Site:
            continue
        for obj in model.objects.filter(**{lookup: user}).distinct():
            changed = _blank_personal_fields(obj, pseudonym)
            if changed:
                model.objects.filter(pk=obj.pk).update(**{f: getattr(obj, f) for f in changed})

    # 3. names in the ledger's account names and the audit trail (journal entries untouched)
    for account in LedgerAccount.objects.filter(user=user):
        account.name = pseudonym
        account.save(update_fields=["name"])
    named = models.Q(actor=user)
    for name in old_names:
        named |= models.Q(summary__contains=name)
    for event in AuditEvent.objects.filter(named):
        summary = event.summary
        for name in old_names:
            summary = summary.replace(name, pseudonym)
        if summary != event.summary:
            AuditEvent.objects.filter(pk=event.pk).update(summary=summary[:300])

    # 4. the person
    user.username = pseudonym
    user.first_name = ""
    user.last_name = ""
    user.email = ""
    user.is_active = False
    user.is_staff = False
    user.set_unusable_password()
    user.save()
    for community_id in communities or [None]:
        audit_record(
            actor=actor,
            action="person.erase",
            summary=f"Erased a person's personal data ({pseudonym}): {reason}"[:300],
            community=None if community_id is None else Community.objects.get(pk=community_id),
            obj=user,
        )
    return pseudonym
