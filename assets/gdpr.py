"""Personal-data hooks that community.gdpr discovers (community imports no app)."""

from __future__ import annotations

from typing import Any

from assets.models import Device


def erase_person(user: Any, actor: Any) -> None:
    """The MQTT credentials of the household devices in homes where the person
    lived alone are replaced by ones nobody knows: those devices can no longer
    publish or receive commands until a new household registers them again."""
    from assets.services import device_credentials_rotate

    devices = Device.objects.filter(site__occupants=user, ownership=Device.Ownership.HOUSEHOLD).select_related("site")
    for device in devices:
        if not device.site.occupants.exclude(pk=user.pk).exists():
            device_credentials_rotate(device=device, actor=actor)
