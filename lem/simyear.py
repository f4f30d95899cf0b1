"""A simulated year of half-hourly meter data for a whole community, fast.

The value report (issue 17) replays a year for the community as it is. The
live simulator (`assets.mqtt.simulator`) steps each site minute by minute in
Python, which is right for MQTT but takes hours for a year of a thousand
homes. This module evaluates the SAME models, vectorised over sites and
periods with numpy (no Django, no database):

* weather: `assets.domain.profiles` -- the cloudiness AR(1) clear-sky index,
  the seasonal + diurnal outdoor temperature with AR(1) noise, the AR(1)
  log wind speed and the generic power curve -- one weather for the
  neighbourhood, seeded from the community;
* PV: pvlib clear-sky DC for each distinct orientation (panels at the same
  spot within ~1 km and the same tilt/azimuth share one pvlib call, scaled by
  their kWp: PVWatts DC is linear in the rating), times the clear-sky index,
  the inverter efficiency, clipped at the inverter's AC rating;
* demand: the BDEW H25 (homes) / G25 (school, business, community building)
  standard load profile scaled to each site's annual use, times the
  simulator's multiplicative log-normal AR(1) noise (its variance reduced to
  that of a half-hour mean) and a per-home day-to-day factor (homes differ
  from day to day: people are out, have guests, do laundry);
* heat pump: the heat loss (setpoint - outdoor) / R less internal gains, over
  the simulator's COP (45 % of Carnot at a 35 °C flow, 1.5-5.5), clipped at
  the rated power;
* EV: the simulator's trip model (weekday 85 %, weekend 50 %, log-normal
  ~35 km at 170 Wh/km), recharged at full rate on arrival home;
* battery: self-consumption (charge from surplus, discharge to cover imports,
  never below the household's reserve), sqrt(round-trip) each way.

Result: import and export Wh per period and site at the site meter, which
is what the market, the agents and settlement see.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from assets.domain import profiles
from assets.domain.profiles import INVERTER_EFFICIENCY, Cloudiness, PvArray

LONDON = ZoneInfo("Europe/London")


@dataclass(frozen=True)
class SiteModel:
    """One site of the community and what it has (units: Wh, W, kWh/yr)."""

    key: int  # site id
    name: str = ""
    annual_kwh: float = 2700.0
    profile: str = "H25"
    pv: PvArray | None = None
    wind_rated_w: int = 0
    battery_wh: int = 0
    battery_w: int = 0
    battery_reserve_pct: float = 20.0
    battery_efficiency: float = 0.9
    heat_pump_w: int = 0
    ev_w: int = 0
    household: bool = True  # a home (counted in "households better off")
    member: bool = True  # takes part in the market
    fuel_poor: bool = False
    community_owned: bool = False  # the co-op's / school's generation: sells its surplus locally
    seed: int = 0


@dataclass
class YearData:
    start: datetime
    period_minutes: int
    sites: list[SiteModel]
    import_wh: np.ndarray  # periods x sites, int64
    export_wh: np.ndarray
    generation_wh: np.ndarray = field(default_factory=lambda: np.zeros(0))  # per site over the year
    # energy each battery could give above its reserve at the start of each period (the agent's view)
    battery_spare_wh: np.ndarray | None = None

    @property
    def periods(self) -> int:
        return self.import_wh.shape[0]

    def times(self) -> pd.DatetimeIndex:
        return pd.date_range(self.start, periods=self.periods, freq=f"{self.period_minutes}min")


def _ar1(n: int, rows: int, *, phi: float, rng: np.random.Generator) -> np.ndarray:
    """Stationary N(0,1) AR(1) series, n x rows, vectorised over rows."""
    e = rng.standard_normal((n, rows))
    out = np.empty((n, rows))
    out[0] = e[0]
    c = math.sqrt(1 - phi * phi)
    for t in range(1, n):
        out[t] = phi * out[t - 1] + c * e[t]
    return out


def _slp(profile: str, times: pd.DatetimeIndex) -> np.ndarray:
    """W per (kWh/yr) of the BDEW profile at each of ``times`` (15-min slots)."""
    out = np.empty(len(times))
    local_years = times.tz_convert(LONDON).year
    for year in np.unique(local_years):
        start, values = profiles._slp_year(profile, int(year))
        sel = local_years == year
        slot = ((times[sel] - pd.Timestamp(start)).total_seconds() // 900).astype(int)
        out[sel] = values[np.clip(slot, 0, values.size - 1)]
    return out


def _per_period_mean(values_15: np.ndarray, k: int) -> np.ndarray:
    return values_15.reshape(-1, k).mean(axis=1)


def simulate_year(
    sites: list[SiteModel],
    *,
    start: datetime,
    days: int = 365,
    period_minutes: int = 30,
    weather_seed: int = 1,
    progress=None,
) -> YearData:
    """Half-hourly (or ``period_minutes``) meter data of every site for ``days``
    from ``start`` (aware UTC). ``progress(fraction, text)`` is called now and then."""
    say = progress or (lambda f, t: None)
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    if 60 % period_minutes and period_minutes % 15:
        raise ValueError("period_minutes must be 15, 30 or 60")
    dt_s = period_minutes * 60
    P = days * 24 * 60 // period_minutes
    M = len(sites)
    h = period_minutes / 60
    times = pd.date_range(start.astimezone(UTC), periods=P, freq=f"{period_minutes}min")
    mid = times + pd.Timedelta(minutes=period_minutes / 2)
    rng = np.random.default_rng([weather_seed, 17])

    # weather (one for the neighbourhood)
    cloud = Cloudiness(seed=weather_seed)
    k = Cloudiness.index(_ar1(P, 1, phi=math.exp(-dt_s / cloud.process.tau_s), rng=rng)[:, 0])
    doy = mid.day_of_year.to_numpy()
    hour = mid.hour.to_numpy() + mid.minute.to_numpy() / 60
    temp = (
        10.5
        - 6.0 * np.cos(2 * np.pi * (doy - 20) / 365.25)
        - 3.0 * np.cos(2 * np.pi * (hour - 3) / 24)
        + 2.5 * _ar1(P, 1, phi=math.exp(-dt_s / (12 * 3600)), rng=rng)[:, 0]
    )
    mu = math.log(7.0) - 0.5 * 0.5**2
    wind_ms = np.exp(mu + 0.5 * _ar1(P, 1, phi=math.exp(-dt_s / (6 * 3600)), rng=rng)[:, 0])
    say(0.05, "weather")

    # base demand: profile x annual x noise
    q = period_minutes // 15
    t15 = pd.date_range(times[0], periods=P * q, freq="15min")
    shapes = {p: _per_period_mean(_slp(p, t15), q) for p in {s.profile for s in sites}}
    annual = np.array([s.annual_kwh for s in sites], dtype=np.float64)
    sigma_half_hour = 0.35 * math.sqrt(_ou_mean_var(1200.0, dt_s))
    noise_rng = np.random.default_rng([weather_seed, 23, M])
    noise = np.exp(sigma_half_hour * _ar1(P, M, phi=math.exp(-dt_s / 1200.0), rng=noise_rng) - 0.5 * sigma_half_hour**2)
    per_day = 24 * 60 // period_minutes
    daily = np.exp(0.18 * _ar1(days, M, phi=0.5, rng=noise_rng) - 0.5 * 0.18**2)
    noise *= np.repeat(daily, per_day, axis=0)
    load = np.empty((P, M), dtype=np.float64)
    for j, s in enumerate(sites):
        load[:, j] = shapes[s.profile] * annual[j]
    load *= noise
    say(0.2, "demand")

    # heat pumps (the simulator's R-C house at its setpoint, steady state)
    cop = np.clip(0.45 * (35.0 + 273.15) / np.maximum(35.0 - temp, 5.0), 1.5, 5.5)
    for j, s in enumerate(sites):
        if s.heat_pump_w:
            heat_w = np.maximum((20.0 - temp) * 180.0 - 300.0, 0.0)
            load[:, j] += np.clip(heat_w / cop, 0, s.heat_pump_w)
    # EVs: a day's trip, recharged at full rate from arrival
    local = times.tz_convert(LONDON)
    weekday = np.asarray(local.day_of_week < 5)[::per_day]
    ev_sites = [j for j, s in enumerate(sites) if s.ev_w]
    if ev_sites:
        ev_rng = np.random.default_rng([weather_seed, 31, M])
        for j in ev_sites:
            w = sites[j].ev_w
            goes = ev_rng.random(days) < np.where(weekday, 0.85, 0.5)
            km = np.clip(ev_rng.lognormal(math.log(35), 0.5, days), 5, 250)
            need_wh = np.where(goes, km * 170.0 / 0.92, 0.0)
            arrive_h = np.where(weekday, 17.0 + ev_rng.random(days) * 2.5, 12.0 + ev_rng.random(days) * 6.0)
            first = np.arange(days) * per_day + (arrive_h * 60 // period_minutes).astype(int)
            per_period = w * h
            for d in np.flatnonzero(need_wh > 0):
                full, rest = divmod(need_wh[d], per_period)
                idx = np.arange(first[d], min(first[d] + int(full) + 1, P))
                amounts = np.full(len(idx), per_period)
                if len(idx):
                    amounts[-1] = rest if len(idx) == int(full) + 1 else per_period
                    load[idx, j] += amounts / h  # Wh in the period -> mean W
    say(0.3, "heat pumps and cars")

    # generation
    gen = np.zeros((P, M), dtype=np.float64)
    cache: dict[tuple, np.ndarray] = {}
    sky: dict[tuple, tuple] = {}
    for j, s in enumerate(sites):
        if s.pv is None:
            continue
        key = (round(s.pv.latitude, 2), round(s.pv.longitude, 2), s.pv.tilt_deg, s.pv.azimuth_deg)
        if key not in cache:
            if key[:2] not in sky:
                sky[key[:2]] = _clear_sky(key[0], key[1], s.pv.altitude_m, mid)
            cache[key] = _clearsky_dc_per_kw(sky[key[:2]], key[2], key[3])
        ac = np.minimum(cache[key] * s.pv.dc_w / 1000 * k * INVERTER_EFFICIENCY, s.pv.inverter_w)
        gen[:, j] += ac
    if any(s.wind_rated_w for s in sites):
        frac = np.clip((wind_ms**3 - 27.0) / (12.0**3 - 27.0), 0, 1)
        frac = np.where((wind_ms < 3.0) | (wind_ms >= 25.0), 0.0, frac)
        for j, s in enumerate(sites):
            if s.wind_rated_w:
                gen[:, j] += frac * s.wind_rated_w
    say(0.45, "generation")

    # convert W to Wh per period, then batteries in self-consumption
    net_wh = (load - gen) * h
    bat = [j for j, s in enumerate(sites) if s.battery_wh > 0]
    battery_spare = np.zeros((P, M), dtype=np.int64)
    if bat:
        bi = np.array(bat)
        cap = np.array([sites[j].battery_wh for j in bat], dtype=np.float64)
        pw = np.array([sites[j].battery_w for j in bat], dtype=np.float64) * h
        reserve = cap * np.array([sites[j].battery_reserve_pct for j in bat]) / 100
        eta = np.sqrt(np.array([sites[j].battery_efficiency for j in bat]))
        soc = cap * 0.5
        sub = net_wh[:, bi]
        spare = np.zeros((P, len(bi)))
        for p in range(P):
            spare[p] = np.minimum(np.maximum(soc - reserve, 0) * eta, pw)
            n = sub[p]
            charge = np.minimum(np.minimum(np.maximum(-n, 0), pw), (cap - soc) / eta)
            discharge = np.minimum(np.minimum(np.maximum(n, 0), pw), np.maximum(soc - reserve, 0) * eta)
            soc += charge * eta - discharge / eta
            sub[p] = n + charge - discharge
        net_wh[:, bi] = sub
        battery_spare[:, bi] = np.floor(spare)
    say(0.6, "batteries")
    rounded = np.rint(net_wh).astype(np.int64)
    return YearData(
        start=times[0].to_pydatetime(),
        period_minutes=period_minutes,
        sites=list(sites),
        import_wh=np.maximum(rounded, 0),
        export_wh=np.maximum(-rounded, 0),
        generation_wh=(gen.sum(axis=0) * h).astype(np.int64),
        battery_spare_wh=battery_spare,
    )


def _clear_sky(lat: float, lon: float, altitude_m: float, times: pd.DatetimeIndex) -> tuple:
    """Solar position and Ineichen clear sky at one spot, shared by every
    orientation there (the costly part of `profiles.pv_clearsky_dc_w`)."""
    pvlib = profiles._pvlib()
    loc = pvlib.location.Location(lat, lon, tz="UTC", altitude=altitude_m)
    sp = loc.get_solarposition(times)
    cs = loc.get_clearsky(times, model="ineichen", solar_position=sp)
    return sp, cs, pvlib.irradiance.get_extra_radiation(times)


def _clearsky_dc_per_kw(sky: tuple, tilt_deg: float, azimuth_deg: float) -> np.ndarray:
    """`profiles.pv_clearsky_dc_w` for a 1 kWp array from a shared clear sky
    (same transposition, cell temperature, PVWatts DC and losses)."""
    pvlib = profiles._pvlib()
    sp, cs, dni_extra = sky
    poa = (
        pvlib.irradiance.get_total_irradiance(
            tilt_deg,
            azimuth_deg,
            sp["apparent_zenith"],
            sp["azimuth"],
            cs["dni"],
            cs["ghi"],
            cs["dhi"],
            dni_extra=dni_extra,
            model="haydavies",
        )["poa_global"]
        .fillna(0.0)
        .clip(lower=0.0)
    )
    temp_cell = pvlib.temperature.faiman(poa, 12.0, wind_speed=2.0)
    dc = pvlib.pvsystem.pvwatts_dc(poa, temp_cell, 1000, profiles.GAMMA_PDC)
    return np.clip(np.asarray(dc, dtype=float) * (1.0 - profiles.SYSTEM_LOSSES), 0.0, None)


def _ou_mean_var(tau_s: float, t_s: float) -> float:
    """Variance of the mean over ``t_s`` of a unit-variance OU process with correlation time ``tau_s``."""
    r = t_s / tau_s
    return 2.0 / (r * r) * (r - 1.0 + math.exp(-r))


def last_full_year(now: datetime, *, days: int = 365) -> datetime:
    """The start (UTC, local midnight) of the ``days`` ending at the last local midnight before ``now``."""
    local = now.astimezone(LONDON)
    end = datetime(local.year, local.month, local.day, tzinfo=LONDON)
    return (end - timedelta(days=days)).astimezone(UTC)


def calendar(year: YearData, *, tz: str = "Europe/London", peak_hours: tuple[int, int] = (16, 19)):
    """The replay's calendar: month and local day of each period, peak flag."""
    from lem.domain.value import Calendar

    local = year.times().tz_convert(tz)
    months = local.year * 12 + local.month - 1
    uniq = np.unique(months)
    month = np.searchsorted(uniq, months)
    days = (local.normalize().tz_localize(None) - local[0].normalize().tz_localize(None)).days.to_numpy()
    firsts = [datetime(int(m) // 12, int(m) % 12 + 1, 1).date() for m in uniq]
    from lem.domain.fees import days_in_month

    return Calendar(
        month=np.asarray(month, dtype=np.int64),
        day=np.asarray(days, dtype=np.int64),
        peak=np.asarray((local.hour >= peak_hours[0]) & (local.hour < peak_hours[1])),
        month_labels=[f.strftime("%b %Y") for f in firsts],
        month_days=[days_in_month(f) for f in firsts],
        month_first=firsts,
        periods_per_day=24 * 60 // year.period_minutes,
    )


def demo_like_sites(
    n_homes: int, *, seed: int = 7, latitude: float = 52.42, longitude: float = -1.93
) -> list[SiteModel]:
    """Homes with the demo community's device mix (`assets/demo.py`: PV on 3 in
    5 homes, a battery in 1 in 3, an EV in 1 in 4, a heat pump in 1 in 4, one
    in nine fuel-poor) plus a school with PV and a community wind turbine, for
    benchmarks and tests of any size."""
    rng = np.random.default_rng(seed)
    out = []
    for n in range(1, n_homes + 1):
        pv = None
        if n % 5 in (0, 1, 2):
            kwp = float(rng.choice([2.8, 3.6, 4.0, 4.4, 5.2]))
            pv = PvArray(
                latitude=latitude,
                longitude=longitude,
                tilt_deg=float(rng.choice([30, 35, 40])),
                azimuth_deg=float(rng.choice([90, 135, 160, 180, 180, 200, 225, 270])),
                dc_w=int(kwp * 1000),
                inverter_w=min(int(kwp * 900), 3680),
            )
        bat = n % 3 == 0
        out.append(
            SiteModel(
                key=n,
                name=f"home {n}",
                annual_kwh=float(max(1200, rng.normal(2700, 600))),
                pv=pv,
                battery_wh=int(rng.choice([9_500, 10_000, 13_500])) if bat else 0,
                battery_w=5_000 if bat else 0,
                battery_reserve_pct=float(rng.choice([10, 20, 30])) if bat else 20.0,
                ev_w=7_400 if n % 4 == 1 else 0,
                heat_pump_w=3_000 if n % 4 == 2 else 0,
                fuel_poor=n % 9 == 5,
            )
        )
    school_pv = PvArray(
        latitude=latitude,
        longitude=longitude,
        dc_w=30_000 * max(1, n_homes // 60),
        inverter_w=27_000 * max(1, n_homes // 60),
    )
    out.append(
        SiteModel(
            key=n_homes + 1,
            name="school",
            annual_kwh=48_000.0 * max(1, n_homes // 60),
            profile="G25",
            pv=school_pv,
            household=False,
            community_owned=True,
        )
    )
    out.append(
        SiteModel(
            key=n_homes + 2,
            name="wind turbine",
            annual_kwh=0.0,
            wind_rated_w=50_000 * max(1, n_homes // 60),
            household=False,
            community_owned=True,
        )
    )
    return out
