# bash completion for imdsctl: generated from the click tree by `python -m imdsctl._docgen --write` (make docs); do not edit.
# Use: source this file, or copy it to ~/.local/share/bash-completion/completions/imdsctl.

# _imdsctl_spec PATH [OPTION]: what the command PATH takes: subcommands (cmds), options (opts),
# the options that take a value (valued), argument values (args), whether the first argument
# ends the options (stop), and OPTION's values (vals). Values are words, or @file / @dir for paths.
_imdsctl_spec() {
    vals='' stop=''
    case $1 in
        'imdsctl')
            cmds='attested collect completion compute diff doctor emulate emulator events get identity loadbalancer man network versions wait'
            opts='-V --version --max-age --endpoint --api-version --timeout -o --output -q --query --prefix --via --debug -h --help'
            valued='--max-age --endpoint --api-version --timeout -o --output -q --query --prefix --via'
            args=''
            case $2 in -o|--output) vals='json jsonc yaml table tsv text env none' ;; --via) vals='auto imds systemd-imds' ;; esac ;;
        'imdsctl attested')
            cmds='verify'
            opts='--nonce --endpoint --api-version --timeout -o --output -q --query --prefix --via --debug -h --help'
            valued='--nonce --endpoint --api-version --timeout -o --output -q --query --prefix --via'
            args=''
            case $2 in -o|--output) vals='json jsonc yaml table tsv text env none' ;; --via) vals='auto imds systemd-imds' ;; esac ;;
        'imdsctl attested verify')
            cmds=''
            opts='--nonce --ca-file --cloud --no-fetch --file --endpoint --api-version --timeout -o --output -q --query --prefix --via --debug -h --help'
            valued='--nonce --ca-file --cloud --file --endpoint --api-version --timeout -o --output -q --query --prefix --via'
            args=''
            case $2 in --ca-file) vals='@file' ;; --cloud) vals='china germany public usgov' ;; --file) vals='@file' ;; -o|--output) vals='json jsonc yaml table tsv text env none' ;; --via) vals='auto imds systemd-imds' ;; esac ;;
        'imdsctl collect')
            cmds=''
            opts='-f --file --format --no-redact --skip --endpoint --api-version --timeout -o --output -q --query --prefix --via --debug -h --help'
            valued='-f --file --format --skip --endpoint --api-version --timeout -o --output -q --query --prefix --via'
            args=''
            case $2 in -f|--file) vals='@file' ;; --format) vals='tar.gz zip' ;; --skip) vals='versions instance loadbalancer scheduled-events attested identity-info' ;; -o|--output) vals='json jsonc yaml table tsv text env none' ;; --via) vals='auto imds systemd-imds' ;; esac ;;
        'imdsctl completion')
            cmds=''
            opts='-h --help'
            valued=''
            args='bash zsh fish' ;;
        'imdsctl compute')
            cmds=''
            opts='--decode --allow-missing --all --max-age --endpoint --api-version --timeout -o --output -q --query --prefix --via --debug -h --help'
            valued='--max-age --endpoint --api-version --timeout -o --output -q --query --prefix --via'
            args='additional-capabilities az-environment custom-data eviction-policy extended-location host host-group is-host-compatibility-layer-vm license-type location name offer os-profile os-type physical-zone placement-group-id plan platform-fault-domain fault-domain platform-sub-fault-domain sub-fault-domain platform-update-domain update-domain priority provider public-keys publisher resource-group-name resource-group resource-id security-profile sku storage-profile subscription-id tags tags-list user-data version virtual-machine-scale-set vm-id vm-scale-set-name vm-size zone'
            case $2 in -o|--output) vals='json jsonc yaml table tsv text env none' ;; --via) vals='auto imds systemd-imds' ;; esac ;;
        'imdsctl diff')
            cmds=''
            opts='--exit-code --no-redact -o --output -q --query --prefix -h --help'
            valued='-o --output -q --query --prefix'
            args='@file'
            case $2 in -o|--output) vals='json jsonc yaml table tsv text env none' ;; esac ;;
        'imdsctl doctor')
            cmds=''
            opts='--endpoint --api-version --timeout -o --output -q --query --prefix --via --debug --wireserver-as-root -h --help'
            valued='--endpoint --api-version --timeout -o --output -q --query --prefix --via'
            args=''
            case $2 in -o|--output) vals='json jsonc yaml table tsv text env none' ;; --via) vals='auto imds systemd-imds' ;; esac ;;
        'imdsctl emulate')
            cmds=''
            opts='--link-local --wireserver-root-only --profile --no-throttle --rate --fault --event --events-time-factor --events-enable-delay --control --attested-ca --attested-key --attested-validity --attested-ca-out --as --allow-uid -v --verbose -h --help'
            valued='--profile --rate --fault --event --events-time-factor --events-enable-delay --attested-ca --attested-key --attested-validity --attested-ca-out --as --allow-uid'
            args='@command'
            stop=1
            case $2 in --profile) vals='linux-2017 linux-2025 spot-vmss windows-sql-2017' ;; --attested-ca) vals='@file' ;; --attested-key) vals='@file' ;; --attested-ca-out) vals='@file' ;; --as) vals='imds gpa-enforce gpa-audit nmi' ;; esac ;;
        'imdsctl emulator')
            cmds='profiles serve'
            opts='-h --help'
            valued=''
            args='' ;;
        'imdsctl emulator profiles')
            cmds=''
            opts='-h --help'
            valued=''
            args='' ;;
        'imdsctl emulator serve')
            cmds=''
            opts='--host --port --control-anywhere --profile --no-throttle --rate --fault --event --events-time-factor --events-enable-delay --control --attested-ca --attested-key --attested-validity --attested-ca-out --as --allow-uid -v --verbose -h --help'
            valued='--host --port --profile --rate --fault --event --events-time-factor --events-enable-delay --attested-ca --attested-key --attested-validity --attested-ca-out --as --allow-uid'
            args=''
            case $2 in --profile) vals='linux-2017 linux-2025 spot-vmss windows-sql-2017' ;; --attested-ca) vals='@file' ;; --attested-key) vals='@file' ;; --attested-ca-out) vals='@file' ;; --as) vals='imds gpa-enforce gpa-audit nmi' ;; esac ;;
        'imdsctl events')
            cmds='ack list unit watch'
            opts='-h --help'
            valued=''
            args='' ;;
        'imdsctl events ack')
            cmds=''
            opts='--force --endpoint --api-version --timeout -o --output -q --query --prefix --via --debug -h --help'
            valued='--endpoint --api-version --timeout -o --output -q --query --prefix --via'
            args=''
            case $2 in -o|--output) vals='json jsonc yaml table tsv text env none' ;; --via) vals='auto imds systemd-imds' ;; esac ;;
        'imdsctl events list')
            cmds=''
            opts='--endpoint --api-version --timeout -o --output -q --query --prefix --via --debug -h --help'
            valued='--endpoint --api-version --timeout -o --output -q --query --prefix --via'
            args=''
            case $2 in -o|--output) vals='json jsonc yaml table tsv text env none' ;; --via) vals='auto imds systemd-imds' ;; esac ;;
        'imdsctl events unit')
            cmds=''
            opts='--interval --exec --hook-timeout --ack --all-resources --notify --notify-format --state -h --help'
            valued='--interval --exec --hook-timeout --notify --notify-format --state'
            args=''
            case $2 in --notify-format) vals='json slack' ;; --state) vals='@file' ;; esac ;;
        'imdsctl events watch')
            cmds=''
            opts='--interval --exec --hook-timeout --ack --all-resources --notify --notify-format --kubernetes-node --kubectl --drain-on --state --once --max-events --metrics --metrics-file --endpoint --api-version --timeout -o --output -q --query --via --debug -h --help'
            valued='--interval --exec --hook-timeout --notify --notify-format --kubernetes-node --kubectl --drain-on --state --max-events --metrics --metrics-file --endpoint --api-version --timeout -o --output -q --query --via'
            args=''
            case $2 in --notify-format) vals='json slack' ;; --state) vals='@file' ;; --metrics-file) vals='@file' ;; -o|--output) vals='json jsonc yaml table tsv text env none' ;; --via) vals='auto imds systemd-imds' ;; esac ;;
        'imdsctl get')
            cmds=''
            opts='--allow-missing --max-age --endpoint --api-version --timeout -o --output -q --query --prefix --via --debug -h --help'
            valued='--max-age --endpoint --api-version --timeout -o --output -q --query --prefix --via'
            args='compute compute/additionalCapabilities compute/azEnvironment compute/customData compute/evictionPolicy compute/extendedLocation compute/host compute/hostGroup compute/isHostCompatibilityLayerVm compute/licenseType compute/location compute/name compute/offer compute/osProfile compute/osProfile/disablePasswordAuthentication compute/osType compute/physicalZone compute/placementGroupId compute/plan compute/platformFaultDomain compute/platformSubFaultDomain compute/platformUpdateDomain compute/priority compute/provider compute/publicKeys compute/publisher compute/resourceGroupName compute/resourceId compute/securityProfile compute/securityProfile/encryptionAtHost compute/securityProfile/securityType compute/sku compute/storageProfile compute/storageProfile/dataDisks compute/storageProfile/dataDisks/0 compute/storageProfile/dataDisks/0/bytesPerSecondThrottle compute/storageProfile/dataDisks/0/diskCapacityBytes compute/storageProfile/dataDisks/0/isSharedDisk compute/storageProfile/dataDisks/0/isUltraDisk compute/storageProfile/dataDisks/0/opsPerSecondThrottle compute/storageProfile/imageReference compute/storageProfile/imageReference/communityGalleryImageId compute/storageProfile/imageReference/exactVersion compute/storageProfile/imageReference/sharedGalleryImageId compute/storageProfile/osDisk compute/storageProfile/osDisk/encryptionSettings compute/storageProfile/osDisk/encryptionSettings/diskEncryptionKey compute/storageProfile/osDisk/encryptionSettings/keyEncryptionKey compute/storageProfile/resourceDisk compute/subscriptionId compute/tags compute/tagsList compute/userData compute/version compute/virtualMachineScaleSet compute/vmId compute/vmScaleSetName compute/vmSize compute/zone network network/interface network/interface/0 network/interface/0/ipv4 network/interface/0/ipv4/ipAddress network/interface/0/ipv4/ipAddress/0 network/interface/0/ipv4/ipAddress/0/privateIpAddress network/interface/0/ipv4/ipAddress/0/publicIpAddress network/interface/0/ipv4/subnet network/interface/0/ipv4/subnet/0 network/interface/0/ipv4/subnet/0/prefix network/interface/0/ipv6 network/interface/0/ipv6/ipAddress network/interface/0/ipv6/ipAddress/0 network/interface/0/ipv6/ipAddress/0/privateIpAddress network/interface/0/macAddress'
            case $2 in -o|--output) vals='json jsonc yaml table tsv text env none' ;; --via) vals='auto imds systemd-imds' ;; esac ;;
        'imdsctl identity')
            cmds='info token'
            opts='-h --help'
            valued=''
            args='' ;;
        'imdsctl identity info')
            cmds=''
            opts='--endpoint --api-version --timeout -o --output -q --query --prefix --via --debug -h --help'
            valued='--endpoint --api-version --timeout -o --output -q --query --prefix --via'
            args=''
            case $2 in -o|--output) vals='json jsonc yaml table tsv text env none' ;; --via) vals='auto imds systemd-imds' ;; esac ;;
        'imdsctl identity token')
            cmds=''
            opts='--resource --client-id --object-id --msi-res-id --show-token --endpoint --api-version --timeout -o --output -q --query --prefix --via --debug -h --help'
            valued='--resource --client-id --object-id --msi-res-id --endpoint --api-version --timeout -o --output -q --query --prefix --via'
            args=''
            case $2 in -o|--output) vals='json jsonc yaml table tsv text env none' ;; --via) vals='auto imds systemd-imds' ;; esac ;;
        'imdsctl loadbalancer')
            cmds=''
            opts='--endpoint --api-version --timeout -o --output -q --query --prefix --via --debug -h --help'
            valued='--endpoint --api-version --timeout -o --output -q --query --prefix --via'
            args=''
            case $2 in -o|--output) vals='json jsonc yaml table tsv text env none' ;; --via) vals='auto imds systemd-imds' ;; esac ;;
        'imdsctl man')
            cmds=''
            opts='--install -h --help'
            valued=''
            args='@dir' ;;
        'imdsctl network')
            cmds=''
            opts='--nic --ip --mac --allow-missing --max-age --endpoint --api-version --timeout -o --output -q --query --prefix --via --debug -h --help'
            valued='--nic --ip --mac --max-age --endpoint --api-version --timeout -o --output -q --query --prefix --via'
            args='public-ip private-ip mac subnet prefix ipv6 interfaces'
            case $2 in -o|--output) vals='json jsonc yaml table tsv text env none' ;; --via) vals='auto imds systemd-imds' ;; esac ;;
        'imdsctl versions')
            cmds=''
            opts='--endpoint --api-version --timeout -o --output -q --query --prefix --via --debug -h --help'
            valued='--endpoint --api-version --timeout -o --output -q --query --prefix --via'
            args=''
            case $2 in -o|--output) vals='json jsonc yaml table tsv text env none' ;; --via) vals='auto imds systemd-imds' ;; esac ;;
        'imdsctl wait')
            cmds=''
            opts='--endpoint --api-version --timeout -o --output -q --query --prefix --via --debug -h --help'
            valued='--endpoint --api-version --timeout -o --output -q --query --prefix --via'
            args=''
            case $2 in -o|--output) vals='json jsonc yaml table tsv text env none' ;; --via) vals='auto imds systemd-imds' ;; esac ;;
    esac
}

# _imdsctl_reply WORDS: complete $cur from WORDS, or from paths for @file and @dir, or as a
# command line of its own for @command (bash-completion's _command_offset where it is loaded).
_imdsctl_reply() {
    case $1 in
        @file) compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
        @dir) compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -d -- "$cur") ;;
        @command)
            if declare -F _command_offset >/dev/null; then
                _command_offset "$first"
            elif ((COMP_CWORD == first)); then
                mapfile -t COMPREPLY < <(compgen -c -- "$cur")
            else
                compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -f -- "$cur")
            fi ;;
        *) mapfile -t COMPREPLY < <(compgen -W "$1" -- "$cur") ;;
    esac
}

_imdsctl() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
    local path=imdsctl word opt i=1 dashdash='' cmds opts valued args stop vals first=0
    _imdsctl_spec "$path"
    # Follow the subcommands typed before the cursor, skipping option values.
    while ((i < COMP_CWORD)); do
        word=${COMP_WORDS[i]}
        if [[ $dashdash ]]; then
            :
        elif [[ $word == -- ]]; then
            dashdash=1 first=$((i + 1))
        elif [[ " $valued " == *" $word "* ]]; then
            ((i++))
            [[ ${COMP_WORDS[i]} == = ]] && ((i++))
        elif [[ " $cmds " == *" $word "* ]]; then
            path+=" $word"
            _imdsctl_spec "$path"
        elif [[ $stop && $word != -* ]]; then
            dashdash=1 first=$i
        fi
        ((i++))
    done
    # An option's value: "--opt <TAB>", "--opt=<TAB>" (cur is "=") or "--opt=v<TAB>".
    opt=$prev
    if [[ $cur == = ]]; then
        cur=''
    elif [[ $prev == = ]]; then
        opt=${COMP_WORDS[COMP_CWORD-2]}
    fi
    ((first)) || first=$COMP_CWORD
    if [[ ! $dashdash && " $valued " == *" $opt "* ]]; then
        _imdsctl_spec "$path" "$opt"
        _imdsctl_reply "$vals"
    elif [[ ! $dashdash && $cur == -* ]]; then
        _imdsctl_reply "$opts"
    elif [[ $cmds ]]; then
        _imdsctl_reply "$cmds"
    else
        _imdsctl_reply "$args"
    fi
}

complete -F _imdsctl imdsctl
