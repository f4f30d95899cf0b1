"""The community's own generation offers into the local market before it is
exported (issue 17, "Make the value real"): the demo enrols the school's PV
(a co-op asset) as a participant whose agent offers its surplus."""

from datetime import UTC, datetime, timedelta

import pytest

from assets import services as asset_services
from assets.models import Device
from lem import demo
from lem.domain.simulate import Home, period_energy

from .factories import make_market


@pytest.fixture
def school_pv(world):
    d, _ = asset_services.device_register(
        site=world.school,
        kind="pv",
        uid="t-school-pv",
        name="School roof solar 50 kWp",
        rated_power_w=45_000,
        specs={"dc_w": 50_000},
        ownership=Device.Ownership.COMMUNITY,
        owner_name="Test Energy Co-op",
    )
    return d


def test_the_schools_community_owned_pv_trades_in_the_market(world, school_pv):
    mw = make_market(world)
    said = []
    new = demo._enrol_community_generation(mw.market, world.community, said.append)
    assert set(new) == {world.school.pk} and new[world.school.pk].pv_kwp == 50.0
    p = mw.market.participants.get(site=world.school)
    assert p.user == world.users["treasurer"] and p.agent_enabled  # run for the co-op by its treasurer
    assert "1 community generation site" in said[0]
    # idempotent: a second run enrols nothing more
    assert demo._enrol_community_generation(mw.market, world.community, said.append) == {}
    assert mw.market.participants.filter(site=world.school).count() == 1


def test_a_household_pv_is_not_community_generation(world):
    asset_services.device_register(
        site=world.site, kind="pv", uid="t-home-pv", name="Roof PV", rated_power_w=3600, specs={"dc_w": 4000}
    )
    assert demo._community_generation(world.community) == {}


def test_a_wind_turbine_generates_when_the_wind_blows():
    turbine = Home(key=9, annual_kwh=0, wind_kw=50.0)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    exports = [period_energy(turbine, start + timedelta(minutes=30 * i))[1] for i in range(48 * 14)]
    assert max(exports) <= 25_000  # never above its rating over half an hour
    assert sum(exports) > 0 and max(exports) > 4 * min(exports)  # it varies with the wind
