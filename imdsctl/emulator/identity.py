"""Managed identity: ``/metadata/identity/oauth2/token`` and ``/metadata/identity/info``
(https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/how-to-use-vm-token).

The identities come from the profile's ``identity`` section::

    "identity": {
      "tenantId": "<guid>",
      "systemAssigned": {"clientId": "<guid>", "objectId": "<guid>"} | null,
      "userAssigned": [{"clientId": "<guid>", "objectId": "<guid>",
                        "resourceId": "/subscriptions/.../userAssignedIdentities/<name>"}],
      "metadataHeaderError": "invalid_request" | "bad_request_102"
    }

No section means no identity at all: the token endpoint and ``info`` answer
400 ``Identity not found``.  Which identity a request gets:

* ``client_id`` / ``object_id`` pick any identity with that id (GUIDs,
  compared case-insensitively); ``msi_res_id`` (and the App Service spelling
  ``mi_res_id``, whose support by VM IMDS is unconfirmed) picks a user-assigned
  identity by ARM id, case-insensitively.  More than one selector: 400.
* No selector: the system-assigned identity; without one, the only
  user-assigned identity (the "known issue" MSAL documents); with several
  user-assigned identities and no system-assigned one, 400 ``Identity not found``.

Tokens look real and decode as JWTs (RS256 header with a ``kid``; ``aud`` =
the resource, ``iss``/``idp`` = ``https://sts.windows.net/<tenant>/``,
``appid``, ``oid``, ``tid``, ``xms_mirid``...), but the signature is random
bytes: no key can verify it.  Every request mints a fresh token (real IMDS
caches and returns the same one with a shrinking ``expires_in``).  A
``resource`` that is not an absolute URI or a GUID, or that is a v2 scope
ending in ``/.default``, gets Entra's ``invalid_resource`` AADSTS500011.

The category's limits are IMDS's: 20 requests per second and 5 concurrent
requests (a request is in flight until its answer is due: see throttle.py);
beyond either, 429 ``Temporarily throttled, too many requests``.

``refuse`` words the service's own refusals (missing ``Metadata`` header,
rate limit, method...) the identity endpoint's OAuth way; sources disagree
on the missing-header code (``invalid_request`` per Microsoft's
aad-pod-identity imitation, https://github.com/Azure/aad-pod-identity, the
default; ``bad_request_102`` per the docs), so the profile chooses.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import time
import uuid
from typing import Any, Dict, List, Mapping, Optional, Tuple

from imdsctl import catalog
from imdsctl.emulator import messages
from imdsctl.emulator.messages import Request, Response, json_response

#: The token endpoint's api-versions: 2018-02-01, the one every SDK sends, and
#: every later instance version (the swagger defines the operation up to 2023-07-01).
VERSIONS: Tuple[str, ...] = catalog.IDENTITY_TOKEN.versions

TOKEN_PATH, INFO_PATH = catalog.IDENTITY_TOKEN_PATH, catalog.IDENTITY_INFO_PATH

#: The identity category's own rate limit, requests per second.
RATE = catalog.IDENTITY_TOKEN.rate
#: ... and how many of its requests may be in flight at once; beyond that, 429 [doc]
CONCURRENT = 5

LIFETIME = 86399     #: expires_in of a fresh token, seconds [doc]
CLOCK_SKEW = 300     #: Entra back-dates nbf/iat by five minutes

SELECTORS = ("client_id", "object_id", "msi_res_id", "mi_res_id")
HEADER_ERRORS = ("invalid_request", "bad_request_102")

# seen in answers of real VMs, quoted in public issues
NOT_FOUND = "Identity not found"
NO_RESOURCE = "Required query variable 'resource' is missing"
THROTTLED = "Temporarily throttled, too many requests"
NO_HEADER = "Required metadata header not specified"
# the emulator's wording: IMDS's is not known
SEVERAL = "Only one of client_id, object_id and msi_res_id may be specified"

#: A fixed key id, in the shape of Entra's (a base64url SHA-1 thumbprint).
KID = base64.urlsafe_b64encode(hashlib.sha1(b"imdsctl emulator").digest()).rstrip(b"=").decode()

_GUID = re.compile(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_IDENTITY_ID = re.compile(r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/"
                          r"Microsoft\.ManagedIdentity/userAssignedIdentities/[^/]+", re.IGNORECASE)


def oauth_error(status: int, code: str, description: str, **extra: Any) -> Response:
    """An identity error answer: ``{"error": code, "error_description": text}``."""
    return json_response(status, {"error": code, "error_description": description, **extra})


# -- the handlers --------------------------------------------------------------


def token(service: Any, req: Request, route: Tuple[str, ...], version: str) -> Response:
    """GET /metadata/identity/oauth2/token."""
    section = service.profile.identity
    resource = req.param("resource")
    if not resource:
        return oauth_error(400, "invalid_request", NO_RESOURCE)
    given = [(name, value) for name in SELECTORS for value in (req.param(name),) if value is not None]
    if len(given) > 1:
        return oauth_error(400, "invalid_request", SEVERAL)
    identity = None if section is None else _select(section, given[0] if given else None)
    if identity is None:
        return oauth_error(400, "invalid_request", NOT_FOUND)
    if not _known_resource(resource):
        return _invalid_resource(resource, section["tenantId"])
    mirid = identity.get("resourceId") or service.profile.instance.get("compute", {}).get("resourceId", "")
    return json_response(200, issue(resource, identity, section["tenantId"], mirid))


def info(service: Any, req: Request, route: Tuple[str, ...], version: str) -> Response:
    """GET /metadata/identity/info: the tenant of the VM's identities."""
    section = service.profile.identity
    if section is None:
        return oauth_error(400, "invalid_request", NOT_FOUND)
    return json_response(200, {"tenantId": section["tenantId"]})


def refuse(service: Any, status: int, message: str) -> Response:
    """The service's refusal ``message`` with ``status``, as the identity endpoint words it."""
    if message == messages.METADATA_HEADER:
        section = service.profile.identity or {}
        return oauth_error(status, section.get("metadataHeaderError", HEADER_ERRORS[0]), NO_HEADER)
    if status == 429:
        return oauth_error(429, "invalid_request", THROTTLED)
    return oauth_error(status, "method_not_allowed" if status == 405 else "invalid_request", message)


# -- tokens --------------------------------------------------------------------


def issue(resource: str, identity: Mapping[str, str], tenant: str, mirid: str) -> Dict[str, str]:
    """A token answer as IMDS sends it: every value a string."""
    issued = int(time.time())
    not_before, expires = issued - CLOCK_SKEW, issued + LIFETIME
    authority = f"https://sts.windows.net/{tenant}/"
    claims = {
        "aud": resource, "iss": authority, "iat": not_before, "nbf": not_before, "exp": expires,
        "appid": identity["clientId"], "appidacr": "2", "idp": authority, "idtyp": "app",
        "oid": identity["objectId"], "sub": identity["objectId"], "tid": tenant,
        "uti": _b64(secrets.token_bytes(16)), "ver": "1.0", "xms_mirid": mirid,
    }
    return {
        "access_token": jwt(claims),
        "client_id": identity["clientId"],
        "expires_in": str(LIFETIME),
        "expires_on": str(expires),
        "ext_expires_in": str(LIFETIME),
        "not_before": str(not_before),
        "resource": resource,
        "token_type": "Bearer",
    }


def jwt(claims: Mapping[str, Any]) -> str:
    """``header.payload.signature`` in base64url; the signature is 256 random bytes,
    the size of an RS256 signature with Entra's 2048-bit keys."""
    header = {"typ": "JWT", "alg": "RS256", "x5t": KID, "kid": KID}
    return ".".join(_b64(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)) \
        + "." + _b64(secrets.token_bytes(256))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _select(section: Mapping[str, Any], given: Optional[Tuple[str, str]]) -> Optional[Mapping[str, str]]:
    system, users = section.get("systemAssigned"), section["userAssigned"]
    if given is None:
        if system is not None:
            return system
        return users[0] if len(users) == 1 else None
    name, value = given
    if name in ("client_id", "object_id"):
        key, candidates = ("clientId" if name == "client_id" else "objectId"), [system, *users]
    else:
        key, candidates = "resourceId", users
    wanted = value.lower()
    return next((i for i in candidates if i is not None and i[key].lower() == wanted), None)


def _known_resource(resource: str) -> bool:
    if resource.rstrip("/").endswith("/.default"):
        return False
    return bool(_GUID.fullmatch(resource) or re.match(r"[A-Za-z][A-Za-z0-9+.-]*://[^/\s]", resource))


def _invalid_resource(resource: str, tenant: str) -> Response:
    """Entra's answer for a resource the tenant does not know, passed through by IMDS."""
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    stamp = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())
    description = (f"AADSTS500011: The resource principal named {resource} was not found in the tenant "
                   f"named {tenant}. This can happen if the application has not been installed by the "
                   "administrator of the tenant or consented to by any user in the tenant. You might "
                   "have sent your authentication request to the wrong tenant. "
                   f"Trace ID: {trace} Correlation ID: {correlation} Timestamp: {stamp}")
    return oauth_error(400, "invalid_resource", description, error_codes=[500011], timestamp=stamp,
                       trace_id=trace, correlation_id=correlation,
                       error_uri="https://login.microsoftonline.com/error?code=500011")


# -- the profile section -------------------------------------------------------------


def check_section(section: Any, where: str) -> Optional[Dict[str, Any]]:
    """Validate a profile's ``identity`` section; return it normalized (every key
    present), or None for null.  Raises ValueError naming ``where`` and the bad key."""
    if section is None:
        return None
    if not isinstance(section, Mapping):
        raise ValueError(f"{where}: expected a JSON object or null")
    allowed = ("tenantId", "systemAssigned", "userAssigned", "metadataHeaderError")
    unknown = sorted(set(section) - set(allowed))
    if unknown:
        raise ValueError(f"{where}: unknown key '{unknown[0]}' (expected: {', '.join(allowed)})")
    _guid(section.get("tenantId"), f"{where}/tenantId")
    system = section.get("systemAssigned")
    if system is not None:
        _identity(system, f"{where}/systemAssigned", ("clientId", "objectId"))
    users = section.get("userAssigned", [])
    if not isinstance(users, list):
        raise ValueError(f"{where}/userAssigned: expected a JSON list")
    for index, user in enumerate(users):
        _identity(user, f"{where}/userAssigned/{index}", ("clientId", "objectId", "resourceId"))
    everyone: List[Mapping[str, str]] = ([system] if system is not None else []) + users
    for key in ("clientId", "objectId", "resourceId"):
        values = [i[key].lower() for i in everyone if key in i]
        if len(set(values)) != len(values):
            raise ValueError(f"{where}: two identities have the same {key}")
    header_error = section.get("metadataHeaderError", HEADER_ERRORS[0])
    if header_error not in HEADER_ERRORS:
        raise ValueError(f"{where}/metadataHeaderError: expected one of {', '.join(HEADER_ERRORS)}")
    return {"tenantId": section["tenantId"], "systemAssigned": None if system is None else dict(system),
            "userAssigned": [dict(u) for u in users], "metadataHeaderError": header_error}


def _identity(node: Any, where: str, keys: Tuple[str, ...]) -> None:
    if not isinstance(node, Mapping) or set(node) != set(keys):
        raise ValueError(f"{where}: expected an object with exactly {', '.join(keys)}")
    for key in keys:
        if key == "resourceId":
            if not isinstance(node[key], str) or not _IDENTITY_ID.fullmatch(node[key]):
                raise ValueError(f"{where}/resourceId: expected /subscriptions/<id>/resourceGroups/"
                                   "<group>/providers/Microsoft.ManagedIdentity/userAssignedIdentities/<name>")
        else:
            _guid(node[key], f"{where}/{key}")


def _guid(value: Any, where: str) -> None:
    if not isinstance(value, str) or not _GUID.fullmatch(value):
        raise ValueError(f"{where}: expected a GUID string, got {json.dumps(value)}")
