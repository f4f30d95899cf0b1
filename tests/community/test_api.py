import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from community.models import NetworkNode, Site


@pytest.fixture
def api_as(world):
    def make(role):
        client = APIClient()
        token, _ = Token.objects.get_or_create(user=world.users[role])
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return make


def test_it_lists_only_the_communities_a_person_belongs_to(api_as):
    response = api_as("member").get(reverse("community-api:community-list"))
    assert response.status_code == 200
    assert [c["slug"] for c in response.json()["results"]] == ["test-green"]


def test_a_token_is_issued_for_a_username_and_password(world):
    from conftest import PASSWORD

    response = APIClient().post(reverse("api-token"), {"username": "convenor", "password": PASSWORD})
    assert response.status_code == 200
    assert response.json()["token"] == Token.objects.get(user=world.users["convenor"]).key


def test_a_member_sees_only_their_own_site_and_an_operator_sees_all(api_as, world):
    url = reverse("community-api:site-list", kwargs={"slug": "test-green"})
    mine = api_as("member").get(url).json()["results"]
    assert [s["name"] for s in mine] == ["1 Test Street"]
    everything = api_as("asset_operator").get(url).json()["results"]
    assert len(everything) == 3


def test_an_asset_operator_adds_a_site_through_the_api(api_as, world):
    url = reverse("community-api:site-list", kwargs={"slug": "test-green"})
    response = api_as("asset_operator").post(
        url,
        {
            "name": "7 Test Street",
            "address": "7 Test Street",
            "postcode": "TE1 1SZ",
            "latitude": "52.1",
            "longitude": "-1.9",
            "network_node": world.feeder2.pk,
            "meter_point_id": "1000000000007",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert Site.objects.get(meter_point_id="1000000000007").network_node == world.feeder2


@pytest.mark.parametrize(
    "payload,field,message",
    [
        ({"meter_point_id": "1000000000001"}, "meter_point_id", "already registered"),
        ({"latitude": "95"}, "latitude", None),
        ({"network_node": 999999}, "network_node", "network node"),
    ],
)
def test_bad_site_input_is_a_400_with_a_message_and_writes_nothing(api_as, world, payload, field, message):
    body = {
        "name": "9 Test Street",
        "address": "9 Test Street",
        "postcode": "TE1 1SA",
        "latitude": "52.1",
        "longitude": "-1.9",
        "network_node": world.feeder.pk,
    }
    body.update(payload)
    response = api_as("convenor").post(
        reverse("community-api:site-list", kwargs={"slug": "test-green"}), body, format="json"
    )
    assert response.status_code == 400
    data = response.json()
    assert field in data or data.get("field") == field
    if message:
        assert message in data["detail"]
    assert not Site.objects.filter(name="9 Test Street").exists()


def test_a_negative_capacity_is_a_400_through_the_api(api_as, world):
    response = api_as("convenor").post(
        reverse("community-api:networknode-list", kwargs={"slug": "test-green"}),
        {
            "kind": "feeder",
            "name": "F",
            "code": "F7",
            "parent": world.primary.pk,
            "import_capacity_kw": "-1",
            "export_capacity_kw": "1",
        },
        format="json",
    )
    assert response.status_code == 400
    assert "below zero" in response.json()["detail"]
    assert not NetworkNode.objects.filter(code="F7").exists()


def test_inviting_with_an_unknown_role_is_a_400(api_as, world):
    response = api_as("convenor").post(
        reverse("community-api:membership-list", kwargs={"slug": "test-green"}),
        {"email": "someone@example.org", "role": "king"},
        format="json",
    )
    assert response.status_code == 400
    assert "role" in response.json()


def test_the_openapi_schema_describes_the_endpoints(client):
    response = client.get(reverse("schema"), {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/v1/communities/{slug}/sites/" in paths
    assert "/api/v1/communities/{slug}/network-nodes/" in paths


def test_the_openapi_schema_is_valid_and_every_component_has_one_meaning(tmp_path):
    """Two serializers of one name (a market's and a balancing statement) would share one
    component and one of them would be described wrongly: the generator warns, and this fails."""
    from django.core.management import call_command

    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    assert "MarketStatement:" in text and "MarketplaceGrant:" in text
    assert "DeviceKindEnum:" in text


def test_the_site_list_costs_a_fixed_number_of_queries(api_as, world, django_assert_max_num_queries):
    client = api_as("asset_operator")
    url = reverse("community-api:site-list", kwargs={"slug": "test-green"})
    with django_assert_max_num_queries(8):
        assert client.get(url).status_code == 200
