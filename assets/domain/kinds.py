"""Device kinds and the commands each kind understands.

Sign convention for power, everywhere (telemetry, commands, readings):
``power_w`` > 0 means the device *takes* power from the home's wiring
(a load, a battery or car charging, a meter importing from the grid);
``power_w`` < 0 means it *delivers* power (PV or wind generating, a battery
discharging, a meter exporting). Energy counters are split the same way:
``import_wh`` counts energy taken, ``export_wh`` energy delivered; both only
ever increase.
"""

from __future__ import annotations

PV_INVERTER = "pv"  # values match assets.models.Device.Kind
BATTERY = "battery"
EV_CHARGER = "ev_charger"
HEAT_PUMP = "heat_pump"
SMART_METER = "smart_meter"
LOAD = "load"
WIND_TURBINE = "wind"

KIND_CHOICES = [
    (PV_INVERTER, "PV inverter"),
    (BATTERY, "Home battery"),
    (EV_CHARGER, "EV charger"),
    (HEAT_PUMP, "Heat pump"),
    (SMART_METER, "Smart meter"),
    (LOAD, "Controllable load"),
    (WIND_TURBINE, "Wind turbine"),
]
KINDS = tuple(k for k, _ in KIND_CHOICES)
LABELS = dict(KIND_CHOICES)
GENERATORS = (PV_INVERTER, WIND_TURBINE)

# action -> required params (name -> type description). Commands use lease
# semantics: every command carries `valid_until`; when it passes the device
# returns to its own automatic behaviour.
ACTIONS: dict[str, dict[str, dict[str, str]]] = {
    BATTERY: {
        "set_power": {"power_w": "int W; > 0 charge, < 0 discharge"},
        "auto": {},
    },
    EV_CHARGER: {
        "set_power": {"power_w": "int W >= 0; charging rate limit"},
        "pause": {},
        "resume": {},
    },
    HEAT_PUMP: {
        "shift_setpoint": {"delta_c": "float K; added to the comfort setpoint"},
        "auto": {},
    },
    LOAD: {
        "pause": {},
        "resume": {},
    },
    PV_INVERTER: {
        "curtail": {"limit_w": "int W >= 0; export limit"},
        "auto": {},
    },
    WIND_TURBINE: {
        "curtail": {"limit_w": "int W >= 0; export limit"},
        "auto": {},
    },
    SMART_METER: {},
}


class CommandError(ValueError):
    """A command the platform refuses to send (unknown action, bad params)."""


def check_action(kind: str, action: str, params: dict) -> dict:
    """Validate the shape of a command for a device kind (static checks the
    platform can make before publishing; state-dependent limits such as a
    battery's reserve are the device's to check, and it refuses in its ack).
    Returns the params normalised to numbers."""
    if kind not in ACTIONS:
        raise CommandError(f"unknown device kind {kind!r}")
    allowed = ACTIONS[kind]
    if action not in allowed:
        if not allowed:
            raise CommandError(f"a {LABELS[kind].lower()} accepts no commands")
        raise CommandError(
            f"a {LABELS[kind].lower()} does not understand {action!r}; it accepts {', '.join(sorted(allowed))}"
        )
    if not isinstance(params, dict):
        raise CommandError("params must be an object")
    expected = allowed[action]
    unknown = set(params) - set(expected)
    if unknown:
        raise CommandError(f"{action} takes no parameter {', '.join(sorted(unknown))}")
    clean: dict = {}
    for name, desc in expected.items():
        if name not in params:
            raise CommandError(f"{action} needs {name} ({desc})")
        value = params[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise CommandError(f"{name} must be a number ({desc})")
        if value != value or value in (float("inf"), float("-inf")):
            raise CommandError(f"{name} must be a finite number")
        if name.endswith("_w"):
            clean[name] = int(round(value))
        else:
            clean[name] = float(value)
    for name in ("limit_w",):
        if name in clean and clean[name] < 0:
            raise CommandError(f"{name} must not be negative")
    if kind == EV_CHARGER and action == "set_power" and clean["power_w"] < 0:
        raise CommandError("an EV charger cannot discharge the car (power_w must be >= 0)")
    return clean
