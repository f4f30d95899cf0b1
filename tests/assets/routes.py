from community.models import Role
from tests.routes import ANY_ROLE, Route, roles

OPERATORS = roles("convenor", "market_operator", "asset_operator", "auditor")


def _devices(w):
    """A battery at the member's home and one at the neighbour's (for the matrix)."""
    from tests.assets.factories import device

    if "battery" not in w.extra:
        from django.utils import timezone

        from community.models import ConsentRecord

        w.extra["battery"] = device(w.site, "battery", uid="matrix-bat", rated_power_w=5000)
        w.extra["neighbour_battery"] = device(w.neighbour_site, "battery", uid="matrix-nbat", rated_power_w=5000)
        # the household lets the platform steer its battery (every command passes the consent gate)
        ConsentRecord.objects.create(
            community=w.community,
            user=w.users["member"],
            purpose=ConsentRecord.Purpose.VPP,
            scope=f"device:{w.extra['battery'].pk}",
            text="I let the community's platform charge and discharge my battery within my limits.",
            granted_at=timezone.now() - timezone.timedelta(minutes=1),
        )


def _site(w):
    return {"slug": w.community.slug, "site_id": w.site.pk}


def _neighbour(w):
    return {"slug": w.community.slug, "site_id": w.neighbour_site.pk}


def _rotate(w):
    return {"slug": w.community.slug, "device_id": w.extra["battery"].pk}


def _command(w):
    return {"device": w.extra["battery"].pk, "action": "set_power", "power_w": "-2000", "minutes": "30"}


def _csv(w):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return {"file": SimpleUploadedFile("r.csv", b"meter_id,period_start,import_wh,export_wh\n"), "dry_run": "on"}


ROUTES = [
    Route("assets:index", ANY_ROLE),
    Route("assets:site", OPERATORS | {"member"}, kwargs=_site, setup=_devices),
    Route("assets:site", OPERATORS, kwargs=_neighbour, setup=_devices, label="GET assets:site (a neighbour's home)"),
    Route("assets:device_rotate", roles("member", Role.ASSET_OPERATOR), method="post", kwargs=_rotate, setup=_devices),
    Route("assets:operator", OPERATORS),
    Route(
        "assets:operator",
        roles(Role.ASSET_OPERATOR),
        method="post",
        data=_command,
        setup=_devices,
        label="POST assets:operator (send a command)",
        success_redirects=True,
    ),
    Route("assets:readings_import", roles(Role.ASSET_OPERATOR, Role.MARKET_OPERATOR)),
    Route(
        "assets:readings_import",
        roles(Role.ASSET_OPERATOR, Role.MARKET_OPERATOR),
        method="post",
        data=_csv,
        label="POST assets:readings_import (dry run)",
    ),
    # API
    Route("assets-api:device-list", ANY_ROLE, api=True),
    Route(
        "assets-api:device-list",
        roles(Role.ASSET_OPERATOR, Role.CONVENOR),
        method="post",
        api=True,
        data=lambda w: {"site": w.site.pk, "kind": "pv", "uid": "api-pv", "name": "Roof PV", "rated_power_w": 3680},
        label="POST assets-api:device-list (register)",
    ),
    Route(
        "assets-api:device-detail",
        OPERATORS | {"member"},
        api=True,
        setup=_devices,
        kwargs=lambda w: {"slug": w.community.slug, "device_id": w.extra["battery"].pk},
    ),
    Route(
        "assets-api:device-limits",
        roles("member", Role.ASSET_OPERATOR),
        api=True,
        setup=_devices,
        method="post",
        kwargs=lambda w: {"slug": w.community.slug, "device_id": w.extra["battery"].pk},
        data=lambda w: {"reserve_pct": 30},
    ),
    Route("assets-api:reading-list", ANY_ROLE, api=True),
    Route("assets-api:command-list", OPERATORS, api=True),
    Route(
        "assets-api:command-list",
        roles(Role.ASSET_OPERATOR),
        method="post",
        api=True,
        setup=_devices,
        data=lambda w: {"device": w.extra["battery"].pk, "action": "auto"},
        label="POST assets-api:command-list",
    ),
]
