"""Panels other apps contribute to community and site pages.

An app may define ``<app>.panels`` with ``community_panels(request, community)``
and/or ``site_panels(request, site)``, each returning a list of
``{"title": str, "html": str}``. This module finds them through the app registry,
so ``community`` never imports a higher app.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging

from django.apps import apps

log = logging.getLogger(__name__)


def _providers(func_name: str, module: str = "panels"):
    for config in apps.get_app_configs():
        module_name = f"{config.name}.{module}"
        if config.name == "community" or importlib.util.find_spec(config.name) is None:
            continue
        try:
            if importlib.util.find_spec(module_name) is None:
                continue
        except ModuleNotFoundError:
            continue
        func = getattr(importlib.import_module(module_name), func_name, None)
        if func is not None:
            yield func


def collect(func_name: str, *args) -> list[dict]:
    panels: list[dict] = []
    for func in _providers(func_name):
        panels.extend(func(*args) or [])
    return panels


def providers(module: str, func_name: str) -> list:
    """Every installed app's ``<app>.<module>.<func_name>``, found the same way.

    The general form of the panels: a lower app (``community``) asks the higher ones
    for data (a market's committed trades, a market's income for an owner) without
    importing them.
    """
    return list(_providers(func_name, module))
