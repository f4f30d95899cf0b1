"""Parse and validate MQTT payloads (pure: the clock is passed in).

Every rejection carries a short ``code`` (for grouping on the operator page)
and a ``reason`` a person can act on.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

MAX_PAYLOAD_BYTES = 4096
# Device clocks drift; NTP-less devices can be a few minutes ahead.
FUTURE_TOLERANCE = timedelta(minutes=5)
# Older than this is not "late data" but a broken clock.
MAX_AGE = timedelta(days=400)

# Physical limits no device of any kind can exceed. A device's own rating
# narrows power further (see `parse_telemetry(rated_power_w=...)`).
MAX_ABS_POWER_W = 20_000_000  # a 20 MW community wind farm
MAX_COUNTER_WH = 10**13  # 10 TWh: far beyond any lifetime counter

# field -> (kind, min, max, unit text)
NUMERIC_FIELDS: dict[str, tuple[type, float, float, str]] = {
    "power_w": (int, -MAX_ABS_POWER_W, MAX_ABS_POWER_W, "W"),
    "import_wh": (int, 0, MAX_COUNTER_WH, "Wh"),
    "export_wh": (int, 0, MAX_COUNTER_WH, "Wh"),
    "soc_pct": (float, 0.0, 100.0, "%"),
    "ev_soc_pct": (float, 0.0, 100.0, "%"),
    "indoor_c": (float, -30.0, 60.0, "°C"),
    "outdoor_c": (float, -50.0, 60.0, "°C"),
    "setpoint_c": (float, 5.0, 35.0, "°C"),
    "wind_ms": (float, 0.0, 80.0, "m/s"),
}
BOOL_FIELDS = ("plugged_in",)
MEASUREMENTS = tuple(NUMERIC_FIELDS) + BOOL_FIELDS

ACK_STATUSES = ("received", "applied", "rejected", "expired")
STATUS_STATES = ("online", "offline")


class PayloadError(ValueError):
    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class TelemetrySample:
    ts: datetime
    values: dict = field(default_factory=dict)  # subset of MEASUREMENTS

    def get(self, name, default=None):
        return self.values.get(name, default)


@dataclass(frozen=True, slots=True)
class Ack:
    command_id: str
    status: str
    detail: str
    ts: datetime | None


@dataclass(frozen=True, slots=True)
class Status:
    online: bool
    ts: datetime | None


@dataclass(frozen=True, slots=True)
class Command:
    command_id: str
    action: str
    params: dict
    valid_until: datetime


def _reject_constant(name):
    raise PayloadError("json", f"{name} is not a number JSON allows")


def _load_json(raw: bytes | str):
    if isinstance(raw, str):
        raw = raw.encode()
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise PayloadError("size", f"payload is {len(raw)} bytes; the limit is {MAX_PAYLOAD_BYTES}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PayloadError("json", "payload is not UTF-8 text") from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except PayloadError:
        raise
    except ValueError as exc:
        raise PayloadError("json", f"payload is not valid JSON ({exc.msg} at position {exc.pos})") from None


def parse_ts(value, *, name: str = "ts") -> datetime:
    if not isinstance(value, str):
        raise PayloadError("schema", f"{name} must be an ISO-8601 string with a UTC offset")
    try:
        ts = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except ValueError:
        raise PayloadError("schema", f"{name} {value!r} is not an ISO-8601 timestamp") from None
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise PayloadError("schema", f"{name} {value!r} has no UTC offset; send e.g. 2026-01-01T12:00:00Z")
    return ts.astimezone(UTC)


def check_ts(ts: datetime, now: datetime) -> None:
    if ts > now + FUTURE_TOLERANCE:
        ahead = ts - now
        raise PayloadError(
            "future",
            f"timestamp {ts.isoformat()} is {int(ahead.total_seconds())} s in the future "
            f"(tolerance {int(FUTURE_TOLERANCE.total_seconds())} s); check the device clock",
        )
    if ts < now - MAX_AGE:
        raise PayloadError("stale", f"timestamp {ts.isoformat()} is more than {MAX_AGE.days} days old")


def _number(name: str, value, kind: type, lo: float, hi: float, unit: str):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PayloadError("schema", f"{name} must be a number, got {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise PayloadError("range", f"{name} must be finite")
    if not lo <= value <= hi:
        raise PayloadError("range", f"{name} = {value} {unit} is outside the physical range [{lo:g}, {hi:g}] {unit}")
    if kind is int:
        if isinstance(value, float) and name.endswith("_wh") and value != int(value):
            # counters are whole Wh; a fractional counter is a unit mistake (kWh?)
            raise PayloadError("schema", f"{name} must be whole Wh, got {value}")
        return int(round(value))
    return float(value)


def parse_telemetry(raw: bytes | str, *, now: datetime, rated_power_w: int | None = None) -> TelemetrySample:
    """Validate one telemetry payload.

    ``rated_power_w``: the device's nameplate; power beyond 1.5x the rating
    (plus 100 W for meter noise) is physically implausible and rejected.
    """
    data = _load_json(raw)
    if not isinstance(data, dict):
        raise PayloadError("schema", "telemetry must be a JSON object")
    if "ts" not in data:
        raise PayloadError("schema", "telemetry has no ts")
    ts = parse_ts(data["ts"])
    check_ts(ts, now)
    values: dict = {}
    for name, (kind, lo, hi, unit) in NUMERIC_FIELDS.items():
        if name in data and data[name] is not None:
            values[name] = _number(name, data[name], kind, lo, hi, unit)
    for name in BOOL_FIELDS:
        if name in data and data[name] is not None:
            if not isinstance(data[name], bool):
                raise PayloadError("schema", f"{name} must be true or false")
            values[name] = data[name]
    if not values:
        raise PayloadError("schema", f"telemetry carries no measurement; expected any of {', '.join(MEASUREMENTS)}")
    if rated_power_w and "power_w" in values:
        limit = int(rated_power_w * 1.5) + 100
        if abs(values["power_w"]) > limit:
            raise PayloadError(
                "range",
                f"power_w = {values['power_w']} W exceeds 1.5x the device rating of {rated_power_w} W",
            )
    return TelemetrySample(ts=ts, values=values)


def parse_ack(raw: bytes | str, *, now: datetime) -> Ack:
    data = _load_json(raw)
    if not isinstance(data, dict):
        raise PayloadError("schema", "ack must be a JSON object")
    cid = data.get("id")
    if not isinstance(cid, str) or not 0 < len(cid) <= 64:
        raise PayloadError("schema", "ack needs the command id as a string (1-64 characters)")
    status = data.get("status")
    if status not in ACK_STATUSES:
        raise PayloadError("schema", f"ack status {status!r} is not one of {', '.join(ACK_STATUSES)}")
    detail = data.get("detail", "") or ""
    if not isinstance(detail, str):
        raise PayloadError("schema", "ack detail must be text")
    ts = None
    if data.get("ts") is not None:
        ts = parse_ts(data["ts"])
        check_ts(ts, now)
    return Ack(command_id=cid, status=status, detail=detail[:500], ts=ts)


def parse_status(raw: bytes | str, *, now: datetime) -> Status:
    """`online` / `offline`, as bare text (the usual last-will form) or as
    ``{"state": "online", "ts": ...}``."""
    if isinstance(raw, bytes):
        text = raw.decode("utf-8", "replace").strip()
    else:
        text = raw.strip()
    if text in STATUS_STATES:
        return Status(online=text == "online", ts=None)
    data = _load_json(text)
    if not isinstance(data, dict) or data.get("state") not in STATUS_STATES:
        raise PayloadError("schema", 'status must be \'online\', \'offline\' or {"state": "online"|"offline"}')
    ts = None
    if data.get("ts") is not None:
        ts = parse_ts(data["ts"])
        check_ts(ts, now)
    return Status(online=data["state"] == "online", ts=ts)


def iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


def build_command(*, command_id: str, action: str, params: dict, valid_until: datetime) -> bytes:
    return json.dumps(
        {"id": command_id, "action": action, "params": params, "valid_until": iso(valid_until)},
        separators=(",", ":"),
    ).encode()


def parse_command(raw: bytes | str) -> Command:
    data = _load_json(raw)
    if not isinstance(data, dict):
        raise PayloadError("schema", "command must be a JSON object")
    cid = data.get("id")
    if not isinstance(cid, str) or not cid:
        raise PayloadError("schema", "command has no id")
    action = data.get("action")
    if not isinstance(action, str) or not action:
        raise PayloadError("schema", "command has no action")
    params = data.get("params") or {}
    if not isinstance(params, dict):
        raise PayloadError("schema", "command params must be an object")
    if "valid_until" not in data:
        raise PayloadError("schema", "command has no valid_until")
    return Command(
        command_id=cid, action=action, params=params, valid_until=parse_ts(data["valid_until"], name="valid_until")
    )


def build_telemetry(ts: datetime, **values) -> bytes:
    body = {"ts": iso(ts)}
    body.update({k: v for k, v in values.items() if v is not None})
    return json.dumps(body, separators=(",", ":")).encode()


def build_ack(*, command_id: str, status: str, detail: str = "", ts: datetime | None = None) -> bytes:
    body = {"id": command_id, "status": status, "detail": detail}
    if ts is not None:
        body["ts"] = iso(ts)
    return json.dumps(body, separators=(",", ":")).encode()
