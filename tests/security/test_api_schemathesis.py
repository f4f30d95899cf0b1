"""§4: schemathesis against /api/schema/: every operation, with a household's
token and an operator's, on the shared world (a community with its network,
homes, a market and a co-op). No answer may be a server error, and every status
answered must be one the schema documents. Examples are bounded so CI stays
within its budget (SCHEMATHESIS_EXAMPLES, default 4 per operation, valid and invalid)."""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "4"))


def _load_schema():
    """The schema /api/schema/ serves, generated in-process; calls go to the WSGI app."""
    from drf_spectacular.generators import SchemaGenerator

    from config.wsgi import application

    document = SchemaGenerator().get_schema(request=None, public=True)
    loaded = schemathesis.openapi.from_dict(document)
    loaded.app = application
    return loaded


schema = _load_schema()


@pytest.fixture
def in_process_requests():
    """Requests go through the WSGI app in this thread: keep the test's transaction open
    (Django's test client does the same)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def tokens(world, in_process_requests):
    from tests.coop.routes import _coop
    from tests.lem.routes import _market

    _market(world)
    _coop(world)
    return {role: Token.objects.get_or_create(user=world.users[role])[0].key for role in ("member", "market_operator")}


def test_no_operation_answers_a_server_error_or_an_undocumented_status(world, tokens):
    """One world for every operation (building it per operation would cost minutes);
    valid and invalid inputs (schemathesis' positive and negative modes)."""
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30  # the whole API, not a corner of it
    for operation in operations:
        strategy = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
        )

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            database=None,
            phases=[Phase.explicit, Phase.generate],  # no shrinking: the report names the request
        )
        @given(case=strategy)
        def run(case):
            if "slug" in (case.path_parameters or {}):
                case.path_parameters["slug"] = world.community.slug  # reach the code behind the 404
            for token in tokens.values():
                response = case.call(headers={"Authorization": f"Token {token}"})
                case.validate_response(response, checks=[not_a_server_error, status_code_conformance])

        try:
            run()
        except Exception as exc:  # noqa: BLE001 - every failing operation in one report
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:600]}")
    assert not failures, "\n\n".join(failures)


def test_an_unauthenticated_call_is_a_401_with_www_authenticate(client, world):
    response = client.get("/api/v1/communities/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")
