"""The command line's advice for an error: its hint in the words of the options.

The domain's errors say what to try in words that hold for a program
(``hint``), and name what a front end may advise in its own (``cause``,
with ``detail``). ``hint`` here gives the hint line the command line shows:
the advice for the error's cause, naming the options and commands, or the
error's own hint. Both the one error path (``ImdsGroup.main``) and the
reporter the command line gives a Session use it.
"""

from __future__ import annotations

from typing import Dict, Optional

from imdsctl import catalog
from imdsctl.errors import ImdsctlError

#: cause -> the hint line, formatted with the error's ``detail``.
HINTS: Dict[str, str] = {
    "unknown-field": "'imdsctl {group} --help' lists them; 'imdsctl get {group}/<key>' reads any key",
    "no-such-key": "keys are case-sensitive, indices 0-based; "
                   "'imdsctl get {parent} -o json' shows what is there",
    "optional-field": "IMDS leaves optional fields out on some VMs; --allow-missing makes it null "
                      "(empty in text)",
    "no-such-index": "'imdsctl get {route} -o json' shows what is there",
    "not-base64": "print it as IMDS sent it: drop --decode",
    "api-version-too-old": "pass --api-version {appeared} or newer",
    "unknown-event": "'imdsctl events list' shows the current ids; --force sends them anyway",
    "one-selector": "pass one of --client-id, --object-id, --msi-res-id, or none",
    "identity-throttled": "IMDS allows 20 identity requests per second (5 at a time) per VM: cache "
                          "tokens until expires_on; wait and retry, or raise --timeout",
    "no-identity": "the VM has no system-assigned identity and not exactly one user-assigned one: assign "
                   "one, or name a user-assigned one with --client-id, --object-id or --msi-res-id; "
                   "right after an assignment it can take a few minutes to appear",
    "invalid-resource": "--resource is the application ID URI of the target, e.g. "
                        "https://management.azure.com/, https://vault.azure.net, https://storage.azure.com/",
    "no-kubectl": "install kubectl, or pass --kubectl PATH",
    "no-node-name": "name the node: --kubernetes-node NAME (or set NODE_NAME, the downward API's)",
    "identity-version": "it offers {offers}; leave --api-version out to use " + catalog.IDENTITY_API_VERSION,
    "pod-restricted": "IMDS restricted for pods (AKS --enable-imds-restriction) or a network policy: run "
                      "the pod with hostNetwork, or allow 169.254.169.254; 'imdsctl doctor' says more",
    "dropped-not-root": "a firewall drops IMDS traffic from uid {uid}: some images let only root reach "
                        "IMDS; compare with 'sudo imdsctl doctor'",
    "systemd-locked": "locked by systemd-imds: leaves are read through its socket (--via systemd-imds, "
                      "automatic once systemd-imds.socket runs), or boot with systemd.imds.network=unlocked",
    "gpa-refused": "refused by the Guest Proxy Agent's rules: allow this process (path, user) in the "
                   "inVMAccessControlProfile; its logs are under /var/log/azure-proxy-agent",
    "gpa-no-claims": "the Guest Proxy Agent had no claims for this process: check that its eBPF redirection "
                     "is loaded (/var/log/azure-proxy-agent), then retry",
    "nmi": "aad-pod-identity's NMI answered: bind an AzureIdentity to the pod (AzureIdentityBinding), or "
           "move to Workload Identity; 'imdsctl doctor' shows the identity source",
    "varlink-unsupported": "systemd-imds serves leaf values only: drop --via (or IMDSCTL_VIA) and reach IMDS "
                           "directly as a process systemd-imds lets through",
}

#: Added to the hint of an unreachable IMDS when DMI says this is not an Azure VM.
NOT_AZURE = "this machine does not look like an Azure VM: DMI sys_vendor is {dmi_vendor}"


def hint(err: ImdsctlError) -> Optional[str]:
    """The hint line the command line shows for ``err`` (None: none)."""
    advice = HINTS.get(err.cause)
    said = advice.format(**err.detail) if advice is not None else err.hint
    if "dmi_vendor" in err.detail:
        said = NOT_AZURE.format(**err.detail) + (f"; {said}" if said else "")
    return said
