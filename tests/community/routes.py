from community.models import Role
from tests.routes import ANY_ROLE, EVERYONE_SET, LOGGED_IN, Route, roles

OPERATORS = roles("convenor", "market_operator", "asset_operator", "auditor")
SITE_EDITORS = roles(Role.CONVENOR, Role.ASSET_OPERATOR)


def _site(w):
    return {"slug": w.community.slug, "site_id": w.site.pk}


def _neighbour_site(w):
    return {"slug": w.community.slug, "site_id": w.neighbour_site.pk}


def _community_api(w):
    return {"slug": w.community.slug}


ROUTES = [
    Route("login", EVERYONE_SET, kwargs=lambda w: {}),
    Route("healthz", EVERYONE_SET, kwargs=lambda w: {}),
    Route("home", LOGGED_IN, kwargs=lambda w: {}),
    # starting a community is a platform administrator's act (superusers are not in the matrix)
    Route(
        "home",
        frozenset(),
        kwargs=lambda w: {},
        method="post",
        data=lambda w: {"name": "Walked In", "settlement_period_minutes": 30},
        label="POST home (start a community)",
    ),
    Route("password_change", LOGGED_IN, kwargs=lambda w: {}),
    Route("password_change_done", LOGGED_IN, kwargs=lambda w: {}),
    Route("password_reset", EVERYONE_SET, kwargs=lambda w: {}),
    Route("password_reset_done", EVERYONE_SET, kwargs=lambda w: {}),
    Route("password_reset_confirm", EVERYONE_SET, kwargs=lambda w: {"uidb64": "MQ", "token": "not-a-token"}),
    Route("password_reset_complete", EVERYONE_SET, kwargs=lambda w: {}),
    Route("logout", EVERYONE_SET, kwargs=lambda w: {}, method="post", success_redirects=True),
    Route(
        "invitation_accept",
        LOGGED_IN,
        kwargs=lambda w: {"token": w.extra["invitation"].token},
        setup=lambda w: w.extra.update(
            invitation=__import__("community.services", fromlist=["x"]).invitation_create(
                community=w.community, email="new@example.org"
            )
        ),
    ),
    Route("community:detail", ANY_ROLE),
    Route("community:members", ANY_ROLE),
    Route(
        "community:members",
        roles("convenor"),
        method="post",
        data=lambda w: {"email": "x@example.org", "role": "member"},
        label="POST community:members (invite)",
    ),
    Route("community:network", ANY_ROLE),
    Route(
        "community:network",
        SITE_EDITORS,
        method="post",
        label="POST community:network (add node)",
        data=lambda w: {
            "kind": "feeder",
            "name": "New",
            "code": "F9",
            "parent": w.primary.pk,
            "import_capacity_kw": "100",
            "export_capacity_kw": "50",
        },
    ),
    Route("community:site", OPERATORS | {"member"}, kwargs=_site),
    Route("community:site", OPERATORS, kwargs=_neighbour_site, label="GET community:site (a neighbour's home)"),
    Route("community:site_create", SITE_EDITORS),
    Route("community:site_edit", SITE_EDITORS, kwargs=_site),
    Route("community:audit", roles("convenor", "auditor")),
    Route("community:ledger", roles("treasurer", "market_operator", "auditor", "convenor")),
    # API
    Route("community-api:community-list", ANY_ROLE | {"outsider"}, kwargs=lambda w: {}, api=True),
    Route("community-api:community-detail", ANY_ROLE, kwargs=_community_api, api=True),
    Route(
        "community-api:community-list",
        frozenset(),
        kwargs=lambda w: {},
        method="post",
        data=lambda w: {"name": "Walked In"},
        api=True,
        label="POST community-api:community-list (start a community)",
    ),
    Route("community-api:membership-list", ANY_ROLE, kwargs=_community_api, api=True),
    Route(
        "community-api:membership-list",
        roles("convenor"),
        kwargs=_community_api,
        method="post",
        data=lambda w: {"email": "new-person@example.org", "role": "member"},
        api=True,
        label="POST community-api:membership-list (invite)",
    ),
    Route("community-api:networknode-list", ANY_ROLE, kwargs=_community_api, api=True),
    Route("community-api:site-list", ANY_ROLE, kwargs=_community_api, api=True),
    Route("community-api:site-detail", OPERATORS | {"member"}, kwargs=_site, api=True),
    Route(
        "api-token", frozenset(), kwargs=lambda w: {}, method="post", api=True, label="POST api-token (no credentials)"
    ),
    # the API's description is public, like any published API's docs
    Route("schema", EVERYONE_SET, kwargs=lambda w: {}, api=True),
    Route("api-docs", EVERYONE_SET, kwargs=lambda w: {}, api=True),
]


def _public_on(w) -> None:
    w.community.public_page = True
    w.community.public_sections = ["about", "plan", "shares", "market", "projects", "join"]
    w.community.save()


ROUTES += [
    # the public page: anyone, once the community has turned it on (off: 404, tests/community/test_public.py)
    Route("community_public", EVERYONE_SET, setup=_public_on, label="GET community_public (on)"),
    Route("community:public_settings", roles("convenor")),
    Route(
        "community:public_settings",
        roles("convenor"),
        method="post",
        data=lambda w: {"public_page": "on", "public_sections": ["about", "join"], "join_text": "Write to us."},
        label="POST community:public_settings",
    ),
]

ROUTES += [
    Route("my_data", LOGGED_IN, kwargs=lambda w: {}),
    Route("my_data_download", LOGGED_IN, kwargs=lambda w: {"fmt": "json"}),
    Route("my_data_download", LOGGED_IN, kwargs=lambda w: {"fmt": "csv"}, label="GET my_data_download (CSV)"),
    Route("community-api:my-data", LOGGED_IN, kwargs=lambda w: {}, api=True),
]
