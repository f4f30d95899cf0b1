"""Half-hourly interval energy from counters, and the CSV import format."""

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from assets.domain.csv_readings import parse_readings_csv
from assets.domain.intervals import (
    MISSING,
    CounterPoint,
    counters_to_intervals,
    floor_period,
    period_starts,
    with_gaps,
)

T0 = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)
NOW = datetime(2026, 6, 3, tzinfo=UTC)


def steady(minutes, every=5, w=1200, start=T0):
    """Counter samples of a device drawing a constant power."""
    return [CounterPoint(start + timedelta(minutes=m), int(w * m / 60), 0) for m in range(0, minutes + 1, every)]


def test_constant_power_gives_equal_half_hours():
    out = counters_to_intervals(steady(120), start=T0, end=T0 + timedelta(hours=2))
    assert [i.import_wh for i in out] == [600, 600, 600, 600]
    assert [i.export_wh for i in out] == [0, 0, 0, 0]
    assert all(i.status == "actual" for i in out)


def test_boundaries_are_interpolated_between_samples():
    pts = [CounterPoint(T0 + timedelta(minutes=m), 100 * (m + 3), 0) for m in (-3, 3, 27, 33)]
    (first,) = counters_to_intervals(pts, start=T0, end=T0 + timedelta(minutes=30))
    # 100 Wh/min: counter 300 at 00:00, 3300 at 00:30
    assert first.import_wh == 3000


def test_a_gap_is_missing_never_zero_and_late_data_fills_it():
    pts = [p for p in steady(120) if not (40 <= (p.ts - T0).total_seconds() / 60 <= 80)]
    out = counters_to_intervals(pts, start=T0, end=T0 + timedelta(hours=2))
    assert [i.status for i in out] == ["actual", MISSING, MISSING, "actual"]
    assert out[1].import_wh is None and "bracket" in out[1].reason
    # the late samples arrive; aggregating again fills the gap
    out = counters_to_intervals(steady(120), start=T0, end=T0 + timedelta(hours=2))
    assert [i.import_wh for i in out] == [600] * 4


def test_the_period_in_progress_is_missing_until_data_after_its_end_arrives():
    out = counters_to_intervals(steady(45), start=T0, end=T0 + timedelta(hours=1))
    assert out[0].import_wh == 600 and out[1].is_missing


def test_a_counter_reset_makes_the_period_missing():
    pts = steady(60)
    pts = pts[:8] + [CounterPoint(p.ts, p.import_wh - 900, 0) for p in pts[8:]]
    out = counters_to_intervals(pts, start=T0, end=T0 + timedelta(hours=1))
    assert out[0].import_wh == 600
    assert out[1].is_missing


def test_redelivered_samples_change_nothing():
    pts = steady(60)
    assert counters_to_intervals(pts + pts, start=T0, end=T0 + timedelta(hours=1)) == counters_to_intervals(
        pts, start=T0, end=T0 + timedelta(hours=1)
    )


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.integers(1, 600), st.integers(0, 5000), st.integers(0, 3000)), min_size=10, max_size=200
    ),
)
def test_complete_periods_telescope_to_the_counter_difference(steps):
    """Energy is conserved: the sum of consecutive actual periods equals the
    (interpolated) counter difference over the same span."""
    t, imp, exp = T0 - timedelta(minutes=1), 0, 0
    pts = [CounterPoint(t, imp, exp)]
    for dt, di, de in steps:
        t += timedelta(seconds=dt)
        imp += di
        exp += de
        pts.append(CounterPoint(t, imp, exp))
    end = floor_period(t)
    out = counters_to_intervals(pts, start=T0, end=end)
    assert all(not i.is_missing for i in out)  # samples <= 10 min apart
    assert all(i.import_wh >= 0 and i.export_wh >= 0 for i in out)
    if out:
        assert sum(i.import_wh for i in out) == counter_at(pts, end, "import_wh") - counter_at(pts, T0, "import_wh")
        assert sum(i.export_wh for i in out) == counter_at(pts, end, "export_wh") - counter_at(pts, T0, "export_wh")


def counter_at(pts, ts, name):
    before = max((p for p in pts if p.ts <= ts), key=lambda p: p.ts)
    after = min((p for p in pts if p.ts >= ts), key=lambda p: p.ts)
    if before.ts == after.ts:
        return getattr(before, name)
    a, b = getattr(before, name), getattr(after, name)
    return round(a + (b - a) * (ts - before.ts) / (after.ts - before.ts))


def test_with_gaps_lists_every_period():
    rows = with_gaps({T0: (10, 0)}, start=T0, end=T0 + timedelta(hours=1))
    assert rows == [(T0, 10, 0), (T0 + timedelta(minutes=30), None, None)]
    assert len(period_starts(T0, T0 + timedelta(days=1))) == 48


def test_csv_import_parses_good_rows_and_reports_bad_rows_by_line():
    text = (
        "meter_id,period_start,import_wh,export_wh\n"
        "M1,2026-06-01T00:00:00Z,300,0\n"  # 2 ok
        "M1,2026-06-01T00:10:00Z,300,0\n"  # 3 not aligned
        "M1,2026-06-01T00:30:00+00:00,abc,0\n"  # 4 not a number
        "M1,2026-06-01T00:00:00Z,5,5\n"  # 5 duplicate of line 2
        ",2026-06-01T01:00:00Z,1,1\n"  # 6 no meter
        "M2,2026-06-01T01:00:00,1,1\n"  # 7 naive time
        "M2,2026-06-01T01:00:00Z,-1,1\n"  # 8 negative
        "M2,2026-06-01T01:00:00Z,1.5,1\n"  # 9 fractional Wh
        "M2,2030-06-01T01:00:00Z,1,1\n"  # 10 future
        "M2,2026-06-01T01:30:00Z,120,7\n"  # 11 ok
    )
    rows, errors = parse_readings_csv(text, now=NOW)
    assert [(r.line, r.meter_id, r.import_wh, r.export_wh) for r in rows] == [(2, "M1", 300, 0), (11, "M2", 120, 7)]
    by_line = {e.line: e.message for e in errors}
    assert sorted(by_line) == [3, 4, 5, 6, 7, 8, 9, 10]
    assert "30-minute boundary" in by_line[3]
    assert "not a number" in by_line[4]
    assert "duplicates line 2" in by_line[5]
    assert "no UTC offset" in by_line[7]
    assert "not finished" in by_line[10]


def test_csv_in_kwh_is_converted_exactly():
    rows, errors = parse_readings_csv(
        "Meter_ID,Period_Start,Import_kWh,Export_kWh\nM1,2026-06-01T00:00:00Z,0.301,1.2\n", now=NOW
    )
    assert errors == [] and (rows[0].import_wh, rows[0].export_wh) == (301, 1200)


def test_csv_with_a_wrong_header_says_what_is_missing():
    rows, errors = parse_readings_csv("meter,start,imp\nM1,x,1\n", now=NOW)
    assert rows == [] and errors[0].line == 1 and "meter_id" in errors[0].message
