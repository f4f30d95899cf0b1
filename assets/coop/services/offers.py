"""Share offers: applications, payments (manual and bank statement), allotment at close."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from community.errors import DomainError
from community.services.audit import audit_record
from community.services.ledger import EntrySpec, ledger_post, ledger_post_many

from ..domain import allotment as dom
from ..domain import bank
from ..domain.bank import check_bank_details
from ..domain.money import from_pennies, to_pennies
from ..models import Application, Member, Payment, ShareOffer, ShareTransaction, Society
from ._common import SOURCE, domain_errors, member_account, money, society_account
from .society import holding_of, member_admit


def terms_of(offer: ShareOffer) -> dom.OfferTerms:
    return dom.OfferTerms(
        offer.min_raise, offer.target_raise, offer.max_raise, offer.min_application, offer.max_application
    )


def _utc_noon(d: date) -> datetime:
    return timezone.make_aware(datetime.combine(d, time(12)))


@transaction.atomic
def offer_create(
    *,
    society: Society,
    title: str,
    code: str,
    opens_on: date,
    closes_on: date,
    min_raise: Decimal,
    target_raise: Decimal,
    max_raise: Decimal,
    min_application: Decimal,
    max_application: Decimal,
    summary: str = "",
    scale_back: str = ShareOffer.Method.PRO_RATA,
    document: Any = None,
    actor: Any | None = None,
) -> ShareOffer:
    title = (title or "").strip()
    code = (code or "").strip().upper()
    if not title:
        raise DomainError("A share offer needs a title.", field="title")
    if not code.isalnum() or len(code) > 10:
        raise DomainError("The reference code is up to 10 letters or digits, e.g. SOL.", field="code")
    if ShareOffer.objects.filter(society=society, code=code).exists():
        raise DomainError(f"The code {code} is already used by another offer.", field="code")
    if closes_on < opens_on:
        raise DomainError("The offer must close after it opens.", field="closes_on")
    if scale_back not in ShareOffer.Method.values:
        raise DomainError("Unknown scale-back method.", field="scale_back")
    terms = dom.OfferTerms(
        *(
            money(v, what=w, positive=False)
            for v, w in (
                (min_raise, "minimum raise"),
                (target_raise, "target"),
                (max_raise, "maximum raise"),
                (min_application, "minimum application"),
                (max_application, "maximum application"),
            )
        )
    )
    problems = dom.offer_terms_problems(society.rules(), terms)
    if problems:
        raise DomainError(" ".join(problems))
    offer = ShareOffer.objects.create(
        society=society,
        title=title,
        code=code,
        summary=summary,
        opens_on=opens_on,
        closes_on=closes_on,
        min_raise=terms.min_raise,
        target_raise=terms.target_raise,
        max_raise=terms.max_raise,
        min_application=terms.min_application,
        max_application=terms.max_application,
        scale_back=scale_back,
        status=ShareOffer.Status.OPEN,
    )
    if document:
        offer.document.save(document.name, document, save=True)
    audit_record(
        actor=actor,
        action="coop.offer_create",
        summary=f"Opened share offer {title}",
        community=society.community,
        obj=offer,
    )
    return offer


def _member_for_user(society: Society, user: Any) -> Member | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return Member.objects.filter(society=society, user=user, status=Member.Status.ACTIVE).first()


@transaction.atomic
def application_submit(
    *,
    offer: ShareOffer,
    amount: Decimal,
    today: date,
    user: Any | None = None,
    full_name: str = "",
    email: str = "",
    address: str = "",
    postcode: str = "",
    date_of_birth: date | None = None,
    sort_code: str = "",
    account_number: str = "",
    member: Member | None = None,
) -> Application:
    """An application from a member (details from the register) or a new member (details given)."""
    offer = ShareOffer.objects.select_for_update().get(pk=offer.pk)
    society = offer.society
    if offer.status != ShareOffer.Status.OPEN:
        raise DomainError("This share offer is closed.")
    if not (offer.opens_on <= today <= offer.closes_on):
        raise DomainError(
            f"This offer takes applications from {offer.opens_on:%d %b %Y} to {offer.closes_on:%d %b %Y}."
        )
    amount = money(amount, what="application", field="amount")
    member = member or _member_for_user(society, user)
    if member is not None:
        full_name, email, address, postcode = member.full_name, member.email, member.address, member.postcode
        date_of_birth = member.date_of_birth
        sort_code, account_number = member.sort_code, member.account_number
        existing = holding_of(member)
    else:
        missing = [
            n
            for n, v in (("full name", full_name), ("email", email), ("address", address), ("postcode", postcode))
            if not (v or "").strip()
        ]
        if missing:
            raise DomainError(f"The register needs your {', '.join(missing)}.", field="full_name")
        existing = Decimal(0)
    if sort_code or account_number:
        with domain_errors("sort_code"):
            sort_code, account_number = check_bank_details(sort_code, account_number)
    # other applications still pending in this society count towards the holding cap
    pending = Application.objects.filter(offer__society=society, status=Application.Status.PENDING)
    pending = pending.filter(Q(member=member) if member else Q(email__iexact=email.strip()))
    existing += pending.aggregate(s=Sum("amount"))["s"] or Decimal(0)
    with domain_errors("amount"):
        dom.check_application(society.rules(), terms_of(offer), amount=amount, existing_holding=existing)
    n = Application.objects.filter(offer=offer).count() + 1
    app = Application.objects.create(
        offer=offer,
        reference=f"{offer.code}-{n:04d}",
        member=member,
        user=user if getattr(user, "is_authenticated", False) else None,
        full_name=full_name.strip(),
        email=email.strip(),
        address=address.strip(),
        postcode=postcode.strip().upper(),
        date_of_birth=date_of_birth,
        sort_code=sort_code,
        account_number=account_number,
        amount=amount,
    )
    audit_record(
        actor=user,
        action="coop.application_submit",
        summary=f"Application {app.reference} for £{amount:,} in {offer}",
        community=society.community,
        obj=app,
    )
    return app


def _post_payment(pay: Payment, actor: Any) -> None:
    society = pay.application.offer.society
    entry = ledger_post(
        community=society.community,
        lines=[(society_account(society, "bank"), pay.amount), (society_account(society, "applications"), -pay.amount)],
        memo=f"Payment for share application {pay.application.reference}",
        source=SOURCE,
        reference=pay.application.reference,
        idempotency_key=f"coop:payment:{pay.pk}",
        effective_at=_utc_noon(pay.received_on),
        actor=actor,
    )
    pay.journal_entry = entry
    pay.save(update_fields=["journal_entry"])


def _check_payable(app: Application) -> None:
    if app.offer.status != ShareOffer.Status.OPEN:
        raise DomainError(f"The offer for {app.reference} is closed: record no more payments against it.")
    if app.status != Application.Status.PENDING:
        raise DomainError(f"Application {app.reference} is {app.get_status_display().lower()}.")


@transaction.atomic
def payment_record(
    *, application: Application, amount: Decimal, received_on: date, actor: Any | None = None
) -> Payment:
    app = Application.objects.select_for_update().select_related("offer__society").get(pk=application.pk)
    _check_payable(app)
    amount = money(amount, what="payment", field="amount")
    pay = Payment.objects.create(
        application=app,
        amount=amount,
        received_on=received_on,
        method=Payment.Method.MANUAL,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    app.paid += amount
    app.save(update_fields=["paid"])
    _post_payment(pay, actor)
    audit_record(
        actor=actor,
        action="coop.payment_record",
        summary=f"£{amount:,} received for {app.reference}",
        community=app.offer.society.community,
        obj=pay,
    )
    return pay


@dataclass
class StatementResult:
    matched: list[tuple[bank.StatementRow, Application]] = field(default_factory=list)
    errors: list[bank.RowError] = field(default_factory=list)
    duplicates: list[bank.StatementRow] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return from_pennies(sum(r.pennies for r, _ in self.matched))


def statement_match(*, offer: ShareOffer, text: str) -> StatementResult:
    """Read a bank statement and match it to the offer's applications (writes nothing)."""
    with domain_errors("statement"):
        rows, errors = bank.parse_statement(text)
    apps = {a.reference: a for a in offer.applications.all()}
    seen = set(
        Payment.objects.filter(application__offer__society=offer.society)
        .exclude(bank_fingerprint="")
        .values_list("bank_fingerprint", flat=True)
    )
    matches, unmatched, dupes = bank.match_statement(rows, {ref: ref for ref in apps}, already_imported=seen)
    result = StatementResult(errors=sorted(errors + unmatched, key=lambda e: e.line), duplicates=dupes)
    for m in matches:
        app = apps[m.key]
        if app.status != Application.Status.PENDING:
            result.errors.append(bank.RowError(m.row.line, f"{app.reference} is {app.get_status_display().lower()}"))
        else:
            result.matched.append((m.row, app))
    result.errors.sort(key=lambda e: e.line)
    return result


@transaction.atomic
def statement_import(*, offer: ShareOffer, text: str, actor: Any | None = None) -> StatementResult:
    """Record every matched credit as a payment; rows that do not match are reported and not written.

    Importing the same statement twice adds nothing (bank transaction fingerprints)."""
    offer = ShareOffer.objects.select_for_update().get(pk=offer.pk)
    if offer.status != ShareOffer.Status.OPEN:
        raise DomainError("This share offer is closed: import no more payments against it.")
    result = statement_match(offer=offer, text=text)
    if not result.matched:
        raise DomainError("No line of the statement matches an application: nothing was imported.", field="statement")
    for row, app in result.matched:
        app = Application.objects.select_for_update().get(pk=app.pk)
        pay = Payment.objects.create(
            application=app,
            amount=from_pennies(row.pennies),
            received_on=row.day,
            method=Payment.Method.STATEMENT,
            bank_fingerprint=row.fingerprint[:200],
            bank_text=row.text[:300],
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        app.paid += pay.amount
        app.save(update_fields=["paid"])
        _post_payment(pay, actor)
    audit_record(
        actor=actor,
        action="coop.statement_import",
        summary=f"Imported {len(result.matched)} payments (£{result.total:,}) for {offer}; "
        f"{len(result.errors)} lines not matched",
        community=offer.society.community,
        obj=offer,
    )
    return result


def allotment_preview(offer: ShareOffer) -> tuple[dom.AllotmentResult, list[Application]]:
    society = offer.society
    apps = list(offer.applications.filter(status=Application.Status.PENDING).select_related("member"))
    rows = []
    for a in apps:
        existing = to_pennies(holding_of(a.member)) if a.member_id else 0
        rows.append(dom.Application(a.pk, to_pennies(a.amount), to_pennies(a.paid), existing))
    with domain_errors():
        result = dom.allot(society.rules(), terms_of(offer), rows, method=offer.scale_back)
    return result, apps


@transaction.atomic
def offer_close(
    *, offer: ShareOffer, today: date, actor: Any | None = None, early: bool = False
) -> dom.AllotmentResult:
    """Close the offer: allot shares (scaling back if oversubscribed) and refund the rest,
    or return all money if the minimum was not raised. All or nothing.

    Before the advertised closing date the treasurer must say so (``early=True``):
    people may still mean to apply, so an early close is deliberate, never a slip."""
    if today < offer.closes_on and not early:
        raise DomainError(
            f"The offer is advertised as open until {offer.closes_on:%d %b %Y} "
            f"({(offer.closes_on - today).days} days from now): confirm that you mean to close it early.",
            field="early",
        )
    if not ShareOffer.objects.filter(pk=offer.pk, status=ShareOffer.Status.OPEN).update(
        status=ShareOffer.Status.ALLOTTED, closed_at=timezone.now()
    ):
        raise DomainError("This offer has already been closed.")
    offer.refresh_from_db()
    society = offer.society
    result, apps = allotment_preview(offer)
    by_pk = {a.pk: a for a in apps}
    bank_acc = society_account(society, "bank")
    held_acc = society_account(society, "applications")
    when = _utc_noon(today)
    entries = []
    share_rows = []
    for line in result.lines:
        app = by_pk[line.key]
        allotted, refund = from_pennies(line.allotted), from_pennies(line.refund)
        app.shares_allotted = line.shares
        app.refund = refund
        if line.shares:
            member = app.member
            if member is None:
                member = Member.objects.filter(society=society, user=app.user).first() if app.user_id else None
            if member is not None and member.status != Member.Status.ACTIVE:
                # a former member who sold out and now re-joins keeps their membership number
                member.status, member.ceased_on = Member.Status.ACTIVE, None
                member.save(update_fields=["status", "ceased_on"])
            if member is None:
                member = member_admit(
                    society=society,
                    full_name=app.full_name,
                    email=app.email,
                    address=app.address,
                    postcode=app.postcode,
                    admitted_on=today,
                    user=app.user,
                    date_of_birth=app.date_of_birth,
                    sort_code=app.sort_code,
                    account_number=app.account_number,
                )
            app.member = member
            app.status = Application.Status.ALLOTTED
            lines = [(held_acc, app.paid), (member_account(member), -allotted)]
            if refund:
                lines.append((bank_acc, -refund))
            entries.append(
                EntrySpec(
                    lines=lines,
                    memo=f"Shares allotted for {app.reference}" + (f", £{refund:,} refunded" if refund else ""),
                    source=SOURCE,
                    reference=app.reference,
                    idempotency_key=f"coop:allot:{app.pk}",
                    effective_at=when,
                )
            )
            share_rows.append(
                ShareTransaction(
                    society=society,
                    member=member,
                    day=today,
                    kind=ShareTransaction.Kind.ALLOT,
                    shares=line.shares,
                    amount=allotted,
                    offer=offer,
                    note=app.reference,
                )
            )
        else:
            app.status = Application.Status.REFUNDED if app.paid else Application.Status.LAPSED
            if app.paid:
                entries.append(
                    EntrySpec(
                        lines=[(held_acc, app.paid), (bank_acc, -app.paid)],
                        memo=f"Application money returned for {app.reference}",
                        source=SOURCE,
                        reference=app.reference,
                        idempotency_key=f"coop:refund:{app.pk}",
                        effective_at=when,
                    )
                )
        app.save(update_fields=["shares_allotted", "refund", "member", "status"])
    posted = ledger_post_many(community=society.community, entries=entries, actor=actor) if entries else []
    by_ref = {e.reference: e for e in posted}
    for row in share_rows:
        row.journal_entry = by_ref.get(row.note)
    ShareTransaction.objects.bulk_create(share_rows)
    offer.status = ShareOffer.Status.ALLOTTED if result.succeeded else ShareOffer.Status.FAILED
    offer.allotted_on = today if result.succeeded else None
    offer.result_message = result.message[:300]
    offer.save(update_fields=["status", "allotted_on", "result_message"])
    audit_record(actor=actor, action="coop.offer_close", summary=result.message, community=society.community, obj=offer)
    return result
