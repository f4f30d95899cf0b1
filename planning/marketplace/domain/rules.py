"""The marketplace's rules as plain functions (no Django): budgets that add up,
eligibility, weighted scores, crowdfunding fees, match funding and outcomes.

Money is ``Decimal`` pounds rounded to the penny (ROUND_HALF_UP); a score is an
integer 0..scale_max; a weighted total is a percentage of the best possible
score, 0–100, to one decimal place.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation

PENNY = Decimal("0.01")
FEE_MIN = Decimal("0.03")
FEE_MAX = Decimal("0.05")


class RuleError(ValueError):
    """Bad input, with the field it is about (``None`` = the whole form)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def pounds(value, *, what: str = "amount", field: str | None = None, allow_zero: bool = False) -> Decimal:
    try:
        d = Decimal(str(value).replace(",", "").replace("£", "").strip())
    except (InvalidOperation, ValueError):
        raise RuleError(f"The {what} must be a sum in pounds, e.g. 1250.00.", field) from None
    if not d.is_finite():
        raise RuleError(f"The {what} must be a sum in pounds.", field)
    if d != d.quantize(PENNY):
        raise RuleError(f"The {what} must be in whole pence.", field)
    if d < 0 or (d == 0 and not allow_zero):
        raise RuleError(f"The {what} must be more than £0.", field)
    return d.quantize(PENNY)


# --- budgets and milestones -----------------------------------------------------------


def parse_lines(text: str, *, columns: int, what: str, field: str) -> list[list[str]]:
    rows = []
    for n, raw in enumerate((text or "").splitlines(), start=1):
        if not raw.strip():
            continue
        parts = [p.strip() for p in raw.split("|")]
        if len(parts) != columns:
            raise RuleError(f"{what} line {n} needs {columns} parts separated by '|': {raw.strip()!r}.", field)
        rows.append(parts)
    return rows


def parse_budget(text: str) -> list[dict]:
    """'Category | what for | 1200.00' a line → [{"category", "description", "amount"}] (amount as a string)."""
    out = []
    for n, (category, description, amount) in enumerate(
        parse_lines(text, columns=3, what="Budget", field="budget_text"), start=1
    ):
        if not category:
            raise RuleError(f"Budget line {n} needs a category.", "budget_text")
        try:
            value = pounds(amount, what=f"amount on budget line {n}")
        except RuleError as exc:
            raise RuleError(str(exc), "budget_text") from None
        out.append({"category": category, "description": description, "amount": str(value)})
    return out


def parse_milestones(text: str) -> list[dict]:
    """'Title | 2027-03-31 | 2000.00' a line → [{"title", "due_on", "amount"}]."""
    out = []
    for n, (title, due, amount) in enumerate(
        parse_lines(text, columns=3, what="Milestone", field="milestones_text"), start=1
    ):
        if not title:
            raise RuleError(f"Milestone {n} needs a title.", "milestones_text")
        try:
            due_on = date.fromisoformat(due)
        except ValueError:
            raise RuleError(f"Milestone {n}: the due date must look like 2027-03-31.", "milestones_text") from None
        try:
            value = pounds(amount, what=f"payment at milestone {n}", allow_zero=True)
        except RuleError as exc:
            raise RuleError(str(exc), "milestones_text") from None
        out.append({"title": title, "due_on": due_on.isoformat(), "amount": str(value)})
    return out


def total(rows: Iterable[Mapping]) -> Decimal:
    return sum((Decimal(r["amount"]) for r in rows), Decimal("0.00"))


def check_budget(*, requested: Decimal, lines: Sequence[Mapping], milestones: Sequence[Mapping], max_award: Decimal):
    """Raise unless the budget lines and the milestone payments both add up to the sum requested."""
    if requested <= 0:
        raise RuleError("Say how much you are asking for.", "requested")
    if requested > max_award:
        raise RuleError(
            f"This call awards at most £{max_award:,} to one project; you asked for £{requested:,}.", "requested"
        )
    if not lines:
        raise RuleError("Add the budget: one line per cost, 'Category | what for | amount'.", "budget_text")
    lines_total = total(lines)
    if lines_total != requested:
        gap = requested - lines_total
        differs = f"£{gap:,} short" if gap > 0 else f"£{-gap:,} over"
        raise RuleError(
            f"The budget lines add up to £{lines_total:,} but you ask for £{requested:,} ({differs}).",
            "budget_text",
        )
    if not milestones:
        raise RuleError("Add at least one milestone: 'Title | due date | payment'.", "milestones_text")
    paid = total(milestones)
    if paid != requested:
        raise RuleError(
            f"The milestone payments add up to £{paid:,}; they must add up to the £{requested:,} you ask for.",
            "milestones_text",
        )


def eligibility_failures(questions: Sequence[Mapping], answers: Mapping[str, object]) -> list[str]:
    """The questions whose answer makes the proposal ineligible (unanswered counts as a failure)."""
    failures = []
    for q in questions:
        given = answers.get(q["id"])
        if given is None:
            failures.append(f"Not answered: {q['text']}")
        elif bool(given) != bool(q.get("must_be", True)):
            failures.append(f"Not eligible: {q['text']} (the call needs '{'yes' if q.get('must_be', True) else 'no'}')")
    return failures


# --- scoring --------------------------------------------------------------------------


@dataclass(frozen=True)
class Rubric:
    id: int
    name: str
    weight: int
    scale_max: int


def weighted_total(criteria: Sequence[Rubric], scores: Mapping[str, object], *, partial: bool = False) -> Decimal:
    """Σ weight·score / Σ weight·max as a percentage (one decimal). With ``partial``
    unscored criteria count as 0 (the live preview); otherwise every one must be scored."""
    if not criteria:
        raise RuleError("This call has no assessment criteria yet.")
    got = 0
    best = 0
    for c in criteria:
        raw = scores.get(str(c.id))
        best += c.weight * c.scale_max
        if raw in (None, ""):
            if partial:
                continue
            raise RuleError(f"Score '{c.name}' (0–{c.scale_max}).", f"score_{c.id}")
        try:
            value = int(str(raw))
        except ValueError:
            raise RuleError(f"'{c.name}' must be a whole number from 0 to {c.scale_max}.", f"score_{c.id}") from None
        if not 0 <= value <= c.scale_max:
            raise RuleError(f"'{c.name}' is scored 0 to {c.scale_max}; {value} is off the scale.", f"score_{c.id}")
        got += c.weight * value
    return (Decimal(100 * got) / Decimal(best)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


# --- money ----------------------------------------------------------------------------


def needs_second_approval(amount: Decimal, threshold: Decimal) -> bool:
    return amount > threshold


def platform_fee(raised: Decimal, rate: Decimal) -> Decimal:
    if not FEE_MIN <= rate <= FEE_MAX:
        raise RuleError("The platform fee is between 3% and 5% of what is raised (seed 002 C.2).", "fee_rate")
    return (raised * rate).quantize(PENNY, rounding=ROUND_HALF_UP)


def match_amount(*, raised: Decimal, ratio: Decimal, cap: Decimal, available: Decimal) -> Decimal:
    """£ratio for each £1 raised, up to the cap and never beyond what the fund holds (rounded down)."""
    wanted = (raised * ratio).quantize(PENNY, rounding=ROUND_DOWN)
    return max(Decimal("0.00"), min(wanted, cap, available))


def campaign_succeeds(*, mode: str, raised: Decimal, target: Decimal) -> bool:
    """All-or-nothing needs the target; keep-what-you-raise keeps anything raised."""
    if mode == "aon":
        return raised >= target
    return raised > 0


def vote_passes(yes: int, no: int) -> bool:
    return yes > no


def scale_tranches(amounts: Sequence[Decimal], award: Decimal) -> list[Decimal]:
    """Scale milestone payments to an award smaller than asked, to the penny, adding up exactly
    (largest remainder: the pennies left over go to the largest fractional parts)."""
    asked = sum(amounts, Decimal(0))
    if asked <= 0:
        return [Decimal("0.00") for _ in amounts]
    pennies = int(award / PENNY)
    raw = [Decimal(a) / asked * pennies for a in amounts]
    floors = [int(r) for r in raw]
    left = pennies - sum(floors)
    order = sorted(range(len(raw)), key=lambda i: (raw[i] - floors[i], -i), reverse=True)
    for i in order[:left]:
        floors[i] += 1
    return [Decimal(f) * PENNY for f in floors]
