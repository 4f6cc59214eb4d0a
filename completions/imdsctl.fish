# fish completion for imdsctl: generated from the click tree by `python -m imdsctl._docgen --write` (make docs); do not edit.
# Use: copy this file to ~/.config/fish/completions/imdsctl.fish.

# The command path before the cursor ("imdsctl emulator serve"), skipping the values of group options.
function __imdsctl_path
    set -l commands \
        'imdsctl attested' \
        'imdsctl collect' \
        'imdsctl completion' \
        'imdsctl compute' \
        'imdsctl diff' \
        'imdsctl doctor' \
        'imdsctl emulate' \
        'imdsctl emulator' \
        'imdsctl events' \
        'imdsctl get' \
        'imdsctl identity' \
        'imdsctl loadbalancer' \
        'imdsctl man' \
        'imdsctl network' \
        'imdsctl versions' \
        'imdsctl wait' \
        'imdsctl attested verify' \
        'imdsctl emulator profiles' \
        'imdsctl emulator serve' \
        'imdsctl events ack' \
        'imdsctl events list' \
        'imdsctl events unit' \
        'imdsctl events watch' \
        'imdsctl identity info' \
        'imdsctl identity token'
    set -l valued \
        'imdsctl --max-age' \
        'imdsctl --endpoint' \
        'imdsctl --api-version' \
        'imdsctl --timeout' \
        'imdsctl -o' \
        'imdsctl --output' \
        'imdsctl -q' \
        'imdsctl --query' \
        'imdsctl --prefix' \
        'imdsctl --via' \
        'imdsctl attested --nonce' \
        'imdsctl attested --endpoint' \
        'imdsctl attested --api-version' \
        'imdsctl attested --timeout' \
        'imdsctl attested -o' \
        'imdsctl attested --output' \
        'imdsctl attested -q' \
        'imdsctl attested --query' \
        'imdsctl attested --prefix' \
        'imdsctl attested --via'
    set -l path imdsctl
    set -l skip 0
    set -l words (commandline -opc)
    set -e words[1]
    for word in $words
        if test $skip = 1
            set skip 0
        else if test "$word" = --
            break
        else if contains "$path $word" $commands
            set path "$path $word"
        else if contains "$path $word" $valued
            set skip 1
        end
    end
    echo $path
end

function __imdsctl_at --description 'Is the command path before the cursor $argv?'
    test (__imdsctl_path) = "$argv"
end

complete -c imdsctl -f

# imdsctl
complete -c imdsctl -n '__imdsctl_at "imdsctl"' -a 'attested' -d 'The signed attested document of this VM, or \'verify\' to check it.'
complete -c imdsctl -n '__imdsctl_at "imdsctl"' -a 'collect' -d 'Write a support bundle: everything IMDS says about this VM, and why it may not.'
complete -c imdsctl -n '__imdsctl_at "imdsctl"' -a 'completion' -d 'Print the completion script for SHELL: bash, zsh or fish.'
complete -c imdsctl -n '__imdsctl_at "imdsctl"' -a 'compute' -d 'The compute facts of this VM, or FIELDs of them.'
complete -c imdsctl -n '__imdsctl_at "imdsctl"' -a 'diff' -d 'What changed between two snapshots of the instance document.'
complete -c imdsctl -n '__imdsctl_at "imdsctl"' -a 'doctor' -d 'Explain why IMDS is or is not reachable, one check per row.'
complete -c imdsctl -n '__imdsctl_at "imdsctl"' -a 'emulate' -d 'Run COMMAND against an emulator: on a free loopback port, or at 169.254.169.254.'
complete -c imdsctl -n '__imdsctl_at "imdsctl"' -a 'emulator' -d 'Run a local Azure IMDS emulator, for tests and demos.'
complete -c imdsctl -n '__imdsctl_at "imdsctl"' -a 'events' -d 'Scheduled Events: maintenance, evictions and deletions coming to this VM.'
complete -c imdsctl -n '__imdsctl_at "imdsctl"' -a 'get' -d 'Read raw paths under /metadata/instance, e.g. compute/vmId.'
complete -c imdsctl -n '__imdsctl_at "imdsctl"' -a 'identity' -d 'Managed identity: access tokens and the tenant, from IMDS.'
complete -c imdsctl -n '__imdsctl_at "imdsctl"' -a 'loadbalancer' -d 'The Standard load balancer\'s view of this VM: public IPs, inbound and...'
complete -c imdsctl -n '__imdsctl_at "imdsctl"' -a 'man' -d 'Print the man page (roff), or install it where man finds it.'
complete -c imdsctl -n '__imdsctl_at "imdsctl"' -a 'network' -d 'The network facts of this VM, one NIC, or FIELDs of one NIC.'
complete -c imdsctl -n '__imdsctl_at "imdsctl"' -a 'versions' -d 'The api-versions IMDS offers, oldest first.'
complete -c imdsctl -n '__imdsctl_at "imdsctl"' -a 'wait' -d 'Block until IMDS answers a real request, for boot scripts.'
complete -c imdsctl -n '__imdsctl_at "imdsctl"' -s V -l version -d 'Show the version and exit.'
complete -c imdsctl -n '__imdsctl_at "imdsctl"' -l max-age -x -d 'Answer from a snapshot of the instance document younger than this, kept per boot in a private runtime directory (default 0: always ask IMDS).'
complete -c imdsctl -n '__imdsctl_at "imdsctl"' -l endpoint -x -d 'IMDS base URL.'
complete -c imdsctl -n '__imdsctl_at "imdsctl"' -l api-version -x -d 'Instance api-version (default 2025-04-07, or \'latest\' to ask IMDS).'
complete -c imdsctl -n '__imdsctl_at "imdsctl"' -l timeout -x -d 'Total time budget for all attempts and retries.'
complete -c imdsctl -n '__imdsctl_at "imdsctl"' -s o -l output -x -a 'json jsonc yaml table tsv text env none' -d 'Output format [default: text for a value; table on a terminal, else json, for the rest]. tsv leaves nested lists and objects out, as az does: pick them with -q.'
complete -c imdsctl -n '__imdsctl_at "imdsctl"' -s q -l query -x -d 'JMESPath query applied before formatting, as in the az CLI.'
complete -c imdsctl -n '__imdsctl_at "imdsctl"' -l prefix -x -d 'Variable name prefix for -o env.'
complete -c imdsctl -n '__imdsctl_at "imdsctl"' -l via -x -a 'auto imds systemd-imds' -d 'The way to IMDS: systemd-imds reads leaf values through its Varlink socket (what its locked route leaves); auto does so when that route locks IMDS and the socket exists.'
complete -c imdsctl -n '__imdsctl_at "imdsctl"' -l debug -d 'Log requests, retries and timings to stderr.'
complete -c imdsctl -n '__imdsctl_at "imdsctl"' -s h -l help -d 'Show this message and exit.'

# imdsctl attested
complete -c imdsctl -n '__imdsctl_at "imdsctl attested"' -a 'verify' -d 'Check that the attested document is genuine, and say why or why not.'
complete -c imdsctl -n '__imdsctl_at "imdsctl attested"' -l nonce -x -d 'Up to 32 letters and digits for IMDS to sign into the document (default: IMDS puts the time, YYYYMMDD-HHMMSS).'
complete -c imdsctl -n '__imdsctl_at "imdsctl attested"' -l endpoint -x -d 'IMDS base URL.'
complete -c imdsctl -n '__imdsctl_at "imdsctl attested"' -l api-version -x -d 'Instance api-version (default 2025-04-07, or \'latest\' to ask IMDS).'
complete -c imdsctl -n '__imdsctl_at "imdsctl attested"' -l timeout -x -d 'Total time budget for all attempts and retries.'
complete -c imdsctl -n '__imdsctl_at "imdsctl attested"' -s o -l output -x -a 'json jsonc yaml table tsv text env none' -d 'Output format [default: text for a value; table on a terminal, else json, for the rest]. tsv leaves nested lists and objects out, as az does: pick them with -q.'
complete -c imdsctl -n '__imdsctl_at "imdsctl attested"' -s q -l query -x -d 'JMESPath query applied before formatting, as in the az CLI.'
complete -c imdsctl -n '__imdsctl_at "imdsctl attested"' -l prefix -x -d 'Variable name prefix for -o env.'
complete -c imdsctl -n '__imdsctl_at "imdsctl attested"' -l via -x -a 'auto imds systemd-imds' -d 'The way to IMDS: systemd-imds reads leaf values through its Varlink socket (what its locked route leaves); auto does so when that route locks IMDS and the socket exists.'
complete -c imdsctl -n '__imdsctl_at "imdsctl attested"' -l debug -d 'Log requests, retries and timings to stderr.'
complete -c imdsctl -n '__imdsctl_at "imdsctl attested"' -s h -l help -d 'Show this message and exit.'

# imdsctl attested verify
complete -c imdsctl -n '__imdsctl_at "imdsctl attested verify"' -l nonce -x -d 'The nonce to ask with and expect back (default: a fresh random 10-digit one; with --file, the one the document was asked with).'
complete -c imdsctl -n '__imdsctl_at "imdsctl attested verify"' -l ca-file -r -F -d 'Trust this PEM bundle instead of the system trust store: its self-signed certificates are the roots, the others intermediates (a bundle without a root adds intermediates to the system\'s roots).'
complete -c imdsctl -n '__imdsctl_at "imdsctl attested verify"' -l cloud -x -a 'china germany public usgov' -d 'The cloud whose metadata domain must name the signer: public metadata.azure.com, usgov metadata.azure.us, china metadata.azure.cn, germany metadata.microsoftazure.de.'
complete -c imdsctl -n '__imdsctl_at "imdsctl attested verify"' -l no-fetch -d 'Never download a missing intermediate from the signer\'s caIssuers URL (the download honours HTTP(S)_PROXY, unlike requests to IMDS).'
complete -c imdsctl -n '__imdsctl_at "imdsctl attested verify"' -l file -r -F -d 'Verify a saved answer (IMDS\'s JSON, or \'imdsctl attested -o json\') instead of asking IMDS; \'-\' reads stdin. The vm check is then skipped.'
complete -c imdsctl -n '__imdsctl_at "imdsctl attested verify"' -l endpoint -x -d 'IMDS base URL.'
complete -c imdsctl -n '__imdsctl_at "imdsctl attested verify"' -l api-version -x -d 'Instance api-version (default 2025-04-07, or \'latest\' to ask IMDS).'
complete -c imdsctl -n '__imdsctl_at "imdsctl attested verify"' -l timeout -x -d 'Total time budget for all attempts and retries.'
complete -c imdsctl -n '__imdsctl_at "imdsctl attested verify"' -s o -l output -x -a 'json jsonc yaml table tsv text env none' -d 'Output format [default: text for a value; table on a terminal, else json, for the rest]. tsv leaves nested lists and objects out, as az does: pick them with -q.'
complete -c imdsctl -n '__imdsctl_at "imdsctl attested verify"' -s q -l query -x -d 'JMESPath query applied before formatting, as in the az CLI.'
complete -c imdsctl -n '__imdsctl_at "imdsctl attested verify"' -l prefix -x -d 'Variable name prefix for -o env.'
complete -c imdsctl -n '__imdsctl_at "imdsctl attested verify"' -l via -x -a 'auto imds systemd-imds' -d 'The way to IMDS: systemd-imds reads leaf values through its Varlink socket (what its locked route leaves); auto does so when that route locks IMDS and the socket exists.'
complete -c imdsctl -n '__imdsctl_at "imdsctl attested verify"' -l debug -d 'Log requests, retries and timings to stderr.'
complete -c imdsctl -n '__imdsctl_at "imdsctl attested verify"' -s h -l help -d 'Show this message and exit.'

# imdsctl collect
complete -c imdsctl -n '__imdsctl_at "imdsctl collect"' -s f -l file -r -F -d 'Where to write the bundle: a new file or a regular one named *.tar.gz, *.tgz or *.zip (never a link or a special file), a directory for the default name inside it, or \'-\' for stdout (not a terminal). [default: ./imds-<vmId or hostname>-<UTC time>.tar.gz]'
complete -c imdsctl -n '__imdsctl_at "imdsctl collect"' -l format -x -a 'tar.gz zip' -d 'Archive format [default: from FILE\'s suffix, else tar.gz].'
complete -c imdsctl -n '__imdsctl_at "imdsctl collect"' -l no-redact -d 'Keep userData, customData, publicKeys, adminUsername and the attested signature (prints a warning).'
complete -c imdsctl -n '__imdsctl_at "imdsctl collect"' -l skip -x -a 'versions instance loadbalancer scheduled-events attested identity-info' -d 'Do not ask this endpoint (versions, instance, loadbalancer, scheduled-events, attested, identity-info); repeatable.'
complete -c imdsctl -n '__imdsctl_at "imdsctl collect"' -l endpoint -x -d 'IMDS base URL.'
complete -c imdsctl -n '__imdsctl_at "imdsctl collect"' -l api-version -x -d 'Instance api-version (default 2025-04-07, or \'latest\' to ask IMDS).'
complete -c imdsctl -n '__imdsctl_at "imdsctl collect"' -l timeout -x -d 'Total time budget for all attempts and retries.'
complete -c imdsctl -n '__imdsctl_at "imdsctl collect"' -s o -l output -x -a 'json jsonc yaml table tsv text env none' -d 'Output format [default: text for a value; table on a terminal, else json, for the rest]. tsv leaves nested lists and objects out, as az does: pick them with -q.'
complete -c imdsctl -n '__imdsctl_at "imdsctl collect"' -s q -l query -x -d 'JMESPath query applied before formatting, as in the az CLI.'
complete -c imdsctl -n '__imdsctl_at "imdsctl collect"' -l prefix -x -d 'Variable name prefix for -o env.'
complete -c imdsctl -n '__imdsctl_at "imdsctl collect"' -l via -x -a 'auto imds systemd-imds' -d 'The way to IMDS: systemd-imds reads leaf values through its Varlink socket (what its locked route leaves); auto does so when that route locks IMDS and the socket exists.'
complete -c imdsctl -n '__imdsctl_at "imdsctl collect"' -l debug -d 'Log requests, retries and timings to stderr.'
complete -c imdsctl -n '__imdsctl_at "imdsctl collect"' -s h -l help -d 'Show this message and exit.'

# imdsctl completion
complete -c imdsctl -n '__imdsctl_at "imdsctl completion"' -s h -l help -d 'Show this message and exit.'
complete -c imdsctl -n '__imdsctl_at "imdsctl completion"' -a 'bash zsh fish' -d 'SHELL'

# imdsctl compute
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -l decode -d 'Base64-decode user-data or custom-data and write the bytes as they are.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -l allow-missing -d 'A field or path IMDS does not have (this VM, this api-version) is null (an empty value in text, tsv and env) instead of exit 3: for optional ones such as zone or evictionPolicy.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -l all -d 'On a terminal, show every value in the table, not the summary.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -l max-age -x -d 'Answer from a snapshot of the instance document younger than this, kept per boot in a private runtime directory (default 0: always ask IMDS).'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -l endpoint -x -d 'IMDS base URL.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -l api-version -x -d 'Instance api-version (default 2025-04-07, or \'latest\' to ask IMDS).'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -l timeout -x -d 'Total time budget for all attempts and retries.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -s o -l output -x -a 'json jsonc yaml table tsv text env none' -d 'Output format [default: text for a value; table on a terminal, else json, for the rest]. tsv leaves nested lists and objects out, as az does: pick them with -q.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -s q -l query -x -d 'JMESPath query applied before formatting, as in the az CLI.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -l prefix -x -d 'Variable name prefix for -o env.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -l via -x -a 'auto imds systemd-imds' -d 'The way to IMDS: systemd-imds reads leaf values through its Varlink socket (what its locked route leaves); auto does so when that route locks IMDS and the socket exists.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -l debug -d 'Log requests, retries and timings to stderr.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -s h -l help -d 'Show this message and exit.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -a 'additional-capabilities' -d 'Additional capabilities (hibernationEnabled).'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -a 'az-environment' -d 'Azure cloud the VM runs in, e.g. AzurePublicCloud.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -a 'custom-data' -d 'Deprecated; always empty in IMDS (use user-data).'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -a 'eviction-policy' -d 'Spot eviction policy (Deallocate/Delete); empty otherwise.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -a 'extended-location' -d 'Extended location (type, name), e.g. an edge zone.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -a 'host' -d 'Dedicated host (id).'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -a 'host-group' -d 'Dedicated host group (id).'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -a 'is-host-compatibility-layer-vm' -d 'Whether the VM runs on the host compatibility layer.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -a 'license-type' -d 'Azure Hybrid Benefit license type; empty if none.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -a 'location' -d 'Azure region, e.g. westeurope.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -a 'name' -d 'Name of the VM.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -a 'offer' -d 'Marketplace image offer.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -a 'os-profile' -d 'OS profile (adminUsername, computerName, ...).'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -a 'os-type' -d 'Linux or Windows.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -a 'physical-zone' -d 'Physical availability zone, e.g. westeurope-AZ02.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -a 'placement-group-id' -d 'Scale set placement group id.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -a 'plan' -d 'Marketplace plan (name, product, publisher).'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -a 'platform-fault-domain' -d 'Fault domain the VM runs in.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -a 'fault-domain' -d 'Fault domain the VM runs in.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -a 'platform-sub-fault-domain' -d 'Sub fault domain the VM runs in.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -a 'sub-fault-domain' -d 'Sub fault domain the VM runs in.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -a 'platform-update-domain' -d 'Update domain the VM runs in.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -a 'update-domain' -d 'Update domain the VM runs in.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -a 'priority' -d 'Regular or Spot.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -a 'provider' -d 'Resource provider, Microsoft.Compute.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -a 'public-keys' -d 'SSH public keys (keyData, path).'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -a 'publisher' -d 'Marketplace image publisher.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -a 'resource-group-name' -d 'Resource group of the VM.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -a 'resource-group' -d 'Resource group of the VM.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -a 'resource-id' -d 'Full Azure resource id of the VM.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -a 'security-profile' -d 'Security profile (secure boot, vTPM, ...).'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -a 'sku' -d 'Marketplace image SKU.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -a 'storage-profile' -d 'OS disk, data disks, image reference, resource disk.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -a 'subscription-id' -d 'Azure subscription of the VM.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -a 'tags' -d 'Tags as an object (from tagsList; the legacy string on old api-versions).'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -a 'tags-list' -d 'Tags as IMDS lists them: [{name, value}].'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -a 'user-data' -d 'User data (base64) given at creation; see --decode.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -a 'version' -d 'Marketplace image version.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -a 'virtual-machine-scale-set' -d 'Flexible scale set (id).'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -a 'vm-id' -d 'Unique id of the VM.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -a 'vm-scale-set-name' -d 'Name of the scale set; empty if none.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -a 'vm-size' -d 'VM size, e.g. Standard_D2s_v5.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -a 'zone' -d 'Availability zone; empty if not zonal.'

# imdsctl diff
complete -c imdsctl -n '__imdsctl_at "imdsctl diff"' -l exit-code -d 'Exit 3 when the snapshots differ, 0 when they do not (like \'git diff --exit-code\').'
complete -c imdsctl -n '__imdsctl_at "imdsctl diff"' -l no-redact -d 'Show sensitive values (userData, SSH keys, ...) as they are.'
complete -c imdsctl -n '__imdsctl_at "imdsctl diff"' -s o -l output -x -a 'json jsonc yaml table tsv text env none' -d 'Output format [default: text for a value; table on a terminal, else json, for the rest]. tsv leaves nested lists and objects out, as az does: pick them with -q.'
complete -c imdsctl -n '__imdsctl_at "imdsctl diff"' -s q -l query -x -d 'JMESPath query applied before formatting, as in the az CLI.'
complete -c imdsctl -n '__imdsctl_at "imdsctl diff"' -l prefix -x -d 'Variable name prefix for -o env.'
complete -c imdsctl -n '__imdsctl_at "imdsctl diff"' -s h -l help -d 'Show this message and exit.'
complete -c imdsctl -n '__imdsctl_at "imdsctl diff"' -F -d 'A'

# imdsctl doctor
complete -c imdsctl -n '__imdsctl_at "imdsctl doctor"' -l endpoint -x -d 'IMDS base URL.'
complete -c imdsctl -n '__imdsctl_at "imdsctl doctor"' -l api-version -x -d 'Instance api-version (default 2025-04-07, or \'latest\' to ask IMDS).'
complete -c imdsctl -n '__imdsctl_at "imdsctl doctor"' -l timeout -x -d 'Total time budget for all attempts and retries.'
complete -c imdsctl -n '__imdsctl_at "imdsctl doctor"' -s o -l output -x -a 'json jsonc yaml table tsv text env none' -d 'Output format [default: text for a value; table on a terminal, else json, for the rest]. tsv leaves nested lists and objects out, as az does: pick them with -q.'
complete -c imdsctl -n '__imdsctl_at "imdsctl doctor"' -s q -l query -x -d 'JMESPath query applied before formatting, as in the az CLI.'
complete -c imdsctl -n '__imdsctl_at "imdsctl doctor"' -l prefix -x -d 'Variable name prefix for -o env.'
complete -c imdsctl -n '__imdsctl_at "imdsctl doctor"' -l via -x -a 'auto imds systemd-imds' -d 'The way to IMDS: systemd-imds reads leaf values through its Varlink socket (what its locked route leaves); auto does so when that route locks IMDS and the socket exists.'
complete -c imdsctl -n '__imdsctl_at "imdsctl doctor"' -l debug -d 'Log requests, retries and timings to stderr.'
complete -c imdsctl -n '__imdsctl_at "imdsctl doctor"' -l wireserver-as-root -d 'Ask WireServer (168.63.129.16) as root too (sudo -n; as root: also as uid 65534), which tells waagent\'s root-only firewall from a network problem.'
complete -c imdsctl -n '__imdsctl_at "imdsctl doctor"' -s h -l help -d 'Show this message and exit.'

# imdsctl emulate
complete -c imdsctl -n '__imdsctl_at "imdsctl emulate"' -l link-local -d 'Serve at http://169.254.169.254 (port 80), IMDS\'s own address, in a private network namespace where COMMAND runs (Linux; unprivileged user namespaces, or root).'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulate"' -l wireserver-root-only -d 'With --link-local: let only root reach WireServer (168.63.129.16), as waagent\'s firewall does (its iptables owner-match rule, added in the namespace; needs iptables).'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulate"' -l profile -x -a 'linux-2017 linux-2025 spot-vmss windows-sql-2017' -d 'Built-in profile (see \'imdsctl emulator profiles\'), a JSON file (an instance document or {"instance": ..., "loadbalancer": ...}), or a support bundle from \'imdsctl collect\' (tar.gz or zip) to replay.'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulate"' -l no-throttle -d 'Do not rate-limit (IMDS answers 429 beyond 5 requests per second, and managed identity beyond 20 per second or 5 in flight).'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulate"' -l rate -x -d 'Requests per second allowed per client before 429.'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulate"' -l fault -x -d 'Inject a fault; repeatable (syntax below).'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulate"' -l event -x -d 'Schedule a scheduled event; repeatable (syntax below).'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulate"' -l events-time-factor -x -d 'Scale every scheduled-event time: 0.01 turns 15 minutes into 9 s.'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulate"' -l events-enable-delay -x -d 'Delay the first scheduled-events answer, as IMDS does while enabling them (up to 120 s on a VM).'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulate"' -l control -d 'Serve the control channel on the same port: /_emulator/faults (GET, POST, DELETE), /_emulator/requests (GET, DELETE), /_emulator/throttle/reset (POST), /_emulator/events (GET, POST, DELETE). Every request carries an X-Imdsctl-Control header, a POST is application/json; a request with an Origin or a foreign Host (a web page\'s) is refused.'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulate"' -l attested-ca -r -F -d 'Sign attested documents with a leaf issued by this CA certificate (with --attested-key) instead of a generated root and intermediate.'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulate"' -l attested-key -r -F -d 'The unencrypted private key of --attested-ca.'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulate"' -l attested-validity -x -d 'Validity of attested documents [default: 21600, 6 h].'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulate"' -l attested-ca-out -r -F -d 'Write the CA certificates attested documents chain to (PEM), for \'imdsctl attested verify --ca-file FILE\', before serving.'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulate"' -l as -x -a 'imds gpa-enforce gpa-audit nmi' -d 'What answers in front of IMDS: the Guest Proxy Agent in Enforce mode (its header on answers, an empty 403 for a uid not allowed) or Audit mode (the header, nothing refused), or aad-pod-identity\'s NMI (its own token refusals).'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulate"' -l allow-uid -x -d 'With --as gpa-enforce: a uid the Guest Proxy Agent\'s rules allow (repeatable).'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulate"' -s v -l verbose -d 'Log every request to stderr.'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulate"' -s h -l help -d 'Show this message and exit.'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulate"' -a '(__fish_complete_subcommand --fcs-skip=2 --profile --rate --fault --event --events-time-factor --events-enable-delay --attested-ca --attested-key --attested-validity --attested-ca-out --as --allow-uid)' -d 'COMMAND'

# imdsctl emulator
complete -c imdsctl -n '__imdsctl_at "imdsctl emulator"' -a 'profiles' -d 'List the built-in profiles: name, tab, description.'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulator"' -a 'serve' -d 'Serve IMDS until SIGINT or SIGTERM.'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulator"' -s h -l help -d 'Show this message and exit.'

# imdsctl emulator profiles
complete -c imdsctl -n '__imdsctl_at "imdsctl emulator profiles"' -s h -l help -d 'Show this message and exit.'

# imdsctl emulator serve
complete -c imdsctl -n '__imdsctl_at "imdsctl emulator serve"' -l host -x -d 'Address to listen on; keep it a loopback address.'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulator serve"' -l port -x -d 'Port to listen on; 0 picks a free one.'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulator serve"' -l control-anywhere -d 'Allow --control with a --host that is not a loopback address.'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulator serve"' -l profile -x -a 'linux-2017 linux-2025 spot-vmss windows-sql-2017' -d 'Built-in profile (see \'imdsctl emulator profiles\'), a JSON file (an instance document or {"instance": ..., "loadbalancer": ...}), or a support bundle from \'imdsctl collect\' (tar.gz or zip) to replay.'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulator serve"' -l no-throttle -d 'Do not rate-limit (IMDS answers 429 beyond 5 requests per second, and managed identity beyond 20 per second or 5 in flight).'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulator serve"' -l rate -x -d 'Requests per second allowed per client before 429.'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulator serve"' -l fault -x -d 'Inject a fault; repeatable (syntax below).'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulator serve"' -l event -x -d 'Schedule a scheduled event; repeatable (syntax below).'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulator serve"' -l events-time-factor -x -d 'Scale every scheduled-event time: 0.01 turns 15 minutes into 9 s.'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulator serve"' -l events-enable-delay -x -d 'Delay the first scheduled-events answer, as IMDS does while enabling them (up to 120 s on a VM).'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulator serve"' -l control -d 'Serve the control channel on the same port: /_emulator/faults (GET, POST, DELETE), /_emulator/requests (GET, DELETE), /_emulator/throttle/reset (POST), /_emulator/events (GET, POST, DELETE). Every request carries an X-Imdsctl-Control header, a POST is application/json; a request with an Origin or a foreign Host (a web page\'s) is refused.'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulator serve"' -l attested-ca -r -F -d 'Sign attested documents with a leaf issued by this CA certificate (with --attested-key) instead of a generated root and intermediate.'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulator serve"' -l attested-key -r -F -d 'The unencrypted private key of --attested-ca.'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulator serve"' -l attested-validity -x -d 'Validity of attested documents [default: 21600, 6 h].'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulator serve"' -l attested-ca-out -r -F -d 'Write the CA certificates attested documents chain to (PEM), for \'imdsctl attested verify --ca-file FILE\', before serving.'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulator serve"' -l as -x -a 'imds gpa-enforce gpa-audit nmi' -d 'What answers in front of IMDS: the Guest Proxy Agent in Enforce mode (its header on answers, an empty 403 for a uid not allowed) or Audit mode (the header, nothing refused), or aad-pod-identity\'s NMI (its own token refusals).'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulator serve"' -l allow-uid -x -d 'With --as gpa-enforce: a uid the Guest Proxy Agent\'s rules allow (repeatable).'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulator serve"' -s v -l verbose -d 'Log every request to stderr.'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulator serve"' -s h -l help -d 'Show this message and exit.'

# imdsctl events
complete -c imdsctl -n '__imdsctl_at "imdsctl events"' -a 'ack' -d 'Acknowledge (approve) events so they may start before NotBefore.'
complete -c imdsctl -n '__imdsctl_at "imdsctl events"' -a 'list' -d 'The scheduled events document: DocumentIncarnation and Events.'
complete -c imdsctl -n '__imdsctl_at "imdsctl events"' -a 'unit' -d 'Print a systemd unit that runs `events watch` as a service.'
complete -c imdsctl -n '__imdsctl_at "imdsctl events"' -a 'watch' -d 'Poll scheduled events and print each change once.'
complete -c imdsctl -n '__imdsctl_at "imdsctl events"' -s h -l help -d 'Show this message and exit.'

# imdsctl events ack
complete -c imdsctl -n '__imdsctl_at "imdsctl events ack"' -l force -d 'Send the ids without first checking that the current document lists them.'
complete -c imdsctl -n '__imdsctl_at "imdsctl events ack"' -l endpoint -x -d 'IMDS base URL.'
complete -c imdsctl -n '__imdsctl_at "imdsctl events ack"' -l api-version -x -d 'Scheduled Events api-version (default 2020-07-01; IMDSCTL_API_VERSION, an instance version, is ignored).'
complete -c imdsctl -n '__imdsctl_at "imdsctl events ack"' -l timeout -x -d 'Total time budget for all attempts and retries.'
complete -c imdsctl -n '__imdsctl_at "imdsctl events ack"' -s o -l output -x -a 'json jsonc yaml table tsv text env none' -d 'Output format [default: text for a value; table on a terminal, else json, for the rest]. tsv leaves nested lists and objects out, as az does: pick them with -q.'
complete -c imdsctl -n '__imdsctl_at "imdsctl events ack"' -s q -l query -x -d 'JMESPath query applied before formatting, as in the az CLI.'
complete -c imdsctl -n '__imdsctl_at "imdsctl events ack"' -l prefix -x -d 'Variable name prefix for -o env.'
complete -c imdsctl -n '__imdsctl_at "imdsctl events ack"' -l via -x -a 'auto imds systemd-imds' -d 'The way to IMDS: systemd-imds reads leaf values through its Varlink socket (what its locked route leaves); auto does so when that route locks IMDS and the socket exists.'
complete -c imdsctl -n '__imdsctl_at "imdsctl events ack"' -l debug -d 'Log requests, retries and timings to stderr.'
complete -c imdsctl -n '__imdsctl_at "imdsctl events ack"' -s h -l help -d 'Show this message and exit.'

# imdsctl events list
complete -c imdsctl -n '__imdsctl_at "imdsctl events list"' -l endpoint -x -d 'IMDS base URL.'
complete -c imdsctl -n '__imdsctl_at "imdsctl events list"' -l api-version -x -d 'Scheduled Events api-version (default 2020-07-01; IMDSCTL_API_VERSION, an instance version, is ignored).'
complete -c imdsctl -n '__imdsctl_at "imdsctl events list"' -l timeout -x -d 'Total time budget for all attempts and retries.'
complete -c imdsctl -n '__imdsctl_at "imdsctl events list"' -s o -l output -x -a 'json jsonc yaml table tsv text env none' -d 'Output format [default: text for a value; table on a terminal, else json, for the rest]. tsv leaves nested lists and objects out, as az does: pick them with -q.'
complete -c imdsctl -n '__imdsctl_at "imdsctl events list"' -s q -l query -x -d 'JMESPath query applied before formatting, as in the az CLI.'
complete -c imdsctl -n '__imdsctl_at "imdsctl events list"' -l prefix -x -d 'Variable name prefix for -o env.'
complete -c imdsctl -n '__imdsctl_at "imdsctl events list"' -l via -x -a 'auto imds systemd-imds' -d 'The way to IMDS: systemd-imds reads leaf values through its Varlink socket (what its locked route leaves); auto does so when that route locks IMDS and the socket exists.'
complete -c imdsctl -n '__imdsctl_at "imdsctl events list"' -l debug -d 'Log requests, retries and timings to stderr.'
complete -c imdsctl -n '__imdsctl_at "imdsctl events list"' -s h -l help -d 'Show this message and exit.'

# imdsctl events unit
complete -c imdsctl -n '__imdsctl_at "imdsctl events unit"' -l interval -x -d 'Seconds between polls (at least 0.2: IMDS allows 5 requests per second).'
complete -c imdsctl -n '__imdsctl_at "imdsctl events unit"' -l exec -x -d 'Run COMMAND with /bin/sh -c once per new event of this VM.'
complete -c imdsctl -n '__imdsctl_at "imdsctl events unit"' -l hook-timeout -x -d 'Kill a hook (and its children) still running after this long, or after the time left before its event\'s NotBefore if that is shorter, but never before 10s (an event already due); a killed hook counts as failed.'
complete -c imdsctl -n '__imdsctl_at "imdsctl events unit"' -l ack -d 'Acknowledge each new Scheduled event of this VM once its hook exits 0 (without --exec: at once).'
complete -c imdsctl -n '__imdsctl_at "imdsctl events unit"' -l all-resources -d 'Run the hook and --ack for every event, not only those listing this VM.'
complete -c imdsctl -n '__imdsctl_at "imdsctl events unit"' -l notify -x -d 'The watch\'s --notify. The unit file is readable by every user: a secret URL belongs in /etc/imdsctl/events.env instead, as IMDSCTL_NOTIFY_URL=URL.'
complete -c imdsctl -n '__imdsctl_at "imdsctl events unit"' -l notify-format -x -a 'json slack' -d 'json: the change record with host and text; slack: {"text": ...}.'
complete -c imdsctl -n '__imdsctl_at "imdsctl events unit"' -l state -r -F -d 'The watch\'s --state; systemd makes the default\'s directory (StateDirectory, 0700).'
complete -c imdsctl -n '__imdsctl_at "imdsctl events unit"' -s h -l help -d 'Show this message and exit.'

# imdsctl events watch
complete -c imdsctl -n '__imdsctl_at "imdsctl events watch"' -l interval -x -d 'Seconds between polls (at least 0.2: IMDS allows 5 requests per second).'
complete -c imdsctl -n '__imdsctl_at "imdsctl events watch"' -l exec -x -d 'Run COMMAND with /bin/sh -c once per new event of this VM.'
complete -c imdsctl -n '__imdsctl_at "imdsctl events watch"' -l hook-timeout -x -d 'Kill a hook (and its children) still running after this long, or after the time left before its event\'s NotBefore if that is shorter, but never before 10s (an event already due); a killed hook counts as failed.'
complete -c imdsctl -n '__imdsctl_at "imdsctl events watch"' -l ack -d 'Acknowledge each new Scheduled event of this VM once its hook exits 0 (without --exec: at once).'
complete -c imdsctl -n '__imdsctl_at "imdsctl events watch"' -l all-resources -d 'Run the hook and --ack for every event, not only those listing this VM.'
complete -c imdsctl -n '__imdsctl_at "imdsctl events watch"' -l notify -x -d 'POST each change, and how each handled event ended, as JSON to this webhook (or IMDSCTL_NOTIFY_URL); proxies from the environment apply.'
complete -c imdsctl -n '__imdsctl_at "imdsctl events watch"' -l notify-format -x -a 'json slack' -d 'json: the change record with host and text; slack: {"text": ...} (or IMDSCTL_NOTIFY_FORMAT).'
complete -c imdsctl -n '__imdsctl_at "imdsctl events watch"' -l kubernetes-node -x -d 'Cordon, annotate and drain Kubernetes node NAME (alone: $NODE_NAME) through kubectl before an event of this VM, and uncordon it once the event is gone if this watch cordoned it; see docs/kubernetes.md.'
complete -c imdsctl -n '__imdsctl_at "imdsctl events watch"' -l kubectl -x -d 'The kubectl to run [default: kubectl on PATH].'
complete -c imdsctl -n '__imdsctl_at "imdsctl events watch"' -l drain-on -x -d 'The event types that drain the node (comma-separated; add Freeze only if a few seconds\' pause warrants a drain); others only annotate it.'
complete -c imdsctl -n '__imdsctl_at "imdsctl events watch"' -l state -r -F -d 'Where a watch that handles events (--exec, --ack) records what it did, to do it once across restarts [default: events-*.json in the private runtime directory of snapshots: IMDSCTL_CACHE_DIR, else $XDG_RUNTIME_DIR/imdsctl, else /run/imdsctl for root, else <tmp>/imdsctl-UID].'
complete -c imdsctl -n '__imdsctl_at "imdsctl events watch"' -l once -d 'Poll once, handle what is there, exit.'
complete -c imdsctl -n '__imdsctl_at "imdsctl events watch"' -l max-events -x -d 'Exit after N new events.'
complete -c imdsctl -n '__imdsctl_at "imdsctl events watch"' -l metrics -x -d 'Serve Prometheus metrics at http://HOST:PORT/metrics (text or OpenMetrics) and /healthz; PORT alone listens on 127.0.0.1. Needs imdsctl[metrics].'
complete -c imdsctl -n '__imdsctl_at "imdsctl events watch"' -l metrics-file -r -F -d 'Write the same series to PATH after every poll, atomically and mode 0644, for node_exporter\'s textfile collector. Needs imdsctl[metrics].'
complete -c imdsctl -n '__imdsctl_at "imdsctl events watch"' -l endpoint -x -d 'IMDS base URL.'
complete -c imdsctl -n '__imdsctl_at "imdsctl events watch"' -l api-version -x -d 'Scheduled Events api-version (default 2020-07-01; IMDSCTL_API_VERSION, an instance version, is ignored).'
complete -c imdsctl -n '__imdsctl_at "imdsctl events watch"' -l timeout -x -d 'Total time budget for all attempts and retries.'
complete -c imdsctl -n '__imdsctl_at "imdsctl events watch"' -s o -l output -x -a 'json jsonc yaml table tsv text env none' -d 'Output format [default: text for a value; table on a terminal, else json, for the rest]. tsv leaves nested lists and objects out, as az does: pick them with -q.'
complete -c imdsctl -n '__imdsctl_at "imdsctl events watch"' -s q -l query -x -d 'JMESPath query applied before formatting, as in the az CLI.'
complete -c imdsctl -n '__imdsctl_at "imdsctl events watch"' -l via -x -a 'auto imds systemd-imds' -d 'The way to IMDS: systemd-imds reads leaf values through its Varlink socket (what its locked route leaves); auto does so when that route locks IMDS and the socket exists.'
complete -c imdsctl -n '__imdsctl_at "imdsctl events watch"' -l debug -d 'Log requests, retries and timings to stderr.'
complete -c imdsctl -n '__imdsctl_at "imdsctl events watch"' -s h -l help -d 'Show this message and exit.'

# imdsctl get
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -l allow-missing -d 'A field or path IMDS does not have (this VM, this api-version) is null (an empty value in text, tsv and env) instead of exit 3: for optional ones such as zone or evictionPolicy.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -l max-age -x -d 'Answer from a snapshot of the instance document younger than this, kept per boot in a private runtime directory (default 0: always ask IMDS).'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -l endpoint -x -d 'IMDS base URL.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -l api-version -x -d 'Instance api-version (default 2025-04-07, or \'latest\' to ask IMDS).'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -l timeout -x -d 'Total time budget for all attempts and retries.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -s o -l output -x -a 'json jsonc yaml table tsv text env none' -d 'Output format [default: text for a value; table on a terminal, else json, for the rest]. tsv leaves nested lists and objects out, as az does: pick them with -q.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -s q -l query -x -d 'JMESPath query applied before formatting, as in the az CLI.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -l prefix -x -d 'Variable name prefix for -o env.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -l via -x -a 'auto imds systemd-imds' -d 'The way to IMDS: systemd-imds reads leaf values through its Varlink socket (what its locked route leaves); auto does so when that route locks IMDS and the socket exists.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -l debug -d 'Log requests, retries and timings to stderr.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -s h -l help -d 'Show this message and exit.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute' -d 'PATH'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/additionalCapabilities' -d 'Additional capabilities (hibernationEnabled).'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/azEnvironment' -d 'Azure cloud the VM runs in, e.g. AzurePublicCloud.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/customData' -d 'Deprecated; always empty in IMDS (use user-data).'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/evictionPolicy' -d 'Spot eviction policy (Deallocate/Delete); empty otherwise.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/extendedLocation' -d 'Extended location (type, name), e.g. an edge zone.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/host' -d 'Dedicated host (id).'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/hostGroup' -d 'Dedicated host group (id).'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/isHostCompatibilityLayerVm' -d 'Whether the VM runs on the host compatibility layer.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/licenseType' -d 'Azure Hybrid Benefit license type; empty if none.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/location' -d 'Azure region, e.g. westeurope.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/name' -d 'Name of the VM.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/offer' -d 'Marketplace image offer.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/osProfile' -d 'OS profile (adminUsername, computerName, ...).'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/osProfile/disablePasswordAuthentication' -d 'PATH'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/osType' -d 'Linux or Windows.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/physicalZone' -d 'Physical availability zone, e.g. westeurope-AZ02.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/placementGroupId' -d 'Scale set placement group id.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/plan' -d 'Marketplace plan (name, product, publisher).'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/platformFaultDomain' -d 'Fault domain the VM runs in.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/platformSubFaultDomain' -d 'Sub fault domain the VM runs in.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/platformUpdateDomain' -d 'Update domain the VM runs in.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/priority' -d 'Regular or Spot.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/provider' -d 'Resource provider, Microsoft.Compute.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/publicKeys' -d 'SSH public keys (keyData, path).'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/publisher' -d 'Marketplace image publisher.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/resourceGroupName' -d 'Resource group of the VM.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/resourceId' -d 'Full Azure resource id of the VM.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/securityProfile' -d 'Security profile (secure boot, vTPM, ...).'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/securityProfile/encryptionAtHost' -d 'PATH'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/securityProfile/securityType' -d 'PATH'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/sku' -d 'Marketplace image SKU.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/storageProfile' -d 'OS disk, data disks, image reference, resource disk.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/storageProfile/dataDisks' -d 'PATH'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/storageProfile/dataDisks/0' -d 'PATH'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/storageProfile/dataDisks/0/bytesPerSecondThrottle' -d 'PATH'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/storageProfile/dataDisks/0/diskCapacityBytes' -d 'PATH'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/storageProfile/dataDisks/0/isSharedDisk' -d 'PATH'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/storageProfile/dataDisks/0/isUltraDisk' -d 'PATH'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/storageProfile/dataDisks/0/opsPerSecondThrottle' -d 'PATH'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/storageProfile/imageReference' -d 'PATH'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/storageProfile/imageReference/communityGalleryImageId' -d 'PATH'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/storageProfile/imageReference/exactVersion' -d 'PATH'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/storageProfile/imageReference/sharedGalleryImageId' -d 'PATH'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/storageProfile/osDisk' -d 'PATH'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/storageProfile/osDisk/encryptionSettings' -d 'PATH'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/storageProfile/osDisk/encryptionSettings/diskEncryptionKey' -d 'PATH'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/storageProfile/osDisk/encryptionSettings/keyEncryptionKey' -d 'PATH'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/storageProfile/resourceDisk' -d 'PATH'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/subscriptionId' -d 'Azure subscription of the VM.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/tags' -d 'Tags as an object (from tagsList; the legacy string on old api-versions).'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/tagsList' -d 'Tags as IMDS lists them: [{name, value}].'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/userData' -d 'User data (base64) given at creation; see --decode.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/version' -d 'Marketplace image version.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/virtualMachineScaleSet' -d 'Flexible scale set (id).'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/vmId' -d 'Unique id of the VM.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/vmScaleSetName' -d 'Name of the scale set; empty if none.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/vmSize' -d 'VM size, e.g. Standard_D2s_v5.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'compute/zone' -d 'Availability zone; empty if not zonal.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'network' -d 'PATH'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'network/interface' -d 'All NICs: MAC, private and public IPs, subnets.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'network/interface/0' -d 'PATH'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'network/interface/0/ipv4' -d 'PATH'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'network/interface/0/ipv4/ipAddress' -d 'PATH'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'network/interface/0/ipv4/ipAddress/0' -d 'PATH'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'network/interface/0/ipv4/ipAddress/0/privateIpAddress' -d 'Private IPv4 address of the selected IP configuration.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'network/interface/0/ipv4/ipAddress/0/publicIpAddress' -d 'Instance-level (Basic SKU) public IPv4 address of the selected IP configuration.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'network/interface/0/ipv4/subnet' -d 'PATH'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'network/interface/0/ipv4/subnet/0' -d 'Subnet of the NIC as CIDR, e.g. 10.0.0.0/24.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'network/interface/0/ipv4/subnet/0/prefix' -d 'Subnet prefix length, e.g. 24.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'network/interface/0/ipv6' -d 'PATH'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'network/interface/0/ipv6/ipAddress' -d 'PATH'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'network/interface/0/ipv6/ipAddress/0' -d 'PATH'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'network/interface/0/ipv6/ipAddress/0/privateIpAddress' -d 'Private IPv6 address of the selected IP configuration.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -a 'network/interface/0/macAddress' -d 'MAC address of the NIC (upper-case hex, no separators).'

# imdsctl identity
complete -c imdsctl -n '__imdsctl_at "imdsctl identity"' -a 'info' -d 'The Entra ID tenant of the VM\'s managed identities.'
complete -c imdsctl -n '__imdsctl_at "imdsctl identity"' -a 'token' -d 'An access token of the VM\'s managed identity, for --resource.'
complete -c imdsctl -n '__imdsctl_at "imdsctl identity"' -s h -l help -d 'Show this message and exit.'

# imdsctl identity info
complete -c imdsctl -n '__imdsctl_at "imdsctl identity info"' -l endpoint -x -d 'IMDS base URL.'
complete -c imdsctl -n '__imdsctl_at "imdsctl identity info"' -l api-version -x -d 'Managed identity api-version (default 2018-02-01; IMDSCTL_API_VERSION, an instance version, is ignored).'
complete -c imdsctl -n '__imdsctl_at "imdsctl identity info"' -l timeout -x -d 'Total time budget for all attempts and retries.'
complete -c imdsctl -n '__imdsctl_at "imdsctl identity info"' -s o -l output -x -a 'json jsonc yaml table tsv text env none' -d 'Output format [default: text for a value; table on a terminal, else json, for the rest]. tsv leaves nested lists and objects out, as az does: pick them with -q.'
complete -c imdsctl -n '__imdsctl_at "imdsctl identity info"' -s q -l query -x -d 'JMESPath query applied before formatting, as in the az CLI.'
complete -c imdsctl -n '__imdsctl_at "imdsctl identity info"' -l prefix -x -d 'Variable name prefix for -o env.'
complete -c imdsctl -n '__imdsctl_at "imdsctl identity info"' -l via -x -a 'auto imds systemd-imds' -d 'The way to IMDS: systemd-imds reads leaf values through its Varlink socket (what its locked route leaves); auto does so when that route locks IMDS and the socket exists.'
complete -c imdsctl -n '__imdsctl_at "imdsctl identity info"' -l debug -d 'Log requests, retries and timings to stderr.'
complete -c imdsctl -n '__imdsctl_at "imdsctl identity info"' -s h -l help -d 'Show this message and exit.'

# imdsctl identity token
complete -c imdsctl -n '__imdsctl_at "imdsctl identity token"' -l resource -x -d 'Application ID URI of the target, e.g. https://management.azure.com/ (a scope ending in /.default is accepted and trimmed, as the Azure SDKs do).'
complete -c imdsctl -n '__imdsctl_at "imdsctl identity token"' -l client-id -x -d 'Use the user-assigned identity with this client id.'
complete -c imdsctl -n '__imdsctl_at "imdsctl identity token"' -l object-id -x -d 'Use the user-assigned identity with this object (principal) id.'
complete -c imdsctl -n '__imdsctl_at "imdsctl identity token"' -l msi-res-id -x -d 'Use the user-assigned identity with this Azure resource id.'
complete -c imdsctl -n '__imdsctl_at "imdsctl identity token"' -l show-token -d 'Print the access token on a terminal too (it is masked there otherwise).'
complete -c imdsctl -n '__imdsctl_at "imdsctl identity token"' -l endpoint -x -d 'IMDS base URL.'
complete -c imdsctl -n '__imdsctl_at "imdsctl identity token"' -l api-version -x -d 'Managed identity api-version (default 2018-02-01; IMDSCTL_API_VERSION, an instance version, is ignored).'
complete -c imdsctl -n '__imdsctl_at "imdsctl identity token"' -l timeout -x -d 'Total time budget for all attempts and retries.'
complete -c imdsctl -n '__imdsctl_at "imdsctl identity token"' -s o -l output -x -a 'json jsonc yaml table tsv text env none' -d 'Output format [default: text for a value; table on a terminal, else json, for the rest]. tsv leaves nested lists and objects out, as az does: pick them with -q.'
complete -c imdsctl -n '__imdsctl_at "imdsctl identity token"' -s q -l query -x -d 'JMESPath query applied before formatting, as in the az CLI.'
complete -c imdsctl -n '__imdsctl_at "imdsctl identity token"' -l prefix -x -d 'Variable name prefix for -o env.'
complete -c imdsctl -n '__imdsctl_at "imdsctl identity token"' -l via -x -a 'auto imds systemd-imds' -d 'The way to IMDS: systemd-imds reads leaf values through its Varlink socket (what its locked route leaves); auto does so when that route locks IMDS and the socket exists.'
complete -c imdsctl -n '__imdsctl_at "imdsctl identity token"' -l debug -d 'Log requests, retries and timings to stderr.'
complete -c imdsctl -n '__imdsctl_at "imdsctl identity token"' -s h -l help -d 'Show this message and exit.'

# imdsctl loadbalancer
complete -c imdsctl -n '__imdsctl_at "imdsctl loadbalancer"' -l endpoint -x -d 'IMDS base URL.'
complete -c imdsctl -n '__imdsctl_at "imdsctl loadbalancer"' -l api-version -x -d 'Instance api-version (default 2025-04-07, or \'latest\' to ask IMDS).'
complete -c imdsctl -n '__imdsctl_at "imdsctl loadbalancer"' -l timeout -x -d 'Total time budget for all attempts and retries.'
complete -c imdsctl -n '__imdsctl_at "imdsctl loadbalancer"' -s o -l output -x -a 'json jsonc yaml table tsv text env none' -d 'Output format [default: text for a value; table on a terminal, else json, for the rest]. tsv leaves nested lists and objects out, as az does: pick them with -q.'
complete -c imdsctl -n '__imdsctl_at "imdsctl loadbalancer"' -s q -l query -x -d 'JMESPath query applied before formatting, as in the az CLI.'
complete -c imdsctl -n '__imdsctl_at "imdsctl loadbalancer"' -l prefix -x -d 'Variable name prefix for -o env.'
complete -c imdsctl -n '__imdsctl_at "imdsctl loadbalancer"' -l via -x -a 'auto imds systemd-imds' -d 'The way to IMDS: systemd-imds reads leaf values through its Varlink socket (what its locked route leaves); auto does so when that route locks IMDS and the socket exists.'
complete -c imdsctl -n '__imdsctl_at "imdsctl loadbalancer"' -l debug -d 'Log requests, retries and timings to stderr.'
complete -c imdsctl -n '__imdsctl_at "imdsctl loadbalancer"' -s h -l help -d 'Show this message and exit.'

# imdsctl man
complete -c imdsctl -n '__imdsctl_at "imdsctl man"' -l install -d 'Write DIR/man1/imdsctl.1 (DIR defaults to ~/.local/share/man) and print its path.'
complete -c imdsctl -n '__imdsctl_at "imdsctl man"' -s h -l help -d 'Show this message and exit.'
complete -c imdsctl -n '__imdsctl_at "imdsctl man"' -a '(__fish_complete_directories)' -d 'DIR'

# imdsctl network
complete -c imdsctl -n '__imdsctl_at "imdsctl network"' -l nic -x -d 'NIC index [default: 0] (IMDS does not guarantee NIC order: prefer --mac).'
complete -c imdsctl -n '__imdsctl_at "imdsctl network"' -l ip -x -d 'IP configuration index on the NIC.'
complete -c imdsctl -n '__imdsctl_at "imdsctl network"' -l mac -x -d 'Select the NIC by MAC address, in any notation.'
complete -c imdsctl -n '__imdsctl_at "imdsctl network"' -l allow-missing -d 'A field or path IMDS does not have (this VM, this api-version) is null (an empty value in text, tsv and env) instead of exit 3: for optional ones such as zone or evictionPolicy.'
complete -c imdsctl -n '__imdsctl_at "imdsctl network"' -l max-age -x -d 'Answer from a snapshot of the instance document younger than this, kept per boot in a private runtime directory (default 0: always ask IMDS).'
complete -c imdsctl -n '__imdsctl_at "imdsctl network"' -l endpoint -x -d 'IMDS base URL.'
complete -c imdsctl -n '__imdsctl_at "imdsctl network"' -l api-version -x -d 'Instance api-version (default 2025-04-07, or \'latest\' to ask IMDS).'
complete -c imdsctl -n '__imdsctl_at "imdsctl network"' -l timeout -x -d 'Total time budget for all attempts and retries.'
complete -c imdsctl -n '__imdsctl_at "imdsctl network"' -s o -l output -x -a 'json jsonc yaml table tsv text env none' -d 'Output format [default: text for a value; table on a terminal, else json, for the rest]. tsv leaves nested lists and objects out, as az does: pick them with -q.'
complete -c imdsctl -n '__imdsctl_at "imdsctl network"' -s q -l query -x -d 'JMESPath query applied before formatting, as in the az CLI.'
complete -c imdsctl -n '__imdsctl_at "imdsctl network"' -l prefix -x -d 'Variable name prefix for -o env.'
complete -c imdsctl -n '__imdsctl_at "imdsctl network"' -l via -x -a 'auto imds systemd-imds' -d 'The way to IMDS: systemd-imds reads leaf values through its Varlink socket (what its locked route leaves); auto does so when that route locks IMDS and the socket exists.'
complete -c imdsctl -n '__imdsctl_at "imdsctl network"' -l debug -d 'Log requests, retries and timings to stderr.'
complete -c imdsctl -n '__imdsctl_at "imdsctl network"' -s h -l help -d 'Show this message and exit.'
complete -c imdsctl -n '__imdsctl_at "imdsctl network"' -a 'public-ip' -d 'Instance-level (Basic SKU) public IPv4 address of the selected IP configuration.'
complete -c imdsctl -n '__imdsctl_at "imdsctl network"' -a 'private-ip' -d 'Private IPv4 address of the selected IP configuration.'
complete -c imdsctl -n '__imdsctl_at "imdsctl network"' -a 'mac' -d 'MAC address of the NIC (upper-case hex, no separators).'
complete -c imdsctl -n '__imdsctl_at "imdsctl network"' -a 'subnet' -d 'Subnet of the NIC as CIDR, e.g. 10.0.0.0/24.'
complete -c imdsctl -n '__imdsctl_at "imdsctl network"' -a 'prefix' -d 'Subnet prefix length, e.g. 24.'
complete -c imdsctl -n '__imdsctl_at "imdsctl network"' -a 'ipv6' -d 'Private IPv6 address of the selected IP configuration.'
complete -c imdsctl -n '__imdsctl_at "imdsctl network"' -a 'interfaces' -d 'All NICs: MAC, private and public IPs, subnets.'

# imdsctl versions
complete -c imdsctl -n '__imdsctl_at "imdsctl versions"' -l endpoint -x -d 'IMDS base URL.'
complete -c imdsctl -n '__imdsctl_at "imdsctl versions"' -l api-version -x -d 'Instance api-version (default 2025-04-07, or \'latest\' to ask IMDS).'
complete -c imdsctl -n '__imdsctl_at "imdsctl versions"' -l timeout -x -d 'Total time budget for all attempts and retries.'
complete -c imdsctl -n '__imdsctl_at "imdsctl versions"' -s o -l output -x -a 'json jsonc yaml table tsv text env none' -d 'Output format [default: text for a value; table on a terminal, else json, for the rest]. tsv leaves nested lists and objects out, as az does: pick them with -q.'
complete -c imdsctl -n '__imdsctl_at "imdsctl versions"' -s q -l query -x -d 'JMESPath query applied before formatting, as in the az CLI.'
complete -c imdsctl -n '__imdsctl_at "imdsctl versions"' -l prefix -x -d 'Variable name prefix for -o env.'
complete -c imdsctl -n '__imdsctl_at "imdsctl versions"' -l via -x -a 'auto imds systemd-imds' -d 'The way to IMDS: systemd-imds reads leaf values through its Varlink socket (what its locked route leaves); auto does so when that route locks IMDS and the socket exists.'
complete -c imdsctl -n '__imdsctl_at "imdsctl versions"' -l debug -d 'Log requests, retries and timings to stderr.'
complete -c imdsctl -n '__imdsctl_at "imdsctl versions"' -s h -l help -d 'Show this message and exit.'

# imdsctl wait
complete -c imdsctl -n '__imdsctl_at "imdsctl wait"' -l endpoint -x -d 'IMDS base URL.'
complete -c imdsctl -n '__imdsctl_at "imdsctl wait"' -l api-version -x -d 'Instance api-version (default 2025-04-07, or \'latest\' to ask IMDS).'
complete -c imdsctl -n '__imdsctl_at "imdsctl wait"' -l timeout -x -d 'Total time budget for all attempts and retries.'
complete -c imdsctl -n '__imdsctl_at "imdsctl wait"' -s o -l output -x -a 'json jsonc yaml table tsv text env none' -d 'Output format [default: text for a value; table on a terminal, else json, for the rest]. tsv leaves nested lists and objects out, as az does: pick them with -q.'
complete -c imdsctl -n '__imdsctl_at "imdsctl wait"' -s q -l query -x -d 'JMESPath query applied before formatting, as in the az CLI.'
complete -c imdsctl -n '__imdsctl_at "imdsctl wait"' -l prefix -x -d 'Variable name prefix for -o env.'
complete -c imdsctl -n '__imdsctl_at "imdsctl wait"' -l via -x -a 'auto imds systemd-imds' -d 'The way to IMDS: systemd-imds reads leaf values through its Varlink socket (what its locked route leaves); auto does so when that route locks IMDS and the socket exists.'
complete -c imdsctl -n '__imdsctl_at "imdsctl wait"' -l debug -d 'Log requests, retries and timings to stderr.'
complete -c imdsctl -n '__imdsctl_at "imdsctl wait"' -s h -l help -d 'Show this message and exit.'
