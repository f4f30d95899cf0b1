"""General meetings: one member, one vote, whatever the holding.

Votes are cast online within the voting window, or entered by the secretary
for members who voted in person or by proxy; each member votes once per
resolution. The meeting is quorate when enough members took part (the rules'
quorum: the greater of a fixed number and a share of the membership).
Ordinary resolutions pass on a simple majority of votes cast for or against;
special resolutions (rule changes, dissolution) need three quarters.
Abstentions count towards the quorum, not the majority.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, Decimal

from .errors import CoopError

FOR, AGAINST, ABSTAIN = "for", "against", "abstain"
CHOICES = (FOR, AGAINST, ABSTAIN)
ORDINARY, SPECIAL = "ordinary", "special"
ONLINE, IN_PERSON, PROXY = "online", "in_person", "proxy"


def check_vote(
    *,
    member: Hashable,
    choice: str,
    at: datetime,
    opens: datetime,
    closes: datetime,
    eligible: bool,
    already_voted: bool,
    channel: str = ONLINE,
) -> None:
    if choice not in CHOICES:
        raise CoopError(f"A vote is for, against or abstain, not {choice!r}.")
    if not eligible:
        raise CoopError("Only members of the society may vote.")
    if already_voted:
        raise CoopError("This member has already voted on this resolution: one member, one vote.")
    if channel == ONLINE and not (opens <= at < closes):
        raise CoopError(
            f"Voting is open from {opens:%d %b %Y %H:%M} to {closes:%d %b %Y %H:%M} UTC; this vote is outside that window."
        )


def quorum_needed(*, members: int, quorum_min: int, quorum_fraction: Decimal) -> int:
    pct = int((Decimal(members) * Decimal(quorum_fraction)).to_integral_value(rounding=ROUND_CEILING))
    return min(members, max(quorum_min, pct)) if members else 0


@dataclass(frozen=True)
class Tally:
    votes_for: int
    votes_against: int
    abstentions: int
    turnout: int
    quorum: int
    quorate: bool
    passed: bool
    message: str


def tally(choices: Iterable[str], *, kind: str, quorum: int) -> Tally:
    f = a = ab = 0
    for c in choices:
        if c == FOR:
            f += 1
        elif c == AGAINST:
            a += 1
        elif c == ABSTAIN:
            ab += 1
        else:
            raise CoopError(f"unknown vote {c!r}")
    turnout = f + a + ab
    quorate = turnout >= quorum
    if kind == SPECIAL:
        passed = quorate and f > 0 and 4 * f >= 3 * (f + a)
        need = "three quarters of votes cast"
    elif kind == ORDINARY:
        passed = quorate and f > a
        need = "a simple majority"
    else:
        raise CoopError(f"unknown resolution kind {kind!r}")
    if not quorate:
        msg = f"Not quorate: {turnout} members voted, {quorum} needed."
    else:
        msg = f"{'Passed' if passed else 'Not passed'}: {f} for, {a} against, {ab} abstained ({need} needed)."
    return Tally(f, a, ab, turnout, quorum, quorate, passed, msg)
