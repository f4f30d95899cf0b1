"""MQTT topic scheme (shared/ARCHITECTURE.md, "MQTT").

    cem/<community>/<device>/telemetry   device -> platform
    cem/<community>/<device>/cmd         platform -> device (never retained)
    cem/<community>/<device>/ack         device -> platform
    cem/<community>/<device>/status      device -> platform, retained, last will

`<community>` is the community slug, `<device>` the device's MQTT identifier
(its ``mqtt_id``). Both are restricted to characters that can never be MQTT
wildcards or level separators, so a device can be confined by an ACL pattern.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PREFIX = "cem"
TELEMETRY = "telemetry"
CMD = "cmd"
ACK = "ack"
STATUS = "status"
KINDS = (TELEMETRY, CMD, ACK, STATUS)
DEVICE_TO_PLATFORM = (TELEMETRY, ACK, STATUS)

_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class TopicError(ValueError):
    """A topic that is not part of the scheme."""


@dataclass(frozen=True, slots=True)
class Topic:
    community: str
    device: str
    kind: str

    def __str__(self) -> str:
        return f"{PREFIX}/{self.community}/{self.device}/{self.kind}"


def valid_segment(value: str) -> bool:
    return bool(_SEGMENT.match(value or ""))


def build(community: str, device: str, kind: str) -> str:
    if kind not in KINDS:
        raise TopicError(f"unknown topic kind {kind!r}; expected one of {', '.join(KINDS)}")
    for name, value in (("community", community), ("device", device)):
        if not valid_segment(value):
            raise TopicError(
                f"{name} identifier {value!r} may use only letters, digits, '_', '-', '.' "
                "(1-64 characters, starting with a letter or digit)"
            )
    return f"{PREFIX}/{community}/{device}/{kind}"


def parse(topic: str) -> Topic:
    parts = topic.split("/")
    if len(parts) != 4 or parts[0] != PREFIX:
        raise TopicError(f"topic {topic!r} is not of the form cem/<community>/<device>/<kind>")
    _, community, device, kind = parts
    if kind not in KINDS:
        raise TopicError(f"topic {topic!r} ends in {kind!r}; expected one of {', '.join(KINDS)}")
    if not valid_segment(community) or not valid_segment(device):
        raise TopicError(f"topic {topic!r} has an invalid community or device identifier")
    return Topic(community=community, device=device, kind=kind)


def subscriptions() -> list[str]:
    """What the bridge subscribes to: everything devices publish."""
    return [f"{PREFIX}/+/+/{kind}" for kind in DEVICE_TO_PLATFORM]


def device_acl(community: str, device: str) -> dict[str, list[str]]:
    """The topics one device may use: publish its own telemetry/ack/status,
    read its own commands. Nothing else."""
    return {
        "write": [build(community, device, k) for k in DEVICE_TO_PLATFORM],
        "read": [build(community, device, CMD)],
    }
