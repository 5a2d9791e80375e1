# shellcheck shell=bash
# Usage: compose-up.sh DIR
# Summary: docker compose up -d in the pinned checkout, then print the services' states.
#
# Step "compose" of the recovery chain (components/recovery/scripts.ts, composeUpScript).
# User-data checked out the pinned ref; this step builds and starts what it holds.
#
# Arguments:
#   DIR   the compose project folder in the checkout

# shellcheck disable=SC2034 # the name in this step's messages, read by fail and say (lib.sh)
readonly STEP_NAME=compose

main() {
    (($# == 1)) || fail "usage: compose-up.sh DIR, got $# arguments: build the step with components/recovery/scripts.ts"
    local dir=$1
    enter_project "$dir"
    say "starting $(git -C "$dir" describe --tags --always 2>/dev/null || echo 'the checkout')"
    docker compose up -d --build --remove-orphans
    docker compose ps
}

main "$@"
