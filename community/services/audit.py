from __future__ import annotations

from typing import Any

from django.db import models

from community.models import AuditEvent, Community


def audit_record(
    *,
    actor: Any | None,
    action: str,
    summary: str,
    community: Community | None = None,
    obj: models.Model | None = None,
    changes: dict | None = None,
) -> AuditEvent:
    """Write one row of the audit trail. Call inside the service's transaction."""
    user = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEvent.objects.create(
        community=community,
        actor=user,
        action=action,
        object_type=obj._meta.label if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        summary=summary[:300],
        changes=changes or {},
    )
