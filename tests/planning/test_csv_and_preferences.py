"""Pure tests: building / network CSV dry-run parsing and preference spreads."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from planning.domain.csvio import buildings_to_csv, parse_buildings_csv, parse_network_csv
from planning.domain.errors import PlanningError
from planning.domain.preferences import preference_table, ranking_to_scores, summarise, validate_score

HEADER = "ref,address,postcode,lat,lon,building_type,floor_area_m2,epc_band,heating_fuel,annual_elec_kwh,annual_heating_fuel_kwh,roof_area_m2,roof_tilt_deg,roof_azimuth_deg,existing_pv_kwp,network_node\n"


def test_good_file_parses_every_row():
    text = HEADER + (
        "h1,1 High St,ab1 2cd,52.48,-1.9,house,90,D,gas,,,30,35,180,0,f1\n"
        "h2,2 High St,AB1 2CD,52.48,-1.9,flat,55,c,electric,3200,,,,,,\n"
    )
    r = parse_buildings_csv(text)
    assert r.ok and [p.building.ref for p in r.rows] == ["h1", "h2"]
    assert r.rows[0].postcode == "AB1 2CD"
    assert r.rows[1].building.epc_band == "C" and r.rows[1].building.annual_elec_kwh == 3200


def test_every_bad_row_is_reported_by_line_number():
    text = HEADER + (
        "h1,,,52.48,-1.9,house,90,D,gas,,,30,35,180,0,\n"  # line 2 ok
        "h2,,,52.48,-1.9,house,-40,D,gas,,,30,35,180,0,\n"  # line 3 negative area
        "h3,,,52.48,-1.9,house,90,D,gas,,,30,95,180,0,\n"  # line 4 tilt
        "h4,,,52.48,-1.9,castle,90,D,gas,,,,,,,\n"  # line 5 type
        "h1,,,52.48,-1.9,house,90,D,gas,,,,,,,\n"  # line 6 duplicate
        "h6,,,52.48,-1.9,house,ninety,D,gas,,,,,,,\n"  # line 7 not a number
    )
    r = parse_buildings_csv(text)
    assert not r.ok
    lines = {e.line: e.message for e in r.errors}
    assert sorted(lines) == [3, 4, 5, 6, 7]
    assert "Floor area must be more than 0" in lines[3]
    assert "tilt" in lines[4]
    assert "castle" in lines[5]
    assert "line 2" in lines[6]
    assert "not a number" in lines[7]


def test_missing_required_columns_are_named():
    with pytest.raises(PlanningError, match="floor_area_m2"):
        parse_buildings_csv("ref,lat,lon,building_type\nx,52,-1,house\n")


def test_export_then_import_round_trips():
    text = HEADER + "h1,1 High St,AB1 2CD,52.48,-1.9,house,90,D,gas,2800,12000,30,35,180,2.5,f1\n"
    first = parse_buildings_csv(text)
    again = parse_buildings_csv(buildings_to_csv(first.rows))
    assert again.ok and again.rows[0].building == first.rows[0].building
    assert again.rows[0].address == "1 High St"


def test_network_csv_accepts_dno_style_headers_and_kva():
    text = (
        "substation_id,substation_name,parent_id,asset_type,firm_capacity_kva,maximum_demand_kva\n"
        "P1,Primary,,primary,10000,7000\n"
        "S1,Church Lane,P1,secondary,500,410\n"
    )
    r = parse_network_csv(text)
    assert r.ok
    s1 = r.rows[1]
    assert s1.parent_ref == "P1" and s1.capacity_kw == pytest.approx(475) and s1.peak_kw == pytest.approx(389.5)


def test_network_csv_reports_unknown_parents_and_bad_capacity():
    text = "node_ref,parent_ref,capacity_kw,peak_kw\nA,,100,50\nB,ZZ,100,\nC,A,-5,\nD,A,100,-1\n"
    r = parse_network_csv(text)
    assert {e.line for e in r.errors} == {3, 4, 5}
    r2 = parse_network_csv("node_ref,parent_ref,capacity_kw\nB,ZZ,100\n", existing_refs={"ZZ"})
    assert r2.ok


# --- preferences -----------------------------------------------------------


def test_two_camps_are_divided_not_lukewarm():
    camps = summarise([1, 1, 1, 5, 5, 5])
    shrugs = summarise([3, 3, 3, 3, 3, 3])
    assert camps.mean == shrugs.mean == 3
    assert camps.disagreement and camps.consensus == "divided"
    assert not shrugs.disagreement and shrugs.consensus == "mixed"
    assert camps.counts == [3, 0, 0, 0, 3]


def test_broad_support_is_called_support():
    s = summarise([4, 5, 5, 4, 5])
    assert s.consensus == "strong support" and s.support == 1.0 and not s.disagreement


def test_a_ranking_becomes_borda_scores():
    assert ranking_to_scores(["pv", "hp", "wind"]) == {"pv": 5.0, "hp": 3.0, "wind": 1.0}
    with pytest.raises(PlanningError):
        ranking_to_scores(["pv", "pv"])


@pytest.mark.parametrize("bad", [0, 6, 2.5, "x"])
def test_scores_outside_1_to_5_are_refused(bad):
    with pytest.raises(PlanningError):
        validate_score(bad)


def test_latest_score_per_person_counts_once():
    table = preference_table(
        [
            ("ann", "pv", "overall", 1),
            ("ann", "pv", "overall", 5),
            ("bob", "pv", "overall", 4),
            ("bob", "pv", "cost", 2),
        ]
    )
    assert table["pv"]["overall"].n == 2 and table["pv"]["overall"].mean == 4.5
    assert table["pv"]["cost"].n == 1


@given(st.lists(st.integers(1, 5), min_size=1, max_size=60))
def test_spread_is_consistent(scores):
    s = summarise(scores)
    assert sum(s.counts) == s.n == len(scores)
    assert 1 <= s.q1 <= s.median <= s.q3 <= 5
    assert 0 <= s.support + s.opposition <= 1
