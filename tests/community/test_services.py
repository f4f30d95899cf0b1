from decimal import Decimal

import pytest

from community import services
from community.errors import DomainError
from community.models import AuditEvent, Community, Membership, NetworkNode, Site


def test_it_creates_a_community_and_makes_the_creator_its_convenor(world):
    user = world.users["member"]
    user.is_superuser = True  # starting a community is a platform administrator's act
    user.save()
    community = services.community_create(name="Hill Top Energy", creator=user, settlement_period_minutes=15)
    assert community.slug == "hill-top-energy"
    assert set(Membership.objects.filter(community=community, user=user).values_list("role", flat=True)) == {
        "convenor",
        "member",
    }
    assert AuditEvent.objects.filter(community=community, action="community.create", actor=user).exists()


@pytest.mark.parametrize("period", [0, 10, 60])
def test_it_refuses_a_settlement_period_other_than_5_15_or_30(db, period):
    with pytest.raises(DomainError, match="5, 15 or 30"):
        services.community_create(name="Bad Period", settlement_period_minutes=period)
    assert not Community.objects.exists()


def test_it_refuses_a_duplicate_slug_and_an_unknown_timezone(world):
    with pytest.raises(DomainError, match="already exists"):
        services.community_create(name="Test Green")
    with pytest.raises(DomainError, match="not a time zone"):
        services.community_create(name="Somewhere", timezone_name="Mars/Olympus")


def test_it_refuses_a_negative_capacity(world):
    with pytest.raises(DomainError, match="cannot be below zero") as err:
        services.network_node_create(
            community=world.community,
            kind="feeder",
            name="F",
            code="F3",
            parent=world.primary,
            import_capacity_kw=-5,
            export_capacity_kw=10,
        )
    assert err.value.field == "import_capacity_kw"
    assert not NetworkNode.objects.filter(code="F3").exists()


def test_it_refuses_a_capacity_that_is_not_a_number(world):
    with pytest.raises(DomainError, match="number of kW"):
        services.network_node_create(
            community=world.community,
            kind="feeder",
            name="F",
            code="F3",
            parent=world.primary,
            import_capacity_kw="lots",
            export_capacity_kw=10,
        )


def test_it_keeps_the_tree_in_order_gsp_primary_feeder(world):
    with pytest.raises(DomainError, match="must hang off a primary substation"):
        services.network_node_create(
            community=world.community,
            kind="feeder",
            name="F",
            code="F3",
            parent=world.gsp,
            import_capacity_kw=1,
            export_capacity_kw=1,
        )
    with pytest.raises(DomainError, match="top of the tree"):
        services.network_node_create(
            community=world.community,
            kind="gsp",
            name="G",
            code="G2",
            parent=world.primary,
            import_capacity_kw=1,
            export_capacity_kw=1,
        )
    with pytest.raises(DomainError, match="already a node with code"):
        services.network_node_create(
            community=world.community,
            kind="feeder",
            name="Dup",
            code="F1",
            parent=world.primary,
            import_capacity_kw=1,
            export_capacity_kw=1,
        )


def test_it_refuses_a_parent_from_another_community(world):
    other_gsp = services.network_node_create(
        community=world.other_community, kind="gsp", name="Other", code="OG", import_capacity_kw=1, export_capacity_kw=1
    )
    with pytest.raises(DomainError, match="another community"):
        services.network_node_create(
            community=world.community,
            kind="primary",
            name="P",
            code="P9",
            parent=other_gsp,
            import_capacity_kw=1,
            export_capacity_kw=1,
        )


def _site_data(world, **overrides):
    data = dict(
        name="5 Test Street",
        address="5 Test Street",
        postcode="te1 1sx",
        latitude="52.1",
        longitude="-1.9",
        network_node=world.feeder,
        meter_point_id="1000000000005",
    )
    data.update(overrides)
    return data


def test_it_creates_a_site_with_a_normalised_postcode_and_an_audit_row(world):
    site = services.site_create(community=world.community, actor=world.users["convenor"], **_site_data(world))
    assert site.postcode == "TE1 1SX"
    assert site.latitude == Decimal("52.100000")
    assert AuditEvent.objects.filter(
        action="site.create", object_id=str(site.pk), actor=world.users["convenor"]
    ).exists()


def test_it_refuses_a_duplicate_meter_id(world):
    with pytest.raises(DomainError, match="already registered") as err:
        services.site_create(community=world.community, **_site_data(world, meter_point_id="1000000000001"))
    assert err.value.field == "meter_point_id"
    assert Site.objects.filter(community=world.community).count() == 3


def test_it_refuses_a_site_outside_the_communitys_network(world):
    other_gsp = services.network_node_create(
        community=world.other_community, kind="gsp", name="Other", code="OG", import_capacity_kw=1, export_capacity_kw=1
    )
    with pytest.raises(DomainError, match="network node .* of this community"):
        services.site_create(community=world.community, **_site_data(world, network_node=other_gsp))
    with pytest.raises(DomainError, match="connect to a feeder"):
        services.site_create(community=world.community, **_site_data(world, network_node=world.primary))


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("latitude", "91", "between -90 and 90"),
        ("longitude", "-181", "between -180 and 180"),
        ("latitude", "north", "number of degrees"),
        ("meter_point_id", "12AB", "not a meter point id"),
        ("name", "  ", "needs a name"),
        ("kind", "castle", "not a kind of site"),
    ],
)
def test_it_refuses_bad_site_fields_with_a_message(world, field, value, message):
    with pytest.raises(DomainError, match=message) as err:
        services.site_create(community=world.community, **_site_data(world, **{field: value}))
    assert err.value.field == field
    assert not Site.objects.filter(name="5 Test Street").exists()


def test_occupants_must_belong_to_the_community(world):
    with pytest.raises(DomainError, match="must join"):
        services.site_set_occupants(site=world.site, occupants=[world.users["outsider"]])
    assert list(world.site.occupants.all()) == [world.users["member"]]


def test_it_refuses_a_role_that_does_not_exist(world):
    with pytest.raises(DomainError, match="'overlord' is not a role") as err:
        services.membership_grant(community=world.community, user=world.neighbour, role="overlord")
    assert err.value.code == "unknown_role"


def test_a_person_can_hold_several_roles_and_granting_twice_changes_nothing(world):
    user = world.neighbour
    services.membership_grant(community=world.community, user=user, role="treasurer")
    services.membership_grant(community=world.community, user=user, role="treasurer")
    assert sorted(Membership.objects.filter(community=world.community, user=user).values_list("role", flat=True)) == [
        "member",
        "treasurer",
    ]


def test_the_last_convenor_cannot_be_removed(world):
    with pytest.raises(DomainError, match="at least one convenor"):
        services.membership_revoke(community=world.community, user=world.users["convenor"], role="convenor")
    assert Membership.objects.filter(community=world.community, role="convenor").count() == 1


def test_an_invitation_is_accepted_once(world):
    invitation = services.invitation_create(
        community=world.community, email="New@Example.org", role="treasurer", actor=world.users["convenor"]
    )
    assert invitation.email == "new@example.org"
    newcomer = world.users["outsider"]
    services.invitation_accept(token=invitation.token, user=newcomer)
    roles = set(Membership.objects.filter(community=world.community, user=newcomer).values_list("role", flat=True))
    assert roles == {"treasurer", "member"}
    with pytest.raises(DomainError, match="already been used"):
        services.invitation_accept(token=invitation.token, user=newcomer)


def test_it_refuses_a_bad_email_and_a_second_open_invitation(world):
    with pytest.raises(DomainError, match="not an email address"):
        services.invitation_create(community=world.community, email="nobody")
    services.invitation_create(community=world.community, email="a@b.org")
    with pytest.raises(DomainError, match="open invitation"):
        services.invitation_create(community=world.community, email="a@b.org")


def test_an_expired_invitation_is_refused(world):
    from datetime import timedelta

    from django.utils import timezone

    invitation = services.invitation_create(community=world.community, email="late@example.org")
    invitation.expires_at = timezone.now() - timedelta(minutes=1)
    invitation.save()
    with pytest.raises(DomainError, match="expired"):
        services.invitation_accept(token=invitation.token, user=world.users["outsider"])
