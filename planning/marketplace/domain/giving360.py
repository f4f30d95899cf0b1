"""Awarded grants in the 360Giving data standard (https://standard.threesixtygiving.org).

Plain rows in, the standard's JSON package and its CSV (the "flattened" form
whose column titles are the standard's, e.g. ``Recipient Org:Identifier``) out.
Identifiers take the publisher's 360G prefix: ``360G-<prefix>-<local id>``;
unregistered community groups are identified inside the same prefix
(``360G-<prefix>-ORG-<slug>``) as the standard's guidance allows.
"""

from __future__ import annotations

import functools
import io
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from community import csvsafe

_NOT_ALNUM = re.compile(r"[^0-9a-z]+")
CSV_COLUMNS = [
    "Identifier",
    "Title",
    "Description",
    "Currency",
    "Amount Awarded",
    "Award Date",
    "Planned Dates:Start Date",
    "Planned Dates:End Date",
    "Recipient Org:Identifier",
    "Recipient Org:Name",
    "Funding Org:Identifier",
    "Funding Org:Name",
    "Grant Programme:Code",
    "Grant Programme:Title",
    "Beneficiary Location:Name",
    "Last Modified",
    "Data Source",
]


@dataclass(frozen=True)
class GrantRow:
    grant_id: int
    title: str
    description: str
    amount: Decimal
    awarded_at: datetime
    start: date | None
    end: date | None
    recipient_key: str
    recipient_name: str
    funder_key: str
    funder_name: str
    programme_code: str
    programme_title: str
    location: str
    modified_at: datetime


@functools.lru_cache(maxsize=65536)
def _slug(text: str) -> str:
    """A stable identifier part: lower case, runs of anything else as one '-' (recipients repeat: cached)."""
    return _NOT_ALNUM.sub("-", text.lower()).strip("-")[:60] or "unnamed"


def identifiers(prefix: str, row: GrantRow) -> tuple[str, str, str]:
    return (
        f"360G-{prefix}-{row.grant_id}",
        f"360G-{prefix}-ORG-{_slug(row.recipient_key)}",
        f"360G-{prefix}-FUND-{_slug(row.funder_key)}",
    )


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def to_json(rows: Iterable[GrantRow], *, prefix: str, data_source: str) -> str:
    grants = []
    for r in rows:
        gid, rid, fid = identifiers(prefix, r)
        g = {
            "id": gid,
            "title": r.title,
            "description": r.description or r.title,
            "currency": "GBP",
            "amountAwarded": float(r.amount),
            "awardDate": r.awarded_at.date().isoformat(),
            "recipientOrganization": [{"id": rid, "name": r.recipient_name}],
            "fundingOrganization": [{"id": fid, "name": r.funder_name}],
            "grantProgramme": [{"code": r.programme_code, "title": r.programme_title}],
            "beneficiaryLocation": [{"name": r.location}],
            "dateModified": _iso(r.modified_at),
            "dataSource": data_source,
        }
        if r.start and r.end:
            g["plannedDates"] = [{"startDate": r.start.isoformat(), "endDate": r.end.isoformat()}]
        grants.append(g)
    return json.dumps({"grants": grants}, ensure_ascii=False, separators=(",", ":"))


def to_csv(rows: Iterable[GrantRow], *, prefix: str, data_source: str) -> str:
    buf = io.StringIO()
    w = csvsafe.writer(buf)
    w.writerow(CSV_COLUMNS)
    for r in rows:
        gid, rid, fid = identifiers(prefix, r)
        w.writerow(
            [
                gid,
                r.title,
                r.description or r.title,
                "GBP",
                f"{r.amount:.2f}",
                r.awarded_at.date().isoformat(),
                r.start.isoformat() if r.start else "",
                r.end.isoformat() if r.end else "",
                rid,
                r.recipient_name,
                fid,
                r.funder_name,
                r.programme_code,
                r.programme_title,
                r.location,
                _iso(r.modified_at),
                data_source,
            ]
        )
    return buf.getvalue()


def csv_header() -> Sequence[str]:
    return list(CSV_COLUMNS)
