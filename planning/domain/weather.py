"""A typical weather year: now in ``assets/domain/weather.py``, shared with
collective purchasing; re-exported so the planner reads it as before."""

from assets.domain.weather import (  # noqa: F401
    DAILY_ANOMALY_PERSISTENCE,
    DAILY_ANOMALY_SD_C,
    DIURNAL_AMPLITUDE_C,
    HOURS,
    day_of_hour,
    hour_of_day,
    hourly_temperature_c,
    hourly_wind_speed_ms,
    month_of_hour,
    weekday_of_hour,
)
