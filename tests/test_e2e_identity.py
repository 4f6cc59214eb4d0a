"""Managed identity end to end: imdsctl and Microsoft's azure-identity against
the emulator over loopback sockets.

The CLI runs in-process (the `run` fixture) and as the installed command,
piped and on a pseudo-terminal, where the token must be masked. The SDK tests
point azure-identity at the emulator through AZURE_POD_IDENTITY_AUTHORITY_HOST
(the imds_emulator fixture sets it) and skip when azure-identity is not
installed (`make test` installs it with the test extra).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from urllib.parse import parse_qs

import pytest

from imdsctl import catalog
from imdsctl.emulator import load_profile
from tests.lib.helpers import ok
from tests.lib.process import IMDSCTL, on_a_terminal

pytestmark = pytest.mark.e2e

SECTION = load_profile("linux-2025").identity
SYSTEM, USER, TENANT = SECTION["systemAssigned"], SECTION["userAssigned"][0], SECTION["tenantId"]
ARM = "https://management.azure.com/"
#: Variables that would make azure-identity choose another credential than IMDS.
SDK_VARIABLES = ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE",
                 "AZURE_AUTHORITY_HOST", "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT",
                 "IMDS_ENDPOINT", "MSI_ENDPOINT", "MSI_SECRET")



def claims(access_token: str) -> dict:
    payload = access_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def query(logged) -> dict:
    return {k: v[0] for k, v in parse_qs(logged.query).items()}


# -- the CLI ------------------------------------------------------------------------------------


def test_token_for_scripts(run, imds_emulator):
    answer = json.loads(ok(run("identity", "token", "--resource", ARM)).stdout)
    assert answer["client_id"] == SYSTEM["clientId"] and answer["expires_in"] == "86399"
    assert claims(answer["access_token"])["aud"] == ARM
    logged = imds_emulator.requests[0]
    assert (logged.path, logged.status) == (catalog.IDENTITY_TOKEN_PATH, 200)
    assert query(logged) == {"api-version": "2018-02-01", "resource": ARM}


def test_token_of_a_user_assigned_identity(run, imds_emulator):
    token = ok(run("identity", "token", "--resource", ARM, "--msi-res-id", USER["resourceId"],
                   "-q", "access_token", "-o", "tsv")).stdout
    assert token.endswith("\n") and token.count("\n") == 1
    assert claims(token.strip())["oid"] == USER["objectId"]


def test_token_for_an_identity_the_vm_does_not_have(run, imds_emulator):
    nobody = "00000000-0000-0000-0000-000000000000"
    result = ok(run("identity", "token", "--resource", ARM, "--client-id", nobody), 4)
    assert "(400 invalid_request: Identity not found)" in result.stderr
    assert len(imds_emulator.requests) == 1


@pytest.mark.imds_emulator(profile="linux-2017")
def test_a_vm_without_identity(run, imds_emulator):
    assert "IMDS has no managed identity to give a token for" in \
        ok(run("identity", "token", "--resource", ARM), 4).stderr
    assert "IMDS reports no managed identity on this VM" in ok(run("identity", "info"), 4).stderr


TOKEN = catalog.IDENTITY_TOKEN_PATH


@pytest.mark.imds_emulator(faults=[f"410*2@{TOKEN}", f"404@{TOKEN}"])
def test_token_rides_out_an_imds_update(run, imds_emulator):
    ok(run("identity", "token", "--resource", ARM, "-o", "none"))
    assert [r.status for r in imds_emulator.requests] == [410, 410, 404, 200]


def test_unknown_resource(run, imds_emulator):
    result = ok(run("identity", "token", "--resource", "management.azure.com"), 4)
    assert result.stderr.startswith("imdsctl: Microsoft Entra ID knows no resource management.azure.com")
    assert "AADSTS500011" in result.stderr


def test_info(run, imds_emulator):
    assert ok(run("identity", "info", "-q", "tenantId")).stdout == TENANT + "\n"


def test_piped_the_installed_command_prints_the_token(imds_emulator):
    result = subprocess.run([IMDSCTL, "identity", "token", "--resource", ARM], env=dict(os.environ),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert claims(json.loads(result.stdout)["access_token"])["tid"] == TENANT


def test_on_a_terminal_the_token_is_masked(imds_emulator):
    code, screen = on_a_terminal(["identity", "token", "--resource", ARM, "-o", "json"], dict(os.environ))
    assert code == 0, screen
    shown = json.loads(screen)["access_token"]
    assert shown.startswith("eyJ0…(") and shown.endswith(" chars; --show-token to print)")
    assert "eyJ0eXAi" not in screen  # not even the start of the JWT header
    code, table = on_a_terminal(["identity", "token", "--resource", ARM], dict(os.environ))
    assert code == 0 and "--show-token to print" in table and SYSTEM["clientId"] in table


def test_on_a_terminal_show_token_prints_it(imds_emulator):
    code, screen = on_a_terminal(["identity", "token", "--resource", ARM, "--show-token",
                                  "-q", "access_token"], dict(os.environ))
    assert code == 0, screen
    assert claims(screen.strip())["aud"] == ARM


# -- Microsoft's azure-identity ----------------------------------------------------------------


@pytest.fixture
def sdk(imds_emulator, monkeypatch):
    """azure.identity, with AZURE_POD_IDENTITY_AUTHORITY_HOST on the emulator and
    nothing that would make it pick another credential."""
    azure_identity = pytest.importorskip("azure.identity")
    for name in SDK_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert os.environ["AZURE_POD_IDENTITY_AUTHORITY_HOST"] == imds_emulator.url
    return azure_identity


def test_managed_identity_credential_gets_a_token(sdk, imds_emulator):
    with sdk.ManagedIdentityCredential() as credential:
        token = credential.get_token("https://management.azure.com/.default")
    seen = claims(token.token)
    assert seen["aud"] == "https://management.azure.com"  # the SDK trims the scope to a resource
    assert (seen["oid"], seen["tid"]) == (SYSTEM["objectId"], TENANT)
    logged = imds_emulator.requests[-1]
    assert (logged.path, logged.status) == (catalog.IDENTITY_TOKEN_PATH, 200)
    assert query(logged) == {"api-version": "2018-02-01", "resource": "https://management.azure.com"}


def test_managed_identity_credential_with_a_user_assigned_client_id(sdk, imds_emulator):
    with sdk.ManagedIdentityCredential(client_id=USER["clientId"]) as credential:
        token = credential.get_token("https://vault.azure.net/.default")
    assert claims(token.token)["oid"] == USER["objectId"]
    assert query(imds_emulator.requests[-1])["client_id"] == USER["clientId"]


def test_managed_identity_credential_with_a_resource_id(sdk, imds_emulator):
    with sdk.ManagedIdentityCredential(identity_config={"resource_id": USER["resourceId"]}) as credential:
        token = credential.get_token("https://storage.azure.com/.default")
    assert claims(token.token)["xms_mirid"] == USER["resourceId"]
    assert query(imds_emulator.requests[-1])["msi_res_id"] == USER["resourceId"]


def test_managed_identity_credential_with_an_unknown_client_id(sdk, imds_emulator):
    credential = sdk.ManagedIdentityCredential(client_id="00000000-0000-0000-0000-000000000000")
    with credential, pytest.raises(sdk.CredentialUnavailableError):
        credential.get_token("https://management.azure.com/.default")
    assert [r.status for r in imds_emulator.requests] == [400]


@pytest.mark.imds_emulator(faults=[f"410@{TOKEN}"])
def test_managed_identity_credential_retries_a_410(sdk, imds_emulator):
    with sdk.ManagedIdentityCredential() as credential:
        assert credential.get_token("https://management.azure.com/.default").token
    assert [r.status for r in imds_emulator.requests] == [410, 200]


def test_default_azure_credential_finds_the_emulator(sdk, imds_emulator):
    credential = sdk.DefaultAzureCredential(exclude_cli_credential=True,
                                            exclude_developer_cli_credential=True,
                                            exclude_powershell_credential=True)
    with credential:
        token = credential.get_token("https://management.azure.com/.default")
    assert claims(token.token)["appid"] == SYSTEM["clientId"]
