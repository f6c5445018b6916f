"""The modules each Crewcall app contributes under one name (its `integrity`, its
`exports`), found as Django's admin finds `admin` modules: the kernel and ops name no app."""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

from django.apps import apps
from django.utils.module_loading import module_has_submodule


def app_modules(*, name: str) -> list[ModuleType]:
    """Each installed Crewcall app's module `name`, in INSTALLED_APPS order (which is
    layer order, lowest first); apps without one are skipped. The kernel's module of that
    name, if any, is the mechanism that asks, not a contribution."""
    found = []
    for config in apps.get_app_configs():
        if not config.name.startswith("crewcall.") or config.name == "crewcall.core":
            continue
        if module_has_submodule(config.module, name):
            found.append(import_module(f"{config.name}.{name}"))
    return found
