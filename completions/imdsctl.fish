# fish completion for imdsctl: generated from the click tree by `python -m imdsctl._docgen --write` (make docs); do not edit.
# Use: copy this file to ~/.config/fish/completions/imdsctl.fish.

# The command path before the cursor ("imdsctl emulator serve"), skipping the values of group options.
function __imdsctl_path
    set -l commands \
        'imdsctl compute' \
        'imdsctl emulate' \
        'imdsctl emulator' \
        'imdsctl get' \
        'imdsctl loadbalancer' \
        'imdsctl network' \
        'imdsctl versions' \
        'imdsctl emulator profiles' \
        'imdsctl emulator serve'
    set -l valued
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
complete -c imdsctl -n '__imdsctl_at "imdsctl"' -a 'compute' -d 'The compute facts of this VM, or one FIELD of them.'
complete -c imdsctl -n '__imdsctl_at "imdsctl"' -a 'emulate' -d 'Run COMMAND against an emulator on a free loopback port.'
complete -c imdsctl -n '__imdsctl_at "imdsctl"' -a 'emulator' -d 'Run a local Azure IMDS emulator, for tests and demos.'
complete -c imdsctl -n '__imdsctl_at "imdsctl"' -a 'get' -d 'Read raw paths under /metadata/instance, e.g. compute/vmId.'
complete -c imdsctl -n '__imdsctl_at "imdsctl"' -a 'loadbalancer' -d 'The Standard load balancer\'s view of this VM: public IPs, inbound and...'
complete -c imdsctl -n '__imdsctl_at "imdsctl"' -a 'network' -d 'The network facts of this VM, or one FIELD of one NIC.'
complete -c imdsctl -n '__imdsctl_at "imdsctl"' -a 'versions' -d 'The api-versions IMDS offers, oldest first.'
complete -c imdsctl -n '__imdsctl_at "imdsctl"' -l version -d 'Show the version and exit.'
complete -c imdsctl -n '__imdsctl_at "imdsctl"' -s h -l help -d 'Show this message and exit.'

# imdsctl compute
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -l decode -d 'Base64-decode user-data or custom-data and write the bytes as they are.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -l max-age -x -d 'Answer from a snapshot of the instance document younger than this, kept per boot in a private runtime directory (default 0: always ask IMDS).'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -l endpoint -x -d 'IMDS base URL.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -l api-version -x -d 'Instance api-version (default 2025-04-07, or \'latest\' to ask IMDS).'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -l timeout -x -d 'Total time budget for all attempts and retries.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -s o -l output -x -a 'json jsonc yaml table tsv text env none' -d 'Output format [default: text for a value; table on a terminal, else json, for the rest].'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -s q -l query -x -d 'JMESPath query applied before formatting, as in the az CLI.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -l prefix -x -d 'Variable name prefix for -o env.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -l debug -d 'Log requests, retries and timings to stderr.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -s h -l help -d 'Show this message and exit.'
complete -c imdsctl -n '__imdsctl_at "imdsctl compute"' -a 'additional-capabilities az-environment custom-data eviction-policy extended-location host host-group is-host-compatibility-layer-vm license-type location name offer os-profile os-type physical-zone placement-group-id plan platform-fault-domain fault-domain platform-sub-fault-domain sub-fault-domain platform-update-domain update-domain priority provider public-keys publisher resource-group-name resource-group resource-id security-profile sku storage-profile subscription-id tags tags-list user-data version virtual-machine-scale-set vm-id vm-scale-set-name vm-size zone' -d 'FIELD'

# imdsctl emulate
complete -c imdsctl -n '__imdsctl_at "imdsctl emulate"' -l profile -x -d 'Built-in profile (see \'imdsctl emulator profiles\') or a JSON file: an instance document or {"instance": ..., "loadbalancer": ...}.'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulate"' -l no-throttle -d 'Do not rate-limit (IMDS answers 429 beyond 5 requests per second).'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulate"' -l rate -x -d 'Requests per second allowed per client before 429.'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulate"' -l fault -x -d 'Inject a fault; repeatable (syntax below).'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulate"' -l control -d 'Serve the control channel on the same port: /_emulator/faults (GET, POST, DELETE), /_emulator/requests (GET, DELETE), /_emulator/throttle/reset (POST).'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulate"' -s v -l verbose -d 'Log every request to stderr.'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulate"' -s h -l help -d 'Show this message and exit.'

# imdsctl emulator
complete -c imdsctl -n '__imdsctl_at "imdsctl emulator"' -a 'profiles' -d 'List the built-in profiles: name, tab, description.'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulator"' -a 'serve' -d 'Serve IMDS until SIGINT or SIGTERM.'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulator"' -s h -l help -d 'Show this message and exit.'

# imdsctl emulator profiles
complete -c imdsctl -n '__imdsctl_at "imdsctl emulator profiles"' -s h -l help -d 'Show this message and exit.'

# imdsctl emulator serve
complete -c imdsctl -n '__imdsctl_at "imdsctl emulator serve"' -l host -x -d 'Address to listen on; keep it a loopback address.'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulator serve"' -l port -x -d 'Port to listen on; 0 picks a free one.'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulator serve"' -l profile -x -d 'Built-in profile (see \'imdsctl emulator profiles\') or a JSON file: an instance document or {"instance": ..., "loadbalancer": ...}.'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulator serve"' -l no-throttle -d 'Do not rate-limit (IMDS answers 429 beyond 5 requests per second).'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulator serve"' -l rate -x -d 'Requests per second allowed per client before 429.'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulator serve"' -l fault -x -d 'Inject a fault; repeatable (syntax below).'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulator serve"' -l control -d 'Serve the control channel on the same port: /_emulator/faults (GET, POST, DELETE), /_emulator/requests (GET, DELETE), /_emulator/throttle/reset (POST).'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulator serve"' -s v -l verbose -d 'Log every request to stderr.'
complete -c imdsctl -n '__imdsctl_at "imdsctl emulator serve"' -s h -l help -d 'Show this message and exit.'

# imdsctl get
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -l max-age -x -d 'Answer from a snapshot of the instance document younger than this, kept per boot in a private runtime directory (default 0: always ask IMDS).'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -l endpoint -x -d 'IMDS base URL.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -l api-version -x -d 'Instance api-version (default 2025-04-07, or \'latest\' to ask IMDS).'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -l timeout -x -d 'Total time budget for all attempts and retries.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -s o -l output -x -a 'json jsonc yaml table tsv text env none' -d 'Output format [default: text for a value; table on a terminal, else json, for the rest].'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -s q -l query -x -d 'JMESPath query applied before formatting, as in the az CLI.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -l prefix -x -d 'Variable name prefix for -o env.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -l debug -d 'Log requests, retries and timings to stderr.'
complete -c imdsctl -n '__imdsctl_at "imdsctl get"' -s h -l help -d 'Show this message and exit.'

# imdsctl loadbalancer
complete -c imdsctl -n '__imdsctl_at "imdsctl loadbalancer"' -l endpoint -x -d 'IMDS base URL.'
complete -c imdsctl -n '__imdsctl_at "imdsctl loadbalancer"' -l api-version -x -d 'Instance api-version (default 2025-04-07, or \'latest\' to ask IMDS).'
complete -c imdsctl -n '__imdsctl_at "imdsctl loadbalancer"' -l timeout -x -d 'Total time budget for all attempts and retries.'
complete -c imdsctl -n '__imdsctl_at "imdsctl loadbalancer"' -s o -l output -x -a 'json jsonc yaml table tsv text env none' -d 'Output format [default: text for a value; table on a terminal, else json, for the rest].'
complete -c imdsctl -n '__imdsctl_at "imdsctl loadbalancer"' -s q -l query -x -d 'JMESPath query applied before formatting, as in the az CLI.'
complete -c imdsctl -n '__imdsctl_at "imdsctl loadbalancer"' -l prefix -x -d 'Variable name prefix for -o env.'
complete -c imdsctl -n '__imdsctl_at "imdsctl loadbalancer"' -l debug -d 'Log requests, retries and timings to stderr.'
complete -c imdsctl -n '__imdsctl_at "imdsctl loadbalancer"' -s h -l help -d 'Show this message and exit.'

# imdsctl network
complete -c imdsctl -n '__imdsctl_at "imdsctl network"' -l nic -x -d 'NIC index (IMDS does not guarantee NIC order: prefer --mac).'
complete -c imdsctl -n '__imdsctl_at "imdsctl network"' -l ip -x -d 'IP configuration index on the NIC.'
complete -c imdsctl -n '__imdsctl_at "imdsctl network"' -l mac -x -d 'Select the NIC by MAC address, in any notation.'
complete -c imdsctl -n '__imdsctl_at "imdsctl network"' -l max-age -x -d 'Answer from a snapshot of the instance document younger than this, kept per boot in a private runtime directory (default 0: always ask IMDS).'
complete -c imdsctl -n '__imdsctl_at "imdsctl network"' -l endpoint -x -d 'IMDS base URL.'
complete -c imdsctl -n '__imdsctl_at "imdsctl network"' -l api-version -x -d 'Instance api-version (default 2025-04-07, or \'latest\' to ask IMDS).'
complete -c imdsctl -n '__imdsctl_at "imdsctl network"' -l timeout -x -d 'Total time budget for all attempts and retries.'
complete -c imdsctl -n '__imdsctl_at "imdsctl network"' -s o -l output -x -a 'json jsonc yaml table tsv text env none' -d 'Output format [default: text for a value; table on a terminal, else json, for the rest].'
complete -c imdsctl -n '__imdsctl_at "imdsctl network"' -s q -l query -x -d 'JMESPath query applied before formatting, as in the az CLI.'
complete -c imdsctl -n '__imdsctl_at "imdsctl network"' -l prefix -x -d 'Variable name prefix for -o env.'
complete -c imdsctl -n '__imdsctl_at "imdsctl network"' -l debug -d 'Log requests, retries and timings to stderr.'
complete -c imdsctl -n '__imdsctl_at "imdsctl network"' -s h -l help -d 'Show this message and exit.'
complete -c imdsctl -n '__imdsctl_at "imdsctl network"' -a 'public-ip private-ip mac subnet prefix ipv6 interfaces' -d 'FIELD'

# imdsctl versions
complete -c imdsctl -n '__imdsctl_at "imdsctl versions"' -l endpoint -x -d 'IMDS base URL.'
complete -c imdsctl -n '__imdsctl_at "imdsctl versions"' -l api-version -x -d 'Instance api-version (default 2025-04-07, or \'latest\' to ask IMDS).'
complete -c imdsctl -n '__imdsctl_at "imdsctl versions"' -l timeout -x -d 'Total time budget for all attempts and retries.'
complete -c imdsctl -n '__imdsctl_at "imdsctl versions"' -s o -l output -x -a 'json jsonc yaml table tsv text env none' -d 'Output format [default: text for a value; table on a terminal, else json, for the rest].'
complete -c imdsctl -n '__imdsctl_at "imdsctl versions"' -s q -l query -x -d 'JMESPath query applied before formatting, as in the az CLI.'
complete -c imdsctl -n '__imdsctl_at "imdsctl versions"' -l prefix -x -d 'Variable name prefix for -o env.'
complete -c imdsctl -n '__imdsctl_at "imdsctl versions"' -l debug -d 'Log requests, retries and timings to stderr.'
complete -c imdsctl -n '__imdsctl_at "imdsctl versions"' -s h -l help -d 'Show this message and exit.'
