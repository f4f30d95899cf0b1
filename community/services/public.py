"""The community's choice of what its public page shows (issue 15)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from community import public
from community.errors import DomainError
from community.models import Community
from community.services.audit import audit_record


@transaction.atomic
def community_public_page_set(
    *, community: Community, actor: Any, enabled: bool, sections: list[str], join_text: str = ""
) -> Community:
    unknown = sorted(set(sections) - set(public.SECTIONS))
    if unknown:
        raise DomainError(f"Unknown section(s) for the public page: {', '.join(unknown)}.", field="public_sections")
    if enabled and not sections:
        raise DomainError("Choose at least one section for the public page, or turn it off.", field="public_sections")
    before = {"public_page": community.public_page, "public_sections": community.public_sections}
    community.public_page = enabled
    community.public_sections = [key for key in public.SECTIONS if key in sections]
    community.join_text = join_text.strip()
    community.save(update_fields=["public_page", "public_sections", "join_text"])
    audit_record(
        community=community,
        actor=actor,
        action="community.public_page",
        obj=community,
        summary=f"Public page {'on' if enabled else 'off'}: " + (", ".join(community.public_sections) or "no sections"),
        changes={"before": before},
    )
    return community
