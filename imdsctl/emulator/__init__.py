"""A faithful local Azure Instance Metadata Service, for tests and demos.

    from imdsctl.emulator import Emulator

    with Emulator(profile="linux-2025") as imds:      # http://127.0.0.1:<free port>
        ...                                            # point clients at imds.url

Profiles are JSON documents (built-in: ``list_profiles()``); fields are gated
by the api-version asked for, from imdsctl.catalog.  Faults (``Fault``) make
requests fail, stall or break on purpose.  Attributes are imported lazily, so
importing this package (as the pytest plugin does) costs next to nothing.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["Emulator", "Fault", "FaultSpecError", "LoggedRequest", "Profile", "ProfileError",
           "list_profiles", "load_profile"]

_HOMES = {
    "Emulator": "api",
    "Fault": "faults",
    "FaultSpecError": "faults",
    "LoggedRequest": "service",
    "Profile": "profiles",
    "ProfileError": "profiles",
    "list_profiles": "profiles",
    "load_profile": "profiles",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
