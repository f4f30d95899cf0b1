from django.urls import reverse

from community.models import NetworkNode, Site


def test_the_community_page_shows_members_map_and_network(client_as, world):
    response = client_as("convenor").get(reverse("community:detail", kwargs={"slug": "test-green"}))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Feeder A" in html and "Feeder B" in html
    assert 'id="site-map"' in html
    assert "Member Tester" in html


def test_a_member_sees_neighbours_homes_only_as_anonymous_points(client_as, world):
    response = client_as("member").get(reverse("community:detail", kwargs={"slug": "test-green"}))
    html = response.content.decode()
    assert "1 Test Street" in html  # their own home
    assert "3 Test Street" not in html  # a neighbour's address never shown


def test_a_site_form_shows_a_service_error_next_to_the_field(client_as, world):
    url = reverse("community:site_create", kwargs={"slug": "test-green"})
    response = client_as("convenor").post(
        url,
        {
            "kind": "home",
            "name": "8 Test Street",
            "address": "8 Test Street",
            "postcode": "TE1 1SB",
            "latitude": "52.1",
            "longitude": "-1.9",
            "network_node": world.feeder.pk,
            "meter_point_id": "1000000000001",
        },
    )
    assert response.status_code == 400
    assert "already registered to another site" in response.content.decode()
    assert not Site.objects.filter(name="8 Test Street").exists()


def test_adding_a_node_through_htmx_returns_only_the_form_with_its_error(client_as, world):
    url = reverse("community:network", kwargs={"slug": "test-green"})
    response = client_as("asset_operator").post(
        url,
        {
            "kind": "feeder",
            "name": "F",
            "code": "F1",
            "parent": world.primary.pk,
            "import_capacity_kw": "5",
            "export_capacity_kw": "5",
        },
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "already a node with code" in html
    assert "<html" not in html
    assert NetworkNode.objects.filter(code="F1").count() == 1


def test_the_ledger_page_verifies_on_request(client_as, world):
    response = client_as("auditor").get(reverse("community:ledger", kwargs={"slug": "test-green"}), {"verify": "1"})
    assert "Verified" in response.content.decode()


def test_the_home_page_goes_straight_to_the_only_community(client_as, world):
    response = client_as("member").get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("community:detail", kwargs={"slug": "test-green"})


def test_the_demo_seed_is_idempotent(db):
    from io import StringIO

    from django.core.management import call_command

    call_command("seed_demo", "--only-community", stdout=StringIO())
    counts = (Site.objects.count(), NetworkNode.objects.count())
    call_command("seed_demo", "--only-community", stdout=StringIO())
    assert (Site.objects.count(), NetworkNode.objects.count()) == counts
    assert Site.objects.filter(kind="home").count() == 62  # 60 households + the convenor's and the treasurer's homes
    assert NetworkNode.objects.filter(kind="feeder").count() == 3
