"""Rooftop and ground-mounted PV yield, hour by hour, per kWp.

Method (pvlib for the physics, SAP for the UK weather):

1. pvlib solar position and Ineichen clear-sky irradiance (Linke turbidity
   from pvlib's bundled climatology) for every hour of the model year.
2. Clear sky alone overstates UK output about twice (Birmingham 35 deg south
   comes out near 1,600 kWh/kWp).  So each month's clear-sky horizontal
   irradiance is scaled to SAP Appendix U Table U3's mean horizontal
   irradiance for the roof's SAP climate region.
3. The scaled global irradiance is split into beam and diffuse with the Erbs
   model (cloudier months -> more diffuse, which also shrinks the gain from
   tilting), transposed onto the roof with Hay-Davies, reduced by the ASHRAE
   incidence-angle modifier, and converted with PVWatts (-0.37 %/K at the
   Faiman cell temperature, PVWatts' 14 % system losses, 96 % inverter).

Profiles are cached per (latitude, longitude rounded to 0.1 deg, tilt to 5 deg,
azimuth to 10 deg), so 5,000 roofs in a village need a few dozen profiles.
Azimuth: degrees clockwise from north (180 = south).

The LAEP planner's model, moved here from ``planning/domain/solar.py`` (which
re-exports it) so collective purchasing sizes roofs with the same yields.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
import pvlib

from .climate import DAYS_IN_MONTH, SAP_U3_IRRADIANCE_W_M2, UK_LAT_RANGE, UK_LON_RANGE, sap_region_for
from .errors import ModelInputError
from .weather import HOURS, hourly_temperature_c, month_of_hour

INVERTER_EFFICIENCY = 0.96
GAMMA_PDC = -0.0037  # per K, PVWatts default for standard modules
ALBEDO = 0.2
TILT_STEP = 5.0
AZIMUTH_STEP = 10.0
LOCATION_STEP = 0.1


def validate_orientation(tilt_deg: float, azimuth_deg: float) -> None:
    if not (0.0 <= tilt_deg <= 90.0):
        raise ModelInputError(f"Roof tilt must be between 0 and 90 degrees, got {tilt_deg:g}.")
    if not (0.0 <= azimuth_deg <= 360.0):
        raise ModelInputError(f"Roof azimuth must be between 0 and 360 degrees (180 = south), got {azimuth_deg:g}.")


def validate_location(lat: float, lon: float) -> None:
    if not (UK_LAT_RANGE[0] <= lat <= UK_LAT_RANGE[1] and UK_LON_RANGE[0] <= lon <= UK_LON_RANGE[1]):
        raise ModelInputError(
            f"Location {lat:.4f}, {lon:.4f} is outside the UK; the planner's irradiation and "
            "temperature tables (SAP Appendix U) only cover the UK."
        )


def _times() -> pd.DatetimeIndex:
    # centre of each hour, so the sun's position represents the hour
    return pd.date_range("2025-01-01 00:30", periods=HOURS, freq="h", tz="UTC")


@lru_cache(maxsize=64)
def _sky(lat: float, lon: float, scaled: bool) -> dict[str, np.ndarray]:
    """Hourly sun position and (scaled or clear-sky) irradiance for a location cell."""
    times = _times()
    loc = pvlib.location.Location(lat, lon, tz="UTC")
    sp = loc.get_solarposition(times)
    cs = loc.get_clearsky(times, solar_position=sp, model="ineichen")
    zenith = sp["apparent_zenith"].to_numpy()
    dni_extra = pvlib.irradiance.get_extra_radiation(times).to_numpy()
    region = sap_region_for(lat, lon)
    if scaled:
        month = month_of_hour()
        clear_ghi = cs["ghi"].to_numpy()
        clear_monthly_wh = np.bincount(month, weights=clear_ghi, minlength=12)
        sap_monthly_wh = np.array(SAP_U3_IRRADIANCE_W_M2[region], dtype=float) * 24.0 * np.array(DAYS_IN_MONTH)
        factor = np.divide(sap_monthly_wh, clear_monthly_wh, out=np.zeros(12), where=clear_monthly_wh > 0)
        ghi = clear_ghi * _daily_clearness(
            clear_ghi, month, factor, seed=int(round(lat * 10)) * 1000 + int(round(lon * 10))
        )
        split = pvlib.irradiance.erbs(ghi, zenith, times)
        dni = np.nan_to_num(np.asarray(split["dni"], dtype=float))
        dhi = np.nan_to_num(np.asarray(split["dhi"], dtype=float))
    else:
        ghi = cs["ghi"].to_numpy()
        dni = cs["dni"].to_numpy()
        dhi = cs["dhi"].to_numpy()
    out = {
        "zenith": zenith,
        "azimuth": sp["azimuth"].to_numpy(),
        "ghi": ghi,
        "dni": dni,
        "dhi": dhi,
        "dni_extra": dni_extra,
        "temp_air": np.asarray(hourly_temperature_c(region)),
        "region": np.array(region),
    }
    for a in out.values():  # cached and shared: read-only, so no caller can change another's sky
        a.setflags(write=False)
    return out


DAILY_CLEARNESS_CONCENTRATION = 3.0


def _daily_clearness(clear_ghi: np.ndarray, month: np.ndarray, monthly_factor: np.ndarray, seed: int) -> np.ndarray:
    """Hourly factor (constant within a day) that turns clear-sky into all-sky.

    Real months mix bright and overcast days; scaling every hour by the same
    monthly factor would make every hour hazy and, through the beam/diffuse
    split, understate what tilting a panel towards the sun gains.  Each day
    draws a clearness from a Beta distribution with the month's mean, then
    the month is renormalised so its total equals the SAP figure exactly.
    """
    rng = np.random.default_rng(seed)
    days = len(clear_ghi) // 24
    day_month = month[::24]
    mean = np.clip(monthly_factor[day_month], 0.02, 0.98)
    c = DAILY_CLEARNESS_CONCENTRATION
    f = rng.beta(mean * c, (1 - mean) * c)
    clear_day = clear_ghi.reshape(days, 24).sum(axis=1)
    for m in range(12):
        sel = day_month == m
        got = (f[sel] * clear_day[sel]).sum()
        want = monthly_factor[m] * clear_day[sel].sum()
        if got > 0:
            f[sel] *= want / got
    return np.repeat(f, 24)


def _yield_matrix(
    lat: float, lon: float, tilts: np.ndarray, azimuths: np.ndarray, losses: float, scaled: bool
) -> np.ndarray:
    """(k, 8760) kWh per kWp for k orientations at one location cell."""
    sky = _sky(lat, lon, scaled)
    tilt = np.asarray(tilts, dtype=float)[:, None]
    az = np.asarray(azimuths, dtype=float)[:, None]
    irr = pvlib.irradiance.get_total_irradiance(
        tilt,
        az,
        sky["zenith"],
        sky["azimuth"],
        sky["dni"],
        sky["ghi"],
        sky["dhi"],
        dni_extra=sky["dni_extra"],
        albedo=ALBEDO,
        model="haydavies",
    )
    aoi = pvlib.irradiance.aoi(tilt, az, sky["zenith"], sky["azimuth"])
    iam = pvlib.iam.ashrae(aoi)
    poa_eff = np.nan_to_num(irr["poa_direct"] * iam + irr["poa_diffuse"])
    poa_eff = np.clip(poa_eff, 0.0, None)
    t_cell = pvlib.temperature.faiman(np.nan_to_num(irr["poa_global"]), sky["temp_air"], wind_speed=2.0)
    dc = pvlib.pvsystem.pvwatts_dc(poa_eff, t_cell, pdc0=1.0, gamma_pdc=GAMMA_PDC)  # kW per kWp
    ac = np.clip(dc, 0.0, None) * (1.0 - losses) * INVERTER_EFFICIENCY
    return ac.astype(np.float32)


def _round(value: float, step: float) -> float:
    return float(np.round(value / step) * step)


@lru_cache(maxsize=4096)
def _cached_profile(lat_r: float, lon_r: float, tilt_r: float, az_r: float, losses: float, scaled: bool) -> np.ndarray:
    out = _yield_matrix(lat_r, lon_r, np.array([tilt_r]), np.array([az_r]), losses, scaled)[0]
    out.setflags(write=False)
    return out


def pv_profile_kwh_per_kwp(
    lat: float, lon: float, tilt_deg: float, azimuth_deg: float, *, losses: float = 0.14, scaled: bool = True
) -> np.ndarray:
    """8,760 hourly kWh per kWp for one orientation (cached per rounded key)."""
    validate_location(lat, lon)
    validate_orientation(tilt_deg, azimuth_deg)
    return _cached_profile(
        _round(lat, LOCATION_STEP),
        _round(lon, LOCATION_STEP),
        _round(tilt_deg, TILT_STEP),
        _round(azimuth_deg % 360.0, AZIMUTH_STEP) % 360.0,
        round(losses, 4),
        scaled,
    )


def annual_yield_kwh_per_kwp(
    lat: float, lon: float, tilt_deg: float, azimuth_deg: float, *, losses: float = 0.14, scaled: bool = True
) -> float:
    return float(
        pv_profile_kwh_per_kwp(lat, lon, tilt_deg, azimuth_deg, losses=losses, scaled=scaled).sum(dtype=np.float64)
    )


def roof_profile_table(
    lats: np.ndarray, lons: np.ndarray, tilts: np.ndarray, azimuths: np.ndarray, *, losses: float = 0.14
) -> tuple[np.ndarray, np.ndarray]:
    """Profiles for many roofs at once.

    Returns (index, profiles): profiles is (k, 8760) float32 kWh/kWp for the k
    distinct rounded keys, index maps each roof to its row.  Orientations of a
    location cell missing from the cache are computed together, vectorised.
    """
    lats = np.asarray(lats, dtype=float)
    lons = np.asarray(lons, dtype=float)
    tilts = np.asarray(tilts, dtype=float)
    azimuths = np.asarray(azimuths, dtype=float)
    if lats.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros((0, HOURS), dtype=np.float32)
    keys = np.column_stack(
        [
            np.round(lats / LOCATION_STEP) * LOCATION_STEP,
            np.round(lons / LOCATION_STEP) * LOCATION_STEP,
            np.round(tilts / TILT_STEP) * TILT_STEP,
            (np.round((azimuths % 360.0) / AZIMUTH_STEP) * AZIMUTH_STEP) % 360.0,
        ]
    )
    keys = np.round(keys, 6)
    uniq, index = np.unique(keys, axis=0, return_inverse=True)
    losses_r = round(losses, 4)
    profiles = np.empty((len(uniq), HOURS), dtype=np.float32)
    # group the missing keys by location cell and compute each group in one go
    missing: dict[tuple[float, float], list[int]] = {}
    for i, (la, lo, ti, az) in enumerate(uniq):
        key = (float(la), float(lo), float(ti), float(az), losses_r, True)
        try:
            profiles[i] = _PROFILE_STORE[key]
        except KeyError:
            missing.setdefault((float(la), float(lo)), []).append(i)
    for (la, lo), rows in missing.items():
        validate_location(la, lo)
        block = _yield_matrix(la, lo, uniq[rows, 2], uniq[rows, 3], losses_r, True)
        for j, r in enumerate(rows):
            profiles[r] = block[j]
            if len(_PROFILE_STORE) < 8192:
                _PROFILE_STORE[(la, lo, float(uniq[r, 2]), float(uniq[r, 3]), losses_r, True)] = block[j].copy()
    return index.reshape(-1), profiles


_PROFILE_STORE: dict[tuple, np.ndarray] = {}
