"""Parse and validate MQTT payloads (pure: the clock is passed in).

Every rejection carries a short ``code`` (for grouping on the operator page)
and a ``reason`` a person can act on.
"""

from __future__ import annotations

import json
import math
import re
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


# A command id as the platform issues it (uuid4 hex); anything else in an ack
# cannot match a command and must not reach a query as it came.
_COMMAND_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
# Text a database column and an operator's screen can hold: no NUL, no other
# C0/C1 control characters except tab and newlines, no lone surrogates.
_UNSAFE_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_TS_CHARS = re.compile(r"^[0-9][0-9T:.,+\-Z ]{0,39}$")
COPY_LIMIT = 2000  # characters of a rejected payload kept as text
HEX_LIMIT = 512  # bytes of a binary payload kept, as hex (1,024 characters)


def printable(text: str, limit: int | None = None) -> str:
    """``text`` with every unsafe character shown as an escape (``\\x00``), cut
    to ``limit`` characters: storable in any text column (PostgreSQL refuses
    NUL) and readable on the operator page."""
    if not isinstance(text, str):
        text = str(text)
    if limit is not None:
        text = text[: limit * 2]  # escapes make it longer; never scan a megabyte
    out = _UNSAFE_CHARS.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256 else "\\ufffd", text)
    return out[:limit] if limit is not None else out


def sanitised_copy(raw: bytes | str) -> tuple[str, str]:
    """What the platform keeps of a payload it refused: ``("text", first
    2,000 characters)`` when it is clean UTF-8 text, else ``("hex", hex of the
    first 512 bytes)``. Either is safe for any text column."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    head = bytes(raw[: COPY_LIMIT * 4])
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a multi-byte character cut at the end of the head is still text
        if len(raw) > len(head) and exc.start >= len(head) - 3:
            text = head[: exc.start].decode("utf-8")
        else:
            return "hex", bytes(raw[:HEX_LIMIT]).hex()
    if _UNSAFE_CHARS.search(text):
        return "hex", bytes(raw[:HEX_LIMIT]).hex()
    return "text", text[:COPY_LIMIT]


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
    except json.JSONDecodeError as exc:
        raise PayloadError("json", f"payload is not valid JSON ({exc.msg} at position {exc.pos})") from None
    except RecursionError:
        raise PayloadError("json", "payload nests arrays or objects too deeply") from None
    except ValueError as exc:  # e.g. an integer beyond Python's digit limit
        raise PayloadError("json", f"payload is not valid JSON ({printable(str(exc), 200)})") from None


def parse_ts(value, *, name: str = "ts") -> datetime:
    if not isinstance(value, str):
        raise PayloadError("schema", f"{name} must be an ISO-8601 string with a UTC offset")
    shown = printable(repr(value), 80)
    if not _TS_CHARS.match(value):
        raise PayloadError("schema", f"{name} {shown} is not an ISO-8601 timestamp")
    try:
        ts = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except ValueError:
        raise PayloadError("schema", f"{name} {shown} is not an ISO-8601 timestamp") from None
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise PayloadError("schema", f"{name} {shown} has no UTC offset; send e.g. 2026-01-01T12:00:00Z")
    try:
        return ts.astimezone(UTC)
    except (OverflowError, ValueError):
        raise PayloadError("schema", f"{name} {shown} is outside the range of dates") from None


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
    if not isinstance(cid, str) or not _COMMAND_ID.match(cid):
        raise PayloadError("schema", "ack needs the command id as sent: 1-64 letters, digits, '_', '.', ':' or '-'")
    status = data.get("status")
    if not isinstance(status, str) or status not in ACK_STATUSES:
        raise PayloadError(
            "schema", f"ack status {printable(repr(status), 80)} is not one of {', '.join(ACK_STATUSES)}"
        )
    detail = data.get("detail", "") or ""
    if not isinstance(detail, str):
        raise PayloadError("schema", "ack detail must be text")
    detail = printable(detail, 500)
    ts = None
    if data.get("ts") is not None:
        ts = parse_ts(data["ts"])
        check_ts(ts, now)
    return Ack(command_id=cid, status=status, detail=detail, ts=ts)


def parse_status(raw: bytes | str, *, now: datetime) -> Status:
    """`online` / `offline`, as bare text (the usual last-will form) or as
    ``{"state": "online", "ts": ...}``."""
    if isinstance(raw, bytes):
        text = raw[: MAX_PAYLOAD_BYTES + 1].decode("utf-8", "replace").strip()
    else:
        text = raw.strip()
    if text in STATUS_STATES:
        return Status(online=text == "online", ts=None)
    data = _load_json(raw if isinstance(raw, bytes) else text)
    if not isinstance(data, dict) or not isinstance(data.get("state"), str) or data["state"] not in STATUS_STATES:
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
