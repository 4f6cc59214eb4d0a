#!/bin/sh
# A short tour of imdsctl, run by `make demo` inside `imdsctl emulate`, which has
# started the IMDS emulator on 127.0.0.1 and set IMDSCTL_ENDPOINT to it.
set -u

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then bold='\033[1m' plain='\033[0m'; else bold='' plain=''; fi

step() {
    printf "\n${bold}# %s${plain}\n" "$1"
}

show() {
    printf '$ %s\n' "$*"
    sh -c "$*"
    code=$?
    [ "$code" -eq 0 ] || printf '(exit code %s)\n' "$code"
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export work

echo "IMDS emulator at $IMDSCTL_ENDPOINT (this machine is not an Azure VM)"

step "At boot: wait until IMDS answers (410s, 404s and dropped answers are waited out)"
show 'imdsctl wait --timeout 60 && echo "IMDS is ready"'

step "A value for scripts: bare, one newline, nothing else"
show 'imdsctl compute vm-id'
show 'printf "[%s]\n" "$(imdsctl network public-ip)"'

step "A table for people (what a terminal gets by default)"
show 'imdsctl compute -o table -q "{name: name, size: vmSize, location: location, zone: zone, priority: priority}"'
show 'imdsctl network interfaces -o table'

step "--query in the style of the az CLI, and tags as an object (tagsList, not the k:v;k:v string)"
show 'imdsctl compute tags -o json'
show 'imdsctl compute tags -q backup'

step "Several fields from ONE request, as shell variables safe to eval"
show 'imdsctl get -o env compute/vmId compute/location compute/resourceGroupName'
show 'imdsctl compute vm-id location zone -o tsv'

step "The boot-script recipe: assign, then eval, so that a failure stops a set -e script"
show 'set -e; vars=$(imdsctl get -o env --allow-missing compute/location compute/evictionPolicy); eval "$vars"; echo "deploying to $IMDS_COMPUTE_LOCATION (eviction: ${IMDS_COMPUTE_EVICTIONPOLICY:-none})"'
show 'set -e; vars=$(imdsctl get -o env compute/location compute/nope); eval "$vars"; echo "not printed: the script stopped"'

step "The rest of IMDS: scheduled maintenance, managed identity, attested data"
show "imdsctl emulate --event Reboot@600 -- imdsctl events list -o table -q 'Events[].{id: EventId, type: EventType, status: EventStatus, notBefore: NotBefore}'"
show "imdsctl identity token --resource https://management.azure.com/ -q '{type: token_type, expiresOn: expires_on}' -o table"
show 'imdsctl emulate --attested-ca-out "$work/ca.pem" -- imdsctl attested verify --ca-file "$work/ca.pem" -o table'

step "Rehearse a node handler off Azure: a Spot eviction (Preempt, 30 s notice, played 10x faster)"
printf '#!/bin/sh\necho "draining for $IMDS_EVENT_TYPE: ${IMDS_EVENT_SECONDS_LEFT}s left, ${IMDS_HOOK_TIMEOUT}s given"\n' \
    > "$work/drain.sh"
chmod +x "$work/drain.sh"
export IMDSCTL_CACHE_DIR="$work/run"  # the watch's state file goes to the demo's scratch directory
show 'cd "$work" && imdsctl emulate --event Preempt@30 --events-time-factor 0.1 -- imdsctl events watch --exec ./drain.sh --ack --max-events 1'

step "Errors: one line on stderr, and an exit code a script can branch on"
show 'imdsctl compute vmidd'
show 'imdsctl get compute/noSuchKey'
show 'imdsctl compute user-data --api-version 2019-06-01'

step "IMDS answers 410 while it updates: imdsctl retries within its time budget"
show "imdsctl emulate --fault '410*2' -- imdsctl compute vm-id --debug"

step "...and says so when the budget runs out"
show "imdsctl emulate --fault '503*inf' -- imdsctl compute vm-id --timeout 2"

step "Why can (or can't) this machine reach IMDS?"
show 'imdsctl doctor -o table'

printf '\nDone. Exit codes: imdsctl --help; the emulator: imdsctl emulator serve --help\n'
