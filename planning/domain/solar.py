"""Rooftop PV yield per kWp: now in ``assets/domain/solar.py``, shared with
collective purchasing; re-exported so the planner reads it as before."""

from assets.domain.solar import (  # noqa: F401
    ALBEDO,
    AZIMUTH_STEP,
    GAMMA_PDC,
    INVERTER_EFFICIENCY,
    LOCATION_STEP,
    TILT_STEP,
    annual_yield_kwh_per_kwp,
    pv_profile_kwh_per_kwp,
    roof_profile_table,
    validate_location,
    validate_orientation,
)
