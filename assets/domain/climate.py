"""SAP climate tables for the UK: where a roof is, how much sun and warmth it gets.

Moved here from the LAEP planner (``planning/domain/reference.py``) so that the
planner and collective purchasing share one climate and one PV yield model;
``planning.domain.reference`` re-exports every name.
"""

from __future__ import annotations

import math

# ---------------------------------------------------------------------------
# Climate: SAP 2012 / SAP 10.2 Appendix U (the UK's standard assessment
# procedure).  Table U3: mean global irradiance on a horizontal plane, W/m2,
# January..December.  Table U1: mean external temperature, deg C.
# Region 0 is the UK average; 1..21 are SAP's climate regions.
# ---------------------------------------------------------------------------

SAP_REGIONS: tuple[tuple[int, str, float, float], ...] = (
    # (id, name, representative latitude, longitude) - the point stands in for
    # SAP Table U6's postcode mapping: a roof takes the region whose point is
    # nearest.
    (1, "Thames", 51.51, -0.13),
    (2, "South East England", 51.05, 0.55),
    (3, "Southern England", 50.90, -1.40),
    (4, "South West England", 50.40, -4.60),
    (5, "Severn Wales / Severn England", 51.50, -2.90),
    (6, "Midlands", 52.48, -1.90),
    (7, "West Pennines Wales / England", 53.48, -2.40),
    (8, "North West England / South West Scotland", 54.60, -3.30),
    (9, "Borders Scotland / Borders England", 55.50, -2.70),
    (10, "North East England", 54.97, -1.60),
    (11, "East Pennines", 53.70, -1.30),
    (12, "East Anglia", 52.50, 0.90),
    (13, "Wales", 52.40, -3.80),
    (14, "West Scotland", 55.86, -4.30),
    (15, "East Scotland", 56.10, -3.10),
    (16, "North East Scotland", 57.15, -2.10),
    (17, "Highland", 57.50, -4.50),
    (18, "Western Isles", 57.90, -6.80),
    (19, "Orkney", 59.00, -3.00),
    (20, "Shetland", 60.30, -1.25),
    (21, "Northern Ireland", 54.60, -6.00),
)

SAP_U3_IRRADIANCE_W_M2: dict[int, tuple[int, ...]] = {
    0: (26, 54, 96, 150, 192, 200, 189, 157, 115, 66, 33, 21),
    1: (30, 56, 98, 157, 195, 217, 203, 173, 127, 73, 39, 24),
    2: (32, 59, 104, 170, 208, 231, 216, 182, 133, 77, 41, 25),
    3: (35, 62, 109, 172, 209, 235, 217, 185, 138, 80, 44, 27),
    4: (36, 63, 111, 174, 210, 233, 204, 182, 136, 78, 44, 28),
    5: (32, 59, 105, 167, 201, 226, 206, 175, 130, 74, 40, 25),
    6: (28, 55, 97, 153, 191, 208, 194, 163, 121, 69, 35, 23),
    7: (24, 51, 95, 152, 191, 203, 186, 152, 115, 65, 31, 20),
    8: (23, 51, 95, 157, 200, 203, 194, 156, 113, 62, 30, 19),
    9: (23, 50, 92, 151, 200, 196, 187, 153, 111, 61, 30, 18),
    10: (25, 51, 95, 152, 196, 198, 190, 156, 115, 64, 32, 20),
    11: (26, 54, 96, 150, 192, 200, 189, 157, 115, 66, 33, 21),
    12: (30, 58, 101, 165, 203, 220, 206, 173, 128, 74, 39, 24),
    13: (29, 57, 104, 164, 205, 220, 199, 167, 120, 68, 35, 22),
    14: (19, 46, 88, 148, 196, 193, 185, 150, 101, 55, 25, 15),
    15: (21, 46, 89, 146, 198, 191, 183, 150, 106, 57, 27, 15),
    16: (19, 45, 89, 143, 194, 188, 177, 144, 101, 54, 25, 14),
    17: (17, 43, 85, 145, 189, 185, 170, 139, 98, 51, 22, 12),
    18: (16, 41, 87, 155, 205, 206, 185, 148, 101, 51, 21, 11),
    19: (14, 39, 84, 143, 205, 201, 178, 145, 100, 50, 19, 9),
    20: (12, 34, 79, 135, 196, 190, 168, 144, 90, 46, 16, 7),
    21: (24, 52, 96, 155, 201, 198, 183, 150, 107, 61, 30, 18),
}

SAP_U1_TEMPERATURE_C: dict[int, tuple[float, ...]] = {
    0: (4.3, 4.9, 6.5, 8.9, 11.7, 14.6, 16.6, 16.4, 14.1, 10.6, 7.1, 4.2),
    1: (5.1, 5.6, 7.4, 9.9, 13.0, 16.0, 17.9, 17.8, 15.2, 11.6, 8.0, 5.1),
    2: (5.0, 5.4, 7.1, 9.5, 12.6, 15.4, 17.4, 17.5, 15.0, 11.7, 8.1, 5.2),
    3: (5.4, 5.7, 7.3, 9.6, 12.6, 15.4, 17.3, 17.3, 15.0, 11.8, 8.4, 5.5),
    4: (6.1, 6.4, 7.5, 9.3, 11.9, 14.5, 16.2, 16.3, 14.6, 11.8, 9.0, 6.4),
    5: (4.9, 5.3, 7.0, 9.3, 12.2, 15.0, 16.7, 16.7, 14.4, 11.1, 7.8, 4.9),
    6: (4.3, 4.8, 6.6, 9.0, 11.8, 14.8, 16.6, 16.5, 14.0, 10.5, 7.1, 4.2),
    7: (4.7, 5.2, 6.7, 9.1, 12.0, 14.7, 16.4, 16.3, 14.1, 10.7, 7.5, 4.6),
    8: (3.9, 4.3, 5.6, 7.9, 10.7, 13.2, 14.9, 14.8, 12.8, 9.7, 6.6, 3.7),
    9: (4.0, 4.5, 5.8, 7.9, 10.4, 13.3, 15.2, 15.1, 13.1, 9.7, 6.6, 3.7),
    10: (4.0, 4.6, 6.1, 8.3, 10.9, 13.8, 15.8, 15.6, 13.5, 10.1, 6.7, 3.8),
    11: (4.3, 4.9, 6.5, 8.9, 11.7, 14.6, 16.6, 16.4, 14.1, 10.6, 7.1, 4.2),
    12: (4.7, 5.2, 7.0, 9.5, 12.5, 15.4, 17.6, 17.6, 15.0, 11.4, 7.7, 4.7),
    13: (5.0, 5.3, 6.5, 8.5, 11.2, 13.7, 15.3, 15.3, 13.5, 10.7, 7.8, 5.2),
    14: (4.0, 4.4, 5.6, 7.9, 10.4, 13.0, 14.5, 14.4, 12.5, 9.3, 6.5, 3.8),
    15: (3.6, 4.0, 5.4, 7.7, 10.1, 12.9, 14.6, 14.5, 12.5, 9.2, 6.1, 3.2),
    16: (3.3, 3.6, 5.0, 7.1, 9.3, 12.2, 14.0, 13.9, 12.0, 8.8, 5.7, 2.9),
    17: (3.1, 3.2, 4.4, 6.6, 8.9, 11.4, 13.2, 13.1, 11.3, 8.2, 5.4, 2.7),
    18: (5.2, 5.0, 5.8, 7.6, 9.7, 11.8, 13.4, 13.6, 12.1, 9.6, 7.3, 5.2),
    19: (4.4, 4.2, 5.0, 7.0, 8.9, 11.2, 13.1, 13.2, 11.7, 9.1, 6.6, 4.3),
    20: (4.6, 4.1, 4.7, 6.5, 8.3, 10.5, 12.4, 12.8, 11.4, 8.8, 6.5, 4.6),
    21: (4.8, 5.2, 6.4, 8.4, 10.9, 13.5, 15.0, 14.9, 13.1, 10.0, 7.2, 4.7),
}
SAP_SOURCE = "SAP 2012 / SAP 10.2 Appendix U, Tables U1 (temperature) and U3 (horizontal irradiance)"

DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

# UK bounds: the SAP tables only describe the UK.
UK_LAT_RANGE = (49.8, 60.9)
UK_LON_RANGE = (-8.7, 1.8)


def sap_region_for(lat: float, lon: float) -> int:
    """SAP climate region whose representative point is nearest (lat, lon)."""
    best, best_d = 0, math.inf
    coslat = math.cos(math.radians(lat))
    for rid, _name, rlat, rlon in SAP_REGIONS:
        d = (lat - rlat) ** 2 + ((lon - rlon) * coslat) ** 2
        if d < best_d:
            best, best_d = rid, d
    return best


def sap_region_name(region: int) -> str:
    for rid, name, _lat, _lon in SAP_REGIONS:
        if rid == region:
            return name
    return "UK average"
