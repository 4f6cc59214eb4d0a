"""Managed identity access tokens, from IMDS
(https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/how-to-use-vm-token).

The token endpoint has its own rules, kept here: its own api-version
(2018-02-01, what every Azure SDK sends), its own retries (404 and 410 while
IMDS updates, 429, 5xx), OAuth-style error bodies ``{"error",
"error_description"}`` explained for people, and a secret in the answer: the
access token is printed to a pipe (for scripts) but masked on a terminal
unless --show-token (a Result's ``terminal`` view). The answer body never
reaches an error message or the --debug log.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, Dict, Optional, Tuple

from imdsctl import catalog
from imdsctl.errors import (
    ImdsctlError,
    ImdsNotFoundError,
    NotImdsError,
    RefusedError,
    UnavailableError,
    UsageError,
    one_line,
)
from imdsctl.result import Result

if TYPE_CHECKING:
    from imdsctl.protocols import Imds

#: What the token endpoint's callers retry (the managed identity documentation, azure-identity): 404 and 410
#: while IMDS updates, 429 throttled, 5xx.
RETRY_STATUSES = frozenset({404, 410, 429}) | frozenset(range(500, 600))
#: /identity/info: the usual IMDS rules (a 404 there means no such endpoint).
INFO_RETRY_STATUSES = frozenset({410, 429}) | frozenset(range(500, 600))

#: The identity selectors: (IMDS query parameter, also the option's name; what it names)
SELECTORS = (("client_id", "client id"), ("object_id", "object id"), ("msi_res_id", "resource id"))

SCRIPT_IDIOM = "TOKEN=$(imdsctl identity token --resource URI -q access_token -o tsv)"
DEFAULT_SCOPE_SUFFIX = "/.default"

GUID = re.compile(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
ARM_ID = re.compile(r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/.+", re.IGNORECASE)


def check_guid(value: str) -> str:
    """``value`` when it is a GUID; ValueError saying so otherwise."""
    if not GUID.fullmatch(value):
        raise ValueError(f"{value!r} is not a GUID (e.g. be5947ed-3560-4afe-9504-59967a63f810)")
    return value


def check_arm_id(value: str) -> str:
    """``value`` when it is an Azure resource id; ValueError saying so otherwise."""
    if not ARM_ID.fullmatch(value):
        raise ValueError(
            f"{value!r} is not an Azure resource id (/subscriptions/<id>/resourceGroups/<group>/"
            "providers/Microsoft.ManagedIdentity/userAssignedIdentities/<name>)")
    return value


def token(imds: Imds, resource: str, client_id: Optional[str] = None, object_id: Optional[str] = None,
          msi_res_id: Optional[str] = None, show_token: bool = False) -> Result:
    """An access token of the VM's managed identity for ``resource``: IMDS's
    answer as it sends it, the token masked on a terminal unless ``show_token``.
    At most one selector (UsageError otherwise)."""
    chosen = [(param, label, value) for (param, label), value
              in zip(SELECTORS, (client_id, object_id, msi_res_id)) if value is not None]
    if len(chosen) > 1:
        given = " and ".join("--" + param.replace("_", "-") for param, _, _ in chosen)
        raise UsageError(f"{given} are mutually exclusive: a token is for one identity",
                         "pass one of client_id, object_id, msi_res_id, or none", cause="one-selector")
    if resource.endswith(DEFAULT_SCOPE_SUFFIX):
        resource = resource[: -len(DEFAULT_SCOPE_SUFFIX)]
    if not resource.strip():
        raise UsageError("--resource is empty", "pass the application ID URI of the target, "
                         "e.g. https://management.azure.com/")
    params = {"resource": resource}
    selector = None
    if chosen:
        param, label, value = chosen[0]
        params[param] = value
        selector = (label, value)
    answer = _token_answer(_ask(imds, catalog.IDENTITY_TOKEN_PATH, params, RETRY_STATUSES, "text",
                                selector, resource))
    return Result(answer, terminal=None if show_token else _masked, table=_for_people)


def _for_people(answer: Any) -> Any:
    """The token table: epoch seconds (expires_on, not_before) as times, with a countdown."""
    if not isinstance(answer, dict):
        return answer
    import time
    from datetime import datetime

    from imdsctl.ui.text import span

    shown, now = dict(answer), time.time()
    for key in ("expires_on", "not_before"):
        value = str(answer.get(key, ""))
        if value.isdigit():
            at = int(value)
            local = datetime.fromtimestamp(at).strftime("%Y-%m-%d %H:%M:%S")
            shown[key] = f"{local} ({'in ' + span(at - now) if at > now else span(now - at) + ' ago'})"
    return shown


def info(imds: Imds) -> Result:
    """The Entra ID tenant of the VM's managed identities: ``{"tenantId": ...}``."""
    try:
        body = _ask(imds, catalog.IDENTITY_INFO_PATH, {}, INFO_RETRY_STATUSES, "json", None, None)
    except ImdsNotFoundError as err:
        raise ImdsNotFoundError(f"IMDS has no {catalog.IDENTITY_INFO_PATH} (HTTP {err.status})",
                                "the endpoint is in IMDS's API specification but not in its documentation; "
                                "'imdsctl identity token' does not need it",
                                status=err.status, body=err.body, url=err.url) from None
    if not isinstance(body, dict) or not isinstance(body.get("tenantId"), str):
        raise NotImdsError(f"GET {catalog.IDENTITY_INFO_PATH} returned JSON without a tenantId",
                           "something other than IMDS may be answering on " + imds.client.endpoint)
    return Result(body)


def mask(secret: str) -> str:
    """What a terminal shows instead of a token: ``eyJ0…(1234 chars; --show-token to print)``."""
    return f"{secret[:4]}…({len(secret)} chars; --show-token to print)"


def _masked(answer: Dict[str, Any]) -> Dict[str, Any]:
    return {**answer, "access_token": mask(answer["access_token"])}


def _ask(imds: Imds, path: str, params: Dict[str, str], retry: frozenset, expect: str,
         selector: Optional[Tuple[str, str]], resource: Optional[str]) -> Any:
    """The body of a 200 answer; IMDS's refusals explained."""
    version = imds.settings.api_version_for(catalog.IDENTITY_TOKEN)
    try:
        return imds.client.request("GET", path, params=params, expect=expect, api_version=version,
                                   retry_statuses=retry).body
    except RefusedError as err:
        raise _explain(err, path, version, selector, resource) from None
    except UnavailableError as err:
        if err.status != 429:
            raise
        raise UnavailableError(err.message, "IMDS allows 20 identity requests per second (5 at a time) "
                               "per VM: cache tokens until expires_on; wait and retry, or allow a longer "
                               "timeout", status=err.status, body=err.body, url=err.url,
                               cause="identity-throttled") from None


#: What a token looks like inside an error text (a JWT: base64url header, payload, signature), and
#: after "Bearer ": a broken or hostile endpoint echoing one is never quoted.
_TOKENISH = re.compile(r"eyJ[\w-]{4,}(?:\.[\w-]*){0,2}|(?<=Bearer )\S+", re.IGNORECASE)


def _no_token(text: str) -> str:
    return _TOKENISH.sub("<token hidden>", text)


def _explain(err: RefusedError, path: str, version: Optional[str], selector: Optional[Tuple[str, str]],
             resource: Optional[str]) -> ImdsctlError:
    """A refusal of the identity endpoint, in words: which identity, which resource, what to do."""
    body = err.body if isinstance(err.body, dict) else {}
    code, description = (_no_token(one_line(str(body.get(key, ""))))
                         for key in ("error", "error_description"))
    said = f"{err.status} {': '.join(part for part in (code, description) if part)}".strip()
    kwargs: Dict[str, Any] = dict(status=err.status, body=err.body, url=err.url)
    if err.status == 400 and description.startswith("Identity not found"):
        if resource is None:
            return RefusedError(f"IMDS reports no managed identity on this VM ({said})",
                                "assign one to the VM; right after an assignment it can take a few "
                                "minutes to appear", **kwargs)
        if selector is None:
            return RefusedError(
                f"IMDS has no managed identity to give a token for ({said})",
                "the VM has no system-assigned identity and not exactly one user-assigned one: assign "
                "one, or name a user-assigned one by client_id, object_id or msi_res_id; "
                "right after an assignment it can take a few minutes to appear",
                cause="no-identity", **kwargs)
        label, value = selector
        return RefusedError(
            f"no managed identity with {label} {value} is assigned to this VM ({said})",
            "check the id ('az vm identity show' lists the VM's identities); right after an "
            "assignment it can take a few minutes to appear", **kwargs)
    if code == "invalid_resource":  # Entra's long text: its first sentence says it all
        said = f"{err.status} {code}: {description.split('. ')[0].rstrip('.')}."
        return RefusedError(
            f"Microsoft Entra ID knows no resource {resource} in this tenant ({said})",
            "the resource is the application ID URI of the target, e.g. https://management.azure.com/, "
            "https://vault.azure.net, https://storage.azure.com/", cause="invalid-resource", **kwargs)
    if err.cause:  # something in front of IMDS refused (imds.mediation): its own words stand
        return err
    newest = body.get("newest-versions")
    if isinstance(newest, list):
        return RefusedError(f"IMDS refused api-version {version} for GET {path} ({said})",
                            f"it offers {', '.join(map(str, newest))}; ask without an api-version to use "
                            f"{catalog.IDENTITY_API_VERSION}", cause="identity-version",
                            detail={"offers": ", ".join(map(str, newest))}, **kwargs)
    return RefusedError(f"IMDS refused GET {path} ({said})", err.hint, **kwargs)


def _token_answer(text: str) -> Dict[str, Any]:
    """The token JSON, checked without ever quoting it (it holds a secret)."""
    where = f"GET {catalog.IDENTITY_TOKEN_PATH}"
    try:
        answer = json.loads(text)
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or not isinstance(answer.get("access_token"), str):
        raise NotImdsError(f"{where} returned {len(text)} characters that are not a token answer "
                           "(JSON with an access_token)",
                           "something other than IMDS may be answering; the body is not shown "
                           "because it may hold a secret")
    return answer
