"""Write paths for devices, commands, telemetry and readings.

Every function is keyword-only, runs in one transaction and raises
`community.errors.DomainError` with a message a person understands.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from assets.command_gate import command_refusal, command_refusals
from assets.domain import kinds, payloads, topics
from assets.domain.csv_readings import CsvError, parse_readings_csv
from assets.domain.intervals import CounterPoint, counters_to_intervals, floor_period
from assets.models import Device, DeviceCommand, IntervalReading, Meter, MeterCorrection, RejectedMessage, Telemetry
from assets.mqtt import mosquitto
from community.errors import DomainError
from community.models import Community, Site
from community.services.audit import audit_record

log = logging.getLogger(__name__)

COMMAND_ACK_TIMEOUT = timedelta(seconds=60)
DEFAULT_COMMAND_LEASE = timedelta(minutes=30)
MAX_COMMAND_LEASE = timedelta(hours=24)
MAX_GAP = timedelta(minutes=15)  # samples further apart cannot be interpolated across


# ---------------------------------------------------------------------------
# Devices and credentials
# ---------------------------------------------------------------------------
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _clean_limits(kind: str, limits: dict) -> dict:
    """The limits a household may set, per kind, checked."""
    allowed = {
        kinds.BATTERY: {"reserve_pct"},
        kinds.EV_CHARGER: {"ready_by", "target_pct"},
        kinds.HEAT_PUMP: {"comfort_min_c", "comfort_max_c"},
    }.get(kind, set())
    if kind in (kinds.BATTERY, kinds.EV_CHARGER, kinds.HEAT_PUMP, kinds.LOAD):
        allowed = allowed | {"never_touch"}  # issue 10: hours no one may control the device
    unknown = set(limits) - allowed
    if unknown:
        raise DomainError(f"a {kinds.LABELS[kind].lower()} has no limit {', '.join(sorted(unknown))}", field="limits")
    out = {}
    for name in ("reserve_pct", "target_pct"):
        if name in limits:
            try:
                v = float(limits[name])
            except (TypeError, ValueError):
                raise DomainError(f"{name} must be a number", field=name) from None
            if not 0 <= v <= 100:
                raise DomainError(f"{name} must be between 0 and 100 %", field=name)
            out[name] = v
    if "ready_by" in limits:
        if not isinstance(limits["ready_by"], str) or not _HHMM.match(limits["ready_by"]):
            raise DomainError("ready_by must be a time like 07:00", field="ready_by")
        out["ready_by"] = limits["ready_by"]
    if "comfort_min_c" in limits or "comfort_max_c" in limits:
        try:
            lo, hi = float(limits.get("comfort_min_c", 18)), float(limits.get("comfort_max_c", 22))
        except (TypeError, ValueError):
            raise DomainError("the comfort band must be two temperatures", field="comfort_min_c") from None
        if not 5 <= lo < hi <= 30:
            raise DomainError(
                "the comfort band must be a range within 5-30 °C, lower below upper", field="comfort_min_c"
            )
        out["comfort_min_c"], out["comfort_max_c"] = lo, hi
    if "never_touch" in limits:
        out["never_touch"] = _clean_windows(limits["never_touch"])
    return out


_WINDOW = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")


def _clean_windows(value) -> list[str]:
    """Never-touch hours (issue 10): "16:00-19:00" or a list of such windows, local time."""
    if isinstance(value, str):
        value = [w.strip() for w in value.split(",") if w.strip()]
    if not isinstance(value, list) or not all(isinstance(w, str) and _WINDOW.match(w) for w in value):
        raise DomainError(
            "never-touch hours must be windows like 16:00-19:00, separated by commas", field="never_touch"
        )
    if any(w[:5] == w[6:] for w in value):
        raise DomainError("a never-touch window must not start and end at the same time", field="never_touch")
    return value


def _mqtt_username(device: Device) -> str:
    return f"{device.community.slug}.{device.uid}"


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str  # shown once; only its hash is stored


def _set_password(device: Device) -> Credentials:
    password = mosquitto.new_password()
    device.mqtt_username = _mqtt_username(device)
    device.mqtt_password_hash = mosquitto.hash_password(password)
    device.mqtt_rotated_at = timezone.now()
    return Credentials(device.mqtt_username, password)


def device_register(
    *,
    site: Site,
    kind: str,
    uid: str,
    name: str,
    rated_power_w: int,
    capacity_wh: int | None = None,
    limits: dict | None = None,
    specs: dict | None = None,
    ownership: str = Device.Ownership.HOUSEHOLD,
    owner_name: str = "",
    actor: Any = None,
) -> tuple[Device, Credentials]:
    """Register a device at a site and generate its MQTT credentials."""
    if kind not in kinds.KINDS:
        raise DomainError(f"unknown device kind {kind!r}", field="kind")
    if not topics.valid_segment(uid):
        raise DomainError("the device id may use only letters, digits, '_', '-', '.' (max 64)", field="uid")
    if rated_power_w is None or int(rated_power_w) <= 0:
        raise DomainError("rated power must be a positive number of W", field="rated_power_w")
    if kind == kinds.BATTERY and not capacity_wh:
        raise DomainError("a battery needs its capacity in Wh", field="capacity_wh")
    if ownership not in Device.Ownership.values:
        raise DomainError(f"unknown ownership {ownership!r}", field="ownership")
    if ownership != Device.Ownership.HOUSEHOLD and not owner_name:
        raise DomainError("a community- or corporate-owned asset needs its owner's name", field="owner_name")
    clean = _clean_limits(kind, limits or {})
    with transaction.atomic():
        if Device.objects.filter(community=site.community, uid=uid).exists():
            raise DomainError(f"the community already has a device called {uid}", field="uid")
        device = Device(
            community=site.community,
            site=site,
            kind=kind,
            uid=uid,
            name=name,
            rated_power_w=int(rated_power_w),
            capacity_wh=capacity_wh,
            limits=clean,
            specs=specs or {},
            ownership=ownership,
            owner_name=owner_name,
        )
        creds = _set_password(device)
        device.save()
        audit_record(
            actor=actor,
            action="assets.device_register",
            community=site.community,
            obj=device,
            summary=f"Registered {device.get_kind_display()} {uid} at {site.name}",
        )
        transaction.on_commit(mosquitto_files_sync)
    return device, creds


def device_credentials_rotate(*, device: Device, actor: Any = None) -> Credentials:
    """New MQTT password for a device; the old one stops working when the broker reloads."""
    with transaction.atomic():
        device = Device.objects.select_for_update().select_related("community").get(pk=device.pk)
        creds = _set_password(device)
        device.save(update_fields=["mqtt_username", "mqtt_password_hash", "mqtt_rotated_at"])
        audit_record(
            actor=actor,
            action="assets.credentials_rotate",
            community=device.community,
            obj=device,
            summary=f"Rotated the MQTT credentials of {device.uid}",
        )
        transaction.on_commit(mosquitto_files_sync)
    return creds


def device_limits_update(*, device: Device, limits: dict, actor: Any = None) -> Device:
    clean = _clean_limits(device.kind, limits)
    with transaction.atomic():
        old = dict(device.limits)
        device.limits = {**device.limits, **clean}
        device.save(update_fields=["limits"])
        audit_record(
            actor=actor,
            action="assets.limits_update",
            community=device.community,
            obj=device,
            summary=f"Changed the limits of {device.uid}",
            changes={"before": old, "after": device.limits},
        )
    return device


def mqtt_users() -> list[mosquitto.MqttUser]:
    """Everyone who may connect to Mosquitto: the platform's own service user
    (from MQTT_URL) and every device with credentials."""
    from assets.mqtt.connection import BrokerUrl

    users = []
    svc = BrokerUrl.parse(settings.MQTT_URL)
    if svc.username and svc.password:
        users.append(
            mosquitto.MqttUser(svc.username, mosquitto.hash_password(svc.password), readwrite=[f"{topics.PREFIX}/#"])
        )
    rows = (
        Device.objects.exclude(mqtt_username=None)
        .exclude(mqtt_password_hash="")
        .values_list("mqtt_username", "mqtt_password_hash", "community__slug", "uid")
    )
    for username, pw_hash, slug, uid in rows:
        acl = topics.device_acl(slug, uid)
        users.append(mosquitto.MqttUser(username, pw_hash, write=acl["write"], read=acl["read"]))
    return users


def mosquitto_files_sync() -> None:
    """Write Mosquitto's password and ACL files and ask it to reload them.
    (The embedded amqtt broker used in development has no ACLs.)"""
    mosquitto.write_files(
        mqtt_users(),
        password_file=settings.MOSQUITTO_PASSWORD_FILE,
        acl_file=settings.MOSQUITTO_ACL_FILE,
        group=getattr(settings, "MOSQUITTO_FILE_GROUP", None),
    )
    mosquitto.reload_broker(getattr(settings, "MOSQUITTO_PID_FILE", None))


# ---------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------
def command_publish(
    *,
    device: Device,
    action: str,
    params: dict | None = None,
    valid_for: timedelta = DEFAULT_COMMAND_LEASE,
    source: str = "operator",
    actor: Any = None,
    now: datetime | None = None,
) -> DeviceCommand:
    """Record a command and publish it (QoS 1, never retained) after commit.

    The command is a lease: the device falls back to its own behaviour at
    ``valid_until``. Its ack updates the status; no ack within
    COMMAND_ACK_TIMEOUT marks it timed out (`commands_time_out`)."""
    now = now or timezone.now()
    try:
        clean = kinds.check_action(device.kind, action, params or {})
    except kinds.CommandError as exc:
        raise DomainError(str(exc), field="action") from None
    if not timedelta(seconds=10) <= valid_for <= MAX_COMMAND_LEASE:
        raise DomainError("a command must be valid for between 10 seconds and 24 hours", field="valid_for")
    if clean.get("power_w") is not None and abs(clean["power_w"]) > device.rated_power_w:
        raise DomainError(
            f"{abs(clean['power_w'])} W is more than the device's rating of {device.rated_power_w} W", field="params"
        )
    refusal = command_refusal(device, action, clean, source=source, at=now, valid_until=now + valid_for)
    if refusal:  # issue 10: consent and the household's limits, before anything is recorded
        raise DomainError(f"Refused: {refusal}", field="limits", code="refused")
    with transaction.atomic():
        cmd = DeviceCommand.objects.create(
            id=uuid.uuid4().hex,
            device=device,
            action=action,
            params=clean,
            valid_until=now + valid_for,
            source=source,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
            created_at=now,
        )
        if actor is not None:
            audit_record(
                actor=actor,
                action="assets.command_publish",
                community=device.community,
                obj=device,
                summary=f"Sent {action} {clean or ''} to {device.uid}",
            )
        transaction.on_commit(lambda: _send(cmd.pk))
    return cmd


publish_command = command_publish  # the name other apps look for


def command_publish_many(
    *,
    commands: list[tuple[Device, str, dict]],
    valid_for: timedelta = DEFAULT_COMMAND_LEASE,
    source: str = "operator",
    actor: Any = None,
    now: datetime | None = None,
    command_ids: list[str] | None = None,
) -> list[DeviceCommand]:
    """Many commands at once (a VPP dispatch, a balancing step): all checked
    first (one bad command refuses the lot, naming it), recorded in one
    transaction, published together after commit. ``command_ids`` (issue 10):
    the caller's deterministic ids (max 32 characters), so a dispatch run twice
    collides on the primary key instead of sending twice."""
    now = now or timezone.now()
    if command_ids is not None and len(command_ids) != len(commands):
        raise DomainError("one command id per command", field="command_ids")
    if not timedelta(seconds=10) <= valid_for <= MAX_COMMAND_LEASE:
        raise DomainError("a command must be valid for between 10 seconds and 24 hours", field="valid_for")
    rows = []
    # issue 10: consent and the household's limits, for all commands in a few queries
    refusals = command_refusals(commands, source=source, at=now, valid_until=now + valid_for)
    for i, (device, action, params) in enumerate(commands):
        try:
            clean = kinds.check_action(device.kind, action, params or {})
        except kinds.CommandError as exc:
            raise DomainError(f"{device.uid}: {exc}", field="action") from None
        if clean.get("power_w") is not None and abs(clean["power_w"]) > device.rated_power_w:
            raise DomainError(
                f"{device.uid}: {abs(clean['power_w'])} W is more than its rating of {device.rated_power_w} W",
                field="params",
            )
        if refusals[i]:
            raise DomainError(f"Refused: {refusals[i]}", field="limits", code="refused")
        rows.append(
            DeviceCommand(
                id=command_ids[i] if command_ids is not None else uuid.uuid4().hex,
                device=device,
                action=action,
                params=clean,
                valid_until=now + valid_for,
                source=source,
                created_at=now,
                created_by=actor if getattr(actor, "is_authenticated", False) else None,
            )
        )
    with transaction.atomic():
        DeviceCommand.objects.bulk_create(rows)
        ids = [r.pk for r in rows]
        transaction.on_commit(lambda: _send_many(ids))
    return rows


def _send_many(ids: list[str]) -> None:
    from assets.mqtt.publisher import publish

    cmds = list(
        DeviceCommand.objects.filter(pk__in=ids, status=DeviceCommand.Status.PENDING).select_related(
            "device__community"
        )
    )
    DeviceCommand.objects.filter(pk__in=[c.pk for c in cmds], status=DeviceCommand.Status.PENDING).update(
        status=DeviceCommand.Status.SENT, sent_at=timezone.now()
    )
    failed = []
    for c in cmds:
        body = payloads.build_command(command_id=c.pk, action=c.action, params=c.params, valid_until=c.valid_until)
        if not publish(topics.build(c.device.community.slug, c.device.uid, topics.CMD), body, qos=1):
            failed.append(c.pk)
    if failed:
        DeviceCommand.objects.filter(pk__in=failed, status=DeviceCommand.Status.SENT).update(
            status=DeviceCommand.Status.PENDING, sent_at=None, detail="the MQTT broker is unreachable; will retry"
        )


def _send(command_id: str) -> None:
    from assets.mqtt.publisher import publish

    cmd = DeviceCommand.objects.select_related("device__community").get(pk=command_id)
    topic = topics.build(cmd.device.community.slug, cmd.device.uid, topics.CMD)
    body = payloads.build_command(command_id=cmd.pk, action=cmd.action, params=cmd.params, valid_until=cmd.valid_until)
    sent_at = timezone.now()
    # Mark sent before the broker can possibly answer, so an ack is never
    # matched against a still-pending row.
    DeviceCommand.objects.filter(pk=cmd.pk, status=DeviceCommand.Status.PENDING).update(
        status=DeviceCommand.Status.SENT, sent_at=sent_at
    )
    if not publish(topic, body, qos=1):
        DeviceCommand.objects.filter(pk=cmd.pk, status=DeviceCommand.Status.SENT).update(
            status=DeviceCommand.Status.PENDING, sent_at=None, detail="the MQTT broker is unreachable; will retry"
        )


def commands_resend_pending(*, now: datetime | None = None) -> int:
    """Publish commands still pending (the broker was down when they were made)."""
    now = now or timezone.now()
    ids = list(
        DeviceCommand.objects.filter(status=DeviceCommand.Status.PENDING, valid_until__gt=now).values_list(
            "pk", flat=True
        )[:500]
    )
    for pk in ids:
        _send(pk)
    return len(ids)


def commands_time_out(*, now: datetime | None = None, timeout: timedelta = COMMAND_ACK_TIMEOUT) -> int:
    """Mark sent commands with no ack after ``timeout`` as timed out, and pending
    ones whose lease passed before they could be sent. Idempotent."""
    now = now or timezone.now()
    n = DeviceCommand.objects.filter(status=DeviceCommand.Status.SENT, sent_at__lt=now - timeout).update(
        status=DeviceCommand.Status.TIMED_OUT, detail=f"no ack within {int(timeout.total_seconds())} s"
    )
    n += DeviceCommand.objects.filter(status=DeviceCommand.Status.PENDING, valid_until__lte=now).update(
        status=DeviceCommand.Status.TIMED_OUT, detail="never reached the broker before its lease ended"
    )
    return n


# ---------------------------------------------------------------------------
# The bridge's batch
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class DeviceInfo:
    id: int
    community_id: int
    rated_power_w: int
    period_minutes: int


@dataclass
class IngestResult:
    accepted: int = 0
    rejected: int = 0
    acks: int = 0
    statuses: int = 0
    dirty: set = field(default_factory=set)  # {(device_id, period_start, period_minutes)}
    seen: dict = field(default_factory=dict)  # device_id -> when we last heard it
    offline: set = field(default_factory=set)  # devices whose last will arrived


_TELEMETRY_UPDATE = ["power_w", "energy_import_wh", "energy_export_wh", "soc_pct", "temperature_c", "payload"]
_COLUMN = {
    "power_w": "power_w",
    "import_wh": "energy_import_wh",
    "export_wh": "energy_export_wh",
    "soc_pct": "soc_pct",
    "indoor_c": "temperature_c",
}
_ACK_STATUS = {
    "received": DeviceCommand.Status.RECEIVED,
    "applied": DeviceCommand.Status.APPLIED,
    "rejected": DeviceCommand.Status.REJECTED,
    "expired": DeviceCommand.Status.EXPIRED,
}


def _rejection(topic, raw, code: str, reason: str, *, now: datetime, info=None) -> RejectedMessage:
    """A RejectedMessage whose every text is safe for any database (no NUL,
    no broken UTF-8): binary payloads are kept as hex."""
    raw = raw if isinstance(raw, (bytes, bytearray)) else str(raw).encode("utf-8", "surrogatepass")
    fmt, copy = payloads.sanitised_copy(raw)
    return RejectedMessage(
        community_id=info.community_id if info else None,
        device_id=info.id if info else None,
        topic=payloads.printable(topic, 255),
        payload=copy,
        payload_format=fmt,
        size=len(raw),
        code=code[:20],
        reason=payloads.printable(reason, 500),
        received_at=now,
    )


def telemetry_quarantine(*, topic: str, payload: bytes, reason: str, now: datetime) -> RejectedMessage:
    """Keep a message the bridge could not store even as an ordinary rejection
    (code ``unstorable``), so that it can be acknowledged and never block the
    messages behind it. Plain ASCII only: always storable."""
    raw = payload if isinstance(payload, (bytes, bytearray)) else str(payload).encode("utf-8", "surrogatepass")
    row = _rejection(topic, b"", "unstorable", reason, now=now)
    row.topic = payloads.printable(topic.encode("utf-8", "surrogatepass").decode("ascii", "backslashreplace"), 255)
    row.payload, row.payload_format, row.size = (
        bytes(raw[: payloads.HEX_LIMIT]).hex(),
        RejectedMessage.Format.HEX,
        len(raw),
    )
    row.reason = payloads.printable(reason.encode("utf-8", "surrogatepass").decode("ascii", "backslashreplace"), 500)
    row.save()
    return row


def telemetry_ingest(
    messages: list[tuple],
    *,
    now: datetime,
    directory: dict[tuple[str, str], DeviceInfo | None],
) -> IngestResult:
    """Validate and store one batch of MQTT messages in one transaction.

    ``messages``: (topic, payload) or (topic, payload, received_at) tuples;
    ``directory`` maps (community slug, device uid) to the device (None for an
    unknown device); the bridge keeps it cached. Telemetry is upserted on
    (device, ts), so a redelivered message changes nothing; anything invalid is
    kept as a RejectedMessage with its reason. Raises only on database
    failure -- the caller retries the whole batch, which is safe because every
    write here is idempotent."""
    res = IngestResult()
    tele: dict[tuple[int, datetime], tuple[dict, dict]] = {}  # (device, ts) -> (columns, payload extras)
    rejects: list[RejectedMessage] = []
    acks: list[tuple[DeviceInfo, payloads.Ack, str, datetime]] = []
    statuses: dict[int, bool] = {}

    def reject(topic, raw, code, reason, info=None):
        rejects.append(_rejection(topic, raw, code, reason, now=now, info=info))

    for msg in messages:
        topic, raw = msg[0], msg[1]
        received = (msg[2] if len(msg) > 2 else None) or now
        try:
            t = topics.parse(topic)
        except topics.TopicError as exc:
            reject(topic, raw, "topic", str(exc))
            continue
        info = directory.get((t.community, t.device))
        if info is None:
            reject(topic, raw, "unknown_device", f"no device {t.device!r} is registered in community {t.community!r}")
            continue
        try:
            if t.kind == topics.TELEMETRY:
                s = payloads.parse_telemetry(raw, now=now, rated_power_w=info.rated_power_w)
                cols = {_COLUMN[k]: v for k, v in s.values.items() if k in _COLUMN}
                extra = {k: v for k, v in s.values.items() if k not in _COLUMN}
                tele[(info.id, s.ts)] = (cols, extra)
                if "import_wh" in s.values or "export_wh" in s.values:
                    period = timedelta(minutes=info.period_minutes)
                    for p in {
                        floor_period(s.ts - MAX_GAP, period),
                        floor_period(s.ts, period),
                        floor_period(s.ts + MAX_GAP, period),
                    }:
                        res.dirty.add((info.id, p, info.period_minutes))
                res.seen[info.id] = now  # when we heard it (a device's clock may lag)
            elif t.kind == topics.ACK:
                acks.append((info, payloads.parse_ack(raw, now=now), topic, received))
                res.acks += 1
            elif t.kind == topics.STATUS:
                statuses[info.id] = payloads.parse_status(raw, now=now).online
                res.statuses += 1
            else:
                reject(topic, raw, "topic", "devices may not publish on their cmd topic", info)
        except payloads.PayloadError as exc:
            reject(topic, raw, exc.code, exc.reason, info)

    with transaction.atomic():
        if tele:
            _telemetry_upsert(tele)
        res.accepted = len(tele)
        for info, ack, topic, received in acks:
            status = _ACK_STATUS[ack.status]
            open_states = (
                DeviceCommand.OPEN
                if status != DeviceCommand.Status.RECEIVED
                else (DeviceCommand.Status.PENDING, DeviceCommand.Status.SENT)
            )
            n = DeviceCommand.objects.filter(pk=ack.command_id, device_id=info.id, status__in=open_states).update(
                status=status, detail=ack.detail, acked_at=received
            )
            if n == 0 and not DeviceCommand.objects.filter(pk=ack.command_id, device_id=info.id).exists():
                reject(
                    topic,
                    payloads.build_ack(command_id=ack.command_id, status=ack.status, detail=ack.detail),
                    "unknown_command",
                    f"ack for command {ack.command_id} which was never sent to this device",
                    info,
                )
        for device_id, online in statuses.items():
            if not online:
                # a last will after telemetry in the same batch: offline wins
                res.seen.pop(device_id, None)
                res.offline.add(device_id)
            fields = {"online": online}
            if online:
                fields["last_seen_at"] = now
            Device.objects.filter(pk=device_id).update(**fields)
        if rejects:
            RejectedMessage.objects.bulk_create(rejects)
    res.rejected = len(rejects)
    return res


_TELEMETRY_UPSERT_PG = """
INSERT INTO {table} (device_id, ts, power_w, energy_import_wh, energy_export_wh, soc_pct, temperature_c,
                     payload, received_at)
SELECT d, t, p, i, e, s, c, j::jsonb, %s
FROM unnest(%s::bigint[], %s::timestamptz[], %s::integer[], %s::bigint[], %s::bigint[], %s::float8[],
            %s::float8[], %s::text[]) AS u(d, t, p, i, e, s, c, j)
ON CONFLICT (device_id, ts) DO UPDATE SET
    power_w = EXCLUDED.power_w, energy_import_wh = EXCLUDED.energy_import_wh,
    energy_export_wh = EXCLUDED.energy_export_wh, soc_pct = EXCLUDED.soc_pct,
    temperature_c = EXCLUDED.temperature_c, payload = EXCLUDED.payload
"""
_INT_COLUMNS = ("power_w", "energy_import_wh", "energy_export_wh")
_FLOAT_COLUMNS = ("soc_pct", "temperature_c")


def _telemetry_upsert(rows: dict[tuple[int, datetime], tuple[dict, dict]]) -> None:
    """Upsert a batch of telemetry on (device, ts): redelivery changes nothing
    but the values, and ``received_at`` keeps the first arrival. On PostgreSQL
    one statement for the whole batch (columns as arrays through ``unnest``);
    building a model instance per row and Django's SQL for thousands of rows
    cost the bridge more than the database did (issue 16). Elsewhere
    ``bulk_create``."""
    received_at = timezone.now()
    if connection.vendor != "postgresql":
        Telemetry.objects.bulk_create(
            [
                Telemetry(device_id=device_id, ts=ts, payload=extra, received_at=received_at, **cols)
                for (device_id, ts), (cols, extra) in rows.items()
            ],
            update_conflicts=True,
            unique_fields=["device", "ts"],
            update_fields=_TELEMETRY_UPDATE,
            batch_size=2000,
        )
        return
    columns: dict[str, list] = {name: [] for name in _INT_COLUMNS + _FLOAT_COLUMNS}
    device_ids, stamps, extras = [], [], []
    for (device_id, ts), (cols, extra) in rows.items():
        device_ids.append(device_id)
        stamps.append(ts)
        extras.append(json.dumps(extra))
        for name in _INT_COLUMNS:
            v = cols.get(name)
            columns[name].append(None if v is None else int(v))
        for name in _FLOAT_COLUMNS:
            v = cols.get(name)
            columns[name].append(None if v is None else float(v))
    with connection.cursor() as cur:
        cur.execute(
            _TELEMETRY_UPSERT_PG.format(table=connection.ops.quote_name(Telemetry._meta.db_table)),
            [received_at, device_ids, stamps, *(columns[n] for n in _INT_COLUMNS + _FLOAT_COLUMNS), extras],
        )


def devices_mark_seen(*, seen: dict[int, datetime]) -> None:
    """Record when devices were last heard from (batched by the bridge, one
    UPDATE for all). Telemetry also means a device is online."""
    if seen:
        Device.objects.filter(pk__in=list(seen)).update(last_seen_at=max(seen.values()), online=True)


# ---------------------------------------------------------------------------
# Readings
# ---------------------------------------------------------------------------
READINGS_QUERY_CHUNK = 2000  # devices per telemetry query (bounded parameter lists)


def readings_from_telemetry(*, dirty: set[tuple[int, datetime, int]]) -> int:
    """Rebuild the interval readings of the meters fed by these devices for the
    given periods (complete periods only; a gap stays a gap, and late data
    fills it when it arrives). Readings imported from a supplier file are
    authoritative and never overwritten. Returns the number of readings written.

    Set-based (issue 16): the telemetry of every device whose window is the
    same (in live ingest, nearly all of them) comes in one query, the
    protected readings in one, and every reading is written in one upsert --
    a handful of queries for any number of devices, not three per device."""
    by_device: dict[int, set[datetime]] = defaultdict(set)
    minutes: dict[int, int] = {}
    for device_id, start, period_minutes in dirty:
        by_device[device_id].add(start)
        minutes[device_id] = period_minutes
    meters: dict[int, list[int]] = defaultdict(list)
    for meter_id, device_id in Meter.objects.filter(device_id__in=list(by_device)).values_list("id", "device_id"):
        meters[device_id].append(meter_id)
    if not meters:
        return 0
    # each device's window: its dirty periods, plus MAX_GAP either side to bracket the boundaries
    window: dict[int, tuple[datetime, datetime]] = {}
    for device_id in meters:
        period = timedelta(minutes=minutes[device_id])
        window[device_id] = (min(by_device[device_id]), max(by_device[device_id]) + period)
    same_window: dict[tuple[datetime, datetime], list[int]] = defaultdict(list)
    for device_id, (start, end) in window.items():
        same_window[(start, end)].append(device_id)
    points: dict[int, list[CounterPoint]] = defaultdict(list)
    for (start, end), device_ids in same_window.items():
        for i in range(0, len(device_ids), READINGS_QUERY_CHUNK):
            rows = (
                Telemetry.objects.filter(
                    device_id__in=device_ids[i : i + READINGS_QUERY_CHUNK],
                    ts__gte=start - MAX_GAP,
                    ts__lte=end + MAX_GAP,
                )
                .order_by()
                .values_list("device_id", "ts", "energy_import_wh", "energy_export_wh")
            )
            for device_id, ts, imp, exp in rows:
                points[device_id].append(CounterPoint(ts, imp, exp))
    rows: list[IntervalReading] = []
    for device_id, (start, end) in window.items():
        starts = by_device[device_id]
        intervals = [
            i
            for i in counters_to_intervals(
                points.get(device_id, []),
                start=start,
                end=end,
                period=timedelta(minutes=minutes[device_id]),
                max_gap=MAX_GAP,
            )
            if not i.is_missing and i.start in starts
        ]
        for meter_id in meters[device_id]:
            rows.extend(
                IntervalReading(
                    meter_id=meter_id,
                    period_start=i.start,
                    period_minutes=minutes[device_id],
                    import_wh=i.import_wh or 0,
                    export_wh=i.export_wh or 0,
                    source=IntervalReading.Source.TELEMETRY,
                )
                for i in intervals
            )
    if not rows:
        return 0
    # supplier readings (CSV) are authoritative: one query for every meter and period at stake
    lo, hi = min(r.period_start for r in rows), max(r.period_start for r in rows)
    protected = set(
        IntervalReading.objects.filter(
            meter_id__in={r.meter_id for r in rows},
            period_start__gte=lo,
            period_start__lte=hi,
            source=IntervalReading.Source.CSV,
        ).values_list("meter_id", "period_start")
    )
    rows = [r for r in rows if (r.meter_id, r.period_start) not in protected]
    if rows:
        IntervalReading.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["meter", "period_start"],
            update_fields=["import_wh", "export_wh", "period_minutes", "source", "received_at"],
            batch_size=2000,
        )
    return len(rows)


@dataclass
class RollupResult:
    written: int = 0
    failed_devices: list[int] = field(default_factory=list)


def readings_rollup(*, dirty: set[tuple[int, datetime, int]]) -> RollupResult:
    """`readings_from_telemetry` for everything at once in one transaction;
    if that fails for a reason that is the data's (a value no column holds),
    device by device, so one device's data never stops the others' readings
    (issue 9). A transient database error propagates: the caller retries, and
    every write here is an idempotent upsert."""
    from django.db import InterfaceError, OperationalError

    result = RollupResult()
    try:
        with transaction.atomic():
            result.written = readings_from_telemetry(dirty=dirty)
        return result
    except (OperationalError, InterfaceError):
        raise
    except Exception:  # noqa: BLE001 - find the device at fault below
        log.warning("interval readings for %d periods failed together; retrying device by device", len(dirty))
    by_device: dict[int, set] = defaultdict(set)
    for item in dirty:
        by_device[item[0]].add(item)
    for device_id, items in by_device.items():
        try:
            with transaction.atomic():
                result.written += readings_from_telemetry(dirty=items)
        except (OperationalError, InterfaceError):
            raise
        except Exception:  # noqa: BLE001
            result.failed_devices.append(device_id)
            log.exception("interval readings for device %s could not be derived; skipped", device_id)
    return result


def dirty_encode(dirty: set[tuple[int, datetime, int]]) -> dict[str, list[int]]:
    """The bridge's dirty periods as a compact JSON-able task argument:
    ``{"<period start ISO>/<minutes>": [device ids]}``."""
    out: dict[str, list[int]] = defaultdict(list)
    for device_id, start, minutes in dirty:
        out[f"{start.isoformat()}/{minutes}"].append(device_id)
    return {k: sorted(v) for k, v in out.items()}


def dirty_decode(periods: dict[str, list[int]]) -> set[tuple[int, datetime, int]]:
    out = set()
    for key, device_ids in periods.items():
        start, minutes = key.rsplit("/", 1)
        ts = datetime.fromisoformat(start)
        if ts.tzinfo is None:
            raise ValueError(f"period start {start!r} has no time zone")
        out |= {(int(d), ts, int(minutes)) for d in device_ids}
    return out


def readings_refresh_recent(*, hours: int = 3, now: datetime | None = None) -> int:
    """Rebuild telemetry-fed readings for the last ``hours`` for every meter
    with a device (the safety net behind the bridge's own refresh: a bridge
    restart forgets which periods were touched). Idempotent."""
    now = now or timezone.now()
    dirty = set()
    rows = Meter.objects.exclude(device=None).values_list("device_id", "site__community__settlement_period_minutes")
    for device_id, minutes in rows:
        period = timedelta(minutes=minutes)
        t = floor_period(now - timedelta(hours=hours), period)
        while t < now:
            dirty.add((device_id, t, minutes))
            t += period
    return readings_from_telemetry(dirty=dirty)


@dataclass
class ImportReport:
    rows: int
    errors: list[CsvError]
    written: int
    dry_run: bool

    @property
    def ok(self) -> bool:
        return not self.errors


def readings_import_csv(
    *, community: Community, text: str, dry_run: bool, actor: Any = None, now: datetime | None = None
) -> ImportReport:
    """Import interval readings from a supplier/DCC CSV. A dry run reports every
    bad row by line number and writes nothing; a real import writes only if
    the whole file is clean (and then upserts on (meter, period), so importing
    the same file twice changes nothing)."""
    now = now or timezone.now()
    period = timedelta(minutes=community.settlement_period_minutes)
    rows, errors = parse_readings_csv(text, now=now, period=period)
    serials = {r.meter_id for r in rows}
    meters = dict(Meter.objects.filter(site__community=community, serial__in=serials).values_list("serial", "id"))
    for r in rows:
        if r.meter_id not in meters:
            errors.append(CsvError(r.line, f"meter {r.meter_id} is not registered in {community.name}"))
    errors.sort(key=lambda e: e.line)
    good = [r for r in rows if r.meter_id in meters]
    if dry_run or errors:
        return ImportReport(rows=len(rows), errors=errors, written=0, dry_run=dry_run)
    with transaction.atomic():
        IntervalReading.objects.bulk_create(
            [
                IntervalReading(
                    meter_id=meters[r.meter_id],
                    period_start=r.start,
                    period_minutes=community.settlement_period_minutes,
                    import_wh=r.import_wh,
                    export_wh=r.export_wh,
                    source=IntervalReading.Source.CSV,
                )
                for r in good
            ],
            update_conflicts=True,
            unique_fields=["meter", "period_start"],
            update_fields=["import_wh", "export_wh", "period_minutes", "source", "received_at"],
            batch_size=2000,
        )
        audit_record(
            actor=actor,
            action="assets.readings_import",
            community=community,
            summary=f"Imported {len(good)} interval readings from a file",
        )
    return ImportReport(rows=len(rows), errors=[], written=len(good), dry_run=False)


def ready_by_time(device: Device) -> time:
    hh, mm = (device.limits.get("ready_by") or "07:00").split(":")
    return time(int(hh), int(mm))


RESETTLE_TASK = "lem.tasks.settle_due"  # by name: assets never imports lem


def meter_reading_correct(
    *,
    meter: Meter,
    period_start: datetime,
    import_wh: int,
    export_wh: int,
    reason: str,
    actor: Any,
) -> MeterCorrection:
    """Correct (or fill) one interval reading by hand, the only way besides ingest.

    Records who, when, why and the previous value (``MeterCorrection``) and an
    audit row in the same transaction; after commit asks the market to re-settle
    (lem's settlement sees the reading's new ``received_at`` as late data, bumps
    the settlement's revision and reverses the old ledger entry). Correcting to
    the value already stored changes nothing and returns the last correction."""
    from celery import current_app

    reason = (reason or "").strip()
    if len(reason) < 5:
        raise DomainError("Say why the reading is corrected (e.g. the meter read on site).", field="reason")
    values = {}
    for name, value in (("import_wh", import_wh), ("export_wh", export_wh)):
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise DomainError(f"{name} must be a whole number of Wh.", field=name) from None
        if number < 0 or number > 10_000_000:
            raise DomainError(f"{name} must be between 0 and 10,000,000 Wh.", field=name)
        values[name] = number
    if period_start.tzinfo is None:
        raise DomainError("period_start needs a time zone (UTC).", field="period_start")
    minutes = meter.site.community.settlement_period_minutes
    if floor_period(period_start, timedelta(minutes=minutes)) != period_start:
        raise DomainError(f"period_start must start a {minutes}-minute period.", field="period_start")
    if period_start > timezone.now():
        raise DomainError("A reading cannot be corrected before its period has happened.", field="period_start")
    with transaction.atomic():
        reading = IntervalReading.objects.select_for_update().filter(meter=meter, period_start=period_start).first()
        before = (reading.import_wh, reading.export_wh) if reading else (None, None)
        if before == (values["import_wh"], values["export_wh"]):
            last = MeterCorrection.objects.filter(meter=meter, period_start=period_start).first()
            if last is not None:
                return last
        if reading is None:
            reading = IntervalReading(
                meter=meter, period_start=period_start, period_minutes=minutes, source=IntervalReading.Source.ESTIMATE
            )
        reading.import_wh, reading.export_wh = values["import_wh"], values["export_wh"]
        reading.save()  # received_at moves: the market re-settles the period as late data
        correction = MeterCorrection.objects.create(
            meter=meter,
            period_start=period_start,
            previous_import_wh=before[0],
            previous_export_wh=before[1],
            corrected_by=actor if getattr(actor, "is_authenticated", False) else None,
            reason=reason,
            **values,
        )
        audit_record(
            actor=actor,
            action="assets.reading_correct",
            community=meter.site.community,
            obj=correction,
            summary=f"Corrected meter {meter.serial} at {period_start:%Y-%m-%d %H:%M}: {reason}"[:300],
            changes={"before": {"import_wh": before[0], "export_wh": before[1]}, "after": values},
        )
        transaction.on_commit(lambda: current_app.send_task(RESETTLE_TASK))
    return correction
