"""Profiles: the JSON documents the emulator serves.

A profile is either a raw instance document, exactly what ``imdsctl get -o
json`` prints or a VM returns for ``/metadata/instance``::

    {"compute": {...}, "network": {...}}

or the extended form, which can also describe the other endpoint families::

    {"description": "...", "instance": {...}, "apiVersions": ["2017-04-02", ...],
     "loadbalancer": {...} | null, "identity": {...}, "scheduledEvents": [...]}

``apiVersions`` are the instance api-versions the VM's IMDS offers (its
/metadata/versions; default every one the catalog knows).  Each section but
``instance`` and ``apiVersions`` belongs to an endpoint family, which
validates it (families.SECTIONS): ``loadbalancer`` (absent or null: no
Standard load balancer, the endpoint answers 404), ``identity``
(identity.py), ``scheduledEvents`` (events.py).  The built-in profiles live
in ``profiles/*.json`` next to this module.

A support bundle written by ``imdsctl collect`` (tar.gz or zip) is a profile
too: the VM it was collected on (replay.py).

Every string must be one the emulator can send: a lone surrogate such as
``"\ud800"`` (valid JSON, not UTF-8) is refused at load.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

from imdsctl.emulator.families import SECTIONS
from imdsctl.emulator.replay import bundle_document
from imdsctl.support import bundle

#: The profile served when none is named.
DEFAULT_PROFILE = "linux-2025"

#: Keys of the extended form: its own, then the sections of the endpoint families.
EXTENDED_KEYS = ("description", "instance", "apiVersions", *(section.key for section in SECTIONS))

_VERSION = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

ProfileSource = Union[str, Path, Mapping[str, Any]]


class ProfileError(ValueError):
    """A profile that cannot be loaded; the message names the file and JSON path."""


@dataclass(frozen=True)
class Profile:
    """A validated profile."""

    name: str
    description: str
    instance: Dict[str, Any]                 #: the full /metadata/instance document
    loadbalancer: Optional[Dict[str, Any]] = None  #: None: no Standard load balancer
    identity: Optional[Dict[str, Any]] = None  #: managed identities (emulator/identity.py); None: none
    scheduled_events: Tuple[Any, ...] = ()     #: initial events, EventSpecs (emulator/events.py)
    versions: Optional[Tuple[str, ...]] = None  #: the instance api-versions offered; None: the catalog's
    redacted: Tuple[str, ...] = ()  #: values served as "<redacted>" (a support bundle's), by path


def _builtin_dir() -> Any:
    """``profiles/`` beside this module, read through importlib.resources: a directory when
    installed, a folder of the archive in the zipapp (tools/build_pyz.py)."""
    from importlib import resources

    return resources.files(__package__) / "profiles"


BUILTIN_DIR = _builtin_dir()


def builtin_names() -> List[str]:
    """Names of the built-in profiles, sorted."""
    return sorted(path.name[:-5] for path in BUILTIN_DIR.iterdir() if path.name.endswith(".json"))


def list_profiles() -> Dict[str, str]:
    """Built-in profile names, sorted, mapped to their one-line descriptions."""
    return {name: load_profile(name).description for name in builtin_names()}


def load_profile(source: ProfileSource = DEFAULT_PROFILE) -> Profile:
    """Load and validate a profile: a built-in name, a path to a JSON file or
    to a support bundle (tar.gz or zip), or an already parsed document (dict).
    Raises ProfileError."""
    if isinstance(source, Mapping):
        return from_document(source, "<dict>")
    name = str(source)
    path: Any = Path(name)
    is_name = re.fullmatch(r"[A-Za-z0-9_-]+", name) is not None
    if is_name and name in builtin_names():
        path = BUILTIN_DIR / f"{name}.json"
    elif is_name and not path.is_file():
        raise ProfileError(f"unknown profile '{name}' (built-in: {', '.join(builtin_names())}; "
                           "or give the path of a JSON file or a support bundle)")
    try:
        with path.open("rb") as stream:
            data = stream.read(bundle.MAX_READ + 1)
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(data) > bundle.MAX_READ:
        raise ProfileError(f"{path}: over {bundle.MAX_READ >> 20} MiB: not a profile")
    if bundle.is_archive(data):
        try:
            document, redacted = bundle_document(data, name)
        except ValueError as exc:
            raise ProfileError(str(exc)) from None
        return replace(from_document(document, name), redacted=tuple(redacted))
    try:
        document = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise ProfileError(f"{path}: not valid JSON: {exc}") from None
    return from_document(document, name)


def from_document(document: Any, name: str) -> Profile:
    """Validate a parsed profile document (raw or extended form)."""
    if not isinstance(document, Mapping):
        raise ProfileError(f"{name}: a profile must be a JSON object")
    if "instance" not in document:  # the raw form: the instance document itself
        document = {"instance": document}
    unknown = sorted(set(document) - set(EXTENDED_KEYS))
    if unknown:
        raise ProfileError(f"{name}: unknown profile key '{unknown[0]}' "
                           f"(expected: {', '.join(EXTENDED_KEYS)})")
    _check_encodable(document, name)
    description = document.get("description", "")
    if not isinstance(description, str):
        raise ProfileError(f"{name}: description: expected a JSON string")
    instance = document["instance"]
    if not isinstance(instance, Mapping):
        raise ProfileError(f"{name}: instance: expected a JSON object")
    _check_strings(instance, f"{name}: instance")
    sections: Dict[str, Any] = {"versions": _versions(document.get("apiVersions"), f"{name}: apiVersions")}
    for section in SECTIONS:
        if section.key in document:
            try:
                sections[section.field] = section.check(document[section.key], f"{name}: {section.key}")
            except ValueError as exc:
                raise ProfileError(str(exc)) from None
    return Profile(name, description, dict(instance), **sections)


def _versions(value: Any, where: str) -> Optional[Tuple[str, ...]]:
    """The ``apiVersions`` key: YYYY-MM-DD strings, each once, at least one."""
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise ProfileError(f"{where}: expected a non-empty JSON list of api-versions")
    for index, version in enumerate(value):
        if not isinstance(version, str) or not _VERSION.fullmatch(version):
            raise ProfileError(f"{where}/{index}: expected an api-version such as \"2021-02-01\", "
                               f"got {json.dumps(version)}")
    if len(set(value)) != len(value):
        raise ProfileError(f"{where}: an api-version is listed twice")
    return tuple(value)


def _children(node: Any):
    return node.items() if isinstance(node, Mapping) else enumerate(node)


def _check_encodable(node: Any, name: str, parts: Tuple[str, ...] = ()) -> None:
    """Every key and string can be sent as UTF-8 (no lone surrogate, which JSON
    allows as "\\ud800"): else every answer holding it would fail."""
    for key, value in _children(node):
        here = (*parts, str(key))
        for text in (key, value):
            if isinstance(text, str):
                try:
                    text.encode("utf-8")
                except UnicodeEncodeError as exc:
                    bad = text[exc.start:exc.end].encode("unicode_escape").decode()
                    where = "/".join(here).encode("utf-8", "backslashreplace").decode()
                    raise ProfileError(f"{name}: {where}: a string the emulator cannot send "
                                       f"({bad} is a lone surrogate, not UTF-8)") from None
        if isinstance(value, (Mapping, list)):
            _check_encodable(value, name, here)


def _check_strings(node: Any, where: str) -> None:
    """Every primitive under /metadata/instance is a JSON string, as IMDS sends it."""
    for key, value in _children(node):
        path = f"{where}/{key}"
        if isinstance(value, (Mapping, list)):
            _check_strings(value, path)
        elif not isinstance(value, str):
            raise ProfileError(f"{path}: expected a JSON string, got {json.dumps(value)} "
                               f"(every /metadata/instance value is a string, e.g. \"0\", \"false\")")
